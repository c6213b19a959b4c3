"""A libnvdimm region's seeds and the attributes derived from what it holds.

A region keeps one idle device of each kind ready to be configured: its seed
(`namespace_seed`, `btt_seed`, `pfn_seed`, `dax_seed`). A new seed takes the
lowest id free in its kind. When a device probes successfully, the seed it
was (and, for a claim device, the seed namespace it holds) is replaced.
Capacity (`available_size`, `max_available_extent`) follows the namespaces'
extents; a DIMM reads `active` while a bound region maps it.
"""

from __future__ import annotations

import re

from cxltool.sim import nd_shapes
from cxltool.sim.kernel.ktree import KernelTree
from cxltool.sim.kernel.nd_view import NdRegion, child_ids, lowest_free

_NMEM = re.compile(r"^nmem\d+$")
SEED_KINDS = ("namespace", "btt", "pfn", "dax")


# -- seeds -------------------------------------------------------------------------------
def create_seed(kt: KernelTree, region: NdRegion, kind: str) -> str:
    """Plant a new idle device of a kind (the lowest free id) and make it the seed."""
    prefix = "namespace" if kind == "namespace" else kind
    n = lowest_free(child_ids(kt, region.path, prefix, region.id))
    name = f"{prefix}{region.id}.{n}"
    path = f"{region.path}/{name}"
    nodes = {"numa_node": region.numa_node, "target_node": region.target_node}
    if kind == "namespace":
        nd_shapes.namespace(kt.shapes, path, **nodes)
    else:
        nd_shapes.claim_device(kt.shapes, kind, path, **nodes)
    kt.write(f"{region.path}/{kind}_seed", name, 0o444)
    return name


def advance_seeds(kt: KernelTree, region: NdRegion, device: str, namespace: str = "") -> None:
    """After `device` probed: replace the seeds it (or the namespace it claims) used up."""
    kind = next((k for k in ("btt", "pfn", "dax") if device.startswith(k)), "namespace")
    if region.seed(kind) == device:
        create_seed(kt, region, kind)
    if kind != "namespace" and namespace and region.seed("namespace") == namespace:
        create_seed(kt, region, "namespace")


# -- derived attributes -------------------------------------------------------------------
def refresh_capacity(kt: KernelTree, region: NdRegion) -> None:
    kt.write(region.path + "/available_size", region.available(), 0o444)
    kt.write(region.path + "/max_available_extent", region.max_extent(), 0o444)


def refresh_nmem_states(kt: KernelTree, ndbus: str) -> None:
    """A DIMM is `active` while a bound region maps it, `idle` otherwise."""
    busy: set[str] = set()
    for name in kt.listdir(ndbus):
        region = NdRegion(kt, f"{ndbus}/{name}")
        if name.startswith("region") and kt.isdir(region.path) and region.bound:
            busy.update(m.nmem for m in region.mappings())
    for name in kt.listdir(ndbus):
        state = f"{ndbus}/{name}/state"
        if _NMEM.match(name) and kt.read(state) is not None:
            want = "active" if name in busy else "idle"
            if kt.read(state) != want:
                kt.write(state, want, 0o444)
