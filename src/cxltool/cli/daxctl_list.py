"""`daxctl list [<options>]`: dax regions and devices as JSON."""

from __future__ import annotations

import errno

from cxltool.cli import jsonc, ndopts
from cxltool.cli.ndopts import Opt
from cxltool.ops.dax_list import ListOptions, display_value, list_dax

COMMAND = ndopts.Command(
    usage=["daxctl list [<options>]"],
    options=[
        Opt("r", "region", "str", "filter by region", "region-id"),
        Opt("d", "dev", "str", "filter by dax device instance name", "dev-id"),
        Opt("D", "devices", "bool", "include dax device info"),
        Opt("R", "regions", "bool", "include dax region info"),
        Opt("M", "mappings", "bool", "include dax mappings info"),
        Opt("i", "idle", "bool", "include idle devices"),
        # daxctl's help text ends in a space; `daxctl list -h` shows it.
        Opt("u", "human", "bool", "use human friendly number formats "),
    ],
)

# daxctl's failure line names its version, function and source line (v81's).
_FAIL_LINE = "daxctl-85:cmd_list:119: \n"


def run(ctx, parsed: ndopts.Parsed) -> int:
    if parsed.args:
        # Each stray word is reported (the message ends in a newline of its
        # own, hence the blank line), then the usage.
        text = "".join(ndopts.error_line(f'unknown parameter "{a}"\n') for a in parsed.args)
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, text + COMMAND.full_usage())
    opts = ListOptions(
        region=parsed["region"],
        dev=parsed["dev"],
        devices=parsed["devices"],
        regions=parsed["regions"],
        mappings=parsed["mappings"],
        idle=parsed["idle"],
        human=parsed["human"],
    )
    result = list_dax(ctx.root, opts, log=lambda line: ctx.err.write(line + "\n"))
    ctx.err.write(_FAIL_LINE * result.failed)
    value = display_value(result.items, opts.human)
    if value is not None:
        ctx.out.write(jsonc.dumps(value))
    return -errno.ENOMEM if result.failed else 0
