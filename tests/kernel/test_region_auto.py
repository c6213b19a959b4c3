"""Regions firmware committed before boot, and locked decoders (kernel-abi 2.6.7).

The cxl_test fixture boots with region0, a 2-way ram region the mock's
firmware committed (decoder0.0, mem0 and mem4 behind switch port 3).
"""

from __future__ import annotations

import errno

import pytest

from cxltool.sysfs import paths
from tests.kernel.regionkit import (
    DEV,
    SZ_256M,
    attr,
    fixture_root,
    refused,
    toml_root,
    write,
)

LOCKED = """
[platform]
kind = "acpi"
boot_ram = "2G"
cpus = 2

[[host_bridges]]
bus = 0x0c
  [[host_bridges.windows]]
  base = 0x490000000
  size = "4G"
  [[host_bridges.root_ports]]
  port = 0
  device = { name = "a", serial = 1, ram = "512M" }
  [[host_bridges.root_ports]]
  port = 1
  device = { name = "b", serial = 2, ram = "512M" }

[[regions]]
window = 0
devices = ["a", "b"]
size = "512M"
locked = true
"""


@pytest.fixture
def cxl_test(tmp_path):
    return fixture_root(tmp_path, "cxl_test")


def _targets(root, region: str) -> list[str]:
    ways = int(attr(root, region, "interleave_ways"))
    return [attr(root, region, f"target{i}") for i in range(ways)]


def test_an_auto_region_takes_no_new_configuration(cxl_test):
    root = cxl_test
    refused(root, f"{DEV}/region0/interleave_ways", "4", errno.EBUSY)
    refused(root, f"{DEV}/region0/interleave_granularity", "4096", errno.EBUSY)
    refused(root, f"{DEV}/region0/size", str(4 * SZ_256M), errno.EBUSY)
    refused(root, f"{DEV}/region0/size", "0", errno.EBUSY)


def test_its_committed_endpoint_decoders_refuse_mode_and_dpa_size(cxl_test):
    root = cxl_test
    for dec in _targets(root, "region0"):
        refused(root, f"{DEV}/{dec}/dpa_size", "0", errno.EBUSY)  # in a region
        refused(root, f"{DEV}/{dec}/mode", "ram", errno.EBUSY)  # committed


def test_decommit_of_an_unlocked_auto_region_resets_its_decoders(cxl_test):
    root = cxl_test
    ports = {}
    for dec in _targets(root, "region0"):
        ep = "endpoint" + dec[len("decoder"):].split(".")[0]
        ports[ep] = attr(root, ep, "decoders_committed")
    write(root, f"{DEV}/region0/commit", "0")
    assert attr(root, "region0", "commit") == "0"
    assert not root.exists(f"{DEV}/dax_region0")
    for ep, before in ports.items():
        assert int(attr(root, ep, "decoders_committed")) == int(before) - 1
    write(root, f"{DEV}/region0/commit", "1")
    assert attr(root, "region0", "commit") == "1"


def test_a_target_of_an_auto_region_is_not_replaced_from_userspace(cxl_test):
    root = cxl_test
    first = _targets(root, "region0")[0]
    write(root, f"{DEV}/region0/target0", "")
    refused(root, f"{DEV}/region0/target0", first, errno.EINVAL)


def test_delete_of_an_auto_region_detaches_and_resets(cxl_test):
    root = cxl_test
    targets = _targets(root, "region0")
    write(root, f"{DEV}/decoder0.0/delete_region", "region0")
    assert not root.exists(f"{DEV}/region0")
    for dec in targets:
        assert attr(root, dec, "region") == ""
        ep = "endpoint" + dec[len("decoder"):].split(".")[0]
        assert attr(root, ep, "decoders_committed") == "0"


def test_decommit_of_a_locked_region_is_eperm(tmp_path):
    root = toml_root(tmp_path, LOCKED)
    assert attr(root, "region0", "commit") == "1"
    refused(root, f"{DEV}/region0/commit", "0", errno.EPERM)


def test_delete_of_a_locked_region_leaves_its_decoders_committed(tmp_path):
    root = toml_root(tmp_path, LOCKED)
    targets = _targets(root, "region0")
    committed = {p: attr(root, p, "decoders_committed") for p in ("port1",)}
    write(root, f"{DEV}/decoder0.0/delete_region", "region0")
    assert not root.exists(f"{DEV}/region0")
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    assert attr(root, "port1", "decoders_committed") == committed["port1"]
    for dec in targets:
        ep = "endpoint" + dec[len("decoder"):].split(".")[0]
        assert attr(root, ep, "decoders_committed") == "1"
        assert attr(root, dec, "region") == ""
        # Still committed: its DPA cannot be freed, nor its mode changed.
        refused(root, f"{DEV}/{dec}/dpa_size", "0", errno.EBUSY)
        refused(root, f"{DEV}/{dec}/mode", "ram", errno.EBUSY)
