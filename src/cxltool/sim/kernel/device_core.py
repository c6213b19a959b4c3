"""What the driver core does to sysfs when a device binds, unbinds or goes away.

Binding adds the device's `driver` link, the driver's link back to the device
and a DRIVER= line in its uevent; unbinding takes them away. Unregistering a
device removes its directory and everything that points into it from outside:
bus and class links, driver links, `/sys/dev/char` links and `/dev` nodes.
Everything is planned on a transaction; the bus view learns what is gone.
"""

from __future__ import annotations

import os

from cxltool.sim.kernel.cxl_bus_view import CxlBusView
from cxltool.sim.kernel.txn import Transaction, TxnShapes
from cxltool.sysfs import SysfsError, paths

_BUS = paths.SYS + "/bus/"
_CLASS = paths.SYS + "/class/"


class KernelShapes(TxnShapes):
    """Object shapes planned on a transaction, char device nodes included."""

    def char_device(self, device_path: str, node: str) -> None:
        dev_file = self.txn.root.host(device_path + paths.DEVNUM)
        numbers = self.pending_dev.get(device_path) or _read(dev_file)
        if numbers:
            major, minor = (int(x) for x in numbers.split(":"))
            self.txn.mknod(node, major, minor)
            self.link(f"{paths.SYS_DEV_CHAR}/{numbers}", device_path)
        else:
            self.txn.write(node, "", 0o600)

    @property
    def pending_dev(self) -> dict[str, str]:
        return self.__dict__.setdefault("_pending_dev", {})

    @property
    def planned(self) -> dict[str, str | bytes]:
        """Files planned so far, by path: a device made and probed in one write reads them."""
        return self.__dict__.setdefault("_planned", {})

    def file(self, path: str, data: str | bytes = b"", mode: int = 0o444) -> None:
        self.planned[path] = data
        super().file(path, data, mode)

    def attr(self, path: str, value: object, mode: int = 0o444) -> None:
        if path.endswith(paths.DEVNUM):
            self.pending_dev[path[: -len(paths.DEVNUM)]] = str(value)
        super().attr(path, value, mode)


def _read(host: str) -> str:
    try:
        with open(host) as f:
            return f.read().strip()
    except OSError:
        return ""


class DeviceCore:
    """Driver-core changes to the tree, planned on one transaction."""

    def __init__(self, txn: Transaction, view: CxlBusView) -> None:
        self.txn = txn
        self.view = view
        self.root = view.root
        self.shapes = KernelShapes(txn)
        self._uevents: dict[str, str] = {}

    def read(self, path: str) -> str | None:
        """An attribute as this write sees it: planned earlier in it, else on disk."""
        data = self.shapes.planned.get(path)
        if data is None:
            return self.root.read_opt(path)
        text = data.decode() if isinstance(data, bytes) else data
        return text[:-1] if text.endswith("\n") else text

    # -- uevent ------------------------------------------------------------------
    def _uevent(self, path: str) -> str:
        if path not in self._uevents:
            planned = self.shapes.planned.get(path + "/uevent")
            if isinstance(planned, str):
                self._uevents[path] = planned
            else:
                self._uevents[path] = _read_raw(self.root.host(path + "/uevent"))
        return self._uevents[path]

    def _set_uevent(self, path: str, text: str) -> None:
        self._uevents[path] = text
        self.txn.write(path + "/uevent", text, 0o644)

    def _with_driver_line(self, path: str, driver: str | None) -> None:
        lines = [ln for ln in self._uevent(path).splitlines() if not ln.startswith("DRIVER=")]
        if driver is not None:
            # The driver line follows the device's identity (MAJOR, MINOR,
            # DEVNAME, DEVTYPE) and precedes MODALIAS and the rest.
            at = 0
            while at < len(lines) and lines[at].split("=", 1)[0] in (
                "MAJOR",
                "MINOR",
                "DEVNAME",
                "DEVTYPE",
            ):
                at += 1
            lines.insert(at, f"DRIVER={driver}")
        self._set_uevent(path, "".join(ln + "\n" for ln in lines))

    # -- bind / unbind -------------------------------------------------------------
    def bind(self, path: str, bus: str, driver: str) -> None:
        name = paths.basename(path)
        drv = f"{_BUS}{bus}/drivers/{driver}"
        self.shapes.link(path + "/driver", drv)
        self.shapes.link(f"{drv}/{name}", path)
        self._with_driver_line(path, driver)
        self.view.unbound.discard(path)
        self.view.bound.add(path)

    def unbind(self, path: str) -> None:
        name = paths.basename(path)
        driver = self.root.link_name(path + "/driver")
        bus = self._bus_of(path)
        self.txn.remove(path + "/driver")
        if driver and bus:
            self.txn.remove(f"{_BUS}{bus}/drivers/{driver}/{name}")
        self._with_driver_line(path, None)
        self.view.bound.discard(path)
        self.view.unbound.add(path)

    def _bus_of(self, path: str) -> str | None:
        try:
            sub = self.root.realpath(path + "/subsystem")
        except SysfsError:
            return None
        return sub[len(_BUS) :] if sub.startswith(_BUS) else None

    # -- unregister ------------------------------------------------------------------
    def unregister(self, path: str) -> None:
        """Remove a device and its children, and every link into them."""
        if self.view.is_gone(path):
            return
        host_top = self.root.host(path)
        for host_dir, _dirs, _files in os.walk(host_top):
            self._forget_device(path + host_dir[len(host_top) :])
        self.txn.rmtree(path)
        self.view.gone.add(path)

    def _forget_device(self, path: str) -> None:
        host = self.root.host(path)
        if not os.path.islink(host + "/subsystem"):
            return
        name = paths.basename(path)
        try:
            sub = self.root.realpath(path + "/subsystem")
        except SysfsError:
            sub = ""
        if sub.startswith(_BUS):
            self._remove_link_to(f"{sub}/devices/{name}", path)
            driver = self.root.link_name(path + "/driver")
            if driver:
                self._remove_link_to(f"{sub}/drivers/{driver}/{name}", path)
        elif sub.startswith(_CLASS):
            self._remove_link_to(f"{sub}/{name}", path)
        numbers = _read(host + paths.DEVNUM)
        if numbers:
            self._remove_link_to(f"{paths.SYS_DEV_CHAR}/{numbers}", path)
            devname = _uevent_value(_read_raw(host + "/uevent"), "DEVNAME")
            if devname:
                self.txn.remove(f"{paths.DEV}/{devname}")

    def _remove_link_to(self, link: str, target: str) -> None:
        if not self.root.islink(link):
            return
        try:
            if self.root.realpath(link) != target:
                return
        except SysfsError:
            pass
        self.txn.remove(link)


def _read_raw(host: str) -> str:
    try:
        with open(host) as f:
            return f.read()
    except OSError:
        return ""


def _uevent_value(text: str, key: str) -> str | None:
    for line in text.splitlines():
        k, _, v = line.partition("=")
        if k == key:
            return v
    return None
