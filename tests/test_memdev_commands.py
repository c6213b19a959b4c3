"""cxl disable/enable-memdev, reserve/free-dpa, set-partition, disable/enable-port and
disable-bus on simulated systems: exact stdout, stderr and exit status (ndctl v85)."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from cxltool.sim.systems import build_fixture_into
from tests.transcripts import run_cxltool

MEMDEV = "cxl memdev: "


@pytest.fixture
def system(built, tmp_path):
    def make(fixture: str) -> str:
        dest = str(tmp_path / "copy")
        subprocess.run(["cp", "-a", built(fixture), dest], check=True)
        return dest

    return make


def cxl(root: str, *argv: str) -> tuple[int, str, str]:
    return run_cxltool(root, ["cxl", *argv])


def enabled(root: str, name: str) -> bool:
    rc, out, _ = cxl(root, "list", "-i", "-m", name)
    return "state" not in json.loads(out)[0]


# -- disable-memdev / enable-memdev ----------------------------------------------------------
def test_disable_refused_only_with_committed_decoders(system):
    root = system("cxl_test")
    assert cxl(root, "disable-memdev", "mem0") == (
        1,
        "",
        MEMDEV
        + "action_disable: mem0 is part of an active region\n"
        + MEMDEV
        + "cmd_disable_memdev: disabled 0 mem\n",
    )
    assert enabled(root, "mem0")
    # mem2 is in no region: v85 disables it without -f (76.1 would refuse).
    assert cxl(root, "disable-memdev", "mem2") == (
        0,
        "",
        MEMDEV + "cmd_disable_memdev: disabled 1 mem\n",
    )
    assert not enabled(root, "mem2")


def test_force_disables_a_region_member(system):
    root = system("cxl_test")
    assert cxl(root, "disable-memdev", "--force", "mem0") == (
        0,
        "",
        MEMDEV
        + "action_disable: mem0 is part of an active region\n"
        + MEMDEV
        + "action_disable: Forcing mem0 disable with an active region!\n"
        + MEMDEV
        + "cmd_disable_memdev: disabled 1 mem\n",
    )
    rc, out, _ = cxl(root, "list", "-R", "-i", "-r", "region0")
    assert json.loads(out)[0]["decode_state"] == "reset"


def test_each_word_acts_on_every_match_and_no_ops_count(system):
    root = system("qemu-c")
    assert cxl(root, "disable-memdev", "mem0", "0", "mem9") == (
        0,
        "",
        MEMDEV
        + "memdev_action: no memdev matches mem9\n"
        + MEMDEV
        + "cmd_disable_memdev: disabled 2 mems\n",
    )
    assert cxl(root, "enable-memdev", "all") == (
        0,
        "",
        MEMDEV + "cmd_enable_memdev: enabled 4 mems\n",
    )
    assert all(enabled(root, f"mem{i}") for i in range(4))


def test_all_keeps_only_the_first_word(system):
    root = system("qemu-c")
    rc, out, err = cxl(root, "disable-memdev", "mem1", "all")
    assert (rc, err) == (0, MEMDEV + "cmd_disable_memdev: disabled 1 mem\n")
    assert not enabled(root, "mem1") and enabled(root, "mem0")


def test_invalid_words(system):
    root = system("qemu-c")
    rc, out, err = cxl(root, "disable-memdev", "foo")
    assert rc == 129 and out == ""
    assert err.startswith(
        MEMDEV + "memdev_action: 'foo' is not a valid memdev name\n\n usage: cxl disable-memdev"
    )
    rc, out, err = cxl(root, "enable-memdev", "foo", "mem0")
    assert (rc, err) == (
        0,
        MEMDEV
        + "memdev_action: 'foo' is not a valid memdev name\n"
        + MEMDEV
        + "memdev_action: no memdev matches foo\n"
        + MEMDEV
        + "cmd_enable_memdev: enabled 1 mem\n",
    )
    rc, out, err = cxl(root, "disable-memdev", "-S", "mem0")
    assert rc == 129
    assert err.startswith(MEMDEV + "memdev_action: 'mem0' is not a valid memdev serial number\n")
    rc, out, err = cxl(root, "disable-memdev")
    assert rc == 129 and err.startswith("\n usage: cxl disable-memdev")


def test_serial_and_bus_filters(system):
    root = system("qemu-c")
    rc, out, _ = cxl(root, "list", "-m", "mem3")
    serial = json.loads(out)[0]["serial"]
    assert cxl(root, "disable-memdev", "-S", hex(serial)) == (
        0,
        "",
        MEMDEV + "cmd_disable_memdev: disabled 1 mem\n",
    )
    assert not enabled(root, "mem3")
    assert cxl(root, "disable-memdev", "-b", "root9", "mem2") == (
        0,
        "",
        MEMDEV
        + "memdev_action: no memdev matches mem2\n"
        + MEMDEV
        + "cmd_disable_memdev: disabled 0 mem\n",
    )
    assert cxl(root, "disable-memdev", "-b", "ACPI.CXL", "mem2")[0] == 0
    assert not enabled(root, "mem2")


def test_enable_fails_below_a_disabled_host_bridge(system):
    root = system("qemu-c")
    assert cxl(root, "disable-port", "-f", "port1")[0] == 0
    assert cxl(root, "enable-memdev", "mem0") == (
        1,
        "",
        "libcxl: cxl_memdev_enable: mem0: failed to enable\n"
        + MEMDEV
        + "cmd_enable_memdev: enabled 0 mem\n",
    )


# -- ports and buses ---------------------------------------------------------------------------
def test_disable_port_refuses_with_enabled_memdevs(system):
    root = system("qemu-c")
    assert cxl(root, "disable-port", "port2") == (
        1,
        "",
        "cxl port: action_disable: port2 hosts 4 memdevs which are part of an active region\n"
        "cxl port: action_disable: See 'cxl list -M -p port2' to see impacted devices\n"
        "cxl port: cmd_disable_port: disabled 0 port\n",
    )
    assert cxl(root, "disable-port", "-e", "endpoint3") == (
        1,
        "",
        "cxl port: action_disable: endpoint3 hosts 1 memdev which is part of an active region\n"
        "cxl port: action_disable: See 'cxl list -M -p endpoint3' to see impacted device\n"
        "cxl port: cmd_disable_port: disabled 0 port\n",
    )


def test_disable_then_enable_port_with_memdevs(system):
    root = system("cxl_test")
    rc, before, _ = cxl(root, "list", "-vvv")
    assert cxl(root, "disable-port", "-f", "port2", "nope") == (
        0,
        "",
        "cxl port: port_action: port: nope not found\n"
        "cxl port: cmd_disable_port: disabled 1 port\n",
    )
    rc, out, _ = cxl(root, "list", "-M", "-i", "-p", "port2")
    assert sum(m.get("state") == "disabled" for m in json.loads(out)) == 4
    assert cxl(root, "enable-port", "port2", "-m") == (
        0,
        "",
        "cxl port: cmd_enable_port: enabled 1 port\n",
    )
    rc, out, _ = cxl(root, "list", "-M", "-p", "port2")
    assert len(json.loads(out)) == 4
    assert cxl(root, "list", "-vvv")[1] == before


def test_switch_port_vanishes_and_returns(system):
    root = system("cxl_test")
    host = "cxl_switch_uport.2"
    assert len(json.loads(cxl(root, "list", "-M", "-p", host)[1])) == 2
    assert cxl(root, "disable-port", "-f", host)[0] == 0
    assert cxl(root, "list", "-p", host)[1] == "[\n]\n"
    assert cxl(root, "enable-memdev", "mem2", "mem6")[0] == 0
    assert len(json.loads(cxl(root, "list", "-p", host)[1])) == 1


def test_disable_bus(system):
    root = system("qemu-c")
    assert cxl(root, "disable-bus", "root0") == (
        1,
        "",
        "cxl bus: action_disable: root0 hosts 4 memdevs which are part of an active region\n"
        "cxl bus: action_disable: See 'cxl list -M -b root0' to see impacted devices\n"
        "cxl bus: cmd_disable_bus: disabled 0 bus\n",
    )
    rc, out, err = cxl(root, "disable-bus", "bogus")
    assert rc == 129
    assert err.startswith("cxl bus: bus_action: 'bogus' is not a valid bus identifier\n\n usage:")
    assert cxl(root, "disable-bus", "root7") == (
        0,
        "",
        "cxl bus: cmd_disable_bus: disabled 0 bus\n",
    )
    # -f overrides the memdev check: the root's platform device is unbound and
    # the whole tree below it goes; the memdevs stay, disabled.
    assert cxl(root, "disable-bus", "-f", "root0") == (
        0,
        "",
        "cxl bus: cmd_disable_bus: disabled 1 bus\n",
    )
    assert cxl(root, "list", "-b", "root0") == (
        0,
        "[\n]\n",
        "  Warning: no matching devices found\n\n",
    )
    memdevs = json.loads(cxl(root, "list", "-M", "-i")[1])
    assert [m["state"] for m in memdevs] == ["disabled"] * 4
    # The bus is gone: nothing matches now.
    assert cxl(root, "disable-bus", "-f", "root0") == (
        0,
        "",
        "cxl bus: cmd_disable_bus: disabled 0 bus\n",
    )


# -- reserve-dpa / free-dpa ----------------------------------------------------------------------
def _decoder_emulated() -> bool:
    try:
        import cxltool.sim.kernel.decoder  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


needs_decoder = pytest.mark.skipif(
    not _decoder_emulated(), reason="endpoint decoder mode/dpa_size are not emulated yet"
)


def test_reserve_dpa_checks_before_writing(system):
    root = system("qemu-c")
    assert cxl(root, "reserve-dpa", "-t", "bogus", "mem0") == (
        1,
        "[\n]\n",
        MEMDEV + "__reserve_dpa: mem0: unsupported type: bogus\n"
        "  Warning: no matching devices found\n\n"
        + MEMDEV
        + "cmd_reserve_dpa: reservation completed on 0 mem device\n",
    )
    # The default type is ram (whatever the help says): mem2 has pmem only.
    rc, out, err = cxl(root, "reserve-dpa", "mem2")
    assert rc == 1 and MEMDEV + "__reserve_dpa: mem2: no available capacity\n" in err
    rc, out, err = cxl(root, "reserve-dpa", "-s", "1G", "mem0")
    assert rc == 1 and MEMDEV + "__reserve_dpa: mem0: '1G' exceeds available capacity\n" in err
    rc, out, err = cxl(root, "reserve-dpa", "-s", "12x", "mem0")
    assert MEMDEV + "__reserve_dpa: mem0: failed to parse size option '12x'\n" in err
    rc, out, err = cxl(root, "reserve-dpa", "-d", "decoder99.0", "mem0")
    assert MEMDEV + "__reserve_dpa: mem0: no match for decoder: 'decoder99.0'\n" in err
    rc, out, err = cxl(root, "reserve-dpa", "-d", "1", "mem0")
    assert MEMDEV + "__reserve_dpa: mem0: decoder3.1 is out of sequence\n" in err
    cxl(root, "disable-memdev", "mem0")
    rc, out, err = cxl(root, "reserve-dpa", "mem0")
    assert MEMDEV + "__reserve_dpa: mem0: CXL operation disabled\n" in err


@needs_decoder
def test_reserve_then_free_dpa(system):
    root = system("qemu-c")
    rc, out, err = cxl(root, "reserve-dpa", "mem0", "-s", "256M")
    assert (rc, err) == (0, MEMDEV + "cmd_reserve_dpa: reservation completed on 1 mem device\n")
    doc = json.loads(out)
    assert doc[0]["memdev"] == "mem0"
    # The decoder as libcxl cached it, with the new size and mode.
    assert doc[0]["decoder"] == {
        "decoder": "decoder3.0",
        "interleave_ways": 1,
        "state": "disabled",
        "dpa_size": 268435456,
        "mode": "ram",
    }
    rc, out, err = cxl(root, "free-dpa", "mem0")
    assert (rc, err) == (
        0,
        MEMDEV + "cmd_free_dpa: reservation release completed on 1 mem device\n",
    )
    assert json.loads(out)[0]["decoder"] == {
        "decoder": "decoder3.0",
        "interleave_ways": 1,
        "state": "disabled",
        "mode": "ram",
    }


# -- set-partition ---------------------------------------------------------------------------
PARTITIONABLE = textwrap.dedent(
    """\
    # one partitionable device
    [[host_bridges]]
    bus = 0x0c
      [[host_bridges.windows]]
      base = 0x490000000
      size = "4G"
      [[host_bridges.root_ports]]
      port = 0
      device = { serial = 0x1, ram = "512M", pmem = "512M", partition_alignment = "256M" }
    """
)


def test_set_partition_records_the_next_boot_split(tmp_path):
    fixture = tmp_path / "part.toml"
    fixture.write_text(PARTITIONABLE)
    root = str(tmp_path / "sys")
    build_fixture_into(str(fixture), root)
    rc, out, err = cxl(root, "set-partition", "mem0", "-t", "ram", "-s", "768M")
    assert (rc, err) == (0, MEMDEV + "cmd_set_partition: set_partition 1 mem\n")
    info = json.loads(out)[0]["partition_info"]
    assert info["next_volatile_size"] == 768 << 20
    assert info["next_persistent_size"] == 256 << 20
    assert info["active_volatile_size"] == 512 << 20
    rc, out, err = cxl(root, "set-partition", "mem0", "-s", "100M")
    assert rc == 1
    assert MEMDEV + f"partition_align: mem0: size {924 << 20} is not partition aligned" in err
    rc, out, err = cxl(root, "set-partition", "mem0", "-s", "100M", "-a")
    info = json.loads(out)[0]["partition_info"]
    assert (info["next_volatile_size"], info["next_persistent_size"]) == (768 << 20, 256 << 20)
    rc, out, err = cxl(root, "set-partition", "mem0", "-t", "nvram")
    assert MEMDEV + "action_setpartition: invalid type 'nvram'\n" in err


def test_set_partition_without_partitionable_capacity(system):
    root = system("qemu-c")
    assert cxl(root, "set-partition", "mem0") == (
        1,
        "[\n]\n",
        MEMDEV + "validate_partition: mem0: no available capacity\n"
        "  Warning: no matching devices found\n\n"
        + MEMDEV
        + "cmd_set_partition: set_partition 0 mem\n",
    )
