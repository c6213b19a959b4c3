"""kmem: hot-adding a dax device's memory, the auto-online policy, nodes, removal and leaks."""

from __future__ import annotations

import errno
import os

import pytest

from cxltool.sim.kernel.kmem import block_ranges
from tests.kernel import daxkit
from tests.kernel.daxkit import (
    A_START,
    CT_START,
    DAX,
    DRV,
    MEM,
    NODE,
    MiB,
    bind,
    block,
    blocks,
    driver,
    exists,
    offline_all,
    read,
    refused,
    unbind,
    write,
)

# The shared trees (fixtures).
_originals, tree = daxkit._originals, daxkit.tree


def devdax_unbound(tree):
    """a-debian in devdax mode with dax0.0 unbound (as daxctl leaves it mid-switch)."""
    root = tree("a-debian", "ram-devdax")
    unbind(root, "dax0.0")
    return root


def test_ranges_are_trimmed_to_whole_blocks():
    bs = 128 * MiB
    assert block_ranges([(0, 256 * MiB - 1)], bs) == [(0, 256 * MiB - 1)]
    assert block_ranges([(64 * MiB, 320 * MiB - 1)], bs) == [(128 * MiB, 256 * MiB - 1)]
    assert block_ranges([(64 * MiB, 192 * MiB - 1)], bs) == []


@pytest.mark.parametrize(
    "policy,state,zones,normal",
    [
        ("online", "online", "Normal", "0-1"),
        ("online_kernel", "online", "Normal", "0-1"),
        ("online_movable", "online", "Movable", "0"),
        ("offline", "offline", "Normal Movable", "0"),
    ],
)
def test_binding_hot_adds_every_block_per_the_policy(tree, policy, state, zones, normal):
    root = devdax_unbound(tree)
    write(root, f"{MEM}/auto_online_blocks", policy)
    assert not exists(root, f"{NODE}/node1")
    bind(root, "dax0.0", "kmem")
    assert driver(root, "dax0.0") == "kmem"
    assert blocks(root, 1) == [146, 147]
    for index in (146, 147):
        assert block(root, index, "state") == state
        assert block(root, index, "valid_zones") == zones
        assert block(root, index, "phys_index") == f"{index:08x}"
        assert block(root, index, "removable") == "1"
        assert os.readlink(root.host(f"{MEM}/memory{index}/node1")) == "../../node/node1"
        assert (
            os.readlink(root.host(f"{NODE}/node1/memory{index}")) == f"../../memory/memory{index}"
        )
    # The CPU-less node came online with its memory.
    assert read(root, f"{NODE}/online") == "0-1"
    assert read(root, f"{NODE}/node1/cpulist") == ""
    assert read(root, f"{NODE}/node1/distance") == "20 10"
    assert read(root, f"{NODE}/node0/distance") == "10 20"
    assert read(root, f"{NODE}/has_memory") == ("0" if state == "offline" else "0-1")
    assert read(root, f"{NODE}/has_normal_memory") == normal


def test_a_device_without_a_whole_block_is_einval(tree):
    root = devdax_unbound(tree)
    write(root, f"{DAX}/dax0.0/size", str(64 * MiB))
    write(root, f"{DRV}/kmem/new_id", "dax0.0")  # the attach fails quietly
    assert driver(root, "dax0.0") is None
    refused(root, f"{DRV}/kmem/bind", "dax0.0", errno.EINVAL)


def test_partial_blocks_are_left_out(tree):
    root = devdax_unbound(tree)
    write(root, f"{DAX}/dax0.0/size", "0")
    # 192 MiB from 64 MiB into the region: one whole block, the second (147).
    start, end = A_START + 64 * MiB, A_START + 256 * MiB - 1
    write(root, f"{DAX}/dax0.0/mapping", f"{start:#x}-{end:#x}")
    bind(root, "dax0.0", "kmem")
    assert blocks(root, 1) == [147]


def test_a_device_without_a_target_node_is_einval(tree):
    root = devdax_unbound(tree)
    os.unlink(root.host(root.realpath(f"{DAX}/dax0.0") + "/target_node"))
    write(root, f"{DRV}/kmem/new_id", "dax0.0")
    refused(root, f"{DRV}/kmem/bind", "dax0.0", errno.EINVAL)


def test_unbinding_offline_memory_removes_blocks_and_node(tree):
    root = tree("a-debian", "ram-sysram-offlined")
    unbind(root, "dax0.0")
    assert driver(root, "dax0.0") is None
    assert not exists(root, f"{MEM}/memory146")
    assert not exists(root, f"{MEM}/memory147")
    assert not exists(root, f"{NODE}/node1")
    assert read(root, f"{NODE}/online") == "0"
    assert read(root, f"{NODE}/node0/distance") == "10"


def test_unbinding_online_memory_leaks_it(tree):
    root = tree("a-debian", "ram-region-created")
    unbind(root, "dax0.0")  # the write succeeds
    assert driver(root, "dax0.0") is None
    # The memory stays, online, and so does its node.
    assert [block(root, i, "state") for i in (146, 147)] == ["online", "online"]
    assert read(root, f"{NODE}/has_memory") == "0-1"
    # The range stays reserved: kmem and device_dax both find it busy.
    refused(root, f"{DRV}/kmem/bind", "dax0.0", errno.EBUSY)
    write(root, f"{DRV}/device_dax/new_id", "dax0.0")
    assert driver(root, "dax0.0") is None
    refused(root, f"{DRV}/device_dax/bind", "dax0.0", errno.EBUSY)
    # Offlining the leaked blocks does not give the range back.
    offline_all(root, (146, 147))
    refused(root, f"{DRV}/kmem/bind", "dax0.0", errno.EBUSY)


def test_a_partly_online_device_leaks_only_when_a_block_is_online(tree):
    root = tree("c-debian", "ram-region-created")
    offline_all(root, (146, 147, 148))
    unbind(root, "dax0.0")
    # One range: one online block keeps all of it.
    assert blocks(root, 1) == [146, 147, 148, 149]


def test_kmem_on_node_zero_adds_to_the_boot_node(tree):
    root = tree("fixture", "cxl_test")
    first = CT_START // (128 * MiB)
    ours = list(range(first, first + 4))
    offline_all(root, ours)
    unbind(root, "dax0.0")
    assert not any(exists(root, f"{MEM}/memory{i}") for i in ours)
    # Node 0 has CPUs and boot memory: it stays.
    assert exists(root, f"{NODE}/node0")
    bind(root, "dax0.0", "kmem")
    assert [block(root, i, "valid_zones") for i in ours] == ["Normal"] * 4
