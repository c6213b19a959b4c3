"""A pmem namespace's stores: the kernel's checks, errnos and what a change brings."""

from __future__ import annotations

import errno

from tests.kernel.ndkit import ND, read_nd, region_root
from tests.kernel.regionkit import refused

UUID = "3bd9449d-2d55-4921-9e15-39be770538b4"
OTHER = "6ed2c1b5-3f0e-4a5b-9a55-1b2c3d4e5f60"
SZ_256M = 256 << 20
NS = f"{ND}/namespace0.0"


def test_size_needs_a_uuid_first(tmp_path):
    root = region_root(tmp_path, "c-v81")
    refused(root, f"{NS}/size", "0x10000000", errno.ENXIO)


def test_size_is_a_multiple_of_the_region_align_and_fits(tmp_path):
    root = region_root(tmp_path, "c-v81")
    root.write(f"{NS}/uuid", UUID + "\0")
    refused(root, f"{NS}/size", str(SZ_256M + 4096), errno.EINVAL)
    refused(root, f"{NS}/size", "0x40000000", errno.ENOSPC)
    refused(root, f"{NS}/size", "twelve", errno.EINVAL)


def test_sizing_takes_capacity_and_labels(tmp_path):
    root = region_root(tmp_path, "c-v81")
    root.write(f"{NS}/uuid", UUID.upper() + "\n")
    assert read_nd(root, "namespace0.0", "uuid") == UUID
    root.write(f"{NS}/size", f"{SZ_256M:#x}\n\0")
    assert read_nd(root, "namespace0.0", "size") == str(SZ_256M)
    assert root.read(f"{NS}/resource") == "0x490000000"
    assert read_nd(root, "namespace0.0", "dpa_extents") == "2"
    assert read_nd(root, "region0", "available_size") == str(SZ_256M)
    assert read_nd(root, "region0", "max_available_extent") == str(SZ_256M)
    assert read_nd(root, "nmem0", "available_slots") == "1047548"
    assert read_nd(root, "nmem1", "available_slots") == "1047548"
    # Growing in place, shrinking from the end.
    root.write(f"{NS}/size", str(2 * SZ_256M))
    assert read_nd(root, "region0", "available_size") == "0"
    root.write(f"{NS}/size", str(SZ_256M))
    assert read_nd(root, "region0", "available_size") == str(SZ_256M)
    assert read_nd(root, "nmem0", "available_slots") == "1047548"


def test_size_zero_gives_everything_back_and_forgets_the_uuid(tmp_path):
    root = region_root(tmp_path, "c-v81")
    root.write(f"{NS}/uuid", UUID)
    root.write(f"{NS}/size", str(SZ_256M))
    root.write(f"{NS}/size", "0")
    assert read_nd(root, "namespace0.0", "uuid") == ""
    assert read_nd(root, "namespace0.0", "dpa_extents") == "0"
    assert read_nd(root, "region0", "available_size") == str(2 * SZ_256M)
    assert read_nd(root, "nmem0", "available_slots") == "1047549"
    # namespace0.0 itself always stays; a size without a uuid is ENXIO again.
    assert root.exists(f"{NS}/size")
    refused(root, f"{NS}/size", "0", errno.ENXIO)


def test_uuid_must_parse_and_be_unique(tmp_path):
    root = region_root(tmp_path, "c-v81")
    refused(root, f"{NS}/uuid", "not-a-uuid", errno.EINVAL)
    refused(root, f"{NS}/uuid", UUID[:30], errno.EINVAL)
    root.write(f"{NS}/uuid", UUID.replace("-", ""))
    assert read_nd(root, "namespace0.0", "uuid") == UUID


def test_sector_size_holder_class_and_names(tmp_path):
    root = region_root(tmp_path, "c-v81")
    refused(root, f"{NS}/sector_size", "520", errno.EINVAL)
    root.write(f"{NS}/sector_size", "4096\n\0")
    assert read_nd(root, "namespace0.0", "sector_size") == "512 [4096] "
    refused(root, f"{NS}/holder_class", "fsdax", errno.EINVAL)
    root.write(f"{NS}/holder_class", "pfn\0")
    assert read_nd(root, "namespace0.0", "holder_class") == "pfn"
    root.write(f"{NS}/holder_class", "\n")
    assert read_nd(root, "namespace0.0", "holder_class") == ""
    refused(root, f"{NS}/alt_name", "x" * 64, errno.EINVAL)
    root.write(f"{NS}/alt_name", "  data  \n")
    assert read_nd(root, "namespace0.0", "alt_name") == "data"
    refused(root, f"{NS}/force_raw", "maybe", errno.EINVAL)
    root.write(f"{NS}/force_raw", "1")
    assert read_nd(root, "namespace0.0", "force_raw") == "1"


def test_a_claimed_namespace_is_busy(tmp_path):
    root = region_root(tmp_path, "c-v81")
    root.write(f"{NS}/uuid", UUID)
    root.write(f"{NS}/size", str(SZ_256M))
    root.write(f"{ND}/dax0.0/namespace", "namespace0.0")
    assert read_nd(root, "namespace0.0", "holder") == "dax0.0"
    assert read_nd(root, "namespace0.0", "mode") == "dax"
    for attr, value in (
        ("size", "0"),
        ("uuid", OTHER),
        ("sector_size", "512"),
        ("holder_class", ""),
        ("alt_name", "x"),
    ):
        refused(root, f"{NS}/{attr}", value, errno.EBUSY)
