"""Store functions of a region: uuid, interleave ways and granularity, size, targets, commit.

Configuration runs in a fixed order (kernel-abi.md 2.6.3): granularity and
ways (and uuid for pmem) while the region is idle, then `size` allocates its
host address range, then the targets, then commit. Each store checks like the
kernel's and returns its errno.
"""

from __future__ import annotations

import errno
import uuid as uuidlib

from cxltool.sim.kernel import kstr, region_attach, region_commit
from cxltool.sim.kernel.cxlview import (
    ACTIVE,
    INTERLEAVE_ACTIVE,
    NO_RESOURCE,
    SZ_256M,
    Cxl,
    Region,
)
from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.hdm import Hdm
from cxltool.sim.kernel.hpa import first_fit
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.store import run_store
from cxltool.sim.kernel.txn import Transaction
from cxltool.sim.shapes import kernel_hex
from cxltool.sysfs import paths

NULL_UUID = "00000000-0000-0000-0000-000000000000"
MAX_TARGETS = 16
UUID_STRING_LEN = 36
# Real paths of region attributes: `region<digits>` directly below a root decoder.
# fnmatch's `*` also matches `/`, so the region name is spelled with an exact
# number of digits: a looser pattern would also catch the dax devices below.
_REGION_DIR = paths.SYS_DEVICES + "/platform/*/root[0-9]*/decoder[0-9]*.[0-9]*/region"
_MAX_ID_DIGITS = 6


def region_patterns(attr: str) -> list[str]:
    return [_REGION_DIR + "[0-9]" * n + "/" + attr for n in range(1, _MAX_ID_DIGITS + 1)]


def _region(cxl: Cxl, path: str) -> Region:
    return cxl.region(path.rsplit("/", 1)[0])


def _handler(attr: str):
    """Register a region store function for `attr` under every region id length."""

    def wrap(fn):
        def handler(txn: Transaction, path: str, value: str) -> None:
            run_store(txn, path, lambda cxl: fn(cxl, _region(cxl, path), value, path))

        for pattern in region_patterns(attr):
            register(pattern)(handler)
        return fn

    return wrap


@_handler("uuid")
def store_uuid(cxl: Cxl, region: Region, value: str, _path: str) -> None:
    # The buffer must hold exactly a UUID and one terminator (newline or NUL).
    if len(value.encode()) != UUID_STRING_LEN + 1:
        raise KernelError(errno.EINVAL)
    text = value[:UUID_STRING_LEN]
    if len(text) != UUID_STRING_LEN or text.count("-") != 4:
        raise KernelError(errno.EINVAL)
    try:
        parsed = uuidlib.UUID(text)
    except ValueError:
        raise KernelError(errno.EINVAL) from None
    if str(parsed) != text.lower() or parsed.int == 0:
        raise KernelError(errno.EINVAL)
    new = str(parsed)
    if region.uuid == new:
        return
    if region.state >= ACTIVE:
        raise KernelError(errno.EBUSY)
    for other in cxl.regions():
        if other != region and other.uuid == new:
            raise KernelError(errno.EBUSY)
    region.set("uuid", new)


@_handler("interleave_ways")
def store_ways(cxl: Cxl, region: Region, value: str, _path: str) -> None:
    ways = kstr.kstrtouint(value)
    kstr.ways_to_eiw(ways)
    root_ways = region.root_decoder.ways
    if not kstr.is_power_of_2(ways // root_ways) or ways % root_ways:
        raise KernelError(errno.EINVAL)
    if region.state >= INTERLEAVE_ACTIVE:
        raise KernelError(errno.EBUSY)
    region.set("interleave_ways", ways)
    # target<N> files exist for N below the ways only.
    for n in range(MAX_TARGETS):
        path = f"{region.path}/target{n}"
        if n < ways and not cxl.kt.exists(path):
            cxl.kt.write(path, "", 0o644)
        elif n >= ways and cxl.kt.exists(path):
            cxl.kt.remove(path)


@_handler("interleave_granularity")
def store_granularity(cxl: Cxl, region: Region, value: str, _path: str) -> None:
    granularity = kstr.kstrtoint(value)
    kstr.granularity_to_eig(granularity)
    root = region.root_decoder
    if root.ways > 1 and granularity != root.granularity:
        raise KernelError(errno.EINVAL)
    if region.state >= INTERLEAVE_ACTIVE:
        raise KernelError(errno.EBUSY)
    region.set("interleave_granularity", granularity)


@_handler("size")
def store_size(cxl: Cxl, region: Region, value: str, _path: str) -> None:
    size = kstr.kstrtoull(value)
    if size:
        _alloc_hpa(cxl, region, size)
    else:
        _free_hpa(region)


def _alloc_hpa(cxl: Cxl, region: Region, size: int) -> None:
    if region.has_hpa and region.size == size:
        return
    if region.has_hpa:
        raise KernelError(errno.EBUSY)
    if region.state >= INTERLEAVE_ACTIVE:
        raise KernelError(errno.EBUSY)
    ways = region.ways
    if (
        not ways
        or not region.granularity
        or (region.mode == "pmem" and region.uuid in ("", NULL_UUID))
    ):
        raise KernelError(errno.ENXIO)
    if size % (SZ_256M * ways):
        raise KernelError(errno.EINVAL)
    start = first_fit(cxl, region.root_decoder, region, size)
    region.set("resource", kernel_hex(start))
    region.set("size", kernel_hex(size))


def _free_hpa(region: Region) -> None:
    if not region.has_hpa:
        return
    if region.state >= ACTIVE:
        raise KernelError(errno.EBUSY)
    region.set("resource", kernel_hex(NO_RESOURCE))
    region.set("size", kernel_hex(0))


@_handler("commit")
def store_commit(cxl: Cxl, region: Region, value: str, _path: str) -> None:
    region_commit.set_commit(cxl, region, kstr.kstrtobool(value))


def _store_target(cxl: Cxl, region: Region, value: str, path: str) -> None:
    pos = int(path.rsplit("target", 1)[1])
    if kstr.sysfs_streq(value, "\n"):
        if pos >= region.ways:
            raise KernelError(errno.ENXIO)
        region_attach.detach(cxl, Hdm(cxl), region, pos)
        return
    name = kstr.cstring(value).removesuffix("\n")
    device = cxl.bus_device(name)
    if device is None:
        raise KernelError(errno.ENODEV)
    dec = cxl.decoder(device) if name.startswith("decoder") else None
    if dec is None or not dec.is_endpoint:
        raise KernelError(errno.EINVAL)
    region_attach.attach(cxl, Hdm(cxl), region, dec, pos)


for _n in range(MAX_TARGETS):
    _handler(f"target{_n}")(_store_target)
