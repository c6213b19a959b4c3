"""libndctl's actions on namespaces and their btt/pfn/dax devices, as sysfs writes.

Each action makes the writes libndctl makes, in its order and form (every
string with its terminating NUL): binding tries each nd driver's `bind` in
directory order until one takes the device; unbinding writes the device name
to its driver's `unbind`. libndctl's own error lines (`libndctl: <function>:
...`) go to `log`, as its default logging prints them.

On a simulated root, a write can make an attribute readable or unreadable (a
namespace's `resource` once it has a size); the root's cached table of failing
reads is dropped after every write so that the next read sees the change.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

from cxltool.objects.dax import DaxSystem
from cxltool.objects.nd import NdClaim, NdNamespace
from cxltool.ops.attr_write import write_attr
from cxltool.sysfs import Root, paths

Log = Callable[[str], None]
ND_DRIVERS = paths.ND_BUS + "/drivers"
# ndctl's names for the personalities a namespace can be given (holder_class).
ENFORCE_NAMES = {"fsdax": "pfn", "sector": "btt", "raw": "", "devdax": "dax"}
LOCATIONS = {"mem": "ram", "dev": "pmem", "none": "none"}


class NdLib:
    """libndctl on one root."""

    def __init__(self, root: Root, log: Log) -> None:
        self.root = root
        self.log = log

    def _err(self, function: str, message: str) -> None:
        self.log(f"libndctl: {function}: {message}")

    # -- writes -----------------------------------------------------------------------------
    def write(self, path: str, text: str) -> int:
        return write_attr(self.root, path, text)

    def bind(self, devname: str) -> int:
        """util_bind: offer the device to each nd driver until one binds it."""
        rc = -errno.ENXIO
        for driver in self.root.listdir_opt(ND_DRIVERS):
            if driver.startswith("."):
                continue
            rc = self.write(f"{ND_DRIVERS}/{driver}/bind", devname)
            if rc == 0:
                return 0
        return -errno.ENXIO

    def unbind(self, devpath: str) -> int:
        return self.write(f"{devpath}/driver/unbind", paths.basename(devpath))

    # -- namespaces -------------------------------------------------------------------------
    def namespace_enable(self, ns: NdNamespace) -> int:
        """0 when bound, 1 when a btt/pfn/dax device took it instead, else an errno."""
        if ns.enabled:
            return 0
        rc = self.bind(ns.devname)
        if not ns.enabled:
            for claim in (ns.btt, ns.pfn, ns.dax):
                if claim is not None and claim.enabled:
                    return 1
            self._err("ndctl_namespace_enable", f"{ns.devname}: failed to enable\n")
            return rc or -errno.ENXIO
        return 0

    def namespace_disable(self, ns: NdNamespace) -> int:
        if not ns.enabled:
            return 0
        self.unbind(ns.path)
        if ns.enabled:
            self._err("ndctl_namespace_disable", f"{ns.devname}: failed to disable\n")
            return -errno.EBUSY
        return 0

    def namespace_disable_invalidate(self, ns: NdNamespace) -> int:
        rc = 0
        for claim in (ns.btt, ns.pfn, ns.dax):
            if claim is not None:
                rc = self.claim_delete(claim)
        if rc:
            return rc
        return self.namespace_disable(ns)

    def namespace_disable_safe(self, ns: NdNamespace) -> int:
        """Disable unless in use: a mounted disk (EBUSY) or a dax device's online memory."""
        pfn, btt, dax = ns.pfn, ns.btt, ns.dax
        bdev = ""
        if pfn is not None and pfn.enabled:
            bdev = pfn.block_device
        elif btt is not None and btt.enabled:
            bdev = btt.block_device
        elif dax is not None and dax.enabled:
            if _dax_has_online_memory(self.root, dax):
                return -errno.EBUSY
        elif ns.enabled:
            bdev = ns.block_device
        if bdev:
            err = _exclusive_open(self.root, bdev)
            if err:
                return -err
        self.namespace_disable_invalidate(ns)
        return 0

    def set_enforce_mode(self, ns: NdNamespace, mode: str) -> int:
        return self.write(ns.path + "/holder_class", ENFORCE_NAMES[mode])

    def set_raw_mode(self, ns: NdNamespace, raw: bool) -> int:
        return self.write(ns.path + "/force_raw", "1\n" if raw else "0\n")

    def namespace_set_size(self, ns: NdNamespace, size: int) -> int:
        return self.write(ns.path + "/size", (f"{size:#x}" if size else "0") + "\n")

    def namespace_delete(self, ns: NdNamespace) -> int:
        if ns.enabled:
            return -errno.EBUSY
        if ns.nstype not in (3, 5):
            return 0
        rc = self.namespace_set_size(ns, 0)
        # An already deleted namespace has no uuid: ENXIO, which is fine for size 0.
        return 0 if rc in (0, -errno.ENXIO) else rc

    # -- btt, pfn and dax devices --------------------------------------------------------------
    def claim_enable(self, claim: NdClaim) -> int:
        if claim.enabled:
            return 0
        self.bind(claim.devname)
        if not claim.enabled:
            function = f"ndctl_{claim.kind}_enable"
            self._err(function, f"{claim.devname}: failed to enable\n")
            return -errno.ENXIO
        return 0

    def claim_delete(self, claim: NdClaim) -> int:
        """Unbind, then let go of the namespace (the kernel may remove the device)."""
        self.unbind(claim.path)
        return self.write(claim.path + "/namespace", "\n")


def _dax_has_online_memory(root: Root, claim: NdClaim) -> bool:
    region = claim.dax_region(DaxSystem(root))
    for dev in region.devices:
        state = dev.memory if dev.has_memory else None
        if state is not None and state.online > 0:
            return True
    return False


def _exclusive_open(root: Root, bdev: str) -> int:
    """0 when nothing holds the disk (it is not mounted), else the errno of the open."""
    if root.simulated:
        return 0  # nothing mounts a simulated system's disks
    try:
        fd = os.open(root.host(f"{paths.DEV}/{bdev}"), os.O_RDWR | os.O_EXCL)
    except OSError as e:
        stop = root.needs_root(e.errno, f"{paths.DEV}/{bdev}", "open")
        if stop:
            raise stop from None
        return e.errno or errno.EBUSY
    os.close(fd)
    return 0
