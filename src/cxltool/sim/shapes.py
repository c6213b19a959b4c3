"""The shapes of kernel objects in sysfs, written through any sink.

A device directory, its power group, its bus link, a CXL object, a decoder: the
kernel makes these the same way whether they exist at boot (the tree builder)
or appear later (the emulated kernel, planning on a transaction). Both use
these methods; a subclass supplies the primitives (`dir`, `file`, `link`,
`unreadable_attr`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cxltool.sysfs import paths

_BUS = paths.SYS + "/bus"
EIO = 5
DAX_ALIGN = 2 * 1024 * 1024  # PMD alignment of CXL and hmem dax regions

NO_RESOURCE = 0xFFFFFFFFFFFFFFFF
PASSTHROUGH_GRANULARITY = 4096  # a passthrough decoder reports PAGE_SIZE

POWER_FILES = (
    ("async", "disabled", 0o644),
    ("control", "auto", 0o644),
    ("runtime_active_kids", "0", 0o444),
    ("runtime_active_time", "0", 0o444),
    ("runtime_enabled", "disabled", 0o444),
    ("runtime_status", "unsupported", 0o444),
    ("runtime_suspended_time", "0", 0o444),
    ("runtime_usage", "0", 0o444),
)


def kernel_hex(n: int) -> str:
    """The kernel's `%#llx`: 0 prints as 0x0."""
    return f"{n:#x}"


def kernel_pa(n: int) -> str:
    """The kernel's `%pa`: 0x and 16 zero-padded digits."""
    return f"0x{n:016x}"


def kernfs_link_target(link: str, target: str) -> str:
    """The relative text of a sysfs symlink, built the way kernfs builds it.

    kernfs climbs from the link's directory until it reaches an ancestor of the
    target's parent, then descends; so a link to an ancestor reads `../../x`, not `..`.
    """
    base = link[: link.rfind("/")]
    tparent = target[: target.rfind("/")] + "/"
    ups = 0
    while base and not tparent.startswith(base + "/"):
        base = base[: base.rfind("/")]
        ups += 1
    return "../" * ups + target[len(base) + 1 :]


class DecoderLike(Protocol):
    """What a decoder shape needs to know (the builder's model or the emulator's view)."""

    path: str
    name: str
    start: int
    size: int
    locked: bool
    ways: int
    granularity: int
    target_list: str
    region: str
    mode: str
    dpa_size: int
    dpa_resource: int


@dataclass
class DecoderModel:
    """One HDM decoder as the kernel shows it (root, switch or endpoint kind)."""

    name: str
    path: str
    kind: str  # root, switch or endpoint
    target_list: str = ""
    start: int = 0
    size: int = 0
    ways: int = 1
    granularity: int = 256
    locked: bool = False
    region: str = ""
    mode: str = "none"
    dpa_resource: int = NO_RESOURCE
    dpa_size: int = 0
    committed: bool = False


def switch_port_decoders(
    port_id: int, port_path: str, dport_ids: list[int], count: int, acpi: bool
) -> list[DecoderModel]:
    """The idle decoders the cxl_port driver enumerates on a host-bridge or switch port."""

    def make(i: int, **kw: object) -> DecoderModel:
        name = f"decoder{port_id}.{i}"
        return DecoderModel(name=name, path=f"{port_path}/{name}", kind="switch", **kw)

    if acpi and len(dport_ids) == 1:
        # Linux 6.12 gives a port with a single dport one passthrough decoder.
        return [make(0, target_list=str(dport_ids[0]), granularity=PASSTHROUGH_GRANULARITY)]
    if acpi:
        # An idle decoder's target list register reads zero: dport 0, if any.
        idle = "0" if 0 in dport_ids else ""
    else:
        # cxl_test pre-fills its mock decoders' targets with the port's dports.
        idle = str(dport_ids[0]) if dport_ids else ""
    return [make(i, target_list=idle) for i in range(count)]


def endpoint_port_decoders(port_id: int, port_path: str, count: int) -> list[DecoderModel]:
    """The idle decoders of a newly enumerated endpoint port."""
    return [
        DecoderModel(
            name=f"decoder{port_id}.{i}", path=f"{port_path}/decoder{port_id}.{i}", kind="endpoint"
        )
        for i in range(count)
    ]


class MemdevLike(Protocol):
    """What a memdev shape needs: the device's identity, capacity and capabilities."""

    memdev: int
    serial: int
    firmware_version: str
    payload_max: int
    label_storage_size: int
    numa_node: int
    ram: int
    pmem: int
    qos_class: int | None
    sanitize: bool
    secure_erase: bool
    poison: bool
    firmware_update: bool


# PCI identity of QEMU's type-3 device: (vendor, device, subsystem vendor, subsystem
# device, class, revision, driver).
PCI_TYPE3 = (0x8086, 0x0D93, 0x1AF4, 0x1100, 0x050210, 0x01, "cxl_pci")


class WindowLike(Protocol):
    """What a root decoder shape needs of its CFMWS window besides the decoder's range."""

    ram: bool
    pmem: bool
    type2: bool
    type3: bool
    qos_class: int


class PortLike(Protocol):
    """What a port shape needs: a host-bridge, switch or endpoint port and its decoders."""

    name: str
    path: str
    uport: str
    parent_dport: str | None
    dports: list[tuple[int, str]]
    cdat: bytes | None
    decoders: list[DecoderModel]


class Shapes:
    """Kernel object shapes over abstract primitives."""

    # -- primitives a sink provides ------------------------------------------------------
    def dir(self, path: str) -> None:
        raise NotImplementedError

    def file(self, path: str, data: str | bytes = b"", mode: int = 0o444) -> None:
        raise NotImplementedError

    def link(self, path: str, target: str) -> None:
        raise NotImplementedError

    def unreadable_attr(self, path: str, mode: int, err: int) -> None:
        """An attribute whose read fails with err (e.g. EIO) on the real kernel."""
        raise NotImplementedError

    def char_device(self, device_path: str, node: str) -> None:
        """The /dev node (and /sys/dev/char link) of a device that has a `dev` file."""
        raise NotImplementedError

    def attr(self, path: str, value: object, mode: int = 0o444) -> None:
        """A text attribute: its value and the newline every sysfs read ends with."""
        self.file(path, f"{value}\n", mode)

    def wo(self, path: str) -> None:
        """A write-only attribute: an empty file kernfs refuses to open for reading."""
        self.file(path, b"", 0o200)

    # -- shared shapes -------------------------------------------------------------------
    def device(
        self,
        path: str,
        subsystem: str,
        *,
        devtype: str | None = None,
        modalias: str | None = None,
        driver: str | None = None,
        devnum: tuple[int, int, str] | None = None,
        type_files: bool = True,
        uevent_extra: tuple[str, ...] = (),
        power: bool = False,
    ) -> None:
        """A device directory: uevent, subsystem and driver links, devtype/modalias, dev."""
        self.dir(path)
        env: list[str] = []
        if devnum is not None:
            major, minor, devname = devnum
            env += [f"MAJOR={major}", f"MINOR={minor}", f"DEVNAME={devname}"]
            self.attr(path + paths.DEVNUM, f"{major}:{minor}")
        if devtype:
            env.append(f"DEVTYPE={devtype}")
            if type_files:
                self.attr(path + "/devtype", devtype)
        if driver:
            env.append("DRIVER=" + driver.rsplit("/", 1)[1])
            self.link(path + "/driver", driver)
        if modalias:
            env.append(f"MODALIAS={modalias}")
            if type_files:
                self.attr(path + "/modalias", modalias)
        env.extend(uevent_extra)
        self.file(path + "/uevent", "".join(e + "\n" for e in env), 0o644)
        self.link(path + "/subsystem", subsystem)
        if power:
            self.power(path)

    def power(self, path: str) -> None:
        self.dir(path + "/power")
        for name, value, mode in POWER_FILES:
            self.attr(f"{path}/power/{name}", value, mode)
        self.unreadable_attr(path + "/power/autosuspend_delay_ms", 0o644, EIO)

    def bus_device(self, bus: str, name: str, path: str, driver: str | None = None) -> None:
        self.link(f"{_BUS}/{bus}/devices/{name}", path)
        if driver:
            self.link(f"{_BUS}/{bus}/drivers/{driver}/{name}", path)

    def pci_device(
        self, path: str, ident: tuple, numa_node: int, local_cpus: tuple[str, str]
    ) -> None:
        """A PCI function bound to its driver: identity, NUMA node, local CPUs (mask, list)."""
        vendor, device, sub_vendor, sub_device, cls, rev, driver = ident
        bdf = path.rsplit("/", 1)[1]
        alias = (
            f"pci:v{vendor:08X}d{device:08X}sv{sub_vendor:08X}sd{sub_device:08X}"
            f"bc{cls >> 16:02X}sc{(cls >> 8) & 0xFF:02X}i{cls & 0xFF:02X}"
        )
        drv = f"{_BUS}/pci/drivers/{driver}"
        self.dir(drv)
        self.device(
            path,
            f"{_BUS}/pci",
            driver=drv,
            type_files=False,
            uevent_extra=(
                f"PCI_CLASS={cls:X}",
                f"PCI_ID={vendor:04X}:{device:04X}",
                f"PCI_SUBSYS_ID={sub_vendor:04X}:{sub_device:04X}",
                f"PCI_SLOT_NAME={bdf}",
                f"MODALIAS={alias}",
            ),
        )
        self.attr(path + "/modalias", alias)
        self.attr(path + "/vendor", f"0x{vendor:04x}")
        self.attr(path + "/device", f"0x{device:04x}")
        self.attr(path + "/subsystem_vendor", f"0x{sub_vendor:04x}")
        self.attr(path + "/subsystem_device", f"0x{sub_device:04x}")
        self.attr(path + "/class", f"0x{cls:06x}")
        self.attr(path + "/revision", f"0x{rev:02x}")
        self.attr(path + "/numa_node", numa_node, 0o644)
        self.attr(path + "/enable", 1, 0o644)
        self.attr(path + "/driver_override", "(null)", 0o644)
        self.attr(path + "/local_cpus", local_cpus[0])
        self.attr(path + "/local_cpulist", local_cpus[1])
        self.link(f"{drv}/{bdf}", path)
        self.link(f"{_BUS}/pci/devices/{bdf}", path)

    def platform_device(self, path: str, driver: str | None) -> None:
        """A cxl_test mock platform device."""
        name = path.rsplit("/", 1)[1]
        alias = "platform:" + name.rsplit(".", 1)[0]
        self.device(path, f"{_BUS}/platform", driver=driver, modalias=alias, power=True)
        self.attr(path + "/driver_override", "(null)", 0o644)
        self.link(f"{_BUS}/platform/devices/{name}", path)
        if driver:
            self.link(f"{driver}/{name}", path)

    def memdev(self, path: str, dev: MemdevLike, major: int, bound: bool = True) -> None:
        """A memdev below its device; `bound` to cxl_mem, as at boot, or not yet."""
        name = f"mem{dev.memdev}"
        driver = "cxl_mem" if bound else None
        self.device(
            path,
            paths.CXL_BUS,
            devtype="cxl_memdev",
            modalias="cxl:t5",
            driver=f"{paths.CXL_DRIVERS}/cxl_mem" if bound else None,
            devnum=(major, dev.memdev, f"cxl/{name}"),
            type_files=False,
        )
        self.bus_device("cxl", name, path, driver)
        self.char_device(path, f"{paths.DEV_CXL}/{name}")
        self.attr(path + "/serial", kernel_hex(dev.serial))
        self.attr(path + "/firmware_version", dev.firmware_version)
        self.attr(path + "/payload_max", dev.payload_max)
        self.attr(path + "/label_storage_size", dev.label_storage_size)
        self.attr(path + "/numa_node", dev.numa_node)
        for part, size in (("ram", dev.ram), ("pmem", dev.pmem)):
            self.dir(f"{path}/{part}")
            self.attr(f"{path}/{part}/size", kernel_hex(size))
            if dev.qos_class is not None:
                self.attr(f"{path}/{part}/qos_class", dev.qos_class)
        self.dir(path + "/security")
        self.attr(path + "/security/state", "disabled")
        if dev.sanitize:
            self.wo(path + "/security/sanitize")
        if dev.secure_erase:
            self.wo(path + "/security/erase")
        # The poison trigger exists only while cxl_mem is bound.
        if dev.poison and bound:
            self.wo(path + "/trigger_poison_list")
        if dev.firmware_update:
            self.firmware_upload(path, name)

    def firmware_upload(self, memdev_path: str, name: str) -> None:
        """The firmware-loader class device a memdev with FW update support carries."""
        cls = paths.SYS + "/class/firmware"
        self.dir(memdev_path + "/firmware")
        path = f"{memdev_path}/firmware/{name}"
        self.device(
            path,
            cls,
            uevent_extra=(f"FIRMWARE={name}", "TIMEOUT=60", "ASYNC=0"),
            power=True,
        )
        self.wo(path + "/cancel")
        self.file(path + "/data", b"", 0o644)
        self.link(path + "/device", memdev_path)
        self.file(path + "/error", b"", 0o444)
        self.attr(path + "/loading", 0, 0o644)
        self.attr(path + "/remaining_size", 0)
        self.attr(path + "/status", "idle")
        self.link(f"{cls}/{name}", path)

    def cxl_object(
        self, path: str, name: str, devtype: str, modalias: str, driver: str | None
    ) -> None:
        drv = f"{paths.CXL_DRIVERS}/{driver}" if driver else None
        self.device(path, paths.CXL_BUS, devtype=devtype, modalias=modalias, driver=drv)
        self.bus_device("cxl", name, path, driver)

    def decoder_common(self, dec: DecoderLike) -> None:
        self.attr(dec.path + "/start", kernel_hex(dec.start), 0o400)
        self.attr(dec.path + "/size", kernel_hex(dec.size))
        self.attr(dec.path + "/locked", int(dec.locked))
        self.attr(dec.path + "/interleave_ways", dec.ways)
        self.attr(dec.path + "/interleave_granularity", dec.granularity)

    def switch_decoder(self, dec: DecoderLike) -> None:
        self.cxl_object(dec.path, dec.name, "cxl_decoder_switch", "cxl:t0", None)
        self.decoder_common(dec)
        self.attr(dec.path + "/target_type", "expander")
        self.attr(dec.path + "/target_list", dec.target_list)
        self.attr(dec.path + "/region", dec.region)

    def endpoint_decoder(self, dec: DecoderLike) -> None:
        self.cxl_object(dec.path, dec.name, "cxl_decoder_endpoint", "cxl:t0", None)
        self.decoder_common(dec)
        self.attr(dec.path + "/target_type", "expander")
        self.attr(dec.path + "/region", dec.region)
        self.attr(dec.path + "/mode", dec.mode, 0o644)
        self.attr(dec.path + "/dpa_size", kernel_pa(dec.dpa_size), 0o644)
        self.attr(dec.path + "/dpa_resource", kernel_hex(dec.dpa_resource))

    def cxl_root(self, path: str, uport: str, dports: list[tuple[int, str]]) -> None:
        """A CXL root (`rootN`): no driver of its own, one dport per host bridge UID."""
        self.cxl_object(path, paths.basename(path), "cxl_port", "cxl:t4", None)
        self.attr(path + "/decoders_committed", 0)
        self.link(path + "/uport", uport)
        for uid, target in dports:
            self.link(f"{path}/dport{uid}", target)

    def root_decoder(self, dec: DecoderLike, w: WindowLike, next_region: int) -> None:
        """A CFMWS window's root decoder; `next_region` is the region id it holds in reserve."""
        self.cxl_object(dec.path, dec.name, "cxl_decoder_root", "cxl:t0", None)
        self.decoder_common(dec)
        self.attr(dec.path + "/cap_pmem", int(w.pmem))
        self.attr(dec.path + "/cap_ram", int(w.ram))
        self.attr(dec.path + "/cap_type2", int(w.type2))
        self.attr(dec.path + "/cap_type3", int(w.type3))
        self.attr(dec.path + "/target_list", dec.target_list)
        self.attr(dec.path + "/qos_class", w.qos_class)
        if w.type3 and w.pmem:
            self.attr(dec.path + "/create_pmem_region", f"region{next_region}", 0o644)
        if w.type3 and w.ram:
            self.attr(dec.path + "/create_ram_region", f"region{next_region}", 0o644)
        if w.type3 and (w.pmem or w.ram):
            self.wo(dec.path + "/delete_region")

    def nvdimm_bridge(self, root: str, bus_id: int, ndctl_major: int) -> str:
        """`nvdimm-bridge0` below a CXL root, bound, with its libnvdimm bus; the bus's path."""
        bridge = root + "/nvdimm-bridge0"
        self.cxl_object(
            bridge, "nvdimm-bridge0", "cxl_nvdimm_bridge", "cxl:t1", "cxl_nvdimm_bridge"
        )
        name = f"ndbus{bus_id}"
        ndbus = f"{bridge}/{name}"
        self.device(
            ndbus,
            f"{_BUS}/nd",
            modalias="nd:t0",
            driver=f"{_BUS}/nd/drivers/nd_bus",
            type_files=False,
        )
        self.bus_device("nd", name, ndbus, "nd_bus")
        self.attr(ndbus + "/commands", "")
        self.attr(ndbus + "/provider", "CXL")
        self.attr(ndbus + "/wait_probe", 1)
        self.dir(ndbus + "/firmware")
        self.dir(ndbus + "/nd")
        ctl_name = f"ndctl{bus_id}"
        ctl = f"{ndbus}/nd/{ctl_name}"
        cls = paths.SYS + "/class/nd"
        self.device(ctl, cls, devnum=(ndctl_major, bus_id, ctl_name))
        self.link(ctl + "/device", ndbus)
        self.link(f"{cls}/{ctl_name}", ctl)
        self.char_device(ctl, f"{paths.DEV}/{ctl_name}")
        return ndbus

    def cxl_port(self, port: PortLike) -> None:
        """A host-bridge, switch or endpoint port bound to cxl_port, with its decoders."""
        self.cxl_object(port.path, port.name, "cxl_port", "cxl:t3", "cxl_port")
        committed = sum(d.committed for d in port.decoders)
        self.attr(port.path + "/decoders_committed", committed)
        self.link(port.path + "/uport", port.uport)
        if port.parent_dport is not None:
            self.link(port.path + "/parent_dport", port.parent_dport)
        for number, target in port.dports:
            self.link(f"{port.path}/dport{number}", target)
        if port.cdat is not None:
            self.file(port.path + "/CDAT", port.cdat, 0o400)
        for dec in port.decoders:
            if dec.kind == "endpoint":
                self.endpoint_decoder(dec)
            else:
                self.switch_decoder(dec)

    def nmem(self, ndbus: str, n: int, major: int, serial: int, provider: str, slots: int) -> None:
        """The libnvdimm DIMM (`nmemN`) a CXL memdev with pmem gets below the bridge's bus."""
        path = f"{ndbus}/nmem{n}"
        self.device(
            path,
            f"{_BUS}/nd",
            devtype="nvdimm",
            modalias="nd:t1",
            driver=f"{_BUS}/nd/drivers/nvdimm",
            devnum=(major, n, f"nmem{n}"),
        )
        self.bus_device("nd", f"nmem{n}", path, "nvdimm")
        self.char_device(path, f"{paths.DEV}/nmem{n}")
        self.attr(path + "/available_slots", slots)
        self.attr(path + "/commands", "get_size get_data set_data ")
        self.dir(path + "/cxl")
        self.attr(path + "/cxl/id", serial)
        self.attr(path + "/cxl/provider", provider)
        self.dir(path + "/firmware")
        self.attr(path + "/flags", "label ")
        self.attr(path + "/frozen", 0)
        self.attr(path + "/security", "disabled", 0o644)
        self.attr(path + "/state", "idle")

    # -- regions and their dax side ---------------------------------------------------
    def cxl_region(
        self,
        path: str,
        *,
        mode: str,
        ways: int,
        granularity: int,
        size: int,
        resource: int,
        uuid: str,
        targets: list[str],
        commit: bool,
        driver: str | None,
    ) -> None:
        """A region below its root decoder (`uuid` is writable only for pmem)."""
        name = path.rsplit("/", 1)[1]
        self.cxl_object(path, name, "cxl_region", "cxl:t6", driver)
        self.dir(path + "/access0")
        self.dir(path + "/access1")
        self.attr(path + "/commit", int(commit), 0o644)
        self.attr(path + "/interleave_granularity", granularity, 0o644)
        self.attr(path + "/interleave_ways", ways, 0o644)
        self.attr(path + "/mode", mode)
        self.attr(path + "/resource", kernel_hex(resource))
        self.attr(path + "/size", kernel_hex(size), 0o644)
        self.attr(path + "/uuid", uuid, 0o644 if mode == "pmem" else 0o444)
        for i, target in enumerate(targets):
            self.attr(f"{path}/target{i}", target, 0o644)

    def dax_region_group(self, parent: str, region_id: int, size: int, available: int) -> None:
        """The `dax_region/` attribute group a dax region's producer device carries."""
        group = parent + "/dax_region"
        self.dir(group)
        self.attr(group + "/id", region_id)
        self.attr(group + "/size", size)
        self.attr(group + "/align", DAX_ALIGN, 0o400)
        self.attr(group + "/available_size", available)
        self.attr(group + "/create", "", 0o644)
        self.attr(group + "/seed", "")
        self.wo(group + "/delete")

    def dax_device(
        self,
        path: str,
        *,
        devnum: tuple[int, int],
        driver: str | None,
        start: int,
        size: int,
        target_node: int,
    ) -> None:
        """A region's first dax device: one mapping covering [start, start + size)."""
        self.dax_device_attrs(
            path,
            devnum=devnum,
            driver=driver,
            resource=start,
            size=size,
            target_node=target_node,
            memmap_on_memory=True,
        )
        self.dax_mapping(path, 0, start, start + size - 1, 0)

    def dax_device_attrs(
        self,
        path: str,
        *,
        devnum: tuple[int, int],
        driver: str | None,
        resource: int,
        size: int,
        target_node: int,
        memmap_on_memory: bool,
        align: int = DAX_ALIGN,
        numa_node: int = -1,
    ) -> None:
        """A dax device on the dax bus without its mappings (see dax_mapping)."""
        name = path.rsplit("/", 1)[1]
        major, minor = devnum
        self.device(
            path,
            paths.DAX_BUS,
            modalias="dax:t0",
            driver=f"{paths.DAX_DRIVERS}/{driver}" if driver else None,
            devnum=(major, minor, name),
            power=True,
        )
        self.bus_device("dax", name, path, driver)
        self.attr(path + "/align", align, 0o644)
        self.wo(path + "/mapping")
        self.attr(path + "/memmap_on_memory", int(memmap_on_memory), 0o644)
        self.attr(path + "/numa_node", numa_node)
        self.attr(path + "/resource", kernel_hex(resource), 0o400)
        self.attr(path + "/size", size, 0o644)
        # The kernel hides target_node when the range has no node.
        if target_node >= 0:
            self.attr(path + "/target_node", target_node)

    def dax_mapping(self, device: str, index: int, start: int, end: int, page_offset: int) -> None:
        """`mappingN/` of a dax device: one physical range (end inclusive, offset in pages)."""
        mapping = f"{device}/mapping{index}"
        self.dir(mapping)
        self.attr(mapping + "/start", kernel_hex(start), 0o400)
        self.attr(mapping + "/end", kernel_hex(end), 0o400)
        self.attr(mapping + "/page_offset", kernel_hex(page_offset), 0o400)
        self.file(mapping + "/uevent", b"", 0o644)
        self.power(mapping)

    # -- memory blocks and NUMA nodes ----------------------------------------------------
    def memory_block(self, index: int, node: int, online: bool, zones: str) -> None:
        """`memoryK/` below /sys/devices/system/memory, linked to its node."""
        path = f"{paths.MEMORY}/memory{index}"
        self.dir(path)
        self.attr(path + "/online", int(online), 0o644)
        self.attr(path + "/phys_device", 0)
        self.attr(path + "/phys_index", f"{index:08x}")
        self.attr(path + "/removable", 1)
        self.attr(path + "/state", "online" if online else "offline", 0o644)
        self.attr(path + "/valid_zones", zones)
        self.file(path + "/uevent", b"", 0o644)
        self.link(path + "/subsystem", f"{_BUS}/memory")
        self.link(f"{path}/node{node}", f"{paths.NODE}/node{node}")
        self.power(path)

    def numa_node(
        self,
        node: int,
        *,
        cpus: list[int],
        cpumap: str,
        distance: str,
        total_kb: int,
        blocks: list[int],
    ) -> None:
        """`nodeN/` below /sys/devices/system/node: an online NUMA node.

        `total_kb` is the node's onlined memory, which meminfo and vmstat show.
        """
        path = f"{paths.NODE}/node{node}"
        self.dir(path)
        self.wo(path + "/compact")
        for cpu in cpus:
            self.link(f"{path}/cpu{cpu}", f"{_CPU}/cpu{cpu}")
        self.attr(path + "/cpulist", nodelist(cpus))
        self.attr(path + "/cpumap", cpumap)
        self.attr(path + "/distance", distance)
        hp = path + "/hugepages"
        self.dir(hp)
        for size_kb, demote in (("1048576kB", True), ("2048kB", False)):
            d = f"{hp}/hugepages-{size_kb}"
            self.dir(d)
            if demote:
                self.wo(d + "/demote")
                self.attr(d + "/demote_size", "2048kB", 0o644)
            self.attr(d + "/free_hugepages", 0)
            self.attr(d + "/nr_hugepages", 0, 0o644)
            self.attr(d + "/surplus_hugepages", 0)
        self.attr(path + "/meminfo", node_meminfo(node, total_kb).rstrip("\n"))
        for index in blocks:
            self.link(f"{path}/memory{index}", f"{paths.MEMORY}/memory{index}")
        mf = path + "/memory_failure"
        self.dir(mf)
        for name in ("delayed", "failed", "ignored", "recovered", "total"):
            self.attr(f"{mf}/{name}", 0)
        self.attr(path + "/numastat", node_numastat().rstrip("\n"))
        self.attr(path + "/vmstat", node_vmstat(total_kb // 4).rstrip("\n"))
        self.file(path + "/uevent", b"", 0o644)
        self.link(path + "/subsystem", f"{_BUS}/node")
        self.power(path)
        self.dir(path + "/x86")


_CPU = paths.SYS_DEVICES + "/system/cpu"


def nodelist(nodes: list[int]) -> str:
    """A set of small integers in cpulist syntax: 0-1,4."""
    out: list[str] = []
    ordered = sorted(set(nodes))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(out)


def parse_nodelist(text: str | None) -> list[int]:
    """`0-1,4` -> [0, 1, 4]; malformed parts are skipped."""
    out: list[int] = []
    for part in (text or "").split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isdigit() and (not hi or hi.isdigit()):
            out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def cpumask(cpus: list[int], nr_cpus: int) -> str:
    """A CPU bitmap the way sysfs prints it: 32-bit hex words, comma separated."""
    mask = 0
    for c in cpus:
        mask |= 1 << c
    bits = max(nr_cpus, 1)
    top = bits % 32 or 32
    words = [f"{mask >> (bits - top):0{(top + 3) // 4}x}"]
    for shift in range(bits - top - 32, -1, -32):
        words.append(f"{(mask >> shift) & 0xFFFFFFFF:08x}")
    return ",".join(words)


def node_meminfo(node: int, total_kb: int) -> str:
    """A node's meminfo with `total_kb` onlined and free, every other counter zero."""
    fields = [("MemTotal", total_kb), ("MemFree", total_kb), ("MemUsed", 0)]
    fields += [
        (k, 0)
        for k in (
            "SwapCached Active Inactive Active(anon) Inactive(anon) Active(file) Inactive(file) "
            "Unevictable Mlocked Dirty Writeback FilePages Mapped AnonPages Shmem KernelStack "
            "PageTables SecPageTables NFS_Unstable Bounce WritebackTmp KReclaimable Slab "
            "SReclaimable SUnreclaim AnonHugePages ShmemHugePages ShmemPmdMapped FileHugePages "
            "FilePmdMapped Unaccepted"
        ).split()
    ]
    lines = [f"Node {node} {k + ':':<16}{v:>8} kB" for k, v in fields]
    hugepages = ("HugePages_Total", "HugePages_Free", "HugePages_Surp")
    lines += [f"Node {node} {k + ':':<16}{0:>6}" for k in hugepages]
    return "\n".join(lines) + "\n"


def node_numastat() -> str:
    keys = ("numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node")
    return "".join(f"{k} 0\n" for k in keys)


def node_vmstat(free_pages: int) -> str:
    keys = (
        "nr_zone_inactive_anon nr_zone_active_anon nr_zone_inactive_file nr_zone_active_file "
        "nr_zone_unevictable nr_zone_write_pending nr_mlock nr_bounce nr_zspages nr_free_cma "
        "nr_unaccepted numa_hit numa_miss numa_foreign numa_interleave numa_local numa_other "
        "nr_inactive_anon nr_active_anon nr_inactive_file nr_active_file nr_unevictable "
        "nr_slab_reclaimable nr_slab_unreclaimable nr_isolated_anon nr_isolated_file"
    ).split()
    return f"nr_free_pages {free_pages}\n" + "".join(f"{k} 0\n" for k in keys)
