"""The per-memdev actions of `cxl disable-memdev`, `enable-memdev`, `reserve-dpa` and
`free-dpa`: the sysfs writes ndctl v85 makes, its checks and its messages.

Each action returns 0 or a negative errno, as ndctl's do, and logs what ndctl
logs. Enabling writes the name to every cxl driver's `bind` in directory order
until one takes it; disabling writes it to the memdev's `driver/unbind` and then
flushes the bus. DPA reservations select the endpoint decoder ndctl would and
write its `mode` and `dpa_size`.
"""

from __future__ import annotations

import errno

from cxltool.objects.cparse import ULLONG_MAX, strtoull_end
from cxltool.objects.cxl import CxlSystem, Decoder, Memdev
from cxltool.ops.cxl_filter import Filters
from cxltool.ops.cxl_json import JsonFlags, decoder_json, memdev_json
from cxltool.ops.memdev_action import Log
from cxltool.ops.numbers import parse_size
from cxltool.sysfs import SysfsError, paths


def is_enabled(system: CxlSystem, path: str) -> bool:
    """Whether a device is bound now (libcxl checks the `driver` link each time)."""
    return system.root.islink(path + "/driver")


def flush(system: CxlSystem) -> None:
    try:
        system.root.write(paths.CXL_FLUSH, "1\n")
    except SysfsError:
        pass


def bind_any_driver(system: CxlSystem, path: str) -> None:
    """Offer the device to every cxl driver, in directory order, until one binds it."""
    root = system.root
    name = paths.basename(path)
    # A memdev's or port's probe leaves work on the cxl bus queue (endpoints,
    # rescans), which the flush waits for, as libcxl does before its next walk.
    with root.probe(path, flush=paths.CXL_FLUSH) as watch:
        for driver in root.listdir_opt(paths.CXL_DRIVERS):
            if driver.startswith("."):
                continue
            try:
                root.write(f"{paths.CXL_DRIVERS}/{driver}/bind", name)
            except SysfsError:
                continue
            break
        if is_enabled(system, path):
            watch.wait()


def unbind(system: CxlSystem, path: str) -> None:
    try:
        system.root.write(path + "/driver/unbind", paths.basename(path))
    except SysfsError:
        pass


# -- disable / enable ------------------------------------------------------------------
def memdev_disable_invalidate(system: CxlSystem, memdev: Memdev, log: Log) -> int:
    name = memdev.name
    if not is_enabled(system, memdev.path):
        return 0
    endpoint = system.endpoint_of(memdev)
    if endpoint is None or endpoint.bus is None:
        log.lib("cxl_memdev_disable_invalidate", f"{name}: failed to invalidate")
        return -errno.ENXIO
    unbind(system, memdev.path)
    if is_enabled(system, memdev.path):
        log.lib("cxl_memdev_disable_invalidate", f"{name}: failed to disable")
        return -errno.EBUSY
    flush(system)
    return 0


def disable_memdev(system: CxlSystem, memdev: Memdev, log: Log, force: bool) -> int:
    """v85: refuse only when the memdev's endpoint has committed decoders."""
    if not is_enabled(system, memdev.path):
        return 0
    endpoint = system.endpoint_of(memdev)
    if endpoint is None:
        return -errno.ENODEV
    if endpoint.decoders_committed:
        log("action_disable", f"{memdev.name} is part of an active region")
        if not force:
            return -errno.EBUSY
        log("action_disable", f"Forcing {memdev.name} disable with an active region!")
    return memdev_disable_invalidate(system, memdev, log)


def enable_memdev(system: CxlSystem, memdev: Memdev, log: Log) -> int:
    if is_enabled(system, memdev.path):
        return 0
    bind_any_driver(system, memdev.path)
    if not is_enabled(system, memdev.path):
        log.lib("cxl_memdev_enable", f"{memdev.name}: failed to enable")
        return -errno.ENXIO
    return 0


# -- DPA ---------------------------------------------------------------------------------
DPA_ALLOC, DPA_FREE = "alloc", "free"
_MODES = {"ram": "ram", "volatile": "ram", "pmem": "pmem"}


class DpaParams:
    def __init__(
        self, size: str | None, decoder: str | None, type_: str | None, force: bool
    ) -> None:
        self.size = size
        self.decoder = decoder
        self.type = type_
        self.force = force


class _DecoderWord:
    """A `-d` word as a `cxl list -d` filter."""

    def __init__(self, word: str) -> None:
        self.memdev_filter = self.serial_filter = self.bus_filter = None
        self.port_filter = self.endpoint_filter = self.region_filter = None
        self.decoder_filter = word
        self.single = False


def _strtoul_whole(text: str) -> int | None:
    value, end = strtoull_end(text)
    return value if end == len(text) else None


def _snapshot(decoder: Decoder) -> None:
    # libcxl reads a decoder's attributes when it enumerates it and prints those
    # values later; only `region` is read when it is printed.
    for attr in (
        "start",
        "size",
        "interleave_ways",
        "interleave_granularity",
        "dpa_resource",
        "dpa_size",
        "mode",
    ):
        getattr(decoder, attr)


def _set_dpa_size(system: CxlSystem, decoder: Decoder, size: int) -> int:
    try:
        system.root.write(decoder.path + "/dpa_size", f"{size:#x}\n")
    except SysfsError as e:
        return -e.errno
    decoder.__dict__["dpa_size"] = size
    return 0


def _set_mode(system: CxlSystem, decoder: Decoder, mode: str) -> int:
    try:
        system.root.write(decoder.path + "/mode", mode)
    except SysfsError as e:
        return -e.errno
    decoder.__dict__["mode"] = mode
    return 0


def reserve_dpa(
    system: CxlSystem,
    memdev: Memdev,
    log: Log,
    params: DpaParams,
    how: str,
    out: list[dict],
    human: bool,
) -> int:
    """Allocate (or free) DPA on the endpoint decoder ndctl picks; JSON into `out`."""
    name = memdev.name
    fn = "__reserve_dpa"
    if params.type is not None:
        mode = _MODES.get(params.type)
        if mode is None:
            log(fn, f"{name}: unsupported type: {params.type}")
            return -errno.EINVAL
    else:
        # The help text says pmem; the code has always defaulted to ram.
        mode = "ram"
    endpoint = system.endpoint_of(memdev)
    if endpoint is None:
        log(fn, f"{name}: CXL operation disabled")
        return -errno.ENXIO
    decoders = endpoint.decoders
    for d in decoders:
        _snapshot(d)
    avail = memdev.ram_size if mode == "ram" else memdev.pmem_size
    for d in decoders:
        if d.dpa_size == ULLONG_MAX or d.mode != mode:
            continue
        if d.dpa_size > avail:
            log(fn, f"{name}: capacity accounting error")
            return -errno.ENXIO
        avail -= d.dpa_size
    if params.size is None:
        if how == DPA_ALLOC:
            size = avail
            if not avail:
                log(fn, f"{name}: no available capacity")
                return -errno.ENOSPC
        else:
            size = 0
    else:
        try:
            size = parse_size(params.size)
        except ValueError:
            log(fn, f"{name}: failed to parse size option '{params.size}'")
            return -errno.EINVAL
        if size > avail:
            log(fn, f"{name}: '{params.size}' exceeds available capacity")
            if not params.force:
                return -errno.ENOSPC
    auto: Decoder | None = None
    if how == DPA_ALLOC:
        auto = next((d for d in decoders if d.dpa_size == 0), None)
    else:
        for d in reversed(decoders):
            if not d.dpa_size:
                continue
            # An active decoder cannot be freed, nor any below it.
            if d.size:
                break
            if d.dpa_size < ULLONG_MAX:
                auto = d
                break
    target: Decoder | None = None
    if params.decoder is not None:
        ordinal = _strtoul_whole(params.decoder)
        word = f"decoder{endpoint.id}.{ordinal}" if ordinal is not None else params.decoder
        filt = Filters(system, _DecoderWord(word))
        order = decoders if how == DPA_ALLOC else list(reversed(decoders))
        target = next((d for d in order if filt.decoder(d)), None)
        if target is None:
            log(fn, f"{name}: no match for decoder: '{params.decoder}'")
            return -errno.ENXIO
        if target is not auto:
            log(fn, f"{name}: {target.name} is out of sequence")
            if not params.force:
                return -errno.EINVAL
    if target is None:
        target = auto
    if target is None:
        log(fn, f"{name}: no suitable decoder found")
        return -errno.ENXIO
    if target.mode != mode:
        rc = _set_dpa_size(system, target, 0)
        if rc:
            log(fn, f"{name}: {target.name}: failed to clear allocation to set mode")
            return rc
        rc = _set_mode(system, target, mode)
        if rc:
            log(fn, f"{name}: {target.name}: failed to set {mode} mode")
            return rc
    rc = _set_dpa_size(system, target, size)
    if rc:
        log(fn, f"{name}: {target.name}: failed to set dpa allocation")
        return rc
    flags = JsonFlags(human=human)
    jdev = memdev_json(memdev, flags)
    jdev["decoder"] = decoder_json(target, flags)
    out.append(jdev)
    return 0
