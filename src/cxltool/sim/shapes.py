"""The shapes of kernel objects in sysfs, written through any sink.

A device directory, its power group, its bus link, a CXL object, a decoder: the
kernel makes these the same way whether they exist at boot (the tree builder)
or appear later (the emulated kernel, planning on a transaction). Both use
these methods; a subclass supplies the primitives (`dir`, `file`, `link`,
`unreadable_attr`).
"""

from __future__ import annotations

from typing import Protocol

from cxltool.sysfs import paths

_BUS = paths.SYS + "/bus"
EIO = 5

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
            self.attr(path + "/dev", f"{major}:{minor}")
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
