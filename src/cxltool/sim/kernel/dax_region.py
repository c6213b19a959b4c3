"""Stores of a dax region's `dax_region/` group: `create` and `delete`.

`create` takes the integer 1 (anything else is EINVAL); with no free capacity
(`available_size` 0) it is ENOSPC. It registers a new device of size 0,
`daxR.N` with the lowest id the region has free and the lowest free dax minor,
which no driver takes until it is sized. The region remembers it as the
youngest device (read back from `create`) and, when it has no seed, as its
seed (`seed`), the device to size and bind next.

`delete` takes a device name: not a device of this region is ENXIO; a device
bound to a driver, holding capacity, or with id 0 (which the kernel always
keeps) is EBUSY. Otherwise the device is unregistered, its id and minor freed,
and `seed` / `create` cleared where they named it.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel import dax_alloc, kinput
from cxltool.sim.kernel.cxl_bus_view import CxlBusView
from cxltool.sim.kernel.daxview import DaxRegion, bus_devices, read_region, region_devices
from cxltool.sim.kernel.device_core import DeviceCore, KernelShapes
from cxltool.sim.kernel.dispatch import NotEmulated, register
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

_GROUP = paths.SYS_DEVICES + "/*/dax_region/"
DEFAULT_DAX_MAJOR = 252


def _region(txn: Transaction, path: str) -> DaxRegion:
    region = read_region(txn.root, path.rsplit("/", 2)[0])
    if region is None:
        raise NotEmulated(path)
    return region


def _dax_major(txn: Transaction, region: DaxRegion) -> int:
    for dev in region_devices(txn.root, region):
        if dev.devnum:
            return dev.devnum[0]
    majors = txn.kernel_state().get("majors", {})
    major = majors.get("dax") if isinstance(majors, dict) else None
    return major if isinstance(major, int) else DEFAULT_DAX_MAJOR


def _free_minor(txn: Transaction, major: int) -> int:
    used = {d.devnum[1] for d in bus_devices(txn.root) if d.devnum and d.devnum[0] == major}
    minor = 0
    while minor in used:
        minor += 1
    return minor


@register(_GROUP + "create")
def store_create(txn: Transaction, path: str, value: str) -> None:
    region = _region(txn, path)
    if region.static:
        raise SysfsError(errno.EINVAL, path)
    text = kinput.written(value)
    negative = text.startswith("-")
    count = kinput.kstrtoull(text[1:] if negative else text)  # kstrtoint
    if count is None:
        raise SysfsError(errno.EINVAL, path)
    if count > 0x7FFFFFFF:
        raise SysfsError(errno.ERANGE, path)
    if negative or count != 1:
        raise SysfsError(errno.EINVAL, path)
    devices = region_devices(txn.root, region)
    if dax_alloc.available(region, devices) == 0:
        raise SysfsError(errno.ENOSPC, path)
    used = {d.id for d in devices}
    dev_id = 0
    while dev_id in used:
        dev_id += 1
    name = f"dax{region.id}.{dev_id}"
    device = f"{region.path}/{name}"
    major = _dax_major(txn, region)
    sibling = devices[0] if devices else None
    shapes = KernelShapes(txn)
    shapes.dax_device_attrs(
        device,
        devnum=(major, _free_minor(txn, major)),
        driver=None,
        resource=region.start,
        size=0,
        target_node=sibling.target_node if sibling else -1,
        memmap_on_memory=False,
        align=region.align,
        numa_node=sibling.numa_node if sibling else -1,
    )
    shapes.char_device(device, f"{paths.DEV}/{name}")
    if not region.seed:
        txn.write(region.group + "/seed", name + "\n")
    txn.write(region.group + "/create", name + "\n")


@register(_GROUP + "delete")
def store_delete(txn: Transaction, path: str, value: str) -> None:
    region = _region(txn, path)
    if region.static:
        raise SysfsError(errno.EINVAL, path)
    name = kinput.written(value)
    victim = next((d for d in region_devices(txn.root, region) if d.name == name), None)
    if victim is None:
        raise SysfsError(errno.ENXIO, path)
    if victim.driver or victim.size or victim.id == 0:
        # daxR.0 stays so that the dax bus is populated while the region is.
        raise SysfsError(errno.EBUSY, path)
    DeviceCore(txn, CxlBusView(txn.root)).unregister(victim.path)
    if region.seed == name:
        txn.write(region.group + "/seed", "\n")
    if region.youngest == name:
        txn.write(region.group + "/create", "\n")
