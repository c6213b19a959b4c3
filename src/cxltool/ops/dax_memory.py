"""The memory blocks of a system-ram dax device: count, online, offline, zone.

Like libdaxctl, every question walks the target node's directory
(`/sys/devices/system/node/nodeN`, in directory order) and takes the `memoryK`
entries whose `phys_index` x block size lies inside the device's
[resource, resource + size - 1]. Onlining writes `online_movable` (or `online`
for ZONE_NORMAL) to each offline block's `state`, offlining writes `offline`
to each online one after checking `removable`; a failed write counts as done
when the block reached the wanted state anyway. Every walk reads the states
afresh, so other agents onlining memory meanwhile are seen as daxctl sees them.

Problems are reported as libdaxctl reports them (`libdaxctl: <function>: ...`)
through the `log` callable; results are block counts or negative errnos.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

from cxltool.objects import cparse
from cxltool.objects.dax import DaxDevice
from cxltool.sysfs import Root, SysfsError, paths
from cxltool.sysfs.root import stop_if_refused_read

Log = Callable[[str], None]
Progress = Callable[[int, int], None]

MOVABLE = "Movable"
NORMAL = "Normal"
MIXED = "mixed"
# What daxctl writes to a block's state to online it into each zone.
ONLINE_STATE = {MOVABLE: "online_movable", NORMAL: "online"}
_SKIP = 1  # a visit that does not count the block


def _why(err: int) -> str:
    return os.strerror(err)


class DeviceMemory:
    """libdaxctl's memory object of one system-ram device."""

    def __init__(self, root: Root, dev: DaxDevice, log: Log) -> None:
        self.root = root
        self.dev = dev
        self.name = dev.name
        self.log = log
        self.node_path = f"{paths.NODE}/node{dev.target_node}" if dev.target_node >= 0 else None
        self.block_size = self._read_block_size()
        self.zone: str | None = None
        self._phys: dict[str, int | None] = {}
        self.progress: Progress | None = None

    def _lib(self, function: str, message: str) -> None:
        self.log(f"libdaxctl: {function}: {self.name}: {message}")

    def _read_block_size(self) -> int:
        text = self.root.read_opt(paths.MEMORY + "/block_size_bytes")
        if text is None:
            return 0
        value = cparse.strtoull(text, 16)
        if value == 0 or value == cparse.ULLONG_MAX:
            # strtoul sets errno only on overflow; otherwise the stale errno
            # daxctl prints is EINVAL.
            why = _why(errno.ERANGE if value else errno.EINVAL)
            self._lib("daxctl_dev_alloc_mem", f"Unable to determine memblock size: {why}")
            return 0
        return value

    # -- the walk --------------------------------------------------------------------
    def _walk(self, visit: Callable[[str], int]) -> int:
        """Blocks of the device for which visit() returns 0; a negative return stops."""
        if self.node_path is None:
            self._lib("daxctl_memory_op", "Failed to get node_path")
            return -errno.ENXIO
        try:
            names = self.root.listdir(self.node_path)
        except SysfsError as e:
            return -e.errno
        entries = [n for n in names if n.startswith("memory") and not n.startswith("memory_")]
        count = 0
        for done, name in enumerate(entries, 1):
            rc = self._in_device(name)
            if rc < 0:
                return rc
            if rc:
                rc = visit(name)
                if rc < 0:
                    return rc
                if rc == 0:
                    count += 1
            if self.progress is not None:
                self.progress(done, len(entries))
        return count

    def _in_device(self, name: str) -> int:
        if name not in self._phys:
            path = f"{paths.MEMORY}/{name}/phys_index"
            try:
                text = self.root.read(path)
            except SysfsError as e:
                why = _why(e.errno)
                self._lib("memblock_in_dev", f"{name}: Unable to determine phys_index: {why}")
                return -e.errno
            value = cparse.strtoull(text, 16)
            if value == cparse.ULLONG_MAX:
                self._lib(
                    "memblock_in_dev",
                    f"{name}: Unable to determine phys_index: {_why(errno.ERANGE)}",
                )
                return -errno.ERANGE
            self._phys[name] = value
        start = self.dev.resource
        if not start:
            # Only root may read a dax device's resource: a user should hear that.
            stop_if_refused_read(self.root, self.dev.path + "/resource")
            self._lib("memblock_in_dev", "Unable to determine resource")
            return -errno.EACCES
        if not self.block_size:
            self._lib("memblock_in_dev", "Unable to determine memory block size")
            return -errno.ENXIO
        address = (self._phys[name] * self.block_size) & cparse.ULLONG_MAX
        end = (start + self.dev.size - 1) & cparse.ULLONG_MAX
        return 1 if start <= address <= end else 0

    def _state_path(self, name: str, attr: str) -> str:
        return f"{self.node_path}/{name}/{attr}"

    def _is_online(self, name: str) -> int:
        path = self._state_path(name, "state")
        try:
            text = self.root.read(path)
        except SysfsError as e:
            self._lib("memblock_is_online", f"Failed to read {path}: {_why(e.errno)}")
            return -e.errno
        return 1 if text.startswith("online") else 0

    def _write(self, path: str, value: str) -> int:
        try:
            self.root.write(path, value)
        except SysfsError as e:
            return -e.errno
        return 0

    # -- questions -------------------------------------------------------------------
    def num_sections(self) -> int:
        return self._walk(lambda _name: 0)

    def num_online(self) -> int:
        def visit(name: str) -> int:
            rc = self._is_online(name)
            return rc if rc < 0 else (0 if rc else _SKIP)

        return self._walk(visit)

    def _find_zone(self, inconsistent: list[bool]) -> Callable[[str], int]:
        def visit(name: str) -> int:
            rc = self._is_online(name)
            if rc <= 0:
                return rc if rc < 0 else -errno.ENXIO
            path = self._state_path(name, "valid_zones")
            try:
                text = self.root.read(path)
            except SysfsError as e:
                self._lib("memblock_find_zone", f"Failed to read {path}: {_why(e.errno)}")
                return -e.errno
            zone = text if text in (MOVABLE, NORMAL) else MIXED
            if self.zone is None:
                self.zone = zone
            elif self.zone != zone:
                inconsistent[0] = True
            return 0

        return visit

    def scan_zone(self) -> int:
        """Find the zone all online blocks share (self.zone); a count or negative errno."""
        self.zone = None
        inconsistent = [False]
        rc = self._walk(self._find_zone(inconsistent))
        if inconsistent[0]:
            self.zone = MIXED
        return rc

    def is_movable(self) -> int:
        rc = self.scan_zone()
        if rc < 0:
            return rc
        return 1 if self.zone == MOVABLE else 0

    # -- changes ---------------------------------------------------------------------
    def online(self, zone: str) -> int:
        """Online the offline blocks into `zone`; blocks onlined, or a negative errno."""
        state = ONLINE_STATE[zone]

        def visit(name: str) -> int:
            rc = self._is_online(name)
            if rc:
                return rc
            rc = self._write(self._state_path(name, "state"), state)
            if rc and self._is_online(name) == 1:
                return 0  # someone else onlined it; the zone check below tells
            return rc

        rc = self._walk(visit)
        if rc:
            return rc
        # Nothing was onlined here: see whether another agent put the memory
        # somewhere else.
        rc = self.scan_zone()
        if rc < 0:
            return rc
        if self.zone != zone:
            self.log(
                f"libdaxctl: daxctl_memory_online_with_zone: {self.name}:\n"
                "  WARNING: detected a race while onlining memory\n"
                "  See 'man daxctl-reconfigure-device' for more details"
            )
            return -errno.EBUSY
        return rc

    def offline(self) -> int:
        """Offline the online blocks; blocks offlined, or a negative errno."""

        def visit(name: str) -> int:
            rc = self._is_online(name)
            if rc < 0:
                return rc
            if not rc:
                return _SKIP
            removable = self._state_path(name, "removable")
            try:
                text = self.root.read(removable)
            except SysfsError as e:
                self._lib("memblock_is_removable", f"Failed to read {removable}: {_why(e.errno)}")
                return -e.errno
            if cparse.strtoull(text) == 0:
                self._lib("offline_one_memblock", f"{name} is unremovable")
                return -errno.EOPNOTSUPP
            path = self._state_path(name, "state")
            rc = self._write(path, "offline")
            if rc:
                if not self._is_online(name):
                    return _SKIP
                self._lib("offline_one_memblock", f"Failed to offline {path}: {_why(-rc)}")
            return rc

        return self._walk(visit)
