"""`daxctl list`: which dax regions and devices to show, and their JSON objects.

The same region object is what `cxl list -X` nests as `daxregion` (see
region_json), without the `path` key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxltool.objects import cparse
from cxltool.objects.dax import DaxDevice, DaxRegion, DaxSystem, Log
from cxltool.ops.numbers import hexnum, size
from cxltool.sysfs import Root, paths


@dataclass(frozen=True)
class ListOptions:
    """daxctl list's options: filters (`-r`, `-d`) and what to include."""

    region: str | None = None
    dev: str | None = None
    devices: bool = False
    regions: bool = False
    mappings: bool = False
    idle: bool = False
    human: bool = False


@dataclass
class ListResult:
    """The top-level array daxctl builds (None: nothing to print at all), and
    how many regions could not be shown (daxctl then fails with -ENOMEM)."""

    items: list[dict[str, Any]] | None
    failed: int = 0


# -- filters -----------------------------------------------------------------
def region_matches(region: DaxRegion, ident: str | None) -> bool:
    """`-r`: all, N or regionN (sscanf rules: a numeric prefix is enough)."""
    if ident is None or ident == "all":
        return True
    wanted = cparse.scan_int(ident)
    if wanted is None:
        wanted = cparse.scan_int(ident, "region")
    return wanted is not None and wanted == region.id


def device_matches(dev: DaxDevice, ident: str | None) -> bool:
    """`-d`: all, daxR.N or R.N."""
    if ident is None or ident == "all" or ident == dev.name:
        return True
    pair = cparse.scan_int_pair(ident)
    return pair is not None and pair == (dev.region.id, dev.id)


# -- objects -----------------------------------------------------------------
def mapping_json(mapping, human: bool) -> dict[str, Any]:
    return {
        "page_offset": hexnum(mapping.page_offset, human),
        "start": hexnum(mapping.start, human),
        "end": hexnum(mapping.end, human),
        "size": size(mapping.size, human),
    }


def device_json(dev: DaxDevice, human: bool, mappings: bool = False) -> dict[str, Any]:
    """A dax device as daxctl prints it."""
    has_memory = dev.has_memory  # libdaxctl decides this first, logging as it goes
    obj: dict[str, Any] = {"chardev": dev.name, "size": size(dev.size, human)}
    if dev.target_node >= 0:
        obj["target_node"] = dev.target_node
    # daxctl keeps align in an int; only a positive one is shown.
    align = cparse.to_int32(dev.align)
    if align > 0:
        obj["align"] = size(dev.align, human)
    obj["mode"] = dev.mode
    if has_memory and dev.resource != 0:
        state = dev.memory
        obj["online_memblocks"] = state.online
        obj["total_memblocks"] = state.total
        if state.movable is not None:
            obj["movable"] = state.movable
    if not dev.enabled:
        obj["state"] = "disabled"
    if mappings and dev.mappings:
        # libdaxctl stacks mappings as it reads them: the last one comes first.
        obj["mappings"] = [mapping_json(m, human) for m in reversed(dev.mappings)]
    return obj


def devices_json(
    region: DaxRegion, dev_filter: str | None, *, idle: bool, human: bool, mappings: bool
) -> list[dict[str, Any]]:
    """The region's devices that pass `-d`; size 0 ones only with idle."""
    return [
        device_json(dev, human, mappings)
        for dev in region.devices
        if device_matches(dev, dev_filter) and (idle or dev.size)
    ]


def region_object(
    region: DaxRegion,
    *,
    human: bool,
    with_path: bool = True,
    devices: bool = False,
    dev_filter: str | None = None,
    idle: bool = False,
    mappings: bool = False,
) -> dict[str, Any] | None:
    """A dax region as daxctl prints it; None where its path is not a device's."""
    obj: dict[str, Any] = {}
    if with_path:
        if not region.path.startswith(paths.SYS_DEVICES):
            return None
        obj["path"] = region.path[len(paths.SYS_DEVICES) :]
    obj["id"] = region.id
    if region.size_known:
        obj["size"] = size(region.size, human)
    if region.available_size:
        obj["available_size"] = size(region.available_size, human)
    if region.align_known:
        obj["align"] = region.align
    if devices:
        devs = devices_json(region, dev_filter, idle=idle, human=human, mappings=mappings)
        if devs:
            obj["devices"] = devs
    return obj


# -- daxctl list ---------------------------------------------------------------
def list_dax(root: Root, opts: ListOptions, log: Log | None = None) -> ListResult:
    """What `daxctl list` prints, as data."""
    regions_on, devices_on = opts.regions, opts.devices
    # Without -R/-D, a filter turns its own kind of object on; devices otherwise.
    if not (regions_on or devices_on):
        regions_on, devices_on = opts.region is not None, opts.dev is not None
    if not (regions_on or devices_on):
        devices_on = True
    system = DaxSystem(root, log)
    items: list[dict[str, Any]] | None = None
    failed = 0
    for region in system.regions():
        if not region_matches(region, opts.region):
            continue
        if regions_on:
            items = items if items is not None else []
            obj = region_object(
                region,
                human=opts.human,
                devices=devices_on,
                dev_filter=opts.dev,
                idle=opts.idle,
                mappings=opts.mappings,
            )
            if obj is None:
                failed += 1
            else:
                items.append(obj)
        else:
            devs = devices_json(
                region, opts.dev, idle=opts.idle, human=opts.human, mappings=opts.mappings
            )
            if devs:
                items = items if items is not None else []
                items.extend(devs)
    return ListResult(items, failed)


def display_value(items: list[dict[str, Any]] | None, human: bool) -> Any:
    """What to print: the array, its only element under -u, or None for nothing."""
    if items is None:
        return None
    if human and len(items) == 1:
        return items[0]
    return items


# -- cxl list -X -----------------------------------------------------------------
def region_json(
    root: Root,
    region_device_path: str,
    human: bool,
    *,
    idle: bool = False,
    system: DaxSystem | None = None,
    log: Log | None = None,
) -> dict[str, Any] | None:
    """The `daxregion` object of a CXL region, or None when it has no dax region.

    region_device_path is the CXL region's device directory (`.../regionN`); its
    dax region is the `dax_regionN` directory in it. The object is daxctl's region
    object without `path`, with the devices (size 0 ones only with `idle`, as
    `cxl list -i` gives) under `devices` when there are any. Pass one `system`
    for several regions of one listing so that shared files are read once.
    """
    name = paths.basename(region_device_path)
    region_id = cparse.scan_int(name, "region")
    if region_id is None:
        return None
    dax_path = f"{region_device_path}/dax_region{region_id}"
    system = system or DaxSystem(root, log)
    if not system.root.exists(dax_path):
        return None
    region = system.region_at(dax_path, region_id)
    return region_object(region, human=human, with_path=False, devices=True, idle=idle)
