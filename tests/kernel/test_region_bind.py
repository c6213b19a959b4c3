"""Binding regions to the cxl_region driver and what that creates (kernel-abi 2.1, 2.6.6, 3.1)."""

from __future__ import annotations

import errno
import os

from cxltool.sysfs import paths
from tests.kernel.regionkit import (
    DEV,
    attr,
    build_region,
    capture_root,
    fixture_root,
    read,
    refused,
    write,
)

BIND = f"{paths.CXL_DRIVERS}/cxl_region/bind"
UNBIND = f"{paths.CXL_DRIVERS}/cxl_region/unbind"
REGION0 = "/sys/devices/platform/ACPI0017:00/root0/decoder0.0/region0"


def test_binding_an_uncommitted_region_is_enxio(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"], commit=False)
    refused(root, BIND, "region0", errno.ENXIO)


def test_binding_what_is_not_a_region_is_enodev(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    refused(root, BIND, "region7", errno.ENODEV)
    refused(root, BIND, "mem0", errno.ENODEV)


def test_binding_a_bound_region_is_ebusy(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"])
    refused(root, BIND, "region0", errno.EBUSY)


def test_a_bound_ram_region_gets_its_dax_region_and_device_on_kmem(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"])
    assert root.realpath(f"{REGION0}/driver") == f"{paths.CXL_DRIVERS}/cxl_region"
    assert read(root, REGION0 + "/uevent") == (
        "DEVTYPE=cxl_region\nDRIVER=cxl_region\nMODALIAS=cxl:t6"
    )
    dax_region = REGION0 + "/dax_region0"
    assert root.realpath(f"{DEV}/dax_region0") == dax_region
    assert read(root, dax_region + "/dax_region/size") == "268435456"
    assert read(root, dax_region + "/dax_region/available_size") == "0"
    dax = root.realpath(f"{paths.DAX_DEVICES}/dax0.0")
    assert dax == dax_region + "/dax0.0"
    assert root.realpath(dax + "/driver") == f"{paths.DAX_DRIVERS}/kmem"
    assert read(root, dax + "/size") == "268435456"
    assert read(root, dax + "/target_node") == "1"
    assert read(root, dax + "/dev") == "252:0"
    assert read(root, dax + "/mapping0/start") == "0x490000000"
    assert root.exists("/dev/dax0.0")
    assert root.realpath(f"{paths.SYS_DEV_CHAR}/252:0") == dax
    # kmem hot-added the range, onlined as auto_online_blocks ("online") says.
    for block in ("memory146", "memory147"):  # 0x490000000 / 128M, 256M
        assert read(root, f"{paths.MEMORY}/{block}/state") == "online"
        assert root.realpath(f"{paths.MEMORY}/{block}/node1") == f"{paths.NODE}/node1"
    assert not root.exists(f"{paths.MEMORY}/memory148")


def test_a_bound_pmem_region_gets_its_pmem_region(tmp_path):
    root = fixture_root(tmp_path, "1hb2rp2mem")
    region = build_region(root, ["decoder3.0"], mode="pmem")
    path = root.realpath(f"{DEV}/{region}")
    assert root.realpath(f"{DEV}/pmem_{region}") == f"{path}/pmem_{region}"
    assert attr(root, f"pmem_{region}", "devtype") == "cxl_pmem_region"
    assert root.islink(f"{path}/pmem_{region}/driver")
    # cxl_pmem_region registered the libnvdimm region of the same id (tests/kernel/test_nd_*).
    ndbus = root.realpath(f"{DEV}/nvdimm-bridge0") + "/ndbus0"
    assert [n for n in root.listdir(ndbus) if n.startswith("region")] == [region]


def test_a_pmem_region_without_a_bound_nvdimm_bridge_is_enxio(tmp_path):
    root = fixture_root(tmp_path, "1hb2rp2mem")
    region = build_region(root, ["decoder3.0"], mode="pmem", bind=False)
    bridge = root.realpath(f"{DEV}/nvdimm-bridge0")
    os.unlink(root.host(bridge + "/driver"))
    refused(root, BIND, region, errno.ENXIO)


def test_unbind_with_memory_online_leaks_it(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"])
    write(root, f"{REGION0}/driver/unbind", "region0")
    # kmem could not remove online memory: it stays, and the region still unbinds.
    assert read(root, f"{paths.MEMORY}/memory146/state") == "online"
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    # Binding again finds the range still reserved: kmem's probe fails and
    # dax0.0 is left without a driver.
    write(root, BIND, "region0")
    assert root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0/driver")


def test_unbind_with_memory_offline_removes_it(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"])
    for block in ("memory146", "memory147"):
        write(root, f"{paths.MEMORY}/{block}/state", "offline")
    write(root, f"{REGION0}/driver/unbind", "region0")
    assert not root.exists(f"{paths.MEMORY}/memory146")
    assert not root.exists(f"{paths.MEMORY}/memory147")


def test_unbind_of_a_region_not_bound_is_enodev(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"], bind=False)
    refused(root, UNBIND, "region0", errno.ENODEV)
    refused(root, UNBIND, "region5", errno.ENODEV)


def test_unbind_removes_the_dax_side_and_keeps_the_region_committed(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"])
    write(root, f"{REGION0}/driver/unbind", "region0")
    assert not root.exists(REGION0 + "/driver")
    assert not root.exists(REGION0 + "/dax_region0")
    assert not root.exists(f"{DEV}/dax_region0")
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    assert not root.exists("/dev/dax0.0")
    assert not root.exists(f"{paths.SYS_DEV_CHAR}/252:0")
    assert attr(root, "region0", "commit") == "1"
    assert read(root, REGION0 + "/uevent") == "DEVTYPE=cxl_region\nMODALIAS=cxl:t6"
    write(root, BIND, "region0")  # and it binds again
    assert root.exists(f"{paths.DAX_DEVICES}/dax0.0")
