"""`cxltool sim`: make, inspect and drive simulated systems."""

from __future__ import annotations

import os
import sys

import click

from cxltool.sysfs import RootError, SysfsError, open_root


def _fail(message: str, status: int = 1) -> None:
    click.echo(f"cxltool sim: {message}", err=True)
    sys.exit(status)


def _parse_params(pairs: tuple[str, ...]) -> dict[str, int]:
    params: dict[str, int] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"{pair!r}: expected KEY=NUMBER", param_hint="--param")
        try:
            params[key] = int(value, 0)
        except ValueError:
            raise click.BadParameter(
                f"{pair!r}: {value!r} is not a number", param_hint="--param"
            ) from None
    return params


def _empty_destination(dest: str) -> None:
    if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
        _fail(f"{dest}: already exists and is not an empty directory")


@click.group()
def sim() -> None:
    """Make, inspect and drive simulated CXL systems."""


@sim.command("fixtures")
def fixtures_cmd() -> None:
    """List the built-in fixtures: name, then what it describes."""
    from cxltool.sim.topology import builtin_fixtures

    rows = builtin_fixtures()
    width = max((len(name) for name, _ in rows), default=0)
    for name, description in rows:
        click.echo(f"{name:<{width}}  {description}")


@sim.command("new")
@click.argument("fixture")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option(
    "-p", "--param", "params", multiple=True, metavar="KEY=N",
    help="Set a parameter of a parametric fixture (e.g. -p host_bridges=64 for scale).",
)
def new_cmd(fixture: str, dest: str, params: tuple[str, ...]) -> None:
    """Build a simulated system from FIXTURE (a built-in name or a .toml file) in DEST."""
    from cxltool.sim.systems import build_fixture_into
    from cxltool.sim.topology import FixtureError

    _empty_destination(dest)
    try:
        build_fixture_into(fixture, dest, _parse_params(params))
    except FixtureError as e:
        _fail(str(e))
    click.echo(f"built {fixture} in {dest}", err=True)


@sim.command("qemu-args")
@click.argument("fixture")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=N",
    help="Set a parameter of a parametric fixture (e.g. -p host_bridges=4 for scale).",
)
@click.option(
    "--backing",
    "backing_dir",
    metavar="DIR",
    default="backing",
    show_default=True,
    help="Directory of the files behind persistent memory and label areas, as QEMU "
    "will see it (the default is relative to QEMU's working directory). QEMU "
    "creates missing files.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the options as a JSON array.")
def qemu_args_cmd(fixture: str, params: tuple[str, ...], backing_dir: str, as_json: bool) -> None:
    """Print the QEMU options that build FIXTURE's CXL topology, on one shell-quoted line.

    They go after `qemu-system-x86_64 -M q35,cxl=on -m 2G,maxmem=8G,slots=8 ...`.
    Fixture details QEMU does not reproduce are noted on stderr; a fixture QEMU
    cannot build is an error.
    """
    import json

    from cxltool.sim.qemu_args import QemuUnsupported, qemu_topology
    from cxltool.sim.topology import FixtureError, load_fixture

    try:
        topology = load_fixture(fixture, _parse_params(params))
        result = qemu_topology(topology, backing_dir)
    except FixtureError as e:
        _fail(str(e))
    except QemuUnsupported as e:
        _fail(f"{fixture}: QEMU cannot build this fixture: {e}")
    for note in result.ignored:
        click.echo(f"cxltool sim: note: {topology.name}: {note}", err=True)
    click.echo(json.dumps(result.args) if as_json else result.command_line())


@sim.command("restore")
@click.argument("capture_file", metavar="CAPTURE", type=click.Path(dir_okay=False))
@click.argument("dest", type=click.Path(file_okay=False))
def restore_cmd(capture_file: str, dest: str) -> None:
    """Make a simulated system in DEST from a capture (.json or .json.gz)."""
    from cxltool.sim.capture import CaptureError, load_capture, restore

    _empty_destination(dest)
    try:
        count = restore(load_capture(capture_file), dest)
    except CaptureError as e:
        _fail(str(e))
    click.echo(f"restored {count} entries in {dest}", err=True)


@sim.command("capture")
@click.option(
    "--root", "root_dir", metavar="DIR", help="Root to capture (default: the chosen system)."
)
@click.option("--label", default="capture", show_default=True, help="Label stored in the capture.")
@click.argument("out", type=click.Path(dir_okay=False))
@click.pass_obj
def capture_cmd(choice, root_dir: str | None, label: str, out: str) -> None:
    """Write the CXL part of a system's sysfs to OUT (gzipped if OUT ends in .gz)."""
    from cxltool.sim.capture import capture, write_capture

    try:
        root = open_root(root_dir) if root_dir else choice.open()
    except RootError as e:
        _fail(str(e))
    doc = capture(root, label)
    write_capture(doc, out)
    click.echo(f"captured {doc['meta']['entry_count']} entries to {out}", err=True)


@sim.command("write")
@click.argument("path")
@click.argument("value")
@click.pass_obj
def write_cmd(choice, path: str, value: str) -> None:
    """Do what `echo VALUE > PATH` does on the system (PATH as on the machine: /sys/...).

    On a simulated system the emulated kernel validates the write, fails it with the
    kernel's errno, or applies it with the kernel's side effects.
    """
    try:
        root = choice.open()
    except RootError as e:
        _fail(str(e))
    if not path.startswith("/") or "\0" in path or "/../" in path + "/":
        _fail(f"{path}: give the absolute path as on the machine (/sys/...)")
    try:
        root.write(path, value + "\n")
    except SysfsError as e:
        _fail(f"write error: {e.message}")


@sim.command("check")
@click.pass_obj
def check_cmd(choice) -> None:
    """Check that the system's tree is consistent; list every problem found."""
    from cxltool.sim.check import check_tree

    try:
        root = choice.open()
    except RootError as e:
        _fail(str(e))
    problems = check_tree(root)
    for line in problems:
        click.echo(line)
    if problems:
        _fail(f"{len(problems)} problem(s) in {root.display}")
    click.echo(f"{root.display}: consistent", err=True)


# -- device events ---------------------------------------------------------------------------
def _size(text: str | None, option: str) -> int | None:
    from cxltool.ops.numbers import parse_size

    if text is None:
        return None
    try:
        return parse_size(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size (like 256M or 0x10000000)",
                                 param_hint=option) from None


def _number(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text, 0)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a number", param_hint=option) from None


def _simulated(choice):
    from cxltool.sysfs.root import SimulatedRoot

    try:
        root = choice.open()
    except RootError as e:
        _fail(str(e))
    if not isinstance(root, SimulatedRoot):
        _fail(f"{root.display}: device events happen only on a simulated system")
    return root


def _human(n: int) -> str:
    from cxltool.sim.topology import format_size

    return format_size(n) if n else "0"


@sim.command("hot-add")
@click.option("--ram", metavar="SIZE", help="Volatile capacity (multiple of 256M).")
@click.option("--pmem", metavar="SIZE", help="Persistent capacity (multiple of 256M).")
@click.option("--serial", metavar="N", help="Device serial number (default: one past the highest).")
@click.option("--slot", metavar="PORT",
              help="Free root port or switch downstream port, by device name "
                   "(e.g. 0000:0c:01.0; default: the first free one).")
@click.option("--lsa", metavar="SIZE", help="Label storage area size (default: the platform's).")
@click.option("--numa-node", "numa_node", metavar="N", default="-1", show_default=True,
              help="The device's own NUMA node.")
@click.pass_obj
def hot_add_cmd(choice, ram, pmem, serial, slot, lsa, numa_node) -> None:
    """Plug a new type-3 device into a free slot; the kernel probes it.

    Prints the new memdev's name. The kernel registers it with the next memdev id
    and enables it (endpoint port and decoders) when the ports above it are enabled.
    """
    from cxltool.sim.events import EventError, hot_add

    sizes = (_size(ram, "--ram") or 0, _size(pmem, "--pmem") or 0)
    node = _number(numa_node, "--numa-node")
    root = _simulated(choice)
    try:
        added = hot_add(root, sizes[0], sizes[1], serial=_number(serial, "--serial"), slot=slot,
                        label_storage_size=_size(lsa, "--lsa"),
                        numa_node=-1 if node is None else node)
    except EventError as e:
        _fail(str(e))
    state = "enabled" if added.enabled else "not enabled (no enabled port above it)"
    click.echo(added.memdev)
    click.echo(f"{added.memdev}: ram {_human(sizes[0])}, pmem {_human(sizes[1])} "
               f"in slot {added.slot}, {state}", err=True)


@sim.command("hot-remove")
@click.argument("memdev")
@click.pass_obj
def hot_remove_cmd(choice, memdev: str) -> None:
    """Pull the device behind MEMDEV out, as a surprise removal.

    The kernel unregisters the memdev and its endpoint; a region it was part of loses
    that member. Nothing is asked first: the device is simply gone.
    """
    from cxltool.sim.events import EventError, hot_remove

    root = _simulated(choice)
    try:
        slot = hot_remove(root, memdev)
    except EventError as e:
        _fail(str(e))
    click.echo(f"{memdev}: removed from slot {slot}", err=True)


@sim.command("set-capacity")
@click.argument("memdev")
@click.option("--ram", metavar="SIZE", help="New volatile capacity (default: unchanged).")
@click.option("--pmem", metavar="SIZE", help="New persistent capacity (default: unchanged).")
@click.pass_obj
def set_capacity_cmd(choice, memdev: str, ram, pmem) -> None:
    """Change the media of the device behind MEMDEV.

    The device answers its mailbox with the new capacity at once; the kernel keeps
    showing what it read when it probed the device (ram/size, pmem/size) until
    cxl_pci probes it again (unbind and bind it, or remove and re-add the device).
    """
    from cxltool.sim.events import EventError, set_capacity

    new_ram, new_pmem = _size(ram, "--ram"), _size(pmem, "--pmem")
    root = _simulated(choice)
    try:
        c = set_capacity(root, memdev, new_ram, new_pmem)
    except EventError as e:
        _fail(str(e))
    line = f"{c.memdev}: the device has ram {_human(c.ram)}, pmem {_human(c.pmem)}"
    if (c.ram, c.pmem) != (c.shown_ram, c.shown_pmem):
        line += (f"; the kernel shows ram {_human(c.shown_ram)}, pmem {_human(c.shown_pmem)}"
                 " until cxl_pci probes it again")
    click.echo(line, err=True)


def _register_scenario_commands() -> None:
    from cxltool.cli.sim_scenario import parity_cmd, scenario_cmd

    sim.add_command(scenario_cmd)
    sim.add_command(parity_cmd)


_register_scenario_commands()
