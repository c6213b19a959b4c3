"""`cxl free-dpa <mem0> [<mem1>..<memn>] [<options>]`: release each memdev's last
DPA allocation; prints the memdevs."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.memdev_cli import DPA_OPTIONS, command, run_memdev_command

COMMAND = command("cxl free-dpa <mem0> [<mem1>..<memn>] [<options>]", DPA_OPTIONS)


def run(ctx, parsed: ndopts.Parsed) -> int:
    from cxltool.ops.memdev_action import plural
    from cxltool.ops.memdev_ops import DPA_FREE, DpaParams, reserve_dpa

    params = DpaParams(None, parsed["decoder"], parsed["type"], parsed["force"])

    def make(log, human):
        out: list[dict] = []
        return out, lambda s, m: reserve_dpa(s, m, log, params, DPA_FREE, out, human)

    return run_memdev_command(
        ctx,
        parsed,
        COMMAND,
        lambda n: (
            "cmd_free_dpa",
            f"reservation release completed on {n} mem device{plural(n)}",
        ),
        make,
    )
