"""The daxctl device commands as library functions: what each does to each device.

reconfigure-device, online-memory, offline-memory, enable-device,
disable-device, destroy-device act on every device that passes the region and
device filters; create-device acts on every region that passes the region
filter. Each follows daxctl v85: the same checks in the same order, the same
messages on stderr (plain lines from the command, `libdaxctl: ...` lines from
the library), the same return codes (0, 1 for "already online/offline", or a
negative errno), and the device objects printed as JSON afterwards.

Differences from daxctl, on purpose (docs/compat.md): when several devices (or
regions) succeed, the JSON lists all of them, where daxctl keeps only the last;
`reconfigure-device -a` without `-s` or `-m` sets the alignment and succeeds,
where daxctl changes it and then fails with "unknown mode requested: 0".
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cxltool.objects.dax import DaxDevice, DaxRegion, DaxSystem
from cxltool.ops.dax_control import DaxControl
from cxltool.ops.dax_list import device_json, device_matches, region_matches
from cxltool.ops.dax_memory import MOVABLE, NORMAL, DeviceMemory, Progress

Log = Callable[[str], None]
ProgressFor = Callable[[str, str], Progress | None]

RECONFIGURE, ONLINE, OFFLINE = "reconfigure", "online", "offline"
ENABLE, DISABLE, DESTROY, CREATE = "enable", "disable", "destroy", "create"


@dataclass
class DeviceParams:
    """The parsed options of a device command (sizes already converted, -1 unset)."""

    device: str | None = None
    region: str | None = None
    human: bool = False
    verbose: bool = False
    mode: str | None = None  # a known mode, or None (also for one daxctl does not know)
    size: int = -1
    align: int = -1
    no_online: bool = False
    no_movable: bool = False
    force: bool = False
    mappings: list[tuple[int, int]] = field(default_factory=list)  # create --input


@dataclass
class Outcome:
    rc: int
    processed: int
    devices: list[dict[str, Any]] | None  # JSON objects to print; None prints nothing


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


class DeviceCommands:
    """Runs one daxctl device command on a root."""

    def __init__(
        self, root, params: DeviceParams, err: Log, progress: ProgressFor | None = None
    ) -> None:
        self.root = root
        self.p = params
        self.err = err
        self.progress = progress
        self.ctl = DaxControl(root, err)
        self.system = DaxSystem(root, err)
        self.json: list[dict[str, Any]] | None = None

    # -- iteration -------------------------------------------------------------------
    def on_devices(self, action: str) -> Outcome:
        """Act on every matching device (daxctl's do_xaction_device)."""
        act = {
            RECONFIGURE: self.reconfigure,
            ONLINE: self.online_memory,
            OFFLINE: self.offline_memory,
            ENABLE: self.enable,
            DISABLE: self.disable,
            DESTROY: self.destroy,
        }[action]
        processed = saved = 0
        for region in self.system.regions():
            if not region_matches(region, self.p.region):
                continue
            for dev in region.devices:
                if not device_matches(dev, self.p.device):
                    continue
                rc = act(dev)
                if rc == 0:
                    processed += 1
                if rc:
                    saved = rc
        return Outcome(saved, processed, self.json)

    def on_regions(self) -> Outcome:
        """create-device on every matching region (daxctl's do_xaction_region)."""
        processed = 0
        rc = -errno.ENXIO
        for region in self.system.regions():
            if not region_matches(region, self.p.region):
                continue
            rc = self.create(region)
            if rc == 0:
                processed += 1
        return Outcome(rc, processed, self.json)

    def _report(self, dev: DaxDevice) -> None:
        # A fresh look at the device, as libdaxctl re-reads what it shows;
        # its memory object (and the messages making one) already exist.
        quiet = dev.path in self.ctl._memory
        system = DaxSystem(self.root, None if quiet else self.err)
        region = system.region_at(dev.region.path, dev.region.id)
        fresh = next((d for d in region.devices if d.name == dev.name), None)
        if fresh is None:
            return
        self.json = self.json if self.json is not None else []
        self.json.append(device_json(fresh, self.p.human))

    # -- memory ----------------------------------------------------------------------
    def _memory(self, dev: DaxDevice, what: str) -> DeviceMemory | None:
        mem = self.ctl.memory(dev)
        if mem is not None:
            mem.progress = self.progress(dev.name, what) if self.progress else None
        return mem

    def _failed_state(self, name: str, rc: int) -> int:
        self.err(f"{name}: failed to determine online state: {os.strerror(-rc)}")
        return rc

    def _memory_sections(self, dev: DaxDevice, what: str) -> tuple[DeviceMemory, int, int] | int:
        """The memory object, its section count and how many are online; or an errno."""
        name = dev.name
        mem = self._memory(dev, what)
        if mem is None:
            self.err(f"{name}: failed to get the memory object")
            return -errno.ENXIO
        total = mem.num_sections()
        if total < 0:
            self.err(f"{name}: failed to get number of memory sections")
            return total
        online = mem.num_online()
        if online < 0:
            return self._failed_state(name, online)
        return mem, total, online

    def _online_memory(self, dev: DaxDevice) -> int:
        name = dev.name
        found = self._memory_sections(dev, "onlining")
        if isinstance(found, int):
            return found
        mem, total, online = found
        if online:
            self.err(
                f"{name}:\n  WARNING: detected a race while onlining memory\n"
                "  Some memory may not be in the expected zone. It is\n"
                "  recommended to disable any other onlining mechanisms,\n"
                "  and retry. If onlining is to be left to other agents,\n"
                "  use the --no-online option to suppress this warning"
            )
        if online == total:
            self.err(f"{name}: all memory sections ({online}) already online")
            return 1
        if online > 0:
            self.err(f"{name}: {online} memory section{_plural(online)} already online")
        rc = mem.online(NORMAL if self.p.no_movable else MOVABLE)
        if rc < 0:
            self.err(f"{name}: failed to online memory: {os.strerror(-rc)}")
            return rc
        if self.p.verbose:
            self.err(f"{name}: {rc} memory section{_plural(rc)} onlined")
        online = mem.num_online()
        if online < 0:
            return self._failed_state(name, online)
        if online < total:
            self.err(f"{name}: failed to online {total - online} memory sections")
            return -errno.ENXIO
        return 0

    def _offline_memory(self, dev: DaxDevice) -> int:
        name = dev.name
        found = self._memory_sections(dev, "offlining")
        if isinstance(found, int):
            return found
        mem, total, online = found
        offline = total - online
        if offline == total:
            self.err(f"{name}: all memory sections ({offline}) already offline")
            return 1
        if offline:
            self.err(f"{name}: {offline} memory section{_plural(offline)} already offline")
        rc = mem.offline()
        if rc < 0:
            self.err(f"{name}: failed to offline memory: {os.strerror(-rc)}")
            return rc
        if self.p.verbose:
            self.err(f"{name}: {rc} memory section{_plural(rc)} offlined")
        online = mem.num_online()
        if online < 0:
            return self._failed_state(name, online)
        if online:
            self.err(f"{name}: failed to offline {online} memory sections")
            return -errno.ENXIO
        return 0

    # -- mode changes ----------------------------------------------------------------
    def _disable(self, dev: DaxDevice) -> int:
        rc = self.ctl.disable(dev)
        if rc:
            self.err(f"{dev.name}: disable failed: {os.strerror(-rc)}")
        return rc

    def _unknown_mode(self, dev: DaxDevice) -> int:
        self.err(f"{dev.name}: unknown mode")
        return -errno.EINVAL

    def _to_system_ram(self, dev: DaxDevice) -> int:
        p = self.p
        if (p.no_online or not p.no_movable) and not p.force and self.ctl.will_auto_online(dev):
            self.err(f"{dev.name}: error: kernel policy will auto-online memory, aborting")
            return -errno.EBUSY
        skip_enable = False
        if self.ctl.is_enabled(dev):
            mode = self.ctl.mode(dev)
            if mode == "system-ram":
                skip_enable = True
            elif mode in ("famfs", "devdax"):
                rc = self._disable(dev)
                if rc:
                    return rc
            else:
                return self._unknown_mode(dev)
        if not skip_enable:
            rc = self.ctl.enable(dev, "system-ram")
            if rc:
                return rc
        if p.no_online:
            return 0
        return self._online_memory(dev)

    def _disable_system_ram(self, dev: DaxDevice) -> int:
        mem = self.ctl.memory(dev)
        if mem is None:
            self.err(f"{dev.name} is not in system-ram mode")
            return 1
        if self.p.force:
            rc = self._offline_memory(dev)
            if rc < 0:
                return rc
        online = mem.num_online()
        if online < 0:
            return self._failed_state(dev.name, online)
        if online > 0:
            if self.p.verbose:
                self.err(f"{dev.name}: found {online} memory sections online")
                self.err(f"{dev.name}: refusing to change modes")
            return -errno.EBUSY
        return self._disable(dev)

    def _to_devdax(self, dev: DaxDevice) -> int:
        if self.ctl.is_enabled(dev):
            mode = self.ctl.mode(dev)
            if mode == "system-ram":
                rc = self._disable_system_ram(dev)
            elif mode in ("famfs", "devdax"):
                rc = self._disable(dev)
            else:
                rc = self._unknown_mode(dev)
            if rc:
                return rc
        return self.ctl.enable(dev, "devdax")

    def _to_famfs(self, dev: DaxDevice) -> int:
        if self.ctl.is_enabled(dev):
            mode = self.ctl.mode(dev)
            if mode == "system-ram":
                self.err(
                    f"{dev.name} is in system-ram mode; must be in devdax mode to convert to famfs"
                )
                return -errno.EINVAL
            if mode not in ("famfs", "devdax"):
                return self._unknown_mode(dev)
            rc = self._disable(dev)
            if rc:
                return rc
        return self.ctl.enable(dev, "famfs")

    # -- the actions -----------------------------------------------------------------
    def reconfigure(self, dev: DaxDevice) -> int:
        p = self.p
        if p.align > 0:
            rc = self.ctl.set_align(dev, p.align)
            if rc < 0:
                return rc
        if p.size >= 0:
            return self.ctl.set_size(dev, p.size)
        if p.align > 0 and p.mode is None:
            return 0  # an alignment change alone is complete (daxctl then fails)
        change = {
            "system-ram": self._to_system_ram,
            "devdax": self._to_devdax,
            "famfs": self._to_famfs,
        }.get(p.mode or "")
        if change is None:
            self.err(f"{dev.name}: unknown mode requested: 0")
            return -errno.EINVAL
        rc = change(dev)
        if rc < 0:
            return rc
        self._report(dev)
        return 0

    def online_memory(self, dev: DaxDevice) -> int:
        if self.ctl.memory(dev) is None:
            self.err(f"{dev.name}: memory operations are not applicable in devdax mode")
            return -errno.ENXIO
        return self._online_memory(dev)

    def offline_memory(self, dev: DaxDevice) -> int:
        if self.ctl.memory(dev) is None:
            self.err(f"{dev.name}: memory operations are not applicable in devdax mode")
            return -errno.ENXIO
        return self._offline_memory(dev)

    def _status_op(self, dev: DaxDevice) -> bool:
        if self.ctl.memory(dev) is not None:
            self.err(f"{dev.name}: status operations are only applicable in devdax mode")
            return False
        return True

    def enable(self, dev: DaxDevice) -> int:
        if not self._status_op(dev):
            return -errno.ENXIO
        rc = self.ctl.enable(dev, "devdax")
        if rc:
            self.err(f"{dev.name}: enable failed: {os.strerror(-rc)}")
        return rc

    def disable(self, dev: DaxDevice) -> int:
        if not self._status_op(dev):
            return -errno.ENXIO
        return self._disable(dev)

    def destroy(self, dev: DaxDevice) -> int:
        if self.ctl.is_enabled(dev) and not self.p.force:
            self.err(f"{dev.name} is active, specify --force for deletion")
            return -errno.ENXIO
        rc = self._disable(dev)
        if rc:
            return rc
        rc = self.ctl.set_size(dev, 0)
        if rc < 0:
            return rc
        rc = self.ctl.delete_device(dev.region, dev)
        # The kernel keeps daxX.0 (EBUSY); daxctl expects that.
        if dev.id == 0 and rc == -errno.EBUSY:
            return 0
        return min(rc, 0)

    def create(self, region: DaxRegion) -> int:
        p = self.p
        if self.ctl.create_device(region):
            return -errno.ENOSPC
        seed = self.ctl.seed_name(region)
        fresh = DaxSystem(self.root, self.err).region_at(region.path, region.id)
        dev = next((d for d in fresh.devices if d.name == seed), None)
        if dev is None:
            return -errno.ENOSPC
        size = p.size if p.size != -1 else self.ctl.available_size(fresh)
        if size >= 1 << 63:
            size -= 1 << 64  # daxctl holds it in a long long
        if size <= 0:
            return -errno.ENOSPC
        if p.align > 0:
            rc = self.ctl.set_align(dev, p.align)
            if rc < 0:
                return rc
        allocated = 0
        for start, end in p.mappings:
            rc = self.ctl.set_mapping(dev, start, end)
            if rc < 0:
                return rc
            allocated += end - start + 1
        if p.mappings and allocated != size:
            self.err(f"{dev.name}: allocated {allocated} but specified size {size}")
        else:
            rc = self.ctl.set_size(dev, size)
            if rc < 0:
                return rc
        rc = self.ctl.enable(dev, "devdax")
        if rc:
            self.err(f"{dev.name}: enable failed: {os.strerror(-rc)}")
            return rc
        self._report(dev)
        return 0
