"""Comparing a run on a real kernel with a run on a simulated system."""

from __future__ import annotations

import gzip
import json

from cxltool.guest import parity
from cxltool.sim.topology import load_fixture
from tests.sim.capture_data import C_V81_NUMBERING, load_capture

CXL = "/sys/bus/cxl/devices"
ROOT0 = "/sys/devices/platform/ACPI0017:00/root0"


def _window_doc(base: int, size: int = 1 << 32) -> dict:
    """The entries of a capture that say where root decoder 0.0 decodes."""
    return {
        "entries": {
            f"{CXL}/decoder0.0": {"type": "link", "resolved": f"{ROOT0}/decoder0.0"},
            f"{ROOT0}/decoder0.0/start": {"type": "file", "content": f"{base:#x}\n"},
            f"{ROOT0}/decoder0.0/size": {"type": "file", "content": f"{size:#x}\n"},
            "/sys/devices/system/memory/block_size_bytes": {
                "type": "file",
                "content": "8000000\n",
            },
        }
    }


def test_numbering_read_from_a_real_capture_is_the_runs_own():
    # c-v81 probed vmem1 first (endpoint numbers) but numbered memdevs by slot.
    numbering = parity.device_numbering(load_capture("c-v81"), load_fixture("qemu-c"))
    assert numbering == {
        "vmem0": {"memdev": 0, "probe_order": 1},
        "vmem1": {"memdev": 1, "probe_order": 0},
        "pmem2": {"memdev": 2, "probe_order": 2},
        "pmem3": {"memdev": 3, "probe_order": 3},
    }
    for name, change in C_V81_NUMBERING.items():
        assert numbering[name] == change


def test_numbering_of_the_other_run_swaps_the_volatile_devices():
    numbering = parity.device_numbering(load_capture("c-debian"), load_fixture("qemu-c"))
    assert numbering["vmem1"] == {"memdev": 0, "probe_order": 0}
    assert numbering["vmem0"] == {"memdev": 1, "probe_order": 1}


def test_addresses_inside_a_window_move_with_it():
    t = parity.Translation.between(_window_doc(0x490000000), _window_doc(0x1000000000))
    text = '"resource":19595788288,"start":"0x498000000","other":"0x1000","memory146"'
    assert t.text(text) == (
        '"resource":68719476736,"start":"0x1008000000","other":"0x1000","memory512"'
    )
    # One byte past the window is not the window's.
    assert t.address(0x490000000 + (1 << 32)) == 0x490000000 + (1 << 32)


def test_same_windows_leave_text_alone():
    t = parity.Translation.between(_window_doc(0x490000000), _window_doc(0x490000000))
    assert t.text("memory146 0x490000000") == "memory146 0x490000000"


def _results(*steps: tuple[int, str, str]) -> dict:
    return {
        "results": [
            {"run": f"step{i}", "rc": rc, "stdout": out, "stderr": err, "capture": None}
            for i, (rc, out, err) in enumerate(steps)
        ]
    }


def test_generated_uuids_compare_by_order_of_appearance():
    same = parity.Translation((), 0)
    a = "1b4b2d4e-0000-4000-8000-000000000001"
    b = "9f9f9f9f-1111-4111-8111-111111111111"
    real = _results((0, f'"uuid":"{a}"', ""), (0, f'"uuid":"{a}"', ""))
    sim = _results((0, f'"uuid":"{b}"', ""), (0, f'"uuid":"{b}"', ""))
    assert parity.compare_results(real, sim, same) == []
    # A uuid that should have been the same one is a difference.
    c = "2c2c2c2c-2222-4222-8222-222222222222"
    sim = _results((0, f'"uuid":"{b}"', ""), (0, f'"uuid":"{c}"', ""))
    assert parity.compare_results(real, sim, same) == [
        "step 2 (step1): stdout:\n"
        '  line 1: kernel \'"uuid":"uuid-1"\'\n'
        '  line 1: simulated \'"uuid":"uuid-2"\''
    ]


def test_exit_status_differences_are_reported():
    same = parity.Translation((), 0)
    got = parity.compare_results(_results((1, "", "")), _results((0, "", "")), same)
    assert got == ["step 1 (step0): exit status: kernel 1, simulated 0"]


def test_captures_compare_kernel_only_pci_attributes_as_no_difference():
    same = parity.Translation((), 0)
    pci = "/sys/devices/pci0000:0c/0000:0c:00.0"
    memdev = f"{pci}/0000:0d:00.0/mem0"
    real = {
        "entries": {
            f"{pci}/aer_dev_fatal": {"type": "file", "mode": "0444", "content": "x\n"},
            f"{memdev}/serial": {"type": "file", "mode": "0444", "content": "0x1\n"},
            f"{memdev}/firmware_version": {"type": "file", "mode": "0444", "content": "1\n"},
            f"{memdev}/power/control": {"type": "file", "mode": "0644", "content": "auto\n"},
        }
    }
    sim = {
        "entries": {
            f"{memdev}/serial": {"type": "file", "mode": "0444", "content": "0x2\n"},
        }
    }
    assert parity.compare_captures(real, sim, same) == [
        f"{memdev}/firmware_version: only on the kernel",
        f"{memdev}/serial: kernel {{'type': 'file', 'mode': '0444', 'content': '0x1\\n'}}, "
        "simulated {'type': 'file', 'mode': '0444', 'content': '0x2\\n'}",
    ]


def test_a_run_compares_equal_with_itself(tmp_path):
    doc = _window_doc(0x490000000)
    results = _results((0, "[]\n", ""))
    results["results"][0]["capture"] = "after"
    for side in ("kernel", "simulated"):
        out = tmp_path / side
        out.mkdir()
        (out / "results.json").write_text(json.dumps(results))
        for label in ("boot", "after"):
            with gzip.open(out / f"capture-{label}.json.gz", "wt") as f:
                json.dump(doc, f)
    assert parity.compare_runs(tmp_path / "kernel", tmp_path / "simulated") == []
    with gzip.open(tmp_path / "simulated" / "capture-after.json.gz", "wt") as f:
        json.dump(_window_doc(0x590000000), f)
    assert parity.compare_runs(tmp_path / "kernel", tmp_path / "simulated") == [
        f"capture after: {ROOT0}/decoder0.0/start: kernel "
        "{'type': 'file', 'content': '0x490000000\\n'}, "
        "simulated {'type': 'file', 'content': '0x590000000\\n'}"
    ]
