"""A region's commit and the HDM decoders' in-order commit and reset (kernel-abi 2.4.2, 2.6.6)."""

from __future__ import annotations

import errno

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


def test_commit_takes_a_boolean(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = build_region(root, ["decoder2.0"], commit=False)
    refused(root, f"{DEV}/{region}/commit", "maybe", errno.EINVAL)
    refused(root, f"{DEV}/{region}/commit", "", errno.EINVAL)
    write(root, f"{DEV}/{region}/commit", "on")
    assert attr(root, region, "commit") == "1"


def test_commit_before_all_targets_are_in_is_enxio(tmp_path):
    root = fixture_root(tmp_path, "qemu-c")
    a = endpoint_decoder(root, "mem0")
    region = build_region(root, [a], commit=False)
    write(root, f"{DEV}/{region}/target0", "")
    refused(root, f"{DEV}/{region}/commit", "1", errno.ENXIO)


def test_commit_counts_decoders_on_every_port_bottom_up(tmp_path):
    root = fixture_root(tmp_path, "qemu-c")  # host bridge port1, switch port2
    a, b = endpoint_decoder(root, "mem0"), endpoint_decoder(root, "mem1")
    region = build_region(root, [a, b], bind=False)
    assert attr(root, region, "commit") == "1"
    for port in ("port1", "port2", f"endpoint{a[7:-2]}", f"endpoint{b[7:-2]}"):
        assert attr(root, port, "decoders_committed") == "1"
    assert attr(root, "root0", "decoders_committed") == "0"


def test_a_passthrough_decoder_does_not_count(tmp_path):
    root = capture_root(tmp_path, "a-v81")  # one root port: decoder1.0 is passthrough
    build_region(root, ["decoder2.0"], bind=False)
    assert attr(root, "port1", "decoders_committed") == "0"
    assert attr(root, "endpoint2", "decoders_committed") == "1"


def test_commit_again_and_decommit_of_an_uncommitted_region_change_nothing(tmp_path):
    root = capture_root(tmp_path, "a-v81")
    region = build_region(root, ["decoder2.0"], bind=False)
    before = snapshot(root)
    write(root, f"{DEV}/{region}/commit", "1")
    assert snapshot(root) == before
    write(root, f"{DEV}/{region}/commit", "0")
    before = snapshot(root)
    write(root, f"{DEV}/{region}/commit", "0")
    assert snapshot(root) == before


def test_decommit_unbinds_and_resets_top_down(tmp_path):
    root = fixture_root(tmp_path, "qemu-c")
    a, b = endpoint_decoder(root, "mem0"), endpoint_decoder(root, "mem1")
    region = build_region(root, [a, b])
    assert root.exists(f"{DEV}/{region}/driver")
    write(root, f"{DEV}/{region}/commit", "0")
    assert not root.exists(f"{DEV}/{region}/driver")
    assert not root.exists(f"{DEV}/dax_region0")
    for port in ("port1", "port2"):
        assert attr(root, port, "decoders_committed") == "0"
    # Decommitted, the region keeps its targets and programming (state ACTIVE).
    assert attr(root, region, "target1") == b
    assert attr(root, "decoder2.0", "size") == "0x20000000"
    write(root, f"{DEV}/{region}/commit", "1")
    assert attr(root, "port2", "decoders_committed") == "1"


def test_out_of_order_shutdown_keeps_the_count_and_blocks_recommit(tmp_path):
    root = fixture_root(tmp_path, "qemu-c")
    a, b = endpoint_decoder(root, "mem0"), endpoint_decoder(root, "mem1")
    first = build_region(root, [a], bind=False)  # decoder1.0, decoder2.0
    second = build_region(root, [b], bind=False)  # decoder1.1, decoder2.1
    assert attr(root, "port2", "decoders_committed") == "2"
    write(root, f"{DEV}/{first}/commit", "0")
    # decoder2.0 is reset, but decoder2.1 above it is still committed.
    assert attr(root, "port2", "decoders_committed") == "2"
    # decoder2.0 may only commit when exactly 0 decoders are committed.
    refused(root, f"{DEV}/{first}/commit", "1", errno.EBUSY)
    write(root, f"{DEV}/{second}/commit", "0")
    # Resetting the highest reaps the lower one reset earlier.
    assert attr(root, "port2", "decoders_committed") == "0"
    write(root, f"{DEV}/{first}/commit", "1")
    assert attr(root, "port2", "decoders_committed") == "1"


def test_out_of_order_shutdown_blocks_new_regions_on_the_port(tmp_path):
    root = toml_root(tmp_path, switch_fixture([3, 1]))  # switch port2 holds mem0..mem2
    m0, m1, m2 = (endpoint_decoder(root, f"mem{i}") for i in range(3))
    first = build_region(root, [m0], bind=False)
    build_region(root, [m1], bind=False)
    write(root, f"{DEV}/{first}/commit", "0")
    write(root, f"{DEV}/{first}/target0", "")
    # decoder2.2 is next to commit, but decoder2.0 below it was shut down.
    region = new_region(root)
    configure(root, region, 1, 256, SZ_256M)
    reserve(root, m2, "ram", SZ_256M)
    refused(root, f"{DEV}/{region}/target0", m2, errno.EBUSY)
