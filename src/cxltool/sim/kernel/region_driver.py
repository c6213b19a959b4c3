"""The `cxl_region` driver: what binding a committed region creates, and unbinding removes.

Binding (probe) needs a committed region (ENXIO otherwise). A ram region gets
a `dax_regionN` device; with the `cxl_dax_region` driver there, it carries the
`dax_region/` group and one dax device `daxN.0` spanning the whole region,
which Linux 6.12 hands to `kmem` by default when kmem is loaded. A pmem region
gets a `pmem_regionN` device (the nvdimm bridge must exist and be bound).

The memory blocks kmem hot-adds (and removes on unbind) are planned by the
memory area (kmem.py); the libnvdimm region `cxl_pmem_region` registers on
the nvdimm bridge's bus by the libnvdimm area (nd_region.py).
"""

from __future__ import annotations

import errno
import re

from cxltool.sim.kernel import kmem, nd_region
from cxltool.sim.kernel.cxlview import COMMIT, Cxl, Region
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sysfs import paths

_DAX_DEVICE = re.compile(r"^dax\d+\.\d+$")
DEFAULT_DAX_MAJOR = 252


def _driver_loaded(cxl: Cxl, bus_drivers: str, name: str) -> bool:
    return cxl.kt.isdir(f"{bus_drivers}/{name}")


def _set_uevent_driver(cxl: Cxl, path: str, driver: str | None) -> None:
    """Rewrite a device's uevent with (or without) its DRIVER= line."""
    text = cxl.kt.read(path + "/uevent")
    if text is None:
        return
    lines = [ln for ln in text.split("\n") if ln and not ln.startswith("DRIVER=")]
    if driver:
        # The kernel emits DRIVER= just before MODALIAS= (or last).
        at = next((i for i, ln in enumerate(lines) if ln.startswith("MODALIAS=")), len(lines))
        lines.insert(at, f"DRIVER={driver}")
    cxl.kt.set_file(path + "/uevent", "".join(ln + "\n" for ln in lines), 0o644)


def attach_driver(cxl: Cxl, path: str, bus: str, driver: str) -> None:
    """Record a device as bound: its driver link, the driver's link, uevent."""
    name = path.rsplit("/", 1)[1]
    drv = f"{paths.SYS}/bus/{bus}/drivers/{driver}"
    cxl.kt.link(path + "/driver", drv)
    cxl.kt.link(f"{drv}/{name}", path)
    _set_uevent_driver(cxl, path, driver)


def detach_driver(cxl: Cxl, path: str) -> None:
    name = path.rsplit("/", 1)[1]
    drv = cxl.kt.readlink_abs(path + "/driver")
    if drv is None:
        return
    cxl.kt.remove(path + "/driver")
    cxl.kt.remove(f"{drv}/{name}")
    _set_uevent_driver(cxl, path, None)


# -- dax devices ------------------------------------------------------------------------
def _dax_major(cxl: Cxl) -> int:
    majors = cxl.state.get("majors", {})
    if isinstance(majors, dict) and isinstance(majors.get("dax"), int):
        return majors["dax"]
    for name in cxl.kt.listdir(paths.DAX_DEVICES):
        dev = cxl.kt.read(f"{paths.DAX_DEVICES}/{name}/dev")
        if dev and ":" in dev:
            return int(dev.split(":")[0])
    return DEFAULT_DAX_MAJOR


def _free_dax_minor(cxl: Cxl, major: int) -> int:
    """The lowest minor no dax device uses (the kernel's minor IDA)."""
    used = set()
    for name in cxl.kt.listdir(paths.DAX_DEVICES):
        dev = cxl.kt.read(f"{paths.DAX_DEVICES}/{name}/dev")
        if dev and dev.startswith(f"{major}:"):
            used.add(int(dev.split(":")[1]))
    n = 0
    while n in used:
        n += 1
    return n


def window_node(cxl: Cxl, region: Region) -> int:
    """The NUMA node of the region's window (the dax device's target_node).

    A built fixture records it; a restored capture does not, so the node is
    inferred as the kernel numbers them: windows without SRAT affinity get the
    possible nodes that have no CPUs, in window order.
    """
    window = region.root_decoder.name
    windows = cxl.state.get("windows", {})
    if isinstance(windows, dict) and isinstance(windows.get(window), dict):
        return int(windows[window].get("node", -1))
    possible = _nodelist(cxl.kt.read(paths.NODE + "/possible"))
    with_cpu = set(_nodelist(cxl.kt.read(paths.NODE + "/has_cpu")))
    spare = [n for n in possible if n not in with_cpu]
    roots = sorted(
        name for name in cxl.kt.listdir(region.root_decoder.port.path) if name.startswith("decoder")
    )
    index = roots.index(window) if window in roots else 0
    return spare[index] if index < len(spare) else -1


def _nodelist(text: str | None) -> list[int]:
    out: list[int] = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        if lo.isdigit() and (not hi or hi.isdigit()):
            out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def _add_dev_node(cxl: Cxl, device: str, major: int, minor: int) -> None:
    name = device.rsplit("/", 1)[1]
    cxl.kt.mknod(f"{paths.DEV}/{name}", major, minor)
    cxl.kt.link(f"{paths.SYS_DEV_CHAR}/{major}:{minor}", device)


def _remove_dev_node(cxl: Cxl, device: str) -> None:
    name = device.rsplit("/", 1)[1]
    dev = cxl.kt.read(device + paths.DEVNUM)
    cxl.kt.remove(f"{paths.DEV}/{name}")
    if dev:
        cxl.kt.remove(f"{paths.SYS_DEV_CHAR}/{dev}")


def _add_dax_region(cxl: Cxl, region: Region) -> None:
    n = region.id
    path = f"{region.path}/dax_region{n}"
    bound = _driver_loaded(cxl, paths.CXL_DRIVERS, "cxl_dax_region")
    shapes = cxl.kt.shapes
    shapes.cxl_object(
        path, f"dax_region{n}", "cxl_dax_region", "cxl:t8", "cxl_dax_region" if bound else None
    )
    if not bound:
        return
    shapes.dax_region_group(path, n, region.size, 0)
    major = _dax_major(cxl)
    minor = _free_dax_minor(cxl, major)
    dax = f"{path}/dax{n}.0"
    node = window_node(cxl, region)
    driver = None
    if _driver_loaded(cxl, paths.DAX_DRIVERS, "kmem"):
        # A CXL ram region's device goes to kmem by default, whose probe hot-adds
        # the range as memory blocks (onlined per auto_online_blocks); if that
        # probe fails the device stays unbound.
        span = (region.start, region.start + region.size - 1)
        if kmem.plan_kmem_attach(cxl.kt.txn, [span], node) == 0:
            driver = "kmem"
    shapes.dax_device(
        dax,
        devnum=(major, minor),
        driver=driver,
        start=region.start,
        size=region.size,
        target_node=node,
    )
    _add_dev_node(cxl, dax, major, minor)


def _add_pmem_region(cxl: Cxl, region: Region) -> None:
    root = region.root_decoder.port.path
    bridge = f"{root}/nvdimm-bridge0"
    if not cxl.kt.isdir(bridge):
        raise KernelError(errno.ENODEV)
    if cxl.kt.readlink_abs(bridge + "/driver") is None:
        raise KernelError(errno.ENXIO)
    n = region.id
    bound = _driver_loaded(cxl, paths.CXL_DRIVERS, "cxl_pmem_region")
    cxl.kt.shapes.cxl_object(
        f"{region.path}/pmem_region{n}",
        f"pmem_region{n}",
        "cxl_pmem_region",
        "cxl:t7",
        "cxl_pmem_region" if bound else None,
    )
    if bound:
        # cxl_pmem_region's probe registers the libnvdimm region (nd_region.py).
        nd_region.register_cxl_region(cxl, region, window_node(cxl, region))


def probe(cxl: Cxl, region: Region) -> None:
    """cxl_region's probe: create the region's dax or pmem side, then bind."""
    if region.state < COMMIT:
        raise KernelError(errno.ENXIO)
    if region.mode == "pmem":
        _add_pmem_region(cxl, region)
    elif region.mode == "ram":
        _add_dax_region(cxl, region)
    else:
        raise KernelError(errno.ENXIO)
    attach_driver(cxl, region.path, "cxl", "cxl_region")


def _mappings(cxl: Cxl, device: str) -> list[tuple[int, int]]:
    """A dax device's ranges, from its mappingN directories (end inclusive)."""
    out = []
    for name in cxl.kt.listdir(device):
        if name.startswith("mapping") and name[7:].isdigit():
            start = cxl.kt.read(f"{device}/{name}/start")
            end = cxl.kt.read(f"{device}/{name}/end")
            if start and end:
                out.append((int(start, 0), int(end, 0)))
    return out


def _remove_device(cxl: Cxl, path: str, bus: str) -> None:
    name = path.rsplit("/", 1)[1]
    detach_driver(cxl, path)
    cxl.kt.remove(f"{paths.SYS}/bus/{bus}/devices/{name}")
    cxl.kt.rmtree(path)


def release(cxl: Cxl, region: Region) -> None:
    """Unbind a region from cxl_region: its dax or pmem side goes away."""
    if not region.bound:
        return
    n = region.id
    dax_region = f"{region.path}/dax_region{n}"
    if cxl.kt.isdir(dax_region):
        for name in cxl.kt.listdir(dax_region):
            if _DAX_DEVICE.match(name):
                device = f"{dax_region}/{name}"
                if cxl.kt.link_name(device + "/driver") == "kmem":
                    # kmem lets go of the memory: offline blocks go, online ones leak.
                    kmem.plan_kmem_detach(cxl.kt.txn, _mappings(cxl, device))
                _remove_dev_node(cxl, device)
                _remove_device(cxl, device, "dax")
        _remove_device(cxl, dax_region, "cxl")
    pmem_region = f"{region.path}/pmem_region{n}"
    if cxl.kt.isdir(pmem_region):
        nd_region.unregister_cxl_region(cxl, region)
        _remove_device(cxl, pmem_region, "cxl")
    detach_driver(cxl, region.path)
