"""A fixture as QEMU command-line options that build the same CXL topology.

`qemu_topology(topology, backing_dir)` gives the `-object`, `-device` and `-M` options
for a q35 machine with `cxl=on`: one `pxb-cxl` per host bridge, `cxl-rp` root ports,
`cxl-upstream`/`cxl-downstream` switches, `cxl-type3` devices with their memory
backends, and every CFMWS window in a single `-M cxl-fmw...` option (QEMU rejects a
second one). The order is the one of the reference command lines: objects, host
bridges, root ports, switches level by level, devices, windows.

A fixture QEMU cannot build raises `QemuUnsupported` with the first reason found.
What the guest will show differently without changing what it can do (values the
device or the guest kernel chooses, memdev numbering, window bases) is listed in
`QemuTopology.ignored`. docs/compat.md ("QEMU topologies") explains the choices.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field

from cxltool.sim.topology import (
    QEMU_FW_REVISION,
    Device,
    HostBridge,
    Platform,
    Port,
    Switch,
    Topology,
    default_firmware,
    default_partition_info,
    format_size,
)

# QEMU gives every host bridge, switch and type-3 device four HDM decoders.
QEMU_HDM_DECODERS = 4
# QEMU reserves 1 MiB for host bridge registers, 64 KiB each. It accepts a 17th
# pxb-cxl, but that one's registers land past the reserved range.
QEMU_MAX_HOST_BRIDGES = 16
# The machine options the placement below assumes (those of the reference runs).
REFERENCE_MEMORY = "-m 2G,maxmem=8G,slots=8"
# QEMU places the windows back to back after the hotplug area and 1 MiB of host
# bridge registers, rounded up to 256 MiB; with REFERENCE_MEMORY that is here.
QEMU_FIRST_WINDOW_BASE = 0x490000000
# Memory backend sizes are whole host pages (x86 hosts: 4 KiB).
HOST_PAGE = 4096
# QEMU's cxl-type3 reads this serial as "none" and leaves out the serial capability.
QEMU_NO_SERIAL = (1 << 64) - 1
DEFAULT_BACKING_DIR = "backing"

# What the reference guest shows for the platform facts that are not part of
# these options (-m, -smp, the guest kernel's own choices).
_REFERENCE_PLATFORM = Platform()
_PLATFORM_SOURCES = {
    "boot_ram": "guest RAM is set by -m, not by these options",
    "cpus": "CPUs are set by -smp, not by these options",
    "numa_nodes": "NUMA nodes are set by -numa, not by these options",
    "memory_block_size": "the guest kernel chooses the memory block size",
    "auto_online": "the guest kernel's auto-online policy applies",
    "kmem": "the guest decides which dax drivers are loaded",
    "memdev_major": "the guest kernel allocates character device majors",
    "nmem_major": "the guest kernel allocates character device majors",
    "ndctl_major": "the guest kernel allocates character device majors",
    "dax_major": "the guest kernel allocates character device majors",
}
# Device facts QEMU's cxl-type3 fixes, with the value it has (the acpi defaults of
# the fixture format, which were taken from the captured QEMU devices).
_DEVICE_FACTS = (
    ("firmware_version", QEMU_FW_REVISION),
    ("numa_node", -1),
    ("payload_max", 2048),
    ("qos_class", None),
    ("cdat", True),
    ("sanitize", True),
    ("secure_erase", False),
    ("poison", True),
    ("firmware_update", True),
)

_BDF = re.compile(r"^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$")


class QemuUnsupported(Exception):
    """A fixture detail QEMU has no way to build; `key` is its place in the fixture."""

    def __init__(self, reason: str, key: str = "") -> None:
        self.reason = reason
        self.key = key
        super().__init__(f"{key}: {reason}" if key else reason)


@dataclass
class QemuTopology:
    """The options, the backing files they name, and what QEMU will not reproduce."""

    args: list[str]
    backing_files: dict[str, int] = field(default_factory=dict)  # path -> size in bytes
    ignored: list[str] = field(default_factory=list)

    def command_line(self) -> str:
        """The options shell-quoted on one line."""
        return shlex.join(self.args)


def qemu_window_bases(topology: Topology) -> list[int]:
    """Where QEMU places each window under REFERENCE_MEMORY, in window order."""
    bases = []
    base = QEMU_FIRST_WINDOW_BASE
    for window in topology.windows:
        bases.append(base)
        base += window.size
    return bases


def qemu_topology(topology: Topology, backing_dir: str = DEFAULT_BACKING_DIR) -> QemuTopology:
    """QEMU options that build `topology`; raises QemuUnsupported if none can."""
    return _Builder(topology, backing_dir).build()


def _opt(driver: str | None, props: list[tuple[str, object]]) -> str:
    # QEMU's option syntax doubles a comma that is part of a value.
    items = [f"{k}={str(v).replace(',', ',,')}" for k, v in props]
    return ",".join(([driver] if driver else []) + items)


def _granularity(g: int) -> str:
    return f"{g // 1024}k" if g >= 1024 else str(g)


class _Builder:
    def __init__(self, topology: Topology, backing_dir: str) -> None:
        self.topo = topology
        self.backing_dir = backing_dir
        self.objects: list[str] = []
        self.devices: list[str] = []
        self.backing: dict[str, int] = {}
        self.ignored: list[str] = []
        self.hb_ids: dict[int, str] = {}
        self.port_of: dict[str, str] = {}  # device name -> the QEMU id of its port
        self.slot = 0
        self.counts = {"root_port": 0, "us": 0, "swport": 0}

    def build(self) -> QemuTopology:
        self.check_platform()
        bridges = [self.host_bridge(k, hb) for k, hb in enumerate(self.topo.host_bridges, 1)]
        root_ports: list[str] = []
        level: list[tuple[Port, str]] = []
        for hb in self.topo.host_bridges:
            for port, extra in zip(hb.root_ports, self.addresses(hb.root_ports), strict=True):
                pid = self.new_id("root_port")
                root_ports.append(self.port_device("cxl-rp", port, self.hb_ids[hb.uid], pid, extra))
                level.append((port, pid))
        switches: list[str] = []
        # Level by level, so that a port exists before anything is plugged into it.
        while level:
            below: list[tuple[Port, str]] = []
            for port, pid in level:
                if port.device is not None:
                    self.slot_zero(port.device.host, port, port.device.key)
                    self.port_of[port.device.name] = pid
                if port.switch is not None:
                    below.extend(self.switch(port, port.switch, pid, switches))
            level = below
        for index, dev in enumerate(self.topo.devices()):
            self.device(index, dev)
        args: list[str] = []
        for obj in self.objects:
            args += ["-object", obj]
        # QEMU's ACPI tables list host bridges newest first, and Linux numbers
        # them (ACPI0016:NN, then CXL ports) in that order: create them in
        # reverse so that the guest numbers them in the fixture's order.
        for dev in bridges[::-1] + root_ports + switches + self.devices:
            args += ["-device", dev]
        windows = self.windows()
        if windows:
            args += ["-M", windows]
        return QemuTopology(args=args, backing_files=self.backing, ignored=self.ignored)

    # -- the platform -------------------------------------------------------------------
    def check_platform(self) -> None:
        p = self.topo.platform
        if p.kind != "acpi":
            raise QemuUnsupported(
                f'platform.kind = "{p.kind}" is the kernel\'s mock platform (the cxl_test '
                "module), not a machine QEMU emulates"
            )
        if self.topo.regions:
            raise QemuUnsupported(
                "QEMU's firmware commits no regions before boot", self.topo.regions[0].key
            )
        count = len(self.topo.host_bridges)
        if count > QEMU_MAX_HOST_BRIDGES:
            raise QemuUnsupported(
                f"{count} host bridges; QEMU has register space for {QEMU_MAX_HOST_BRIDGES} "
                "pxb-cxl host bridges"
            )
        for name, why in _PLATFORM_SOURCES.items():
            value = getattr(p, name)
            if value != getattr(_REFERENCE_PLATFORM, name):
                shown = format_size(value) if name in ("boot_ram", "memory_block_size") else value
                self.ignored.append(f"platform.{name} = {shown}: {why}")

    # -- host bridges, ports, switches ---------------------------------------------------
    def host_bridge(self, k: int, hb: HostBridge) -> str:
        key = hb.key
        if hb.segment != 0:
            raise QemuUnsupported(
                f"on PCI segment {hb.segment}; QEMU's pxb-cxl host bridges all share "
                "segment 0 and its 256 bus numbers",
                key,
            )
        if hb.bus == 0:
            raise QemuUnsupported("bus 0 is the number of QEMU's main PCI bus (pcie.0)", key)
        if hb.uid != hb.bus:
            raise QemuUnsupported(
                f"uid {hb.uid}; QEMU's host bridge uid is its bus number ({hb.bus})", key
            )
        qemu_path = f"\\_SB_.CL{hb.bus:02X}"
        if hb.acpi_path != qemu_path:
            raise QemuUnsupported(
                f"ACPI path {hb.acpi_path}; QEMU names this host bridge {qemu_path}", key
            )
        qemu_host = f"pci{hb.segment:04x}:{hb.bus:02x}"
        if hb.host != qemu_host:
            raise QemuUnsupported(f"named {hb.host!r}; QEMU's host bridge is {qemu_host}", key)
        self.check_decoders(hb.hdm_decoders, key)
        hb_id = f"cxl.{k}"
        self.hb_ids[hb.uid] = hb_id
        return _opt("pxb-cxl", [("bus_nr", hb.bus), ("bus", "pcie.0"), ("id", hb_id)])

    def check_decoders(self, count: int, key: str) -> None:
        if count != QEMU_HDM_DECODERS:
            raise QemuUnsupported(
                f"{count} HDM decoders; QEMU gives host bridges, switches and devices "
                f"{QEMU_HDM_DECODERS}",
                key,
            )

    def new_id(self, kind: str) -> str:
        n = self.counts[kind]
        self.counts[kind] = n + 1
        return f"{kind}{n}"

    def port_device(
        self, driver: str, port: Port, bus: str, pid: str, extra: list[tuple[str, object]]
    ) -> str:
        # (chassis, slot) must be unique in the machine; the fixture has no slot numbers.
        slot = self.slot
        self.slot += 1
        props = [("port", port.port), ("bus", bus), ("id", pid), ("chassis", 0), ("slot", slot)]
        return _opt(driver, props + extra)

    def switch(self, port: Port, sw: Switch, pid: str, out: list[str]) -> list[tuple[Port, str]]:
        self.slot_zero(sw.host, port, sw.key)
        self.check_decoders(sw.hdm_decoders, sw.key)
        if not sw.cdat:
            self.ignored.append(f"{sw.key}.cdat = false: QEMU's switch always has a CDAT")
        us = self.new_id("us")
        out.append(_opt("cxl-upstream", [("bus", pid), ("id", us)]))
        below = []
        for q, extra in zip(sw.ports, self.addresses(sw.ports), strict=True):
            qid = self.new_id("swport")
            out.append(self.port_device("cxl-downstream", q, us, qid, extra))
            below.append((q, qid))
        return below

    def slot_zero(self, host: str, port: Port, key: str) -> None:
        """What sits below a PCIe port must be device 00.0 on the port's secondary bus."""
        # Host bridges off segment 0 were refused before.
        want = f"0000:{port.secondary_bus:02x}:00.0"
        if host != want:
            raise QemuUnsupported(
                f"at {host}; QEMU plugs the one device below a PCIe port at {want}", key
            )

    def addresses(self, ports: tuple[Port, ...]) -> list[list[tuple[str, object]]]:
        """Extra properties placing sibling ports where the fixture puts them.

        QEMU fills slots 00.0, 01.0, ... in creation order; only when the fixture
        places its ports otherwise are addresses given, then for all of them.
        """
        places = []
        for p in ports:
            m = _BDF.match(p.host)
            if not m or int(m.group(1), 16) != 0 or int(m.group(2), 16) != p.bus:
                raise QemuUnsupported(
                    f"named {p.host!r}; QEMU's ports are PCI functions on bus {p.bus:02x}",
                    p.key,
                )
            slot, fn = int(m.group(3), 16), int(m.group(4))
            if slot > 0x1F:
                raise QemuUnsupported(f"PCI device {slot:#x}; a bus has 32 (0-0x1f)", p.key)
            places.append((slot, fn))
        if places == [(i, 0) for i in range(len(places))]:
            return [[] for _ in ports]
        with_functions = {s for s, f in places if f}
        for p, (slot, _fn) in zip(ports, places, strict=True):
            if (slot, 0) not in places:
                raise QemuUnsupported(
                    f"slot {slot:02x} has no function 0, so the guest would not find it", p.key
                )
        # Functions other than 0 are seen only when function 0 says it has company.
        return [
            [("addr", f"{s:02x}.{f:x}")]
            + ([("multifunction", "on")] if not f and s in with_functions else [])
            for s, f in places
        ]

    # -- devices -------------------------------------------------------------------------
    def device(self, index: int, dev: Device) -> None:
        key = dev.key
        self.check_decoders(dev.hdm_decoders, key)
        if dev.pmem and not dev.label_storage_size:
            raise QemuUnsupported(
                "persistent memory without a label storage area; QEMU requires one (lsa)", key
            )
        if dev.label_storage_size % HOST_PAGE:
            raise QemuUnsupported(
                f"label_storage_size {dev.label_storage_size}; QEMU's memory backends come "
                f"in {HOST_PAGE}-byte pages",
                key,
            )
        if dev.serial == QEMU_NO_SERIAL:
            raise QemuUnsupported(
                f"serial {dev.serial:#x} is QEMU's value for a device without a serial number",
                key,
            )
        self.check_mailbox(dev)
        props: list[tuple[str, object]] = [("bus", self.port_of[dev.name])]
        if dev.ram:
            vmem = f"vmem{index}"
            self.objects.append(
                _opt(
                    "memory-backend-ram", [("id", vmem), ("share", "on"), ("size", _size(dev.ram))]
                )
            )
            props.append(("volatile-memdev", vmem))
        if dev.pmem:
            props.append(("persistent-memdev", self.backing_file(f"pmem{index}", dev.pmem)))
        if dev.label_storage_size:
            props.append(("lsa", self.backing_file(f"lsa{index}", dev.label_storage_size)))
        kind = "mem" if dev.ram and dev.pmem else "pmem" if dev.pmem else "vmem"
        props += [("id", f"cxl-{kind}{index}"), ("sn", f"{dev.serial:#x}")]
        self.devices.append(_opt("cxl-type3", props))
        self.note_device(index, dev)

    def backing_file(self, oid: str, size: int) -> str:
        path = os.path.join(self.backing_dir, f"{oid}.raw")
        self.backing[path] = size
        self.objects.append(
            _opt(
                "memory-backend-file",
                [("id", oid), ("share", "on"), ("mem-path", path), ("size", _size(size))],
            )
        )
        return oid

    def check_mailbox(self, dev: Device) -> None:
        answers = dev.mailbox_answers()
        partition = answers.get("partition_info")
        if partition is not None and partition != default_partition_info(dev.ram, dev.pmem, 0):
            raise QemuUnsupported(
                "partitionable capacity; QEMU's devices have fixed volatile and persistent "
                "capacity (partition alignment 0)",
                dev.key,
            )
        if partition is None:
            self.ignored.append(f"{dev.key}: no partition_info answer; QEMU's device gives one")
        for command in ("health", "alert_config"):
            if command in answers:
                self.ignored.append(f"{dev.key}.mailbox.{command}: QEMU's device answers its own")
        firmware = answers.get("firmware")
        if firmware != default_firmware("acpi", dev.firmware_version):
            self.ignored.append(f"{dev.key}.mailbox.firmware: QEMU's device answers its own")

    def note_device(self, index: int, dev: Device) -> None:
        for name, qemu_value in _DEVICE_FACTS:
            value = getattr(dev, name)
            if value != qemu_value:
                self.ignored.append(
                    f"{dev.key}.{name} = {_show(value)}: QEMU's device has {_show(qemu_value)}"
                )
        if dev.memdev != index or dev.probe_order != dev.memdev:
            self.ignored.append(
                f"{dev.key}: memdev {dev.memdev}, probe_order {dev.probe_order}: the guest "
                "numbers memdevs in its (asynchronous) probe order, which QEMU cannot pin"
            )

    # -- windows -------------------------------------------------------------------------
    def windows(self) -> str:
        props: list[tuple[str, object]] = []
        next_node = self.topo.platform.numa_nodes
        for window, base in zip(self.topo.windows, qemu_window_bases(self.topo), strict=True):
            key = window.key
            refused = [
                name for name in ("ram", "pmem", "type2", "type3") if not getattr(window, name)
            ]
            if refused:
                raise QemuUnsupported(
                    f"restricted ({', '.join(n + ' = false' for n in refused)}); QEMU's "
                    "windows take ram, pmem, type-2 and type-3 memory",
                    key,
                )
            if window.qos_class != 0:
                raise QemuUnsupported(
                    f"qos_class {window.qos_class}; QEMU gives every window QTG id 0", key
                )
            if window.locked:
                raise QemuUnsupported("locked; QEMU's windows are never fixed", key)
            if window.base != base:
                self.ignored.append(
                    f"{key}.base = {window.base:#x}: QEMU places this window at {base:#x} "
                    f"(with {REFERENCE_MEMORY}); the platform chooses window bases"
                )
            if window.node == next_node:
                next_node += 1
            else:
                self.ignored.append(
                    f"{key}.node = {window.node}: the guest kernel picks the window's node"
                )
            n = window.index
            for i, uid in enumerate(window.targets):
                props.append((f"cxl-fmw.{n}.targets.{i}", self.hb_ids[uid]))
            props.append((f"cxl-fmw.{n}.size", _size(window.size)))
            if window.granularity != 256:  # QEMU's default
                props.append(
                    (f"cxl-fmw.{n}.interleave-granularity", _granularity(window.granularity))
                )
        return _opt(None, props)


def _size(n: int) -> str:
    # QEMU reads the K/M/G/T suffixes as powers of 1024, as format_size writes them.
    return format_size(n)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return "none" if value is None else str(value)
