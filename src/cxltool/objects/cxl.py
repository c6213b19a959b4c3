"""Read-only views of the kernel's CXL objects, found the way libcxl finds them.

`CxlSystem(root)` is the entry point. Objects exist only where libcxl would create
one (a memdev needs its /dev/cxl/memN node and a resolvable device path, a port its
`uport` link, a region a readable, valid `uuid`, ...), lists come in libcxl's order
(most are the reverse of directory order; decoders sorted by id, regions by start
address; decoder targets and region mappings reversed), and attribute values are
parsed with the C rules libcxl applies. Each attribute is read at most once, when
first needed. Paths held by objects are the kernel's real device paths.

libcxl reports some enumeration failures on stderr; they are collected, in the
same wording, in `CxlSystem.messages`.
"""

from __future__ import annotations

import errno as _errno
import os

from cxltool.objects.cparse import (
    UINT_MAX,
    ULLONG_MAX,
    atoi,
    scan_int,
    strtol,
    strtoul_uint,
    strtoull,
    to_int32,
)
from cxltool.sysfs import Root, SysfsError, paths
from cxltool.sysfs.mailbox import Mailbox, memdev_mailbox

QOS_CLASS_NONE = -1
DECODE_UNKNOWN, DECODE_RESET, DECODE_COMMIT = -1, 0, 1

# Protocol error types libcxl knows, by the code debugfs `einj_types` lists.
_PROTOCOL_ERRORS = {
    0x1000: "cache-correctable",
    0x2000: "cache-uncorrectable",
    0x4000: "cache-fatal",
    0x8000: "mem-correctable",
    0x10000: "mem-uncorrectable",
    0x20000: "mem-fatal",
}


class cached_property:  # noqa: N801 - used like functools.cached_property
    """A value computed on first access and then kept in the instance.

    functools.cached_property takes a lock on every first access (Python 3.11);
    a listing computes tens of thousands of these, and objects are not shared
    between threads, so this one does without.
    """

    def __init__(self, fn) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _dirname(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def resolve_link(root: Root, path: str) -> str | None:
    """What realpath(3) gives for a sysfs link whose directory is a real path.

    sysfs links point at real device directories, so joining the link text to
    the link's directory is the resolved path; that costs one readlink instead of
    a walk over every path component. None where the target does not exist.
    """
    for _ in range(8):
        try:
            target = root.readlink(path)
        except SysfsError as e:
            # EINVAL: not a link, so the path is its own real path.
            return path if e.errno == _errno.EINVAL else None
        if not target.startswith("/"):
            target = _dirname(path) + "/" + target
        path = os.path.normpath(target)
    return None


def _uuid_ok(text: str) -> bool:
    # uuid_parse(): 36 characters, dashes at 8, 13, 18 and 23, hex digits elsewhere.
    if len(text) != 36:
        return False
    for i, ch in enumerate(text):
        if i in (8, 13, 18, 23):
            if ch != "-":
                return False
        elif ch not in "0123456789abcdefABCDEF":
            return False
    return True


class CxlSystem:
    """The CXL objects of one system root."""

    def __init__(self, root: Root) -> None:
        self.root = root
        # Bound once: attribute reads are the hot path of every listing.
        self.read_opt = root.read_opt
        self.messages: list[str] = []
        self._ports_by_path: dict[str, Port] = {}

    def log_error(self, function: str, message: str) -> None:
        """Record a libcxl error line (`libcxl: <function>: <message>`)."""
        self.messages.append(f"libcxl: {function}: {message}\n")

    def add_failed(self, name: str) -> None:
        self.log_error("__sysfs_device_parse", f"{name}: add_dev() failed")

    @cached_property
    def _bus_listing(self) -> list[str]:
        return self.root.listdir_opt(paths.CXL_DEVICES)

    # -- memdevs -----------------------------------------------------------
    @cached_property
    def memdevs(self) -> list[Memdev]:
        """Memory devices, in libcxl's order (reverse of directory order)."""
        found: dict[int, Memdev] = {}
        for name in self._bus_listing:
            mid = scan_int(name, "mem")
            if mid is None:
                continue
            memdev = Memdev.create(self, mid, name)
            if memdev is None:
                self.add_failed(f"mem{mid}")
            elif mid not in found:
                found[mid] = memdev
        return list(reversed(found.values()))

    @cached_property
    def _memdevs_by_name(self) -> dict[str, Memdev]:
        by_name: dict[str, Memdev] = {}
        for m in self.memdevs:
            by_name.setdefault(m.name, m)
        return by_name

    def memdev_named(self, name: str) -> Memdev | None:
        return self._memdevs_by_name.get(name)

    # -- buses and ports ---------------------------------------------------
    @cached_property
    def buses(self) -> list[Bus]:
        """CXL roots, in libcxl's order (reverse of directory order)."""
        found: dict[int, Bus] = {}
        for name in self._bus_listing:
            bid = scan_int(name, "root")
            if bid is None:
                continue
            path = resolve_link(self.root, paths.CXL_DEVICES + "/" + name)
            bus = Bus.create(self, bid, path) if path else None
            if bus is None:
                self.add_failed(f"root{bid}")
            elif bid not in found:
                found[bid] = bus
        return list(reversed(found.values()))

    def register_port(self, port: Port) -> None:
        self._ports_by_path.setdefault(port.path, port)

    def _port_at(self, path: str, depth: int = 0) -> Port | None:
        port = self._ports_by_path.get(path)
        if port is not None or depth > 64 or len(path) <= len(paths.SYS_DEVICES):
            return port
        parent = self._port_at(_dirname(path), depth + 1)
        if parent is None:
            return None
        # Listing the parent's children registers them.
        parent.child_ports  # noqa: B018
        parent.endpoints  # noqa: B018
        return self._ports_by_path.get(path)

    def iter_ports(self, top: Port):
        """Ports below `top`, depth first, as libcxl's foreach_all visits them."""
        for child in top.child_ports:
            yield child
            yield from self.iter_ports(child)

    def decoder_named(self, name: str) -> Decoder | None:
        """The decoder called `name` (as a region's `targetN` names it)."""
        if not name or "/" in name or name in (".", ".."):
            return None
        self.buses  # noqa: B018 - buses register the tops of the port tree
        path = resolve_link(self.root, paths.CXL_DEVICES + "/" + name)
        if path is None:
            return None
        port = self._port_at(_dirname(path))
        if port is None:
            return None
        for decoder in port.decoders:
            if decoder.name == name:
                return decoder
        return None

    @cached_property
    def _endpoints_by_host(self) -> dict[str, Endpoint]:
        # The first endpoint naming the memdev as its host, in libcxl's search
        # order: a port's own endpoints before those of its child ports.
        index: dict[str, Endpoint] = {}

        def visit(port: Port) -> None:
            for ep in port.endpoints:
                index.setdefault(ep.host, ep)
            for child in port.child_ports:
                visit(child)

        for bus in self.buses:
            visit(bus)
        return index

    def endpoint_of(self, memdev: Memdev) -> Endpoint | None:
        """The endpoint port of an enabled memdev."""
        if not memdev.enabled:
            return None
        return self._endpoints_by_host.get(memdev.name)

    @cached_property
    def dax(self):
        """The dax side of the same system (regions' `dax_regionN` devices)."""
        # Imported here: only listings with dax information need it.
        from cxltool.objects.dax import DaxSystem

        return DaxSystem(self.root, lambda line: self.messages.append(line + "\n"))

    # -- debugfs -----------------------------------------------------------
    @cached_property
    def debugfs(self) -> str | None:
        """The CXL debugfs directory, or None where there is none.

        A simulated system has no debugfs. On the real root it is `cxl` under the
        first debugfs mount, when that exists and is accessible.
        """
        if self.root.base:
            return None
        try:
            table = self.root.read_bytes(paths.PROC_MOUNTS).decode(errors="replace")
        except SysfsError:
            return None
        for line in table.splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "debugfs":
                mnt = fields[1].replace("\\040", " ").replace("\\011", "\t")
                cxl = mnt.rstrip("/") + "/cxl"
                return cxl if self.root.exists(cxl) else None
        return None

    @cached_property
    def protocol_errors(self) -> list[str]:
        """Names of the protocol errors debugfs says can be injected."""
        if self.debugfs is None:
            return []
        path = self.debugfs + "/einj_types"
        if not self.root.exists(path):
            return []
        try:
            text = self.root.read(path)
        except SysfsError as e:
            self.log_error("cxl_add_protocol_errors", f"failed to read {path}: {e.strerror}")
            return []
        names = []
        for line in text.split("\n"):
            word = line.strip(" ").split(" ", 1)[0]
            if not word:
                continue
            code = strtoull(word, 16)
            if code in _PROTOCOL_ERRORS:
                names.append(_PROTOCOL_ERRORS[code])
        return names


class Memdev:
    """A CXL memory device (`memN`)."""

    def __init__(self, system: CxlSystem, mid: int, name: str, path: str) -> None:
        self.system = system
        self.id = mid
        self.name = name
        self.path = path
        self.host_path = _dirname(path)
        self.host = _basename(self.host_path)

    @classmethod
    def create(cls, system: CxlSystem, mid: int, name: str) -> Memdev | None:
        root = system.root
        # libcxl drops a memdev whose character device node is missing.
        if not root.exists(paths.DEV_CXL + "/" + name):
            return None
        path = resolve_link(root, paths.CXL_DEVICES + "/" + name)
        if path is None:
            return None
        return cls(system, mid, name, path)

    def __repr__(self) -> str:
        return f"Memdev({self.name})"

    def _attr(self, name: str) -> str | None:
        return self.system.read_opt(self.path + "/" + name)

    @cached_property
    def enabled(self) -> bool:
        return self.system.root.islink(self.path + "/driver")

    @cached_property
    def pmem_size(self) -> int:
        v = self._attr("pmem/size")
        return strtoull(v) if v is not None else 0

    @cached_property
    def ram_size(self) -> int:
        v = self._attr("ram/size")
        return strtoull(v) if v is not None else 0

    @cached_property
    def pmem_qos_class(self) -> int:
        v = self._attr("pmem/qos_class")
        return atoi(v) if v is not None else QOS_CLASS_NONE

    @cached_property
    def ram_qos_class(self) -> int:
        v = self._attr("ram/qos_class")
        return atoi(v) if v is not None else QOS_CLASS_NONE

    @cached_property
    def serial(self) -> int:
        """The serial number; ULLONG_MAX when unreadable."""
        v = self._attr("serial")
        return strtoull(v) if v is not None else ULLONG_MAX

    @cached_property
    def numa_node(self) -> int:
        v = self._attr("numa_node")
        return to_int32(strtol(v)) if v is not None else -1

    @cached_property
    def firmware_version(self) -> str | None:
        return self._attr("firmware_version")

    @property
    def endpoint(self) -> Endpoint | None:
        return self.system.endpoint_of(self)

    @cached_property
    def mailbox(self) -> Mailbox:
        """The device's mailbox; what its failures make libcxl print goes to `messages`."""
        return memdev_mailbox(self.system.root, self.name, self.path, self.system.log_error)

    @cached_property
    def poison_injectable(self) -> bool | None:
        """None without a CXL debugfs dir; else whether poison can be injected."""
        debugfs = self.system.debugfs
        if debugfs is None:
            return None
        return self.system.root.exists(f"{debugfs}/{self.name}/inject_poison")


class Downstream:
    """A port's downstream link (dport), or a decoder's view of one (target)."""

    def __init__(self, system: CxlSystem, did: int, path: str) -> None:
        self.system = system
        self.id = did
        self.path = path
        self.name = _basename(path)

    @cached_property
    def _nodes(self) -> tuple[str | None, str | None]:
        root = self.system.root
        phys = resolve_link(root, self.path + "/physical_node")
        fw = resolve_link(root, self.path + "/firmware_node")
        if phys is None and fw is not None:
            phys = self.path
        return phys, fw

    @property
    def phys_path(self) -> str | None:
        return self._nodes[0]

    @property
    def match_path(self) -> str:
        """The path a memdev's host path must contain to sit below this link."""
        return self._nodes[0] or self.path

    @property
    def physical_node(self) -> str | None:
        phys = self._nodes[0]
        return _basename(phys) if phys else None

    @property
    def firmware_node(self) -> str | None:
        fw = self._nodes[1]
        return _basename(fw) if fw else None

    def maps_memdev(self, memdev: Memdev) -> bool:
        return self.match_path in memdev.host_path

    @cached_property
    def protocol_injectable(self) -> bool | None:
        debugfs = self.system.debugfs
        if debugfs is None:
            return None
        return self.system.root.exists(f"{debugfs}/{self.name}/einj_inject")


class Dport(Downstream):
    def __init__(self, port: Port, did: int, path: str) -> None:
        super().__init__(port.system, did, path)
        self.port = port


class Target(Downstream):
    def __init__(self, decoder: Decoder, did: int, position: int, path: str) -> None:
        super().__init__(decoder.system, did, path)
        self.decoder = decoder
        self.position = position


class Port:
    """A CXL port: a root (bus), a switch/host-bridge port, or an endpoint."""

    kind = "switch"
    prefix = "port"

    def __init__(
        self, system: CxlSystem, pid: int, path: str, host: str, parent: Port | None
    ) -> None:
        self.system = system
        self.id = pid
        self.path = path
        self.name = _basename(path)
        self.host = host
        self.parent = parent
        self.depth = parent.depth + 1 if parent else 0

    @classmethod
    def create(
        cls, system: CxlSystem, pid: int, path: str, parent: Port | None = None
    ) -> Port | None:
        uport = resolve_link(system.root, path + "/uport")
        if uport is None:
            return None
        port = cls(system, pid, path, _basename(uport), parent)
        system.register_port(port)
        return port

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"

    @property
    def is_root(self) -> bool:
        return self.kind == "root"

    @property
    def is_switch(self) -> bool:
        return self.kind == "switch"

    @property
    def is_endpoint(self) -> bool:
        return self.kind == "endpoint"

    @cached_property
    def enabled(self) -> bool:
        return self.system.root.islink(self.path + "/driver")

    @cached_property
    def top(self) -> Bus:
        port = self
        while port.parent is not None:
            port = port.parent
        return port  # type: ignore[return-value]

    @property
    def bus(self) -> Bus | None:
        """The bus this port belongs to; libcxl knows it only for enabled ports."""
        return self.top if self.enabled else None

    @cached_property
    def decoders_committed(self) -> int:
        v = self.system.read_opt(self.path + "/decoders_committed")
        return to_int32(strtoull(v)) if v is not None else 0

    @cached_property
    def _listing(self) -> list[str]:
        return self.system.root.listdir_opt(self.path)

    def _children(self, prefix: str, make) -> list:
        found: dict[int, object] = {}
        for name in self._listing:
            cid = scan_int(name, prefix)
            if cid is None:
                continue
            child = make(cid, name)
            if child is None:
                self.system.add_failed(f"{prefix}{cid}")
            elif cid not in found:
                found[cid] = child
        return list(reversed(found.values()))

    @cached_property
    def child_ports(self) -> list[Port]:
        """Switch ports directly below, reverse directory order."""
        return self._children(
            "port", lambda cid, name: Port.create(self.system, cid, self.path + "/" + name, self)
        )

    @cached_property
    def endpoints(self) -> list[Endpoint]:
        """Endpoint ports directly below, reverse directory order."""
        return self._children(
            "endpoint",
            lambda cid, name: Endpoint.create(self.system, cid, self.path + "/" + name, self),
        )

    def dport_link(self, name: str) -> str | None:
        """Where this port's `dportN` link points (cached: targets name them too)."""
        cache = self.__dict__.setdefault("_dport_links", {})
        if name not in cache:
            cache[name] = resolve_link(self.system.root, self.path + "/" + name)
        return cache[name]

    @cached_property
    def dports(self) -> list[Dport]:
        """Downstream ports, reverse directory order."""

        def make(did: int, name: str) -> Dport | None:
            path = self.dport_link(name)
            return Dport(self, did, path) if path else None

        return self._children("dport", make)

    @cached_property
    def _dports_by_name(self) -> dict[str, Dport]:
        return {d.name: d for d in reversed(self.dports)}

    @cached_property
    def decoders(self) -> list[Decoder]:
        """Decoders of this port, sorted by decoder id."""
        prefix = f"decoder{self.id}."
        found: dict[int, Decoder] = {}
        for name in self._listing:
            did = scan_int(name, prefix)
            if did is not None and did not in found:
                found[did] = Decoder(self, did, self.path + "/" + name)
        return sorted(found.values(), key=lambda d: d.id)

    @cached_property
    def parent_dport(self) -> Dport | None:
        """The parent port's dport this port hangs off (known below depth 1)."""
        if self.depth <= 1 or self.parent is None:
            return None
        path = resolve_link(self.system.root, self.path + "/parent_dport")
        if path is None:
            return None
        return self.parent._dports_by_name.get(_basename(path))

    def hosts(self, endpoint: Endpoint) -> bool:
        """Whether `endpoint` is this port or below it."""
        port: Port | None = endpoint
        while port is not None and port is not self:
            port = port.parent
        return port is not None

    @cached_property
    def regions_by_name(self) -> dict[str, Region]:
        """Regions of a root port's decoders by name (first one found wins)."""
        index: dict[str, Region] = {}
        for decoder in self.decoders:
            for region in decoder.regions:
                index.setdefault(region.name, region)
        return index


class Bus(Port):
    """A CXL root (`rootN`): the top of one port tree."""

    kind = "root"
    prefix = "root"

    @property
    def provider(self) -> str:
        if self.host == "ACPI0017:00":
            return "ACPI.CXL"
        if self.host == "cxl_acpi.0":
            return "cxl_test"
        return self.host


class Endpoint(Port):
    """An endpoint port (`endpointN`), whose host is a memdev."""

    kind = "endpoint"
    prefix = "endpoint"

    @property
    def child_ports(self) -> list[Port]:
        return []

    @property
    def endpoints(self) -> list[Endpoint]:
        return []

    @cached_property
    def memdev(self) -> Memdev | None:
        if not self.enabled:
            return None
        return self.system.memdev_named(self.host)


class Decoder:
    """An HDM decoder (`decoderP.D`) of a root, switch or endpoint port."""

    def __init__(self, port: Port, did: int, path: str) -> None:
        self.port = port
        self.system = port.system
        self.id = did
        self.path = path
        self.name = _basename(path)

    def __repr__(self) -> str:
        return f"Decoder({self.name})"

    def _attr(self, name: str) -> str | None:
        return self.system.read_opt(self.path + "/" + name)

    def _u64(self, name: str) -> int:
        v = self._attr(name)
        return strtoull(v) if v is not None else ULLONG_MAX

    def _uint(self, name: str) -> int:
        v = self._attr(name)
        return strtoul_uint(v) if v is not None else UINT_MAX

    def _flag(self, name: str) -> bool:
        v = self._attr(name)
        return bool(strtoull(v)) if v is not None else False

    @cached_property
    def start(self) -> int:
        return self._u64("start")

    @cached_property
    def size(self) -> int:
        return self._u64("size")

    @cached_property
    def interleave_ways(self) -> int:
        return self._uint("interleave_ways")

    @cached_property
    def interleave_granularity(self) -> int:
        return self._uint("interleave_granularity")

    @cached_property
    def qos_class(self) -> int:
        v = self._attr("qos_class")
        return atoi(v) if v is not None else QOS_CLASS_NONE

    @cached_property
    def mode(self) -> str | None:
        """Endpoint decoder mode: ram, pmem or mixed (unknown words count as mixed)."""
        v = self._attr("mode")
        if v is None or v == "none":
            return None
        return v if v in ("ram", "pmem") else "mixed"

    @cached_property
    def dpa_resource(self) -> int:
        return self._u64("dpa_resource")

    @cached_property
    def dpa_size(self) -> int:
        return self._u64("dpa_size")

    # Capabilities: switch and endpoint decoders claim them all; a root
    # decoder has what its cap_* attributes say.
    @cached_property
    def accelmem_capable(self) -> bool:
        return self._flag("cap_type2") if self.port.is_root else True

    @cached_property
    def mem_capable(self) -> bool:
        return self._flag("cap_type3") if self.port.is_root else True

    @cached_property
    def volatile_capable(self) -> bool:
        return self._flag("cap_ram") if self.port.is_root else True

    @cached_property
    def pmem_capable(self) -> bool:
        return self._flag("cap_pmem") if self.port.is_root else True

    @cached_property
    def targets(self) -> list[Target]:
        """Targets from `target_list`, highest position first."""
        text = self._attr("target_list") or ""
        out: list[Target] = []
        port = self.port
        for position, word in enumerate(w for w in text.split(",") if w):
            did = to_int32(strtoull(word))
            path = port.dport_link(f"dport{did}")
            if path is None:
                self.system.log_error(
                    "add_cxl_decoder", f"{self.name}: failed to parse target{position}"
                )
                break
            out.append(Target(self, did, position, path))
        out.reverse()
        return out

    @property
    def nr_targets(self) -> int:
        return len(self.targets)

    @cached_property
    def regions(self) -> list[Region]:
        """A root decoder's regions, sorted by start address."""
        if not self.port.is_root:
            return []
        found: dict[int, Region] = {}
        for name in self.system.root.listdir_opt(self.path):
            rid = scan_int(name, "region")
            if rid is None:
                continue
            region = Region.create(self, rid, self.path + "/" + name)
            if region is None:
                self.system.add_failed(f"region{rid}")
                continue
            # A later entry with the same id replaces the earlier one.
            found.pop(rid, None)
            found[rid] = region
        return sorted(found.values(), key=lambda r: r.start)

    @cached_property
    def region(self) -> Region | None:
        """The region a switch or endpoint decoder is assigned to."""
        if self.port.is_root:
            return None
        try:
            name = self.system.root.read(self.path + "/region")
        except SysfsError as e:
            self.system.log_error(
                "cxl_decoder_get_region", f"failed to read region name: {e.strerror}"
            )
            return None
        if not name:
            return None
        return self.port.top.regions_by_name.get(name)

    @cached_property
    def memdev(self) -> Memdev | None:
        if not isinstance(self.port, Endpoint):
            return None
        return self.port.memdev

    @cached_property
    def max_available_extent(self) -> int:
        """Largest free address range of a root decoder; ULLONG_MAX if unknown."""
        if self.start == ULLONG_MAX:
            return ULLONG_MAX
        mask = ULLONG_MAX
        prev_end = (self.start - 1) & mask
        best = 0
        for region in self.regions:
            if not region.configured:
                continue
            best = max(best, (region.start - prev_end - 1) & mask)
            prev_end = (region.start + region.size - 1) & mask
        end = (self.start + self.size - 1) & mask
        return max(best, (end - prev_end) & mask)


class Region:
    """A region (`regionN`) below a root decoder."""

    def __init__(self, decoder: Decoder, rid: int, path: str, start: int) -> None:
        self.decoder = decoder
        self.system = decoder.system
        self.id = rid
        self.path = path
        self.name = _basename(path)
        self.start = start

    @classmethod
    def create(cls, decoder: Decoder, rid: int, path: str) -> Region | None:
        read = decoder.system.read_opt
        uuid = read(path + "/uuid")
        if uuid is None or (uuid and not _uuid_ok(uuid)):
            return None
        resource = read(path + "/resource")
        start = strtoull(resource) if resource is not None else ULLONG_MAX
        # libcxl keeps 0 when the resource is unknown (all ones).
        return cls(decoder, rid, path, start if start < ULLONG_MAX else 0)

    def __repr__(self) -> str:
        return f"Region({self.name})"

    def _attr(self, name: str) -> str | None:
        return self.system.read_opt(self.path + "/" + name)

    @cached_property
    def size(self) -> int:
        v = self._attr("size")
        return strtoull(v) if v is not None else ULLONG_MAX

    @cached_property
    def extended_linear_cache_size(self) -> int:
        v = self._attr("extended_linear_cache_size")
        return strtoull(v) if v is not None else 0

    @cached_property
    def interleave_ways(self) -> int:
        v = self._attr("interleave_ways")
        return strtoul_uint(v) if v is not None else UINT_MAX

    @cached_property
    def interleave_granularity(self) -> int:
        v = self._attr("interleave_granularity")
        return strtoul_uint(v) if v is not None else UINT_MAX

    @cached_property
    def decode_state(self) -> int:
        v = self._attr("commit")
        return to_int32(strtoull(v)) if v is not None else DECODE_UNKNOWN

    @property
    def committed(self) -> bool:
        return self.decode_state == DECODE_COMMIT

    @property
    def configured(self) -> bool:
        return bool(self.size) and self.decode_state != DECODE_RESET

    @cached_property
    def mode(self) -> str | None:
        """ "ram" (also for `volatile`), "pmem", or None."""
        v = self._attr("mode")
        if v in ("ram", "volatile"):
            return "ram"
        return "pmem" if v == "pmem" else None

    @cached_property
    def locked(self) -> bool | None:
        v = self._attr("locked")
        return bool(strtoull(v)) if v is not None else None

    @cached_property
    def enabled(self) -> bool:
        return self.system.root.islink(self.path + "/driver")

    @cached_property
    def mappings(self) -> list[Mapping]:
        """Endpoint decoders in `targetN`, highest position first."""
        ways = self.interleave_ways
        out: list[Mapping] = []
        if ways == UINT_MAX:
            # libcxl would try four billion targetN reads; nothing is there.
            return out
        for position in range(ways):
            try:
                name = self.system.root.read(f"{self.path}/target{position}")
            except SysfsError:
                self.system.log_error(
                    "cxl_mappings_init", f"{self.name}: failed to read target{position}"
                )
                continue
            decoder = self.system.decoder_named(name)
            if decoder is None:
                self.system.log_error(
                    "cxl_mappings_init", f"{self.name} target{position}: {name} lookup failure"
                )
                continue
            out.append(Mapping(self, position, decoder))
        out.reverse()
        return out

    @cached_property
    def qos_class_mismatch(self) -> bool:
        """Whether a mapped memdev's qos_class differs from the root decoder's."""
        want = self.decoder.qos_class
        for mapping in self.mappings:
            memdev = mapping.decoder.memdev
            if memdev is None:
                continue
            if self.mode == "ram" and memdev.ram_qos_class != want:
                return True
            if self.mode == "pmem" and memdev.pmem_qos_class != want:
                return True
        return False


class Mapping:
    """One position of a region's interleave set."""

    def __init__(self, region: Region, position: int, decoder: Decoder) -> None:
        self.region = region
        self.position = position
        self.decoder = decoder
