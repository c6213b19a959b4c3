"""What libdaxctl does to dax devices and regions: enable, disable, resize, create, delete.

The same sysfs writes, in the same order, as libdaxctl makes them:

- enable in a mode: nothing if the device has a driver; otherwise the mode's
  module must be loaded (`device_dax`, `kmem`, `fsdev_dax`), then the device
  name goes to the driver's `new_id` (its result ignored) and `bind`, and the
  device must end up with a driver;
- disable: the name goes to the bound driver's `remove_id`, then `unbind`, and
  the device must end up without one;
- `size` takes `%#llx\\n`, `align` `%#lx\\n`, `mapping` `%#llx-%#llx\\n`;
  a region's `create` takes `1`, `delete` the device name.

A module counts as loaded when its driver directory is on the dax bus. On the
real machine a missing one is loaded with modprobe; a simulated system has no
modules to load, so there it stays missing (`insert failure: -2`).

Problems are reported as libdaxctl reports them, through a `log` callable.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from collections.abc import Callable

from cxltool.objects import cparse
from cxltool.objects.dax import DaxDevice, DaxRegion
from cxltool.ops.dax_memory import DeviceMemory
from cxltool.sysfs import Root, SysfsError, paths

Log = Callable[[str], None]

MODULES = {"devdax": "device_dax", "system-ram": "kmem", "famfs": "fsdev_dax"}
MODES = {module: mode for mode, module in MODULES.items()}


def c_hex(value: int) -> str:
    """C's `%#llx`: 0 prints as `0`."""
    return f"{value:#x}" if value else "0"


class DaxControl:
    """libdaxctl's operations on one root, logging as it does."""

    def __init__(self, root: Root, log: Log) -> None:
        self.root = root
        self.log = log
        self._memory: dict[str, DeviceMemory] = {}

    def _lib(self, function: str, message: str) -> None:
        self.log(f"libdaxctl: {function}: {message}")

    def write(self, path: str, value: str) -> int:
        """0, or the negative errno of a failed write."""
        try:
            self.root.write(path, value)
        except SysfsError as e:
            if e.errno in (errno.EACCES, errno.EPERM):
                self._lib(
                    "write_attr",
                    f"failed to open {path}: {e.strerror} hint: try running as root or using sudo",
                )
            return -e.errno
        return 0

    # -- state ----------------------------------------------------------------------
    def on_dax_bus(self, dev: DaxDevice) -> bool:
        return dev._on_dax_bus()

    def is_enabled(self, dev: DaxDevice) -> bool:
        """Bound to a driver (class-model devices always count as enabled)."""
        if not self.on_dax_bus(dev):
            return True
        return self.root.islink(dev.path + "/driver")

    def mode(self, dev: DaxDevice) -> str | None:
        """system-ram, famfs or devdax by the bound driver; None when unbound."""
        if not self.on_dax_bus(dev) or not self.is_enabled(dev):
            return None
        try:
            driver = paths.basename(self.root.realpath(dev.path + "/driver"))
        except SysfsError:
            return None
        return MODES.get(driver)

    def memory(self, dev: DaxDevice) -> DeviceMemory | None:
        """The device's memory object while it is in system-ram mode (kept until disable)."""
        mem = self._memory.get(dev.path)
        if mem is None and self.mode(dev) == "system-ram":
            mem = self._memory[dev.path] = DeviceMemory(self.root, dev, self.log)
        return mem

    def will_auto_online(self, dev: DaxDevice) -> bool:
        """The kernel onlines hot-added memory itself (auto_online_blocks starts with online)."""
        try:
            text = self.root.read(paths.MEMORY + "/auto_online_blocks")
        except SysfsError as e:
            self._lib(
                "daxctl_dev_will_auto_online_memory",
                f"{dev.name}: Unable to determine auto-online policy: {e.strerror}",
            )
            return False
        return text.startswith("online")

    # -- enable and disable ------------------------------------------------------------
    def _not_bus_model(self, function: str, dev: DaxDevice) -> int:
        self._lib(function, f"{dev.name}: error: device model is dax-class")
        self._lib(function, f"{dev.name}: see man daxctl-migrate-device-model")
        return -errno.EOPNOTSUPP

    def _module_loaded(self, module: str) -> bool:
        if self.root.isdir(f"{paths.DAX_DRIVERS}/{module}"):
            return True
        if self.root.base or shutil.which("modprobe") is None:
            return False
        done = subprocess.run(["modprobe", "-q", module], check=False)
        return done.returncode == 0 and self.root.isdir(f"{paths.DAX_DRIVERS}/{module}")

    def enable(self, dev: DaxDevice, mode: str) -> int:
        """Bind the device in a mode; 0 or a negative errno."""
        if not self.on_dax_bus(dev):
            return self._not_bus_model("daxctl_dev_enable", dev)
        if self.is_enabled(dev):
            return 0
        module = MODULES[mode]
        if not self._module_loaded(module):
            self._lib("daxctl_insert_kmod_for_mode", f"{dev.name}: insert failure: {-errno.ENOENT}")
            return -errno.ENOENT
        rc = 0
        if module in self.root.listdir_opt(paths.DAX_DRIVERS):
            driver = f"{paths.DAX_DRIVERS}/{module}"
            # kmem's memory blocks may be onlined by udev rules after the bind.
            with self.root.probe(dev.path) as watch:
                self.write(driver + "/new_id", dev.name)
                rc = self.write(driver + "/bind", dev.name)
                if self.root.islink(dev.path + "/driver"):
                    watch.wait()
        if not self.is_enabled(dev):
            self._lib("daxctl_dev_enable", f"{dev.name}: failed to enable")
            return rc or -errno.ENXIO
        return 0

    def disable(self, dev: DaxDevice) -> int:
        """Unbind the device; 0 or a negative errno."""
        if not self.on_dax_bus(dev):
            return self._not_bus_model("daxctl_dev_disable", dev)
        if not self.is_enabled(dev):
            return 0
        self._memory.pop(dev.path, None)
        if self.write(dev.path + "/driver/remove_id", dev.name) == 0:
            self.write(dev.path + "/driver/unbind", dev.name)
        if self.is_enabled(dev):
            self._lib("daxctl_dev_disable", f"{dev.name}: failed to disable")
            return -errno.EBUSY
        return 0

    # -- attributes ----------------------------------------------------------------------
    def set_size(self, dev: DaxDevice, size: int) -> int:
        if self.write(dev.path + "/size", c_hex(size) + "\n") < 0:
            self._lib("daxctl_dev_set_size", f"{dev.name}: failed to set size")
            return -errno.ENXIO
        dev.size = size
        return 0

    def set_align(self, dev: DaxDevice, align: int) -> int:
        if self.write(dev.path + "/align", c_hex(align) + "\n") < 0:
            self._lib("daxctl_dev_set_align", f"{dev.name}: failed to set align")
            return -errno.ENXIO
        dev.align = align
        return 0

    def set_mapping(self, dev: DaxDevice, start: int, end: int) -> int:
        if self.write(dev.path + "/mapping", f"{c_hex(start)}-{c_hex(end)}\n") < 0:
            self._lib("daxctl_dev_set_mapping", f"{dev.name}: failed to set mapping")
            return -errno.ENXIO
        dev.size += end - start + 1
        return 0

    # -- regions -------------------------------------------------------------------------
    def _group(self, region: DaxRegion) -> str:
        return f"{region.path}/dax_region"

    def create_device(self, region: DaxRegion) -> int:
        return self.write(self._group(region) + "/create", "1")

    def delete_device(self, region: DaxRegion, dev: DaxDevice) -> int:
        return self.write(self._group(region) + "/delete", dev.name)

    def seed_name(self, region: DaxRegion) -> str | None:
        return self.root.read_opt(self._group(region) + "/seed")

    def available_size(self, region: DaxRegion) -> int:
        """Free capacity as libdaxctl reads it: 0 unless the whole text is a number."""
        text = self.root.read_opt(self._group(region) + "/available_size")
        if not text:
            return 0
        value, end = cparse.strtoull_end(text)
        return value if end == len(text) else 0
