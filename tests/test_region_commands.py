"""cxl create-region, destroy-region, enable-region and disable-region on simulated
systems: exact stdout, stderr and exit status (ndctl v85), and what the tree holds after."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.kernel.regionkit import SZ_256M, attr, build_region, snapshot, toml_root
from tests.transcripts import run_cxltool

REGION = "cxl region: "
CREATED_0 = REGION + "cmd_create_region: created 0 regions\n"
CREATED_1 = REGION + "cmd_create_region: created 1 region\n"


@pytest.fixture
def system(built, tmp_path):
    def make(fixture: str) -> str:
        dest = str(tmp_path / "copy")
        subprocess.run(["cp", "-a", built(fixture), dest], check=True)
        return dest

    return make


def cxl(root: str, *argv: str) -> tuple[int, str, str]:
    return run_cxltool(root, ["cxl", *argv])


def _root(path: str):
    from cxltool.sysfs import open_root

    return open_root(path)


# -- create-region: options ---------------------------------------------------------------------
def test_create_needs_a_root_decoder(system):
    root = system("qemu-c")
    assert cxl(root, "create-region", "mem0") == (
        1, "", REGION + "parse_create_options: no root decoder specified\n" + CREATED_0
    )


def test_create_with_targets_needs_m(system):
    root = system("qemu-c")
    assert cxl(root, "create-region", "-d", "decoder0.0", "mem0") == (
        1, "",
        REGION + "parse_create_options: must specify option for target object types (-m)\n"
        + CREATED_0,
    )


def test_create_option_errors(system):
    root = system("qemu-c")
    base = ("create-region", "-d", "decoder0.0", "-m")
    cases = {
        ("-t", "dram", "mem0"): "parse_create_options: unsupported type: dram\n",
        ("-s", "1Q", "mem0"): "parse_create_options: Invalid size: 1Q\n",
        ("-w", "0", "mem0"): "parse_create_options: Invalid interleave ways: 0\n",
        ("-g", "-4", "mem0"): "parse_create_options: Invalid interleave granularity: -4\n",
        ("-w", "2", "-s", "3", "mem0", "mem1"):
            "parse_create_options: size (3) is not an integral multiple of interleave-ways (2)\n",
        ("-w", "1", "mem0", "mem1"):
            "validate_ways: Interleave ways 1 is less than number of memdevs specified: 2\n",
    }
    for extra, message in cases.items():
        assert cxl(root, *base, *extra) == (1, "", REGION + message + CREATED_0), extra


def test_a_uuid_for_a_ram_region_is_refused_mid_line(system):
    root = system("qemu-c")
    rc, out, err = cxl(root, "create-region", "-m", "-d", "decoder0.0", "-t", "ram",
                       "-U", "6c1a2e6d-8d6e-4f0e-9d3c-1f1e2d3c4b5a", "mem0")
    # ndctl's message has no newline of its own.
    assert (rc, out) == (1, "")
    assert err == (REGION + "parse_create_options: can't set UUID for ram / volatile regions"
                   + CREATED_0)


def test_a_bad_uuid_is_reported_as_an_error(system):
    root = system("qemu-c")
    assert cxl(root, "create-region", "-m", "-d", "decoder0.0", "-t", "pmem", "-U", "nope",
               "mem2") == (1, "", "  Error: failed to parse uuid: 'nope'\n\n" + CREATED_0)


def test_an_unknown_decoder_finds_no_memdevs(system):
    root = system("qemu-c")
    assert cxl(root, "create-region", "-d", "decoder7.7", "-m", "mem0", "mem1") == (
        1, "",
        REGION + "collect_memdevs: no active memdevs found: decoder: decoder7.7 "
        "filter: mem0,mem1\n" + CREATED_0,
    )
    # One argument with two words: ndctl's list of them ends in a comma.
    assert cxl(root, "create-region", "-d", "decoder7.7", "-m", "mem0 mem1")[2].startswith(
        REGION + "collect_memdevs: no active memdevs found: decoder: decoder7.7 "
        "filter: mem0,mem1,\n"
    )


# -- create-region: defaults and what it builds --------------------------------------------
def test_create_defaults_from_targets_and_decoder(system):
    root = system("qemu-c")
    rc, out, err = cxl(root, "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem1", "mem0")
    assert (rc, err) == (0, CREATED_1)
    body = json.loads(out)
    assert body["region"] == "region0"
    assert body["size"] == 2 * SZ_256M and body["interleave_ways"] == 2
    assert body["interleave_granularity"] == 256 and body["decode_state"] == "commit"
    # Positions follow the order the targets were typed.
    assert [m["memdev"] for m in reversed(body["mappings"])] == ["mem1", "mem0"]
    assert "state" not in body
    tree = _root(root)
    assert tree.islink("/sys/bus/cxl/devices/region0/driver")
    assert tree.exists("/sys/bus/dax/devices/dax0.0")


def test_create_type_defaults_to_pmem_when_the_window_allows_both(system):
    root = system("qemu-c")
    rc, out, err = cxl(root, "create-region", "-m", "-d", "decoder0.0", "mem2", "mem3")
    assert (rc, err) == (0, CREATED_1)
    assert json.loads(out)["type"] == "pmem"
    assert attr(_root(root), "region0", "uuid") != "00000000-0000-0000-0000-000000000000"


def test_create_without_targets_uses_every_memdev_found(system):
    root = system("1hb2rp2mem")
    rc, out, err = cxl(root, "create-region", "-d", "decoder0.0")
    assert (rc, err) == (0, CREATED_1)
    assert json.loads(out)["interleave_ways"] == 2


def test_granularity_under_an_interleaved_root_must_be_the_roots(system):
    root = system("default")
    before = snapshot(_root(root))
    assert cxl(root, "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "-g", "256",
               "mem0", "mem2") == (
        1, "",
        REGION + "cxl_region_determine_granularity: region0: For an x2 root, only root "
        "decoder granularity (4096) permitted\n" + CREATED_0,
    )
    # The region it had made is deleted again; the kernel state rewritten equal.
    after = snapshot(_root(root))
    state = "/.cxltool/fixture.json"
    assert json.loads(after.pop(state)[2]) == json.loads(before.pop(state)[2])
    assert after == before


SMALL_WINDOW = """
[platform]
kind = "acpi"
boot_ram = "2G"
cpus = 2

[[host_bridges]]
bus = 0x0c
  [[host_bridges.windows]]
  base = 0x490000000
  size = "512M"
  [[host_bridges.root_ports]]
  port = 0
  device = { serial = 1, ram = "1G" }
"""


def test_a_default_size_is_cut_to_the_largest_free_extent(tmp_path):
    root = toml_root(tmp_path, SMALL_WINDOW).base
    rc, out, err = cxl(root, "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0")
    assert (rc, err) == (0, CREATED_1)
    assert json.loads(out)["size"] == 2 * SZ_256M


def test_an_explicit_size_beyond_the_free_extent_is_refused(tmp_path):
    root = toml_root(tmp_path, SMALL_WINDOW).base
    assert cxl(root, "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "-s", "1G",
               "mem0") == (
        1, "",
        REGION + "create_region: decoder0.0: region size 0x40000000 exceeds max available "
        "space (0x20000000)\n" + CREATED_0,
    )


def test_a_memdev_without_capacity_of_the_type_cannot_size_the_region(system):
    root = system("qemu-c")
    assert cxl(root, "create-region", "-m", "-d", "decoder0.0", "-w", "1", "-t", "pmem",
               "mem0") == (1, "", REGION + "create_region: unable to determine region size\n"
                           + CREATED_0)


def test_a_failed_create_gives_back_the_dpa_it_took(system):
    # Position 0 of decoder0.0 (x2) must be below host bridge 12; mem2 is below 32.
    root = system("default")
    tree = _root(root)
    rc, out, err = cxl(root, "create-region", "-m", "-d", "decoder0.0", "-t", "ram",
                       "mem2", "mem0")
    assert (rc, out) == (1, "")
    assert err == (REGION + "create_region: region0: failed to set target0 to mem2\n"
                   + CREATED_0)
    assert not tree.exists("/sys/bus/cxl/devices/region0")
    assert attr(tree, "decoder6.0", "dpa_size") == "0x0000000000000000"
    assert attr(tree, "decoder0.0", "create_ram_region") == "region0"
    # The mode chosen for the decoder stays: the kernel has no way back to "none".
    assert attr(tree, "decoder6.0", "mode") == "ram"


# -- enable / disable -----------------------------------------------------------------------
def test_enable_and_disable(system):
    # A pmem region: no system-ram memory to take offline first.
    root = system("1hb2rp2mem")
    tree = _root(root)
    build_region(tree, ["decoder3.0"], mode="pmem", bind=False)
    assert cxl(root, "enable-region", "region0") == (
        0, "", REGION + "cmd_enable_region: enabled 1 region\n")
    assert tree.exists("/sys/bus/cxl/devices/pmem_region0")
    assert cxl(root, "enable-region", "all") == (
        0, "", REGION + "cmd_enable_region: enabled 1 region\n")
    assert cxl(root, "disable-region", "0") == (
        0, "", REGION + "cmd_disable_region: disabled 1 region\n")
    assert not tree.exists("/sys/bus/cxl/devices/pmem_region0")
    # Disabling a disabled region succeeds too.
    assert cxl(root, "disable-region", "region0") == (
        0, "", REGION + "cmd_disable_region: disabled 1 region\n")
    assert cxl(root, "disable-region") == (
        0, "", REGION + "cmd_disable_region: disabled 0 regions\n")


def test_enable_of_an_uncommitted_region_fails(system):
    root = system("qemu-a")
    build_region(_root(root), ["decoder2.0"], commit=False)
    assert cxl(root, "enable-region", "region0") == (
        1, "",
        "libcxl: cxl_region_enable: region0: failed to enable\n"
        + REGION + "decoder_region_action: region0: failed: No such device or address\n"
        + REGION + "region_action: one or more failures, last failure: No such device or "
        "address\n" + REGION + "cmd_enable_region: enabled 0 regions\n",
    )


def test_filters_by_decoder_and_bus(system):
    root = system("qemu-a")
    build_region(_root(root), ["decoder2.0"], bind=False)
    assert cxl(root, "enable-region", "-d", "decoder0.1", "region0")[2] == (
        REGION + "cmd_enable_region: enabled 0 regions\n")
    assert cxl(root, "enable-region", "-b", "root0", "-d", "decoder0.0", "region0")[2] == (
        REGION + "cmd_enable_region: enabled 1 region\n")


# -- destroy --------------------------------------------------------------------------------
def test_destroy_of_an_active_region_needs_force(system):
    root = system("1hb2rp2mem")
    tree = _root(root)
    build_region(tree, ["decoder3.0"], mode="pmem")
    assert cxl(root, "destroy-region", "region0") == (
        1, "",
        REGION + "destroy_region: region0 active. Disable it or use --force\n"
        + REGION + "decoder_region_action: region0: failed: Device or resource busy\n"
        + REGION + "region_action: one or more failures, last failure: Device or resource "
        "busy\n" + REGION + "cmd_destroy_region: destroyed 0 regions\n",
    )
    assert cxl(root, "destroy-region", "-f", "region0") == (
        0, "", REGION + "cmd_destroy_region: destroyed 1 region\n")
    assert not tree.exists("/sys/bus/cxl/devices/region0")
    assert attr(tree, "decoder3.0", "dpa_size") == "0x0000000000000000"
    assert attr(tree, "endpoint3", "decoders_committed") == "0"


def test_destroy_out_of_order_is_blocked(system):
    root = system("default")  # mem1 (endpoint4) has 1G of pmem, in window decoder0.1
    tree = _root(root)
    build_region(tree, ["decoder4.0"], decoder="decoder0.1", mode="pmem")
    build_region(tree, ["decoder4.1"], decoder="decoder0.1", mode="pmem", commit=False,
                 uuid="0f0e0d0c-0b0a-4908-8706-050403020100")
    first = attr(tree, "decoder4.0", "region")
    rc, out, err = cxl(root, "destroy-region", "-f", first)
    assert (rc, out) == (1, "")
    assert err.startswith(
        REGION + f"region_destroy_validate_order: {first}: destroy blocked, mem1 still has "
        "later active decoder decoder4.1\n"
    )
    assert tree.exists(f"/sys/bus/cxl/devices/{first}")


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

[[regions]]
window = 0
devices = ["a"]
size = "512M"
locked = true
"""


def test_destroy_of_a_locked_region_fails_at_the_decode_reset(tmp_path):
    # Linux 6.12 has no `locked` region attribute for ndctl to read first; the
    # kernel refuses the decommit.
    root = toml_root(tmp_path, LOCKED).base
    rc, out, err = cxl(root, "destroy-region", "-f", "region0")
    assert (rc, out) == (1, "")
    assert REGION + "destroy_region: region0: failed to reset decode: Operation not " \
        "permitted\n" in err
    assert err.endswith(REGION + "cmd_destroy_region: destroyed 0 regions\n")


def test_disable_takes_system_ram_offline_first(system):
    root = system("qemu-a")
    tree = _root(root)
    assert cxl(root, "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0")[0] == 0
    assert tree.read("/sys/devices/system/memory/memory146/state") == "online"
    assert cxl(root, "disable-region", "region0") == (
        0, "", REGION + "cmd_disable_region: disabled 1 region\n")
    # Offlined, then removed by kmem as the region's dax device went away.
    assert not tree.exists("/sys/devices/system/memory/memory146")
    assert cxl(root, "destroy-region", "region0") == (
        0, "", REGION + "cmd_destroy_region: destroyed 1 region\n")


def test_destroy_force_of_a_ram_region_offlines_and_destroys(system):
    root = system("qemu-a")
    tree = _root(root)
    assert cxl(root, "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0")[0] == 0
    assert cxl(root, "destroy-region", "-f", "region0") == (
        0, "", REGION + "cmd_destroy_region: destroyed 1 region\n")
    assert not tree.exists("/sys/bus/cxl/devices/region0")
    assert not tree.exists("/sys/devices/system/memory/memory146")
