"""Where a pfn or dax device puts its data inside its namespace (the info block's numbers).

A namespace given an fsdax or devdax personality starts with an 8K reserve
(the info block sits at 4K). With the page map kept in device memory (`pmem`
mode) the map for every page follows, 64 bytes a page; the data starts at the
next boundary of the device's alignment (at least the 2M memory-hotplug
subsection), and the end is trimmed down to that alignment. With the map in
RAM (`ram` mode) only the reserve precedes the data.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE_SIZE = 4096
INFO_RESERVE = 8192
STRUCT_PAGE_SIZE = 64  # MAX_STRUCT_PAGE_SIZE: the map entry reserved per page
COMPAT_ALIGN = 2 << 20  # memremap_compat_align() on x86-64


@dataclass(frozen=True)
class PfnLayout:
    dataoff: int  # offset of the data from the namespace start
    size: int  # bytes of data

    @property
    def npfns(self) -> int:
        return self.size // PAGE_SIZE


def _align_up(n: int, a: int) -> int:
    return -(-n // a) * a


def pfn_layout(start: int, size: int, mode: str, align: int) -> PfnLayout | None:
    """The layout for a namespace at [start, start + size); None where none fits (ENXIO)."""
    a = max(align, COMPAT_ALIGN)
    end_trunc = start + size - (start + size) // a * a
    if mode == "pmem":
        npfns = (size - INFO_RESERVE) // PAGE_SIZE
        offset = _align_up(start + INFO_RESERVE + STRUCT_PAGE_SIZE * npfns, a) - start
    elif mode == "ram":
        offset = _align_up(start + INFO_RESERVE, a) - start
    else:
        return None
    if offset >= size - end_trunc:
        return None
    return PfnLayout(offset, size - offset - end_trunc)
