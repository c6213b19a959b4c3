"""`ndctl list [<options>]`: libnvdimm buses, DIMMs, regions and namespaces as JSON."""

from __future__ import annotations

import errno

from cxltool.cli import jsonc, ndopts
from cxltool.cli.ndopts import Opt
from cxltool.ops.nd_list import FilterError, ListOptions, list_nd

COMMAND = ndopts.Command(
    usage=["ndctl list [<options>]"],
    options=[
        Opt("b", "bus", "str", "filter by bus", "bus-id"),
        Opt("r", "region", "str", "filter by region", "region-id"),
        Opt("d", "dimm", "str", "filter by dimm", "dimm-id"),
        Opt("n", "namespace", "str", "filter by namespace id", "namespace-id"),
        Opt("m", "mode", "str", "filter by namespace mode", "namespace-mode"),
        Opt("t", "type", "str", "filter by region-type", "region-type"),
        Opt("U", "numa-node", "str", "filter by numa node", "numa node"),
        Opt("B", "buses", "bool", "include bus info"),
        Opt("D", "dimms", "bool", "include dimm info"),
        Opt("F", "firmware", "bool", "include firmware info"),
        Opt("H", "health", "bool", "include dimm health"),
        Opt("R", "regions", "bool", "include region info"),
        Opt("N", "namespaces", "bool", "include namespace info (default)"),
        Opt("X", "device-dax", "bool", "include device-dax info", dest="dax"),
        Opt("C", "capabilities", "bool", "include region capability info"),
        Opt("i", "idle", "bool", "include idle devices"),
        Opt("c", "configured", "bool", "include configured namespaces, disabled or not"),
        Opt("M", "media-errors", "bool", "include media errors"),
        # ndctl's help text ends in a space; `ndctl list -h` shows it.
        Opt("u", "human", "bool", "use human friendly number formats "),
        Opt("v", "verbose", "incr", "increase output detail"),
    ],
)

# ndctl's failure line names its version, function and source line (v81's).
_FAIL_LINE = "ndctl-85:filter_namespace:267: \n"


def run(ctx, parsed: ndopts.Parsed) -> int:
    if parsed.args:
        text = "".join(ndopts.error_line(f'unknown parameter "{a}"\n') for a in parsed.args)
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, text + COMMAND.full_usage())
    opts = ListOptions(
        bus=parsed["bus"],
        region=parsed["region"],
        dimm=parsed["dimm"],
        namespace=parsed["namespace"],
        mode=parsed["mode"],
        type=parsed["type"],
        numa_node=parsed["numa_node"],
        buses=parsed["buses"],
        dimms=parsed["dimms"],
        firmware=parsed["firmware"],
        health=parsed["health"],
        regions=parsed["regions"],
        namespaces=parsed["namespaces"],
        dax=parsed["dax"],
        capabilities=parsed["capabilities"],
        idle=parsed["idle"],
        configured=parsed["configured"],
        media_errors=parsed["media_errors"],
        human=parsed["human"],
        verbose=parsed["verbose"],
    )
    opts.settle()
    try:
        result = list_nd(ctx.root, opts)
    except FilterError as e:
        ctx.err.write(ndopts.error_line(str(e)))
        return -errno.EINVAL
    ctx.err.write(_FAIL_LINE * result.failed)
    ctx.err.write("".join(result.warnings))
    if result.value is not None:
        ctx.out.write(jsonc.dumps(result.value))
    return -errno.ENOMEM if result.failed else 0
