"""Attaching endpoint decoders to target<N> and detaching them (kernel-abi 2.6.4, 2.6.5, 9).

The checks are tested in the kernel's order; where two checks give the same
errno, a test sets things up so that only the one under test can fail.
"""

from __future__ import annotations

import errno
import os

import pytest

from cxltool.sysfs import SysfsError, paths
from tests.kernel.regionkit import (
    DEV,
    SZ_256M,
    attr,
    build_region,
    capture_root,
    configure,
    endpoint_decoder,
    fixture_root,
    new_region,
    refused,
    reserve,
    snapshot,
    switch_fixture,
    toml_root,
    write,
)


def ready_region(root, ways: int, granularity: int = 256, per_target: int = SZ_256M,
                 decoder: str = "decoder0.0", mode: str = "ram") -> str:
    region = new_region(root, decoder, mode)
    configure(root, region, ways, granularity, per_target * ways)
    return region


# -- 1. the name --------------------------------------------------------------------------------
def test_a_name_not_on_the_cxl_bus_is_enodev(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = ready_region(root, 1)
    refused(root, f"{DEV}/{region}/target0", "decoder9.9", errno.ENODEV)
    refused(root, f"{DEV}/{region}/target0", "../mem0", errno.ENODEV)


def test_a_device_that_is_not_an_endpoint_decoder_is_einval(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = ready_region(root, 1)
    refused(root, f"{DEV}/{region}/target0", "decoder1.0", errno.EINVAL)
    refused(root, f"{DEV}/{region}/target0", "mem0", errno.EINVAL)


# -- 2. interleave capability, before anything about the decoder itself ------------------------
def test_ways_and_granularity_the_endpoint_cannot_decode_are_enxio(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    configure(root, region, 16, 16384, 16 * SZ_256M)  # needs host address bits 14..17
    # decoder2.0 has no mode either (EINVAL), but the capability check comes first.
    refused(root, f"{DEV}/{region}/target0", "decoder2.0", errno.ENXIO)


# -- 3. mode ----------------------------------------------------------------------------------
def test_a_decoder_of_another_mode_or_none_is_einval(tmp_path):
    root = fixture_root(tmp_path, "default")
    region = ready_region(root, 1, decoder="decoder0.2")
    refused(root, f"{DEV}/{region}/target0", "decoder6.0", errno.EINVAL)  # mode none
    reserve(root, "decoder6.0", "pmem", SZ_256M)
    refused(root, f"{DEV}/{region}/target0", "decoder6.0", errno.EINVAL)


# -- 4. region state ------------------------------------------------------------------------------
def test_a_region_without_size_is_enxio(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = new_region(root)
    write(root, f"{DEV}/{region}/interleave_granularity", "256")
    write(root, f"{DEV}/{region}/interleave_ways", "1")
    reserve(root, "decoder2.0", "ram", SZ_256M)
    refused(root, f"{DEV}/{region}/target0", "decoder2.0", errno.ENXIO)


def test_a_region_with_all_its_targets_is_ebusy(tmp_path):
    root = fixture_root(tmp_path, "qemu-c")
    region = ready_region(root, 1)
    a, b = endpoint_decoder(root, "mem0"), endpoint_decoder(root, "mem1")
    reserve(root, a, "ram", SZ_256M)
    reserve(root, b, "ram", SZ_256M)
    write(root, f"{DEV}/{region}/target0", a)
    write(root, f"{DEV}/{region}/target0", "")  # detach: back to one slot free
    write(root, f"{DEV}/{region}/target0", a)
    refused(root, f"{DEV}/{region}/target0", b, errno.EBUSY)


# -- 5.-7. host bridge, type, DPA --------------------------------------------------------------
def test_an_endpoint_whose_host_bridge_is_not_below_the_root_is_enxio(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = ready_region(root, 1)
    reserve(root, "decoder2.0", "ram", SZ_256M)
    # Take the host bridge out of root0's dports, as if it belonged to another root.
    os.unlink(root.host("/sys/devices/platform/ACPI0017:00/root0/dport12"))
    refused(root, f"{DEV}/{region}/target0", "decoder2.0", errno.ENXIO)


def test_an_accelerator_decoder_is_enxio(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = ready_region(root, 1)
    reserve(root, "decoder2.0", "ram", SZ_256M)
    target_type = root.host(root.realpath(f"{DEV}/decoder2.0") + "/target_type")
    with open(target_type, "w") as f:
        f.write("accelerator\n")
    refused(root, f"{DEV}/{region}/target0", "decoder2.0", errno.ENXIO)


def test_a_decoder_without_dpa_is_enxio(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = ready_region(root, 1)
    write(root, f"{DEV}/decoder2.0/mode", "ram")
    refused(root, f"{DEV}/{region}/target0", "decoder2.0", errno.ENXIO)


def test_dpa_size_times_ways_must_be_the_region_size(tmp_path):
    root = fixture_root(tmp_path, "qemu-c")
    region = ready_region(root, 2)
    a = endpoint_decoder(root, "mem0")
    reserve(root, a, "ram", SZ_256M)
    write(root, f"{DEV}/{region}/size", "0")
    write(root, f"{DEV}/{region}/size", str(4 * SZ_256M))
    refused(root, f"{DEV}/{region}/target0", a, errno.EINVAL)


# -- 8. positions ---------------------------------------------------------------------------------
def test_a_taken_position_or_a_memdev_used_twice_is_ebusy(tmp_path):
    root = fixture_root(tmp_path, "default")  # decoder0.2: x1 over the switch of mem2, mem3
    region = ready_region(root, 2, decoder="decoder0.2")
    a, b, a1 = "decoder6.0", "decoder7.0", "decoder6.1"
    reserve(root, a, "ram", SZ_256M)
    reserve(root, b, "ram", SZ_256M)
    reserve(root, a1, "ram", SZ_256M)
    write(root, f"{DEV}/{region}/target0", a)
    refused(root, f"{DEV}/{region}/target0", b, errno.EBUSY)
    refused(root, f"{DEV}/{region}/target0", a, errno.EBUSY)  # the same decoder again
    refused(root, f"{DEV}/{region}/target1", a1, errno.EBUSY)  # mem0 again


def test_position_modulo_root_ways_must_name_the_endpoints_host_bridge(tmp_path):
    root = fixture_root(tmp_path, "default")  # x2: host bridge 12 then 32
    region = ready_region(root, 2, granularity=4096)
    reserve(root, "decoder3.0", "ram", SZ_256M)  # mem0, host bridge 12
    reserve(root, "decoder6.0", "ram", SZ_256M)  # mem2, host bridge 32
    refused(root, f"{DEV}/{region}/target0", "decoder6.0", errno.ENXIO)
    refused(root, f"{DEV}/{region}/target1", "decoder3.0", errno.ENXIO)
    write(root, f"{DEV}/{region}/target1", "decoder6.0")
    write(root, f"{DEV}/{region}/target0", "decoder3.0")
    assert attr(root, "decoder1.0", "target_list") == "0"
    assert attr(root, "decoder5.0", "target_list") == "0"


# -- 9. decoders on the way up ------------------------------------------------------------------
def test_no_free_port_decoder_is_ebusy(tmp_path):
    root = fixture_root(tmp_path, "qemu-c")
    a, b = endpoint_decoder(root, "mem0"), endpoint_decoder(root, "mem1")
    first = build_region(root, [a], commit=False)
    second = ready_region(root, 1)
    reserve(root, b, "ram", SZ_256M)
    # The host bridge's next decoder to commit is decoder1.0, claimed by `first`.
    refused(root, f"{DEV}/{second}/target0", b, errno.EBUSY)
    write(root, f"{DEV}/{first}/commit", "1")
    write(root, f"{DEV}/{second}/target0", b)
    assert attr(root, "decoder1.1", "region") == second


def test_regions_sharing_a_port_must_come_in_increasing_hpa_order(tmp_path):
    root = fixture_root(tmp_path, "qemu-c")
    a, b = endpoint_decoder(root, "mem0"), endpoint_decoder(root, "mem1")
    low = ready_region(root, 1)  # takes the window's first 256M
    high = build_region(root, [a], bind=False)  # the next 256M, committed
    write(root, f"{DEV}/decoder0.0/delete_region", low)
    lower = ready_region(root, 1)  # back in the first 256M
    assert int(attr(root, lower, "resource"), 16) < int(attr(root, high, "resource"), 16)
    reserve(root, b, "ram", SZ_256M)
    # The switch has a free decoder (decoder2.1), but `high` is already there.
    refused(root, f"{DEV}/{lower}/target0", b, errno.EBUSY)


def test_same_endpoint_regions_must_also_come_in_hpa_order(tmp_path):
    root = fixture_root(tmp_path, "default")  # mem2 (endpoint6) has 512M of ram
    a0, a1 = "decoder6.0", "decoder6.1"
    low = ready_region(root, 1, decoder="decoder0.2")
    high = build_region(root, [a0], decoder="decoder0.2", bind=False)
    write(root, f"{DEV}/decoder0.2/delete_region", low)
    lower = ready_region(root, 1, decoder="decoder0.2")
    reserve(root, a1, "ram", SZ_256M)
    refused(root, f"{DEV}/{lower}/target0", a1, errno.EBUSY)
    del high


# -- 10. programming when the last position fills --------------------------------------------
def test_positions_sharing_a_port_must_be_the_distance_apart(tmp_path):
    # Two root ports, a switch of two devices on each: for a 4-way region the
    # positions alternate root ports. mem0, mem1 share root port 0 at 0 and 1.
    root = toml_root(tmp_path, switch_fixture([2, 2]))
    decs = [endpoint_decoder(root, f"mem{i}") for i in range(4)]
    region = ready_region(root, 4)
    for pos, dec in enumerate(decs[:3]):
        reserve(root, dec, "ram", SZ_256M)
        write(root, f"{DEV}/{region}/target{pos}", dec)
    reserve(root, decs[3], "ram", SZ_256M)
    with pytest.raises(SysfsError) as info:
        write(root, f"{DEV}/{region}/target3", decs[3])
    assert info.value.errno == errno.ENXIO
    # The kernel keeps the position filled; the ports stay unprogrammed and
    # the region cannot take another target or commit.
    assert attr(root, region, "target3") == decs[3]
    assert attr(root, "decoder1.0", "size") == "0x0"
    assert attr(root, decs[3], "size") == "0x0"
    refused(root, f"{DEV}/{region}/commit", "1", errno.ENXIO)
    refused(root, f"{DEV}/{region}/target0", decs[0], errno.EINVAL)  # all slots taken
    # Emptying a position lets the region be redone in the right order.
    for pos in range(4):
        write(root, f"{DEV}/{region}/target{pos}", "")
    for pos, dec in enumerate([decs[0], decs[2], decs[1], decs[3]]):
        write(root, f"{DEV}/{region}/target{pos}", dec)
    assert attr(root, "decoder1.0", "target_list") == "0,1"
    assert attr(root, "decoder1.0", "interleave_granularity") == "256"
    assert attr(root, "decoder2.0", "interleave_ways") == "2"
    assert attr(root, "decoder2.0", "interleave_granularity") == "512"
    assert attr(root, "decoder2.0", "target_list") == "0,1"


def test_a_port_using_a_number_of_dports_that_is_no_power_of_two_is_einval(tmp_path):
    root = toml_root(tmp_path, switch_fixture([3, 1]))
    decs = [endpoint_decoder(root, f"mem{i}") for i in range(4)]
    region = ready_region(root, 4)
    order = [decs[0], decs[3], decs[1], decs[2]]  # root port 0, 1, 0, 0
    for pos, dec in enumerate(order[:3]):
        reserve(root, dec, "ram", SZ_256M)
        write(root, f"{DEV}/{region}/target{pos}", dec)
    reserve(root, order[3], "ram", SZ_256M)
    with pytest.raises(SysfsError) as info:
        write(root, f"{DEV}/{region}/target3", order[3])
    assert info.value.errno == errno.EINVAL


def test_a_port_interleaving_more_than_8_ways_is_enxio(tmp_path):
    root = toml_root(tmp_path, switch_fixture([16]))
    decs = [endpoint_decoder(root, f"mem{i}") for i in range(16)]
    region = ready_region(root, 16)
    for pos, dec in enumerate(decs[:15]):
        reserve(root, dec, "ram", SZ_256M)
        write(root, f"{DEV}/{region}/target{pos}", dec)
    reserve(root, decs[15], "ram", SZ_256M)
    with pytest.raises(SysfsError) as info:
        write(root, f"{DEV}/{region}/target15", decs[15])
    assert info.value.errno == errno.ENXIO


# -- side effects -----------------------------------------------------------------------------
def test_attach_shows_region_values_on_decoders_as_the_kernel_does(tmp_path):
    root = fixture_root(tmp_path, "qemu-c")
    a, b = endpoint_decoder(root, "mem0"), endpoint_decoder(root, "mem1")
    region = ready_region(root, 2)
    reserve(root, a, "ram", SZ_256M)
    reserve(root, b, "ram", SZ_256M)
    write(root, f"{DEV}/{region}/target0", a)
    # The endpoint decoder shows the region at once; port decoders are claimed
    # (region named) but programmed only when the last target arrives.
    assert attr(root, a, "region") == region
    assert attr(root, a, "interleave_ways") == "2"
    assert attr(root, a, "start") == "0x490000000"
    assert attr(root, a, "size") == "0x20000000"
    assert attr(root, "decoder2.0", "region") == region
    assert attr(root, "decoder2.0", "size") == "0x0"
    write(root, f"{DEV}/{region}/target1", b)
    assert attr(root, "decoder2.0", "size") == "0x20000000"
    assert attr(root, "decoder2.0", "interleave_ways") == "2"
    assert attr(root, "decoder1.0", "start") == "0x490000000"


# -- detach ---------------------------------------------------------------------------------------
def test_detaching_an_empty_position_changes_nothing(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = ready_region(root, 1)
    before = snapshot(root)
    write(root, f"{DEV}/{region}/target0", "")
    root.write(f"{DEV}/{region}/target0", "\0")  # as ndctl clears it
    assert snapshot(root) == before


def test_detaching_from_a_committed_region_resets_and_unbinds_it(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = build_region(root, ["decoder2.0"])
    write(root, f"{DEV}/{region}/target0", "")
    assert attr(root, region, "commit") == "0"
    assert not root.exists(f"{DEV}/{region}/driver")
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    assert attr(root, "endpoint2", "decoders_committed") == "0"
    assert attr(root, "decoder2.0", "region") == ""
    assert attr(root, "decoder2.0", "size") == "0x0"
    # A one-way region lets go of the host bridge decoder before the ports are
    # unprogrammed, so its range stays (as on the captured kernel).
    assert attr(root, "decoder1.0", "region") == ""
    assert attr(root, "decoder1.0", "size") == "0x10000000"


def test_teardown_code_can_take_members_away_in_one_write(tmp_path):
    # What a driver-core teardown does when endpoint decoders go away: each
    # leaves its region as a targetN detach would, seeing the ones before it.
    from cxltool.sim.kernel.region_attach import detach_endpoint_decoder
    from cxltool.sim.kernel.txn import Transaction, locked

    root = fixture_root(tmp_path, "qemu-c")
    a, b = endpoint_decoder(root, "mem0"), endpoint_decoder(root, "mem1")
    region = build_region(root, [a, b])
    with locked(root):
        txn = Transaction(root)
        detach_endpoint_decoder(txn, root.realpath(f"{DEV}/{a}"))
        detach_endpoint_decoder(txn, root.realpath(f"{DEV}/{b}"))
        txn.commit()
    assert attr(root, region, "commit") == "0"
    assert (attr(root, region, "target0"), attr(root, region, "target1")) == ("", "")
    for port in ("port1", "port2"):
        assert attr(root, port, "decoders_committed") == "0"
    assert attr(root, "decoder2.0", "region") == ""
    assert not root.exists(f"{DEV}/{region}/driver")
