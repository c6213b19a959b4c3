"""Dax regions, dax devices, their mappings and memory blocks, as daxctl sees them.

daxctl learns about regions only through their devices: every `daxR.N` in the
dax class or on the dax bus names a region (the device's parent directory) that
holds a `dax_region/` attribute group. A device counts only when its /dev node
exists and its `size` is readable. Regions and devices are listed newest
discovered first, because libdaxctl pushes each one onto the head of its list;
scripts see that order, so it is kept here.

Problems daxctl's library reports on stderr (`libdaxctl: <function>: ...`) are
passed to a `log` callable with the same text, so a caller can print them where
daxctl would.

Every attribute is read at most once per DaxSystem, and a memory block's files
are read once however many devices and questions involve it.
"""

from __future__ import annotations

import bisect
import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from cxltool.objects import cparse
from cxltool.sysfs import Root, SysfsError, paths

Log = Callable[[str], None]

ULONG_MAX = cparse.ULLONG_MAX
_ATTRS = "dax_region"
_DEVNO_ATTR = "dev"
# Drivers on the dax bus, by the mode daxctl reports for a device bound to them.
DRIVER_MODES = {"kmem": "system-ram", "device_dax": "devdax", "fsdev_dax": "famfs"}
ZONE_MOVABLE = "Movable"
ZONE_NORMAL = "Normal"


def _quiet(_message: str) -> None:
    pass


def _strerror(err: int) -> str:
    return os.strerror(err)


class DaxSystem:
    """What daxctl finds on one root: regions, their devices, memory blocks."""

    def __init__(self, root: Root, log: Log | None = None) -> None:
        self.root = root
        self.log = log or _quiet
        self._regions_by_path: dict[str, DaxRegion] = {}
        self._discovered: list[DaxRegion] | None = None

    def _lib(self, function: str, message: str) -> None:
        self.log(f"libdaxctl: {function}: {message}")

    # -- regions -------------------------------------------------------------
    def regions(self) -> list[DaxRegion]:
        """All regions reachable from a dax device, in daxctl's order."""
        if self._discovered is None:
            found: list[DaxRegion] = []
            seen: set[str] = set()
            for top, levels in ((paths.CLASS_DAX, 2), (paths.DAX_DEVICES, 1)):
                for name in self.root.listdir_opt(top):
                    ids = cparse.scan_int_pair(name, "dax")
                    if ids is None:
                        continue
                    region_path = self._region_path_of(top + "/" + name, levels)
                    if region_path is None:
                        self._lib("__dax_regions_init", "dax region path allocation failure")
                        continue
                    region = self.region_at(region_path, ids[0])
                    if region.path not in seen:
                        seen.add(region.path)
                        found.append(region)
            found.reverse()
            self._discovered = found
        return self._discovered

    def _region_path_of(self, device_link: str, levels: int) -> str | None:
        # The region is the device's parent (bus model) or grandparent (class
        # model: <region>/dax/daxR.N).
        try:
            real = self.root.realpath(device_link)
        except SysfsError:
            return None
        if not self.root.exists(real):
            return None
        for _ in range(levels):
            real = paths.dirname(real)
        return real

    def region_at(self, path: str, region_id: int) -> DaxRegion:
        """The region whose device directory is `path` (made on first use)."""
        region = self._regions_by_path.get(path)
        if region is None:
            region = DaxRegion(self, path, region_id)
            self._regions_by_path[path] = region
        return region

    # -- memory --------------------------------------------------------------
    @cached_property
    def memory(self) -> MemoryBlocks:
        return MemoryBlocks(self.root)


class DaxRegion:
    """A dax region: the device directory holding `dax_region/`."""

    def __init__(self, system: DaxSystem, path: str, region_id: int) -> None:
        self.system = system
        self.root = system.root
        self.path = path
        self.id = region_id
        # libdaxctl reads these two when it first meets the region.
        self.size = self._attr_number("size")
        self.align = self._attr_number("align")

    def __repr__(self) -> str:
        return f"DaxRegion({self.path!r}, id={self.id})"

    @property
    def devname(self) -> str:
        return paths.basename(self.path)

    def _attr_number(self, name: str) -> int:
        # All-ones stands for "unreadable", as in libdaxctl.
        text = self.root.read_opt(f"{self.path}/{_ATTRS}/{name}")
        return ULONG_MAX if text is None else cparse.strtoull(text)

    @property
    def size_known(self) -> bool:
        return self.size < ULONG_MAX

    @property
    def align_known(self) -> bool:
        return self.align < ULONG_MAX

    @cached_property
    def available_size(self) -> int:
        """Bytes not yet given to a device; 0 when unreadable or malformed."""
        text = self.root.read_opt(f"{self.path}/{_ATTRS}/available_size")
        if not text:
            return 0
        value, end = cparse.strtoull_end(text)
        return value if end == len(text) else 0

    @cached_property
    def devices(self) -> list[DaxDevice]:
        """The region's devices in daxctl's order."""
        found: list[DaxDevice] = []
        seen: set[int] = set()
        prefix = f"dax{self.id}."
        # Bus-model devices are children of the region; class-model ones sit
        # in its dax/ subdirectory.
        for base in (self.path, self.path + "/dax"):
            try:
                names = self.root.listdir(base)
            except SysfsError:
                continue
            for name in names:
                dev_id = cparse.scan_int(name, prefix)
                if dev_id is None:
                    continue
                # Like libdaxctl, probe first: a second entry with a known id
                # is read, then dropped.
                dev = DaxDevice.probe(self, dev_id, f"{base}/{name}")
                if dev is None:
                    self.system._lib("__sysfs_device_parse", f"{prefix}{dev_id}: add_dev() failed")
                elif dev_id not in seen:
                    seen.add(dev_id)
                    found.append(dev)
        found.reverse()
        return found


@dataclass(frozen=True)
class Mapping:
    """One physical range of a dax device (`mappingN/`)."""

    page_offset: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return (self.end - self.start + 1) & ULONG_MAX


@dataclass(frozen=True)
class MemoryState:
    """The memory blocks of a system-ram device, as daxctl counts them.

    `online` and `total` are negative errnos when daxctl's walk of the node
    failed (it prints them as they are); `movable` is None when unknown
    (a block offline, or the walk failed).
    """

    online: int
    total: int
    movable: bool | None


class DaxDevice:
    """A dax device `daxR.N` and what daxctl reads of it when listing."""

    def __init__(self, region: DaxRegion, dev_id: int, path: str) -> None:
        self.region = region
        self.system = region.system
        self.root = region.root
        self.id = dev_id
        self.path = path
        self.name = paths.basename(path)
        self.resource = 0
        self.size = 0
        self.align = 0
        self.target_node = -1

    def __repr__(self) -> str:
        return f"DaxDevice({self.name!r})"

    @classmethod
    def probe(cls, region: DaxRegion, dev_id: int, path: str) -> DaxDevice | None:
        """The device at `path`, or None where daxctl would not list it."""
        dev = cls(region, dev_id, path)
        root = dev.root
        if not _node_exists(root, dev.node_path):
            return None
        text = root.read_opt(path + "/resource")
        if text is not None:
            dev.resource = cparse.strtoull(text)
        else:
            dev.resource = _iomem_resource(dev.system, dev.name)
        text = root.read_opt(path + "/size")
        if text is None:
            return None
        dev.size = cparse.strtoull(text)
        text = root.read_opt(path + "/align")
        dev.align = cparse.strtoull(text) if text is not None else 0
        text = root.read_opt(path + "/target_node")
        dev.target_node = cparse.to_int32(cparse.strtol(text)) if text is not None else -1
        return dev

    @property
    def node_path(self) -> str:
        return paths.DEV + "/" + self.name

    # -- driver and mode -----------------------------------------------------
    @cached_property
    def _bus_model_error(self) -> str | None:
        """None when the device lives on the dax bus, else why not (may be "")."""
        root = self.root
        # The node's device number is not a sysfs attribute, so this looks at
        # the node itself, where the root keeps it.
        node = root.host(self.node_path)
        try:
            st = os.lstat(node)
        except OSError as e:
            why = _strerror(e.errno or errno.EIO)
            return f"{self.name}: stat for {self.node_path} failed: {why}"
        if stat.S_ISCHR(st.st_mode):
            devno = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        elif stat.S_ISREG(st.st_mode):
            # A simulated tree made without CAP_MKNOD holds a plain file in the
            # node's place; the device number is the one sysfs declares.
            devno = root.read_opt(f"{self.path}/{_DEVNO_ATTR}") or "0:0"
        else:
            devno = "0:0"
        link = f"{paths.SYS_DEV_CHAR}/{devno}/subsystem"
        try:
            resolved = root.realpath(link)
        except SysfsError as e:
            resolved, err = None, e.errno
        else:
            err = errno.ENOENT
            if not root.exists(resolved):
                resolved = None
        if resolved is None:
            return f"{self.name}:  unable to determine subsys: {_strerror(err)}"
        return None if resolved == paths.DAX_BUS else ""

    def _on_dax_bus(self) -> bool:
        why = self._bus_model_error
        if why:
            self.system._lib("device_model_is_dax_bus", why)
        return why is None

    @cached_property
    def _driver(self) -> str | None:
        """Name of the bound driver (basename of the link's target), or None."""
        link = self.path + "/driver"
        if not self.root.islink(link):
            return None
        try:
            return paths.basename(self.root.realpath(link))
        except SysfsError:
            return ""

    @cached_property
    def enabled(self) -> bool:
        # Class-model devices have no driver link and always count as enabled.
        if not self._on_dax_bus():
            return True
        return self._driver is not None

    @cached_property
    def system_ram(self) -> bool:
        """Bound to kmem on the dax bus: the memory is (or can be) System RAM."""
        if not self._on_dax_bus():
            return False
        return self._driver == "kmem"

    @cached_property
    def mode(self) -> str:
        """system-ram, famfs or devdax (also for an unbound device)."""
        if self._bus_model_error is not None:
            return "devdax"
        return DRIVER_MODES.get(self._driver or "", "devdax")

    # -- mappings ------------------------------------------------------------
    @cached_property
    def mappings(self) -> list[Mapping]:
        """mapping0, mapping1, ... up to the first that cannot be read."""
        found = []
        read = self.root.read_opt
        while True:
            base = f"{self.path}/mapping{len(found)}"
            start = read(base + "/start")
            end = read(base + "/end") if start is not None else None
            pgoff = read(base + "/page_offset") if end is not None else None
            if pgoff is None:
                return found
            found.append(
                Mapping(cparse.strtoull(pgoff), cparse.strtoull(start), cparse.strtoull(end))
            )

    # -- memory --------------------------------------------------------------
    @cached_property
    def has_memory(self) -> bool:
        """A system-ram device: libdaxctl gives it a memory object."""
        if not self.system_ram:
            return False
        memory = self.system.memory
        if memory.block_size_problem:
            self.system._lib(
                "daxctl_dev_alloc_mem",
                f"{self.name}: Unable to determine memblock size: {memory.block_size_problem}",
            )
        return True

    @cached_property
    def memory(self) -> MemoryState | None:
        """Block counts of a system-ram device with a known resource, else None."""
        if not self.has_memory or self.resource == 0:
            return None
        walk = _MemoryWalk(self, self.system.memory)
        total = walk.count()
        online = walk.count_online()
        zone = walk.zone()
        return MemoryState(online, total, None if zone is None else zone == ZONE_MOVABLE)


# -- memory blocks -----------------------------------------------------------
class MemoryBlocks:
    """The memory block directory and the blocks each node lists, read once."""

    def __init__(self, root: Root) -> None:
        self.root = root
        self._nodes: dict[int, NodeBlocks] = {}
        self._files: dict[str, str | int] = {}

    @cached_property
    def _block_size_text(self) -> str | None:
        return self.root.read_opt(paths.MEMORY + "/block_size_bytes")

    @cached_property
    def block_size(self) -> int:
        """Bytes per block; 0 when unreadable or nonsensical."""
        text = self._block_size_text
        value = cparse.strtoull(text, 16) if text is not None else 0
        return 0 if value == ULONG_MAX else value

    @property
    def block_size_problem(self) -> str | None:
        """libdaxctl's complaint about a block size it read but cannot use."""
        text = self._block_size_text
        if text is None or self.block_size:
            return None
        # strtoul() sets errno only on overflow; otherwise daxctl prints a
        # stale errno, which is EINVAL when it lists (observed with 76.1).
        overflow = cparse.strtoull(text, 16) == ULONG_MAX
        return _strerror(errno.ERANGE if overflow else errno.EINVAL)

    def read(self, path: str) -> str | int:
        """A block attribute's text, or the errno its read failed with."""
        value = self._files.get(path)
        if value is None:
            try:
                value = self.root.read(path)
            except SysfsError as e:
                value = e.errno
            self._files[path] = value
        return value

    def node(self, node_id: int) -> NodeBlocks:
        blocks = self._nodes.get(node_id)
        if blocks is None:
            blocks = NodeBlocks(self, node_id)
            self._nodes[node_id] = blocks
        return blocks


class NodeBlocks:
    """The `memoryK` entries of one node directory, indexed by address.

    daxctl walks the node directory once per question and per device; the walk
    is replayed here from an index so that thousands of blocks and devices
    cost n log n, with the same answers, errors and messages.
    """

    def __init__(self, memory: MemoryBlocks, node_id: int) -> None:
        self.memory = memory
        self.path = f"{paths.NODE}/node{node_id}"
        self.open_errno = 0
        self.names: list[str] = []
        try:
            entries = memory.root.listdir(self.path)
        except SysfsError as e:
            self.open_errno = e.errno
            entries = []
        self.names = [n for n in entries if n.startswith("memory") and not n.startswith("memory_")]
        self._index()

    def _index(self) -> None:
        block_size = self.memory.block_size
        # Where every walk stops: the first entry whose phys_index cannot be
        # read (or any entry at all, when the block size is unknown).
        self.stop: int | None = None
        self.stop_rc = 0
        self.stop_message = ""
        keyed: list[tuple[int, int]] = []
        for pos, name in enumerate(self.names):
            text = self.memory.read(f"{paths.MEMORY}/{name}/phys_index")
            if isinstance(text, int):
                why = _strerror(text)
                self._stop_at(pos, -text, f"{name}: Unable to determine phys_index: {why}")
                break
            phys = cparse.strtoull(text, 16)
            if phys == ULONG_MAX:
                self._stop_at(
                    pos,
                    -errno.ERANGE,
                    f"{name}: Unable to determine phys_index: {_strerror(errno.ERANGE)}",
                )
                break
            if not block_size:
                self._stop_at(pos, -errno.ENXIO, "Unable to determine memory block size")
                break
            keyed.append(((phys * block_size) & ULONG_MAX, pos))
        keyed.sort()
        self._addresses = [a for a, _ in keyed]
        self._positions = [p for _, p in keyed]

    def _stop_at(self, pos: int, rc: int, message: str) -> None:
        self.stop, self.stop_rc, self.stop_message = pos, rc, message

    def in_range(self, first: int, last: int) -> list[int]:
        """Positions (directory order) of blocks whose address is in [first, last]."""
        if last < first:
            return []
        lo = bisect.bisect_left(self._addresses, first)
        hi = bisect.bisect_right(self._addresses, last)
        return sorted(self._positions[lo:hi])


class _MemoryWalk:
    """daxctl's three walks of a node for one device: count, online, zone."""

    def __init__(self, dev: DaxDevice, memory: MemoryBlocks) -> None:
        self.dev = dev
        self.memory = memory
        self.node = memory.node(dev.target_node) if dev.target_node >= 0 else None
        if self.node is not None and not self.node.open_errno:
            last = (dev.resource + dev.size - 1) & ULONG_MAX
            self.blocks = self.node.in_range(dev.resource, last)
        else:
            self.blocks = []

    def _log(self, function: str, message: str) -> None:
        self.dev.system._lib(function, f"{self.dev.name}: {message}")

    def _walk(self, visit: Callable[[str], int]) -> int:
        """Count blocks for which visit() returns 0; a negative return ends the walk."""
        node = self.node
        if node is None:
            self._log("daxctl_memory_op", "Failed to get node_path")
            return -errno.ENXIO
        if node.open_errno:
            return -node.open_errno
        count = 0
        for pos in self.blocks:
            rc = visit(node.names[pos])
            if rc < 0:
                return rc
            if rc == 0:
                count += 1
        if node.stop is not None:
            self._log("memblock_in_dev", node.stop_message)
            return node.stop_rc
        return count

    def _state(self, name: str) -> int:
        """1 online, 0 not, or a negative errno (logged)."""
        path = f"{self.node.path}/{name}/state"
        text = self.memory.read(path)
        if isinstance(text, int):
            self._log("memblock_is_online", f"Failed to read {path}: {_strerror(text)}")
            return -text
        return 1 if text.startswith("online") else 0

    def count(self) -> int:
        return self._walk(lambda _name: 0)

    def count_online(self) -> int:
        def visit(name: str) -> int:
            rc = self._state(name)
            return rc if rc < 0 else (0 if rc else 1)

        return self._walk(visit)

    def zone(self) -> str | None:
        """The zone all blocks are online in ("mixed" when they differ or are
        in another zone, "" when there are none); None when a block is offline
        or unreadable."""
        zones: list[str] = []

        def visit(name: str) -> int:
            rc = self._state(name)
            if rc <= 0:
                return rc if rc < 0 else -errno.ENXIO
            path = f"{self.node.path}/{name}/valid_zones"
            text = self.memory.read(path)
            if isinstance(text, int):
                self._log("memblock_find_zone", f"Failed to read {path}: {_strerror(text)}")
                return -text
            zones.append(text if text in (ZONE_MOVABLE, ZONE_NORMAL) else "mixed")
            return 0

        if self._walk(visit) < 0:
            return None
        if not zones:
            return ""
        return zones[0] if all(z == zones[0] for z in zones) else "mixed"


# -- helpers -----------------------------------------------------------------
def _node_exists(root: Root, node_path: str) -> bool:
    # stat(), not lstat(): a link to a node will do. Root.exists() would
    # accept a dangling link, which libdaxctl does not.
    try:
        os.stat(root.host(node_path))
    except OSError:
        return False
    return True


def _iomem_resource(system: DaxSystem, devname: str) -> int:
    """A device's start from /proc/iomem, libdaxctl's fallback for `resource`."""
    root = system.root
    try:
        text = root.read_bytes(paths.PROC_IOMEM).decode(errors="replace")
    except SysfsError as e:
        # A simulated tree need not carry a /proc; the real one always does.
        if root.base and e.errno == errno.ENOENT:
            return 0
        why = _strerror(e.errno)
        system._lib("__iomem_get_dev_resource", f"{devname}: open {paths.PROC_IOMEM}: {why}")
        return 0
    for line in text.splitlines():
        start, sep, rest = line.strip().partition("-")
        _end, colon, name = rest.partition(":")
        if not sep or not colon or not start:
            break
        if name.strip(" \t")[:254].rstrip() == devname:
            return cparse.strtoull(start, 16)
    return 0
