"""Every scenario in tests/scenarios, run on a real Linux 6.12 kernel in a QEMU
guest and on a simulated system built from the same fixture, gives the same
exit statuses, the same output and the same trees after each state change.

The simulated system is built with the memdev numbering the guest's probes
produced (they finish in no fixed order), and window addresses are mapped
window by window; generated uuids are compared by order of appearance.

Slow (a guest boot per scenario, about a minute each under TCG): marked
`realkernel`, run with `python -m pytest -m realkernel`.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cxltool.guest import parity
from cxltool.guest.scenario import load_scenario, run_simulated
from cxltool.guest.vm import boot_scenario
from cxltool.sim.topology import load_fixture

pytestmark = pytest.mark.realkernel

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.toml"))


def _capture(run: Path, label: str) -> dict:
    with gzip.open(run / f"capture-{label}.json.gz", "rt") as f:
        return json.load(f)


def test_there_are_scenarios_for_the_qemu_fixtures():
    fixtures = {load_scenario(p).fixture for p in SCENARIOS}
    assert {"qemu-b", "qemu-c", "qemu-2hb"} <= fixtures


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_simulation_matches_the_kernel(path, tmp_path, guest_kernel):
    scenario = load_scenario(path)
    topology = load_fixture(scenario.fixture)
    real = boot_scenario(topology, scenario, tmp_path / "kernel")
    boot = _capture(real.out, "boot")
    numbered = topology.with_devices(parity.device_numbering(boot, topology))
    run_simulated(scenario, numbered, tmp_path / "simulated")
    results = real.results["results"]
    # The kernel did the work: every step ran, and state changes succeeded.
    assert len(results) == len(scenario.steps)
    assert any(r["rc"] == 0 and r["capture"] for r in results)

    differences = parity.compare_runs(real.out, tmp_path / "simulated")
    shown = "\n".join(differences[:30])
    assert not differences, f"{len(differences)} differences (runs in {tmp_path}):\n{shown}"
