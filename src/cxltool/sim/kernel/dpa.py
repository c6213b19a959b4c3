"""Device physical address (DPA) allocation of endpoint decoders.

A device's DPA space is its ram partition followed by its pmem partition. Each
endpoint decoder may own one allocation; allocations are made in increasing
decoder id and freed in decreasing id (the port's `hdm_end` is the highest
decoder with one). Inside a partition, space is handed out append-only: a new
allocation starts after the last thing in that partition. A pmem allocation
also reserves ("skips") the unused rest of the ram partition below it, which
then stays unusable until that decoder is freed; so ram must come before pmem.

Nothing here is hidden state: the allocations are `dpa_resource`/`dpa_size` of
the decoders, and the skips follow from replaying them in id order.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from cxltool.sim.kernel.cxlview import NO_RESOURCE, SZ_256M, Decoder, Port, _int
from cxltool.sim.kernel.hdm import Hdm
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.shapes import kernel_hex, kernel_pa


@dataclass
class _Span:
    start: int
    end: int  # exclusive


class DpaSpace:
    """The DPA layout of one endpoint port's device."""

    def __init__(self, port: Port) -> None:
        kt = port.kt
        memdev = port.memdev or ""
        self.port = port
        self.ram = _int(kt.read(memdev + "/ram/size"))
        self.pmem = _int(kt.read(memdev + "/pmem/size"))
        self._rebuild()

    def _rebuild(self) -> None:
        self.ram_children: list[_Span] = []
        self.pmem_children: list[_Span] = []
        for dec in self.port.decoders:
            if dec.allocated:
                self._replay(dec.dpa_resource, dec.dpa_size)

    # -- the resource tree -------------------------------------------------------
    def _in_pmem(self, start: int) -> bool:
        return self.pmem > 0 and start >= self.ram

    def _free_ram_start(self) -> int:
        return max((c.end for c in self.ram_children), default=0)

    def _free_pmem_start(self) -> int:
        return max((c.end for c in self.pmem_children), default=self.ram)

    def _pmem_skip(self, start: int) -> int:
        skip_start = self._free_ram_start()
        first = min((c.start for c in self.pmem_children), default=None)
        if first is not None and skip_start == first:
            return 0
        return start - skip_start

    def _replay(self, start: int, size: int) -> None:
        if self._in_pmem(start):
            skip = self._pmem_skip(start)
            if skip > 0:
                self.ram_children.append(_Span(start - skip, start))
            self.pmem_children.append(_Span(start, start + size))
        else:
            self.ram_children.append(_Span(start, start + size))

    def _conflicts(self, start: int, end: int) -> bool:
        return any(c.start < end and start < c.end for c in self.ram_children + self.pmem_children)

    # -- the store functions' rules ---------------------------------------------------
    def hdm_end(self) -> int:
        ids = [d.id for d in self.port.decoders if d.allocated]
        return max(ids) if ids else -1

    def free(self, dec: Decoder, hdm: Hdm) -> None:
        """Release a decoder's allocation (and its skip); nothing if it has none."""
        if not dec.allocated:
            return
        if dec.region_name:
            raise KernelError(errno.EBUSY)
        if hdm.enabled(dec):
            raise KernelError(errno.EBUSY)
        if dec.id != self.hdm_end():
            raise KernelError(errno.EBUSY)
        dec.set("dpa_resource", kernel_hex(NO_RESOURCE))
        dec.set("dpa_size", kernel_pa(0))
        self._rebuild()

    def alloc(self, dec: Decoder, size: int, hdm: Hdm) -> None:
        """Allocate `size` bytes for a decoder in the partition its mode selects."""
        if dec.region_name:
            raise KernelError(errno.EBUSY)
        if hdm.enabled(dec):
            raise KernelError(errno.EBUSY)
        mode = dec.mode
        if mode == "ram":
            start = self._free_ram_start()
            avail = self.ram - start
            skip = 0
        elif mode == "pmem":
            start = self._free_pmem_start()
            avail = self.ram + self.pmem - start
            skip = self._pmem_skip(start)
        else:
            raise KernelError(errno.EINVAL)
        if size > avail:
            raise KernelError(errno.ENOSPC)
        if self.hdm_end() + 1 != dec.id:
            raise KernelError(errno.EBUSY)
        if skip and self._conflicts(start - skip, start):
            raise KernelError(errno.EBUSY)
        if self._conflicts(start, start + size):
            raise KernelError(errno.EBUSY)
        dec.set("dpa_resource", kernel_hex(start))
        dec.set("dpa_size", kernel_pa(size))
        if self.ram <= start and start + size <= self.ram + self.pmem and self.pmem:
            dec.set("mode", "pmem")
        elif start + size <= self.ram:
            dec.set("mode", "ram")
        else:
            dec.set("mode", "mixed")
        self._replay(start, size)


def check_size(size: int) -> None:
    """`dpa_size` takes multiples of 256 MiB only."""
    if size % SZ_256M:
        raise KernelError(errno.EINVAL)
