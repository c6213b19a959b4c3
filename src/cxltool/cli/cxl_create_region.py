"""`cxl create-region <target0> ... [<options>]`: build, commit and enable a region."""

from __future__ import annotations

from cxltool.cli import jsonc, ndopts
from cxltool.cli.ndopts import Opt
from cxltool.cli.region_cli import command, summary

COMMAND = command(
    "cxl create-region <target0> ... [<options>]",
    [
        Opt(
            "s",
            "size",
            "str",
            "total size desired for the resulting region.",
            "size in bytes or with a K/M/G etc. suffix",
        ),
        Opt("w", "ways", "int", "number of memdevs participating in the regions interleave set"),
        Opt("g", "granularity", "int", "granularity of the interleave set"),
        Opt("t", "type", "str", "region type - 'pmem' or 'ram'", "region type"),
        Opt("U", "uuid", "str", "uuid for the new region (default: autogenerate)", "region uuid"),
        Opt("m", "memdevs", "bool", "non-option arguments are memdevs"),
        Opt("u", "human", "bool", "use human friendly number formats"),
        Opt("Q", "enforce-qos", "bool", "enforce qos_class match"),
    ],
)


def run(ctx, parsed: ndopts.Parsed) -> int:
    from cxltool.cli.memdev_cli import human_output
    from cxltool.objects.cxl import CxlSystem
    from cxltool.ops.memdev_action import Log
    from cxltool.ops.region_action import REGION_LOG
    from cxltool.ops.region_create import CreateParams, create_region

    params = CreateParams(
        targets=list(parsed.args),
        bus=parsed["bus"],
        decoder=parsed["decoder"],
        size=parsed["size"],
        ways=parsed["ways"],
        granularity=parsed["granularity"],
        type=parsed["type"],
        uuid=parsed["uuid"],
        memdevs=parsed["memdevs"],
        enforce_qos=parsed["enforce_qos"],
    )
    log = Log(REGION_LOG)
    system = CxlSystem(ctx.root)
    # -u is accepted and ignored: ndctl prints for humans when stdout is a terminal.
    rc, body = create_region(system, params, log, human_output(ctx))
    ctx.err.write("".join(system.messages) + log.text())
    if body is not None:
        ctx.out.write(jsonc.dumps(body))
    ctx.err.write(summary("create", 1 if rc == 0 else 0))
    return 0 if rc == 0 else 1
