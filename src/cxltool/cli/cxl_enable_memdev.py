"""`cxl enable-memdev <mem0> [<mem1>..<memN>] [<options>]`: bind memdevs to a cxl driver."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.memdev_cli import command, run_memdev_command

COMMAND = command("cxl enable-memdev <mem0> [<mem1>..<memN>] [<options>]", [])


def run(ctx, parsed: ndopts.Parsed) -> int:
    from cxltool.ops.memdev_action import plural
    from cxltool.ops.memdev_ops import enable_memdev

    def make(log, human):
        return None, lambda system, m: enable_memdev(system, m, log)

    return run_memdev_command(
        ctx,
        parsed,
        COMMAND,
        lambda n: ("cmd_enable_memdev", f"enabled {n} mem{plural(n)}"),
        make,
    )
