"""The emulated cxl_mem / cxl_port bind and unbind, and the bus flush.

Each rule: the errno a refused write returns (and that it changes nothing), or
the tree after an accepted one. Trees come from the built-in fixtures: qemu-c
(a host bridge, a switch, four devices), cxl_test (switches under three host
bridges, an RCH device, a firmware-committed region) and a restored capture.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess

import pytest

from cxltool.sim.capture import load_capture, restore
from cxltool.sysfs import SysfsError, open_root, paths
from tests.transcripts import capture_file, run_cxltool

MEM = paths.CXL_DRIVERS + "/cxl_mem"
PORT = paths.CXL_DRIVERS + "/cxl_port"
DEVS = paths.CXL_DEVICES


@pytest.fixture
def system(built, tmp_path):
    """A private copy of a built fixture: `system("qemu-c")` -> its root."""

    def make(fixture: str):
        dest = str(tmp_path / fixture)
        # cp keeps the character device nodes under dev/.
        subprocess.run(["cp", "-a", built(fixture), dest], check=True)
        return open_root(dest)

    return make


def digest(root) -> dict[str, str]:
    """Every file (mode and content) and link of sys/, and dev/'s nodes with their numbers."""
    out = {}
    for top in ("sys", "dev"):
        base = os.path.join(root.base, top)
        for d, dirs, files in os.walk(base):
            for name in dirs + files:
                p = os.path.join(d, name)
                key = p[len(root.base) :]
                if os.path.islink(p):
                    out[key] = "-> " + os.readlink(p)
                elif top == "dev":
                    st = os.lstat(p)
                    out[key] = "dir" if os.path.isdir(p) else f"node {st.st_mode:o} {st.st_rdev}"
                elif os.path.isfile(p):
                    with open(p, "rb") as f:
                        out[key] = f"{os.stat(p).st_mode & 0o777:o} {f.read()!r}"
                else:
                    out[key] = "dir"
    return out


def listing(root, *args: str) -> str:
    rc, out, err = run_cxltool(root.base, ["cxl", "list", *args])
    assert rc == 0, err
    return out


def refused(root, path: str, value: str, err: int) -> None:
    before = digest(root)
    with pytest.raises(SysfsError) as e:
        root.write(path, value)
    assert e.value.errno == err
    assert digest(root) == before


def memdev_path(root, name: str) -> str:
    return root.realpath(f"{DEVS}/{name}")


def endpoint_of(root, name: str) -> str | None:
    for n in root.listdir(DEVS):
        if n.startswith("endpoint") and root.link_name(f"{DEVS}/{n}/uport") == name:
            return n
    return None


# -- flush -----------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["1", "1\n", "1\n\0"])
def test_flush_accepts_one(system, value):
    root = system("qemu-c")
    before = digest(root)
    root.write(paths.CXL_FLUSH, value)
    assert digest(root) == before


@pytest.mark.parametrize("value", ["0", "2", "", "yes", "1 "])
def test_flush_refuses_anything_else(system, value):
    refused(system("qemu-c"), paths.CXL_FLUSH, value, errno.EINVAL)


# -- driver-core errnos ------------------------------------------------------------------
@pytest.mark.parametrize(
    "path,value,err",
    [
        (MEM + "/bind", "mem9", errno.ENODEV),  # no such device
        (MEM + "/bind", "port1", errno.ENODEV),  # not a memdev
        (MEM + "/bind", "decoder0.0", errno.ENODEV),
        (MEM + "/bind", "mem0", errno.EBUSY),  # already bound
        (MEM + "/unbind", "mem9", errno.ENODEV),
        (MEM + "/unbind", "port2", errno.ENODEV),  # bound, but to cxl_port
        (PORT + "/bind", "root0", errno.ENODEV),  # the root is another device type
        (PORT + "/bind", "mem0", errno.ENODEV),
        (PORT + "/bind", "port2", errno.EBUSY),
        (PORT + "/bind", "endpoint3", errno.EBUSY),
        (PORT + "/unbind", "root0", errno.ENODEV),
        (PORT + "/unbind", "mem0", errno.ENODEV),
        (PORT + "/unbind", "port7", errno.ENODEV),
    ],
)
def test_driver_core_refusals(system, path, value, err):
    refused(system("qemu-c"), path, value, err)


def test_unbind_of_an_unbound_memdev_is_enodev(system):
    root = system("qemu-c")
    root.write(MEM + "/unbind", "mem0")
    refused(root, MEM + "/unbind", "mem0", errno.ENODEV)


# -- memdev unbind -------------------------------------------------------------------------
def test_memdev_unbind_removes_its_endpoint_and_driver_files(system):
    root = system("qemu-c")
    mem0 = memdev_path(root, "mem0")
    ep = endpoint_of(root, "mem0")
    ep_path = root.realpath(f"{DEVS}/{ep}")
    assert root.exists(mem0 + "/trigger_poison_list")
    root.write(MEM + "/unbind", "mem0\n")
    assert not root.exists(mem0 + "/driver")
    assert not root.exists(MEM + "/mem0")
    assert not root.exists(mem0 + "/trigger_poison_list")
    assert "DRIVER=" not in root.read(mem0 + "/uevent")
    assert not root.exists(ep_path)
    assert not root.exists(f"{DEVS}/{ep}")
    assert not any(n.startswith(f"decoder{ep[8:]}.") for n in root.listdir(DEVS))
    # The memdev itself (and its char device) stays.
    assert root.exists(mem0 + "/serial") and root.exists("/dev/cxl/mem0")
    # The switch above still has three endpoints.
    assert root.exists(f"{DEVS}/port2")


def test_switch_port_goes_with_its_last_memdev_host_bridge_stays(system):
    root = system("qemu-c")
    port2 = root.realpath(f"{DEVS}/port2")
    for name in ("mem0", "mem1", "mem2"):
        root.write(MEM + "/unbind", name)
        assert root.exists(port2)
    root.write(MEM + "/unbind", "mem3")
    assert not root.exists(port2)
    assert not any(n.startswith(("port2", "decoder2.")) for n in root.listdir(DEVS))
    assert not root.exists(PORT + "/port2")
    assert root.exists(f"{DEVS}/port1") and root.islink(f"{DEVS}/port1/driver")
    assert root.exists(f"{DEVS}/decoder1.0")


def test_pmem_memdev_unbind_removes_its_nvdimm(system):
    root = system("qemu-c")
    mem2 = memdev_path(root, "mem2")
    assert root.exists(mem2 + "/pmem2")
    nmems = [n for n in root.listdir(paths.ND_DEVICES) if n.startswith("nmem")]
    provider = {n: root.read(f"{paths.ND_DEVICES}/{n}/cxl/provider") for n in nmems}
    nmem = next(n for n, p in provider.items() if p == "pmem2")
    root.write(MEM + "/unbind", "mem2")
    assert not root.exists(mem2 + "/pmem2")
    assert not root.exists(f"{DEVS}/pmem2")
    assert not root.exists(f"{paths.ND_DEVICES}/{nmem}")
    assert not root.exists(f"/dev/{nmem}")
    root.write(MEM + "/bind", "mem2")
    assert root.exists(mem2 + "/pmem2/driver")
    assert root.exists(f"{paths.ND_DEVICES}/{nmem}")
    assert root.read(f"{paths.ND_DEVICES}/{nmem}/cxl/provider") == "pmem2"
    assert root.exists(f"/dev/{nmem}")


# -- memdev bind -----------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["qemu-c", "1hb2rp2mem", "cxl_test"])
def test_disable_then_enable_lists_as_before(system, fixture):
    root = system(fixture)
    before = listing(root, "-vvv")
    names = [n for n in root.listdir(DEVS) if n.startswith("mem")]
    # Bound again in the order they probed at boot, they get the same numbers.
    names.sort(key=lambda n: int(endpoint_of(root, n)[8:]))
    # cxl_test's firmware region does not come back once its members leave.
    names = [n for n in names if fixture != "cxl_test" or n not in ("mem0", "mem4")]
    for name in names:
        root.write(MEM + "/unbind", name)
    for name in names:
        root.write(MEM + "/bind", name)
    assert listing(root, "-vvv") == before


def test_tree_after_disable_enable_is_the_boot_tree(system):
    root = system("qemu-c")
    before = digest(root)
    for name in ("mem0", "mem1", "mem2", "mem3"):
        root.write(MEM + "/unbind", name)
    for name in ("mem0", "mem1", "mem2", "mem3"):
        root.write(MEM + "/bind", name)
    # CDAT tables and device nodes come back too.
    assert digest(root) == before


def test_numbers_come_from_the_shared_ida(system):
    root = system("qemu-c")
    eps = {m: endpoint_of(root, m) for m in ("mem0", "mem1")}
    root.write(MEM + "/unbind", "mem0")
    root.write(MEM + "/unbind", "mem1")
    # mem1 probes first now: it takes the lowest free number.
    root.write(MEM + "/bind", "mem1")
    root.write(MEM + "/bind", "mem0")
    assert endpoint_of(root, "mem1") == min(eps.values(), key=lambda e: int(e[8:]))
    assert endpoint_of(root, "mem0") == max(eps.values(), key=lambda e: int(e[8:]))


def test_switch_returns_with_a_new_number_when_its_old_one_is_taken(system):
    root = system("qemu-c")
    for name in ("mem0", "mem1", "mem2", "mem3"):
        root.write(MEM + "/unbind", name)
    # Numbers 2..6 are free; the first bind takes 2 for the switch, 3 for mem2's endpoint.
    root.write(MEM + "/bind", "mem2")
    assert root.exists(f"{DEVS}/port2")
    assert endpoint_of(root, "mem2") == "endpoint3"
    assert root.realpath(f"{DEVS}/endpoint3").startswith(root.realpath(f"{DEVS}/port2"))
    assert root.read(f"{DEVS}/port2/decoders_committed") == "0"
    assert root.read(f"{DEVS}/decoder3.0/mode") == "none"
    assert root.read(f"{DEVS}/decoder3.0/dpa_size") == "0x0000000000000000"


def test_memdev_bind_refused_below_a_disabled_host_bridge(system):
    root = system("qemu-c")
    root.write(PORT + "/unbind", "port1")
    refused(root, MEM + "/bind", "mem0", errno.ENXIO)


# -- port unbind / bind ------------------------------------------------------------------------
def test_switch_port_unbind_detaches_its_memdevs_and_the_port_goes(system):
    root = system("cxl_test")
    port = "port8"  # cxl_switch_uport.2: mem2 and mem6, not in the firmware region
    path = root.realpath(f"{DEVS}/{port}")
    below = [m for m in ("mem2", "mem6")]
    root.write(PORT + "/unbind", port)
    assert not root.exists(path)
    for m in below:
        assert not root.islink(memdev_path(root, m) + "/driver")
        assert endpoint_of(root, m) is None
    for m in below:
        root.write(MEM + "/bind", m)
    assert root.exists(f"{DEVS}/{port}")
    assert root.link_name(f"{DEVS}/{port}/uport") == "cxl_switch_uport.2"


def test_host_bridge_unbind_keeps_the_port_without_dports_or_decoders(system):
    root = system("cxl_test")
    before = listing(root, "-vvv")
    hb = root.realpath(f"{DEVS}/port2")  # cxl_host_bridge.1: mem1, mem3, mem5, mem7
    root.write(PORT + "/unbind", "port2")
    assert root.exists(hb) and not root.exists(hb + "/driver")
    assert not [n for n in root.listdir(hb) if re.match(r"(dport|decoder|port)\d", n)]
    assert "DRIVER=" not in root.read(hb + "/uevent")
    for m in ("mem1", "mem3", "mem5", "mem7"):
        assert not root.islink(memdev_path(root, m) + "/driver")
    root.write(PORT + "/bind", "port2")
    assert sorted(n for n in root.listdir(hb) if n.startswith("dport")) == ["dport1", "dport3"]
    assert root.read(hb + "/decoder2.0/target_list") == "1"
    for m in ("mem1", "mem3", "mem5", "mem7"):
        root.write(MEM + "/bind", m)
    assert listing(root, "-vvv") == before


def test_endpoint_port_unbind_detaches_its_memdev(system):
    root = system("qemu-c")
    ep = endpoint_of(root, "mem1")
    root.write(PORT + "/unbind", ep)
    assert not root.exists(f"{DEVS}/{ep}")
    assert not root.islink(memdev_path(root, "mem1") + "/driver")


def test_port_bind_of_a_port_the_emulator_never_saw_bound_is_enxio(system):
    root = system("qemu-c")
    root.write(PORT + "/unbind", "port1")
    root.write(PORT + "/bind", "port1")
    root.write(PORT + "/unbind", "port1")
    state = os.path.join(root.meta, "fixture.json")
    with open(state) as f:
        doc = json.load(f)
    doc["cxl_hardware"] = {}
    with open(state, "w") as f:
        json.dump(doc, f)
    refused(root, PORT + "/bind", "port1", errno.ENXIO)


# -- RCH and regions -----------------------------------------------------------------------------
def test_rch_endpoint_sits_under_the_root(system):
    root = system("cxl_test")
    ep = endpoint_of(root, "mem10")
    parent = paths.dirname(root.realpath(f"{DEVS}/{ep}"))
    root.write(MEM + "/unbind", "mem10")
    assert endpoint_of(root, "mem10") is None
    root.write(MEM + "/bind", "mem10")
    assert endpoint_of(root, "mem10") == ep
    assert paths.dirname(root.realpath(f"{DEVS}/{ep}")) == parent


def test_a_member_leaving_resets_and_unbinds_its_region(system):
    root = system("cxl_test")
    region = root.realpath(f"{DEVS}/region0")
    other_ep = endpoint_of(root, "mem4")
    assert root.read(region + "/commit") == "1"
    assert root.read(f"{DEVS}/{other_ep}/decoders_committed") == "1"
    root.write(MEM + "/unbind", "mem0")
    assert root.read(region + "/commit") == "0"
    assert root.read(region + "/target0") == ""
    assert root.read(region + "/target1") == f"decoder{other_ep[8:]}.0"
    assert not root.exists(region + "/driver")
    assert not root.exists(region + "/dax_region0")
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    assert not root.exists("/dev/dax0.0")
    # Every decoder of the region was reset.
    assert root.read(f"{DEVS}/{other_ep}/decoders_committed") == "0"
    assert root.read(f"{DEVS}/port4/decoders_committed") == "0"
    assert root.read(f"{DEVS}/port1/decoders_committed") == "0"
    # The switch and host-bridge decoders keep the region (mem4 is still below),
    # and, the region being firmware-assembled, their address range too: the
    # kernel skips tearing down an auto region's targets.
    assert root.read(f"{DEVS}/decoder4.0/region") == "region0"
    assert root.read(f"{DEVS}/decoder4.0/size") == "0x20000000"


# -- captured trees ------------------------------------------------------------------------------
def test_works_on_a_restored_capture(tmp_path):
    dest = str(tmp_path / "c")
    restore(load_capture(capture_file("c-v81", "before")), dest)
    root = open_root(dest)
    before = listing(root, "-vvv")
    root.write(MEM + "/unbind", "mem0\n\0")
    assert endpoint_of(root, "mem0") is None
    root.write(MEM + "/bind", "mem0\n\0")
    assert listing(root, "-vvv") == before
