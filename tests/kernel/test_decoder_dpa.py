"""Endpoint decoders' mode and dpa_size: DPA allocation rules (kernel-abi 2.4, 2.4.1, 9).

In the default fixture endpoint6 is a device with 512M ram then 512M pmem
(decoder6.0 .. decoder6.3), endpoint3 is 1G ram only, endpoint4 1G pmem only.
"""

from __future__ import annotations

import errno

import pytest

from cxltool.sysfs import SysfsError
from tests.kernel.regionkit import (
    DEV,
    SZ_256M,
    attr,
    build_region,
    capture_root,
    fixture_root,
    refused,
    reserve,
    write,
)


@pytest.fixture
def root(tmp_path):
    return fixture_root(tmp_path, "default")


# -- mode -------------------------------------------------------------------------------------
def test_mode_accepts_ram_and_pmem_only(root):
    refused(root, f"{DEV}/decoder6.0/mode", "mixed", errno.EINVAL)
    refused(root, f"{DEV}/decoder6.0/mode", "none", errno.EINVAL)
    write(root, f"{DEV}/decoder6.0/mode", "pmem")
    assert attr(root, "decoder6.0", "mode") == "pmem"
    root.write(f"{DEV}/decoder6.0/mode", "ram")  # echo -n works too
    assert attr(root, "decoder6.0", "mode") == "ram"


def test_mode_of_a_partition_the_device_lacks_is_enxio(root):
    refused(root, f"{DEV}/decoder3.0/mode", "pmem", errno.ENXIO)
    refused(root, f"{DEV}/decoder4.0/mode", "ram", errno.ENXIO)


def test_mode_of_a_committed_decoder_is_ebusy(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"], bind=False)
    refused(root, f"{DEV}/decoder2.0/mode", "ram", errno.EBUSY)


def test_mode_does_not_move_an_existing_allocation(root):
    reserve(root, "decoder6.0", "ram", SZ_256M)
    write(root, f"{DEV}/decoder6.0/mode", "pmem")
    assert attr(root, "decoder6.0", "mode") == "pmem"
    assert attr(root, "decoder6.0", "dpa_resource") == "0x0"
    assert attr(root, "decoder6.0", "dpa_size") == "0x0000000010000000"


# -- dpa_size ---------------------------------------------------------------------------------
def test_dpa_size_reads_as_a_padded_physical_address(root):
    assert attr(root, "decoder6.0", "dpa_size") == "0x0000000000000000"
    assert attr(root, "decoder6.0", "dpa_resource") == "0xffffffffffffffff"
    reserve(root, "decoder6.0", "ram", 2 * SZ_256M)
    assert attr(root, "decoder6.0", "dpa_size") == "0x0000000020000000"
    assert attr(root, "decoder6.0", "dpa_resource") == "0x0"


def test_dpa_size_must_be_a_multiple_of_256m(root):
    write(root, f"{DEV}/decoder6.0/mode", "ram")
    refused(root, f"{DEV}/decoder6.0/dpa_size", str(SZ_256M + 4096), errno.EINVAL)
    refused(root, f"{DEV}/decoder6.0/dpa_size", "big", errno.EINVAL)
    refused(root, f"{DEV}/decoder6.0/dpa_size", "-268435456", errno.EINVAL)
    refused(root, f"{DEV}/decoder6.0/dpa_size", "0x10000000000000000", errno.ERANGE)


def test_allocation_without_a_mode_is_einval(root):
    # Linux 6.12 (newer kernels answer EBUSY here).
    refused(root, f"{DEV}/decoder6.0/dpa_size", str(SZ_256M), errno.EINVAL)


def test_allocation_larger_than_what_is_left_is_enospc(root):
    write(root, f"{DEV}/decoder6.0/mode", "ram")
    refused(root, f"{DEV}/decoder6.0/dpa_size", str(3 * SZ_256M), errno.ENOSPC)


def test_allocations_go_in_increasing_decoder_order(root):
    write(root, f"{DEV}/decoder6.1/mode", "ram")
    refused(root, f"{DEV}/decoder6.1/dpa_size", str(SZ_256M), errno.EBUSY)
    reserve(root, "decoder6.0", "ram", SZ_256M)
    write(root, f"{DEV}/decoder6.1/dpa_size", str(SZ_256M))
    assert attr(root, "decoder6.1", "dpa_resource") == "0x10000000"


def test_frees_go_in_decreasing_decoder_order(root):
    reserve(root, "decoder6.0", "ram", SZ_256M)
    reserve(root, "decoder6.1", "ram", SZ_256M)
    refused(root, f"{DEV}/decoder6.0/dpa_size", "0", errno.EBUSY)
    write(root, f"{DEV}/decoder6.1/dpa_size", "0")
    write(root, f"{DEV}/decoder6.0/dpa_size", "0")
    assert attr(root, "decoder6.0", "dpa_resource") == "0xffffffffffffffff"


def test_a_decoder_in_a_region_can_neither_free_nor_allocate(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"], commit=False)
    refused(root, f"{DEV}/decoder2.0/dpa_size", "0", errno.EBUSY)
    refused(root, f"{DEV}/decoder2.0/dpa_size", str(SZ_256M), errno.EBUSY)


def test_pmem_allocation_skips_the_rest_of_ram(root):
    reserve(root, "decoder6.0", "ram", SZ_256M)
    reserve(root, "decoder6.1", "pmem", SZ_256M)
    # pmem starts after the 512M of ram; the 256M of ram left is skipped.
    assert attr(root, "decoder6.1", "dpa_resource") == "0x20000000"
    assert attr(root, "decoder6.1", "mode") == "pmem"
    # That ram is now behind a pmem allocation: no room for it any more.
    write(root, f"{DEV}/decoder6.2/mode", "ram")
    refused(root, f"{DEV}/decoder6.2/dpa_size", str(SZ_256M), errno.ENOSPC)
    # A second pmem allocation needs no skip.
    reserve(root, "decoder6.2", "pmem", SZ_256M)
    assert attr(root, "decoder6.2", "dpa_resource") == "0x30000000"


def test_freeing_the_skipping_decoder_gives_the_ram_back(root):
    reserve(root, "decoder6.0", "pmem", SZ_256M)
    assert attr(root, "decoder6.0", "dpa_resource") == "0x20000000"
    write(root, f"{DEV}/decoder6.0/dpa_size", "0")
    reserve(root, "decoder6.0", "ram", 2 * SZ_256M)
    assert attr(root, "decoder6.0", "dpa_resource") == "0x0"


def test_a_pmem_only_device_allocates_from_zero(root):
    reserve(root, "decoder4.0", "pmem", SZ_256M)
    assert attr(root, "decoder4.0", "dpa_resource") == "0x0"


def test_resizing_frees_first_so_a_failed_resize_loses_the_old_allocation(root):
    reserve(root, "decoder6.0", "ram", SZ_256M)
    with pytest.raises(SysfsError) as info:
        write(root, f"{DEV}/decoder6.0/dpa_size", str(4 * SZ_256M))
    assert info.value.errno == errno.ENOSPC
    assert attr(root, "decoder6.0", "dpa_size") == "0x0000000000000000"
    write(root, f"{DEV}/decoder6.0/dpa_size", str(2 * SZ_256M))
    assert attr(root, "decoder6.0", "dpa_size") == "0x0000000020000000"
