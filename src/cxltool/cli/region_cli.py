"""What ndctl's region commands share on the command line: options, summary line, exit."""

from __future__ import annotations

from cxltool.cli import ndopts
from cxltool.cli.ndopts import Opt

BASE_OPTIONS = [
    Opt("b", "bus", "str", "Limit operation to the specified bus", "bus name"),
    Opt("d", "decoder", "str", "Limit to / use the specified root decoder", "root decoder name"),
    Opt(None, "debug", "bool", "turn on debug"),
]


def command(usage: str, extra: list[Opt]) -> ndopts.Command:
    return ndopts.Command(usage=[usage], options=[*BASE_OPTIONS, *extra])


_PAST = {"create": "created", "enable": "enabled", "disable": "disabled", "destroy": "destroyed"}


def summary(action: str, count: int) -> str:
    """The closing line: region commands pluralise unless the count is exactly 1."""
    past = _PAST[action]
    return f"cxl region: cmd_{action}_region: {past} {count} region{'' if count == 1 else 's'}\n"


def run_region_action(ctx, parsed: ndopts.Parsed, action: str, force: bool = False) -> int:
    """enable/disable/destroy-region: act on the named regions, log, summarise."""
    from cxltool.objects.cxl import CxlSystem
    from cxltool.ops.memdev_action import Log
    from cxltool.ops.region_action import REGION_LOG, region_action

    log = Log(REGION_LOG)
    system = CxlSystem(ctx.root)
    count, err = region_action(
        system, action, parsed.args, parsed["bus"], parsed["decoder"], force, log
    )
    ctx.err.write("".join(system.messages) + log.text())
    ctx.err.write(summary(action, count))
    return 0 if err == 0 else 1
