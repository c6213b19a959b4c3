"""The btt, pfn and dax devices' stores: claiming a namespace and configuring a personality."""

from __future__ import annotations

import errno

from tests.kernel.ndkit import ND, read_nd, region_root
from tests.kernel.regionkit import refused

UUID = "3bd9449d-2d55-4921-9e15-39be770538b4"
DAX_UUID = "9180862f-de99-4173-aa6b-7e7359f3dc2d"
SZ_256M = 256 << 20


def sized(tmp_path, size: int = SZ_256M):
    root = region_root(tmp_path, "c-v81")
    root.write(f"{ND}/namespace0.0/uuid", UUID)
    root.write(f"{ND}/namespace0.0/size", str(size))
    return root


def test_namespace_names_a_namespace_of_the_region(tmp_path):
    root = sized(tmp_path)
    refused(root, f"{ND}/dax0.0/namespace", "region0", errno.EINVAL)
    refused(root, f"{ND}/dax0.0/namespace", "namespace0.7", errno.ENODEV)


def test_a_namespace_needs_16m_and_no_other_claim(tmp_path):
    root = region_root(tmp_path, "c-v81")
    refused(root, f"{ND}/pfn0.0/namespace", "namespace0.0", errno.ENXIO)
    root = sized(tmp_path / "x")
    root.write(f"{ND}/namespace0.0/holder_class", "pfn")
    refused(root, f"{ND}/dax0.0/namespace", "namespace0.0", errno.EBUSY)
    root.write(f"{ND}/pfn0.0/namespace", "namespace0.0\0")
    assert read_nd(root, "namespace0.0", "mode") == "memory"
    refused(root, f"{ND}/dax0.0/namespace", "namespace0.0", errno.EBUSY)


def test_letting_go_resets_a_seed(tmp_path):
    root = sized(tmp_path)
    root.write(f"{ND}/dax0.0/uuid", DAX_UUID)
    root.write(f"{ND}/dax0.0/mode", "pmem\0")
    root.write(f"{ND}/dax0.0/namespace", "namespace0.0")
    refused(root, f"{ND}/dax0.0/namespace", "namespace0.0", errno.EBUSY)
    root.write(f"{ND}/dax0.0/namespace", "\n\0")
    assert read_nd(root, "dax0.0", "namespace") == ""
    assert read_nd(root, "dax0.0", "uuid") == ""
    assert read_nd(root, "dax0.0", "mode") == "none"
    assert read_nd(root, "namespace0.0", "holder") == ""
    assert read_nd(root, "namespace0.0", "mode") == "raw"


def test_mode_align_uuid_checks(tmp_path):
    root = sized(tmp_path)
    refused(root, f"{ND}/dax0.0/mode", "fsdax", errno.EINVAL)
    for written, shown in (("ram\n", "ram"), ("pmem\0", "pmem"), ("none", "none")):
        root.write(f"{ND}/pfn0.0/mode", written)
        assert read_nd(root, "pfn0.0", "mode") == shown
    refused(root, f"{ND}/dax0.0/align", "65536", errno.EINVAL)
    root.write(f"{ND}/dax0.0/align", "1073741824\n\0")
    assert read_nd(root, "dax0.0", "align") == "1073741824"
    refused(root, f"{ND}/btt0.0/uuid", "xyz", errno.EINVAL)
    refused(root, f"{ND}/btt0.0/sector_size", "1000", errno.EINVAL)
    root.write(f"{ND}/btt0.0/sector_size", "4096")
    assert read_nd(root, "btt0.0", "sector_size") == "512 520 528 [4096] 4104 4160 4224 "
