"""`cxl set-partition <mem0> [<mem1>..<memN>] [<options>]`: the volatile/persistent
split each device takes at its next boot; prints the memdevs with partition_info."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.memdev_cli import command, run_memdev_command
from cxltool.cli.ndopts import Opt

COMMAND = command(
    "cxl set-partition <mem0> [<mem1>..<memN>] [<options>]",
    [
        Opt("t", "type", "str", "'pmem' or 'ram' (volatile) (Default: 'pmem')", "type"),
        Opt("s", "size", "str", "size in bytes (Default: all available capacity)", "size"),
        Opt("a", "align", "bool", "auto-align --size per device's requirement"),
    ],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    from cxltool.ops.memdev_action import plural
    from cxltool.ops.partition_ops import set_partition

    def make(log, human):
        out: list[dict] = []

        def action(system, m):
            return set_partition(
                system, m, log, parsed["type"], parsed["size"], parsed["align"], out, human
            )

        return out, action

    return run_memdev_command(
        ctx,
        parsed,
        COMMAND,
        lambda n: ("cmd_set_partition", f"set_partition {n} mem{plural(n)}"),
        make,
    )
