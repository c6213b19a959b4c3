"""`ndctl create-namespace [<options>]`: configure a namespace where there is room (or `-e` one)."""

from __future__ import annotations

import errno
import os

from cxltool.cli import ndopts
from cxltool.cli.namespace_cli import BASE_OPTIONS, CMD_NAMES, check_args, make_ops, params_from
from cxltool.cli.ndopts import Opt
from cxltool.ops.nd_namespace import NamespaceParams, Reporter, run_action

COMMAND = ndopts.Command(
    usage=["ndctl create-namespace [<options>]"],
    options=[
        *BASE_OPTIONS,
        Opt("e", "reconfig", "str", "reconfigure existing namespace", "reconfig namespace"),
        Opt(
            "u", "uuid", "str", "specify the uuid for the namespace (default: autogenerate)", "uuid"
        ),
        Opt("n", "name", "str", "specify an optional free form name for the namespace", "name"),
        Opt(
            "s",
            "size",
            "str",
            "specify the namespace size in bytes (default: available capacity)",
            "size",
        ),
        Opt(
            "m",
            "mode",
            "str",
            "specify a mode for the namespace, 'sector', 'fsdax', 'devdax' or 'raw'",
            "operation-mode",
        ),
        Opt(
            "M",
            "map",
            "str",
            "specify 'mem' or 'dev' for the location of the memmap",
            "memmap-location",
        ),
        Opt("l", "sector-size", "str", "specify the logical sector size in bytes", "lba-size"),
        Opt("t", "type", "str", "specify the type of namespace to create 'pmem' or 'blk'", "type"),
        Opt("a", "align", "str", "specify the namespace alignment in bytes (default: 2M)", "align"),
        Opt("f", "force", "bool", "reconfigure namespace even if currently active"),
        Opt("L", "autolabel", "bool", "automatically initialize labels"),
        Opt(
            "c",
            "continue",
            "bool",
            "continue creating namespaces as long as the filter criteria are met",
        ),
        Opt("R", "autorecover", "bool", "automatically cleanup on failure"),
    ],
    defaults={"autolabel": True, "autorecover": True},
)

_UNSET = {"bool": False, "incr": 0, "str": None, "int": None}


def run(ctx, parsed: ndopts.Parsed) -> int:
    report = Reporter(ctx.err.write, CMD_NAMES["create"])
    params = params_from(parsed)
    # With no word at all after the command, ndctl tries pmem and then blk. (An
    # option restated at its default, -L or -R, looks like no word here.)
    params.do_scan = not parsed.args and all(
        parsed[o.key] == COMMAND.defaults.get(o.key, _UNSET[o.kind]) for o in COMMAND.options
    )
    rc = params.set_defaults(creating=True, report=report)
    check_args(ctx, parsed, COMMAND, "create", rc)
    namespace = params.reconfig
    outcome = run_action(make_ops(ctx, params, report), "create", namespace)
    rc, created = outcome.rc, outcome.processed
    if rc < 0 and created < 1 and params.do_scan:
        params = NamespaceParams(type="blk", autolabel=False, autorecover=False)
        params.set_defaults(creating=True, report=report)
        outcome = run_action(make_ops(ctx, params, report), "create", None)
        rc, created = outcome.rc, outcome.processed
    if params.greedy:
        ctx.err.write(f"created {created} namespace{'' if created == 1 else 's'}\n")
    if (rc < 0 or (namespace is None and created < 1)) and not report.err_count:
        what = "reconfigure" if namespace else "create"
        ctx.err.write(f"failed to {what} namespace: {os.strerror(-rc)}\n")
        if namespace is None:
            rc = -errno.ENODEV
    return rc
