"""`ndctl disable-namespace <namespace> [<options>]`: disable a namespace (or "all")."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.namespace_cli import BASE_OPTIONS, run_xable

COMMAND = ndopts.Command(
    usage=["ndctl disable-namespace <namespace> [<options>]"],
    options=list(BASE_OPTIONS),
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    return run_xable(ctx, parsed, COMMAND, "disable")
