"""nd_pmem, dax_pmem and nd_region binding: personalities, disks, dax devices, info blocks."""

from __future__ import annotations

import errno

import pytest

from cxltool.sysfs import SysfsError, paths
from tests.kernel.ndkit import ND, ND_DRIVERS, devdax_writes, nd_differences, read_nd, region_root
from tests.kernel.regionkit import refused

UUID = "3bd9449d-2d55-4921-9e15-39be770538b4"
PFN_UUID = "0c9a5e8e-2a1b-4d3c-8e7f-6a5b4c3d2e1f"
SZ_256M = 256 << 20


def test_devdax_namespace_is_what_the_kernel_made(tmp_path):
    for run in ("b-debian", "c-v81"):
        root = region_root(tmp_path / run, run)
        devdax_writes(root, run)
        assert nd_differences(root, run, "pmem-namespace-devdax") == []


def test_dax_device_is_static_and_bound_to_device_dax(tmp_path):
    root = region_root(tmp_path, "b-debian")
    devdax_writes(root, "b-debian")
    dax = root.realpath(f"{paths.DAX_DEVICES}/dax0.0")
    assert dax.endswith("/region0/dax0.0/dax0.0")
    assert root.realpath(dax + "/driver") == paths.DAX_DRIVERS + "/device_dax"
    assert root.mode(dax + "/size") == 0o444
    assert not root.exists(dax + "/mapping")
    assert root.exists("/dev/dax0.0")
    # Its size cannot be changed (read-only), and the region has no create.
    assert not root.exists(paths.dirname(dax) + "/dax_region/create")


def test_driver_matching_and_busy(tmp_path):
    root = region_root(tmp_path, "b-debian")
    refused(root, f"{ND_DRIVERS}/dax_pmem/bind", "namespace0.0", errno.ENODEV)
    refused(root, f"{ND_DRIVERS}/nd_pmem/bind", "dax0.0", errno.ENODEV)
    refused(root, f"{ND_DRIVERS}/nd_pmem/bind", "namespace0.9", errno.ENODEV)
    # Unconfigured: no namespace (dax), no uuid or size (namespace).
    refused(root, f"{ND_DRIVERS}/dax_pmem/bind", "dax0.0", errno.ENODEV)
    refused(root, f"{ND_DRIVERS}/nd_pmem/bind", "namespace0.0", errno.ENODEV)
    refused(root, f"{ND_DRIVERS}/nd_region/bind", "region0", errno.EBUSY)
    refused(root, f"{ND_DRIVERS}/dax_pmem/unbind", "dax0.0", errno.ENODEV)


def test_a_dax_device_without_mode_cannot_lay_out_its_data(tmp_path):
    root = region_root(tmp_path, "b-debian")
    root.write(f"{ND}/namespace0.0/uuid", UUID)
    root.write(f"{ND}/namespace0.0/size", str(SZ_256M))
    root.write(f"{ND}/dax0.0/namespace", "namespace0.0")
    refused(root, f"{ND_DRIVERS}/dax_pmem/bind", "dax0.0", errno.ENODEV)  # no uuid
    root.write(f"{ND}/dax0.0/uuid", PFN_UUID)
    refused(root, f"{ND_DRIVERS}/dax_pmem/bind", "dax0.0", errno.ENXIO)  # mode none


def test_unbinding_dax_pmem_takes_the_dax_device_away(tmp_path):
    root = region_root(tmp_path, "b-debian")
    devdax_writes(root, "b-debian")
    root.write(f"{ND_DRIVERS}/dax_pmem/unbind", "dax0.0\0")
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    assert not root.exists("/dev/dax0.0")
    assert not root.exists(root.realpath(f"{ND}/dax0.0") + "/dax_region")
    assert read_nd(root, "namespace0.0", "holder") == "dax0.0"
    refused(root, f"{ND}/dax0.0/size", "0", errno.EACCES)


def test_enabling_the_namespace_again_finds_its_info_block(tmp_path):
    root = region_root(tmp_path, "b-debian")
    devdax_writes(root, "b-debian")
    # What ndctl disable-namespace does: unbind, let go of the namespace.
    root.write(f"{ND_DRIVERS}/dax_pmem/unbind", "dax0.0\0")
    root.write(f"{ND}/dax0.0/namespace", "\n\0")
    assert not root.exists(f"{ND}/dax0.0")  # not the seed: it went away
    # ndctl enable-namespace: nd_pmem does not take it, a new dax device does.
    with pytest.raises(SysfsError) as info:
        root.write(f"{ND_DRIVERS}/nd_pmem/bind", "namespace0.0\0")
    assert info.value.errno == errno.ENXIO
    assert read_nd(root, "namespace0.0", "holder") == "dax0.0"
    assert root.realpath(f"{ND}/dax0.0/driver") == f"{ND_DRIVERS}/dax_pmem"
    assert read_nd(root, "dax0.0", "size") == "262144000"
    assert root.exists(f"{paths.DAX_DEVICES}/dax0.0")


def test_raw_namespace_gets_a_disk_and_zeros_erase_the_info_block(tmp_path):
    root = region_root(tmp_path, "b-debian")
    devdax_writes(root, "b-debian")
    root.write(f"{ND_DRIVERS}/dax_pmem/unbind", "dax0.0\0")
    root.write(f"{ND}/dax0.0/namespace", "\n\0")
    root.write(f"{ND}/namespace0.0/holder_class", "\0")
    root.write(f"{ND}/namespace0.0/force_raw", "1\n\0")
    root.write(f"{ND_DRIVERS}/nd_pmem/bind", "namespace0.0\0")
    ns = root.realpath(f"{ND}/namespace0.0")
    assert root.realpath(ns + "/driver") == f"{ND_DRIVERS}/nd_pmem"
    disk = ns + "/block/pmem0"
    assert root.read(disk + "/size") == str(SZ_256M // 512)
    assert root.realpath(f"{paths.SYS}/class/block/pmem0") == disk
    assert root.exists("/dev/pmem0")
    root.write("/dev/pmem0", "\0" * 8192)
    root.write(f"{ND}/namespace0.0/force_raw", "0\n\0")
    root.write(f"{ND_DRIVERS}/nd_pmem/unbind", "namespace0.0\0")
    assert not root.exists("/dev/pmem0")
    assert not root.exists(f"{paths.SYS}/class/block/pmem0")
    # Nothing to find any more: the namespace binds raw.
    root.write(f"{ND_DRIVERS}/nd_pmem/bind", "namespace0.0\0")
    assert read_nd(root, "namespace0.0", "holder") == ""
    assert root.exists(ns + "/block/pmem0")


def test_fsdax_pfn_device_gets_a_disk_over_its_data(tmp_path):
    root = region_root(tmp_path, "b-debian")
    root.write(f"{ND}/namespace0.0/uuid", UUID)
    root.write(f"{ND}/namespace0.0/size", str(SZ_256M))
    root.write(f"{ND}/pfn0.0/uuid", PFN_UUID)
    root.write(f"{ND}/pfn0.0/mode", "pmem\0")
    root.write(f"{ND}/pfn0.0/namespace", "namespace0.0\0")
    root.write(f"{ND_DRIVERS}/nd_pmem/bind", "pfn0.0\0")
    pfn = root.realpath(f"{ND}/pfn0.0")
    assert root.read(pfn + "/size") == "262144000"
    assert root.read(pfn + "/resource") == "0x490600000"
    assert root.read(pfn + "/block/pmem0/size") == str(262144000 // 512)
    assert read_nd(root, "region0", "pfn_seed") == "pfn0.1"
    assert read_nd(root, "region0", "namespace_seed") == "namespace0.1"
    refused(root, f"{ND_DRIVERS}/nd_pmem/bind", "btt0.0", errno.ENODEV)


def test_sector_mode_is_not_emulated(tmp_path):
    root = region_root(tmp_path, "b-debian")
    root.write(f"{ND}/namespace0.0/uuid", UUID)
    root.write(f"{ND}/namespace0.0/size", str(SZ_256M))
    root.write(f"{ND}/btt0.0/uuid", PFN_UUID)
    refused(root, f"{ND}/btt0.0/namespace", "namespace0.0", errno.EOPNOTSUPP)


def test_unbinding_the_region_removes_its_namespaces_and_devices(tmp_path):
    root = region_root(tmp_path, "c-v81")
    devdax_writes(root, "c-v81")
    root.write(f"{ND_DRIVERS}/nd_region/unbind", "region0")
    assert [n for n in root.listdir(ND) if n.startswith(("namespace", "dax", "pfn"))] == []
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    assert read_nd(root, "nmem0", "state") == "idle"
    assert read_nd(root, "region0", "namespace_seed") == ""
    root.write(f"{ND_DRIVERS}/nd_region/bind", "region0")
    assert read_nd(root, "region0", "namespace_seed") == "namespace0.0"
    assert read_nd(root, "nmem0", "state") == "active"
