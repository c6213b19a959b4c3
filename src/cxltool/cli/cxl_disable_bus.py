"""`cxl disable-bus <bus0> [<bus1>..<busN>] [<options>]`: unbind a CXL root's platform
device, taking the whole tree below it down."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.port_cli import DEBUG, FORCE

COMMAND = ndopts.Command(
    usage=["cxl disable-bus <bus0> [<bus1>..<busN>] [<options>]"],
    options=[DEBUG, FORCE],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    from cxltool.objects.cxl import CxlSystem
    from cxltool.ops.memdev_action import Log
    from cxltool.ops.port_ops import BUS_LOG, bus_action, disable_bus, valid_bus_words

    if not parsed.args:
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, COMMAND.full_usage())
    log = Log(BUS_LOG)
    words, all_bad = valid_bus_words(list(parsed.args), log)
    if all_bad:
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, log.text() + COMMAND.full_usage())
    result = bus_action(
        lambda: CxlSystem(ctx.root),
        words,
        lambda system, bus: disable_bus(system, bus, log, parsed["force"]),
    )
    # ndctl's plural: "buss" for more than one.
    log("cmd_disable_bus", f"disabled {result.count} bus{'s' if result.count > 1 else ''}")
    ctx.err.write(log.text())
    return result.exit_status
