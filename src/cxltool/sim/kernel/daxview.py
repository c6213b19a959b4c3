"""Dax regions and dax devices as the dax bus core knows them, read from the tree.

A dax region is the device directory holding `dax_region/` (a CXL
`dax_regionN`, an `hmem.N`, a libnvdimm dax device); its devices `daxR.N` are
its children on the dax bus. A device's ranges are its `mappingN/` directories
(start and end inclusive, page offset in pages), in the order the kernel
allocated them. What the kernel keeps beside the files: the region's physical
start (the CXL region's `resource`; otherwise the lowest address any device
shows) and whether it hands devices to kmem by default (every producer but
libnvdimm does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cxltool.sim.kernel import kfiles
from cxltool.sysfs import paths
from cxltool.sysfs.root import SimulatedRoot

DEVICE_NAME = re.compile(r"^dax(\d+)\.(\d+)$")
GROUP = "dax_region"
PAGE_SIZE = 4096
SUBSECTION = 2 * 1024 * 1024  # memremap_compat_align() on x86-64


@dataclass
class DaxRange:
    start: int
    end: int  # inclusive
    pgoff: int  # device page offset of the range's first byte

    @property
    def size(self) -> int:
        return self.end - self.start + 1


@dataclass
class DaxRegion:
    path: str  # the producer's device directory
    id: int
    start: int
    size: int
    align: int
    kmem_default: bool
    static: bool
    producer_bound: bool
    seed: str
    youngest: str

    @property
    def end(self) -> int:
        return self.start + self.size - 1

    @property
    def group(self) -> str:
        return f"{self.path}/{GROUP}"


@dataclass
class DaxDevice:
    path: str
    name: str
    id: int
    region: DaxRegion
    ranges: list[DaxRange] = field(default_factory=list)
    target_node: int = -1
    numa_node: int = -1
    devnum: tuple[int, int] | None = None
    align: int = 0
    memmap_on_memory: bool = False
    driver: str | None = None

    @property
    def size(self) -> int:
        return sum(r.size for r in self.ranges)

    def spans(self) -> list[tuple[int, int]]:
        return [(r.start, r.end) for r in self.ranges]


def _int(root: SimulatedRoot, path: str, default: int = 0, base: int = 0) -> int:
    value = kfiles.read_int(root, path, base)
    return default if value is None else value


def device_names(root: SimulatedRoot, region_path: str, region_id: int) -> list[str]:
    """The region's dax devices, ordered by id."""
    found = []
    for name in kfiles.listdir(root, region_path):
        m = DEVICE_NAME.match(name)
        if m and int(m.group(1)) == region_id and kfiles.isdir(root, f"{region_path}/{name}"):
            found.append((int(m.group(2)), name))
    return [name for _, name in sorted(found)]


def read_ranges(root: SimulatedRoot, device: str) -> list[DaxRange]:
    ranges = []
    while True:
        base = f"{device}/mapping{len(ranges)}"
        start = kfiles.read_int(root, base + "/start")
        end = kfiles.read_int(root, base + "/end")
        pgoff = kfiles.read_int(root, base + "/page_offset")
        if start is None or end is None or pgoff is None:
            return ranges
        ranges.append(DaxRange(start, end, pgoff))


def read_region(root: SimulatedRoot, path: str) -> DaxRegion | None:
    """The dax region whose producer device is `path`, or None if it has no dax_region/."""
    group = f"{path}/{GROUP}"
    region_id = kfiles.read_int(root, group + "/id")
    if region_id is None:
        return None
    subsystem = kfiles.link_target(root, path + "/subsystem") or ""
    static = subsystem == paths.ND_BUS
    start = _region_start(root, path, region_id)
    return DaxRegion(
        path=path,
        id=region_id,
        start=start,
        size=_int(root, group + "/size"),
        align=_int(root, group + "/align", SUBSECTION),
        kmem_default=not static,
        static=static,
        producer_bound=kfiles.link_target(root, path + "/driver") is not None,
        seed=(kfiles.read(root, group + "/seed") or "").strip(),
        youngest=(kfiles.read(root, group + "/create") or "").strip(),
    )


def _region_start(root: SimulatedRoot, path: str, region_id: int) -> int:
    # A CXL dax region sits in its CXL region, whose resource is the start.
    parent = paths.dirname(path)
    if kfiles.read(root, parent + "/mode") is not None:
        start = kfiles.read_int(root, parent + "/resource")
        if start is not None:
            return start
    # Otherwise a device without ranges shows the region start, and one with
    # ranges an address in the region.
    starts = []
    for name in device_names(root, path, region_id):
        value = kfiles.read_int(root, f"{path}/{name}/resource")
        if value is not None:
            starts.append(value)
    return min(starts, default=0)


def read_device(
    root: SimulatedRoot, path: str, region: DaxRegion | None = None
) -> DaxDevice | None:
    """The dax device at `path` (its real directory), or None."""
    name = paths.basename(path)
    m = DEVICE_NAME.match(name)
    if not m or not kfiles.isdir(root, path):
        return None
    if region is None:
        region = read_region(root, paths.dirname(path))
        if region is None:
            return None
    devnum = None
    dev = kfiles.read(root, path + paths.DEVNUM)
    if dev and ":" in dev:
        major, _, minor = dev.partition(":")
        if major.isdigit() and minor.isdigit():
            devnum = (int(major), int(minor))
    return DaxDevice(
        path=path,
        name=name,
        id=int(m.group(2)),
        region=region,
        ranges=read_ranges(root, path),
        target_node=_int(root, path + "/target_node", -1),
        numa_node=_int(root, path + "/numa_node", -1),
        devnum=devnum,
        align=_int(root, path + "/align"),
        memmap_on_memory=(kfiles.read(root, path + "/memmap_on_memory") or "0").strip() == "1",
        driver=kfiles.driver_of(root, path),
    )


def device_by_name(root: SimulatedRoot, name: str) -> DaxDevice | None:
    """A device on the dax bus by name (what bus_find_device_by_name finds)."""
    if not DEVICE_NAME.match(name):
        return None
    real = kfiles.link_target(root, f"{paths.DAX_DEVICES}/{name}")
    return read_device(root, real) if real else None


def region_devices(root: SimulatedRoot, region: DaxRegion) -> list[DaxDevice]:
    out = []
    for name in device_names(root, region.path, region.id):
        dev = read_device(root, f"{region.path}/{name}", region)
        if dev is not None:
            out.append(dev)
    return out


def bus_devices(root: SimulatedRoot) -> list[DaxDevice]:
    """Every device on the dax bus, by region and id (the order they registered in)."""
    found = []
    for name in kfiles.listdir(root, paths.DAX_DEVICES):
        m = DEVICE_NAME.match(name)
        if m:
            found.append((int(m.group(1)), int(m.group(2)), name))
    out = []
    for _, _, name in sorted(found):
        dev = device_by_name(root, name)
        if dev is not None:
            out.append(dev)
    return out
