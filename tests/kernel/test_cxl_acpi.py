"""The emulated cxl_acpi platform driver: unbinding takes a whole CXL root down, binding
brings it back.

Each rule: the errno a refused write returns (and that it changes nothing), or
the tree after an accepted one. Trees come from the built-in fixtures: qemu-c
(one host bridge, a switch, two ram and two pmem devices), cxl_test (mock
platform devices, an RCH device, a firmware-committed region) and a restored
capture.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess

import pytest

from cxltool.sim.capture import load_capture, restore
from cxltool.sim.check import check_tree
from cxltool.sysfs import open_root, paths
from tests.kernel import regionkit as rk
from tests.kernel.test_cxl_drivers import digest, endpoint_of, listing, refused
from tests.transcripts import capture_file, run_cxltool

DRIVER = paths.SYS + "/bus/platform/drivers/cxl_acpi"
ACPI = paths.SYS_DEVICES + "/platform/ACPI0017:00"
MOCK = paths.SYS_DEVICES + "/platform/cxl_acpi.0"
DEVS = paths.CXL_DEVICES
MEMDEVS = ["mem0", "mem1", "mem2", "mem3"]


@pytest.fixture
def system(built, tmp_path):
    def make(fixture: str):
        dest = str(tmp_path / fixture)
        # cp keeps the character device nodes under dev/.
        subprocess.run(["cp", "-a", built(fixture), dest], check=True)
        return open_root(dest)

    return make


def unbind(root, name: str = "ACPI0017:00") -> None:
    root.write(DRIVER + "/unbind", name)


def bind(root, name: str = "ACPI0017:00") -> None:
    root.write(DRIVER + "/bind", name + "\n")


def bus_devices(root) -> list[str]:
    return sorted(root.listdir(DEVS))


def driver_links(root, bus: str) -> dict[str, list[str]]:
    """Device links in each driver directory of a bus."""
    top = f"{paths.SYS}/bus/{bus}/drivers"
    out = {}
    for drv in root.listdir(top):
        names = [n for n in root.listdir(f"{top}/{drv}") if root.islink(f"{top}/{drv}/{n}")]
        out[drv] = sorted(n for n in names if n != "module")
    return out


def state(root) -> dict:
    with open(os.path.join(root.meta, "fixture.json")) as f:
        return json.load(f)


# -- the files ------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["qemu-c", "cxl_test"])
def test_the_driver_has_bind_and_unbind(system, fixture):
    root = system(fixture)
    for name in ("bind", "unbind", "uevent"):
        assert root.mode(f"{DRIVER}/{name}") & 0o777 == 0o200
    assert root.link_name(DRIVER + "/module") == "cxl_acpi"


# -- driver-core errnos -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "attr,value,err",
    [
        ("unbind", "ACPI0017:01", errno.ENODEV),  # no such device
        ("unbind", "", errno.ENODEV),
        ("unbind", "../ACPI0017:00", errno.ENODEV),
        ("bind", "ACPI0017:00", errno.EBUSY),  # bound already
        ("bind", "root0", errno.ENODEV),  # not a platform device
    ],
)
def test_driver_core_refusals(system, attr, value, err):
    refused(system("qemu-c"), f"{DRIVER}/{attr}", value, err)


def test_mock_platform_refusals(system):
    root = system("cxl_test")
    # Bound to another driver (cxl_mock_mem), or to none: not cxl_acpi's to unbind.
    refused(root, DRIVER + "/unbind", "cxl_mem.0", errno.ENODEV)
    refused(root, DRIVER + "/unbind", "cxl_host_bridge.0", errno.ENODEV)
    # cxl_acpi does not match a mock host bridge.
    refused(root, DRIVER + "/bind", "cxl_host_bridge.0", errno.ENODEV)
    refused(root, DRIVER + "/bind", "cxl_acpi.0", errno.EBUSY)


def test_unbind_twice_is_enodev(system):
    root = system("qemu-c")
    unbind(root)
    refused(root, DRIVER + "/unbind", "ACPI0017:00", errno.ENODEV)


def test_bind_of_a_root_the_emulator_never_saw_is_enxio(system):
    root = system("qemu-c")
    unbind(root)
    doc = state(root)
    del doc["cxl_roots"]
    with open(os.path.join(root.meta, "fixture.json"), "w") as f:
        json.dump(doc, f)
    refused(root, DRIVER + "/bind", "ACPI0017:00", errno.ENXIO)
    assert not root.exists(ACPI + "/driver")


# -- unbind ------------------------------------------------------------------------------------
def test_unbind_takes_the_whole_root_away(system):
    root = system("qemu-c")
    unbind(root)
    assert sorted(root.listdir(ACPI)) == [
        "driver_override",
        "firmware_node",
        "modalias",
        "power",
        "subsystem",
        "uevent",
    ]
    assert root.read(ACPI + "/uevent") == "MODALIAS=acpi:ACPI0017:"
    assert sorted(root.listdir(DRIVER)) == ["bind", "module", "uevent", "unbind"]
    # Memdevs stay registered, detached from cxl_mem; nothing else is left on the bus.
    assert bus_devices(root) == MEMDEVS
    for m in MEMDEVS:
        mem = root.realpath(f"{DEVS}/{m}")
        assert not root.exists(mem + "/driver")
        assert not root.exists(mem + "/trigger_poison_list")
        assert not [n for n in root.listdir(mem) if n.startswith("pmem") and n[4:].isdigit()]
        assert root.exists(f"/dev/cxl/{m}")
    assert all(links == [] for links in driver_links(root, "cxl").values())
    # The nvdimm bridge took its libnvdimm bus and DIMMs along.
    assert root.listdir(paths.ND_DEVICES) == []
    assert all(links == [] for links in driver_links(root, "nd").values())
    assert root.listdir(paths.SYS + "/class/nd") == []
    assert not [n for n in root.listdir("/dev") if n.startswith(("nmem", "ndctl"))]
    assert check_tree(root) == []
    # Every port number and region id went back.
    doc = state(root)
    assert doc["cxl_port_ida"] == []
    assert doc["memregion"]["allocated"] == []


def test_after_unbind_cxl_list_has_no_bus(system):
    root = system("qemu-c")
    unbind(root)
    assert listing(root, "-B") == "[\n]\n"
    assert listing(root, "-b", "root0") == "[\n]\n"
    assert listing(root, "-P", "-D", "-E") == "[\n]\n"
    memdevs = json.loads(listing(root, "-M", "-i"))
    assert sorted(m["memdev"] for m in memdevs) == MEMDEVS
    assert all(m["state"] == "disabled" for m in memdevs)


def test_unbind_tears_down_user_regions(system):
    root = system("qemu-c")
    ram = rk.build_region(
        root, [rk.endpoint_decoder(root, "mem0"), rk.endpoint_decoder(root, "mem1")]
    )
    pmem = rk.build_region(root, [rk.endpoint_decoder(root, "mem2")], mode="pmem")
    assert (ram, pmem) == ("region0", "region1")
    assert root.listdir(paths.DAX_DEVICES) == ["dax0.0"]
    assert "region1" in root.listdir(paths.ND_DEVICES)
    unbind(root)
    assert bus_devices(root) == MEMDEVS
    assert root.listdir(paths.DAX_DEVICES) == []
    assert root.listdir(paths.ND_DEVICES) == []
    assert not root.exists("/dev/dax0.0")
    assert check_tree(root) == []
    assert state(root)["memregion"]["allocated"] == []
    bind(root)
    # No region comes back: their decoders were reset.
    assert not [n for n in bus_devices(root) if n.startswith("region")]
    assert rk.attr(root, "decoder0.0", "create_ram_region") == "region0"
    assert check_tree(root) == []


def test_cxl_test_root_goes_with_its_firmware_region_and_rch_endpoint(system):
    root = system("cxl_test")
    unbind(root, "cxl_acpi.0")
    assert not root.exists(MOCK + "/root0")
    assert not root.exists(MOCK + "/driver")
    assert sorted(bus_devices(root), key=lambda n: int(n[3:])) == [f"mem{i}" for i in range(11)]
    assert root.listdir(paths.DAX_DEVICES) == []
    assert check_tree(root) == []


# -- bind ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["qemu-a", "qemu-b", "qemu-c", "1hb2rp2mem"])
def test_unbind_then_bind_is_the_boot_tree(system, fixture):
    root = system(fixture)
    before = digest(root)
    unbind(root)
    bind(root)
    assert digest(root) == before


def test_cxl_test_comes_back_but_its_firmware_region_does_not(system):
    root = system("cxl_test")
    before = listing(root, "-M")
    endpoints = {m: endpoint_of(root, m) for m in (f"mem{i}" for i in range(11))}
    unbind(root, "cxl_acpi.0")
    bind(root, "cxl_acpi.0")
    assert check_tree(root) == []
    assert root.link_name(MOCK + "/driver") == "cxl_acpi"
    assert "DRIVER=cxl_acpi" in root.read(MOCK + "/uevent")
    # Every memdev probed again, in its old place, the RCH one under the root.
    assert listing(root, "-M") == before
    assert {m: endpoint_of(root, m) for m in endpoints} == endpoints
    rch = root.realpath(f"{DEVS}/{endpoints['mem10']}")
    assert paths.dirname(rch) == MOCK + "/root0"
    # The firmware region's decoders were reset when it went: it is not found again.
    assert not [n for n in bus_devices(root) if n.startswith("region")]
    assert rk.attr(root, "decoder0.0", "create_ram_region") == "region0"
    assert rk.attr(root, "decoder0.3", "create_pmem_region") == "region3"


def test_bind_probes_memdevs_disabled_before(system):
    root = system("qemu-c")
    before = digest(root)
    root.write(paths.CXL_DRIVERS + "/cxl_mem/unbind", "mem3")
    root.write(paths.CXL_DRIVERS + "/cxl_port/unbind", "port1")
    unbind(root)
    bind(root)
    # The bus rescan probes every memdev cxl_mem does not hold; the host bridge
    # port is a new device, bound at once.
    assert digest(root) == before


def test_a_memdev_whose_probe_fails_stays_unbound(system):
    root = system("qemu-c")
    unbind(root)
    doc = state(root)
    # Forget the switch: the memdevs below it cannot get their port back.
    host_bridges = doc["cxl_roots"][ACPI]["host_bridges"]
    switch = [k for k, v in doc["cxl_hardware"].items() if "dports" in v and k not in host_bridges]
    assert len(switch) == 1
    for k in switch:
        del doc["cxl_hardware"][k]
    with open(os.path.join(root.meta, "fixture.json"), "w") as f:
        json.dump(doc, f)
    bind(root)
    assert [n for n in bus_devices(root) if n.startswith("root")] == ["root0"]
    for m in MEMDEVS:
        assert not root.exists(root.realpath(f"{DEVS}/{m}") + "/driver")
    assert state(root)["cxl_port_ida"] == [0, 1]
    assert check_tree(root) == []


# -- the command ---------------------------------------------------------------------------------
def test_disable_bus_force_then_list(system):
    root = system("cxl_test")
    rc, out, err = run_cxltool(root.base, ["cxl", "disable-bus", "-f", "root0"])
    assert (rc, out) == (0, "")
    assert err.endswith("cxl bus: cmd_disable_bus: disabled 1 bus\n")
    assert listing(root, "-b", "root0") == "[\n]\n"
    assert check_tree(root) == []


# -- captured trees ------------------------------------------------------------------------------
def test_works_on_a_restored_capture(tmp_path):
    dest = str(tmp_path / "b")
    restore(load_capture(capture_file("b-v81", "before")), dest)
    # Captures do not reach /sys/bus/platform: the driver's files are added here.
    for name in ("bind", "unbind"):
        os.close(os.open(f"{dest}{DRIVER}/{name}", os.O_CREAT | os.O_WRONLY, 0o200))
    root = open_root(dest)
    before = listing(root, "-vvv")
    unbind(root)
    assert bus_devices(root) == ["mem0", "mem1"]
    assert check_tree(root) == []
    bind(root)
    assert listing(root, "-vvv") == before


def test_a_rescan_probes_memdevs_in_the_order_they_joined_the_bus(tmp_path):
    # c-v81's boot: vmem1 (mem1) probed before vmem0 (mem0), so it has the lower
    # endpoint; a real kernel's rescan after cxl_acpi binds again keeps that order.
    from cxltool.sim.build import build_tree
    from cxltool.sim.topology import load_fixture
    from tests.sim.capture_data import C_V81_NUMBERING

    dest = str(tmp_path / "root")
    build_tree(load_fixture("qemu-c").with_devices(C_V81_NUMBERING), dest)
    root = open_root(dest)
    before = {m: endpoint_of(root, m) for m in ("mem0", "mem1", "mem2", "mem3")}
    assert before == {
        "mem0": "endpoint4",
        "mem1": "endpoint3",
        "mem2": "endpoint5",
        "mem3": "endpoint6",
    }
    unbind(root)
    bind(root)
    root = open_root(dest)
    assert {m: endpoint_of(root, m) for m in before} == before
