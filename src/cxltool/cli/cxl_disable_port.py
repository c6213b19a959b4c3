"""`cxl disable-port <port0> [<port1>..<portN>] [<options>]`: unbind switch or endpoint
ports (and with them the memdevs below)."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.port_cli import DEBUG, ENDPOINT, FORCE, run_port_command

COMMAND = ndopts.Command(
    usage=["cxl disable-port <port0> [<port1>..<portN>] [<options>]"],
    options=[DEBUG, ENDPOINT, FORCE],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    from cxltool.ops.port_ops import disable_port

    return run_port_command(
        ctx,
        parsed,
        COMMAND,
        "disable",
        lambda system, port, log: disable_port(
            system, port, log, parsed["force"], parsed["endpoint"]
        ),
    )
