"""Store handlers of the cxl_acpi platform driver's `bind` and `unbind`.

`cxl disable-bus` unbinds a CXL root's platform device (`ACPI0017:00`, or
`cxl_acpi.0` under cxl_test) through its driver's `unbind`. Driver-core rules,
as for any bus: the written name (up to a NUL, one newline ignored) must be a
device on the platform bus, else ENODEV; `unbind` of a device not bound to
cxl_acpi is ENODEV; `bind` of a device cxl_acpi does not match (its ACPI id
or the mock's name) is ENODEV, of a bound one EBUSY, and a failing probe
returns its errno. Unbinding tears the root down (cxl_root_teardown); binding
brings it back (cxl_root_probe).
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel import root_hardware
from cxltool.sim.kernel.cxl_bus_view import CxlBusView, is_root_port
from cxltool.sim.kernel.cxl_drivers import written_string
from cxltool.sim.kernel.cxl_root_probe import probe_root
from cxltool.sim.kernel.cxl_root_teardown import remove_root
from cxltool.sim.kernel.device_core import DeviceCore
from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

DRIVER = paths.SYS + "/bus/platform/drivers/cxl_acpi"
_PLATFORM_DEVICES = paths.SYS + "/bus/platform/devices"
# What cxl_acpi matches: the ACPI0017 object, or cxl_test's mock of it by name.
_MATCHES = ("acpi:ACPI0017:", "platform:cxl_acpi")


def _known_hosts(txn: Transaction) -> list[str]:
    """Platform devices that host, or hosted, a CXL root."""
    hosts = [paths.dirname(r) for r in CxlBusView(txn.root).roots()]
    return hosts + [h for h in root_hardware.recorded(txn) if h not in hosts]


def _platform_device(txn: Transaction, path: str, value: str) -> str:
    name = written_string(value)
    if not name or "/" in name or name in (".", ".."):
        raise SysfsError(errno.ENODEV, path)
    link = f"{_PLATFORM_DEVICES}/{name}"
    if txn.root.islink(link):
        try:
            return txn.root.realpath(link)
        except SysfsError:
            raise SysfsError(errno.ENODEV, path) from None
    # A restored capture has no platform bus links; the roots name their hosts.
    for host in _known_hosts(txn):
        if paths.basename(host) == name and txn.root.isdir(host):
            return host
    raise SysfsError(errno.ENODEV, path)


def _bound_here(txn: Transaction, device: str) -> bool:
    try:
        return txn.root.realpath(device + "/driver") == DRIVER
    except SysfsError:
        return False


@register(DRIVER + "/unbind")
def cxl_acpi_unbind(txn: Transaction, path: str, value: str) -> None:
    device = _platform_device(txn, path, value)
    if not _bound_here(txn, device):
        raise SysfsError(errno.ENODEV, path)
    view = CxlBusView(txn.root)
    core = DeviceCore(txn, view)
    for name in txn.root.listdir_opt(device):
        root = f"{device}/{name}"
        if is_root_port(root) and not txn.root.islink(root):
            remove_root(core, root)
    core.unbind(device)


@register(DRIVER + "/bind")
def cxl_acpi_bind(txn: Transaction, path: str, value: str) -> None:
    device = _platform_device(txn, path, value)
    if txn.root.read_opt(device + "/modalias") not in _MATCHES:
        raise SysfsError(errno.ENODEV, path)
    if txn.root.islink(device + "/driver"):
        raise SysfsError(errno.EBUSY, path)
    probe_root(txn, device, path)
