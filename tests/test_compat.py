"""Deliberate differences from ndctl, each listed in docs/compat.md."""

from __future__ import annotations

import os

import pytest

from cxltool.sim.capture import load_capture, restore
from tests.transcripts import capture_file, run_cxltool


@pytest.fixture
def region_tree(tmp_path):
    dest = str(tmp_path / "c")
    restore(load_capture(capture_file("c-v81", "ram-region-created")), dest)
    return dest


def test_region_with_unreadable_ways_lists_without_mappings(region_tree):
    # ndctl would walk target0..target(2^32-2) here; cxltool lists the region bare.
    ways = os.path.join(
        region_tree, "sys/devices/platform/ACPI0017:00/root0/decoder0.0/region0/interleave_ways"
    )
    os.chmod(ways, 0o200)
    rc, out, _ = run_cxltool(region_tree, ["cxl", "list", "-RT", "-u"])
    assert rc == 0
    assert '"mappings"' not in out
    assert '"region":"region0"' in out


def test_targets_without_cxl_debugfs_do_not_crash(region_tree):
    # v84 and v85 crash on -T when the CXL debugfs directory is missing.
    rc, out, _ = run_cxltool(region_tree, ["cxl", "list", "-BT", "-u"])
    assert rc == 0
    assert '"dports":[' in out and "protocol_injectable" not in out


def test_a_command_cxltool_lacks_says_so(region_tree):
    assert run_cxltool(region_tree, ["cxl", "monitor"]) == (
        1, "", "cxl monitor: not available in cxltool 0.1.0 yet\n"
    )


def test_empty_result_is_printed_as_json_c_0_16_does(region_tree):
    # Debian bookworm's ndctl (json-c 0.16) prints an empty array over two lines.
    assert run_cxltool(region_tree, ["cxl", "list", "-m", "mem9"]) == (
        0, "[\n]\n", "  Warning: no matching devices found\n\n"
    )
