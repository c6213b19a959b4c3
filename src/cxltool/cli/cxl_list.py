"""`cxl list [<options>]`: CXL buses, ports, endpoints, memdevs, decoders and regions as JSON."""

from __future__ import annotations

from cxltool.cli import jsonc, ndopts
from cxltool.cli.ndopts import Opt

COMMAND = ndopts.Command(
    usage=["cxl list [<options>]"],
    options=[
        Opt("m", "memdev", "str", "filter by CXL memory device name(s)", "memory device name(s)"),
        Opt(
            "s",
            "serial",
            "str",
            "filter by CXL memory device serial number(s)",
            "memory device serial(s)",
        ),
        Opt("M", "memdevs", "bool", "include CXL memory device info"),
        Opt("b", "bus", "str", "filter by CXL bus device name(s)", "bus device name"),
        Opt("B", "buses", "bool", "include CXL bus info"),
        Opt("p", "port", "str", "filter by CXL port device name(s)", "port device name"),
        Opt("P", "ports", "bool", "include CXL port info"),
        Opt("S", "single", "bool", "skip listing descendant objects"),
        Opt(
            "e", "endpoint", "str", "filter by CXL endpoint device name(s)", "endpoint device name"
        ),
        Opt("E", "endpoints", "bool", "include CXL endpoint info"),
        Opt(
            "d",
            "decoder",
            "str",
            "filter by CXL decoder device name(s) / class",
            "decoder device name",
        ),
        Opt("D", "decoders", "bool", "include CXL decoder info"),
        Opt("T", "targets", "bool", "include CXL target data with decoders, ports, or regions"),
        Opt("r", "region", "str", "filter by CXL region name(s)", "region name"),
        Opt("R", "regions", "bool", "include CXL regions"),
        Opt("X", "dax", "bool", "include CXL DAX region enumeration"),
        Opt("i", "idle", "bool", "include disabled devices"),
        Opt("u", "human", "bool", "use human friendly number formats"),
        Opt("H", "health", "bool", "include memory device health information"),
        Opt("I", "partition", "bool", "include memory device partition information"),
        Opt("F", "firmware", "bool", "include memory device firmware information"),
        Opt("A", "alert-config", "bool", "include alert configuration information"),
        # ndctl's help text ends in a space; `cxl list -h` shows it.
        Opt("L", "media-errors", "bool", "include media-error information "),
        Opt("v", "verbose", "incr", "increase output detail"),
        Opt(None, "debug", "bool", "debug list walk"),
    ],
)

EMPTY_WARNING = "  Warning: no matching devices found\n\n"


def _params(parsed: ndopts.Parsed):
    from cxltool.ops.cxl_list import ListParams

    return ListParams(
        memdev_filter=parsed["memdev"],
        serial_filter=parsed["serial"],
        bus_filter=parsed["bus"],
        port_filter=parsed["port"],
        endpoint_filter=parsed["endpoint"],
        decoder_filter=parsed["decoder"],
        region_filter=parsed["region"],
        memdevs=parsed["memdevs"],
        buses=parsed["buses"],
        ports=parsed["ports"],
        single=parsed["single"],
        endpoints=parsed["endpoints"],
        decoders=parsed["decoders"],
        targets=parsed["targets"],
        regions=parsed["regions"],
        dax=parsed["dax"],
        idle=parsed["idle"],
        human=parsed["human"],
        health=parsed["health"],
        partition=parsed["partition"],
        firmware=parsed["firmware"],
        alert_config=parsed["alert_config"],
        media_errors=parsed["media_errors"],
        verbose=parsed["verbose"],
        debug=parsed["debug"],
    )


def run(ctx, parsed: ndopts.Parsed) -> int:
    if parsed.args:
        # The message ends in a newline of its own, hence the blank line.
        text = "".join(ndopts.error_line(f'unknown parameter "{a}"\n') for a in parsed.args)
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, text + COMMAND.full_usage())
    if parsed["single"] and parsed["port"] is None:
        raise ndopts.UsageExit(
            ndopts.USAGE_EXIT,
            ndopts.error_line("-S/--single expects a port filter: -p/--port=\n")
            + COMMAND.full_usage(),
        )
    from cxltool.objects.cxl import CxlSystem
    from cxltool.ops.cxl_list import apply_defaults, list_topology

    params = _params(parsed)
    apply_defaults(params)
    system = CxlSystem(ctx.root)
    items = list_topology(system, params)
    ctx.err.write("".join(system.messages))
    if len(items) > 1 or not params.human:
        if not items:
            ctx.err.write(EMPTY_WARNING)
        ctx.out.write(jsonc.dumps(items))
    elif items:
        ctx.out.write(jsonc.dumps(items[0]))
    return 0
