"""`cxl enable-port <port0> [<port1>..<portN>] [<options>]`: bind ports, and with `-m`
the memdevs below them."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.ndopts import Opt
from cxltool.cli.port_cli import DEBUG, ENDPOINT, run_port_command

COMMAND = ndopts.Command(
    usage=["cxl enable-port <port0> [<port1>..<portN>] [<options>]"],
    options=[DEBUG, ENDPOINT, Opt("m", "enable-memdevs", "bool", "enable downstream memdev(s)")],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    from cxltool.ops.port_ops import enable_port

    return run_port_command(
        ctx,
        parsed,
        COMMAND,
        "enable",
        lambda system, port, log: enable_port(system, port, log, parsed["enable_memdevs"]),
    )
