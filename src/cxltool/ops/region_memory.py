"""Taking a region's system-ram memory offline before the region is disabled.

`cxl disable-region` asks libdaxctl, for each dax device of the region bound
to kmem, whether any of its memory blocks is online, and if so offlines them
(writes `offline` to each online block's `state` through its node directory).
The answers and failures follow libdaxctl: a device whose node directory
cannot be read counts as "online" with a negative result, and offlining it
then fails with that errno.
"""

from __future__ import annotations

import errno
import os

from cxltool.objects.dax import DaxDevice, DaxSystem, NodeBlocks
from cxltool.ops.attr_write import write_attr
from cxltool.ops.memdev_action import Log


def _blocks(dev: DaxDevice, log: Log) -> tuple[NodeBlocks | None, list[str], int]:
    """The node, the names of the device's blocks in it, or a negative errno."""
    if dev.target_node < 0:
        log.raw(f"libdaxctl: daxctl_memory_op: {dev.name}: Failed to get node_path\n")
        return None, [], -errno.ENXIO
    node = dev.system.memory.node(dev.target_node)
    if node.open_errno:
        return None, [], -node.open_errno
    last = dev.resource + dev.size - 1
    names = [node.names[pos] for pos in node.in_range(dev.resource, last)]
    if node.stop is not None:
        return node, names, node.stop_rc
    return node, names, 0


def _online(dev: DaxDevice, node: NodeBlocks, name: str) -> bool:
    state = dev.root.read_opt(f"{node.path}/{name}/state") or ""
    return state.startswith("online")


def online_blocks(dev: DaxDevice, log: Log) -> int:
    """daxctl_memory_is_online(): how many blocks are online, or a negative errno."""
    node, names, rc = _blocks(dev, log)
    if node is None or rc:
        return rc
    return sum(_online(dev, node, n) for n in names)


def offline(dev: DaxDevice, log: Log) -> int:
    """daxctl_memory_offline(): 0 (or blocks already offline), or a negative errno."""
    node, names, rc = _blocks(dev, log)
    if node is None or rc:
        return rc
    for name in names:
        if not _online(dev, node, name):
            continue
        if dev.root.read_opt(f"{node.path}/{name}/removable") == "0":
            log.raw(f"libdaxctl: offline_one_memblock: {dev.name}: {name} is unremovable\n")
            return -errno.EOPNOTSUPP
        state = f"{node.path}/{name}/state"
        rc = write_attr(dev.root, state, "offline")
        if rc and _online(dev, node, name):
            log.raw(
                f"libdaxctl: offline_one_memblock: {dev.name}: "
                f"Failed to offline {state}: {os.strerror(-rc)}\n"
            )
            return rc
    return 0


def region_dax_devices(root, region_path: str, region_id: int) -> list[DaxDevice] | None:
    """The dax devices of a region's `dax_regionN`, or None when it has none."""
    path = f"{region_path}/dax_region{region_id}"
    if not root.exists(path):
        return None
    return DaxSystem(root).region_at(path, region_id).devices
