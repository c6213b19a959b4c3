"""`cxl enable-region <region0> ... [<options>]`: bind regions to the cxl_region driver."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.region_cli import command, run_region_action

COMMAND = command("cxl enable-region <region0> ... [<options>]", [])


def run(ctx, parsed: ndopts.Parsed) -> int:
    return run_region_action(ctx, parsed, "enable")
