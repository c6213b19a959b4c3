"""Regions coming and going: a root decoder's `create_*_region` and `delete_region`,
and binding a region to (or unbinding it from) the `cxl_region` driver.

`create_ram_region`/`create_pmem_region` read as the root decoder's reserved
region id; writing that same name creates the region and reserves the next
free id (another name: EBUSY; not `region<N>`: EINVAL). Deleting a region (a
child of that decoder, else ENODEV) unbinds it, detaches every position (which
resets a committed region's decoders) and removes it; its id goes back to the
decoder if lower than the one the decoder holds, else back to the pool.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel import kstr, region_attach, region_driver
from cxltool.sim.kernel.cxlview import NO_RESOURCE, Cxl, Decoder, Region
from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.hdm import Hdm
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.memregion import MemregionPool
from cxltool.sim.kernel.region_config import NULL_UUID
from cxltool.sim.kernel.store import run_store
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import paths

_ROOT_DECODER = paths.SYS_DEVICES + "/platform/*/root[0-9]*/decoder[0-9]*.[0-9]*/"
_CREATE_FILES = {"create_ram_region": "ram", "create_pmem_region": "pmem"}
_REGION_DRIVER = paths.CXL_DRIVERS + "/cxl_region"


def _root_decoder(cxl: Cxl, path: str) -> Decoder:
    dec = cxl.decoder(path.rsplit("/", 1)[0])
    if dec.devtype != "cxl_decoder_root":
        raise KernelError(errno.ENXIO)
    return dec


def cached_id(root: Decoder) -> int | None:
    """The region id a root decoder holds in reserve (what create_* reads)."""
    for name in _CREATE_FILES:
        text = root.attr(name)
        if text and text.startswith("region") and text[6:].isdigit():
            return int(text[6:])
    return None


def _set_cached_id(root: Decoder, n: int) -> None:
    for name in _CREATE_FILES:
        if root.kt.exists(f"{root.path}/{name}"):
            root.set(name, f"region{n}")


def create_region(cxl: Cxl, root: Decoder, mode: str, value: str) -> Region:
    wanted = kstr.scan_prefixed_int(value, "region")
    if wanted is None:
        raise KernelError(errno.EINVAL)
    pool = MemregionPool(cxl.kt)
    fresh = pool.alloc()
    if cached_id(root) != wanted:
        raise KernelError(errno.EBUSY)
    _set_cached_id(root, fresh)
    region = cxl.region(f"{root.path}/region{wanted}")
    cxl.kt.shapes.cxl_region(
        region.path,
        mode=mode,
        ways=0,
        granularity=0,
        size=0,
        resource=NO_RESOURCE,
        uuid=NULL_UUID if mode == "pmem" else "",
        targets=[],
        commit=False,
        driver=None,
    )
    cxl.forget_region(region.name)
    cxl.set_region_facts(region.name, user=True)
    return region


def delete_region(cxl: Cxl, root: Decoder, value: str) -> None:
    name = kstr.cstring(value).removesuffix("\n")
    if not name.startswith("region") or not name[6:].isdigit():
        raise KernelError(errno.ENODEV)
    path = f"{root.path}/{name}"
    if not cxl.kt.isdir(path):
        raise KernelError(errno.ENODEV)
    region = cxl.region(path)
    hdm = Hdm(cxl)
    region_driver.release(cxl, region)
    for pos in range(region.ways):
        region_attach.detach(cxl, hdm, region, pos)
    cxl.kt.remove(f"{paths.CXL_DEVICES}/{name}")
    cxl.kt.rmtree(path)
    cxl.forget_region(name)
    pool = MemregionPool(cxl.kt)
    held = cached_id(root)
    if held is not None and region.id < held:
        # The decoder takes the lower id back for its next region.
        _set_cached_id(root, region.id)
        pool.free(held)
    else:
        pool.free(region.id)


def _create_handler(attr: str, mode: str):
    def handler(txn: Transaction, path: str, value: str) -> None:
        def store(cxl: Cxl) -> None:
            create_region(cxl, _root_decoder(cxl, path), mode, value)

        run_store(txn, path, store)

    register(_ROOT_DECODER + attr)(handler)


for _attr, _mode in _CREATE_FILES.items():
    _create_handler(_attr, _mode)


@register(_ROOT_DECODER + "delete_region")
def store_delete_region(txn: Transaction, path: str, value: str) -> None:
    run_store(txn, path, lambda cxl: delete_region(cxl, _root_decoder(cxl, path), value))


def _named_region(cxl: Cxl, value: str) -> Region | None:
    name = kstr.cstring(value).removesuffix("\n")
    device = cxl.bus_device(name)
    if device is None or cxl.kt.read(device + "/devtype") != "cxl_region":
        return None
    return cxl.region(device)


@register(_REGION_DRIVER + "/bind")
def store_bind(txn: Transaction, path: str, value: str) -> None:
    def store(cxl: Cxl) -> None:
        region = _named_region(cxl, value)
        if region is None:
            raise KernelError(errno.ENODEV)
        if region.bound:
            raise KernelError(errno.EBUSY)
        region_driver.probe(cxl, region)

    run_store(txn, path, store)


@register(_REGION_DRIVER + "/unbind")
def store_unbind(txn: Transaction, path: str, value: str) -> None:
    def store(cxl: Cxl) -> None:
        region = _named_region(cxl, value)
        if region is None:
            raise KernelError(errno.ENODEV)
        driver = cxl.kt.readlink_abs(region.path + "/driver")
        if driver != _REGION_DRIVER:
            raise KernelError(errno.ENODEV)
        region_driver.release(cxl, region)

    run_store(txn, path, store)
