"""`cxltool`: the entry point. Picks the system, then hands over to a tool."""

from __future__ import annotations

import sys

import click

from cxltool import __version__
from cxltool.cli import tool as toolmod
from cxltool.sysfs import NeedsRoot, RootError, open_root

ROOT_HELP = "System root holding sys/ and dev/ (default: / , the real machine)."
SIM_HELP = (
    "Use simulated system NAME from the state directory, built from fixture NAME on first use."
)


class RootChoice:
    """How the system is chosen; the root is opened only when a command needs it."""

    def __init__(self, root: str | None, sim: str | None) -> None:
        self.root = root
        self.sim = sim

    def base(self) -> str:
        if self.sim:
            from cxltool.sim.systems import SystemError_, ensure_system
            from cxltool.sim.topology import FixtureError

            try:
                return ensure_system(self.sim)
            except (SystemError_, FixtureError) as e:
                raise RootError(str(e)) from None
        return self.root or "/"

    def open(self):
        return open_root(self.base())


def fail(message: str, status: int = 1) -> None:
    click.echo(f"cxltool: {message}", err=True)
    sys.exit(status)


def _passthrough(tool_name: str, help_text: str):
    @click.command(
        tool_name,
        help=help_text,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_obj
    def command(choice: RootChoice, args: tuple[str, ...]) -> None:
        if tool_name == "cxl":
            from cxltool.cli.cxl import CXL as tool
        elif tool_name == "daxctl":
            from cxltool.cli.daxctl import DAXCTL as tool
        else:
            from cxltool.cli.ndctl import NDCTL as tool

        def opener():
            try:
                return choice.open()
            except RootError as e:
                fail(str(e))

        ctx = toolmod.Context(opener, sys.stdout, sys.stderr)
        status = toolmod.run(tool, list(args), ctx)
        try:
            sys.stdout.flush()
        except OSError as e:
            if status == 0:
                sys.stderr.write(f"write failure on standard output: {e.strerror}\n")
                status = 1
        sys.exit(status)

    return command


class LazyGroup(click.Group):
    """A group whose heavier sub-commands are imported only when used."""

    lazy = {"sim": "cxltool.cli.sim:sim"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            import importlib

            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cxltool")
@click.option("--root", metavar="DIR", envvar="CXLTOOL_ROOT", help=ROOT_HELP)
@click.option("--sim", metavar="NAME", help=SIM_HELP)
@click.pass_context
def cli(ctx: click.Context, root: str | None, sim: str | None) -> None:
    """Manage CXL memory like ndctl's cxl and daxctl, on a real or simulated system.

    \b
    cxltool cxl ...      the cxl commands (cxltool cxl --list-cmds)
    cxltool daxctl ...   the daxctl commands
    cxltool sim ...      make, inspect and drive simulated systems

    Try it without hardware:  cxltool --sim default cxl list -vu
    """
    if root and sim:
        raise click.UsageError("--root and --sim choose the system two ways; give one")
    ctx.obj = RootChoice(root, sim)


cli.add_command(_passthrough("cxl", "Run a cxl command (same options and output as ndctl's cxl)."))
cli.add_command(_passthrough("daxctl", "Run a daxctl command (same options and output as daxctl)."))
cli.add_command(_passthrough("ndctl", "Run an ndctl command (same options and output as ndctl)."))


def main() -> None:
    try:
        cli.main(prog_name="cxltool", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except NeedsRoot as e:
        # The tools handle it themselves; this catches the other commands' writes.
        fail(e.message)


if __name__ == "__main__":
    main()
