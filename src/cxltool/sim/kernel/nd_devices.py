"""Driver-core steps for libnvdimm devices, planned on a KernelTree.

Binding adds a device's `driver` link, the driver's link back and the DRIVER=
line of its uevent; unbinding takes them away. Unregistering a device removes
its directory and everything outside it that points in: bus and class links,
driver links, `/sys/dev/{char,block}` links and `/dev` nodes, for the device
and every device below it (a dax device below its libnvdimm parent, a disk
below its namespace).
"""

from __future__ import annotations

from cxltool.sim.kernel.ktree import KernelTree
from cxltool.sysfs import paths

_BUS = paths.SYS + "/bus/"
_CLASS = paths.SYS + "/class/"


def _set_driver_line(kt: KernelTree, path: str, driver: str | None) -> None:
    text = kt.read(path + "/uevent")
    if text is None:
        return
    lines = [ln for ln in text.split("\n") if ln and not ln.startswith("DRIVER=")]
    if driver:
        # The kernel emits DRIVER= just before MODALIAS= (or last).
        at = next((i for i, ln in enumerate(lines) if ln.startswith("MODALIAS=")), len(lines))
        lines.insert(at, f"DRIVER={driver}")
    kt.set_file(path + "/uevent", "".join(ln + "\n" for ln in lines), 0o644)


def bind(kt: KernelTree, path: str, bus: str, driver: str) -> None:
    drv = f"{_BUS}{bus}/drivers/{driver}"
    kt.link(path + "/driver", drv)
    kt.link(f"{drv}/{paths.basename(path)}", path)
    _set_driver_line(kt, path, driver)


def unbind(kt: KernelTree, path: str) -> None:
    drv = kt.readlink_abs(path + "/driver")
    if drv is None:
        return
    kt.remove(path + "/driver")
    kt.remove(f"{drv}/{paths.basename(path)}")
    _set_driver_line(kt, path, None)


def set_readable(kt: KernelTree, path: str, value: object, mode: int | None = None) -> None:
    """Give an attribute a value that reads (it may have failed to read before)."""
    kt.write(path, value, mode)
    kt.txn.unreadable(path, 0)


def set_unreadable(kt: KernelTree, path: str, mode: int, err: int) -> None:
    """An attribute whose show() now fails with err (ENXIO: nothing to show)."""
    kt.shapes.unreadable_attr(path, mode, err)


_DEV_LINKS = {"char": paths.SYS_DEV_CHAR, "block": paths.SYS_DEV_BLOCK}


def add_dev_node(kt: KernelTree, device: str, kind: str, major: int, minor: int) -> None:
    """The /dev node and the device-number link (`char` or `block`) of a device."""
    name = paths.basename(device)
    kt.mknod(f"{paths.DEV}/{name}", major, minor)
    kt.link(f"{_DEV_LINKS[kind]}/{major}:{minor}", device)


def _forget(kt: KernelTree, path: str) -> None:
    """Links from outside into one device directory, and its /dev node."""
    sub = kt.readlink_abs(path + "/subsystem")
    if sub is None:
        return
    name = paths.basename(path)
    if sub.startswith(_BUS):
        kt.remove(f"{sub}/devices/{name}")
        drv = kt.readlink_abs(path + "/driver")
        if drv is not None:
            kt.remove(f"{drv}/{name}")
    elif sub.startswith(_CLASS):
        kt.remove(f"{sub}/{name}")
    dev = (kt.read(path + paths.DEVNUM) or "").strip()
    if dev:
        links = paths.SYS_DEV_BLOCK if sub == paths.CLASS_BLOCK else paths.SYS_DEV_CHAR
        kt.remove(f"{links}/{dev}")
        kt.remove(f"{paths.DEV}/{name}")


def _device_dirs(kt: KernelTree, path: str) -> list[str]:
    """The directory and the directories below it, deepest first (links not followed)."""
    out = []
    for name in kt.listdir(path):
        child = f"{path}/{name}"
        if kt.isdir(child):
            out.extend(_device_dirs(kt, child))
    out.append(path)
    return out


def unregister(kt: KernelTree, path: str) -> None:
    """Remove a device, the devices below it, and every link into them."""
    if not kt.isdir(path):
        return
    for d in _device_dirs(kt, path):
        _forget(kt, d)
    kt.rmtree(path)
