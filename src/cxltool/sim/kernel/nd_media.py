"""What persistent memory holds that sysfs does not show: the info blocks.

A pfn or dax device that binds writes an info block at 4K into its namespace
(its kind, uuid, memmap mode and alignment). The block stays on the media when
the device goes away, so enabling the namespace again finds it and brings the
personality back; ndctl erases it (zeros through the raw namespace's disk)
before it destroys or reconfigures a namespace. The blocks live in the kernel
state under `nd_media`, by libnvdimm region and the namespace's offset in it.
They are dropped with their region: the emulator does not keep media contents
across the region's teardown.

Writes to a disk's /dev node land here: a write reaching the info block of a
raw namespace replaces it (ndctl writes zeros, so it is gone).
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.ktree import shared_tree
from cxltool.sim.kernel.nd_layout import PAGE_SIZE
from cxltool.sim.kernel.nd_view import NdRegion
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

_KEY = "nd_media"
INFO_BLOCK_OFFSET = PAGE_SIZE


def _table(txn: Transaction) -> dict[str, dict[str, dict]]:
    return txn.kernel_state().setdefault(_KEY, {})


def _tidy(txn: Transaction) -> None:
    state = txn.kernel_state()
    table = state.get(_KEY, {})
    for region in [r for r, blocks in table.items() if not blocks]:
        del table[region]
    if not table:
        state.pop(_KEY, None)


def info_block(txn: Transaction, region: str, offset: int) -> dict | None:
    """The info block at the start of the namespace at `offset`, if one is there."""
    return txn.kernel_state().get(_KEY, {}).get(region, {}).get(str(offset))


def write_info_block(txn: Transaction, region: str, offset: int, block: dict) -> None:
    _table(txn).setdefault(region, {})[str(offset)] = dict(block)


def erase_info_block(txn: Transaction, region: str, offset: int) -> None:
    _table(txn).get(region, {}).pop(str(offset), None)
    _tidy(txn)


def forget_region(txn: Transaction, region: str) -> None:
    _table(txn).pop(region, None)
    _tidy(txn)


def _disk_parent(txn: Transaction, name: str) -> str | None:
    """The device a disk belongs to (its namespace or pfn device), from its class link."""
    try:
        disk = txn.root.realpath(f"{paths.CLASS_BLOCK}/{name}")
    except SysfsError:
        return None
    parent = paths.dirname(paths.dirname(disk))
    return parent if paths.basename(paths.dirname(disk)) == "block" else None


@register(paths.DEV + "/pmem*")
def store_disk(txn: Transaction, path: str, value: str) -> None:
    """A write at the start of a pmem disk (what ndctl does to erase an info block)."""
    parent = _disk_parent(txn, paths.basename(path))
    if parent is None:
        raise SysfsError(errno.ENXIO, path)
    if not paths.basename(parent).startswith("namespace"):
        return  # a pfn device's disk starts past the info block
    if len(value.encode()) <= INFO_BLOCK_OFFSET:
        return
    region = NdRegion(shared_tree(txn), paths.dirname(parent))
    ns = region.namespace(paths.basename(parent))
    if ns is not None and ns.extent is not None:
        erase_info_block(txn, region.name, ns.extent.offset)
