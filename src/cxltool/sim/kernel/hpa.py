"""Host physical address space for regions: first fit inside the root decoder's window.

The kernel asks for `size` bytes, 256 MiB aligned, scanning upward from the
window's start and skipping anything already placed there (other regions);
nothing free is ERANGE.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel.cxlview import SZ_256M, Cxl, Decoder, Region
from cxltool.sim.kernel.kerror import KernelError


def _taken(cxl: Cxl, window: Decoder, but: Region) -> list[tuple[int, int]]:
    spans = []
    for name in cxl.kt.listdir(window.path):
        if not name.startswith("region") or not name[6:].isdigit():
            continue
        other = cxl.region(f"{window.path}/{name}")
        if other != but and other.has_hpa:
            spans.append((other.start, other.start + other.size))
    return spans


def first_fit(cxl: Cxl, window: Decoder, region: Region, size: int) -> int:
    """The lowest free, 256 MiB aligned start for `size` bytes in the window."""
    base, end = window.start, window.start + window.size
    taken = _taken(cxl, window, region)
    addr = -(-base // SZ_256M) * SZ_256M
    while addr + size <= end:
        clash = [hi for lo, hi in taken if lo < addr + size and addr < hi]
        if not clash:
            return addr
        addr = -(-max(clash) // SZ_256M) * SZ_256M
    raise KernelError(errno.ERANGE)
