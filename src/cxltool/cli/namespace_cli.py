"""What ndctl's namespace commands share: options, argument checks, the run and its summary."""

from __future__ import annotations

import errno
import os

from cxltool.cli import jsonc, ndopts
from cxltool.cli.ndopts import Opt
from cxltool.ops.nd_namespace import NamespaceOps, NamespaceParams, Reporter, run_action, summary

BASE_OPTIONS = [
    Opt("b", "bus", "str", "limit namespace to a bus with an id or provider of <bus-id>", "bus-id"),
    Opt(
        "r",
        "region",
        "str",
        "limit namespace to a region with an id or name of <region-id>",
        "region-id",
    ),
    Opt("v", "verbose", "bool", "emit extra debug messages to stderr"),
]
CMD_NAMES = {
    "enable": "enable namespace",
    "disable": "disable namespace",
    "destroy": "destroy namespace",
    "create": "create namespace",
}
_FAILED = {
    "enable": "error enabling namespaces",
    "disable": "error disabling namespaces",
    "destroy": "error destroying namespaces",
}


def check_args(ctx, parsed: ndopts.Parsed, cmd: ndopts.Command, action: str, rc: int) -> str | None:
    """parse_namespace_options' checks after set_defaults (rc): the namespace named, or usage."""
    report = ctx.err.write
    args = parsed.args
    if not args and action != "create":
        report(ndopts.error_line(f'specify a namespace to {action}, or "all"\n'))
        rc = -errno.EINVAL
    for extra in args[0 if action == "create" else 1 :]:
        report(ndopts.error_line(f'unknown extra parameter "{extra}"\n'))
        rc = -errno.EINVAL
    if rc:
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, cmd.full_usage())
    return None if action == "create" else args[0]


def params_from(parsed: ndopts.Parsed) -> NamespaceParams:
    return NamespaceParams(
        bus=parsed.get("bus"),
        region=parsed.get("region"),
        reconfig=parsed.get("reconfig"),
        uuid=parsed.get("uuid"),
        name=parsed.get("name"),
        size=parsed.get("size"),
        mode=parsed.get("mode"),
        map=parsed.get("map"),
        sector_size=parsed.get("sector_size"),
        type=parsed.get("type"),
        align=parsed.get("align"),
        force=bool(parsed.get("force")),
        autolabel=bool(parsed.get("autolabel", True)),
        greedy=bool(parsed.get("continue")),
        autorecover=bool(parsed.get("autorecover", True)),
    )


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def make_ops(ctx, params: NamespaceParams, report: Reporter) -> NamespaceOps:
    # ndctl prints the new namespace with -u-style numbers when stdout is a terminal.
    human = _is_tty(ctx.out)
    return NamespaceOps(
        ctx.root, params, report, lambda obj: ctx.out.write(jsonc.dumps(obj)), human
    )


def run_xable(ctx, parsed: ndopts.Parsed, cmd: ndopts.Command, action: str) -> int:
    """enable-, disable- and destroy-namespace: the run and its summary line."""
    report = Reporter(ctx.err.write, CMD_NAMES[action])
    params = params_from(parsed)
    rc = params.set_defaults(creating=False, report=report)
    namespace = check_args(ctx, parsed, cmd, action, rc)
    outcome = run_action(make_ops(ctx, params, report), action, namespace)
    if outcome.rc < 0 and not report.err_count:
        ctx.err.write(f"{_FAILED[action]}: {os.strerror(-outcome.rc)}\n")
    ctx.err.write(summary(action, outcome.processed))
    return outcome.rc
