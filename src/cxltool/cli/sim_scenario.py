"""`cxltool sim scenario` and `cxltool sim parity`: run a scenario of cxltool
commands on a simulated system or on a real kernel in a QEMU guest, and
compare the two."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

SCENARIO_HELP = "A TOML file: `fixture = NAME` and [[steps]] tables with `run` and `capture`."


def _fail(message: str, status: int = 1) -> None:
    click.echo(f"cxltool sim: {message}", err=True)
    sys.exit(status)


def _load(path: str):
    from cxltool.guest.scenario import ScenarioError, load_scenario
    from cxltool.sim.topology import FixtureError, load_fixture

    try:
        scenario = load_scenario(path)
        return scenario, load_fixture(scenario.fixture)
    except (ScenarioError, FixtureError) as e:
        _fail(str(e))


def _fresh(out: str, earlier: str) -> Path:
    """OUT emptied for a run: new, empty, or holding an earlier run (its EARLIER file)."""
    path = Path(out)
    if path.exists() and not (path / earlier).exists() and any(path.iterdir()):
        _fail(f"{out}: exists and holds no earlier run; give a new or empty directory")
    shutil.rmtree(path, ignore_errors=True)
    return path


def _boot(scenario, topology, out: Path, timeout: float):
    from cxltool.guest.kernel import GuestUnavailable
    from cxltool.guest.vm import GuestFailed, boot_scenario, qemu_available

    reason = qemu_available()
    if reason:
        _fail(f"cannot start a guest: {reason}")
    click.echo(f"booting a QEMU guest for {scenario.fixture} ...", err=True)
    try:
        return boot_scenario(topology, scenario, out, timeout=timeout)
    except GuestUnavailable as e:
        _fail(f"cannot start a guest: {e}")
    except GuestFailed as e:
        _fail(f"{e}\n(guest files in {out})")


def _summary(out: Path) -> None:
    from cxltool.guest.parity import load_run

    results, captures = load_run(out)
    failed = sum(1 for r in results["results"] if r["rc"] != 0)
    click.echo(
        f"{len(results['results'])} steps ({failed} non-zero exits), "
        f"{len(captures)} captures in {out}",
        err=True,
    )


@click.command("scenario")
@click.argument("scenario_file", metavar="SCENARIO")
@click.option("--out", "-o", required=True, metavar="DIR", help="Where results and captures go.")
@click.option(
    "--qemu", is_flag=True, help="Run on a real kernel in a QEMU guest (see harness/prepare)."
)
@click.option("--timeout", default=900, show_default=True, help="Seconds the guest may take.")
def scenario_cmd(scenario_file: str, out: str, qemu: bool, timeout: float) -> None:
    """Run SCENARIO's commands on a new system built from its fixture.

    Each step's exit status, stdout and stderr go to DIR/results.json, and the
    tree after each state change to DIR/capture-LABEL.json.gz. Without --qemu
    the system is simulated (built in DIR/root); with --qemu it is a real
    Linux kernel with QEMU's emulated CXL devices.
    """
    from cxltool.guest.scenario import ScenarioError, run_simulated

    scenario, topology = _load(scenario_file)
    path = _fresh(out, "results.json")
    if qemu:
        _boot(scenario, topology, path, timeout)
    else:
        try:
            run_simulated(scenario, topology, path)
        except ScenarioError as e:
            _fail(str(e))
    _summary(path)


@click.command("parity")
@click.argument("scenario_file", metavar="SCENARIO")
@click.option("--out", "-o", required=True, metavar="DIR", help="Where both runs are kept.")
@click.option("--timeout", default=900, show_default=True, help="Seconds the guest may take.")
def parity_cmd(scenario_file: str, out: str, timeout: float) -> None:
    """Run SCENARIO on a real kernel (QEMU) and on a simulated system; list every difference.

    The simulated system takes the memdev numbering the guest's probes gave;
    window addresses are mapped window by window, generated uuids by order of
    appearance. Exit status 1 when anything differs.
    """
    from cxltool.guest import parity
    from cxltool.guest.scenario import ScenarioError, run_simulated

    scenario, topology = _load(scenario_file)
    path = _fresh(out, "kernel")
    real = _boot(scenario, topology, path / "kernel", timeout)
    boot = parity.load_run(real.out)[1]["boot"]
    numbered = topology.with_devices(parity.device_numbering(boot, topology))
    try:
        run_simulated(scenario, numbered, path / "simulated")
    except ScenarioError as e:
        _fail(str(e))
    differences = parity.compare_runs(real.out, path / "simulated")
    for line in differences:
        click.echo(line)
    steps = len(scenario.steps)
    if differences:
        _fail(f"{len(differences)} differences over {steps} steps (runs in {out})")
    click.echo(f"no differences over {steps} steps and their captures", err=True)
