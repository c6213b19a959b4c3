"""kmem: a dax device's memory hot-added as System RAM, and what removing it leaves.

Probe (binding a dax device to kmem): the device needs a target node (EINVAL
without one). Each of its ranges is trimmed inwards to whole memory blocks;
what is left of no range is EINVAL. A range whose memory is still reserved
(blocks of it exist, e.g. leaked by an earlier unbind) makes the probe fail
with EBUSY when it is the first range, and is skipped otherwise. For the rest
the target node comes online if it was not, one offline `memoryK` is added per
block, and every new block is onlined as `auto_online_blocks` says (`online`,
`online_kernel`, `online_movable`; `offline` leaves them offline).

Remove (unbinding from kmem, or the device going away while bound): a range
whose blocks are all offline is removed, blocks and all, and a memory-only node
left without blocks goes offline. A range with any block online cannot be
removed: the kernel logs that it stays until the next reboot, the unbind still
succeeds, and the blocks stay (online, and reserved, so that a later kmem or
device_dax bind of that range fails with EBUSY).

For code that creates or destroys dax devices bound to kmem (the cxl_region
driver's dax region does, for `daxN.0`):

    err = plan_kmem_attach(txn, ranges, target_node)
        the memory side of kmem's probe, `ranges` being the device's
        [(start, end inclusive), ...]; returns 0, or the errno the probe fails
        with, in which case nothing is planned and the device stays unbound.
    plan_kmem_detach(txn, ranges)
        the memory side of kmem's remove, before the device is unbound or
        unregistered.

Both plan on the write's transaction through its MemoryPlan (memplan.py), so
several devices in one write see each other's blocks.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable

from cxltool.sim.kernel.memplan import memory_plan
from cxltool.sim.kernel.txn import Transaction

Range = tuple[int, int]  # start, end (inclusive)


def block_ranges(ranges: Iterable[Range], block_size: int) -> list[Range]:
    """The ranges trimmed inwards to whole blocks; ranges left empty are dropped."""
    out: list[Range] = []
    if block_size <= 0:
        return out
    for start, end in ranges:
        first = -(-start // block_size) * block_size
        stop = (end + 1) // block_size * block_size
        if stop > first:
            out.append((first, stop - 1))
    return out


def range_reserved(txn: Transaction, start: int, end: int) -> bool:
    """Memory in [start, end] is System RAM already (leaked by kmem, or boot RAM)."""
    return bool(memory_plan(txn).blocks_in(start, end))


def plan_kmem_attach(txn: Transaction, ranges: Iterable[Range], target_node: int) -> int:
    """kmem's probe on the memory side; 0 or the errno it fails with (nothing planned)."""
    if target_node < 0:
        return errno.EINVAL
    plan = memory_plan(txn)
    usable = block_ranges(ranges, plan.block_size)
    if not usable:
        return errno.EINVAL
    mapped: list[Range] = []
    for start, end in usable:
        if plan.blocks_in(start, end):
            if not mapped:
                return errno.EBUSY
            continue  # once some memory is mapped, a busy range is only skipped
        mapped.append((start, end))
    plan.ensure_node(target_node)
    policy = plan.auto_online_policy()
    bs = plan.block_size
    for start, end in mapped:
        added = range(start // bs, (end + 1) // bs)
        for index in added:
            plan.add_block(index, target_node)
        if policy in ("online", "online_kernel", "online_movable"):
            for index in added:
                plan.online(index, policy)
    return 0


def plan_kmem_detach(txn: Transaction, ranges: Iterable[Range]) -> list[Range]:
    """kmem's remove on the memory side; returns the ranges leaked (left online)."""
    plan = memory_plan(txn)
    leaked: list[Range] = []
    nodes: set[int] = set()
    for start, end in block_ranges(ranges, plan.block_size):
        indexes = plan.blocks_in(start, end)
        blocks = [plan.block(i) for i in indexes]
        if any(b is not None and b.online for b in blocks):
            leaked.append((start, end))
            continue
        for block in blocks:
            if block is not None:
                nodes.add(block.node)
                plan.remove_block(block.index)
    for node in sorted(nodes):
        plan.try_offline_node(node)
    return leaked
