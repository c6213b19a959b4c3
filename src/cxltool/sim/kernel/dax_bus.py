"""The dax bus's drivers, device_dax and kmem: bind, unbind, new_id, remove_id.

Matching (Linux 6.3 and later): a driver takes a device whose name was added to
its id list with `new_id`, or by type: devices of regions that default to kmem
(CXL, hmem) match kmem, the others device_dax. The id lists are kernel state
(`dax_driver_ids`).

Driver-core rules: the written name (one newline tolerated) must be a device
on the dax bus that the driver matches, else ENODEV; `bind` of a bound device
is EBUSY; a failing probe returns its errno. The bus refuses a device of size 0
(ENXIO); device_dax refuses one whose memory is reserved as System RAM (EBUSY);
kmem's probe is kmem.py's. A successful probe of the region's seed device
clears the region's `seed`. `unbind` of a device not bound to this driver is
ENODEV; unbinding kmem removes or leaks the memory (kmem.py).

`new_id` / `remove_id` take exactly `dax<R>.<N>` (EINVAL otherwise). `new_id`
adds the name and at once attaches the driver to every unbound device it
matches, so the `bind` daxctl writes next finds the device bound (EBUSY, which
daxctl ignores). Removing a name that is not listed is not an error.
"""

from __future__ import annotations

import errno
import re

from cxltool.sim.kernel import kinput
from cxltool.sim.kernel.cxl_bus_view import CxlBusView
from cxltool.sim.kernel.daxview import DaxDevice, bus_devices, device_by_name
from cxltool.sim.kernel.device_core import DeviceCore
from cxltool.sim.kernel.dispatch import NotEmulated, register
from cxltool.sim.kernel.kmem import plan_kmem_attach, plan_kmem_detach, range_reserved
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

DRIVERS = ("device_dax", "kmem")
_IDS_KEY = "dax_driver_ids"
_ID = re.compile(r"^dax(-?\d+)\.(-?\d+)$")


def _type_match(driver: str, dev: DaxDevice) -> bool:
    return (driver == "kmem") == dev.region.kmem_default


def _id_table(txn: Transaction) -> dict[str, list[str]]:
    state = txn.kernel_state()
    if _IDS_KEY not in state:
        # A tree without this state (a restored capture): a device bound to a
        # driver that does not take it by type got there by name.
        table: dict[str, list[str]] = {}
        for dev in bus_devices(txn.root):
            if dev.driver in DRIVERS and not _type_match(dev.driver, dev):
                table.setdefault(dev.driver, []).append(dev.name)
        state[_IDS_KEY] = table
    return state[_IDS_KEY]


def driver_ids(txn: Transaction, driver: str) -> list[str]:
    """The names a driver was given with new_id (kernel state, kept on commit)."""
    return _id_table(txn).setdefault(driver, [])


def matches(txn: Transaction, driver: str, dev: DaxDevice) -> bool:
    return dev.name in _id_table(txn).get(driver, []) or _type_match(driver, dev)


def plan_probe(txn: Transaction, dev: DaxDevice, driver: str) -> int:
    """Bind a device to a driver: 0, or the errno the probe fails with (nothing planned)."""
    if dev.size == 0:
        return errno.ENXIO
    if driver == "kmem":
        err = plan_kmem_attach(txn, dev.spans(), dev.target_node)
    else:
        err = errno.EBUSY if any(range_reserved(txn, s, e) for s, e in dev.spans()) else 0
    if err:
        return err
    DeviceCore(txn, CxlBusView(txn.root)).bind(dev.path, "dax", driver)
    if dev.region.seed == dev.name:
        # The seed is the first created device not yet probed; now it has been.
        txn.write(dev.region.group + "/seed", "\n")
    return 0


def plan_release(txn: Transaction, dev: DaxDevice) -> None:
    """Unbind a device from its driver (kmem first gives back, or leaks, the memory)."""
    if dev.driver == "kmem":
        plan_kmem_detach(txn, dev.spans())
    DeviceCore(txn, CxlBusView(txn.root)).unbind(dev.path)


def _driver(path: str) -> str:
    name = path.rsplit("/", 2)[1]
    if name not in DRIVERS:
        raise NotEmulated(path)
    return name


def _parse_id(path: str, value: str) -> str:
    text = kinput.written(value)
    m = _ID.match(text)
    if not m or text != f"dax{int(m.group(1))}.{int(m.group(2))}":
        raise SysfsError(errno.EINVAL, path)
    return text


@register(paths.DAX_DRIVERS + "/*/bind")
def store_bind(txn: Transaction, path: str, value: str) -> None:
    driver = _driver(path)
    dev = device_by_name(txn.root, kinput.written(value))
    if dev is None or not matches(txn, driver, dev):
        raise SysfsError(errno.ENODEV, path)
    if dev.driver:
        raise SysfsError(errno.EBUSY, path)
    err = plan_probe(txn, dev, driver)
    if err:
        raise SysfsError(err, path)


@register(paths.DAX_DRIVERS + "/*/unbind")
def store_unbind(txn: Transaction, path: str, value: str) -> None:
    driver = _driver(path)
    dev = device_by_name(txn.root, kinput.written(value))
    if dev is None or dev.driver != driver:
        raise SysfsError(errno.ENODEV, path)
    plan_release(txn, dev)


@register(paths.DAX_DRIVERS + "/*/new_id")
def store_new_id(txn: Transaction, path: str, value: str) -> None:
    driver = _driver(path)
    name = _parse_id(path, value)
    ids = driver_ids(txn, driver)
    if name not in ids:
        ids.append(name)
    # driver_attach(): every unbound device the driver now matches is probed;
    # probe failures are not the writer's.
    for dev in bus_devices(txn.root):
        if dev.driver is None and matches(txn, driver, dev):
            plan_probe(txn, dev, driver)


@register(paths.DAX_DRIVERS + "/*/remove_id")
def store_remove_id(txn: Transaction, path: str, value: str) -> None:
    driver = _driver(path)
    name = _parse_id(path, value)
    ids = driver_ids(txn, driver)
    if name in ids:
        ids.remove(name)
