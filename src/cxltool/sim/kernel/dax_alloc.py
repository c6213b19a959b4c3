"""How a dax region's capacity is handed to its devices (the dax bus core's allocator).

The ranges of all devices of a region are children of the region's range,
ordered by address. Growing a device takes free space first-fit from the
region's start: the gap before the first child, then the gaps between
children, then the space after the last; when the gap follows the device's own
last range, that range is extended in place, otherwise a new range (a new
`mappingN`) is added, its page offset following the device's earlier ranges.
Shrinking trims from the device's last range backwards, dropping whole ranges.
A `mapping` write claims exactly the range it names.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel.daxview import PAGE_SIZE, DaxDevice, DaxRange, DaxRegion


def available(region: DaxRegion, devices: list[DaxDevice]) -> int:
    """Region capacity no device holds (`available_size`)."""
    return max(region.size - sum(d.size for d in devices), 0)


def _children(devices: list[DaxDevice]) -> list[tuple[int, int, str]]:
    return sorted((r.start, r.end, d.name) for d in devices for r in d.ranges)


def _append(ranges: list[DaxRange], start: int, size: int) -> None:
    pgoff = sum(r.size for r in ranges) // PAGE_SIZE
    ranges.append(DaxRange(start, start + size - 1, pgoff))


def grow(
    dev: DaxDevice, region: DaxRegion, devices: list[DaxDevice], to_alloc: int
) -> list[DaxRange] | int:
    """The device's ranges once `to_alloc` more bytes are given to it, or ENOSPC."""
    ranges = [DaxRange(r.start, r.end, r.pgoff) for r in dev.ranges]
    others = [d for d in devices if d.name != dev.name]
    while to_alloc > 0:
        mine = DaxDevice(dev.path, dev.name, dev.id, region, ranges)
        children = _children([*others, mine])
        if not children:
            _append(ranges, region.start, to_alloc)
            break
        alloc = 0
        for i, (start, end, owner) in enumerate(children):
            following = children[i + 1] if i + 1 < len(children) else None
            if i == 0 and start > region.start:
                alloc = min(start - region.start, to_alloc)
                _append(ranges, region.start, alloc)
                break
            alloc = 0
            if following and following[0] > end + 1:
                alloc = min(following[0] - (end + 1), to_alloc)
            if not alloc and following is None and end < region.end:
                alloc = min(region.end - end, to_alloc)
            if not alloc:
                continue
            last = ranges[-1] if ranges else None
            if owner == dev.name and last is not None and (last.start, last.end) == (start, end):
                last.end += alloc
            else:
                _append(ranges, end + 1, alloc)
            break
        if not alloc:
            return errno.ENOSPC
        to_alloc -= alloc
    return ranges


def shrink(dev: DaxDevice, size: int) -> list[DaxRange]:
    """The device's ranges once cut down to `size` bytes, from the end."""
    ranges = [DaxRange(r.start, r.end, r.pgoff) for r in dev.ranges]
    to_shrink = dev.size - size
    while to_shrink > 0 and ranges:
        last = ranges[-1]
        if to_shrink >= last.size:
            to_shrink -= last.size
            ranges.pop()
        else:
            last.end -= to_shrink
            to_shrink = 0
    return ranges


def claim(
    dev: DaxDevice, region: DaxRegion, devices: list[DaxDevice], start: int, size: int
) -> list[DaxRange] | int:
    """The device's ranges with [start, start + size) added, or ENOMEM if not free."""
    end = start + size - 1
    if size <= 0 or start < region.start or end > region.end:
        return errno.ENOMEM
    for other_start, other_end, _ in _children(devices):
        if other_start <= end and start <= other_end:
            return errno.ENOMEM
    ranges = [DaxRange(r.start, r.end, r.pgoff) for r in dev.ranges]
    _append(ranges, start, size)
    return ranges
