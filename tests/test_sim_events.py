"""Device-side events: hot-add, hot-remove and set-capacity, and cxl_pci's bind/unbind.

Each event is checked for the tree the kernel would leave (listed with `cxl list`,
compared with a freshly built tree where one exists), for `sim check` staying
clean, and, for every refusal, for a one-line error and an unchanged tree.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess

import pytest
from click.testing import CliRunner

from cxltool.cli.main import cli
from cxltool.sim.check import check_tree
from cxltool.sim.events import EventError, hot_add, hot_remove, set_capacity, slots
from cxltool.sysfs import SysfsError, open_root, paths
from tests.transcripts import run_cxltool

M = 1 << 20
CXL_PCI = paths.SYS + "/bus/pci/drivers/cxl_pci"


@pytest.fixture
def system(built, tmp_path):
    """A private copy of a built fixture: `system("qemu-c")` -> its root."""

    def make(fixture: str):
        dest = str(tmp_path / fixture)
        subprocess.run(["cp", "-a", built(fixture), dest], check=True)
        return open_root(dest)

    return make


def tree(base: str, tops=("sys", "dev", ".cxltool")) -> dict[str, str]:
    """Every entry of the tree with its kind, mode, link text and content."""
    out = {}
    for top in tops:
        for d, dirs, files in os.walk(os.path.join(base, top)):
            for name in dirs + files:
                p = os.path.join(d, name)
                key = p[len(base) :]
                st = os.lstat(p)
                if os.path.islink(p):
                    out[key] = "-> " + os.readlink(p)
                elif os.path.isdir(p):
                    out[key] = "dir"
                elif top == "dev":
                    out[key] = f"node {st.st_mode:o} {st.st_rdev}"
                elif name != "lock":
                    with open(p, "rb") as f:
                        out[key] = f"{st.st_mode & 0o777:o} {f.read()!r}"
    return out


def cxl(root, *args: str):
    rc, out, err = run_cxltool(root.base, ["cxl", *args])
    assert rc == 0, err
    return json.loads(out) if out.strip() else []


def memdev_json(root, name: str, *flags: str) -> dict:
    (m,) = cxl(root, "list", "-m", name, *flags)
    return m


def sim(root, *args: str):
    return CliRunner().invoke(cli, ["--root", root.base, "sim", *args])


def consistent(root) -> None:
    assert check_tree(root) == []


# -- hot-add ---------------------------------------------------------------------------------
def test_hot_add_into_the_free_root_port(system):
    root = system("qemu-c")
    added = hot_add(root, ram=512 * M, pmem=0)
    assert (added.memdev, added.slot, added.enabled) == ("mem4", "0000:0c:01.0", True)
    consistent(root)
    host = "/sys/devices/pci0000:0c/0000:0c:01.0/0000:13:00.0"
    assert added.host == host
    assert root.read(host + "/class") == "0x050210"
    assert root.link_name(host + "/driver") == "cxl_pci"
    assert root.realpath(paths.SYS + "/bus/pci/devices/0000:13:00.0") == host
    assert memdev_json(root, "mem4") == {
        "memdev": "mem4",
        "ram_size": 512 * M,
        # One past the highest serial the system has (0x13).
        "serial": 0x14,
        "host": "0000:13:00.0",
        "firmware_version": "BWFW VERSION 00",
    }
    # cxl_mem probed it: an endpoint with the next port number below the host
    # bridge's port, 4 idle decoders and the device's CDAT.
    (ep,) = cxl(root, "list", "-E", "-e", "endpoint7")
    assert ep == {
        "endpoint": "endpoint7",
        "host": "mem4",
        "parent_dport": "0000:0c:01.0",
        "depth": 2,
        "decoders_committed": 0,
    }
    decoders = sorted(n for n in root.listdir(paths.CXL_DEVICES) if n.startswith("decoder7."))
    assert decoders == [f"decoder7.{i}" for i in range(4)]
    assert root.exists("/sys/bus/cxl/devices/endpoint7/CDAT")
    assert root.read(f"{host}/mem4/dev") == "250:4"
    assert os.path.exists(os.path.join(root.base, "dev/cxl/mem4"))
    with open(os.path.join(root.base, ".cxltool/mailbox/mem4.json")) as f:
        assert json.load(f)["partition_info"]["total_size"] == 512 * M
    # The slot is taken now.
    assert dict((s.name, d) for s, d in slots(root))["0000:0c:01.0"] == host


def test_remove_then_add_gives_back_the_tree_the_system_booted_with(system, built):
    root = system("qemu-a")
    before = tree(root.base, ("sys", "dev"))
    assert hot_remove(root, "mem0") == "0000:0c:00.0"
    consistent(root)
    assert cxl(root, "list", "-M") == []
    assert cxl(root, "list", "-E") == []
    assert not os.path.exists(os.path.join(root.base, "dev/cxl/mem0"))
    assert not os.path.exists(os.path.join(root.base, ".cxltool/mailbox/mem0.json"))
    added = hot_add(root, ram=256 * M, pmem=0, serial=1)
    assert added.memdev == "mem0"
    consistent(root)
    assert tree(root.base, ("sys", "dev")) == before
    with open(os.path.join(built("qemu-a"), ".cxltool/mailbox/mem0.json")) as f:
        booted = f.read()
    with open(os.path.join(root.base, ".cxltool/mailbox/mem0.json")) as f:
        assert json.loads(f.read()) == json.loads(booted)


def test_a_pmem_device_gets_its_nvdimm(system):
    root = system("qemu-b")
    hot_remove(root, "mem1")
    assert not root.exists(paths.ND_DEVICES + "/nmem0")
    added = hot_add(root, ram=0, pmem=512 * M, serial=0x2, label_storage_size=256 * M)
    assert added.memdev == "mem1"
    consistent(root)
    memdev = root.realpath(paths.CXL_DEVICES + "/mem1")
    assert root.read(memdev + "/pmem/size") == "0x20000000"
    assert root.read(memdev + "/label_storage_size") == str(256 * M)
    assert root.isdir(memdev + "/pmem1")
    assert root.read(paths.ND_DEVICES + "/nmem0/cxl/provider") == "pmem1"
    assert root.read(paths.ND_DEVICES + "/nmem0/cxl/id") == "2"


def test_hot_add_below_a_switch_whose_port_went_away(system):
    root = system("qemu-c")
    for name in ("mem0", "mem1", "mem2", "mem3"):
        hot_remove(root, name)
    # The switch port left with no endpoint is gone; the host bridge port stays.
    assert [p["port"] for p in cxl(root, "list", "-P")] == ["port1"]
    consistent(root)
    added = hot_add(root, ram=256 * M, pmem=0, slot="0000:0e:01.0")
    assert (added.memdev, added.enabled) == ("mem0", True)
    consistent(root)
    # The switch port comes back with its four dports, and the endpoint below it.
    (port,) = cxl(root, "list", "-P", "-T", "-p", "port2")
    assert port["nr_dports"] == 4
    (ep,) = cxl(root, "list", "-E")
    assert (ep["host"], ep["parent_dport"], ep["depth"]) == ("mem0", "0000:0e:01.0", 3)


def test_hot_add_under_a_disabled_port_leaves_the_memdev_disabled(system):
    root = system("qemu-c")
    rc, _out, err = run_cxltool(root.base, ["cxl", "disable-port", "-f", "port1"])
    assert rc == 0, err
    added = hot_add(root, ram=256 * M, pmem=0)
    assert added.enabled is False
    consistent(root)
    assert memdev_json(root, added.memdev, "-i")["state"] == "disabled"
    assert not root.exists(root.realpath(paths.CXL_DEVICES + "/" + added.memdev) + "/driver")


def test_hot_add_on_cxl_test_makes_a_mock_device(system):
    root = system("cxl_test")
    slot = hot_remove(root, "mem6")
    assert slot == "cxl_switch_dport.6"
    consistent(root)
    added = hot_add(root, ram=1024 * M, pmem=1024 * M, slot=slot)
    assert (added.memdev, added.enabled) == ("mem6", True)
    consistent(root)
    assert paths.basename(added.host) == "cxl_mem.6"
    assert root.link_name(added.host + "/driver") == "cxl_mock_mem"
    m = memdev_json(root, "mem6")
    assert (m["ram_size"], m["pmem_size"], m["firmware_version"]) == (
        1 << 30,
        1 << 30,
        "mock fw v1 ",
    )
    (ep,) = [e for e in cxl(root, "list", "-E") if e["host"] == "mem6"]
    n = ep["endpoint"][len("endpoint") :]
    assert len([d for d in root.listdir(paths.CXL_DEVICES) if d.startswith(f"decoder{n}.")]) == 8


def test_the_hot_add_command(system):
    root = system("qemu-c")
    r = sim(root, "hot-add", "--ram", "256M", "--serial", "0x40")
    assert r.exit_code == 0, r.output
    assert r.stdout == "mem4\n"
    assert r.stderr == "mem4: ram 256M, pmem 0 in slot 0000:0c:01.0, enabled\n"
    assert memdev_json(root, "mem4")["serial"] == 0x40
    r = sim(root, "check")
    assert r.exit_code == 0


def test_hot_add_on_a_node_of_its_own(system):
    root = system("cxl_test")
    slot = hot_remove(root, "mem9")
    r = sim(root, "hot-add", "--ram", "256M", "--slot", slot, "--numa-node", "0")
    assert r.exit_code == 0, r.output
    memdev = root.realpath(paths.CXL_DEVICES + "/mem9")
    assert root.read(memdev + "/numa_node") == "0"
    consistent(root)


def test_a_new_device_has_only_what_its_options_give(system):
    root = system("qemu-c")
    hot_add(root, ram=0, pmem=256 * M)
    m = memdev_json(root, "mem4", "-H", "-A", "-F", "-I")
    # No health or alert answers, no QoS class; one past the highest serial (0x13).
    assert set(m) == {
        "memdev",
        "pmem_size",
        "serial",
        "host",
        "firmware_version",
        "partition_info",
        "firmware",
    }
    assert m["serial"] == 0x14
    assert not root.exists(root.realpath(paths.CXL_DEVICES + "/mem4") + "/pmem/qos_class")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ram", "100M"], "ram size 0x6400000 is not a multiple of 256M"),
        ([], "a device needs ram or pmem capacity"),
        (["--ram", "256M", "--slot", "0000:0c:00.0"], "slot 0000:0c:00.0 is taken by 0000:0d:00.0"),
        (["--ram", "256M", "--slot", "0000:0c:07.0"], "0000:0c:07.0: no such slot"),
        (["--ram", "256M", "--slot", "../../x"], "'../../x': not a slot name"),
        (["--ram", "256M", "--slot", "0000:0c:01.0/.."], "not a slot name"),
        (["--ram", "256M", "--serial", "0x11"], "serial 0x11 is already mem0's"),
        (["--ram", "256M", "--numa-node", "5"], "node5 is not online"),
        (["--ram", "lots"], "'lots' is not a size"),
    ],
)
def test_hot_add_refusals_change_nothing(system, args, message):
    root = system("qemu-c")
    before = tree(root.base)
    r = sim(root, "hot-add", *args)
    assert r.exit_code != 0
    assert message in r.stderr
    assert r.stderr.count("\n") == 1 or "Usage" in r.stderr
    assert tree(root.base) == before


def test_no_free_slot(system):
    root = system("qemu-b")
    with pytest.raises(EventError, match="no free slot"):
        hot_add(root, ram=256 * M, pmem=0)


def test_events_need_a_simulated_system(system, tmp_path):
    root = system("qemu-a")
    plain = tmp_path / "plain"
    subprocess.run(["cp", "-a", os.path.join(root.base, "sys"), str(plain / "sys")], check=False)
    os.makedirs(plain / "sys", exist_ok=True)
    r = CliRunner().invoke(cli, ["--root", str(plain), "sim", "hot-remove", "mem0"])
    assert r.exit_code == 1
    assert "device events happen only on a simulated system" in r.stderr


# -- hot-remove --------------------------------------------------------------------------------
def test_hot_remove_of_a_region_member_takes_the_member_away(system):
    root = system("qemu-a")
    rc, _out, err = run_cxltool(
        root.base, ["cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0"]
    )
    assert rc == 0, err
    (region,) = cxl(root, "list", "-R")
    assert region["region"] == "region0"
    r = sim(root, "hot-remove", "mem0")
    assert r.exit_code == 0, r.output
    assert r.stderr == "mem0: removed from slot 0000:0c:00.0\n"
    consistent(root)
    # The region stays, without its member: reset and unbound.
    (region,) = cxl(root, "list", "-R", "-i")
    assert (region["region"], region["decode_state"], region["state"]) == (
        "region0",
        "reset",
        "disabled",
    )
    assert root.read("/sys/bus/cxl/devices/region0/target0") == ""
    assert cxl(root, "list", "-M", "-i") == []


def test_hot_remove_of_an_auto_region_member_on_cxl_test(system):
    root = system("cxl_test")
    hot_remove(root, "mem0")
    consistent(root)
    assert "mem0" not in {m["memdev"] for m in cxl(root, "list", "-M")}
    assert not root.isdir(
        "/sys/devices/platform/cxl_host_bridge.0/cxl_root_port.0/"
        "cxl_switch_uport.0/cxl_switch_dport.0/cxl_mem.0"
    )


@pytest.mark.parametrize(
    "name, message",
    [
        ("mem9", "mem9: no such memdev"),
        ("mem0/..", "'mem0/..': not a memdev name (memN)"),
        ("endpoint2", "'endpoint2': not a memdev name"),
        ("", "'': not a memdev name"),
    ],
)
def test_hot_remove_refusals_change_nothing(system, name, message):
    root = system("qemu-a")
    before = tree(root.base)
    r = sim(root, "hot-remove", name)
    assert r.exit_code == 1
    assert r.stderr == f"cxltool sim: {message}" + r.stderr.split(message, 1)[1]
    assert r.stderr.count("\n") == 1
    assert tree(root.base) == before


# -- set-capacity ------------------------------------------------------------------------------
def test_set_capacity_shows_the_mismatch_until_cxl_pci_probes_again(system):
    root = system("qemu-a")
    r = sim(root, "set-capacity", "mem0", "--ram", "512M")
    assert r.exit_code == 0, r.output
    assert r.stderr == (
        "mem0: the device has ram 512M, pmem 0; the kernel shows ram 256M, pmem 0"
        " until cxl_pci probes it again\n"
    )
    consistent(root)
    m = memdev_json(root, "mem0", "-I")
    # The kernel still shows what it read at probe; the mailbox answers anew.
    assert m["ram_size"] == 256 * M
    assert m["partition_info"] == {
        "total_size": 512 * M,
        "volatile_only_size": 512 * M,
        "persistent_only_size": 0,
        "partition_alignment_size": 0,
    }
    endpoint_cdat = "/sys/bus/cxl/devices/endpoint2/CDAT"
    with open(root.host(root.realpath(endpoint_cdat)), "rb") as f:
        old_cdat = f.read()
    # cxl_mem's probe does not read the partitions again: disable/enable keeps 256M,
    # but the endpoint port it makes reads the device's new CDAT.
    for command in ("disable-memdev", "enable-memdev"):
        rc, _out, err = run_cxltool(root.base, ["cxl", command, "mem0"])
        assert rc == 0, err
    assert memdev_json(root, "mem0")["ram_size"] == 256 * M
    with open(root.host(root.realpath(endpoint_cdat)), "rb") as f:
        new_cdat = f.read()
    assert new_cdat != old_cdat and (512 * M).to_bytes(8, "little") in new_cdat
    # cxl_pci's probe does.
    r = sim(root, "write", CXL_PCI + "/unbind", "0000:0d:00.0")
    assert r.exit_code == 0, r.output
    assert cxl(root, "list", "-M") == []
    consistent(root)
    r = sim(root, "write", CXL_PCI + "/bind", "0000:0d:00.0")
    assert r.exit_code == 0, r.output
    consistent(root)
    m = memdev_json(root, "mem0", "-I")
    assert m["ram_size"] == 512 * M
    assert m["partition_info"]["total_size"] == 512 * M
    assert list(m["partition_info"]) == [
        "total_size",
        "volatile_only_size",
        "persistent_only_size",
        "partition_alignment_size",
    ]
    (ep,) = cxl(root, "list", "-E")
    assert ep["host"] == "mem0"


def test_set_capacity_of_a_partitionable_device_drops_its_pending_split(system):
    root = system("cxl_test")
    rc, _out, err = run_cxltool(
        root.base, ["cxl", "set-partition", "mem2", "-t", "ram", "-s", "2G"]
    )
    assert rc == 0, err
    before = memdev_json(root, "mem2", "-I")["partition_info"]
    assert before["next_volatile_size"] == 2 << 30
    c = set_capacity(root, "mem2", pmem=2 << 30)
    assert (c.ram, c.pmem, c.shown_ram, c.shown_pmem) == (1 << 30, 2 << 30, 1 << 30, 1 << 30)
    info = memdev_json(root, "mem2", "-I")["partition_info"]
    assert info == {
        **before,
        "total_size": 3 << 30,
        "active_volatile_size": 1 << 30,
        "active_persistent_size": 2 << 30,
        "next_volatile_size": 0,
        "next_persistent_size": 0,
    }
    consistent(root)


@pytest.mark.parametrize(
    "args, message",
    [
        (["mem0"], "give the new capacity: --ram SIZE, --pmem SIZE or both"),
        (["mem0", "--ram", "0"], "a device needs ram or pmem capacity"),
        (["mem0", "--ram", "300M"], "ram size 0x12c00000 is not a multiple of 256M"),
        (["mem5", "--ram", "512M"], "mem5: no such memdev"),
        (["../mem0", "--ram", "512M"], "not a memdev name"),
    ],
)
def test_set_capacity_refusals_change_nothing(system, args, message):
    root = system("qemu-a")
    before = tree(root.base)
    r = sim(root, "set-capacity", *args)
    assert r.exit_code == 1
    assert message in r.stderr
    assert r.stderr.count("\n") == 1
    assert tree(root.base) == before


# -- cxl_pci's bind and unbind -------------------------------------------------------------------
def test_cxl_pci_driver_core_rules(system):
    root = system("qemu-c")
    before = tree(root.base)
    booted = tree(root.base, ("sys", "dev"))
    for attr, value, err in [
        ("bind", "0000:0c:00.0", errno.ENODEV),  # a root port: not cxl_pci's
        ("bind", "0000:99:00.0", errno.ENODEV),
        ("bind", "../0000:10:00.0", errno.ENODEV),
        ("bind", "0000:10:00.0", errno.EBUSY),  # bound already
        ("unbind", "0000:0c:00.0", errno.ENODEV),
    ]:
        with pytest.raises(SysfsError) as e:
            root.write(f"{CXL_PCI}/{attr}", value + "\n")
        assert e.value.errno == err, (attr, value)
    assert tree(root.base) == before
    root.write(CXL_PCI + "/unbind", "0000:10:00.0\n")
    consistent(root)
    # mem0 went with its driver; the other devices keep their numbers.
    assert sorted(m["memdev"] for m in cxl(root, "list", "-M")) == ["mem1", "mem2", "mem3"]
    with pytest.raises(SysfsError) as e:
        root.write(CXL_PCI + "/unbind", "0000:10:00.0\n")
    assert e.value.errno == errno.ENODEV
    root.write(CXL_PCI + "/bind", "0000:10:00.0")
    consistent(root)
    # The same memdev and endpoint numbers come back: the tree is as it booted.
    assert tree(root.base, ("sys", "dev")) == booted
