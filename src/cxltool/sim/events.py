"""Device-side events on a simulated system: a type-3 device arrives, leaves, or changes.

What the machine does about each is the kernel's business, and the emulated
kernel does it. Every event is one transaction under the root's lock, planned
completely before anything is written, so a refused event changes nothing.

- `hot_add`: a device appears in a free downstream port (a root port or a
  switch downstream port with nothing below it): its PCI function (cxl_test: its
  mock platform device) bound to cxl_pci, which registers the memdev with the
  next memdev id, and cxl_mem's probe (endpoint port and decoders, the switch
  ports above it if they were gone, the nvdimm of a pmem device).
- `hot_remove`: a surprise removal: cxl_mem detaches (the endpoint's decoders
  leave their regions), the memdev and the device's function are unregistered.
- `set_capacity`: the device's media change. The kernel read the capacities when
  it probed the device and keeps showing them (`ram/size`, `pmem/size`) until
  cxl_pci probes it again; the mailbox (IDENTIFY, GET_PARTITION_INFO) and the
  CDAT already answer with the new ones.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from cxltool.sim import type3
from cxltool.sim.kernel import cxl_pci, port_hardware
from cxltool.sim.kernel.cxl_bus_view import CxlBusView, is_memdev_name
from cxltool.sim.kernel.device_core import DeviceCore
from cxltool.sim.kernel.txn import Transaction, locked
from cxltool.sim.shapes import PCI_TYPE3
from cxltool.sysfs import SysfsError, paths
from cxltool.sysfs.root import SimulatedRoot

CAPACITY_UNIT = 256 << 20  # CXL devices report capacity in 256 MiB units
MAX_CAPACITY = 1 << 52  # the DPA space a device can describe
_PCI_NAME = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_PLATFORM_NAME = re.compile(r"^[a-z][a-z0-9_]*\.\d+$")
_MOCK_DRIVER = paths.SYS + "/bus/platform/drivers/cxl_mock_mem"


class EventError(Exception):
    """An event that cannot happen on this system; nothing was changed."""


@dataclass(frozen=True)
class Slot:
    """A downstream port with nothing below it: where a device can be plugged."""

    name: str  # the port's device name: a PCI address or a platform device name
    path: str
    pci: bool


# -- where devices can go ------------------------------------------------------------------
def _child_devices(root: SimulatedRoot, path: str) -> list[str]:
    """Child directories that are PCI or platform devices, in name order."""
    out = []
    for name in sorted(root.listdir_opt(path)):
        child = f"{path}/{name}"
        if root.islink(child) or not root.isdir(child):
            continue
        try:
            bus = root.realpath(child + "/subsystem")
        except SysfsError:
            continue
        if bus in (paths.SYS + "/bus/pci", paths.SYS + "/bus/platform"):
            out.append(child)
    return out


def _is_pci(root: SimulatedRoot, path: str) -> bool:
    try:
        return root.realpath(path + "/subsystem") == paths.SYS + "/bus/pci"
    except SysfsError:
        return False


def _is_type3(root: SimulatedRoot, path: str) -> bool:
    if _is_pci(root, path):
        return (root.read_opt(path + "/class") or "").startswith("0x0502")
    return any(is_memdev_name(n) for n in root.listdir_opt(path)) or (
        paths.basename(path).startswith(("cxl_mem.", "cxl_rcd."))
    )


def _host_bridges(root: SimulatedRoot) -> list[str]:
    """The host bridges the CXL root's dports lead to, in dport order."""
    out = []
    view = CxlBusView(root)
    for port in view.roots():
        out.extend(target for _did, target in view.dports(port))
    return out


def slots(root: SimulatedRoot) -> list[tuple[Slot, str | None]]:
    """Every downstream port below the CXL host bridges, with the device or switch in it."""
    found: list[tuple[Slot, str | None]] = []

    def downstream(port: str) -> None:
        slot = Slot(paths.basename(port), port, _is_pci(root, port))
        below = _child_devices(root, port)
        if not below:
            found.append((slot, None))
        for child in below:
            # A device, or a switch's upstream port, whose children are downstream ports.
            found.append((slot, child))
            if not _is_type3(root, child):
                for dsp in _child_devices(root, child):
                    downstream(dsp)

    for hb in _host_bridges(root):
        for child in _child_devices(root, hb):
            # A restricted host bridge holds its device directly: no slot there.
            if not _is_type3(root, child):
                downstream(child)
    return found


def _pick_slot(root: SimulatedRoot, name: str | None) -> Slot:
    known = slots(root)
    if name is None:
        for slot, device in known:
            if device is None:
                return slot
        raise EventError("no free slot: every root port and switch downstream port is taken")
    if not (_PCI_NAME.match(name) or _PLATFORM_NAME.match(name)):
        raise EventError(f"{name!r}: not a slot name (a port's PCI address like 0000:0c:01.0)")
    for slot, device in known:
        if slot.name == name:
            if device is not None:
                raise EventError(f"slot {name} is taken by {paths.basename(device)}")
            return slot
    raise EventError(f"{name}: no such slot (see the dportN links of the CXL ports)")


# -- checks ---------------------------------------------------------------------------------
def check_capacity(ram: int, pmem: int) -> None:
    for what, size in (("ram", ram), ("pmem", pmem)):
        if size < 0 or size >= MAX_CAPACITY:
            raise EventError(f"{what} size {size:#x} is out of range")
        if size % CAPACITY_UNIT:
            raise EventError(f"{what} size {size:#x} is not a multiple of 256M")
    if ram + pmem == 0:
        raise EventError("a device needs ram or pmem capacity")


def _memdev(root: SimulatedRoot, name: str) -> str:
    if not is_memdev_name(name):
        raise EventError(f"{name!r}: not a memdev name (memN)")
    link = f"{paths.CXL_DEVICES}/{name}"
    try:
        path = root.realpath(link) if root.islink(link) else ""
    except SysfsError:
        path = ""
    if not path or not root.isdir(path):
        raise EventError(f"{name}: no such memdev")
    return path


def _serials(root: SimulatedRoot) -> dict[int, str]:
    out = {}
    for name in root.listdir_opt(paths.CXL_DEVICES):
        if is_memdev_name(name):
            text = root.read_opt(f"{paths.CXL_DEVICES}/{name}/serial") or ""
            try:
                out[int(text, 0)] = name
            except ValueError:
                continue
    return out


def _platform_kind(txn: Transaction, slot: Slot) -> str:
    kind = txn.kernel_state().get("platform", {}).get("kind")
    if kind in ("acpi", "cxl_test"):
        return kind
    return "acpi" if slot.pci else "cxl_test"


def _device_host(root: SimulatedRoot, slot: Slot) -> str:
    """Where the new device's function goes below the slot."""
    if slot.pci:
        secondary = root.read_opt(slot.path + "/secondary_bus_number")
        if secondary is None or not secondary.isdigit():
            raise EventError(f"slot {slot.name}: its secondary bus number is unknown")
        return f"{slot.path}/{slot.name[:4]}:{int(secondary):02x}:00.0"
    used = {
        int(n.rsplit(".", 1)[1])
        for n in root.listdir_opt(paths.SYS + "/bus/platform/devices")
        if n.startswith(("cxl_mem.", "cxl_rcd.")) and n.rsplit(".", 1)[1].isdigit()
    }
    k = 0
    while k in used:
        k += 1
    return f"{slot.path}/cxl_mem.{k}"


def _local_cpus(root: SimulatedRoot, slot: Slot, numa_node: int) -> tuple[str, str]:
    if numa_node >= 0:
        node = f"{paths.NODE}/node{numa_node}"
        cpumap, cpulist = root.read_opt(node + "/cpumap"), root.read_opt(node + "/cpulist")
        if cpumap is not None and cpulist is not None:
            return cpumap, cpulist
    # No node of its own: the device's CPUs are its port's.
    cpumap = root.read_opt(slot.path + "/local_cpus") or ""
    cpulist = root.read_opt(slot.path + "/local_cpulist") or ""
    return cpumap, cpulist


# -- the events ---------------------------------------------------------------------------
@dataclass
class Added:
    memdev: str  # memN
    slot: str
    host: str  # the device's function (kernel path)
    enabled: bool  # cxl_mem bound it


def hot_add(
    root: SimulatedRoot,
    ram: int,
    pmem: int,
    serial: int | None = None,
    slot: str | None = None,
    label_storage_size: int | None = None,
    numa_node: int = -1,
) -> Added:
    """A new type-3 device in a free slot, probed by cxl_pci and cxl_mem."""
    check_capacity(ram, pmem)
    if label_storage_size is not None and not 0 <= label_storage_size < 1 << 32:
        raise EventError(f"label storage size {label_storage_size:#x} is out of range")
    if not -1 <= numa_node < 1024:
        raise EventError(f"NUMA node {numa_node} is out of range")
    if numa_node >= 0 and not root.isdir(f"{paths.NODE}/node{numa_node}"):
        raise EventError(f"node{numa_node} is not online")
    with locked(root):
        where = _pick_slot(root, slot)
        serials = _serials(root)
        if serial is None:
            serial = max(serials, default=0) + 1
        elif not 0 <= serial < 1 << 64:
            raise EventError(f"serial {serial:#x} is out of range")
        elif serial in serials:
            raise EventError(f"serial {serial:#x} is already {serials[serial]}'s")
        txn = Transaction(root)
        kind = _platform_kind(txn, where)
        host = _device_host(root, where)
        dev = type3.new_device(kind, serial, ram, pmem, label_storage_size, numa_node)
        core = DeviceCore(txn, CxlBusView(root))
        if where.pci:
            core.shapes.pci_device(host, PCI_TYPE3, numa_node, _local_cpus(root, where, numa_node))
        else:
            core.shapes.dir(_MOCK_DRIVER)
            core.shapes.platform_device(host, _MOCK_DRIVER)
        memdev = cxl_pci.probe(core, host, dev)
        enabled = memdev in core.view.bound
        txn.commit()
    return Added(paths.basename(memdev), where.name, host, enabled)


def hot_remove(root: SimulatedRoot, name: str) -> str:
    """The device behind memdev `name` is pulled out; the slot it leaves."""
    with locked(root):
        memdev = _memdev(root, name)
        host = paths.dirname(memdev)
        txn = Transaction(root)
        core = DeviceCore(txn, CxlBusView(root))
        cxl_pci.remove(core, memdev)
        core.unregister(host)
        type3.forget(txn.kernel_state(), host)
        txn.commit()
    return paths.basename(paths.dirname(host))


@dataclass
class Capacity:
    memdev: str
    ram: int  # the device's media now
    pmem: int
    shown_ram: int  # what the kernel shows until it probes the device again
    shown_pmem: int


def set_capacity(
    root: SimulatedRoot, name: str, ram: int | None = None, pmem: int | None = None
) -> Capacity:
    """The device behind memdev `name` changes its media; the kernel's view stays."""
    from cxltool.sim.build import device_cdat

    if ram is None and pmem is None:
        raise EventError("give the new capacity: --ram SIZE, --pmem SIZE or both")
    with locked(root):
        memdev = _memdev(root, name)
        host = paths.dirname(memdev)
        txn = Transaction(root)
        core = DeviceCore(txn, CxlBusView(root))
        dev = cxl_pci.device_record(core, host)
        assert dev is not None  # a memdev's device always has facts
        new_ram = dev.ram if ram is None else ram
        new_pmem = dev.pmem if pmem is None else pmem
        check_capacity(new_ram, new_pmem)
        info = dev.mailbox.get("partition_info")
        align = info.get("partition_alignment_size", 0) if isinstance(info, dict) else 0
        if align and (new_ram % align or new_pmem % align):
            raise EventError(f"sizes must be multiples of the partition alignment ({align:#x})")
        dev.ram, dev.pmem = new_ram, new_pmem
        if isinstance(info, dict):
            # The device answers IDENTIFY and GET_PARTITION_INFO with its new media;
            # a partition change it had pending for the next boot is dropped.
            dev.mailbox["partition_info"] = _repartitioned(info, new_ram, new_pmem)
            txn.write(type3.mailbox_file(name), json.dumps(dev.mailbox, indent=1), 0o644)
        state = txn.kernel_state()
        type3.save(state, host, dev)
        if dev.cdat:
            # cxl_port reads CDAT whenever the endpoint port is probed.
            hw = state.setdefault(port_hardware.STATE_KEY, {}).setdefault(memdev, {})
            hw["cdat"] = base64.b64encode(device_cdat(dev)).decode()
        txn.commit()
    return Capacity(
        name,
        new_ram,
        new_pmem,
        int(root.read_opt(memdev + "/ram/size") or "0", 0),
        int(root.read_opt(memdev + "/pmem/size") or "0", 0),
    )


def _repartitioned(info: dict, ram: int, pmem: int) -> dict:
    out = dict(info)
    out["total_size"] = ram + pmem
    if info.get("partition_alignment_size"):
        out.update(
            volatile_only_size=0,
            persistent_only_size=0,
            active_volatile_size=ram,
            active_persistent_size=pmem,
            next_volatile_size=0,
            next_persistent_size=0,
        )
    else:
        out.update(volatile_only_size=ram, persistent_only_size=pmem)
    return out
