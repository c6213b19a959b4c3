"""What ndctl's port and bus commands share: options, word handling, the summary."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.ndopts import Opt

DEBUG = Opt(None, "debug", "bool", "turn on debug")
ENDPOINT = Opt("e", "endpoint", "bool", "target endpoints instead of switch ports")
FORCE = Opt("f", "force", "bool", "DANGEROUS: override active memdev safety checks")


def run_port_command(ctx, parsed: ndopts.Parsed, cmd: ndopts.Command, verb: str, action) -> int:
    """Run `action(system, port, log)` on each named port; `verb` words the summary."""
    from cxltool.objects.cxl import CxlSystem
    from cxltool.ops.memdev_action import Log, plural
    from cxltool.ops.port_ops import PORT_LOG, port_action

    if not parsed.args:
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, cmd.full_usage())
    log = Log(PORT_LOG)
    result = port_action(
        lambda: CxlSystem(ctx.root),
        list(parsed.args),
        parsed["endpoint"],
        log,
        lambda system, port: action(system, port, log),
    )
    log(f"cmd_{verb}_port", f"{verb}d {result.count} port{plural(result.count)}")
    ctx.err.write(log.text())
    return result.exit_status
