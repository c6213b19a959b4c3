"""`cxl reserve-dpa <mem0> [<mem1>..<memn>] [<options>]`: allocate device physical
address space on each memdev's next free endpoint decoder; prints the memdevs."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.memdev_cli import DPA_OPTIONS, command, run_memdev_command
from cxltool.cli.ndopts import Opt

COMMAND = command(
    "cxl reserve-dpa <mem0> [<mem1>..<memn>] [<options>]",
    [
        Opt("s", "size", "str", "size in bytes (Default: all available capacity)", "size"),
        *DPA_OPTIONS,
    ],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    from cxltool.ops.memdev_action import plural
    from cxltool.ops.memdev_ops import DPA_ALLOC, DpaParams, reserve_dpa

    params = DpaParams(parsed["size"], parsed["decoder"], parsed["type"], parsed["force"])

    def make(log, human):
        out: list[dict] = []
        return out, lambda s, m: reserve_dpa(s, m, log, params, DPA_ALLOC, out, human)

    return run_memdev_command(
        ctx,
        parsed,
        COMMAND,
        lambda n: ("cmd_reserve_dpa", f"reservation completed on {n} mem device{plural(n)}"),
        make,
    )
