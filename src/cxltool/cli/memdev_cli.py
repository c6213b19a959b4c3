"""What ndctl's memdev commands share on the command line: the options every one
has, the positional-word rules, the summary line and the JSON array some print."""

from __future__ import annotations

from cxltool.cli import jsonc, ndopts
from cxltool.cli.cxl_list import EMPTY_WARNING
from cxltool.cli.ndopts import Opt

BASE_OPTIONS = [
    Opt("b", "bus", "str", "Limit operation to the specified bus", "bus name"),
    Opt("v", "verbose", "bool", "turn on debug"),
    Opt("S", "serial", "bool", "use serial numbers to id memdevs"),
]
DPA_OPTIONS = [
    Opt(
        "d",
        "decoder",
        "str",
        "override the automatic decoder selection",
        "decoder instance id",
    ),
    Opt("t", "type", "str", "'pmem' or 'ram' (volatile) (Default: 'pmem')", "type"),
    Opt("f", "force", "bool", "Attempt 'expected to fail' operations"),
]


def command(usage: str, extra: list[Opt]) -> ndopts.Command:
    return ndopts.Command(usage=[usage], options=[*BASE_OPTIONS, *extra])


def human_output(ctx) -> bool:
    """ndctl prints these commands' JSON for humans only when stdout is a terminal."""
    isatty = getattr(ctx.out, "isatty", None)
    return bool(isatty and isatty())


def run_memdev_command(ctx, parsed: ndopts.Parsed, cmd: ndopts.Command, summary, make_action):
    """Validate the words, run the action on each match, print JSON (if any) and summary.

    `make_action(log, out, human)` returns the per-memdev action; `out` collects
    JSON objects, or is None for commands that print none. `summary(count)` is
    (function, message) of the closing line.
    """
    from cxltool.ops.memdev_action import MEMDEV_LOG, Log, run_action, valid_words

    if not parsed.args:
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, cmd.full_usage())
    log = Log(MEMDEV_LOG)
    words, all_bad = valid_words(parsed.args, parsed["serial"], log)
    if all_bad:
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, log.text() + cmd.full_usage())
    human = human_output(ctx)
    out, action = make_action(log, human)
    result = run_action(ctx.root, words, parsed["serial"], parsed["bus"], log, action)
    if out is not None:
        if len(out) > 1 or not human:
            if not out:
                log.raw(EMPTY_WARNING)
            ctx.out.write(jsonc.dumps(out))
        elif out:
            ctx.out.write(jsonc.dumps(out[0]))
    log(*summary(result.count))
    ctx.err.write(log.text())
    return result.exit_status
