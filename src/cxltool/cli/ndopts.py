"""Option parsing that behaves like ndctl's parse-options.

Scripts rely on ndctl's exact command lines: bundled short options (`-BPEMDT`,
`-vvv`), values glued to switches (`-mmem0`), unique prefixes of long options,
`--no-<name>` negation, and its error lines and exit status 129. click cannot
express those rules, so the `cxl` and `daxctl` sub-commands parse their words
here and click only routes to them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

USAGE_EXIT = 129
LIST_OPTS_EXIT = 130
_OPTS_WIDTH = 24
_GAP = 2


@dataclass(frozen=True)
class Opt:
    """One option: kind is bool, incr (counts repeats), str or int."""

    short: str | None
    long: str | None
    kind: str
    help: str
    argh: str | None = None
    dest: str | None = None

    @property
    def key(self) -> str:
        name = self.dest or self.long or self.short or ""
        return name.replace("-", "_")

    @property
    def takes_value(self) -> bool:
        return self.kind in ("str", "int")

    def usage_line(self) -> str:
        text = "    "
        # A long-only option is indented to line up with the `-x, ` of the others.
        text += "-" + self.short if self.short else "    "
        if self.short and self.long:
            text += ", "
        if self.long:
            text += "--" + self.long
        if self.kind == "int":
            text += f" <{self.argh or 'n'}>"
        elif self.kind == "str":
            text += f" <{self.argh}>" if self.argh else " ..."
        if len(text) <= _OPTS_WIDTH:
            pad = _OPTS_WIDTH - len(text)
        else:
            text += "\n"
            pad = _OPTS_WIDTH
        return text + " " * (pad + _GAP) + self.help


@dataclass
class Command:
    """A sub-command's usage strings and options, in help order."""

    usage: list[str]
    options: list[Opt]
    defaults: dict[str, Any] = field(default_factory=dict)

    def full_usage(self) -> str:
        lines = "".join(o.usage_line() + "\n" for o in self.options)
        return usage_header(self.usage) + lines + "\n"


class UsageExit(Exception):
    """Parsing stopped: print `stderr` (and `stdout`), exit with `status`."""

    def __init__(self, status: int, stderr: str = "", stdout: str = "") -> None:
        super().__init__(stderr)
        self.status = status
        self.stderr = stderr
        self.stdout = stdout

    def emit(self, out: TextIO | None = None, err: TextIO | None = None) -> int:
        (out or sys.stdout).write(self.stdout)
        (err or sys.stderr).write(self.stderr)
        return self.status


def error_line(message: str) -> str:
    """ndctl's error(): two spaces, `Error: `, the message, a newline."""
    return f"  Error: {message}\n"


def usage_header(usage: list[str]) -> str:
    text = f"\n usage: {usage[0]}\n"
    for more in usage[1:]:
        text += f"    or: {more}\n"
    return text + "\n"


class Parsed(dict):
    """Option values by key, plus the positional words in `args`."""

    args: list[str]


def parse(argv: list[str], cmd: Command) -> Parsed:
    """Parse a sub-command's words (without the command name) like ndctl does."""
    values = Parsed({o.key: _initial(o) for o in cmd.options})
    values.update(cmd.defaults)
    values.args = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            values.args.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            values.args.append(arg)
            continue
        if arg.startswith("--"):
            i = _parse_long(argv, i, arg[2:], cmd, values)
        else:
            i = _parse_short_bundle(argv, i, arg, cmd, values)
    return values


def _initial(o: Opt) -> Any:
    return {"bool": False, "incr": 0, "str": None, "int": None}[o.kind]


def _one_option_usage(cmd: Command, opt: Opt) -> str:
    return usage_header(cmd.usage) + opt.usage_line() + "\n"


def _usage_for_word(cmd: Command, word: str) -> str:
    # For a bad long option ndctl shows the header and the first option whose
    # name begins the word the user typed (none for an ambiguous prefix).
    for o in cmd.options:
        if o.long and word.startswith(o.long):
            return _one_option_usage(cmd, o)
    return usage_header(cmd.usage)


def _set_value(cmd: Command, opt: Opt, value: str, values: Parsed, as_short: bool) -> None:
    if opt.kind == "int":
        try:
            values[opt.key] = _strtol(value)
        except ValueError:
            what = f"switch `{opt.short}'" if as_short else f"option `{opt.long}'"
            raise UsageExit(
                USAGE_EXIT,
                error_line(f"{what} expects a numerical value") + _one_option_usage(cmd, opt),
            ) from None
    else:
        values[opt.key] = value


def _strtol(text: str) -> int:
    # strtol(..., 10): optional blanks and sign, digits, nothing after them.
    s = text.lstrip()
    if not s or not s.lstrip("+-").isdigit() or s.count("-") + s.count("+") > 1:
        raise ValueError(text)
    return int(s)


def _switch_on(opt: Opt, values: Parsed) -> None:
    if opt.kind == "incr":
        values[opt.key] += 1
    else:
        values[opt.key] = True


def _parse_short_bundle(argv: list[str], i: int, arg: str, cmd: Command, values: Parsed) -> int:
    by_short = {o.short: o for o in cmd.options if o.short}
    rest = arg[1:]
    first = True
    while rest:
        ch, rest = rest[0], rest[1:]
        if ch == "h":
            raise UsageExit(USAGE_EXIT, cmd.full_usage())
        opt = by_short.get(ch)
        if opt is None:
            raise UsageExit(USAGE_EXIT, error_line(f"unknown switch `{ch}'") + cmd.full_usage())
        if opt.takes_value:
            if rest:
                value, rest = rest, ""
            elif i < len(argv):
                value, i = argv[i], i + 1
            else:
                raise UsageExit(
                    USAGE_EXIT,
                    error_line(f"switch `{ch}' requires a value") + _one_option_usage(cmd, opt),
                )
            _set_value(cmd, opt, value, values, as_short=True)
        else:
            _switch_on(opt, values)
            if first and rest:
                _check_typo(arg[1:], cmd)
        first = False
    return i


def _check_typo(word: str, cmd: Command) -> None:
    # `-idle` was most likely meant as `--idle`; ndctl stops rather than guess.
    if len(word) < 3:
        return
    if word.startswith("no-") or any(o.long and o.long.startswith(word) for o in cmd.options):
        raise UsageExit(USAGE_EXIT, error_line(f"did you mean `--{word}` (with two dashes ?)"))


def _parse_long(argv: list[str], i: int, body: str, cmd: Command, values: Parsed) -> int:
    name, eq, value = body.partition("=")
    if name == "help-all":
        raise UsageExit(USAGE_EXIT, cmd.full_usage())
    if name == "list-opts":
        names = "".join(f"--{o.long} " for o in cmd.options if o.long)
        raise UsageExit(LIST_OPTS_EXIT, stdout=names)
    if name == "list-cmds":
        raise UsageExit(LIST_OPTS_EXIT)
    opt, negated = _find_long(name, cmd, body)
    if negated:
        if eq:
            text = error_line(f"option `{opt.long}' takes no value")
            raise UsageExit(USAGE_EXIT, text + _usage_for_word(cmd, body))
        values[opt.key] = _initial(opt)
        return i
    if not opt.takes_value:
        if eq:
            text = error_line(f"option `{opt.long}' takes no value")
            raise UsageExit(USAGE_EXIT, text + _usage_for_word(cmd, body))
        _switch_on(opt, values)
        return i
    if not eq:
        if i >= len(argv):
            raise UsageExit(
                USAGE_EXIT,
                error_line(f"option `{opt.long}' requires a value") + _usage_for_word(cmd, body),
            )
        value, i = argv[i], i + 1
    _set_value(cmd, opt, value, values, as_short=False)
    return i


def _find_long(name: str, cmd: Command, body: str | None = None) -> tuple[Opt, bool]:
    longs = [o for o in cmd.options if o.long]
    for o in longs:
        if o.long == name:
            return o, False
    if name.startswith("no-"):
        for o in longs:
            if o.long == name[3:]:
                return o, True
    # Options named no-X may be given as X to unset them.
    for o in longs:
        if o.long.startswith("no-") and o.long[3:] == name:
            return o, True
    matches = [o for o in longs if o.long.startswith(name)]
    if name.startswith("no-"):
        matches += [o for o in longs if o.long.startswith(name[3:]) and o not in matches]
    if len(matches) == 1:
        return matches[0], name.startswith("no-") and not matches[0].long.startswith(name)
    if len(matches) > 1:
        first, second = matches[0].long, matches[1].long
        text = f"Ambiguous option: {body or name} (could be --{first} or --{second})"
        raise UsageExit(USAGE_EXIT, error_line(text) + usage_header(cmd.usage))
    raise UsageExit(USAGE_EXIT, error_line(f"unknown option `{name}'") + cmd.full_usage())
