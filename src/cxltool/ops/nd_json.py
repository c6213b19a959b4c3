"""The JSON objects ndctl prints for buses, DIMMs, regions, mappings and namespaces.

Keys, their order and their presence follow ndctl's: sizes are numbers (or the
`-u` text), DPA offsets and cookies hex strings under `-u`, a namespace's
`uuid` is its personality's (btt, pfn, dax) when it has one, and a devdax
namespace carries its dax region (`-X`) or the name of its dax device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxltool.objects.dax import DaxSystem
from cxltool.objects.nd import (
    NSTYPE_IO,
    UINT_MAX,
    ULLONG_MAX,
    NdBus,
    NdClaim,
    NdDimm,
    NdMapping,
    NdNamespace,
    NdRegion,
)
from cxltool.ops.dax_list import region_object
from cxltool.ops.numbers import hexnum, size

NULL_UUID = "00000000-0000-0000-0000-000000000000"
# DIMM flags the kernel lists, and the key ndctl shows for each.
_FLAG_KEYS = (
    ("map_fail", "flag_failed_map"),
    ("save_fail", "flag_failed_save"),
    ("not_armed", "flag_failed_arm"),
    ("restore_fail", "flag_failed_restore"),
    ("flush_fail", "flag_failed_flush"),
    ("smart_notify", "flag_smart_event"),
)
# The mode a namespace shows and the name ndctl gives it.
MODE_NAMES = {"memory": "fsdax", "dax": "devdax", "raw": "raw", "safe": "sector"}


@dataclass(frozen=True)
class JsonFlags:
    """ndctl's UTIL_JSON_* flags."""

    human: bool = False
    verbose: bool = False
    idle: bool = False
    dax: bool = False  # a devdax namespace's dax region, with its devices
    capabilities: bool = False
    media_errors: bool = False


def bus_json(bus: NdBus) -> dict[str, Any]:
    obj: dict[str, Any] = {"provider": bus.provider, "dev": bus.devname}
    if bus.has_nfit:
        scrub = bus.root.read_opt(bus.path + "/nfit/scrub")
        if scrub is not None:
            obj["scrub_state"] = "active" if scrub.endswith("+") else "idle"
    return obj


def dimm_json(dimm: NdDimm) -> dict[str, Any]:
    obj: dict[str, Any] = {"dev": dimm.devname}
    if dimm.unique_id is not None:
        obj["id"] = dimm.unique_id
    if not dimm.enabled:
        obj["state"] = "disabled"
    for flag, key in _FLAG_KEYS:
        if flag in dimm.flags:
            obj[key] = True
    if dimm.security is not None:
        obj["security"] = dimm.security
    if dimm.security_frozen:
        obj["security_frozen"] = True
    return obj


def mapping_json(mapping: NdMapping, human: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "dimm": mapping.dimm.devname,
        "offset": hexnum(mapping.offset, human),
        "length": hexnum(mapping.length, human),
    }
    if mapping.position >= 0:
        obj["position"] = mapping.position
    return obj


def capabilities_json(region: NdRegion) -> list[dict[str, Any]] | None:
    caps = []
    for kind, mode, key in (
        ("btt", "sector", "sector_sizes"),
        ("pfn", "fsdax", "alignments"),
        ("dax", "devdax", "alignments"),
    ):
        seed = region.claim_seed(kind)
        if seed is not None:
            caps.append({"mode": mode, key: list(seed.supported)})
    return caps or None


def region_json(
    region: NdRegion, flags: JsonFlags, mappings: list[NdMapping] | None
) -> dict[str, Any]:
    """A region; `mappings` are those to show (None: no `mappings` key)."""
    human = flags.human
    obj: dict[str, Any] = {"dev": region.devname, "size": size(region.size, human)}
    if region.align < ULLONG_MAX:
        obj["align"] = size(region.align, human)
    obj["available_size"] = size(region.available_size, human)
    if region.max_available_extent != ULLONG_MAX:
        obj["max_available_extent"] = size(region.max_available_extent, human)
    obj["type"] = region.type_name
    if flags.verbose and region.numa_node >= 0:
        obj["numa_node"] = region.numa_node
    if flags.verbose and region.target_node >= 0:
        obj["target_node"] = region.target_node
    if region.cookie is not None:
        obj["iset_id"] = hexnum(region.cookie, human)
    if mappings:
        obj["mappings"] = [mapping_json(m, human) for m in mappings]
    if not region.enabled:
        obj["state"] = "disabled"
    bad = region.badblocks()
    if bad:
        obj["badblock_count"] = sum(length for _, length in bad)
        if flags.media_errors:
            obj["badblocks"] = [{"offset": off, "length": length} for off, length in bad]
    if flags.capabilities:
        caps = capabilities_json(region)
        if caps:
            obj["capabilities"] = caps
    obj["persistence_domain"] = region.persistence_domain
    return obj


def _size_and_location(ns: NdNamespace) -> tuple[str | None, int, str | None]:
    """(mode name, size, map location) as ndctl works them out; map None for sector/raw."""
    mode = ns.mode
    if mode == "memory":
        pfn = ns.pfn
        if pfn is not None:
            return "fsdax", pfn.size, pfn.location
        return "fsdax", ns.size, "mem"
    if mode == "dax":
        dax = ns.dax
        return "devdax", dax.size if dax else ULLONG_MAX, dax.location if dax else "none"
    if mode == "safe":
        btt = ns.btt
        return "sector", btt.size if btt else ULLONG_MAX, None
    if mode == "raw":
        return "raw", ns.size, None
    return None, ULLONG_MAX, "none"


def namespace_json(
    ns: NdNamespace, flags: JsonFlags, dax_system: DaxSystem
) -> dict[str, Any] | None:
    """A namespace, or None where ndctl fails to describe it (a devdax one without its device)."""
    human = flags.human
    obj: dict[str, Any] = {"dev": ns.devname}
    btt, pfn, dax = ns.btt, ns.pfn, ns.dax
    if ns.mode == "dax" and dax is None:
        return None
    mode, nbytes, location = _size_and_location(ns)
    if mode is not None:
        obj["mode"] = mode
    if location is not None:
        obj["map"] = location
    if nbytes < ULLONG_MAX:
        obj["size"] = size(nbytes, human)
    bdev = ""
    align = 0
    claim: NdClaim | None = btt or pfn or dax
    if claim is not None:
        obj["uuid"] = claim.uuid or NULL_UUID
        if flags.verbose and ns.uuid and ns.uuid != NULL_UUID:
            obj["raw_uuid"] = ns.uuid
        if claim is btt:
            bdev = btt.block_device
        elif claim is pfn:
            align = pfn.align
            bdev = pfn.block_device
        else:
            align = dax.align
            region = dax.dax_region(dax_system)
            if flags.dax:
                jregion = region_object(
                    region, human=human, with_path=False, devices=True, idle=flags.idle
                )
                if jregion is not None:
                    obj["daxregion"] = jregion
            elif region.devices:
                obj["chardev"] = region.devices[0].name
    elif ns.nstype != NSTYPE_IO:
        obj["uuid"] = ns.uuid or NULL_UUID
        bdev = ns.block_device
    else:
        bdev = ns.block_device
    if btt is not None:
        obj["sector_size"] = btt.sector_size
    elif dax is None:
        sector = ns.sector_size
        obj["sector_size"] = 512 if sector in (0, UINT_MAX) else sector
    if align:
        obj["align"] = align
    if bdev:
        obj["blockdev"] = bdev
    if not ns.active:
        obj["state"] = "disabled"
    if ns.alt_name:
        obj["name"] = ns.alt_name
    if flags.verbose and ns.numa_node >= 0:
        obj["numa_node"] = ns.numa_node
    if flags.verbose and ns.target_node >= 0:
        obj["target_node"] = ns.target_node
    return obj
