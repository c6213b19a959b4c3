"""`cxl disable-region <region0> ... [<options>]`: offline their memory, then unbind regions."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.ndopts import Opt
from cxltool.cli.region_cli import command, run_region_action

COMMAND = command(
    "cxl disable-region <region0> ... [<options>]",
    [Opt("f", "force", "bool", "attempt to offline memory before disabling the region")],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    return run_region_action(ctx, parsed, "disable", parsed["force"])
