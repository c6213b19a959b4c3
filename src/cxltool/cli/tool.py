"""The `cxl` and `daxctl` front doors: ndctl's top-level rules for commands.

`cxl [--version] [--help] COMMAND [ARGS]`: leading flags, `help`, `version`,
`--list-cmds`, unknown commands, and the exit status a command's negative errno
becomes (`rc & 0xff`), as ndctl has them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from cxltool import __version__
from cxltool.cli import ndopts
from cxltool.sysfs import NeedsRoot


@dataclass(frozen=True)
class Tool:
    """One ndctl-style tool: its name and its commands (module names or None)."""

    name: str
    version: str
    commands: dict[str, str | None]


class Context:
    """What a command gets: how to open the root, and where to write."""

    def __init__(self, open_root: Callable, out: TextIO, err: TextIO) -> None:
        self._open_root = open_root
        self._root = None
        self.out = out
        self.err = err

    @property
    def root(self):
        if self._root is None:
            self._root = self._open_root()
        return self._root


def _banner(tool: Tool) -> str:
    return (
        f"\n usage: {tool.name} [--version] [--help] COMMAND [ARGS]\n\n"
        f"\n See '{tool.name} help COMMAND' for more information on a specific command.\n"
        f" {tool.name} --list-cmds to see all available commands\n\n"
    )


def command_module(tool: Tool, name: str):
    """The module of a command, or None where cxltool lacks it so far."""
    module = tool.commands.get(name)
    if not module:
        return None
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        return None


def help_text(tool: Tool, name: str) -> str | None:
    """A command's usage block, for `--help` (ndctl would open its man page)."""
    mod = command_module(tool, name)
    return mod.COMMAND.full_usage().lstrip("\n ") if mod else None


def run(tool: Tool, argv: list[str], ctx: Context) -> int:
    """Run `tool argv...` and return the process exit status."""
    args = list(argv)
    while args and args[0].startswith("-"):
        flag = args[0]
        if flag in ("--version", "-v"):
            args[0] = "version"
            break
        if flag in ("--help", "-h"):
            args[0] = "help"
            break
        if flag == "--list-cmds":
            ctx.out.write("".join(f"{c}\n" for c in tool.commands))
            return 0
        ctx.err.write(
            f"Unknown option: {flag}\n\n Usage: {tool.name} [--version] [--help] COMMAND [ARGS]\n"
        )
        return ndopts.USAGE_EXIT
    if not args:
        ctx.out.write(_banner(tool))
        return 1
    name, rest = args[0], args[1:]
    if name == "version":
        ctx.out.write(f"{tool.version}\n")
        return 0
    if name == "help" or (rest[:1] == ["--help"]):
        topic = rest[0] if name == "help" and rest else (name if name != "help" else None)
        if topic is None:
            ctx.out.write(_banner(tool))
            return 0
        text = help_text(tool, topic.removeprefix(f"{tool.name}-"))
        if text is None:
            ctx.err.write(f"Unknown command: '{topic}'\n")
            return 1
        ctx.out.write(text)
        return 0
    if name not in tool.commands:
        ctx.err.write(f"Unknown command: '{name}'\n")
        return 1
    mod = command_module(tool, name)
    if mod is None:
        ctx.err.write(f"{tool.name} {name}: not available in cxltool {__version__} yet\n")
        return 1
    try:
        parsed = ndopts.parse(rest, mod.COMMAND)
    except ndopts.UsageExit as e:
        return e.emit(ctx.out, ctx.err)
    try:
        rc = mod.run(ctx, parsed)
    except ndopts.UsageExit as e:
        return e.emit(ctx.out, ctx.err)
    except NeedsRoot as e:
        # One line instead of ndctl's cascade: every later write would fail alike.
        ctx.err.write(f"cxltool: {e.message}\n")
        return 1
    return rc & 0xFF if rc < 0 else rc


def main_stream() -> tuple[TextIO, TextIO]:
    return sys.stdout, sys.stderr
