"""Stores of the claim devices (btt, pfn, dax): namespace, uuid, mode, align, sector_size.

Every store refuses while the device is bound to its driver (EBUSY).

`namespace` takes a namespace of the same region (`namespaceR.K`; other names
are EINVAL, a name not found ENODEV). The device must not hold one already and
the namespace must not be claimed, nor reserved by `holder_class` for another
kind (EBUSY); it needs 16M of capacity (ENXIO). The namespace then names the
device as its `holder` and reads `safe`, `memory` or `dax` as its mode. An
empty name lets go of the namespace: the device goes away unless it is the
region's seed of its kind, which is reset instead (no uuid, no mode).

`uuid` takes a uuid (EINVAL otherwise); `mode` (pfn, dax) `pmem`, `ram` or
`none`, compared over the written length less one byte as the kernel does;
`align` (pfn, dax) one of `supported_alignments`; `sector_size` (btt) one of
its listed sizes. Sector mode is not emulated: a btt device refuses to take a
namespace (EOPNOTSUPP).
"""

from __future__ import annotations

import errno
import re

from cxltool.sim import nd_shapes
from cxltool.sim.kernel import kinput
from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.ktree import KernelTree, shared_tree
from cxltool.sim.kernel.nd_namespace import parse_uuid
from cxltool.sim.kernel.nd_probe import attach, detach_and_reset
from cxltool.sim.kernel.nd_view import NdClaim, NdRegion
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

_CLAIMS = [
    paths.SYS_DEVICES + f"/*/ndbus[0-9]*/region[0-9]*/{kind}[0-9]*.[0-9]*/"
    for kind in ("btt", "pfn", "dax")
]
_DEVICE = re.compile(r"/ndbus\d+/region(\d+)/(btt|pfn|dax)\1\.\d+$")
MIN_CLAIM_CAPACITY = 16 << 20
_PFN_MODES = ("pmem", "ram", "none")


def _claim(kt: KernelTree, path: str) -> NdClaim:
    device = paths.dirname(path)
    m = _DEVICE.search(device)
    if not m:
        raise KernelError(errno.ENXIO)
    return NdClaim(NdRegion(kt, paths.dirname(device)), device, m.group(2))


def _run(txn: Transaction, path: str, store) -> None:
    kt = shared_tree(txn)
    try:
        claim = _claim(kt, path)
        if claim.driver:
            raise KernelError(errno.EBUSY)
        store(kt, claim)
    except KernelError as e:
        raise SysfsError(e.errno, path) from None


def _register(attr: str, kinds: tuple[str, ...] = ("btt", "pfn", "dax")):
    def wrap(fn):
        def handler(txn: Transaction, path: str, value: str) -> None:
            _run(txn, path, lambda kt, claim: fn(kt, claim, value))

        for kind, pattern in zip(("btt", "pfn", "dax"), _CLAIMS, strict=True):
            if kind in kinds:
                register(pattern + attr)(handler)
        return fn

    return wrap


@_register("namespace")
def store_namespace(kt: KernelTree, claim: NdClaim, value: str) -> None:
    name = value.split("\0", 1)[0].strip()
    if not (name.startswith("namespace") or name == ""):
        raise KernelError(errno.EINVAL)
    if name == "":
        detach_and_reset(kt, claim)
        return
    if claim.kind == "btt":
        # Sector mode (a btt's arena layout) is not emulated: a btt takes no namespace.
        raise KernelError(errno.EOPNOTSUPP)
    if claim.namespace_name:
        raise KernelError(errno.EBUSY)
    ns = claim.region.namespace(name)
    if ns is None:
        raise KernelError(errno.ENODEV)
    if ns.holder_class not in ("", claim.kind):
        raise KernelError(errno.EBUSY)
    if ns.size < MIN_CLAIM_CAPACITY:
        raise KernelError(errno.ENXIO)
    if ns.holder:
        raise KernelError(errno.EBUSY)
    attach(kt, claim, ns)


@_register("uuid")
def store_uuid(kt: KernelTree, claim: NdClaim, value: str) -> None:
    uuid = parse_uuid(value)
    if uuid is None:
        raise KernelError(errno.EINVAL)
    kt.write(claim.path + "/uuid", uuid, 0o644)


def _matches(written: str, word: str) -> bool:
    # strncmp over the written length less one: a trailing newline or NUL is not compared.
    n = max(len(written) - 1, 0)
    return (word + "\n")[:n] == written[:n] or word[:n] == written[:n]


@_register("mode", ("pfn", "dax"))
def store_mode(kt: KernelTree, claim: NdClaim, value: str) -> None:
    for mode in _PFN_MODES:
        if _matches(value, mode):
            kt.write(claim.path + "/mode", mode, 0o644)
            return
    raise KernelError(errno.EINVAL)


@_register("align", ("pfn", "dax"))
def store_align(kt: KernelTree, claim: NdClaim, value: str) -> None:
    align = kinput.kstrtoull(value)
    if align not in nd_shapes.PFN_ALIGNMENTS:
        raise KernelError(errno.EINVAL)
    kt.write(claim.path + "/align", align, 0o644)


@_register("sector_size", ("btt",))
def store_sector_size(kt: KernelTree, claim: NdClaim, value: str) -> None:
    size = kinput.kstrtoull(value)
    if size not in nd_shapes.BTT_SECTOR_SIZES:
        raise KernelError(errno.EINVAL)
    text = nd_shapes.list_text(nd_shapes.BTT_SECTOR_SIZES, size)
    kt.write(claim.path + "/sector_size", text, 0o644)
