"""`cxl enable-region`, `disable-region` and `destroy-region`: ndctl v85's walk, checks,
sysfs writes and messages.

Every region of every root decoder (filtered by -b and -d) that any argument
names is acted on; failures are logged per region and the last one decides the
exit status. Disabling first offlines the region's system-ram memory (with -f
it goes on, leaking the address range, if that fails) and then unbinds the
region. Destroying refuses locked regions, regions whose memdevs hold later
DPA allocations, and enabled regions without -f; then it resets the decode,
clears each target and frees its DPA, and deletes the region.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from cxltool.objects.cparse import UINT_MAX
from cxltool.objects.cxl import CxlSystem, Decoder, Region
from cxltool.ops import region_memory
from cxltool.ops.attr_write import write_attr
from cxltool.ops.cxl_filter import Filters
from cxltool.ops.memdev_action import Log
from cxltool.sysfs import Root, paths

REGION_LOG = "cxl region"


def strerror(rc: int) -> str:
    return os.strerror(abs(rc))


@dataclass
class _Filter:
    """The filter words of one walk (the fields cxl_filter.Filters reads)."""

    bus_filter: str | None = None
    decoder_filter: str | None = None
    region_filter: str | None = None
    memdev_filter: str | None = None
    serial_filter: str | None = None
    port_filter: str | None = None
    endpoint_filter: str | None = None
    single: bool = False


def root_decoders(system: CxlSystem, bus: str | None, decoder: str | None) -> list[Decoder]:
    """Root decoders of the buses `-b` allows that `-d` names, in libcxl's order."""
    f = Filters(system, _Filter(bus_filter=bus, decoder_filter=decoder))
    out = []
    for b in system.buses:
        if not f.bus(b):
            continue
        out.extend(d for d in b.decoders if f.decoder(d))
    return out


def region_matches(system: CxlSystem, region: Region, word: str) -> bool:
    return Filters(system, _Filter(region_filter=word)).region(region)


# -- libcxl's region calls -----------------------------------------------------------------
def is_enabled(root: Root, region: Region) -> bool:
    return root.islink(region.path + "/driver")


def region_enable(root: Root, region: Region, log: Log) -> int:
    """cxl_region_enable(): bind through whichever cxl driver takes it."""
    if is_enabled(root, region):
        return 0
    try:
        drivers = root.listdir(paths.CXL_DRIVERS)
    except Exception:  # noqa: BLE001 - a missing bus directory fails the enable
        log.lib("__util_bind", f'{region.name}: opendir("{paths.CXL_DRIVERS}") failed')
        return -errno.ENXIO
    # On a real machine a ram region's dax region, dax device and memory come
    # after the bind returns (their drivers may be modules udev loads).
    with root.probe(region.path) as watch:
        for driver in drivers:
            if driver.startswith("."):
                continue
            if write_attr(root, f"{paths.CXL_DRIVERS}/{driver}/bind", region.name) == 0:
                break
        if is_enabled(root, region):
            watch.wait()
    if not is_enabled(root, region):
        log.lib("cxl_region_enable", f"{region.name}: failed to enable")
        return -errno.ENXIO
    return 0


def region_disable(root: Root, region: Region, log: Log) -> int:
    """cxl_region_disable(): unbind from the driver, then check it let go."""
    write_attr(root, region.path + "/driver/unbind", region.name)
    if is_enabled(root, region):
        log.lib("cxl_region_disable", f"{region.name}: failed to disable")
        return -errno.EBUSY
    return 0


def region_delete(root: Root, region: Region, log: Log) -> int:
    """cxl_region_delete(): name the region in its root decoder's delete_region."""
    if is_enabled(root, region):
        return -errno.EBUSY
    rc = write_attr(root, region.decoder.path + "/delete_region", region.name)
    if rc:
        log.lib("cxl_region_delete_name", f"error deleting region: {strerror(rc)}")
    return rc


def target_decoder(system: CxlSystem, region: Region, pos: int, log: Log) -> Decoder | None:
    """cxl_region_get_target_decoder(): the endpoint decoder in position `pos`."""
    path = f"{region.path}/target{pos}"
    try:
        name = system.root.read(path)
    except Exception as e:  # noqa: BLE001 - SysfsError
        err = getattr(e, "errno", errno.EIO)
        log.lib(
            "cxl_region_get_target_decoder",
            f"{region.name}: error reading target{pos}: {strerror(err)}",
        )
        return None
    decoder = system.decoder_named(name)
    if decoder is None:
        log.lib(
            "cxl_region_get_target_decoder",
            f"{region.name}: error locating decoder for target{pos}",
        )
    return decoder


# -- the actions ---------------------------------------------------------------------------
def disable_region(system: CxlSystem, region: Region, log: Log, force: bool) -> int:
    root = system.root
    devices = region_memory.region_dax_devices(root, region.path, region.id)
    failed = 0
    for dev in devices or []:
        if not dev.system_ram:
            continue
        if region_memory.online_blocks(dev, log):
            rc = region_memory.offline(dev, log)
            if rc < 0:
                log(
                    "disable_region",
                    f"{region.name}: unable to offline {dev.name}: {strerror(rc)}",
                )
                if not force:
                    return rc
                failed += 1
    if failed:
        name = region.name
        log("disable_region", f"{name}: Forcing region disable without successful offline.")
        log("disable_region", f"{name}: Physical address space has now been permanently leaked.")
        log("disable_region", f"{name}: Leaked address cannot be recovered until a reboot.")
    return region_disable(root, region, log)


def _validate_order(system: CxlSystem, region: Region, log: Log) -> int:
    """v85: a memdev with DPA in a later decoder blocks the destroy (it could not be freed)."""
    ways = region.interleave_ways
    if ways in (0, UINT_MAX):
        log("region_destroy_validate_order", f"{region.name}: error getting interleave ways")
        return -errno.ENXIO
    for pos in range(ways):
        ep = target_decoder(system, region, pos, log)
        if ep is None:
            return -errno.ENXIO
        memdev = ep.memdev
        if memdev is None:
            return -errno.ENXIO
        for dec in ep.port.decoders:
            if dec is ep or dec.memdev is not memdev or dec.id <= ep.id or not dec.dpa_size:
                continue
            log(
                "region_destroy_validate_order",
                f"{region.name}: destroy blocked, {memdev.name} still has later "
                f"active decoder {dec.name}",
            )
            return -errno.EBUSY
    return 0


def destroy_region(system: CxlSystem, region: Region, log: Log, force: bool) -> int:
    root = system.root
    name = region.name
    if region.locked:
        log("destroy_region", f"{name}: cannot destroy a locked region")
        return -errno.EPERM
    rc = _validate_order(system, region, log)
    if rc:
        return rc
    if is_enabled(root, region):
        if not force:
            log("destroy_region", f"{name} active. Disable it or use --force")
            return -errno.EBUSY
        rc = disable_region(system, region, log, force)
        if rc:
            log("destroy_region", f"{name}: error disabling region: {strerror(rc)}")
            return rc
    rc = write_attr(root, region.path + "/commit", "0\n")
    if rc:
        log("destroy_region", f"{name}: failed to reset decode: {strerror(rc)}")
        return rc
    ways = region.interleave_ways
    if ways in (0, UINT_MAX):
        log("destroy_region", f"{name}: error getting interleave ways")
        return -errno.ENXIO
    for pos in range(ways):
        ep = target_decoder(system, region, pos, log)
        if ep is None:
            return -errno.ENXIO
        rc = _clear_target(root, region, pos, log)
        if rc:
            log("destroy_region", f"{name}: clearing target{pos} failed: {strerror(rc)}")
            return rc
        rc = write_attr(root, ep.path + "/dpa_size", "0\n")
        if rc:
            log("destroy_region", f"{ep.name}: set_dpa_size failed: {strerror(rc)}")
            return rc
    return region_delete(root, region, log)


def _clear_target(root: Root, region: Region, pos: int, log: Log) -> int:
    if is_enabled(root, region):
        log.lib(
            "cxl_region_clear_target", f"{region.name}: can't clear targets on an active region"
        )
        return -errno.EBUSY
    rc = write_attr(root, f"{region.path}/target{pos}", "")
    if rc:
        log.lib(
            "cxl_region_clear_target",
            f"{region.name}: error clearing target{pos}: {strerror(rc)}",
        )
    return rc


ACTIONS = {
    "enable": lambda system, region, log, force: region_enable(system.root, region, log),
    "disable": disable_region,
    "destroy": destroy_region,
}


def region_action(
    system: CxlSystem,
    action: str,
    words: list[str],
    bus: str | None,
    decoder: str | None,
    force: bool,
    log: Log,
) -> tuple[int, int]:
    """Act on every region a word names; (regions done, last error or 0)."""
    do = ACTIONS[action]
    count = 0
    err_rc = 0
    for root_decoder in root_decoders(system, bus, decoder):
        for region in list(root_decoder.regions):
            if not any(region_matches(system, region, w) for w in words):
                continue
            rc = do(system, region, log, force)
            if rc == 0:
                count += 1
            else:
                log("decoder_region_action", f"{region.name}: failed: {strerror(rc)}")
                err_rc = rc
    if err_rc:
        log("region_action", f"one or more failures, last failure: {strerror(err_rc)}")
    return count, err_rc
