"""libnvdimm buses, DIMMs, regions, namespaces and their btt/pfn/dax devices, as ndctl sees them.

Attributes that configuration changes (a namespace's size, uuid, holder; a
region's namespaces) are read afresh on each use, so an operation sees its own
writes; structure (buses, DIMMs, regions, mappings) is read once.

libndctl lists each kind of child by reading its parent's directory and
pushing every entry it recognises onto the head of a list, so DIMMs, regions,
namespaces and claim devices come out in the reverse of the directory's
order, and a region's mappings last index first; scripts see that order.

Buses are found through /sys/bus/nd (each `ndbusN` with its control device
`nd/ndctlN`). libndctl walks /sys/class/nd instead; on a real system both name
the same buses, and a restored capture (which holds no class links) is listed
as the captured system was.

Numbers read the way libndctl reads them: all-ones where an attribute is
missing or unreadable.
"""

from __future__ import annotations

import re
from functools import cached_property

from cxltool.objects import cparse
from cxltool.objects.dax import DaxRegion, DaxSystem
from cxltool.sysfs import Root, SysfsError, paths

ULLONG_MAX = cparse.ULLONG_MAX
UINT_MAX = 0xFFFFFFFF
NSTYPE_IO, NSTYPE_PMEM = 4, 5
_MAPPING = re.compile(r"^nmem(\d+),(\d+),(\d+)(?:,(-?\d+))?")
_LBA = re.compile(r"^\[(\d+)\]$|^(\d+)$")
_SECURITY = ("disabled", "unlocked", "locked", "frozen", "overwrite")


def _children(root: Root, path: str, prefix: str) -> list[tuple[int, str]]:
    """(id, name) of `<prefix><id>` entries, newest-first as libndctl lists them."""
    found = []
    for name in root.listdir_opt(path):
        n = cparse.scan_int(name, prefix)
        if n is not None and n >= 0:
            found.append((n, name))
    found.reverse()
    return found


def _number(text: str | None, default: int = ULLONG_MAX) -> int:
    return default if text is None else cparse.strtoull(text)


def parse_sizes(text: str | None) -> tuple[list[int], int]:
    """A size list (`512 [4096] `): the sizes and the index of the chosen one (-1).

    As libndctl parses it: only words followed by a space count, a word that is
    not a number ends the list, and two chosen sizes make the list unusable.
    """
    sizes: list[int] = []
    chosen = -1
    for word in (text or "").split(" ")[:-1]:
        m = _LBA.match(word)
        if not m:
            break
        if m.group(1):
            if chosen >= 0:
                return [], -1
            chosen = len(sizes)
        sizes.append(int(m.group(1) or m.group(2)))
    return sizes, chosen


class NdSystem:
    """The libnvdimm side of one root."""

    def __init__(self, root: Root) -> None:
        self.root = root
        self.dax = DaxSystem(root)

    @cached_property
    def buses(self) -> list[NdBus]:
        out = []
        for name in self.root.listdir_opt(paths.ND_DEVICES):
            if cparse.scan_int(name, "ndbus") is None:
                continue
            try:
                path = self.root.realpath(f"{paths.ND_DEVICES}/{name}")
            except SysfsError:
                continue
            bus = NdBus.probe(self, path)
            if bus is not None:
                out.append(bus)
        out.reverse()
        return out


class _NdDevice:
    """A device of the nd bus: its directory, number and attributes."""

    def __init__(self, root: Root, path: str, n: int) -> None:
        self.root = root
        self.path = path
        self.id = n
        self.devname = paths.basename(path)

    def attr(self, name: str) -> str | None:
        return self.root.read_opt(f"{self.path}/{name}")


class _NdSpan(_NdDevice):
    """A namespace or claim: its size and start, read afresh each time (a
    command's own writes change them; a region keeps what it first read)."""

    @property
    def size(self) -> int:
        return _number(self.attr("size"))

    @property
    def resource(self) -> int:
        return _number(self.attr("resource"))


class NdBus(_NdDevice):
    def __init__(self, system: NdSystem, path: str, ctl: int) -> None:
        super().__init__(system.root, path, ctl)
        self.system = system

    @classmethod
    def probe(cls, system: NdSystem, path: str) -> NdBus | None:
        ctls = _children(system.root, path + "/nd", "ndctl")
        if not ctls or system.root.read_opt(f"{path}/nd/{ctls[0][1]}{paths.DEVNUM}") is None:
            return None
        bus = cls(system, path, ctls[0][0])
        if system.root.read_opt(path + "/commands") is None or bus.provider is None:
            return None
        return bus

    @cached_property
    def provider(self) -> str | None:
        return self.root.read_opt(self.path + "/provider")

    @cached_property
    def has_nfit(self) -> bool:
        return self.root.read_opt(self.path + "/nfit/revision") is not None

    @cached_property
    def dimms(self) -> list[NdDimm]:
        out = []
        for n, name in _children(self.root, self.path, "nmem"):
            dimm = NdDimm(self, f"{self.path}/{name}", n)
            if dimm.loadable:
                out.append(dimm)
        return out

    def dimm_by_id(self, n: int) -> NdDimm | None:
        return next((d for d in self.dimms if d.id == n), None)

    @cached_property
    def regions(self) -> list[NdRegion]:
        out = []
        for n, name in _children(self.root, self.path, "region"):
            region = NdRegion(self, f"{self.path}/{name}", n)
            if region.loadable:
                out.append(region)
        return out


class NdDimm(_NdDevice):
    def __init__(self, bus: NdBus, path: str, n: int) -> None:
        super().__init__(bus.root, path, n)
        self.bus = bus

    @property
    def loadable(self) -> bool:
        return all(self.attr(a) is not None for a in ("dev", "commands", "modalias"))

    @cached_property
    def unique_id(self) -> str | None:
        if self.bus.has_nfit:
            return self.attr("nfit/id")
        return self.attr("cxl/id")

    @cached_property
    def commands(self) -> list[str]:
        return (self.attr("commands") or "").split()

    @property
    def enabled(self) -> bool:
        return self.root.islink(self.path + "/driver")

    @property
    def active(self) -> bool:
        return self.attr("state") == "active"

    @cached_property
    def flags(self) -> list[str]:
        return (self.attr("flags") or "").split()

    @cached_property
    def security(self) -> str | None:
        text = self.attr("security")
        return text if text in _SECURITY else None

    @property
    def security_frozen(self) -> bool:
        if self.security == "frozen":
            return True
        text = self.attr("frozen")
        return text is not None and cparse.strtoull(text) != 0


class NdMapping:
    def __init__(self, dimm: NdDimm, offset: int, length: int, position: int) -> None:
        self.dimm = dimm
        self.offset = offset
        self.length = length
        self.position = position


class NdRegion(_NdDevice):
    def __init__(self, bus: NdBus, path: str, n: int) -> None:
        super().__init__(bus.root, path, n)
        self.bus = bus

    @property
    def loadable(self) -> bool:
        needed = ("size", "mappings", "read_only", "modalias", "nstype")
        if any(self.attr(a) is None for a in needed):
            return False
        return self.nstype != NSTYPE_PMEM or self.attr("set_cookie") is not None

    @cached_property
    def size(self) -> int:
        return _number(self.attr("size"))

    @cached_property
    def nstype(self) -> int:
        return _number(self.attr("nstype"), 0)

    @property
    def type_name(self) -> str:
        return "pmem" if self.nstype in (NSTYPE_IO, NSTYPE_PMEM) else "blk"

    @cached_property
    def num_mappings(self) -> int:
        return _number(self.attr("mappings"), 0)

    @property
    def ways(self) -> int:
        return max(1, self.num_mappings)

    @property
    def read_only(self) -> bool:
        return _number(self.attr("read_only"), 0) != 0

    @cached_property
    def align(self) -> int:
        return _number(self.attr("align"))

    @cached_property
    def resource(self) -> int:
        return _number(self.attr("resource"))

    @property
    def available_size(self) -> int:
        if self.nstype not in (NSTYPE_PMEM, 3):
            return 0
        return _number(self.attr("available_size"))

    @property
    def max_available_extent(self) -> int:
        if self.nstype not in (NSTYPE_PMEM, 3):
            return 0
        return _number(self.attr("max_available_extent"))

    @cached_property
    def numa_node(self) -> int:
        text = self.attr("numa_node")
        return -1 if text is None else cparse.strtol(text)

    @property
    def has_numa(self) -> bool:
        return self.root.exists(self.path + "/numa_node")

    @cached_property
    def target_node(self) -> int:
        text = self.attr("target_node")
        return -1 if text is None else cparse.strtol(text)

    @cached_property
    def cookie(self) -> int | None:
        if self.nstype != NSTYPE_PMEM:
            return None
        return _number(self.attr("set_cookie"), 0)

    @property
    def enabled(self) -> bool:
        return self.root.islink(self.path + "/driver")

    @cached_property
    def persistence_domain(self) -> str:
        text = self.attr("persistence_domain")
        for name in ("cpu_cache", "memory_controller", "none"):
            if text is not None and text.startswith(name):
                return name
        return "unknown"

    @cached_property
    def mappings(self) -> list[NdMapping]:
        out = []
        for i in range(self.num_mappings):
            m = _MAPPING.match(self.attr(f"mapping{i}") or "")
            if not m:
                continue
            dimm = self.bus.dimm_by_id(int(m.group(1)))
            if dimm is None:
                continue
            position = int(m.group(4)) if m.group(4) is not None else -1
            out.append(NdMapping(dimm, int(m.group(2)), int(m.group(3)), position))
        out.reverse()
        return out

    def dimms(self) -> list[NdDimm]:
        """The DIMMs the region maps (libndctl's dimm_foreach_in_region)."""
        return [m.dimm for m in reversed(self.mappings)]

    @property
    def namespaces(self) -> list[NdNamespace]:
        return [
            NdNamespace(self, f"{self.path}/{name}", n)
            for n, name in _children(self.root, self.path, f"namespace{self.id}.")
            if self.root.read_opt(f"{self.path}/{name}/nstype") is not None
        ]

    def claims(self, kind: str) -> list[NdClaim]:
        return [
            NdClaim(self, f"{self.path}/{name}", n, kind)
            for n, name in _children(self.root, self.path, f"{kind}{self.id}.")
            if self.root.read_opt(f"{self.path}/{name}/modalias") is not None
        ]

    def claim_named(self, kind: str, name: str) -> NdClaim | None:
        return next((c for c in self.claims(kind) if c.devname == name), None)

    def seed(self, kind: str) -> str | None:
        return self.attr(f"{kind}_seed")

    def namespace_seed(self) -> NdNamespace | None:
        name = self.seed("namespace")
        return next((ns for ns in self.namespaces if ns.devname == name), None)

    def claim_seed(self, kind: str) -> NdClaim | None:
        name = self.seed(kind)
        return self.claim_named(kind, name) if name else None

    def badblocks(self) -> list[tuple[int, int]]:
        out = []
        for line in (self.attr("badblocks") or "").splitlines():
            parts = line.split()
            if len(parts) == 2:
                out.append((cparse.strtoull(parts[0]), cparse.strtoull(parts[1])))
        return out


class NdNamespace(_NdSpan):
    def __init__(self, region: NdRegion, path: str, n: int) -> None:
        super().__init__(region.root, path, n)
        self.region = region

    @property
    def nstype(self) -> int:
        return _number(self.attr("nstype"), 0)

    @property
    def uuid(self) -> str:
        return (self.attr("uuid") or "").lower()

    @property
    def alt_name(self) -> str:
        return self.attr("alt_name") or ""

    @property
    def force_raw(self) -> bool:
        return _number(self.attr("force_raw"), 0) != 0

    @property
    def holder_class(self) -> str | None:
        return self.attr("holder_class")

    @property
    def sector_sizes(self) -> tuple[list[int], int]:
        return parse_sizes(self.attr("sector_size"))

    @property
    def sector_size(self) -> int:
        """The chosen sector size; UINT_MAX when none is chosen, 0 with no sizes at all."""
        sizes, chosen = self.sector_sizes
        if not sizes:
            return 0
        return sizes[chosen] if chosen >= 0 else UINT_MAX

    @property
    def mode(self) -> str | None:
        """`memory`, `dax`, `raw` or `safe` (what the kernel shows), None if unknown."""
        text = self.attr("mode")
        return text if text in ("memory", "dax", "raw", "safe") else None

    @property
    def holder(self) -> str | None:
        return self.attr("holder")

    @property
    def enabled(self) -> bool:
        return self.root.islink(self.path + "/driver")

    def claim(self, kind: str) -> NdClaim | None:
        holder = self.holder
        return self.region.claim_named(kind, holder) if holder else None

    @property
    def btt(self) -> NdClaim | None:
        return self.claim("btt")

    @property
    def pfn(self) -> NdClaim | None:
        return self.claim("pfn")

    @property
    def dax(self) -> NdClaim | None:
        return self.claim("dax")

    @property
    def active(self) -> bool:
        claims = [c for c in (self.btt, self.pfn, self.dax) if c is not None]
        if claims:
            return any(c.enabled for c in claims)
        return self.enabled

    @property
    def block_device(self) -> str:
        return _block_device(self.root, self.path)

    @property
    def numa_node(self) -> int:
        text = self.attr("numa_node")
        return -1 if text is None else cparse.strtol(text)

    @property
    def target_node(self) -> int:
        text = self.attr("target_node")
        return -1 if text is None else cparse.strtol(text)

    @property
    def configured(self) -> bool:
        if self.nstype == NSTYPE_IO:
            return True
        return self.size != ULLONG_MAX and self.size >= 4096 and bool(self.uuid)

    @property
    def configuration_idle(self) -> bool:
        if self.active:
            return False
        if self.configured:
            return self.nstype == NSTYPE_IO
        return True


def _block_device(root: Root, path: str) -> str:
    """The one disk in `path/block`, or '' (none, or more than one)."""
    names = [n for n in root.listdir_opt(path + "/block") if not n.startswith(".")]
    return names[0] if len(names) == 1 else ""


class NdClaim(_NdSpan):
    """A btt, pfn or dax device."""

    def __init__(self, region: NdRegion, path: str, n: int, kind: str) -> None:
        super().__init__(region.root, path, n)
        self.region = region
        self.kind = kind

    @property
    def uuid(self) -> str:
        return (self.attr("uuid") or "").lower()

    @property
    def location(self) -> str:
        """Where the memmap is: `none`, `mem` (RAM) or `dev` (pmem)."""
        return {"ram": "mem", "pmem": "dev"}.get(self.attr("mode") or "", "none")

    @property
    def align(self) -> int:
        return _number(self.attr("align"), 0)

    @property
    def sector_size(self) -> int:
        sizes, chosen = parse_sizes(self.attr("sector_size"))
        return sizes[chosen] if chosen >= 0 else 0

    @property
    def supported(self) -> list[int]:
        """Supported alignments (pfn, dax) or sector sizes (btt)."""
        name = "sector_size" if self.kind == "btt" else "supported_alignments"
        text = self.attr(name)
        if text is None and self.kind != "btt":
            return [4096, 2 << 20]
        return parse_sizes(text)[0]

    @property
    def enabled(self) -> bool:
        return self.root.islink(self.path + "/driver")

    @property
    def namespace_name(self) -> str | None:
        return self.attr("namespace")

    @property
    def block_device(self) -> str:
        return _block_device(self.root, self.path)

    def dax_region(self, system: DaxSystem) -> DaxRegion:
        """The static dax region this dax device holds (libndctl makes one for any dax)."""
        return system.region_at(self.path, self.region.id)
