"""Stores of a dax device: `size`, `align`, `mapping`, `memmap_on_memory`.

`size` (kstrtoull, base 0): not a multiple of max(align, 2 MiB) is EINVAL; the
region's producer unbound is ENXIO; a device bound to any driver is EBUSY;
growing by more than the region has free is ENOSPC. Growing and shrinking
follow dax_alloc.py, adding and removing `mappingN/` directories.

`align`: a value that does not parse is ENXIO (not EINVAL); anything but 4 KiB,
2 MiB or 1 GiB is EINVAL; producer unbound ENXIO; device bound EBUSY; a range
whose length the new alignment does not divide is EINVAL.

`mapping` (`start-end`, both hex, end inclusive): a parse failure is EINVAL; a
length the alignment does not divide is accepted and ignored, as the kernel
does; a range outside the region or overlapping any device is ENOMEM.

`memmap_on_memory` (a boolean): 1 is EOPNOTSUPP, the kernel's memory hotplug
not supporting it (its `memmap_on_memory` parameter is off by default); a change
while bound to kmem is EBUSY.

Every change keeps `size`, `resource` (the first range's start, or the region's
when there is none) and the region's `available_size` in step.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel import dax_alloc, kinput
from cxltool.sim.kernel.daxview import (
    SUBSECTION,
    DaxDevice,
    DaxRange,
    read_device,
    region_devices,
)
from cxltool.sim.kernel.dispatch import NotEmulated, register
from cxltool.sim.kernel.txn import Transaction, TxnShapes
from cxltool.sim.shapes import kernel_hex
from cxltool.sysfs import SysfsError, paths

_DEVICE = paths.SYS_DEVICES + "/*/dax[0-9]*.[0-9]*/"
_ALIGNMENTS = (4096, 2 * 1024 * 1024, 1024 * 1024 * 1024)
# memory_hotplug.memmap_on_memory is off in distribution kernels.
MEMMAP_ON_MEMORY_SUPPORTED = False


def _device(txn: Transaction, path: str) -> DaxDevice:
    dev = read_device(txn.root, path.rsplit("/", 1)[0])
    if dev is None:
        # A libnvdimm "daxX.Y" device, not one on the dax bus.
        raise NotEmulated(path)
    return dev


def _aligned(size: int, align: int) -> bool:
    return size % max(align, SUBSECTION) == 0


def plan_ranges(txn: Transaction, dev: DaxDevice, ranges: list[DaxRange]) -> None:
    """Give the device these ranges: mapping directories, size, resource, region's free space."""
    shapes = TxnShapes(txn)
    old = dev.ranges
    for i, r in enumerate(ranges):
        base = f"{dev.path}/mapping{i}"
        if i >= len(old):
            shapes.dax_mapping(dev.path, i, r.start, r.end, r.pgoff)
            continue
        if old[i].start != r.start:
            txn.write(base + "/start", kernel_hex(r.start) + "\n")
        if old[i].end != r.end:
            txn.write(base + "/end", kernel_hex(r.end) + "\n")
        if old[i].pgoff != r.pgoff:
            txn.write(base + "/page_offset", kernel_hex(r.pgoff) + "\n")
    for i in range(len(ranges), len(old)):
        txn.rmtree(f"{dev.path}/mapping{i}")
    size = sum(r.size for r in ranges)
    txn.write(dev.path + "/size", f"{size}\n")
    start = ranges[0].start if ranges else dev.region.start
    txn.write(dev.path + "/resource", kernel_hex(start) + "\n")
    others = [d for d in region_devices(txn.root, dev.region) if d.name != dev.name]
    free = max(dev.region.size - size - sum(d.size for d in others), 0)
    txn.write(dev.region.group + "/available_size", f"{free}\n")


@register(_DEVICE + "size")
def store_size(txn: Transaction, path: str, value: str) -> None:
    size = kinput.kstrtoull(value)
    if size is None:
        raise SysfsError(errno.EINVAL, path)
    if size >= kinput.ULLONG_LIMIT:
        raise SysfsError(errno.ERANGE, path)
    dev = _device(txn, path)
    if not _aligned(size, dev.align):
        raise SysfsError(errno.EINVAL, path)
    if not dev.region.producer_bound:
        raise SysfsError(errno.ENXIO, path)
    if dev.driver:
        raise SysfsError(errno.EBUSY, path)
    if size == dev.size:
        return
    devices = region_devices(txn.root, dev.region)
    if size > dev.size and size - dev.size > dax_alloc.available(dev.region, devices):
        raise SysfsError(errno.ENOSPC, path)
    if size < dev.size:
        ranges = dax_alloc.shrink(dev, size)
    else:
        grown = dax_alloc.grow(dev, dev.region, devices, size - dev.size)
        if isinstance(grown, int):
            raise SysfsError(grown, path)
        ranges = grown
    plan_ranges(txn, dev, ranges)


@register(_DEVICE + "align")
def store_align(txn: Transaction, path: str, value: str) -> None:
    align = kinput.kstrtoull(value)
    if align is None or align >= kinput.ULLONG_LIMIT:
        raise SysfsError(errno.ENXIO, path)  # the kernel's answer to a non-number
    if align not in _ALIGNMENTS:
        raise SysfsError(errno.EINVAL, path)
    dev = _device(txn, path)
    if not dev.region.producer_bound:
        raise SysfsError(errno.ENXIO, path)
    if dev.driver:
        raise SysfsError(errno.EBUSY, path)
    if any(not _aligned(r.size, align) for r in dev.ranges):
        raise SysfsError(errno.EINVAL, path)
    txn.write(dev.path + "/align", f"{align}\n")


@register(_DEVICE + "mapping")
def store_mapping(txn: Transaction, path: str, value: str) -> None:
    first, dash, last = value.split("\0", 1)[0].partition("-")
    if not dash:
        raise SysfsError(errno.EINVAL, path)
    start, end = kinput.kstrtoull(first, 16), kinput.kstrtoull(last, 16)
    if start is None or end is None:
        raise SysfsError(errno.EINVAL, path)
    if start >= kinput.ULLONG_LIMIT or end >= kinput.ULLONG_LIMIT:
        raise SysfsError(errno.ERANGE, path)
    dev = _device(txn, path)
    if not dev.region.producer_bound:
        return
    size = (end - start + 1) % kinput.ULLONG_LIMIT
    if not _aligned(size, dev.align):
        return  # the kernel skips a misaligned range and reports success
    ranges = dax_alloc.claim(dev, dev.region, region_devices(txn.root, dev.region), start, size)
    if isinstance(ranges, int):
        raise SysfsError(ranges, path)
    plan_ranges(txn, dev, ranges)


@register(_DEVICE + "memmap_on_memory")
def store_memmap_on_memory(txn: Transaction, path: str, value: str) -> None:
    wanted = kinput.kstrtobool(value)
    if wanted is None:
        raise SysfsError(errno.EINVAL, path)
    if wanted and not MEMMAP_ON_MEMORY_SUPPORTED:
        raise SysfsError(errno.EOPNOTSUPP, path)
    dev = _device(txn, path)
    if wanted != dev.memmap_on_memory and dev.driver == "kmem":
        raise SysfsError(errno.EBUSY, path)
    txn.write(dev.path + "/memmap_on_memory", f"{int(wanted)}\n")
