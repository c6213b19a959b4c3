"""Memory block `state` and `online`, zones, nodes' memory lists, `auto_online_blocks`.

Each rule: the errno a refused write returns (changing nothing), or the tree
after an accepted one. Blocks come from restored captures of real guests
(a-debian: blocks 146-147 of node 1; c-debian: 146-149) and the cxl_test
fixture (boot memory on node 0).
"""

from __future__ import annotations

import errno

import pytest

from tests.kernel import daxkit
from tests.kernel.daxkit import (
    MEM,
    NODE,
    block,
    offline_all,
    read,
    refused,
    write,
)

# The shared trees (fixtures).
_originals, tree = daxkit._originals, daxkit.tree


def test_an_unknown_state_is_einval(tree):
    root = tree("a-debian", "ram-region-created")
    for value in ("bogus", "online movable", "Offline", ""):
        refused(root, f"{MEM}/memory146/state", value, errno.EINVAL)


def test_writing_the_state_a_block_is_in_is_einval(tree):
    root = tree("a-debian", "ram-region-created")
    for value in ("online", "online_movable", "online_kernel"):
        refused(root, f"{MEM}/memory146/state", value, errno.EINVAL)
    write(root, f"{MEM}/memory146/state", "offline")
    refused(root, f"{MEM}/memory146/state", "offline", errno.EINVAL)


def test_offlining_shows_where_the_block_could_go(tree):
    root = tree("a-debian", "ram-region-created")
    write(root, f"{MEM}/memory146/state", "offline")
    assert block(root, 146, "state") == "offline"
    assert block(root, 146, "online") == "0"
    # memory147 is still online in ZONE_NORMAL next to it: Normal first.
    assert block(root, 146, "valid_zones") == "Normal Movable"
    # The node still has online memory.
    assert read(root, f"{NODE}/has_memory") == "0-1"


def test_the_last_offline_block_takes_the_node_out_of_the_memory_lists(tree):
    root = tree("a-debian", "ram-region-created")
    offline_all(root, (146, 147))
    assert read(root, f"{NODE}/has_memory") == "0"
    assert read(root, f"{NODE}/has_normal_memory") == "0"
    # Offline blocks keep the node online.
    assert read(root, f"{NODE}/online") == "0-1"
    assert block(root, 147, "valid_zones") == "Normal Movable"


@pytest.mark.parametrize(
    "state,zone,normal",
    [
        ("online_movable", "Movable", "0"),
        ("online_kernel", "Normal", "0-1"),
        ("online", "Normal", "0-1"),
    ],
)
def test_onlining_puts_the_block_in_its_zone(tree, state, zone, normal):
    root = tree("a-debian", "ram-sysram-offlined")
    write(root, f"{MEM}/memory146/state", state)
    assert block(root, 146, "state") == "online"
    assert block(root, 146, "online") == "1"
    assert block(root, 146, "valid_zones") == zone
    assert read(root, f"{NODE}/has_memory") == "0-1"
    assert read(root, f"{NODE}/has_normal_memory") == normal


def test_offline_blocks_inside_the_movable_span_default_to_movable(tree):
    root = tree("c-debian", "ram-sysram-offlined")
    write(root, f"{MEM}/memory146/state", "online_movable")
    write(root, f"{MEM}/memory149/state", "online_movable")
    assert block(root, 147, "valid_zones") == "Movable Normal"
    assert block(root, 148, "valid_zones") == "Movable Normal"
    # A plain `online` follows the default: into ZONE_MOVABLE.
    write(root, f"{MEM}/memory147/state", "online")
    assert block(root, 147, "valid_zones") == "Movable"
    # online_kernel still may go to Normal.
    write(root, f"{MEM}/memory148/state", "online_kernel")
    assert block(root, 148, "valid_zones") == "Normal"


def test_the_movable_span_shrinks_when_its_end_blocks_go_offline(tree):
    root = tree("c-debian", "ram-sysram-offlined")
    write(root, f"{MEM}/memory146/state", "online_movable")
    write(root, f"{MEM}/memory149/state", "online_movable")
    write(root, f"{MEM}/memory149/state", "offline")
    # The span is memory146 alone again: the others are back to Normal first.
    for index in (147, 148, 149):
        assert block(root, index, "valid_zones") == "Normal Movable", index
    write(root, f"{MEM}/memory146/state", "offline")
    assert block(root, 146, "valid_zones") == "Normal Movable"


def test_the_online_attribute(tree):
    root = tree("a-debian", "ram-region-created")
    refused(root, f"{MEM}/memory146/online", "maybe", errno.EINVAL)
    # The current value is accepted and changes nothing.
    write(root, f"{MEM}/memory146/online", "1")
    assert block(root, 146, "state") == "online"
    write(root, f"{MEM}/memory146/online", "0")
    assert block(root, 146, "state") == "offline"
    write(root, f"{MEM}/memory146/online", "0")
    write(root, f"{MEM}/memory146/online", "y")
    assert (block(root, 146, "state"), block(root, 146, "valid_zones")) == ("online", "Normal")


def test_a_boot_block_spanning_two_zones_cannot_go_offline(tree):
    root = tree("fixture", "cxl_test")
    assert block(root, 0, "valid_zones") == "none"
    refused(root, f"{MEM}/memory0/state", "offline", errno.EINVAL)


def test_node_meminfo_counts_onlined_memory(tree):
    root = tree("a-debian", "ram-sysram-offlined")
    write(root, f"{MEM}/memory146/state", "online_movable")
    meminfo = read(root, f"{NODE}/node1/meminfo").splitlines()
    assert meminfo[0] == "Node 1 MemTotal:         131072 kB"
    write(root, f"{MEM}/memory147/state", "online_movable")
    assert read(root, f"{NODE}/node1/meminfo").splitlines()[0].endswith(" 262144 kB")


def test_auto_online_blocks_takes_the_four_policies(tree):
    root = tree("a-debian", "ram-region-created")
    path = f"{MEM}/auto_online_blocks"
    for value in ("offline", "online_movable", "online_kernel", "online"):
        write(root, path, value)
        assert read(root, path) == value
    root.write(path, "offline")  # echo -n
    assert read(root, path) == "offline"
    for value in ("bogus", "movable", "online\n"):
        refused(root, path, value, errno.EINVAL)
