"""`ndctl destroy-namespace <namespace> [<options>]`: give a namespace's capacity back."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.namespace_cli import BASE_OPTIONS, run_xable
from cxltool.cli.ndopts import Opt

COMMAND = ndopts.Command(
    usage=["ndctl destroy-namespace <namespace> [<options>]"],
    options=[
        *BASE_OPTIONS,
        Opt("f", "force", "bool", "destroy namespace even if currently active"),
    ],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    return run_xable(ctx, parsed, COMMAND, "destroy")
