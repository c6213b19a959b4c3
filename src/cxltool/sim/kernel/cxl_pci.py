"""The cxl_pci driver: a type-3 device's memdev comes with its probe and goes with its removal.

Probing reads the device through its mailbox and registers `memN` with the lowest
free memdev id, the capacities the device reports now (the memdev's `ram/size`
and `pmem/size` keep them until the next cxl_pci probe, whatever the device does
meanwhile), its `/dev/cxl/memN` node and its mailbox answers. cxl_mem then probes
the memdev (endpoint port, decoders, nvdimm); when that fails the memdev stays
unbound, as in the kernel. Removal detaches cxl_mem (the endpoint and its region
memberships go) and unregisters the memdev.

`/sys/bus/pci/drivers/cxl_pci/{bind,unbind}` take a PCI function name, with the
driver core's rules: not a PCI device or not a CXL memory device (class 0x0502)
is ENODEV, binding a bound device is EBUSY, unbinding one bound elsewhere is
ENODEV. The same probe and removal serve hot-plug (sim/events.py), where cxl_test's
mock devices take cxl_mock_mem's place.
"""

from __future__ import annotations

import base64
import copy
import errno
import json

from cxltool.sim import type3
from cxltool.sim.build import BUS_ORDER_KEY
from cxltool.sim.kernel import port_hardware
from cxltool.sim.kernel.cxl_bus_view import CxlBusView, is_memdev_name
from cxltool.sim.kernel.cxl_drivers import written_string
from cxltool.sim.kernel.cxl_probe import probe_memdev
from cxltool.sim.kernel.cxl_teardown import detach_memdev
from cxltool.sim.kernel.device_core import DeviceCore
from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

DRIVER = paths.SYS + "/bus/pci/drivers/cxl_pci"
_PCI_DEVICES = paths.SYS + "/bus/pci/devices"
DEFAULT_MEMDEV_MAJOR = 250
MEMDEVS_KEY = "memdevs"  # kernel state: what each memdev's device had at probe


def memdev_of(core: DeviceCore, host: str) -> str | None:
    """The memdev below a device's host directory, if it has one."""
    for name in core.view.listdir_host(host):
        if is_memdev_name(name) and not core.view.is_gone(f"{host}/{name}"):
            return f"{host}/{name}"
    return None


def _free_memdev_id(core: DeviceCore) -> int:
    used = {
        int(name[3:])
        for name in core.root.listdir_opt(paths.CXL_DEVICES)
        if is_memdev_name(name) and not core.view.is_gone(_memdev_path(core, name))
    }
    n = 0
    while n in used:
        n += 1
    return n


def _memdev_path(core: DeviceCore, name: str) -> str:
    try:
        return core.root.realpath(f"{paths.CXL_DEVICES}/{name}")
    except SysfsError:
        return ""


def _major(core: DeviceCore) -> int:
    majors = core.txn.kernel_state().get("majors", {})
    if isinstance(majors.get("cxl_memdev"), int):
        return majors["cxl_memdev"]
    for name in core.root.listdir_opt(paths.CXL_DEVICES):
        if is_memdev_name(name):
            dev = core.root.read_opt(f"{paths.CXL_DEVICES}/{name}/dev") or ""
            if ":" in dev:
                return int(dev.split(":")[0])
    return DEFAULT_MEMDEV_MAJOR


def probe(core: DeviceCore, host: str, dev: type3.Type3) -> str:
    """Register the device's memdev and let cxl_mem probe it; the memdev's path."""
    from cxltool.sim.build import device_cdat

    txn = core.txn
    dev.memdev = _free_memdev_id(core)
    name = f"mem{dev.memdev}"
    memdev = f"{host}/{name}"
    core.shapes.memdev(memdev, dev, _major(core), bound=False)
    state = txn.kernel_state()
    media = {"serial": dev.serial, "ram": dev.ram, "pmem": dev.pmem}
    state.setdefault(MEMDEVS_KEY, {})[name] = media
    # Registered, the memdev is the last on the cxl bus, which a rescan follows.
    joined = state.setdefault(BUS_ORDER_KEY, [])
    state[BUS_ORDER_KEY] = [n for n in joined if n != name] + [name]
    if dev.mailbox:
        txn.write(type3.mailbox_file(name), json.dumps(dev.mailbox, indent=1), 0o644)
    # The endpoint port cxl_mem makes finds the device's decoders and CDAT as they are now.
    hw: dict = {"decoders": dev.hdm_decoders, "poison": dev.poison}
    if dev.cdat:
        hw["cdat"] = base64.b64encode(device_cdat(dev)).decode()
    state.setdefault(port_hardware.STATE_KEY, {})[memdev] = hw
    mark, saved = len(txn.ops), copy.deepcopy(state)
    try:
        probe_memdev(core, memdev, paths.CXL_DRIVERS + "/cxl_mem/bind")
    except SysfsError:
        # cxl_mem could not attach (no enabled port above): the memdev stays unbound.
        del txn.ops[mark:]
        txn.state = saved
    return memdev


def remove(core: DeviceCore, memdev: str) -> None:
    """cxl_mem detaches, then the memdev is unregistered with its mailbox answers."""
    txn = core.txn
    if core.view.driver(memdev) == "cxl_mem":
        detach_memdev(core, memdev)
    core.unregister(memdev)
    name = paths.basename(memdev)
    state = txn.kernel_state()
    state.get(MEMDEVS_KEY, {}).pop(name, None)
    state[BUS_ORDER_KEY] = [n for n in state.get(BUS_ORDER_KEY, []) if n != name]
    state.get(port_hardware.STATE_KEY, {}).pop(memdev, None)
    txn.remove(type3.mailbox_file(name))


def device_record(core: DeviceCore, host: str) -> type3.Type3 | None:
    """The device's facts, its mailbox answers as the memdev has them now."""
    state = core.txn.kernel_state()
    memdev = memdev_of(core, host)
    if memdev is None:
        return type3.load(state, host)
    dev = type3.load(state, host) or type3.from_tree(core.root, state, memdev)
    name = paths.basename(memdev)
    from cxltool.sim.device_mailbox import read_answers

    dev.mailbox = read_answers(core.root, name) or {}
    return dev


# -- the driver's bind and unbind ---------------------------------------------------------
def _pci_function(txn: Transaction, path: str, value: str) -> str:
    name = written_string(value)
    link = f"{_PCI_DEVICES}/{name}"
    if not name or "/" in name or name in (".", "..") or not txn.root.islink(link):
        raise SysfsError(errno.ENODEV, path)
    try:
        host = txn.root.realpath(link)
    except SysfsError:
        raise SysfsError(errno.ENODEV, path) from None
    cls = txn.root.read_opt(host + "/class") or ""
    if not cls.startswith("0x0502"):
        raise SysfsError(errno.ENODEV, path)
    return host


@register(DRIVER + "/bind")
def cxl_pci_bind(txn: Transaction, path: str, value: str) -> None:
    host = _pci_function(txn, path, value)
    if txn.root.islink(host + "/driver"):
        raise SysfsError(errno.EBUSY, path)
    dev = type3.load(txn.kernel_state(), host)
    if dev is None:
        raise SysfsError(errno.ENXIO, path, "device unknown to the emulator")
    core = DeviceCore(txn, CxlBusView(txn.root))
    probe(core, host, dev)
    core.bind(host, "pci", "cxl_pci")


@register(DRIVER + "/unbind")
def cxl_pci_unbind(txn: Transaction, path: str, value: str) -> None:
    host = _pci_function(txn, path, value)
    if txn.root.link_name(host + "/driver") != "cxl_pci":
        raise SysfsError(errno.ENODEV, path)
    core = DeviceCore(txn, CxlBusView(txn.root))
    dev = device_record(core, host)
    memdev = memdev_of(core, host)
    if memdev is not None:
        remove(core, memdev)
    if dev is not None:
        type3.save(txn.kernel_state(), host, dev)
    core.unbind(host)
