"""Bringing a CXL root up, as binding cxl_acpi to its platform device does.

From the platform's description (root_hardware) the probe registers, in this
order: the root (`rootN`, the lowest free port number) with one dport per host
bridge; one root decoder per window, each reserving the lowest free region id;
a port per host bridge, bound to cxl_port with its dports and idle decoders as
the hardware offers them (port_hardware; a host bridge without dports leaves
its port unbound, as a failed cxl_port probe does); and the nvdimm bridge with
its libnvdimm bus when the root had one. The platform device is then bound,
and the bus rescan the driver queues runs at once: every memdev not bound to
cxl_mem is probed, in memdev order, as a cxl_mem bind would (switch ports,
nvdimm, endpoint port). A memdev whose probe fails stays unbound.

A root the emulator never saw (nothing recorded) cannot be made: the write
fails with ENXIO and changes nothing.
"""

from __future__ import annotations

import errno

from cxltool.sim.build import BUS_ORDER_KEY
from cxltool.sim.kernel import port_hardware, port_ida, root_hardware
from cxltool.sim.kernel.cxl_bus_view import CxlBusView, is_memdev_name
from cxltool.sim.kernel.cxl_probe import PortModel, probe_memdev
from cxltool.sim.kernel.device_core import DeviceCore, KernelShapes
from cxltool.sim.kernel.ktree import shared_tree
from cxltool.sim.kernel.memregion import MemregionPool
from cxltool.sim.kernel.txn import Transaction
from cxltool.sim.shapes import DecoderModel, switch_port_decoders
from cxltool.sysfs import SysfsError, paths


class PlannedShapes(KernelShapes):
    """Kernel shapes that remember which directories and links this write plans."""

    @property
    def children(self) -> dict[str, list[str]]:
        return self.__dict__.setdefault("_children", {})

    @property
    def links(self) -> dict[str, str]:
        return self.__dict__.setdefault("_links", {})

    def dir(self, path: str) -> None:
        parent, name = paths.dirname(path), paths.basename(path)
        names = self.children.setdefault(parent, [])
        if name not in names:
            names.append(name)
        super().dir(path)

    def link(self, path: str, target: str) -> None:
        self.links[path] = target
        super().link(path, target)


class PlannedView(CxlBusView):
    """The bus as the rescan sees it: the tree on disk plus the root this write makes.

    The memdev probe looks for the port that has a dport leading to each device,
    for the root's platform (mock or ACPI) through `uport` links, and for the
    nvdimm bridge among the root's children: all of them planned, not on disk.
    """

    def __init__(self, root, shapes: PlannedShapes) -> None:
        super().__init__(root)
        self.shapes = shapes
        self.planned_roots: list[str] = []

    def roots(self) -> list[str]:
        return super().roots() + [r for r in self.planned_roots if not self.is_gone(r)]

    def uport(self, port: str) -> str | None:
        planned = self.shapes.links.get(port + "/uport")
        return planned if planned is not None else super().uport(port)

    def listdir_host(self, path: str) -> list[str]:
        names = super().listdir_host(path)
        return names + [n for n in self.shapes.children.get(path, []) if n not in names]


def _fail(write_path: str, why: str) -> SysfsError:
    return SysfsError(errno.ENXIO, write_path, why)


def _free_ndbus(core: DeviceCore) -> int:
    used = {
        int(n[5:])
        for n in core.root.listdir_opt(paths.ND_DEVICES)
        if n.startswith("ndbus") and n[5:].isdigit()
    }
    n = 0
    while n in used:
        n += 1
    return n


def _root_decoders(core: DeviceCore, root: str, n: int, hw: root_hardware.RootHardware) -> None:
    pool = MemregionPool(shared_tree(core.txn))
    for k, w in enumerate(hw.windows):
        dec = DecoderModel(
            name=f"decoder{n}.{k}",
            path=f"{root}/decoder{n}.{k}",
            kind="root",
            target_list=w.target_list,
            start=w.start,
            size=w.size,
            ways=w.ways,
            granularity=w.granularity,
            locked=w.locked,
        )
        core.shapes.root_decoder(dec, w, pool.alloc())


def _host_bridge_port(core: DeviceCore, root: str, uport: str, acpi: bool) -> None:
    txn, view = core.txn, core.view
    n = port_ida.allocate(txn)
    name = f"port{n}"
    path = f"{root}/{name}"
    hw = port_hardware.lookup(txn, uport, "acpi" if acpi else "cxl_test")
    if not hw.dports:
        # cxl_port's probe finds no dports and fails: the port stays, unbound.
        core.shapes.cxl_object(path, name, "cxl_port", "cxl:t3", None)
        core.shapes.attr(path + "/decoders_committed", 0)
        core.shapes.link(path + "/uport", uport)
        core.shapes.link(path + "/parent_dport", uport)
        view.added[path] = []
        return
    ids = [d for d, _ in hw.dports]
    model = PortModel(
        name=name,
        path=path,
        uport=uport,
        parent_dport=uport,
        dports=hw.dports,
        cdat=hw.cdat,
        decoders=switch_port_decoders(n, path, ids, hw.decoders, acpi),
    )
    core.shapes.cxl_port(model)
    view.added[path] = list(hw.dports)
    view.bound.add(path)


def _unbound_memdevs(core: DeviceCore) -> list[str]:
    """Unbound memdevs in the order they joined the bus, as the kernel's rescan
    walks it; memdevs the state does not place (restored captures) by number after."""
    names = [n for n in core.root.listdir_opt(paths.CXL_DEVICES) if is_memdev_name(n)]
    joined = core.txn.kernel_state().get(BUS_ORDER_KEY, [])

    def place(name: str) -> tuple[int, int]:
        return (joined.index(name) if name in joined else len(joined), int(name[3:]))

    out = []
    for name in sorted(names, key=place):
        memdev = core.view.device_named(name)
        if memdev is not None and not core.view.is_bound(memdev):
            out.append(memdev)
    return out


def _rescan(core: DeviceCore, write_path: str) -> None:
    """cxl_bus_rescan: each unbound memdev gets cxl_mem's probe; a failure leaves it unbound."""
    txn, view = core.txn, core.view
    for memdev in _unbound_memdevs(core):
        # A probe can fail after planning switch ports; undo what it planned.
        mark = len(txn.ops)
        ida = list(txn.kernel_state().get(port_ida.STATE_KEY, []))
        added, bound = dict(view.added), set(view.bound)
        try:
            probe_memdev(core, memdev, write_path)
        except SysfsError:
            del txn.ops[mark:]
            txn.kernel_state()[port_ida.STATE_KEY] = ida
            view.added, view.bound = added, bound


def probe_root(txn: Transaction, platform: str, write_path: str) -> None:
    """cxl_acpi's probe on `platform`, then the platform device bound to it."""
    hw = root_hardware.lookup(txn, platform)
    if hw is None:
        raise _fail(write_path, f"{paths.basename(platform)}: CXL root unknown to the emulator")
    shapes = PlannedShapes(txn)
    view = PlannedView(txn.root, shapes)
    core = DeviceCore(txn, view)
    core.shapes = shapes
    n = port_ida.allocate(txn)
    root = f"{platform}/root{n}"
    shapes.cxl_root(root, platform, hw.dports)
    view.planned_roots.append(root)
    view.added[root] = list(hw.dports)
    _root_decoders(core, root, n, hw)
    acpi = not paths.basename(platform).startswith("cxl_acpi")
    for uport in hw.host_bridges:
        _host_bridge_port(core, root, uport, acpi)
    if hw.nvdimm_bridge:
        shapes.nvdimm_bridge(root, _free_ndbus(core), hw.ndctl_major)
        view.bound.add(root + "/nvdimm-bridge0")
    core.bind(platform, "platform", "cxl_acpi")
    _rescan(core, write_path)
