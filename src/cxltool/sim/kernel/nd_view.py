"""libnvdimm objects as the emulated kernel finds them in the tree.

A region (`ndbusN/regionM`) and its children: namespaces (`namespaceM.K`) and
the btt, pfn and dax claim devices (`bttM.K`, `pfnM.K`, `daxM.K`). Everything
the kernel keeps about them shows in their attributes: a namespace's capacity
is its `size` at `resource` (pmem namespaces are one contiguous range of the
region), a claim's namespace is its `namespace`, the namespace names its
claimer in `holder`. Reads go through a KernelTree, so a store sees the changes
it planned before. Region offsets here are offsets in the region's physical
range; each DIMM of an interleaved region holds `1/ways` of every range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cxltool.sim.kernel.ktree import KernelTree
from cxltool.sim.nd_shapes import CLAIM_KINDS, NdMapping
from cxltool.sysfs import paths

_REGION = re.compile(r"^region(\d+)$")
_MAPPING = re.compile(r"^nmem(\d+),(\d+),(\d+),(-?\d+)$")
CLAIM_PREFIXES = tuple(CLAIM_KINDS)


def _int(text: str | None, default: int = 0) -> int:
    if text is None:
        return default
    try:
        return int(text.strip(), 0)
    except ValueError:
        return default


def child_ids(kt: KernelTree, region_path: str, prefix: str, region_id: int) -> list[int]:
    """Ids K of the region's `<prefix><region_id>.K` children, ascending."""
    pattern = re.compile(rf"^{prefix}{region_id}\.(\d+)$")
    ids = []
    for name in kt.listdir(region_path):
        m = pattern.match(name)
        if m and kt.isdir(f"{region_path}/{name}"):
            ids.append(int(m.group(1)))
    return sorted(ids)


def lowest_free(ids: list[int]) -> int:
    """The id an IDA hands out next: the lowest one not in use."""
    n = 0
    taken = set(ids)
    while n in taken:
        n += 1
    return n


@dataclass(frozen=True)
class Extent:
    offset: int  # from the region's start
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


class NdRegion:
    """A libnvdimm region and what is carved out of it."""

    def __init__(self, kt: KernelTree, path: str) -> None:
        self.kt = kt
        self.path = path
        self.name = paths.basename(path)
        m = _REGION.match(self.name)
        self.id = int(m.group(1)) if m else -1

    def attr(self, name: str) -> str | None:
        return self.kt.read(f"{self.path}/{name}")

    @property
    def size(self) -> int:
        return _int(self.attr("size"))

    @property
    def start(self) -> int:
        return _int(self.attr("resource"))

    @property
    def align(self) -> int:
        return _int(self.attr("align"))

    @property
    def numa_node(self) -> int:
        return _int(self.attr("numa_node"), -1)

    @property
    def target_node(self) -> int:
        return _int(self.attr("target_node"), -1)

    @property
    def bound(self) -> bool:
        return self.kt.readlink_abs(self.path + "/driver") is not None

    @property
    def read_only(self) -> bool:
        return _int(self.attr("read_only")) != 0

    def mappings(self) -> list[NdMapping]:
        out = []
        for i in range(_int(self.attr("mappings"))):
            m = _MAPPING.match(self.attr(f"mapping{i}") or "")
            if m:
                out.append(
                    NdMapping(
                        f"nmem{m.group(1)}", int(m.group(2)), int(m.group(3)), int(m.group(4))
                    )
                )
        return out

    @property
    def ways(self) -> int:
        return max(len(self.mappings()), 1)

    def seed(self, kind: str) -> str:
        """The current seed device of a kind (`namespace`, `btt`, `pfn`, `dax`), or ''."""
        return (self.attr(f"{kind}_seed") or "").strip()

    def namespaces(self) -> list[NdNamespace]:
        return [
            NdNamespace(self, f"{self.path}/namespace{self.id}.{k}")
            for k in child_ids(self.kt, self.path, "namespace", self.id)
        ]

    def claims(self, kind: str) -> list[NdClaim]:
        return [
            NdClaim(self, f"{self.path}/{kind}{self.id}.{k}", kind)
            for k in child_ids(self.kt, self.path, kind, self.id)
        ]

    def claim(self, name: str) -> NdClaim | None:
        for kind in CLAIM_PREFIXES:
            if name.startswith(kind) and self.kt.isdir(f"{self.path}/{name}"):
                return NdClaim(self, f"{self.path}/{name}", kind)
        return None

    def namespace(self, name: str) -> NdNamespace | None:
        path = f"{self.path}/{name}"
        if name.startswith("namespace") and self.kt.isdir(path):
            return NdNamespace(self, path)
        return None

    # -- capacity ---------------------------------------------------------------------
    def extents(self, skip: str | None = None) -> list[Extent]:
        """The ranges namespaces hold, in region order (`skip`: leave one namespace out)."""
        out = [ns.extent for ns in self.namespaces() if ns.name != skip and ns.extent]
        return sorted(out, key=lambda e: e.offset)

    def free_extents(self, skip: str | None = None) -> list[Extent]:
        out, at = [], 0
        for e in self.extents(skip):
            if e.offset > at:
                out.append(Extent(at, e.offset - at))
            at = max(at, e.end)
        if at < self.size:
            out.append(Extent(at, self.size - at))
        return out

    def available(self) -> int:
        return sum(e.size for e in self.free_extents())

    def max_extent(self) -> int:
        return max((e.size for e in self.free_extents()), default=0)


class NdNamespace:
    """A pmem namespace of a region."""

    def __init__(self, region: NdRegion, path: str) -> None:
        self.region = region
        self.kt = region.kt
        self.path = path
        self.name = paths.basename(path)
        self.id = int(self.name.rsplit(".", 1)[1])

    def attr(self, name: str) -> str | None:
        return self.kt.read(f"{self.path}/{name}")

    @property
    def size(self) -> int:
        return _int(self.attr("size"))

    @property
    def resource(self) -> int | None:
        # Unreadable (ENXIO) while the namespace holds no capacity: empty in the tree.
        text = (self.attr("resource") or "").strip()
        return int(text, 0) if text else None

    @property
    def extent(self) -> Extent | None:
        res = self.resource
        if res is None or self.size == 0:
            return None
        return Extent(res - self.region.start, self.size)

    @property
    def uuid(self) -> str:
        return (self.attr("uuid") or "").strip()

    @property
    def holder(self) -> str:
        return (self.attr("holder") or "").strip()

    @property
    def holder_class(self) -> str:
        return (self.attr("holder_class") or "").strip()

    @property
    def force_raw(self) -> bool:
        return _int(self.attr("force_raw")) != 0

    @property
    def driver(self) -> str | None:
        return self.kt.link_name(self.path + "/driver")

    def claim(self) -> NdClaim | None:
        return self.region.claim(self.holder) if self.holder else None

    def sector_size(self) -> int:
        """The chosen logical block size (0 when none was set)."""
        m = re.search(r"\[(\d+)\]", self.attr("sector_size") or "")
        return int(m.group(1)) if m else 0


class NdClaim:
    """A btt, pfn or dax device: the personality a namespace can be given."""

    def __init__(self, region: NdRegion, path: str, kind: str) -> None:
        self.region = region
        self.kt = region.kt
        self.path = path
        self.kind = kind
        self.name = paths.basename(path)
        self.id = int(self.name.rsplit(".", 1)[1])

    def attr(self, name: str) -> str | None:
        return self.kt.read(f"{self.path}/{name}")

    @property
    def namespace_name(self) -> str:
        return (self.attr("namespace") or "").strip()

    def namespace(self) -> NdNamespace | None:
        name = self.namespace_name
        return self.region.namespace(name) if name else None

    @property
    def uuid(self) -> str:
        return (self.attr("uuid") or "").strip()

    @property
    def mode(self) -> str:
        return (self.attr("mode") or "none").strip()

    @property
    def align(self) -> int:
        return _int(self.attr("align"))

    @property
    def driver(self) -> str | None:
        return self.kt.link_name(self.path + "/driver")

    @property
    def is_seed(self) -> bool:
        return self.region.seed(self.kind) == self.name


def region_of_child(kt: KernelTree, child_path: str) -> NdRegion:
    return NdRegion(kt, paths.dirname(child_path))
