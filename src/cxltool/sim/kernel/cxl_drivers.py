"""Store handlers of the cxl_mem and cxl_port drivers' bind/unbind, and the bus flush.

Driver-core rules: the written name (newline tolerated, as sysfs_streq does) must
be a device on the cxl bus that the driver handles, else ENODEV; `bind` of a
device bound to any driver is EBUSY, and a failing probe returns its errno;
`unbind` of a device not bound to this driver is ENODEV. cxl_mem handles memdevs;
cxl_port handles host-bridge, switch and endpoint ports (not the root, which is
a different device type). `/sys/bus/cxl/flush` accepts exactly `1`: the emulated
kernel does its deferred work (memdev detach after a port unbind) synchronously,
so there is never anything left to wait for.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel.cxl_bus_view import CxlBusView, is_memdev_name, port_number
from cxltool.sim.kernel.cxl_probe import probe_memdev, probe_port
from cxltool.sim.kernel.cxl_teardown import detach_memdev, unbind_port
from cxltool.sim.kernel.device_core import DeviceCore
from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

_MEM = paths.CXL_DRIVERS + "/cxl_mem"
_PORT = paths.CXL_DRIVERS + "/cxl_port"


def written_string(value: str) -> str:
    """What a store sees: up to the first NUL, one trailing newline ignored."""
    text = value.split("\0", 1)[0]
    return text[:-1] if text.endswith("\n") else text


def _handles_port(name: str) -> bool:
    return port_number(name) is not None and not name.startswith("root")


def _find(txn: Transaction, path: str, value: str, matches) -> tuple[CxlBusView, str]:
    view = CxlBusView(txn.root)
    name = written_string(value)
    device = view.device_named(name)
    if device is None or not matches(name):
        raise SysfsError(errno.ENODEV, path)
    return view, device


def _bind(txn: Transaction, path: str, value: str, matches, probe) -> None:
    view, device = _find(txn, path, value, matches)
    if view.is_bound(device):
        raise SysfsError(errno.EBUSY, path)
    probe(DeviceCore(txn, view), device, path)


def _unbind(txn: Transaction, path: str, value: str, matches, driver: str, remove) -> None:
    view, device = _find(txn, path, value, matches)
    if view.driver(device) != driver:
        raise SysfsError(errno.ENODEV, path)
    remove(DeviceCore(txn, view), device)


@register(_MEM + "/bind")
def cxl_mem_bind(txn: Transaction, path: str, value: str) -> None:
    _bind(txn, path, value, is_memdev_name, probe_memdev)


@register(_MEM + "/unbind")
def cxl_mem_unbind(txn: Transaction, path: str, value: str) -> None:
    _unbind(txn, path, value, is_memdev_name, "cxl_mem", detach_memdev)


@register(_PORT + "/bind")
def cxl_port_bind(txn: Transaction, path: str, value: str) -> None:
    _bind(txn, path, value, _handles_port, probe_port)


@register(_PORT + "/unbind")
def cxl_port_unbind(txn: Transaction, path: str, value: str) -> None:
    _unbind(txn, path, value, _handles_port, "cxl_port", unbind_port)


@register(paths.CXL_FLUSH)
def cxl_bus_flush(txn: Transaction, path: str, value: str) -> None:
    if written_string(value) != "1":
        raise SysfsError(errno.EINVAL, path)
