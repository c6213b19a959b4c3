"""HDM decoder commit and reset, with each port's in-order commit rule.

A port commits its decoders in index order: decoder D may commit only when D
decoders are already committed (`decoders_committed` is commit_end + 1), else
EBUSY. A reset of the highest committed decoder lowers commit_end and reaps any
lower decoders reset earlier out of order; a reset of a lower one leaves
commit_end alone (Linux 6.12 permits out-of-order shutdown).

Whether a decoder is committed ("enabled") is not an attribute. It is known
from the tree: a decoder is enabled when the region it serves is committed.
Decoders left enabled with no region (those of a locked region that was
deleted: locked decoders are never reset) are recorded in the kernel state.
A passthrough decoder has no commit or reset of its own.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel.cxlview import Cxl, Decoder, Port
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.port_hardware import record_programmed

_ORPHANS = "hdm_enabled_orphans"


class Hdm:
    """Commit state of decoders during one write."""

    def __init__(self, cxl: Cxl) -> None:
        self.cxl = cxl
        self._now: dict[str, bool] = {}  # decided during this write

    def _orphans(self) -> list[str]:
        return list(self.cxl.state.get(_ORPHANS, []))

    def enabled(self, dec: Decoder) -> bool:
        if dec.path in self._now:
            return self._now[dec.path]
        if dec.path in self._orphans():
            return True
        name = dec.region_name
        if not name:
            return False
        path = self.cxl.bus_device(name)
        return path is not None and self.cxl.kt.read(path + "/commit") == "1"

    def commit(self, dec: Decoder) -> None:
        """Commit one decoder (the kernel's cxl_decoder_commit, or the passthrough no-op)."""
        port = dec.port
        if port.passthrough:
            return
        if self.enabled(dec):
            return
        if port.commit_end + 1 != dec.id:
            raise KernelError(errno.EBUSY)
        port.set_commit_end(dec.id)
        self._now[dec.path] = True
        if port.uport is not None:
            targets = dec.attr("target_list") or ""
            record_programmed(
                self.cxl.kt.txn, port.uport, dec.id, dec.ways, dec.granularity, targets
            )

    def reset(self, dec: Decoder) -> None:
        """Reset one decoder; commit_end drops only past the highest committed one."""
        port = dec.port
        if port.passthrough or not self.enabled(dec):
            return
        self._now[dec.path] = False
        if port.commit_end == dec.id:
            end = dec.id - 1
            by_id = {d.id: d for d in port.decoders}
            while end >= 0 and end in by_id and not self.enabled(by_id[end]):
                end -= 1
            port.set_commit_end(end)

    def lower_all_enabled(self, port: Port, dec: Decoder) -> bool:
        """No decoder below `dec` was shut down out of order."""
        return all(self.enabled(d) for d in port.decoders if d.id < dec.id)

    def keep_enabled(self, decoders: list[Decoder]) -> None:
        """Record decoders that stay committed after their region is gone."""
        orphans = self._orphans()
        for dec in decoders:
            if dec.path not in orphans and self.enabled(dec) and not dec.port.passthrough:
                orphans.append(dec.path)
            self._now.pop(dec.path, None)
        self.cxl.state[_ORPHANS] = orphans
