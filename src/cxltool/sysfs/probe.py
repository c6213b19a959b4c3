"""Waiting out a probe after a bind: the interface, and what trees do (nothing).

A write to a driver's `bind` probes the device before the write returns, but what
that probe sets off may finish later on a real machine: child devices whose
drivers udev loads as modules, udev rules that online memory, the cxl bus's
work queue. Operations open a watch before the write and call `wait()` after a
successful one:

    with root.probe(region.path, flush=paths.CXL_FLUSH) as watch:
        if bind succeeded:
            watch.wait()

The emulated kernel finishes everything inside the write, and a captured tree
has no kernel at all, so on those roots the watch is this class: it does
nothing. The real root's watch is `sysfs.udev.ProbeWatch`.
"""

from __future__ import annotations


class ProbeWait:
    """A watch that has nothing to wait for."""

    def __enter__(self) -> ProbeWait:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def wait(self) -> bool:
        """True once the probe's effects are all visible (here: at once)."""
        return True


NO_WAIT = ProbeWait()
