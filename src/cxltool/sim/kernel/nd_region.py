"""libnvdimm regions of CXL pmem regions: registration, seeds, capacity, teardown.

When `cxl_pmem_region` binds `pmem_regionN`, it registers region N (the CXL
region's id) on the nvdimm bridge's bus, one mapping per region position (the
DIMM is the `nmemM` of the position's memdev; its DPA range is the endpoint
decoder's), with an interleave-set cookie of fletcher64 over each position's
(DPA start, serial) pair. `nd_region` then binds it (its probe): the DIMMs it
maps turn `active`, and it plants one idle device of each kind, the seeds
(`namespaceN.0`, `bttN.0`, `pfnN.0`, `daxN.0`). After a device's successful
probe the region plants the next seed of its kind (`advance_seeds`).

The region's target node is its window's node; its `numa_node` is the node
memory at its address would be added to, which for a CXL window with no
memory of its own is node 0.
"""

from __future__ import annotations

import re
import struct

from cxltool.sim import nd_shapes
from cxltool.sim.kernel import nd_devices, nd_media, nd_probe
from cxltool.sim.kernel.cxlview import Cxl, Region
from cxltool.sim.kernel.ktree import KernelTree
from cxltool.sim.kernel.nd_seeds import (
    SEED_KINDS,
    create_seed,
    refresh_capacity,
    refresh_nmem_states,
)
from cxltool.sim.kernel.nd_view import NdRegion
from cxltool.sim.nd_shapes import NdMapping
from cxltool.sysfs import paths

_NDBUS = re.compile(r"^ndbus\d+$")
_NMEM = re.compile(r"^nmem\d+$")
REGION_NUMA_NODE = 0


def fletcher64(data: bytes) -> int:
    """libnvdimm's fletcher64 over little-endian 32-bit words."""
    lo = hi = 0
    for (word,) in struct.iter_unpack("<I", data):
        lo = (lo + word) & 0xFFFFFFFF
        hi = (hi + lo) & 0xFFFFFFFF
    return hi << 32 | lo


def interleave_cookie(pairs: list[tuple[int, int]]) -> int:
    """The set cookie of (DPA start, serial) per position."""
    return fletcher64(b"".join(struct.pack("<QQ", dpa, serial) for dpa, serial in pairs))


def nd_bus_of(kt: KernelTree, bridge: str) -> str | None:
    for name in kt.listdir(bridge):
        if _NDBUS.match(name) and kt.isdir(f"{bridge}/{name}"):
            return f"{bridge}/{name}"
    return None


def _nmem_of_memdev(kt: KernelTree, ndbus: str, memdev: str) -> str | None:
    """The nmem whose provider is the memdev's cxl_nvdimm (`pmemN` of `memN`)."""
    provider = "pmem" + memdev[len("mem") :]
    for name in kt.listdir(ndbus):
        if _NMEM.match(name) and (kt.read(f"{ndbus}/{name}/cxl/provider") or "") == provider:
            return name
    return None


def _driver_loaded(kt: KernelTree, name: str) -> bool:
    return kt.isdir(f"{nd_shapes.ND_DRIVERS}/{name}")


# -- registration by cxl_pmem_region ---------------------------------------------------
def register_cxl_region(cxl: Cxl, region: Region, target_node: int) -> None:
    """cxl_pmem_region's probe: region N on the bridge's nd bus, bound if nd_region is there."""
    kt = cxl.kt
    bridge = f"{region.root_decoder.port.path}/nvdimm-bridge0"
    ndbus = nd_bus_of(kt, bridge)
    if ndbus is None:
        return
    mappings: list[NdMapping] = []
    pairs = []
    for pos, dec in enumerate(region.targets()):
        memdev = dec.memdev if dec else None  # the memdev's device directory
        nmem = _nmem_of_memdev(kt, ndbus, paths.basename(memdev)) if memdev else None
        if dec is None or memdev is None or nmem is None:
            return  # a position without its nvdimm: cxl_pmem_region's probe fails
        mappings.append(NdMapping(nmem, dec.dpa_resource, dec.dpa_size, pos))
        serial = kt.read(f"{memdev}/serial") or "0"
        pairs.append((dec.dpa_resource, int(serial, 0)))
    path = f"{ndbus}/region{region.id}"
    nd_shapes.nd_region(
        kt.shapes,
        path,
        size=region.size,
        start=region.start,
        mappings=mappings,
        cookie=interleave_cookie(pairs),
        numa_node=REGION_NUMA_NODE,
        target_node=target_node,
        bound=_driver_loaded(kt, "nd_region"),
    )
    for kind in SEED_KINDS:
        kt.write(f"{path}/{kind}_seed", "", 0o444)
    if _driver_loaded(kt, "nd_region"):
        probe(kt, NdRegion(kt, path))


def unregister_cxl_region(cxl: Cxl, region: Region) -> None:
    """The CXL region's pmem side goes: its libnvdimm region and all below it."""
    kt = cxl.kt
    bridge = f"{region.root_decoder.port.path}/nvdimm-bridge0"
    ndbus = nd_bus_of(kt, bridge)
    if ndbus is None:
        return
    nd = NdRegion(kt, f"{ndbus}/region{region.id}")
    if not kt.isdir(nd.path):
        return
    remove(kt, nd)
    nd_devices.unregister(kt, nd.path)
    nd_media.forget_region(kt.txn, nd.name)
    refresh_nmem_states(kt, ndbus)


# -- nd_region's probe and remove ------------------------------------------------------------
def probe(kt: KernelTree, region: NdRegion) -> None:
    """nd_region's probe: the region binds and plants its seeds."""
    if not region.bound:
        nd_devices.bind(kt, region.path, "nd", "nd_region")
    nd_devices.set_readable(kt, region.path + "/init_namespaces", "1/1")
    for kind in SEED_KINDS:
        create_seed(kt, region, kind)
    refresh_capacity(kt, region)
    refresh_nmem_states(kt, paths.dirname(region.path))


def remove(kt: KernelTree, region: NdRegion) -> None:
    """nd_region's remove: the region's namespaces and claim devices are unregistered."""
    for kind in ("btt", "pfn", "dax"):
        for claim in region.claims(kind):
            nd_probe.release_claim(kt, claim)
    for ns in region.namespaces():
        nd_probe.release_namespace(kt, ns)
    for kind in ("btt", "pfn", "dax"):
        for claim in region.claims(kind):
            nd_devices.unregister(kt, claim.path)
    for ns in region.namespaces():
        nd_devices.unregister(kt, ns.path)
    for kind in SEED_KINDS:
        kt.write(f"{region.path}/{kind}_seed", "", 0o444)
    nd_devices.unbind(kt, region.path)
    refresh_nmem_states(kt, paths.dirname(region.path))
