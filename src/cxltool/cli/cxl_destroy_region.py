"""`cxl destroy-region <region0> ... [<options>]`: reset, empty and delete regions."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.ndopts import Opt
from cxltool.cli.region_cli import command, run_region_action

COMMAND = command(
    "cxl destroy-region <region0> ... [<options>]",
    [Opt("f", "force", "bool", "destroy region even if currently active")],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    return run_region_action(ctx, parsed, "destroy", parsed["force"])
