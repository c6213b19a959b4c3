"""Scenario files, and running one on a simulated system."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from cxltool.guest.scenario import ScenarioError, load_scenario, resolve, run_simulated
from cxltool.sim.topology import load_fixture


def _write(tmp_path, text: str):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[steps]]\nrun = "cxl list"\n', "fixture: a fixture name is required"),
        ('fixture = "qemu-b"\n', "steps: at least one [[steps]] table is required"),
        ('fixture = "qemu-b"\n[[steps]]\nrun = "ls /"\n', "step 1: ls: not one of"),
        ('fixture = "qemu-b"\n[[steps]]\nrun = "cxl list"\nwhen = 1\n', "step 1: unknown key when"),
        (
            'fixture = "qemu-b"\n[[steps]]\nrun = "cxl list"\ncapture = "a"\n'
            '[[steps]]\nrun = "cxl list"\ncapture = "a"\n',
            "step 2: capture: a new lower-case label",
        ),
    ],
)
def test_a_bad_scenario_names_the_file_and_the_step(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert str(e.value).startswith(f"{path}: {message}")


def test_memdevs_are_named_by_serial():
    assert resolve("cxl disable-memdev {mem:0x2} -f", {2: "mem0", 1: "mem1"}) == [
        "cxl",
        "disable-memdev",
        "mem0",
        "-f",
    ]
    with pytest.raises(ScenarioError, match="no memdev has serial 0x9"):
        resolve("cxl list -m {mem:0x9}", {1: "mem0"})


def test_a_run_records_each_step_and_captures_each_state(tmp_path):
    path = _write(
        tmp_path,
        'fixture = "qemu-b"\n'
        '[[steps]]\nrun = "cxl list -m {mem:0x2}"\n'
        '[[steps]]\nrun = "cxl disable-memdev {mem:0x2}"\ncapture = "disabled"\n'
        '[[steps]]\nrun = "cxl disable-memdev mem9"\n',
    )
    scenario = load_scenario(path)
    run_simulated(scenario, load_fixture(scenario.fixture), tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    assert [(r["argv"], r["rc"]) for r in results] == [
        (["cxl", "list", "-m", "mem1"], 0),
        (["cxl", "disable-memdev", "mem1"], 0),
        (["cxl", "disable-memdev", "mem9"], 0),
    ]
    assert json.loads(results[0]["stdout"]) == [
        {
            "memdev": "mem1",
            "pmem_size": 268435456,
            "serial": 2,
            "host": "0000:0e:00.0",
            "firmware_version": "BWFW VERSION 00",
        }
    ]
    assert results[1]["stderr"] == "cxl memdev: cmd_disable_memdev: disabled 1 mem\n"
    assert results[2]["stderr"] == (
        "cxl memdev: memdev_action: no memdev matches mem9\n"
        "cxl memdev: cmd_disable_memdev: disabled 0 mem\n"
    )

    def entries(label: str) -> dict:
        with gzip.open(tmp_path / "out" / f"capture-{label}.json.gz", "rt") as f:
            return json.load(f)["entries"]

    driver = "/sys/devices/pci0000:0c/0000:0c:01.0/0000:0e:00.0/mem1/driver"
    assert entries("boot")[driver]["target"].endswith("drivers/cxl_mem")
    assert driver not in entries("disabled")


def test_the_command_line_runs_a_scenario_and_refuses_a_bad_one(tmp_path):
    path = _write(tmp_path, 'fixture = "qemu-a"\n[[steps]]\nrun = "cxl list -M"\n')
    done = subprocess.run(
        [sys.executable, "-m", "cxltool", "sim", "scenario", str(path), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"1 steps (0 non-zero exits), 1 captures in {tmp_path / 'o'}\n"
    bad = _write(tmp_path, 'fixture = "nope"\n[[steps]]\nrun = "cxl list"\n')
    done = subprocess.run(
        [sys.executable, "-m", "cxltool", "sim", "scenario", str(bad), "-o", str(tmp_path / "p")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("cxltool sim: ")
