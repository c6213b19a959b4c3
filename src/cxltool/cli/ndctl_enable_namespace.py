"""`ndctl enable-namespace <namespace> [<options>]`: enable a namespace (or "all")."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.namespace_cli import BASE_OPTIONS, run_xable

COMMAND = ndopts.Command(
    usage=["ndctl enable-namespace <namespace> [<options>]"],
    options=list(BASE_OPTIONS),
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    return run_xable(ctx, parsed, COMMAND, "enable")
