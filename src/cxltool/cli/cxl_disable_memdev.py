"""`cxl disable-memdev <mem0> [<mem1>..<memN>] [<options>]`: detach memdevs from cxl_mem."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.memdev_cli import command, run_memdev_command
from cxltool.cli.ndopts import Opt

COMMAND = command(
    "cxl disable-memdev <mem0> [<mem1>..<memN>] [<options>]",
    [Opt("f", "force", "bool", "DANGEROUS: override active memdev safety checks")],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    from cxltool.ops.memdev_action import plural
    from cxltool.ops.memdev_ops import disable_memdev

    def make(log, human):
        return None, lambda system, m: disable_memdev(system, m, log, parsed["force"])

    return run_memdev_command(
        ctx,
        parsed,
        COMMAND,
        lambda n: ("cmd_disable_memdev", f"disabled {n} mem{plural(n)}"),
        make,
    )
