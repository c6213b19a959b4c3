"""The nd bus's drivers: `bind` and `unbind` of nd_pmem, dax_pmem and nd_region.

The written name (one newline tolerated) must be a device on the nd bus that
the driver takes: nd_pmem namespaces and pfn and btt devices, dax_pmem dax
devices, nd_region regions (ENODEV otherwise). Binding a bound device is
EBUSY; a failing probe returns its errno (nd_probe.py). `unbind` of a device
not bound to this driver is ENODEV. Binding and unbinding DIMMs (`nvdimm`) is
not emulated.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel import kinput, nd_probe, nd_region
from cxltool.sim.kernel.dispatch import NotEmulated, register
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.ktree import KernelTree, shared_tree
from cxltool.sim.kernel.nd_view import NdRegion
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

_DRIVERS = paths.ND_BUS + "/drivers/*/"
# Which driver takes which kind of device (by name prefix).
_TAKES = {
    "nd_pmem": ("namespace", "pfn", "btt"),
    "dax_pmem": ("dax",),
    "nd_region": ("region",),
}


def _device(kt: KernelTree, name: str) -> str | None:
    if not name or "/" in name:
        return None
    return (
        kt.realpath(f"{paths.ND_DEVICES}/{name}")
        if kt.exists(f"{paths.ND_DEVICES}/{name}")
        else None
    )


def _driver(path: str) -> str:
    driver = paths.basename(paths.dirname(path))
    if driver not in _TAKES:
        raise NotEmulated(path)
    return driver


def _probe(kt: KernelTree, driver: str, device: str) -> int:
    if driver == "nd_region":
        nd_region.probe(kt, NdRegion(kt, device))
        return 0
    region = NdRegion(kt, paths.dirname(device))
    name = paths.basename(device)
    if driver == "dax_pmem":
        claim = region.claim(name)
        return nd_probe.probe_dax_pmem(kt, region, claim) if claim else errno.ENODEV
    return nd_probe.probe_nd_pmem(kt, region, name)


def _release(kt: KernelTree, driver: str, device: str) -> None:
    if driver == "nd_region":
        nd_region.remove(kt, NdRegion(kt, device))
        return
    region = NdRegion(kt, paths.dirname(device))
    name = paths.basename(device)
    claim = region.claim(name)
    if claim is not None:
        nd_probe.release_claim(kt, claim)
        return
    ns = region.namespace(name)
    if ns is not None:
        nd_probe.release_namespace(kt, ns)


@register(_DRIVERS + "bind")
def store_bind(txn: Transaction, path: str, value: str) -> None:
    driver = _driver(path)
    kt = shared_tree(txn)
    name = kinput.written(value)
    device = _device(kt, name)
    if device is None or not name.startswith(_TAKES[driver]):
        raise SysfsError(errno.ENODEV, path)
    if kt.readlink_abs(device + "/driver") is not None:
        raise SysfsError(errno.EBUSY, path)
    try:
        err = _probe(kt, driver, device)
    except KernelError as e:
        if e.keep:
            txn.commit()
        raise SysfsError(e.errno, path) from None
    if err:
        raise SysfsError(err, path)


@register(_DRIVERS + "unbind")
def store_unbind(txn: Transaction, path: str, value: str) -> None:
    driver = _driver(path)
    kt = shared_tree(txn)
    device = _device(kt, kinput.written(value))
    if device is None or kt.link_name(device + "/driver") != driver:
        raise SysfsError(errno.ENODEV, path)
    _release(kt, driver, device)
