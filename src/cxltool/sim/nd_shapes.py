"""The shapes of libnvdimm objects in sysfs: regions, namespaces, claim devices, disks.

A CXL pmem region bound to `cxl_pmem_region` registers a libnvdimm region on the
nvdimm bridge's bus (`ndbusN/regionM`); the region, when `nd_region` binds it,
plants one idle device of each kind: a namespace (`namespaceM.0`) and the btt,
pfn and dax "claim" devices that give a namespace its personality (sector,
fsdax, devdax). These functions write those shapes through any Shapes sink, so
the tree builder and the emulated kernel make them alike. libnvdimm devices
have no `power/` group (the core marks them as not needing power management).
"""

from __future__ import annotations

from dataclasses import dataclass

from cxltool.sim.shapes import Shapes, kernel_hex
from cxltool.sysfs import paths

ENXIO = 6
ND_BUS = paths.ND_BUS
ND_DRIVERS = paths.ND_BUS + "/drivers"
NSTYPE_PMEM = 5  # ND_DEVICE_NAMESPACE_PMEM: a region whose namespaces have labels
DEFAULT_REGION_ALIGN = 16 << 20  # MEMREMAP_COMPAT_ALIGN_MAX
PFN_ALIGNMENTS = (4096, 2 << 20, 1 << 30)  # x86-64: page, PMD, PUD
DEFAULT_PFN_ALIGN = 2 << 20
BTT_SECTOR_SIZES = (512, 520, 528, 4096, 4104, 4160, 4224)
PMEM_SECTOR_SIZES = (512, 4096)
BLOCK_EXT_MAJOR = 259

# The kind of each claim device: devtype, modalias, seed attribute.
CLAIM_KINDS = {
    "btt": ("nd_btt", "nd:t5", "btt_seed"),
    "pfn": ("nd_pfn", "nd:t5", "pfn_seed"),
    "dax": ("nd_dax", "nd:t7", "dax_seed"),
}


@dataclass(frozen=True)
class NdMapping:
    """One DIMM's part of a libnvdimm region: `mappingN` reads `nmemX,start,size,position`."""

    nmem: str
    start: int  # DPA of the first byte
    size: int
    position: int


def region_align(mappings: int) -> int:
    """The default `align` of a region: 16M, times the ways when 16M does not divide."""
    ways = max(mappings, 1)
    align = DEFAULT_REGION_ALIGN
    return align * ways if align % ways else align


def list_text(values: tuple[int, ...] | list[int], selected: int | None = None) -> str:
    """A size list as libnvdimm shows it: each value and a space, the chosen one in []."""
    return "".join(f"[{v}] " if v == selected else f"{v} " for v in values)


def nd_device(
    sink: Shapes, path: str, devtype: str, modalias: str, driver: str | None = None
) -> None:
    """A device on the nd bus: uevent, subsystem, devtype, modalias, bus link."""
    drv = f"{ND_DRIVERS}/{driver}" if driver else None
    sink.device(path, ND_BUS, devtype=devtype, modalias=modalias, driver=drv)
    sink.bus_device("nd", paths.basename(path), path, driver)


def nd_region(
    sink: Shapes,
    path: str,
    *,
    size: int,
    start: int,
    mappings: list[NdMapping],
    cookie: int,
    numa_node: int,
    target_node: int,
    bound: bool,
) -> None:
    """A pmem region on an nd bus, all of it available (seeds are added on bind)."""
    nd_device(sink, path, "nd_pmem", "nd:t2", "nd_region" if bound else None)
    sink.attr(path + "/align", kernel_hex(region_align(len(mappings))), 0o644)
    sink.attr(path + "/available_size", size)
    sink.file(path + "/badblocks", "", 0o444)
    sink.attr(path + "/deep_flush", 0)
    # Counted by nd_region's probe: one (empty) namespace found, one active.
    if bound:
        sink.attr(path + "/init_namespaces", "1/1")
    else:
        sink.unreadable_attr(path + "/init_namespaces", 0o444, ENXIO)
    for i, m in enumerate(mappings):
        sink.attr(f"{path}/mapping{i}", f"{m.nmem},{m.start},{m.size},{m.position}")
    sink.attr(path + "/mappings", len(mappings))
    sink.attr(path + "/max_available_extent", size)
    sink.attr(path + "/nstype", NSTYPE_PMEM)
    sink.attr(path + "/numa_node", numa_node)
    sink.attr(path + "/persistence_domain", "memory_controller")
    sink.attr(path + "/read_only", 0, 0o644)
    sink.attr(path + "/resource", kernel_hex(start), 0o400)
    sink.attr(path + "/set_cookie", kernel_hex(cookie))
    sink.attr(path + "/size", size)
    sink.attr(path + "/target_node", target_node)


def namespace(sink: Shapes, path: str, *, numa_node: int, target_node: int) -> None:
    """An idle pmem namespace: no size, no uuid, raw, no claim."""
    nd_device(sink, path, "nd_namespace_pmem", "nd:t5")
    sink.attr(path + "/alt_name", "", 0o644)
    sink.attr(path + "/dpa_extents", 0)
    sink.attr(path + "/force_raw", 0, 0o644)
    sink.attr(path + "/holder", "")
    sink.attr(path + "/holder_class", "", 0o644)
    sink.attr(path + "/mode", "raw")
    sink.attr(path + "/nstype", NSTYPE_PMEM)
    sink.attr(path + "/numa_node", numa_node)
    sink.unreadable_attr(path + "/resource", 0o400, ENXIO)
    sink.attr(path + "/sector_size", list_text(PMEM_SECTOR_SIZES), 0o644)
    sink.attr(path + "/size", 0, 0o644)
    sink.attr(path + "/target_node", target_node)
    sink.attr(path + "/uuid", "", 0o644)


def claim_device(sink: Shapes, kind: str, path: str, *, numa_node: int, target_node: int) -> None:
    """An idle btt, pfn or dax device: no namespace, no uuid, no mode."""
    devtype, modalias, _ = CLAIM_KINDS[kind]
    nd_device(sink, path, devtype, modalias)
    sink.attr(path + "/namespace", "", 0o644)
    sink.attr(path + "/numa_node", numa_node)
    sink.unreadable_attr(path + "/size", 0o444, ENXIO)
    sink.attr(path + "/target_node", target_node)
    sink.attr(path + "/uuid", "", 0o644)
    if kind == "btt":
        sink.attr(path + "/log_zero_flags", "Y")
        sink.attr(path + "/sector_size", list_text(BTT_SECTOR_SIZES), 0o644)
        return
    sink.attr(path + "/align", DEFAULT_PFN_ALIGN, 0o644)
    sink.attr(path + "/mode", "none", 0o644)
    sink.unreadable_attr(path + "/resource", 0o400, ENXIO)
    sink.attr(path + "/supported_alignments", list_text(PFN_ALIGNMENTS))


def block_device(
    sink: Shapes, parent: str, name: str, devnum: tuple[int, int], size: int, diskseq: int
) -> None:
    """The disk nd_pmem registers for a namespace or a pfn device (`parent/block/pmemN`).

    Only the attributes ndctl and the emulator use are made: the disk's device
    number, size in 512-byte sectors, its sequence number, and its class and
    device-number links.
    """
    path = f"{parent}/block/{name}"
    sink.dir(parent + "/block")
    major, minor = devnum
    sink.device(
        path,
        paths.CLASS_BLOCK,
        devtype="disk",
        devnum=(major, minor, name),
        type_files=False,
        uevent_extra=(f"DISKSEQ={diskseq}",),
    )
    sink.attr(path + "/diskseq", diskseq)
    sink.link(path + "/device", parent)
    sink.attr(path + "/size", size // 512)
    sink.attr(path + "/ro", 0)
    sink.attr(path + "/removable", 0)
    sink.attr(path + "/range", 0)
    sink.link(f"{paths.CLASS_BLOCK}/{name}", path)
    sink.link(f"{paths.SYS_DEV_BLOCK}/{major}:{minor}", path)


def static_dax_region_group(
    sink: Shapes, parent: str, region_id: int, size: int, align: int
) -> None:
    """The `dax_region/` group of a libnvdimm dax device: static, so only id, size, align."""
    group = parent + "/dax_region"
    sink.dir(group)
    sink.attr(group + "/align", align, 0o400)
    sink.attr(group + "/id", region_id)
    sink.attr(group + "/size", size)


def static_dax_device(
    sink: Shapes,
    path: str,
    *,
    devnum: tuple[int, int],
    driver: str | None,
    start: int,
    size: int,
    align: int,
    numa_node: int,
    target_node: int,
) -> None:
    """The one dax device of a static region: fixed size and align, no `mapping` to write."""
    name = paths.basename(path)
    major, minor = devnum
    sink.device(
        path,
        paths.DAX_BUS,
        modalias="dax:t0",
        driver=f"{paths.DAX_DRIVERS}/{driver}" if driver else None,
        devnum=(major, minor, name),
        power=True,
    )
    sink.bus_device("dax", name, path, driver)
    sink.attr(path + "/align", align)
    sink.attr(path + "/memmap_on_memory", 0, 0o644)
    sink.attr(path + "/numa_node", numa_node)
    sink.attr(path + "/resource", kernel_hex(start), 0o400)
    sink.attr(path + "/size", size)
    if target_node >= 0:
        sink.attr(path + "/target_node", target_node)
    sink.dax_mapping(path, 0, start, start + size - 1, 0)
