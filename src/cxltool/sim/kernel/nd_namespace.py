"""Stores of a pmem namespace: size, uuid, alt_name, sector_size, holder_class, force_raw.

Configuring needs an idle namespace: one bound to a driver or claimed by a
btt, pfn or dax device refuses (EBUSY). `size` needs a uuid first (ENXIO),
must be a multiple of the region's `align` (EINVAL) and fit what the region
has free (ENOSPC); the namespace holds one contiguous range of the region,
first fit when it is new, growing in place (ENXIO when the space after it is
taken) or shrinking from its end. Size 0 gives the range back and forgets the
uuid; a namespace emptied this way goes away unless it is the region's seed or
its first (`.0`). A namespace with a uuid and capacity has a label in every
DIMM of the region (one label slot each).

`uuid` takes 32 hex digits with optional dashes and must be unique on the bus
(EINVAL); `sector_size` one of the listed sizes and `holder_class` one of
`btt`, `pfn`, `dax` or nothing (EINVAL otherwise); `alt_name` at most 63
characters; `force_raw` a boolean.
"""

from __future__ import annotations

import errno
import re

from cxltool.sim import nd_shapes
from cxltool.sim.kernel import kinput, nd_devices
from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.ktree import KernelTree, shared_tree
from cxltool.sim.kernel.nd_seeds import refresh_capacity
from cxltool.sim.kernel.nd_view import Extent, NdNamespace, NdRegion
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

_NAMESPACE = paths.SYS_DEVICES + "/*/ndbus[0-9]*/region[0-9]*/namespace[0-9]*.[0-9]*/"
_DEVICE = re.compile(r"/ndbus\d+/region(\d+)/namespace\1\.\d+$")
NSLABEL_NAME_LEN = 64
HOLDER_CLASSES = ("btt", "pfn", "dax", "")


def parse_uuid(value: str) -> str | None:
    """nd_uuid_parse: 16 hex pairs, a dash (or the end) allowed after each; canonical text."""
    text = value.split("\0", 1)[0]
    digits = []
    i = 0
    for _ in range(16):
        pair = text[i : i + 2]
        if len(pair) < 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
            return None
        digits.append(pair.lower())
        i += 2
        if text[i : i + 1] in ("-", "\n"):
            i += 1
    h = "".join(digits)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _namespace(kt: KernelTree, path: str) -> NdNamespace:
    device = paths.dirname(path)
    if not _DEVICE.search(device):
        raise KernelError(errno.ENXIO)
    return NdNamespace(NdRegion(kt, paths.dirname(device)), device)


def _idle(ns: NdNamespace) -> None:
    if ns.driver or ns.holder:
        raise KernelError(errno.EBUSY)


def _labeled(ns: NdNamespace) -> bool:
    return bool(ns.uuid) and ns.size > 0


def _relabel(kt: KernelTree, ns: NdNamespace, was_labeled: bool) -> None:
    """Take or give back one label slot in each DIMM as the namespace gains or loses labels."""
    now = _labeled(ns)
    if now == was_labeled:
        return
    ndbus = paths.dirname(ns.region.path)
    for m in ns.region.mappings():
        slots = f"{ndbus}/{m.nmem}/available_slots"
        value = int(kt.read(slots) or "0") + (-1 if now else 1)
        kt.write(slots, max(value, 0), 0o444)


def _run(txn: Transaction, path: str, store) -> None:
    kt = shared_tree(txn)
    try:
        ns = _namespace(kt, path)
        was = _labeled(ns)
        store(kt, ns)
        _relabel(kt, ns, was)
    except KernelError as e:
        raise SysfsError(e.errno, path) from None


# -- size --------------------------------------------------------------------------------
def _place(region: NdRegion, ns: NdNamespace, size: int) -> Extent:
    """Where the namespace's range goes: in place when it has one, else first fit."""
    free = region.free_extents(skip=ns.name)
    current = ns.extent
    if current is not None:
        for gap in free:
            if gap.offset <= current.offset and current.offset + size <= gap.end:
                return Extent(current.offset, size)
        raise KernelError(errno.ENXIO)
    for gap in free:
        if gap.size >= size:
            return Extent(gap.offset, size)
    raise KernelError(errno.ENXIO)


def _set_extent(kt: KernelTree, ns: NdNamespace, extent: Extent | None) -> None:
    region = ns.region
    if extent is None or extent.size == 0:
        kt.write(ns.path + "/size", 0, 0o644)
        nd_devices.set_unreadable(kt, ns.path + "/resource", 0o400, errno.ENXIO)
        kt.write(ns.path + "/dpa_extents", 0, 0o444)
    else:
        kt.write(ns.path + "/size", extent.size, 0o644)
        nd_devices.set_readable(kt, ns.path + "/resource", f"{region.start + extent.offset:#x}")
        kt.write(ns.path + "/dpa_extents", region.ways, 0o444)
    refresh_capacity(kt, region)


def store_size_value(kt: KernelTree, ns: NdNamespace, value: str) -> None:
    size = kinput.kstrtoull(value)
    if size is None:
        raise KernelError(errno.EINVAL)
    if size >= kinput.ULLONG_LIMIT:
        raise KernelError(errno.ERANGE)
    _idle(ns)
    region = ns.region
    if not ns.uuid or not region.mappings():
        raise KernelError(errno.ENXIO)
    if region.align and size % region.align:
        raise KernelError(errno.EINVAL)
    allocated = ns.extent.size if ns.extent else 0
    if size > region.available() + allocated:
        raise KernelError(errno.ENOSPC)
    if size != allocated:
        _set_extent(kt, ns, _place(region, ns, size) if size else None)
    if size == 0:
        # Setting size zero deletes the namespace: its uuid goes too.
        kt.write(ns.path + "/uuid", "", 0o644)
        if ns.id != 0 and region.seed("namespace") != ns.name:
            nd_devices.unregister(kt, ns.path)


@register(_NAMESPACE + "size")
def store_size(txn: Transaction, path: str, value: str) -> None:
    _run(txn, path, lambda kt, ns: store_size_value(kt, ns, value))


# -- identity ---------------------------------------------------------------------------------
def _uuid_in_use(kt: KernelTree, ns: NdNamespace, uuid: str) -> bool:
    ndbus = paths.dirname(ns.region.path)
    for name in kt.listdir(ndbus):
        if not name.startswith("region"):
            continue
        region = NdRegion(kt, f"{ndbus}/{name}")
        holders = [n for n in region.namespaces() if n.path != ns.path]
        holders += region.claims("btt") + region.claims("pfn")
        if any(h.uuid == uuid for h in holders):
            return True
    return False


@register(_NAMESPACE + "uuid")
def store_uuid(txn: Transaction, path: str, value: str) -> None:
    def store(kt: KernelTree, ns: NdNamespace) -> None:
        _idle(ns)
        uuid = parse_uuid(value)
        if uuid is None or _uuid_in_use(kt, ns, uuid):
            raise KernelError(errno.EINVAL)
        kt.write(ns.path + "/uuid", uuid, 0o644)

    _run(txn, path, store)


@register(_NAMESPACE + "alt_name")
def store_alt_name(txn: Transaction, path: str, value: str) -> None:
    def store(kt: KernelTree, ns: NdNamespace) -> None:
        _idle(ns)
        name = value.split("\0", 1)[0].strip()
        if len(name.encode()) + 1 > NSLABEL_NAME_LEN:
            raise KernelError(errno.EINVAL)
        kt.write(ns.path + "/alt_name", name, 0o644)

    _run(txn, path, store)


@register(_NAMESPACE + "sector_size")
def store_sector_size(txn: Transaction, path: str, value: str) -> None:
    def store(kt: KernelTree, ns: NdNamespace) -> None:
        _idle(ns)
        size = kinput.kstrtoull(value)
        if size not in nd_shapes.PMEM_SECTOR_SIZES:
            raise KernelError(errno.EINVAL)
        text = nd_shapes.list_text(nd_shapes.PMEM_SECTOR_SIZES, size)
        kt.write(ns.path + "/sector_size", text, 0o644)

    _run(txn, path, store)


@register(_NAMESPACE + "holder_class")
def store_holder_class(txn: Transaction, path: str, value: str) -> None:
    def store(kt: KernelTree, ns: NdNamespace) -> None:
        _idle(ns)
        cls = kinput.written(value)
        if cls not in HOLDER_CLASSES:
            raise KernelError(errno.EINVAL)
        kt.write(ns.path + "/holder_class", cls, 0o644)

    _run(txn, path, store)


@register(_NAMESPACE + "force_raw")
def store_force_raw(txn: Transaction, path: str, value: str) -> None:
    def store(kt: KernelTree, ns: NdNamespace) -> None:
        flag = kinput.kstrtobool(value)
        if flag is None:
            raise KernelError(errno.EINVAL)
        kt.write(ns.path + "/force_raw", int(flag), 0o644)

    _run(txn, path, store)
