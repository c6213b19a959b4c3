"""Bringing CXL ports and memdevs up, as the cxl_port and cxl_mem probes do.

A memdev probe walks up from the device to the first port that already has a
dport leading to it, adding the switch ports that are missing on the way down
(each under a bound parent port), then the memdev's nvdimm (if it has pmem and
an nvdimm bridge is bound) and its endpoint port with idle decoders. Port
numbers come from the shared IDA. A port probe gives an unbound host-bridge or
switch port back its dports and idle decoders. Probes that cannot complete raise
SysfsError(ENXIO), which the bind write returns; nothing is changed then.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass, field

from cxltool.sim.kernel import port_hardware, port_ida
from cxltool.sim.kernel.cxl_bus_view import is_root_port, parent_dir
from cxltool.sim.kernel.device_core import DeviceCore
from cxltool.sim.shapes import DecoderModel, endpoint_port_decoders, switch_port_decoders
from cxltool.sysfs import SysfsError, paths
from cxltool.sysfs.root import META_DIR

DEFAULT_NMEM_MAJOR = 244


@dataclass
class PortModel:
    """A port about to be created (satisfies shapes.PortLike)."""

    name: str
    path: str
    uport: str
    parent_dport: str | None
    dports: list[tuple[int, str]]
    cdat: bytes | None
    decoders: list[DecoderModel] = field(default_factory=list)


def _platform(core: DeviceCore, path: str) -> str:
    return "cxl_test" if core.view.is_cxl_test(path) else "acpi"


def _fail(path: str, why: str) -> SysfsError:
    return SysfsError(errno.ENXIO, path, why)


def _add_switch_port(core: DeviceCore, parent: str, uport: str, write_path: str) -> str:
    """A switch port for the switch whose upstream device is `uport`, below `parent`."""
    txn, view = core.txn, core.view
    if not port_hardware.known(txn, uport):
        raise _fail(write_path, f"{uport}: switch ports unknown to the emulator")
    platform = _platform(core, parent)
    hw = port_hardware.lookup(txn, uport, platform)
    n = port_ida.allocate(txn)
    path = f"{parent}/port{n}"
    ids = [d for d, _ in hw.dports]
    model = PortModel(
        name=f"port{n}",
        path=path,
        uport=uport,
        parent_dport=parent_dir(uport),
        dports=hw.dports,
        cdat=hw.cdat,
        decoders=_as_programmed(
            switch_port_decoders(n, path, ids, hw.decoders, platform == "acpi"), hw
        ),
    )
    core.shapes.cxl_port(model)
    view.added[path] = list(hw.dports)
    view.bound.add(path)
    return path


def _as_programmed(
    decoders: list[DecoderModel], hw: port_hardware.PortHardware
) -> list[DecoderModel]:
    """Idle decoders as a probe reads them: what earlier commits left in their registers."""
    for i, dec in enumerate(decoders):
        if i in hw.programmed:
            dec.ways, dec.granularity, targets = hw.programmed[i]
            if dec.kind == "switch" and targets:
                dec.target_list = targets
    return decoders


def _parent_is_enabled(core: DeviceCore, port: str) -> bool:
    if is_root_port(port):
        # An RCH endpoint hangs off the root, whose host the platform driver holds.
        uport = core.view.uport(port)
        return uport is not None and core.view.is_bound(uport)
    return core.view.is_bound(port)


def probe_memdev(core: DeviceCore, memdev: str, write_path: str) -> None:
    view, txn = core.view, core.txn
    missing: list[str] = []  # upstream devices of switches without a port, nearest first
    dport_dev = parent_dir(parent_dir(memdev))
    found = view.port_with_dport(dport_dev)
    while found is None:
        missing.append(parent_dir(dport_dev))
        dport_dev = parent_dir(parent_dir(dport_dev))
        if not dport_dev.startswith(paths.SYS_DEVICES + "/"):
            raise _fail(write_path, "CXL port topology not found")
        found = view.port_with_dport(dport_dev)
    parent = found[0]
    for uport in reversed(missing):
        if not view.is_bound(parent):
            raise _fail(write_path, f"port {paths.basename(parent)} disabled")
        parent = _add_switch_port(core, parent, uport, write_path)
    if not _parent_is_enabled(core, parent):
        raise _fail(write_path, f"CXL port topology {paths.basename(parent)} not enabled")
    _add_nvdimm(core, memdev)
    platform = _platform(core, parent)
    hw = port_hardware.lookup(txn, memdev, platform)
    n = port_ida.allocate(txn)
    path = f"{parent}/endpoint{n}"
    core.shapes.cxl_port(
        PortModel(
            name=f"endpoint{n}",
            path=path,
            uport=memdev,
            parent_dport=parent_dir(parent_dir(memdev)),
            dports=[],
            cdat=hw.cdat,
            decoders=_as_programmed(endpoint_port_decoders(n, path, hw.decoders), hw),
        )
    )
    core.bind(memdev, "cxl", "cxl_mem")
    if hw.poison:
        core.shapes.wo(memdev + "/trigger_poison_list")


def probe_port(core: DeviceCore, port: str, write_path: str) -> None:
    """cxl_port takes an unbound host-bridge or switch port back."""
    txn, view = core.txn, core.view
    uport = view.uport(port)
    if uport is None or not port_hardware.known(txn, uport) or "endpoint" in port:
        raise _fail(write_path, f"{paths.basename(port)}: hardware unknown to the emulator")
    platform = _platform(core, port)
    hw = port_hardware.lookup(txn, uport, platform)
    if not hw.dports:
        raise _fail(write_path, f"{paths.basename(port)}: no dports")
    n = int(paths.basename(port)[4:])
    for did, target in hw.dports:
        core.shapes.link(f"{port}/dport{did}", target)
    ids = [d for d, _ in hw.dports]
    idle = switch_port_decoders(n, port, ids, hw.decoders, platform == "acpi")
    for dec in _as_programmed(idle, hw):
        core.shapes.switch_decoder(dec)
    txn.write(port + "/decoders_committed", "0\n")
    view.added[port] = list(hw.dports)
    core.bind(port, "cxl", "cxl_port")


# -- nvdimm -----------------------------------------------------------------------------
def _bridge_bus(core: DeviceCore) -> str | None:
    """The bound nvdimm bridge's ndbus directory, if there is one."""
    view = core.view
    for root in view.roots():
        for name in view.listdir_host(root):
            if name.startswith("nvdimm-bridge") and view.is_bound(f"{root}/{name}"):
                bridge = f"{root}/{name}"
                for child in view.listdir_host(bridge):
                    if child.startswith("ndbus"):
                        return f"{bridge}/{child}"
    return None


def _nmem_major(core: DeviceCore) -> int:
    for name in core.root.listdir_opt(paths.ND_DEVICES):
        if name.startswith("nmem"):
            dev = core.root.read_opt(f"{paths.ND_DEVICES}/{name}/dev")
            if dev and ":" in dev:
                return int(dev.split(":")[0])
    try:
        with open(os.path.join(core.root.base, META_DIR, "fixture.json")) as f:
            return int(json.load(f)["majors"]["nmem"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_NMEM_MAJOR


def _add_nvdimm(core: DeviceCore, memdev: str) -> None:
    from cxltool.sim.build import nd_label_slots

    root = core.root
    pmem = core.read(memdev + "/pmem/size")
    if not pmem or int(pmem, 0) == 0:
        return
    ndbus = _bridge_bus(core)
    if ndbus is None:
        return
    memdev_id = paths.basename(memdev)[3:]
    name = f"pmem{memdev_id}"
    core.shapes.cxl_object(f"{memdev}/{name}", name, "cxl_nvdimm", "cxl:t2", "cxl_nvdimm")
    # DIMM ids are global; the bus listing adds those planned earlier in this write.
    names = root.listdir_opt(paths.ND_DEVICES) + core.view.listdir_host(ndbus)
    used = {int(n[4:]) for n in names if n.startswith("nmem") and n[4:].isdigit()}
    k = 0
    while k in used:
        k += 1
    serial = int(core.read(memdev + "/serial") or "0", 0)
    lsa = int(core.read(memdev + "/label_storage_size") or "0")
    core.shapes.nmem(ndbus, k, _nmem_major(core), serial, name, nd_label_slots(lsa))
