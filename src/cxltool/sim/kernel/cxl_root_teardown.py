"""Taking a whole CXL root down, as unbinding cxl_acpi from its platform device does.

Everything cxl_acpi set up is released in the reverse order of its creation:

1. the regions (created last; newest first), each as `delete_region` removes
   it: unbound, every position detached (a committed region's decoders reset),
   its id given back;
2. the nvdimm bridge, with its libnvdimm bus and the DIMMs on it;
3. the ports below the root, highest number first: a host-bridge port lets go
   of everything below it as a cxl_port unbind does (the memdevs whose endpoints
   went are detached from cxl_mem) and is then unregistered; an endpoint of a
   restricted host bridge hangs off the root directly, and its memdev detaches;
4. the root decoders, each returning the region id it held in reserve;
5. the root itself, with its dports.

Memdevs stay registered, unbound, until cxl_acpi binds again. What the
platform describes is recorded first (root_hardware, port_hardware).
"""

from __future__ import annotations

from cxltool.sim.kernel import port_hardware, port_ida, root_hardware
from cxltool.sim.kernel.cxl_bus_view import is_endpoint, port_number
from cxltool.sim.kernel.cxl_teardown import detach_memdev, remove_port, unbind_port
from cxltool.sim.kernel.cxlview import Cxl
from cxltool.sim.kernel.device_core import DeviceCore
from cxltool.sim.kernel.ktree import shared_tree
from cxltool.sim.kernel.memregion import MemregionPool
from cxltool.sim.kernel.region_lifecycle import cached_id, delete_region
from cxltool.sysfs import paths

# hdm.py's record of decoders a locked region left committed.
_HDM_ORPHANS = "hdm_enabled_orphans"


def _number(path: str) -> int:
    n = port_number(paths.basename(path))
    return -1 if n is None else n


def _delete_regions(core: DeviceCore, root: str) -> None:
    cxl = Cxl(shared_tree(core.txn))
    mine = [r for r in cxl.regions() if r.path.startswith(root + "/")]
    # The region id is the best record of creation order the tree keeps.
    for region in sorted(mine, key=lambda r: r.id, reverse=True):
        delete_region(cxl, region.root_decoder, region.name)


def _remove_child(core: DeviceCore, port: str) -> None:
    view = core.view
    if is_endpoint(port):
        memdev = view.uport(port)
        if memdev is not None and view.driver(memdev) == "cxl_mem":
            detach_memdev(core, memdev, port)
        else:
            remove_port(core, port)
        return
    if view.is_bound(port):
        unbind_port(core, port)
    else:
        port_hardware.record_port(core.txn, view, port)
    core.unregister(port)
    port_ida.release(core.txn, _number(port))


def _drop_orphans(core: DeviceCore, root: str) -> None:
    """Decoders that go away are no longer anyone's committed leftovers."""
    state = core.txn.kernel_state()
    orphans = state.get(_HDM_ORPHANS)
    if isinstance(orphans, list):
        state[_HDM_ORPHANS] = [p for p in orphans if not str(p).startswith(root + "/")]


def remove_root(core: DeviceCore, root: str) -> None:
    """Unregister the CXL root `root` and everything that hangs off it."""
    view = core.view
    root_hardware.record_root(core.txn, view, root)
    _delete_regions(core, root)
    for bridge in view.children(root, "nvdimm-bridge"):
        core.unregister(bridge)
    for child in sorted(view.child_ports(root), key=_number, reverse=True):
        _remove_child(core, child)
    cxl = Cxl(shared_tree(core.txn))
    pool = MemregionPool(cxl.kt)
    for dec in reversed(root_hardware.root_decoders(view, root)):
        held = cached_id(cxl.decoder(dec))
        if held is not None:
            pool.free(held)
        core.unregister(dec)
    _drop_orphans(core, root)
    core.unregister(root)
    port_ida.release(core.txn, _number(root))
