"""Topology -> simulated system: the sysfs and dev trees a Linux 6.12 kernel shows at boot.

`build_tree` writes `dest/sys`, `dest/dev` and `dest/.cxltool/` for a Topology from
`sim.topology`. It writes exactly the files, modes, values and relative symlinks the
kernel has for the CXL, DAX, libnvdimm, memory and node objects (the tests compare
the result with captures of real kernels), plus the minimal PCI/ACPI/platform
skeleton that the CXL objects link to.

The work happens in two steps: `_Model` decides what exists (port, endpoint and
region numbering, decoder programming of firmware-committed regions, memory
blocks), then `_Writer` methods put it on disk, one helper per shape of object.
"""

from __future__ import annotations

import json
import os
import posixpath
import struct
from dataclasses import dataclass, field

from cxltool.sim import devnodes
from cxltool.sim.shapes import (
    PCI_TYPE3,
    DecoderModel,
    Shapes,
    cpumask,
    endpoint_port_decoders,
    kernfs_link_target,
    nodelist,
    switch_port_decoders,
)
from cxltool.sim.topology import (
    Device,
    HostBridge,
    Port,
    Region,
    Switch,
    Topology,
    Window,
    boot_ram_ranges,
    port_key,
    region_levels,
)
from cxltool.sysfs import paths
from cxltool.sysfs.root import META_DIR, UNREADABLE_FILE

# Kernel state: memdevs in the order they joined the cxl bus.
BUS_ORDER_KEY = "cxl_bus_memdevs"

FIXTURE_FILE = "fixture.json"
FORMAT_VERSION = 1
# Per memdev, `memN.json`: the device's mailbox answers, which `cxl list -H/-A/-I/-F`
# shows (read back by objects.cxl.Memdev.mailbox).
MAILBOX_DIR = "mailbox"

_BUS = paths.SYS + "/bus"
_CLASS = paths.SYS + "/class"
_MODULE = paths.SYS + "/module"
_PLATFORM = paths.SYS_DEVICES + "/platform"
_ACPI_SB = paths.SYS_DEVICES + "/LNXSYSTM:00/LNXSYBUS:00"
_CPU = paths.SYS_DEVICES + "/system/cpu"

_Decoder = DecoderModel

# Drivers each bus has once its modules are loaded: name -> (module, has bind/unbind).
_CXL_DRIVERS = {
    "cxl_dax_region": ("dax_cxl", False),
    "cxl_mem": ("cxl_mem", True),
    "cxl_nvdimm": ("cxl_pmem", False),
    "cxl_nvdimm_bridge": ("cxl_pmem", False),
    "cxl_pmem_region": ("cxl_pmem", False),
    "cxl_port": ("cxl_port", True),
    "cxl_region": ("cxl_core", True),
}
_DAX_DRIVERS = {"device_dax": "device_dax", "kmem": "kmem"}
_ND_DRIVERS = {
    "dax_pmem": ("dax_pmem", True),
    "nd_bus": ("libnvdimm", False),
    "nd_pmem": ("nd_pmem", True),
    "nd_region": ("libnvdimm", True),
    "nvdimm": ("libnvdimm", True),
}

# PCI identities of QEMU's CXL devices: (vendor, device, subsystem vendor, subsystem
# device, class, revision, driver).
_PCI_ROOT_PORT = (0x8086, 0x7075, 0x8086, 0x0000, 0x060400, 0x00, "pcieport")
_PCI_USP = (0x19E5, 0xA128, 0x0000, 0x0000, 0x060400, 0x00, "pcieport")
_PCI_DSP = (0x19E5, 0xA129, 0x0000, 0x0000, 0x060400, 0x00, "pcieport")

# The values a device's power/ group shows when runtime PM is not in use.
# CDAT performance values QEMU's emulated devices report.
_DSLBIS = ((1, 10000, 15), (2, 10000, 25), (4, 1000, 16), (5, 1000, 16))
_SSLBIS = ((0, 10000, 15), (3, 1024, 16))


# ---------------------------------------------------------------------------
# Small formatting helpers
# ---------------------------------------------------------------------------


def _cdat_table(structures: list[bytes]) -> bytes:
    body = b"".join(structures)
    header = bytearray(struct.pack("<IBB6xI", 16 + len(body), 2, 0, 0))
    header[5] = -(sum(header) + sum(body)) & 0xFF
    return bytes(header) + body


def device_cdat(dev: Device) -> bytes:
    """The CDAT a QEMU type-3 device returns: DSMAS, DSLBIS and DSEMTS per partition."""
    structures = []
    handle = 0
    for size, base, nonvolatile in ((dev.ram, 0, False), (dev.pmem, dev.ram, True)):
        if not size:
            continue
        structures.append(
            struct.pack("<BxHBBxxQQ", 0, 24, handle, 0x04 if nonvolatile else 0, base, size)
        )
        for data_type, unit, value in _DSLBIS:
            structures.append(
                struct.pack("<BxHBBBxQHHHxx", 1, 24, handle, 0, data_type, unit, value, 0, 0)
            )
        structures.append(
            struct.pack("<BxHBBxxQQ", 4, 24, handle, 2 if nonvolatile else 1, 0, size)
        )
        handle += 1
    return _cdat_table(structures)


def switch_cdat(ports: list[int]) -> bytes:
    """The CDAT a QEMU switch upstream port returns: one SSLBIS per data type."""
    structures = []
    for data_type, unit, value in _SSLBIS:
        entries = b"".join(struct.pack("<HHHxx", 0x100, p, value) for p in ports)
        structures.append(struct.pack("<BxHB3xQ", 5, 16 + len(entries), data_type, unit) + entries)
    return _cdat_table(structures)


def nd_label_slots(lsa: int) -> int:
    """Free label slots libnvdimm reports for an empty label area of `lsa` bytes."""
    label, index_align = 256, 256
    if lsa < 2 * index_align + 2 * label:
        return 0
    space = lsa - 2 * index_align
    nslot = -(-space // label)
    index = -(-(72 + -(-nslot // 8)) // index_align) * index_align
    slots = (lsa - 2 * index) // label
    return max(slots - 1, 0)


# ---------------------------------------------------------------------------
# The model: what exists and how it is numbered
# ---------------------------------------------------------------------------


@dataclass
class _CxlPort:
    id: int
    name: str
    path: str
    kind: str  # root, hb, switch or endpoint
    uport: str
    parent_dport: str | None
    dports: list[tuple[int, str]]
    key: str  # topology.port_key for hb/switch ports, device name for endpoints
    decoders: list[_Decoder] = field(default_factory=list)
    cdat: bytes | None = None
    device: Device | None = None


@dataclass
class _AutoRegion:
    region: Region
    id: int
    name: str
    path: str
    window: Window
    targets: list[str]  # endpoint decoder names in position order
    dax_minor: int | None = None


@dataclass
class _Block:
    index: int
    node: int
    online: bool
    zones: str


class _Model:
    """Everything build_tree writes, decided before anything is written."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.platform = topo.platform
        self.acpi = topo.platform.kind == "acpi"
        self.root_platform = _PLATFORM + ("/ACPI0017:00" if self.acpi else "/cxl_acpi.0")
        self.host_path: dict[int, str] = {}  # id(object) -> its device directory
        self.hb_path: dict[int, str] = {}  # uid -> host bridge directory
        self.devices = sorted(topo.devices(), key=lambda d: (d.probe_order, d.memdev))
        self.memdev_path: dict[str, str] = {}
        self.ports: list[_CxlPort] = []
        self.port_by_key: dict[str, _CxlPort] = {}
        self.endpoint_of: dict[str, _CxlPort] = {}
        self.root_decoders: list[_Decoder] = []
        self.region_ids: list[int] = []  # cached id of each root decoder
        self.allocated_ids: set[int] = set()
        self.regions: list[_AutoRegion] = []
        self.nvdimm_bridge = any(w.pmem for w in topo.windows)
        self.nmem_of: dict[str, int] = {}
        self.blocks: list[_Block] = []
        self._place_hosts()
        self._enumerate_ports()
        self._root_decoders()
        self._assemble_regions()
        self._memory()

    # -- where the devices are ----------------------------------------------------
    def _place_hosts(self) -> None:
        top = paths.SYS_DEVICES if self.acpi else _PLATFORM
        for hb in self.topo.host_bridges:
            path = top + "/" + hb.host
            self.hb_path[hb.uid] = path
            self.host_path[id(hb)] = path
            if hb.device is not None:
                self._place_device(hb.device, path)
            for rp in hb.root_ports:
                self._place_port(rp, path)

    def _place_port(self, port: Port, parent: str) -> None:
        path = parent + "/" + port.host
        self.host_path[id(port)] = path
        if port.device is not None:
            self._place_device(port.device, path)
        if port.switch is not None:
            sw_path = path + "/" + port.switch.host
            self.host_path[id(port.switch)] = sw_path
            for p in port.switch.ports:
                self._place_port(p, sw_path)

    def _place_device(self, dev: Device, parent: str) -> None:
        path = parent + "/" + dev.host
        self.host_path[id(dev)] = path
        self.memdev_path[dev.name] = f"{path}/mem{dev.memdev}"

    # -- CXL ports: one IDA for root, ports and endpoints, in creation order -------
    def _new_port(self, **kw: object) -> _CxlPort:
        port = _CxlPort(id=len(self.ports), **kw)  # type: ignore[arg-type]
        self.ports.append(port)
        return port

    def _enumerate_ports(self) -> None:
        root_path = self.root_platform + "/root0"
        self.root = self._new_port(
            name="root0",
            path=root_path,
            kind="root",
            uport=self.root_platform,
            parent_dport=None,
            dports=[(hb.uid, self.hb_path[hb.uid]) for hb in self.topo.host_bridges],
            key="root",
        )
        # cxl_acpi adds a port for every (non-restricted) host bridge at probe.
        for hb in self.topo.host_bridges:
            if hb.rch:
                continue
            n = len(self.ports)
            port = self._new_port(
                name=f"port{n}",
                path=f"{root_path}/port{n}",
                kind="hb",
                uport=self.hb_path[hb.uid],
                parent_dport=self.hb_path[hb.uid],
                dports=[(rp.port, self.host_path[id(rp)]) for rp in hb.root_ports],
                key=port_key(hb.uid, ()),
            )
            self._port_decoders(port, hb.hdm_decoders)
            self.port_by_key[port.key] = port
        # Switch ports and endpoints appear as each memdev probes.
        hbs = {hb.uid: hb for hb in self.topo.host_bridges}
        for dev in self.devices:
            hb = hbs[dev.host_bridge]
            if hb.rch:
                parent, parent_dport = self.root, self.hb_path[hb.uid]
            else:
                parent = self.port_by_key[port_key(hb.uid, ())]
                ports = hb.root_ports
                for level, number in enumerate(dev.route):
                    port = next(p for p in ports if p.port == number)
                    parent_dport = self.host_path[id(port)]
                    if port.switch is None:
                        break
                    key = port_key(hb.uid, dev.route[: level + 1])
                    if key not in self.port_by_key:
                        self.port_by_key[key] = self._switch_port(port.switch, parent, key, port)
                    parent = self.port_by_key[key]
                    ports = port.switch.ports
            n = len(self.ports)
            ep = self._new_port(
                name=f"endpoint{n}",
                path=f"{parent.path}/endpoint{n}",
                kind="endpoint",
                uport=self.memdev_path[dev.name],
                parent_dport=parent_dport,
                dports=[],
                key=dev.name,
                cdat=device_cdat(dev) if dev.cdat else None,
                device=dev,
            )
            ep.decoders = endpoint_port_decoders(n, ep.path, dev.hdm_decoders)
            self.endpoint_of[dev.name] = ep
            if self.nvdimm_bridge and dev.pmem:
                self.nmem_of[dev.name] = len(self.nmem_of)

    def _switch_port(self, sw: Switch, parent: _CxlPort, key: str, above: Port) -> _CxlPort:
        n = len(self.ports)
        port = self._new_port(
            name=f"port{n}",
            path=f"{parent.path}/port{n}",
            kind="switch",
            uport=self.host_path[id(sw)],
            parent_dport=self.host_path[id(above)],
            dports=[(p.port, self.host_path[id(p)]) for p in sw.ports],
            key=key,
            cdat=switch_cdat([p.port for p in sw.ports]) if sw.cdat else None,
        )
        self._port_decoders(port, sw.hdm_decoders)
        return port

    def _port_decoders(self, port: _CxlPort, count: int) -> None:
        ids = [d for d, _ in port.dports]
        port.decoders = switch_port_decoders(port.id, port.path, ids, count, self.acpi)

    # -- root decoders and the region id pool ----------------------------------------
    def _alloc_id(self) -> int:
        n = 0
        while n in self.allocated_ids:
            n += 1
        self.allocated_ids.add(n)
        return n

    def _root_decoders(self) -> None:
        for w in self.topo.windows:
            self.root_decoders.append(
                _Decoder(
                    name=f"decoder0.{w.index}",
                    path=f"{self.root.path}/decoder0.{w.index}",
                    kind="root",
                    target_list=",".join(str(t) for t in w.targets),
                    start=w.base,
                    size=w.size,
                    ways=w.ways,
                    # The kernel lets any region granularity through an x1 window.
                    granularity=w.granularity if w.ways > 1 else 256,
                    locked=w.locked,
                )
            )
            # Each root decoder reserves the id its next region will take.
            self.region_ids.append(self._alloc_id())

    # -- firmware-committed regions ----------------------------------------------------
    def _assemble_regions(self) -> None:
        regions = sorted(self.topo.regions, key=lambda r: r.start)
        programmed: dict[int, list[str]] = {}
        dpa_used: dict[str, int] = {}
        for region in regions:
            programmed[region.index] = self._program(region, dpa_used)
        # Regions come into being as endpoints probe, in decoder order.
        created: dict[int, _AutoRegion] = {}
        for dev in self.devices:
            ep = self.endpoint_of[dev.name]
            for dec in ep.decoders:
                if not dec.committed:
                    continue
                region = next(r for r in regions if r.start == dec.start and r.size == dec.size)
                if region.index in created:
                    continue
                w = region.window
                rid = self.region_ids[w]
                self.region_ids[w] = self._alloc_id()
                created[region.index] = _AutoRegion(
                    region=region,
                    id=rid,
                    name=f"region{rid}",
                    path=f"{self.root_decoders[w].path}/region{rid}",
                    window=self.topo.windows[w],
                    targets=programmed[region.index],
                )
        self.regions = sorted(created.values(), key=lambda r: r.id)
        for ar in self.regions:
            for dec in self._region_decoders(ar.region):
                dec.region = ar.name
        minor = 0
        if self.platform.soft_reserved == "cxl":
            for ar in self.regions:
                ar.dax_minor = minor
                minor += 1
        self.next_dax_minor = minor

    def _region_decoders(self, region: Region) -> list[_Decoder]:
        out = []
        for port in self.ports:
            for dec in port.decoders:
                if dec.committed and dec.start == region.start and dec.size == region.size:
                    out.append(dec)
        return out

    def _program(self, region: Region, dpa_used: dict[str, int]) -> list[str]:
        """Program every decoder of one region as firmware left it; endpoint decoder names."""
        win = self.topo.windows[region.window]
        names = []
        per_dev = region.size // region.ways
        for name in region.devices:
            ep = self.endpoint_of[name]
            dec = next(d for d in ep.decoders if not d.committed)
            base = dpa_used.get(name, 0)  # ram partition starts at DPA 0
            dpa_used[name] = base + per_dev
            self._commit(dec, region, region.ways, region.granularity)
            dec.mode = "ram"
            dec.dpa_resource = base
            dec.dpa_size = per_dev
            names.append(dec.name)
        # Host-bridge and switch levels: granularity grows by the ways above.
        gran = region.granularity * (win.ways if win.ways in (1, 2, 4, 8, 16) else win.ways // 3)
        for _level, _stride, groups in region_levels(self.topo, region):
            level_ways = 1
            for key, members in groups.items():
                order: list[int] = []
                for _pos, dport in members:
                    if dport not in order:
                        order.append(dport)
                port = self.port_by_key[key]
                dec = next(d for d in port.decoders if not d.committed)
                self._commit(dec, region, len(order), gran)
                dec.target_list = ",".join(str(d) for d in order)
                level_ways = max(level_ways, len(order))
            gran *= level_ways
        return names

    def _commit(self, dec: _Decoder, region: Region, ways: int, gran: int) -> None:
        dec.committed = True
        dec.start = region.start
        dec.size = region.size
        dec.ways = ways
        dec.granularity = gran
        dec.locked = region.locked

    # -- memory blocks and nodes -------------------------------------------------------------
    def _memory(self) -> None:
        p = self.platform
        bs = p.memory_block_size
        boot_blocks: list[int] = []
        for lo, hi in boot_ram_ranges(p):
            boot_blocks.extend(range(lo // bs, hi // bs))
        n = len(boot_blocks)
        for i, idx in enumerate(boot_blocks):
            node = i * p.numa_nodes // n
            addr = idx * bs
            zones = "none" if addr < 16 << 20 else ("DMA32" if addr < 1 << 32 else "Normal")
            self.blocks.append(_Block(idx, node, True, zones))
        self.online_nodes = set(range(p.numa_nodes))
        for ar in self.regions:
            node = ar.window.node
            start, end = ar.region.start, ar.region.start + ar.region.size
            first, last = -(-start // bs), end // bs
            if self.platform.soft_reserved == "system_ram":
                # Firmware handed the range to the OS as ordinary RAM at boot.
                blocks = [_Block(i, node, True, "Normal") for i in range(first, last)]
            elif self.platform.kmem:
                online = p.auto_online != "offline"
                zone = {
                    "online": "Normal",
                    "online_kernel": "Normal",
                    "online_movable": "Movable",
                    "offline": "Normal Movable",
                }[p.auto_online]
                blocks = [_Block(i, node, online, zone) for i in range(first, last)]
            else:
                blocks = []
            if blocks:
                self.online_nodes.add(node)
            self.blocks.extend(blocks)
        self.blocks.sort(key=lambda b: b.index)
        self.possible_nodes = max([p.numa_nodes - 1] + [w.node for w in self.topo.windows]) + 1

    def node_cpus(self, node: int) -> list[int]:
        p = self.platform
        return [c for c in range(p.cpus) if c * p.numa_nodes // p.cpus == node]


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


class _Writer(Shapes):
    """Puts kernel paths into the tree under base; one method per shape of object."""

    def __init__(self, base: str, model: _Model) -> None:
        self.base = base
        self.m = model
        self.topo = model.topo
        self.unreadable: dict[str, int] = {}
        self.char_nodes: list[tuple[str, str]] = []  # (device dir, /dev node)
        # The tree is planned first and written in one pass afterwards.
        self.dirs: list[str] = []
        self.files: list[tuple[str, bytes, int]] = []
        self.links: list[tuple[str, str]] = []

    # -- primitives (planned, written in one pass by apply) ---------------------------------
    def dir(self, path: str) -> None:
        self.dirs.append(path)

    def file(self, path: str, data: str | bytes = b"", mode: int = 0o444) -> None:
        self.files.append((path, data.encode() if isinstance(data, str) else data, mode))

    def unreadable_attr(self, path: str, mode: int, err: int) -> None:
        self.file(path, b"", mode)
        self.unreadable[path] = err

    def link(self, path: str, target: str) -> None:
        self.links.append((path, kernfs_link_target(path, target)))

    def apply(self) -> None:
        """Create what was planned: directories (parents first), then files and links."""
        base = self.base
        for path in self.dirs:
            try:
                os.mkdir(base + path, 0o755)
            except FileExistsError:
                pass
            except FileNotFoundError:
                _makedirs(base + path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        for path, data, mode in self.files:
            fd = os.open(base + path, flags, mode)
            try:
                if data:
                    os.write(fd, data)
            finally:
                os.close(fd)
        for path, text in self.links:
            os.symlink(text, base + path)

    def driver_dir(
        self, bus: str, name: str, module: str | None, bind: bool, ids: bool = False
    ) -> None:
        d = f"{_BUS}/{bus}/drivers/{name}"
        self.dir(d)
        if module:
            self.dir(f"{_MODULE}/{module}")
            self.link(d + "/module", f"{_MODULE}/{module}")
        if bind:
            self.wo(d + "/bind")
            self.wo(d + "/unbind")
        if ids:
            self.wo(d + "/new_id")
            self.wo(d + "/remove_id")
        self.wo(d + "/uevent")

    def bus(self, name: str) -> None:
        d = f"{_BUS}/{name}"
        self.dir(d)
        self.dir(d + "/devices")
        self.dir(d + "/drivers")
        self.attr(d + "/drivers_autoprobe", 1, 0o644)
        self.wo(d + "/drivers_probe")
        self.wo(d + "/uevent")

    def char_device(self, device_path: str, node: str) -> None:
        self.char_nodes.append((device_path, node))

    # -- the whole tree ---------------------------------------------------------------------
    def write(self) -> None:
        self.buses()
        self.platform_root()
        for hb in self.topo.host_bridges:
            self.host_bridge(hb)
        self.root_and_windows()
        for port in self.m.ports[1:]:
            self.cxl_port(port)
        for dev in self.topo.devices():
            self.memdev_of(dev)
        if self.m.nvdimm_bridge:
            self.bridge_and_nmems()
        for ar in self.m.regions:
            self.region(ar)
        self.memory()
        self.nodes()
        self.apply()
        self.dev_nodes()

    # -- buses, drivers, modules --------------------------------------------------------------
    def buses(self) -> None:
        for d in (paths.SYS, paths.SYS_DEVICES, _BUS, _CLASS, _MODULE, _PLATFORM):
            self.dir(d)
        self.bus("cxl")
        self.wo(paths.CXL_FLUSH)
        for name, (module, bind) in _CXL_DRIVERS.items():
            self.driver_dir("cxl", name, module, bind)
        self.bus("dax")
        for name, module in _DAX_DRIVERS.items():
            if name == "kmem" and not self.m.platform.kmem:
                continue
            self.driver_dir("dax", name, module, True, ids=True)
        self.bus("nd")
        for name, (module, bind) in _ND_DRIVERS.items():
            self.driver_dir("nd", name, module, bind)
        for other in ("platform", "pci", "acpi", "memory", "node", "cpu"):
            self.dir(f"{_BUS}/{other}")
            self.dir(f"{_BUS}/{other}/devices")
            self.dir(f"{_BUS}/{other}/drivers")
        if self.m.acpi:
            # The PCI drivers of the CXL functions take bind/unbind (cxl_pci re-probes).
            self.driver_dir("pci", "cxl_pci", "cxl_pci", True, ids=True)
            self.driver_dir("pci", "pcieport", None, True, ids=True)
        for cls in ("firmware", "nd", "pci_bus"):
            self.dir(f"{_CLASS}/{cls}")
        self.dir(paths.SYS_DEV_CHAR)
        self.dir(paths.DEV)
        self.dir(paths.DEV_CXL)

    def platform_driver(self, name: str) -> str:
        d = f"{_BUS}/platform/drivers/{name}"
        if name == "cxl_acpi":
            # The driver core gives it bind/unbind; `cxl disable-bus` unbinds through it.
            self.driver_dir("platform", name, name, True)
        else:
            self.dir(d)
        return d

    # -- the platform device the CXL root hangs off, and its ACPI companion ---------------------
    def platform_root(self) -> None:
        path = self.m.root_platform
        name = posixpath.basename(path)
        if self.m.acpi:
            driver = self.platform_driver("cxl_acpi")
            self.device(
                path,
                f"{_BUS}/platform",
                driver=driver,
                modalias="acpi:ACPI0017:",
                power=True,
            )
            self.attr(path + "/driver_override", "(null)", 0o644)
            companion = f"{_ACPI_SB}/ACPI0017:00"
            self.acpi_node(companion, "ACPI0017", "acpi:ACPI0017:", "\\_SB_.CXLM", path)
            self.attr(companion + "/status", 11)
            self.link(path + "/firmware_node", companion)
            self.link(f"{driver}/{name}", path)
            self.link(f"{_BUS}/platform/devices/{name}", path)
        else:
            self.platform_device(path, self.platform_driver("cxl_acpi"))

    def acpi_node(self, path: str, hid: str, modalias: str, acpi_path: str, physical: str) -> None:
        self.dir(path)
        self.attr(path + "/hid", hid)
        self.attr(path + "/modalias", modalias)
        self.attr(path + "/path", acpi_path)
        self.link(path + "/physical_node", physical)
        self.link(path + "/subsystem", f"{_BUS}/acpi")
        self.file(path + "/uevent", f"MODALIAS={modalias}\n", 0o644)
        self.dir(path + "/power")
        self.link(f"{_BUS}/acpi/devices/{posixpath.basename(path)}", path)

    # -- host bridges, ports, switches and the devices' host (PCI or platform) -----------------
    def host_bridge(self, hb: HostBridge) -> None:
        path = self.m.hb_path[hb.uid]
        if self.m.acpi:
            self.dir(path)
            self.file(path + "/uevent", b"", 0o644)
            self.attr(path + "/waiting_for_supplier", 0)
            self.pci_bus(path, hb.segment, hb.bus)
            index = self.topo.host_bridges.index(hb)
            companion = f"{_ACPI_SB}/ACPI0016:{index:02x}"
            alias = "acpi:ACPI0016:PNP0A08:PNP0A03:"
            self.acpi_node(companion, "ACPI0016", alias, hb.acpi_path, path)
            self.attr(companion + "/uid", hb.uid)
            self.link(path + "/firmware_node", companion)
        else:
            self.platform_device(path, None)
            # The mock host bridges stand in for their own ACPI companions.
            self.link(path + ("/firmware_node" if hb.rch else "/physical_node"), path)
        if hb.device is not None:
            self.device_host(hb.device, hb)
        for rp in hb.root_ports:
            self.port_host(rp, hb, _PCI_ROOT_PORT)

    def pci_bus(self, device_path: str, segment: int, bus: int) -> None:
        d = f"{device_path}/pci_bus/{segment:04x}:{bus:02x}"
        self.dir(device_path + "/pci_bus")
        self.dir(d)
        cpus = list(range(self.m.platform.cpus))
        self.attr(d + "/cpuaffinity", cpumask(cpus, self.m.platform.cpus))
        self.attr(d + "/cpulistaffinity", nodelist(cpus))
        self.link(d + "/device", device_path)
        self.wo(d + "/rescan")
        self.link(d + "/subsystem", f"{_CLASS}/pci_bus")
        self.file(d + "/uevent", b"", 0o644)

    def pci_function(
        self,
        path: str,
        ident: tuple,
        numa_node: int,
        bridge: tuple[int, int, int] | None = None,
    ) -> None:
        """A PCI function: its identity, driver and (for bridges) its secondary bus."""
        p = self.m.platform
        cpus = list(range(p.cpus)) if numa_node < 0 else self.m.node_cpus(numa_node)
        self.pci_device(path, ident, numa_node, (cpumask(cpus, p.cpus), nodelist(cpus)))
        if bridge is not None:
            segment, secondary, subordinate = bridge
            self.attr(path + "/secondary_bus_number", secondary)
            self.attr(path + "/subordinate_bus_number", subordinate)
            self.pci_bus(path, segment, secondary)

    def port_host(self, port: Port, hb: HostBridge, ident: tuple) -> None:
        path = self.m.host_path[id(port)]
        if self.m.acpi:
            self.pci_function(
                path, ident, -1, (hb.segment, port.secondary_bus, port.subordinate_bus)
            )
        else:
            self.platform_device(path, None)
        if port.device is not None:
            self.device_host(port.device, hb)
        if port.switch is not None:
            sw = port.switch
            sw_path = self.m.host_path[id(sw)]
            if self.m.acpi:
                self.pci_function(
                    sw_path, _PCI_USP, -1, (hb.segment, sw.secondary_bus, sw.subordinate_bus)
                )
            else:
                self.platform_device(sw_path, None)
            for p in sw.ports:
                self.port_host(p, hb, _PCI_DSP)

    def device_host(self, dev: Device, hb: HostBridge) -> None:
        path = self.m.host_path[id(dev)]
        if self.m.acpi:
            self.pci_function(path, PCI_TYPE3, dev.numa_node)
        else:
            self.platform_device(path, self.platform_driver("cxl_mock_mem"))

    # -- CXL objects ------------------------------------------------------------------------------
    def root_and_windows(self) -> None:
        root = self.m.root
        self.cxl_root(root.path, root.uport, root.dports)
        for dec, w in zip(self.m.root_decoders, self.topo.windows, strict=True):
            self.root_decoder(dec, w, self.m.region_ids[w.index])

    def memdev_of(self, dev: Device) -> None:
        m = self.m
        path = m.memdev_path[dev.name]
        self.memdev(path, dev, m.platform.memdev_major)
        if dev.name in m.nmem_of:
            pmem = f"{path}/pmem{dev.memdev}"
            self.cxl_object(pmem, f"pmem{dev.memdev}", "cxl_nvdimm", "cxl:t2", "cxl_nvdimm")

    # -- libnvdimm: the bridge, its bus and one nmem per pmem-capable memdev -------------------
    def bridge_and_nmems(self) -> None:
        m = self.m
        ndbus = self.nvdimm_bridge(m.root.path, 0, m.platform.ndctl_major)
        by_name = {d.name: d for d in m.devices}
        for name in sorted(m.nmem_of, key=m.nmem_of.get):
            dev = by_name[name]
            self.nmem(
                ndbus,
                m.nmem_of[name],
                m.platform.nmem_major,
                dev.serial,
                f"pmem{dev.memdev}",
                nd_label_slots(dev.label_storage_size),
            )

    # -- firmware-committed regions, their dax region and device --------------------------------
    def region(self, ar: _AutoRegion) -> None:
        r = ar.region
        self.cxl_region(
            ar.path,
            mode=r.mode,
            ways=r.ways,
            granularity=r.granularity,
            size=r.size,
            resource=r.start,
            uuid="",
            targets=ar.targets,
            commit=True,
            driver="cxl_region",
        )
        if ar.dax_minor is not None:
            self.dax_region(ar)

    def dax_region(self, ar: _AutoRegion) -> None:
        m = self.m
        n = ar.id
        path = f"{ar.path}/dax_region{n}"
        self.cxl_object(path, f"dax_region{n}", "cxl_dax_region", "cxl:t8", "cxl_dax_region")
        self.dax_region_group(path, n, ar.region.size, 0)
        name = f"dax{n}.0"
        dax = f"{path}/{name}"
        self.dax_device(
            dax,
            devnum=(m.platform.dax_major, ar.dax_minor),
            driver="kmem" if m.platform.kmem else None,
            start=ar.region.start,
            size=ar.region.size,
            target_node=ar.window.node,
        )
        self.char_device(dax, f"{paths.DEV}/{name}")

    # -- memory blocks and NUMA nodes ----------------------------------------------------------
    def memory(self) -> None:
        p = self.m.platform
        top = paths.MEMORY
        self.dir(paths.SYS_DEVICES + "/system")
        self.dir(top)
        self.attr(top + "/auto_online_blocks", p.auto_online, 0o644)
        self.attr(top + "/block_size_bytes", f"{p.memory_block_size:x}")
        self.attr(top + "/crash_hotplug", 0)
        self.wo(top + "/hard_offline_page")
        self.wo(top + "/soft_offline_page")
        self.file(top + "/uevent", b"", 0o644)
        self.power(top)
        for block in self.m.blocks:
            self.memory_block(block.index, block.node, block.online, block.zones)

    def nodes(self) -> None:
        m = self.m
        top = paths.NODE
        self.dir(top)
        online = sorted(m.online_nodes)
        with_memory = sorted({b.node for b in m.blocks if b.online})
        normal = sorted(
            {b.node for b in m.blocks if b.online and b.zones in ("Normal", "none", "DMA32")}
        )
        cpus_nodes = sorted({n for n in range(m.platform.numa_nodes) if m.node_cpus(n)})
        self.attr(top + "/has_cpu", nodelist(cpus_nodes))
        self.attr(top + "/has_generic_initiator", "")
        self.attr(top + "/has_memory", nodelist(with_memory))
        self.attr(top + "/has_normal_memory", nodelist(normal))
        self.attr(top + "/online", nodelist(online))
        self.attr(top + "/possible", nodelist(list(range(m.possible_nodes))))
        self.file(top + "/uevent", b"", 0o644)
        self.power(top)
        self.dir(_CPU)
        for cpu in range(m.platform.cpus):
            self.dir(f"{_CPU}/cpu{cpu}")
        for node in online:
            self.node(node, online)

    def node(self, node: int, online: list[int]) -> None:
        m = self.m
        cpus = m.node_cpus(node)
        blocks = [b for b in m.blocks if b.node == node]
        self.numa_node(
            node,
            cpus=cpus,
            cpumap=cpumask(cpus, m.platform.cpus),
            distance=" ".join("10" if n == node else "20" for n in online),
            total_kb=sum(m.platform.memory_block_size for b in blocks if b.online) // 1024,
            blocks=[b.index for b in blocks],
        )

    # -- /dev nodes and their sys/dev/char links ------------------------------------------------
    def dev_nodes(self) -> None:
        for device_path, node in self.char_nodes:
            devnodes.add_char_device(self.base, device_path, node)


def _makedirs(host: str) -> None:
    """mkdir -p with mode 0755 on every level (os.makedirs leaves parents to the umask)."""
    parent = os.path.dirname(host)
    if not os.path.isdir(parent):
        _makedirs(parent)
    try:
        os.mkdir(host, 0o755)
    except FileExistsError:
        pass


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _fixture_meta(topo: Topology, model: _Model) -> dict:
    """What the emulator needs later that sysfs does not show (docs/fixtures.md)."""
    p = topo.platform
    return {
        "format": FORMAT_VERSION,
        "fixture": topo.name,
        "params": dict(topo.params),
        "kernel": "6.12",
        "platform": {
            "kind": p.kind,
            "boot_ram": p.boot_ram,
            "soft_reserved": p.soft_reserved,
            "kmem": p.kmem,
            "numa_nodes": p.numa_nodes,
        },
        "majors": {
            "cxl_memdev": p.memdev_major,
            "nmem": p.nmem_major,
            "ndctl": p.ndctl_major,
            "dax": p.dax_major,
        },
        "memregion": {
            "allocated": sorted(model.allocated_ids),
            "next": min(set(range(len(model.allocated_ids) + 1)) - model.allocated_ids),
        },
        "windows": {f"decoder0.{w.index}": {"node": w.node} for w in topo.windows},
        "memdevs": {
            f"mem{d.memdev}": {"serial": d.serial, "ram": d.ram, "pmem": d.pmem}
            for d in sorted(topo.devices(), key=lambda d: d.memdev)
        },
        # The order the memdevs joined the cxl bus (their probes finished), which
        # a rescan of the bus follows.
        BUS_ORDER_KEY: [f"mem{d.memdev}" for d in model.devices],
        "next": {
            "nmem": len(model.nmem_of),
            "dax_minor": model.next_dax_minor,
        },
    }


def _write_mailboxes(meta: str, topo: Topology) -> None:
    """`memN.json` for every device that answers any mailbox command."""
    answering = [d for d in topo.devices() if d.mailbox]
    if not answering:
        return
    box = os.path.join(meta, MAILBOX_DIR)
    os.makedirs(box, exist_ok=True)
    for dev in answering:
        with open(os.path.join(box, f"mem{dev.memdev}.json"), "w") as f:
            json.dump(dev.mailbox_answers(), f, indent=1)


def build_tree(topology: Topology, dest: str) -> None:
    """Write the simulated system for `topology` into dest (new or empty)."""
    dest = os.path.abspath(dest)
    if os.path.isdir(dest) and os.listdir(dest):
        raise FileExistsError(f"{dest}: not empty")
    os.makedirs(dest, exist_ok=True)
    model = _Model(topology)
    writer = _Writer(dest, model)
    # Files get exactly the modes sysfs gives them.
    old_umask = os.umask(0)
    try:
        writer.write()
    finally:
        os.umask(old_umask)
    meta = os.path.join(dest, META_DIR)
    os.makedirs(meta, exist_ok=True)
    with open(os.path.join(meta, UNREADABLE_FILE), "w") as f:
        json.dump(writer.unreadable, f, indent=0, sort_keys=True)
    with open(os.path.join(meta, FIXTURE_FILE), "w") as f:
        json.dump(_fixture_meta(topology, model), f, indent=1)
    _write_mailboxes(meta, topology)
