"""Root decoders' create_*_region and delete_region; the region id pool (kernel-abi 2.6.1)."""

from __future__ import annotations

import errno

from cxltool.sysfs import paths
from tests.kernel.regionkit import (
    DEV,
    attr,
    build_region,
    capture_root,
    fixture_root,
    new_region,
    read,
    refused,
    write,
)

ROOT0 = "/sys/devices/platform/ACPI0017:00/root0"


def test_each_root_decoder_holds_one_id_and_shows_it_in_both_files(tmp_path):
    root = fixture_root(tmp_path, "default")  # three windows: ids 0, 1, 2 reserved
    assert attr(root, "decoder0.0", "create_ram_region") == "region0"
    assert attr(root, "decoder0.1", "create_pmem_region") == "region1"
    assert attr(root, "decoder0.2", "create_ram_region") == "region2"
    assert attr(root, "decoder0.2", "create_pmem_region") == "region2"


def test_writing_the_offered_name_creates_the_region_and_reserves_the_lowest_free_id(tmp_path):
    root = fixture_root(tmp_path, "default")
    write(root, f"{DEV}/decoder0.0/create_ram_region", "region0")
    assert attr(root, "decoder0.0", "create_ram_region") == "region3"
    region = f"{ROOT0}/decoder0.0/region0"
    assert root.realpath(f"{DEV}/region0") == region
    assert read(root, region + "/mode") == "ram"
    assert read(root, region + "/interleave_ways") == "0"
    assert read(root, region + "/interleave_granularity") == "0"
    assert read(root, region + "/size") == "0x0"
    assert read(root, region + "/resource") == "0xffffffffffffffff"
    assert read(root, region + "/commit") == "0"
    assert read(root, region + "/uuid") == ""
    assert oct(root.mode(region + "/uuid")) == "0o444"
    assert not root.exists(region + "/target0")
    assert not root.exists(region + "/driver")
    assert read(root, region + "/uevent") == "DEVTYPE=cxl_region\nMODALIAS=cxl:t6"


def test_a_pmem_region_starts_with_the_nil_uuid_writable(tmp_path):
    root = fixture_root(tmp_path, "default")
    name = new_region(root, "decoder0.1", "pmem")
    assert attr(root, name, "uuid") == "00000000-0000-0000-0000-000000000000"
    assert oct(root.mode(root.realpath(f"{DEV}/{name}") + "/uuid")) == "0o644"
    assert attr(root, name, "mode") == "pmem"


def test_ndctl_style_write_with_a_nul_is_accepted(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    root.write(f"{DEV}/decoder0.0/create_ram_region", "region0\0")
    assert root.exists(f"{DEV}/region0")


def test_create_with_a_name_not_region_n_is_einval(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    refused(root, f"{DEV}/decoder0.0/create_ram_region", "foo", errno.EINVAL)
    refused(root, f"{DEV}/decoder0.0/create_ram_region", "region", errno.EINVAL)


def test_create_with_another_id_than_the_offered_one_is_ebusy(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    refused(root, f"{DEV}/decoder0.0/create_ram_region", "region5", errno.EBUSY)


def test_a_second_region_takes_the_next_offered_id(tmp_path):
    root = fixture_root(tmp_path, "default")
    first = new_region(root)
    second = new_region(root)
    assert (first, second) == ("region0", "region3")
    assert attr(root, "decoder0.0", "create_ram_region") == "region4"
    # The pool is shared: another decoder's next id skips what is taken.
    write(root, f"{DEV}/decoder0.1/create_pmem_region", "region1")
    assert attr(root, "decoder0.1", "create_pmem_region") == "region5"


def test_delete_of_a_lower_id_hands_it_back_to_the_decoder(tmp_path):
    root = fixture_root(tmp_path, "default")
    new_region(root)  # region0, decoder now holds 3
    write(root, f"{DEV}/decoder0.0/delete_region", "region0")
    assert not root.exists(f"{DEV}/region0")
    assert not root.exists(f"{ROOT0}/decoder0.0/region0")
    assert attr(root, "decoder0.0", "create_ram_region") == "region0"
    # 3 went back to the pool: the next region after region0 is region3 again.
    new_region(root)
    assert attr(root, "decoder0.0", "create_ram_region") == "region3"


def test_delete_of_a_higher_id_returns_it_to_the_pool(tmp_path):
    root = fixture_root(tmp_path, "default")
    new_region(root)  # region0 -> holds 3
    new_region(root)  # region3 -> holds 4
    write(root, f"{DEV}/decoder0.0/delete_region", "region3")
    assert attr(root, "decoder0.0", "create_ram_region") == "region3"
    write(root, f"{DEV}/decoder0.0/delete_region", "region0")
    assert attr(root, "decoder0.0", "create_ram_region") == "region0"


def test_delete_of_a_region_of_another_decoder_is_enodev(tmp_path):
    root = fixture_root(tmp_path, "default")
    new_region(root)
    refused(root, f"{DEV}/decoder0.2/delete_region", "region0", errno.ENODEV)
    refused(root, f"{DEV}/decoder0.0/delete_region", "region9", errno.ENODEV)
    refused(root, f"{DEV}/decoder0.0/delete_region", "decoder2.0", errno.ENODEV)


def test_delete_tears_down_a_committed_bound_region(tmp_path):
    # The kernel does not refuse: only cxl-cli does.
    root = capture_root(tmp_path, "a-v81")
    build_region(root, ["decoder2.0"])
    assert attr(root, "endpoint2", "decoders_committed") == "1"
    write(root, f"{DEV}/decoder0.0/delete_region", "region0")
    assert not root.exists(f"{DEV}/region0")
    assert not root.exists(f"{DEV}/dax_region0")
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    assert attr(root, "endpoint2", "decoders_committed") == "0"
    assert attr(root, "decoder2.0", "region") == ""
    # The DPA allocation stays with the endpoint decoder.
    assert attr(root, "decoder2.0", "dpa_size") == "0x0000000010000000"
    assert attr(root, "decoder0.0", "create_ram_region") == "region0"


def test_firmware_assembled_regions_took_their_ids_from_the_same_pool(tmp_path):
    # cxl_test: six windows reserve ids 0-5 at boot; the assembled region0 took
    # decoder0.0's, which then reserved 6.
    root = fixture_root(tmp_path, "cxl_test")
    assert attr(root, "decoder0.0", "create_ram_region") == "region6"
    assert attr(root, "decoder0.1", "create_ram_region") == "region1"
    new_region(root, "decoder0.1")
    assert attr(root, "decoder0.1", "create_ram_region") == "region7"
