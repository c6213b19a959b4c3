"""A region's uuid, interleave ways and granularity, and size (kernel-abi 2.6.2 - 2.6.4)."""

from __future__ import annotations

import errno

from tests.kernel.regionkit import (
    DEV,
    SZ_256M,
    attr,
    build_region,
    capture_root,
    configure,
    fixture_root,
    new_region,
    refused,
    reserve,
    write,
)

UUID = "6c1a2e6d-8d6e-4f0e-9d3c-1f1e2d3c4b5a"
OTHER_UUID = "0f0e0d0c-0b0a-4908-8706-050403020100"


# -- uuid -------------------------------------------------------------------------------
def test_a_ram_region_uuid_is_read_only(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    refused(root, f"{DEV}/{region}/uuid", UUID, errno.EACCES)


def test_uuid_must_be_36_characters_and_a_terminator(tmp_path):
    root = fixture_root(tmp_path, "1hb2rp2mem")
    region = new_region(root, mode="pmem")
    path = f"{DEV}/{region}/uuid"
    refused(root, path, UUID, errno.EINVAL, raw=True)  # echo -n: 36 bytes
    refused(root, path, UUID + "0", errno.EINVAL)


def test_uuid_that_does_not_parse_or_is_nil_is_einval(tmp_path):
    root = fixture_root(tmp_path, "1hb2rp2mem")
    region = new_region(root, mode="pmem")
    refused(root, f"{DEV}/{region}/uuid", "6c1a2e6d-8d6e-4f0e-9d3c-1f1e2d3c4bXX", errno.EINVAL)
    refused(root, f"{DEV}/{region}/uuid", "00000000-0000-0000-0000-000000000000", errno.EINVAL)


def test_uuid_is_stored_lowercase_and_the_same_value_again_is_fine(tmp_path):
    root = fixture_root(tmp_path, "1hb2rp2mem")
    region = new_region(root, mode="pmem")
    write(root, f"{DEV}/{region}/uuid", UUID.upper())
    assert attr(root, region, "uuid") == UUID
    write(root, f"{DEV}/{region}/uuid", UUID)
    root.write(f"{DEV}/{region}/uuid", UUID + "\0")  # as ndctl writes it
    assert attr(root, region, "uuid") == UUID


def test_uuid_used_by_another_region_is_ebusy(tmp_path):
    root = fixture_root(tmp_path, "1hb2rp2mem")
    first = new_region(root, mode="pmem")
    write(root, f"{DEV}/{first}/uuid", UUID)
    second = new_region(root, mode="pmem")
    refused(root, f"{DEV}/{second}/uuid", UUID, errno.EBUSY)


def test_uuid_of_an_active_region_is_ebusy(tmp_path):
    root = fixture_root(tmp_path, "1hb2rp2mem")
    region = build_region(root, ["decoder3.0"], mode="pmem", uuid=UUID, commit=False)
    refused(root, f"{DEV}/{region}/uuid", OTHER_UUID, errno.EBUSY)


# -- interleave ways ------------------------------------------------------------------------
def test_ways_must_be_a_cxl_way_count(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    for bad in ("0", "5", "7", "32", "-1", "two"):
        refused(root, f"{DEV}/{region}/interleave_ways", bad, errno.EINVAL)


def test_ways_too_big_for_an_int_is_erange(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    refused(root, f"{DEV}/{region}/interleave_ways", "4294967296", errno.ERANGE)


def test_ways_must_be_the_root_ways_times_a_power_of_two(tmp_path):
    root = fixture_root(tmp_path, "default")  # decoder0.0 interleaves 2 host bridges
    region = new_region(root)
    refused(root, f"{DEV}/{region}/interleave_ways", "1", errno.EINVAL)
    refused(root, f"{DEV}/{region}/interleave_ways", "6", errno.EINVAL)
    write(root, f"{DEV}/{region}/interleave_ways", "4")


def test_ways_make_exactly_the_target_files_below_them(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    real = root.realpath(f"{DEV}/{region}")
    write(root, f"{DEV}/{region}/interleave_ways", "4")
    assert [root.exists(f"{real}/target{n}") for n in range(6)] == [True] * 4 + [False] * 2
    assert oct(root.mode(f"{real}/target3")) == "0o644"
    write(root, f"{DEV}/{region}/interleave_ways", "2")
    assert [root.exists(f"{real}/target{n}") for n in range(4)] == [True, True, False, False]
    assert attr(root, region, "target1") == ""


def test_ways_are_frozen_once_the_size_is_set(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    configure(root, region, 1, 256, SZ_256M)
    refused(root, f"{DEV}/{region}/interleave_ways", "2", errno.EBUSY)


# -- interleave granularity ------------------------------------------------------------------
def test_granularity_must_be_a_power_of_two_from_256_to_16k(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    for bad in ("0", "128", "300", "32768", "-256", "x"):
        refused(root, f"{DEV}/{region}/interleave_granularity", bad, errno.EINVAL)
    write(root, f"{DEV}/{region}/interleave_granularity", "16384")


def test_granularity_under_an_interleaved_root_must_be_the_roots(tmp_path):
    root = fixture_root(tmp_path, "default")  # decoder0.0: x2 at 4K
    region = new_region(root)
    refused(root, f"{DEV}/{region}/interleave_granularity", "256", errno.EINVAL)
    write(root, f"{DEV}/{region}/interleave_granularity", "4096")


def test_granularity_is_frozen_once_the_size_is_set(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    configure(root, region, 1, 256, SZ_256M)
    refused(root, f"{DEV}/{region}/interleave_granularity", "512", errno.EBUSY)


# -- size -----------------------------------------------------------------------------------
def test_size_needs_ways_and_granularity_first(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    refused(root, f"{DEV}/{region}/size", str(SZ_256M), errno.ENXIO)
    write(root, f"{DEV}/{region}/interleave_ways", "1")
    refused(root, f"{DEV}/{region}/size", str(SZ_256M), errno.ENXIO)


def test_a_pmem_region_needs_its_uuid_before_size(tmp_path):
    root = fixture_root(tmp_path, "1hb2rp2mem")
    region = new_region(root, mode="pmem")
    write(root, f"{DEV}/{region}/interleave_granularity", "256")
    write(root, f"{DEV}/{region}/interleave_ways", "1")
    refused(root, f"{DEV}/{region}/size", str(SZ_256M), errno.ENXIO)


def test_size_must_be_a_multiple_of_256m_times_ways(tmp_path):
    root = fixture_root(tmp_path, "qemu-b")
    region = new_region(root)
    write(root, f"{DEV}/{region}/interleave_granularity", "256")
    write(root, f"{DEV}/{region}/interleave_ways", "2")
    refused(root, f"{DEV}/{region}/size", str(SZ_256M), errno.EINVAL)
    refused(root, f"{DEV}/{region}/size", "0x10000001", errno.EINVAL)
    refused(root, f"{DEV}/{region}/size", "lots", errno.EINVAL)


def test_size_is_placed_first_fit_256m_aligned_in_the_window(tmp_path):
    root = capture_root(tmp_path, "a-v81")  # window 0x490000000, 4G
    a = new_region(root)
    configure(root, a, 1, 256, SZ_256M)
    assert attr(root, a, "resource") == "0x490000000"
    assert attr(root, a, "size") == "0x10000000"
    b = new_region(root)
    configure(root, b, 1, 256, 2 * SZ_256M)
    assert attr(root, b, "resource") == "0x4a0000000"
    write(root, f"{DEV}/{a}/size", "0")
    assert attr(root, a, "resource") == "0xffffffffffffffff"
    c = new_region(root)
    configure(root, c, 1, 256, SZ_256M)
    assert attr(root, c, "resource") == "0x490000000"


def test_size_that_fits_nowhere_is_erange(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    write(root, f"{DEV}/{region}/interleave_granularity", "256")
    write(root, f"{DEV}/{region}/interleave_ways", "1")
    refused(root, f"{DEV}/{region}/size", str(32 * SZ_256M), errno.ERANGE)


def test_a_different_size_needs_the_old_one_freed_first(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    configure(root, region, 1, 256, SZ_256M)
    write(root, f"{DEV}/{region}/size", str(SZ_256M))  # the same size: fine
    refused(root, f"{DEV}/{region}/size", str(2 * SZ_256M), errno.EBUSY)
    write(root, f"{DEV}/{region}/size", "0")
    write(root, f"{DEV}/{region}/size", str(2 * SZ_256M))


def test_size_cannot_be_freed_once_all_targets_are_attached(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    configure(root, region, 1, 256, SZ_256M)
    reserve(root, "decoder2.0", "ram", SZ_256M)
    write(root, f"{DEV}/{region}/target0", "decoder2.0")
    refused(root, f"{DEV}/{region}/size", "0", errno.EBUSY)
