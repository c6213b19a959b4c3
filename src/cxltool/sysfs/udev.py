"""udev on the running system: waiting out a probe after a bind, and udev's device lists.

Only the real root uses this module (`Root.probe`, `Root.udev_devices`), and it
imports pyudev inside the functions that need it, so neither a tree nor a
simulated system ever loads pyudev.

What a bind sets off, and what the watch waits for:

- the write itself probes the device: once it returns, the device has its
  driver (or the probe failed);
- that probe may add child devices whose drivers are modules: udevd loads them
  while it handles the children's `add` events, and their probes add further
  children the same way (a ram region's `dax_regionN`, its `daxN.M` and kmem's
  memory blocks, which udev rules may online);
- cxl ports and memdevs leave work on the cxl bus's queue, which a write to
  `/sys/bus/cxl/flush` waits for.

So the watch waits until the device has a driver (or what the caller asks for),
flushes the cxl queue when asked, and, while udevd runs, until udevd has passed
on the device's `bind` event and its queue is empty: events reach udevd in the
order the kernel sends them, and a child's event stays queued until its rules
(module loading included) have run. libcxl and libndctl wait the same way (a
flush, then udev's queue, for up to 5 seconds) before they read devices.

Without udevd nothing loads modules behind the kernel's back; the monitor then
listens to the kernel's own events only to re-check as soon as one arrives.
Where no netlink monitor can be had (no libudev, no socket), the watch polls.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cxltool.sysfs import paths
from cxltool.sysfs.errors import NeedsRoot, SysfsError
from cxltool.sysfs.probe import ProbeWait

if TYPE_CHECKING:
    from cxltool.sysfs.root import Root

# libcxl's and libndctl's default wait; CXLTOOL_PROBE_TIMEOUT (seconds) overrides it.
DEFAULT_TIMEOUT = 5.0
TIMEOUT_ENV = "CXLTOOL_PROBE_TIMEOUT"
# How long to sleep between checks when no event can wake the watch earlier.
TICK = 0.02


def probe_timeout(value: float | None = None) -> float:
    """Seconds to wait for a probe: `value`, else the environment's, else the default."""
    if value is None:
        try:
            value = float(os.environ.get(TIMEOUT_ENV, ""))
        except ValueError:
            value = DEFAULT_TIMEOUT
    return value if math.isfinite(value) and value >= 0 else DEFAULT_TIMEOUT


def udevd_running(root: Root) -> bool:
    return root.exists(paths.UDEV_CONTROL)


def queue_empty(root: Root) -> bool:
    return not root.exists(paths.UDEV_QUEUE)


def open_monitor(source: str, subsystem: str | None) -> Any | None:
    """A started netlink monitor of `source` ('udev' or 'kernel'), or None if none can be had."""
    try:
        import pyudev

        monitor = pyudev.Monitor.from_netlink(pyudev.Context(), source=source)
        if subsystem:
            monitor.filter_by(subsystem)
        monitor.start()
    except (ImportError, OSError):
        return None
    return monitor


def list_devices(subsystem: str) -> list[str] | None:
    """Names of the devices udev enumerates in `subsystem`; None when libudev is not usable."""
    try:
        import pyudev

        return [device.sys_name for device in pyudev.Context().list_devices(subsystem=subsystem)]
    except (ImportError, OSError):
        return None


def _subsystem(root: Root, path: str) -> str | None:
    """The bus or class a device belongs to, whose events are the ones to hear."""
    try:
        return paths.basename(root.realpath(path + "/subsystem"))
    except SysfsError:
        return None


class ProbeWatch(ProbeWait):
    """Opened before a bind of the device at `path`; `wait()` after it succeeded."""

    def __init__(
        self,
        root: Root,
        path: str,
        ready: Callable[[], bool] | None = None,
        *,
        flush: str | None = None,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.root = root
        self.path = path
        self.ready = ready or (lambda: root.islink(path + "/driver"))
        self.flush = flush
        self.timeout = probe_timeout(timeout)
        self.clock = clock
        self.sleep = sleep
        self.udevd = False
        self.monitor: Any | None = None
        self.target = path

    def __enter__(self) -> ProbeWatch:
        # Listening starts before the write, so no event of the probe is missed.
        self.udevd = udevd_running(self.root)
        if self.timeout > 0:
            source = "udev" if self.udevd else "kernel"
            self.monitor = open_monitor(source, _subsystem(self.root, self.path))
        try:
            self.target = self.root.realpath(self.path)
        except SysfsError:
            self.target = self.path
        return self

    def __exit__(self, *exc: object) -> None:
        # pyudev closes the socket when the monitor goes.
        self.monitor = None

    def _is_bind_event(self, device: Any) -> bool:
        return (
            getattr(device, "action", None) == "bind"
            and paths.SYS + getattr(device, "device_path", "") == self.target
        )

    def _flush(self) -> None:
        try:
            self.root.write(self.flush, "1\n")
        except (SysfsError, NeedsRoot):
            pass  # best effort: libcxl, too, goes on when its flush fails

    def wait(self) -> bool:
        """True once the probe is done; False when the time ran out first."""
        deadline = self.clock() + self.timeout
        # Only a udev-source monitor tells when udevd has handled the bind.
        heard = not (self.udevd and self.monitor is not None)
        flushed = self.flush is None
        while True:
            if self.ready():
                if not flushed:
                    self._flush()
                    flushed = True
                if heard and (not self.udevd or queue_empty(self.root)):
                    return True
            remaining = deadline - self.clock()
            if remaining <= 0:
                return False
            if self.monitor is None:
                self.sleep(min(remaining, TICK))
                continue
            try:
                device = self.monitor.poll(timeout=min(remaining, TICK))
            except OSError:
                self.monitor = None
                heard = True  # polling from here on: udevd's queue is all there is
                continue
            if device is not None and self._is_bind_event(device):
                heard = True
