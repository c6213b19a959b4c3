"""The probes and removes of libnvdimm's namespace drivers: nd_pmem and dax_pmem.

`nd_pmem` takes a namespace or a pfn device. A namespace that no claim device
holds is first checked for an info block (unless `force_raw`): a devdax or
fsdax block whose kind the namespace's `holder_class` allows brings back that
personality (a new dax or pfn device, holding the namespace, which its own
driver binds); the namespace itself then does not bind (ENXIO). Otherwise the
namespace binds and gets a disk, `pmemR` (`pmemR.K` for K > 0). A pfn device
binds with a disk over its data area.

`dax_pmem` takes a dax device: it lays out (or finds) the info block, creates
the static dax region in the device (`dax_region/`) and its one dax device,
named after the namespace (`daxR.K`), which `device_dax` binds.

Common checks (nvdimm_namespace_common_probe): a claim device needs a
namespace (ENODEV) that is not bound itself (EBUSY); a namespace must not be
claimed (ENXIO), must have a uuid and capacity (ENODEV). A probe that succeeds
advances the region's seeds. Btt devices are not emulated (EOPNOTSUPP).
"""

from __future__ import annotations

import errno

from cxltool.sim import nd_shapes
from cxltool.sim.kernel import kmem, nd_devices, nd_media
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.ktree import KernelTree
from cxltool.sim.kernel.nd_layout import COMPAT_ALIGN, PAGE_SIZE, PfnLayout, pfn_layout
from cxltool.sim.kernel.nd_seeds import advance_seeds
from cxltool.sim.kernel.nd_view import NdClaim, NdNamespace, NdRegion, child_ids, lowest_free
from cxltool.sysfs import paths

DEFAULT_DAX_MAJOR = 252
PERSONALITIES = ("dax", "pfn")  # the kinds of info block a namespace can bring back


# -- checks shared by every probe --------------------------------------------------------
def _namespace_ready(ns: NdNamespace) -> int:
    if ns.size < PAGE_SIZE or not ns.uuid:
        return errno.ENODEV
    extent = ns.extent
    if extent is None:
        return errno.ENODEV
    return 0


def _claim_ready(claim: NdClaim) -> tuple[int, NdNamespace | None]:
    ns = claim.namespace()
    if ns is None:
        return errno.ENODEV, None
    if ns.driver:
        return errno.EBUSY, ns
    start = ns.resource or 0
    if (start | ns.size) % COMPAT_ALIGN:
        return errno.EOPNOTSUPP, ns
    return _namespace_ready(ns), ns


# -- nd_pmem -----------------------------------------------------------------------------
def probe_nd_pmem(kt: KernelTree, region: NdRegion, name: str) -> int:
    """Bind a namespace or pfn device to nd_pmem: 0 or the probe's errno.

    Raises KernelError(ENXIO, keep=True) when an info block gave the namespace
    back its personality: the new claim device stays, the namespace is not bound.
    """
    claim = region.claim(name)
    if claim is not None:
        if claim.kind == "btt":
            # A btt's arena layout is not emulated; past the common checks it fails.
            return _claim_ready(claim)[0] or errno.EOPNOTSUPP
        return _probe_pfn(kt, region, claim)
    ns = region.namespace(name)
    if ns is None:
        return errno.ENODEV
    if ns.holder:
        return errno.ENXIO
    err = _namespace_ready(ns)
    if err:
        return err
    if not ns.force_raw and _restore_personality(kt, region, ns):
        raise KernelError(errno.ENXIO, keep=True)
    nd_devices.bind(kt, ns.path, "nd", "nd_pmem")
    _add_disk(kt, ns.path, _disk_name(region, ns), ns.size)
    advance_seeds(kt, region, ns.name)
    return 0


def _restore_personality(kt: KernelTree, region: NdRegion, ns: NdNamespace) -> bool:
    """An info block on the namespace brings its dax or pfn device back (True if it did)."""
    assert ns.extent is not None
    block = nd_media.info_block(kt.txn, region.name, ns.extent.offset)
    if block is None:
        return False
    kind = block.get("kind", "")
    if kind not in PERSONALITIES or ns.holder_class not in ("", kind):
        return False
    n = lowest_free(child_ids(kt, region.path, kind, region.id))
    path = f"{region.path}/{kind}{region.id}.{n}"
    nodes = {"numa_node": region.numa_node, "target_node": region.target_node}
    nd_shapes.claim_device(kt.shapes, kind, path, **nodes)
    claim = NdClaim(region, path, kind)
    kt.write(path + "/uuid", block["uuid"], 0o644)
    kt.write(path + "/mode", block["mode"], 0o644)
    kt.write(path + "/align", block["align"], 0o644)
    attach(kt, claim, ns)
    if kind == "dax" and _driver_loaded(kt, "dax_pmem"):
        probe_dax_pmem(kt, region, claim)
    elif kind == "pfn" and _driver_loaded(kt, "nd_pmem"):
        _probe_pfn(kt, region, claim)
    return True


def _driver_loaded(kt: KernelTree, name: str) -> bool:
    return kt.isdir(f"{nd_shapes.ND_DRIVERS}/{name}")


def _probe_pfn(kt: KernelTree, region: NdRegion, claim: NdClaim) -> int:
    err, ns = _claim_ready(claim)
    if err or ns is None:
        return err
    layout = _layout(kt, region, claim, ns, "pfn")
    if isinstance(layout, int):
        return layout
    start = (ns.resource or 0) + layout.dataoff
    nd_devices.set_readable(kt, claim.path + "/resource", f"{start:#x}")
    nd_devices.set_readable(kt, claim.path + "/size", layout.size)
    nd_devices.bind(kt, claim.path, "nd", "nd_pmem")
    _add_disk(kt, claim.path, _disk_name(region, ns), layout.size)
    advance_seeds(kt, region, claim.name, ns.name)
    return 0


def _disk_name(region: NdRegion, ns: NdNamespace) -> str:
    return f"pmem{region.id}.{ns.id}" if ns.id else f"pmem{region.id}"


def _free_block_minor(kt: KernelTree) -> int:
    used = []
    for name in kt.listdir(paths.SYS_DEV_BLOCK):
        major, _, minor = name.partition(":")
        if major == str(nd_shapes.BLOCK_EXT_MAJOR) and minor.isdigit():
            used.append(int(minor))
    return lowest_free(used)


def _add_disk(kt: KernelTree, parent: str, name: str, size: int) -> None:
    devnum = (nd_shapes.BLOCK_EXT_MAJOR, _free_block_minor(kt))
    # Every disk the kernel allocates takes the next number of one counter
    # that starts at boot; the emulated system is taken to boot with no disks.
    state = kt.txn.kernel_state()
    state["diskseq"] = state.get("diskseq", 0) + 1
    nd_shapes.block_device(kt.shapes, parent, name, devnum, size, state["diskseq"])
    kt.mknod(f"{paths.DEV}/{name}", *devnum)


def _remove_disks(kt: KernelTree, parent: str) -> None:
    block = parent + "/block"
    for name in kt.listdir(block):
        nd_devices.unregister(kt, f"{block}/{name}")
    kt.rmtree(block)


# -- info blocks -----------------------------------------------------------------------
def _layout(
    kt: KernelTree, region: NdRegion, claim: NdClaim, ns: NdNamespace, kind: str
) -> PfnLayout | int:
    """The claim's data layout: from a matching info block, or a new block written now."""
    if not claim.uuid:
        return errno.ENODEV
    assert ns.extent is not None
    offset = ns.extent.offset
    block = nd_media.info_block(kt.txn, region.name, offset)
    if block and block.get("kind") == kind and block.get("uuid") == claim.uuid:
        mode, align = block["mode"], int(block["align"])
    else:
        mode, align = claim.mode, claim.align
    layout = pfn_layout(ns.resource or 0, ns.size, mode, align)
    if layout is None:
        return errno.ENXIO
    block = {"kind": kind, "uuid": claim.uuid, "mode": mode, "align": align}
    nd_media.write_info_block(kt.txn, region.name, offset, block)
    return layout


# -- dax_pmem ----------------------------------------------------------------------------
def _dax_major(kt: KernelTree) -> int:
    majors = kt.txn.kernel_state().get("majors", {})
    if isinstance(majors, dict) and isinstance(majors.get("dax"), int):
        return majors["dax"]
    for name in kt.listdir(paths.DAX_DEVICES):
        dev = kt.read(f"{paths.DAX_DEVICES}/{name}{paths.DEVNUM}")
        if dev and ":" in dev:
            return int(dev.split(":")[0])
    return DEFAULT_DAX_MAJOR


def _free_dax_minor(kt: KernelTree, major: int) -> int:
    used = []
    for name in kt.listdir(paths.SYS_DEV_CHAR):
        ma, _, mi = name.partition(":")
        if ma == str(major) and mi.isdigit():
            used.append(int(mi))
    return lowest_free(used)


def probe_dax_pmem(kt: KernelTree, region: NdRegion, claim: NdClaim) -> int:
    """Bind a dax device to dax_pmem: its dax region and device appear on the dax bus."""
    if claim.kind != "dax":
        return errno.ENODEV
    err, ns = _claim_ready(claim)
    if err or ns is None:
        return err
    layout = _layout(kt, region, claim, ns, "dax")
    if isinstance(layout, int):
        return layout
    start = (ns.resource or 0) + layout.dataoff
    nd_devices.set_readable(kt, claim.path + "/resource", f"{start:#x}")
    nd_devices.set_readable(kt, claim.path + "/size", layout.size)
    align = claim.align
    nd_shapes.static_dax_region_group(kt.shapes, claim.path, region.id, layout.size, align)
    name = f"dax{region.id}.{ns.id}"
    major = _dax_major(kt)
    minor = _free_dax_minor(kt, major)
    # A static region's device is device_dax's by type; kmem takes it only by name.
    driver = "device_dax" if kt.isdir(paths.DAX_DRIVERS + "/device_dax") else None
    device = f"{claim.path}/{name}"
    nd_shapes.static_dax_device(
        kt.shapes,
        device,
        devnum=(major, minor),
        driver=driver,
        start=start,
        size=layout.size,
        align=align,
        numa_node=region.numa_node,
        target_node=region.target_node,
    )
    nd_devices.add_dev_node(kt, device, "char", major, minor)
    nd_devices.bind(kt, claim.path, "nd", "dax_pmem")
    advance_seeds(kt, region, claim.name, ns.name)
    return 0


def _dax_spans(kt: KernelTree, device: str) -> list[tuple[int, int]]:
    spans = []
    i = 0
    while kt.isdir(f"{device}/mapping{i}"):
        start = kt.read(f"{device}/mapping{i}/start")
        end = kt.read(f"{device}/mapping{i}/end")
        if start and end:
            spans.append((int(start, 0), int(end, 0)))
        i += 1
    return spans


def release_claim(kt: KernelTree, claim: NdClaim) -> None:
    """Unbind a pfn or dax device from its driver (its disk or dax device goes)."""
    if claim.driver is None:
        return
    if claim.kind == "dax":
        for name in kt.listdir(claim.path):
            device = f"{claim.path}/{name}"
            if name.startswith("dax") and kt.isdir(device):
                if kt.link_name(device + "/driver") == "kmem":
                    # kmem lets go of the memory: offline blocks go, online ones leak.
                    kmem.plan_kmem_detach(kt.txn, _dax_spans(kt, device))
                nd_devices.unregister(kt, device)
        kt.rmtree(claim.path + "/dax_region")
    else:
        _remove_disks(kt, claim.path)
    nd_devices.set_unreadable(kt, claim.path + "/resource", 0o400, errno.ENXIO)
    nd_devices.set_unreadable(kt, claim.path + "/size", 0o444, errno.ENXIO)
    nd_devices.unbind(kt, claim.path)


def release_namespace(kt: KernelTree, ns: NdNamespace) -> None:
    """Unbind a namespace from nd_pmem: its disk goes."""
    if ns.driver is None:
        return
    _remove_disks(kt, ns.path)
    nd_devices.unbind(kt, ns.path)


# -- claiming ---------------------------------------------------------------------------
_MODES = {"btt": "safe", "pfn": "memory", "dax": "dax"}


def attach(kt: KernelTree, claim: NdClaim, ns: NdNamespace) -> None:
    kt.write(claim.path + "/namespace", ns.name, 0o644)
    kt.write(ns.path + "/holder", claim.name, 0o444)
    kt.write(ns.path + "/mode", _MODES[claim.kind], 0o444)


def detach_and_reset(kt: KernelTree, claim: NdClaim) -> None:
    """Let go of the namespace; an idle non-seed device goes, a seed is reset."""
    ns = claim.namespace()
    if ns is not None:
        kt.write(ns.path + "/holder", "", 0o444)
        kt.write(ns.path + "/mode", "raw", 0o444)
    kt.write(claim.path + "/namespace", "", 0o644)
    if not claim.is_seed and claim.driver is None:
        nd_devices.unregister(kt, claim.path)
        return
    kt.write(claim.path + "/uuid", "", 0o644)
    if claim.kind == "btt":
        text = nd_shapes.list_text(nd_shapes.BTT_SECTOR_SIZES)
        kt.write(claim.path + "/sector_size", text, 0o644)
    else:
        kt.write(claim.path + "/mode", "none", 0o644)
