"""`ndctl list`: the walk over buses, DIMMs, regions and namespaces, ndctl's filters, the nesting.

What is listed nests as ndctl nests it: DIMMs and regions in their bus when
buses are listed, namespaces in their region when regions are (else in their
bus); without buses, two or more kinds are printed as one object with a key
per kind, a single kind as an array (under `-u`, a one-element array prints
as its element).

Filters keep ndctl's quirks: a numeric `-b`/`-r`/`-d` is only recognised when
it is the whole argument; `-n` takes a name or `R.N`; a bus or region is
listed only if it holds what `-d`, `-r` and `-n` name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from cxltool.objects import cparse
from cxltool.objects.nd import NdBus, NdDimm, NdNamespace, NdRegion, NdSystem
from cxltool.ops.nd_json import (
    MODE_NAMES,
    JsonFlags,
    bus_json,
    dimm_json,
    namespace_json,
    region_json,
)
from cxltool.sysfs import Root, paths

ULONG_MAX = cparse.ULLONG_MAX
MODES = {
    "memory": "fsdax",
    "fsdax": "fsdax",
    "sector": "sector",
    "safe": "sector",
    "dax": "devdax",
    "devdax": "devdax",
    "raw": "raw",
}


class FilterError(Exception):
    """A filter argument ndctl refuses: the message for error(), and -EINVAL."""


@dataclass
class ListOptions:
    bus: str | None = None
    region: str | None = None
    dimm: str | None = None
    namespace: str | None = None
    mode: str | None = None
    type: str | None = None
    numa_node: str | None = None
    buses: bool = False
    dimms: bool = False
    firmware: bool = False
    health: bool = False
    regions: bool = False
    namespaces: bool = False
    dax: bool = False
    capabilities: bool = False
    idle: bool = False
    configured: bool = False
    media_errors: bool = False
    human: bool = False
    verbose: int = 0

    def settle(self) -> None:
        """ndctl's defaults: filters select their object, -v adds detail, namespaces by default."""
        lint = bool(os.environ.get("NDCTL_LIST_LINT"))
        if self._kinds() == 0:
            self.buses, self.regions, self.dimms = (
                bool(self.bus),
                bool(self.region),
                bool(self.dimm),
            )
            if self.dax and not self.mode:
                self.mode = "dax"
        if self.verbose >= 3:
            self.idle = self.firmware = self.health = self.capabilities = True
        if self.verbose >= 2:
            if not lint:
                self.dimms = self.buses = self.regions = True
            elif self._kinds() == 0:
                self.dimms = self.buses = self.regions = self.namespaces = True
        if self.verbose >= 1:
            self.media_errors = True
            if not lint:
                self.namespaces = True
            self.dax = True
        if self._kinds() == 0:
            self.namespaces = True

    def _kinds(self) -> int:
        return self.buses + self.dimms + self.regions + self.namespaces

    @property
    def flags(self) -> JsonFlags:
        return JsonFlags(
            human=self.human,
            verbose=self.verbose > 0,
            idle=self.idle,
            dax=self.dax,
            capabilities=self.capabilities,
            media_errors=self.media_errors,
        )


# -- ndctl's filters ---------------------------------------------------------------------
def _words(ident: str) -> list[str]:
    return [w for w in ident.split(" ") if w]


def _whole_number(ident: str) -> int | None:
    """strtoul(ident, &end, 0) with nothing left over, else None (ndctl's ULONG_MAX)."""
    value, end = cparse.strtoull_end(ident)
    return value if end and end == len(ident) else None


def _id_matches(ident: str | None, number_id: int, names: tuple[str, ...]) -> bool:
    """ndctl's filter for a bus, region or dimm: "all", its number (when the whole
    filter is one number), or one of its names, among the space-separated words."""
    if ident is None:
        return True
    number = _whole_number(ident)
    for word in _words(ident):
        if word == "all":
            return True
        if number is not None and number == number_id:
            return True
        if number is None and word in names:
            return True
    return False


def bus_matches(bus: NdBus, ident: str | None) -> bool:
    return _id_matches(ident, bus.id, (bus.provider, bus.devname))


def region_matches(region: NdRegion, ident: str | None) -> bool:
    return _id_matches(ident, region.id, (region.devname,))


def dimm_matches(dimm: NdDimm, ident: str | None) -> bool:
    return _id_matches(ident, dimm.id, (dimm.devname,))


def namespace_matches(ns: NdNamespace, ident: str | None) -> bool:
    if ident is None:
        return True
    for word in _words(ident):
        if word in ("all", ns.devname):
            return True
        pair = cparse.scan_int_pair(word)
        if pair is not None and pair == (ns.region.id, ns.id):
            return True
    return False


def _region_has_dimm(region: NdRegion, ident: str | None) -> bool:
    return ident in (None, "all") or any(dimm_matches(d, ident) for d in region.dimms())


def _region_has_namespace(region: NdRegion, ident: str | None) -> bool:
    return ident in (None, "all") or any(namespace_matches(n, ident) for n in region.namespaces)


def _bus_selected(bus: NdBus, opts: ListOptions) -> bool:
    if not bus_matches(bus, opts.bus):
        return False
    if opts.dimm not in (None, "all") and not any(dimm_matches(d, opts.dimm) for d in bus.dimms):
        return False
    if opts.region not in (None, "all") and not any(
        region_matches(r, opts.region) for r in bus.regions
    ):
        return False
    return _bus_has_namespace(bus, opts.namespace)


def _bus_has_namespace(bus: NdBus, ident: str | None) -> bool:
    return ident in (None, "all") or any(_region_has_namespace(r, ident) for r in bus.regions)


def _dimm_selected(dimm: NdDimm, bus: NdBus, opts: ListOptions, numa: int | None) -> bool:
    if not dimm_matches(dimm, opts.dimm):
        return False
    regions_with = [r for r in bus.regions if dimm in r.dimms()]
    if opts.region not in (None, "all") and not any(
        region_matches(r, opts.region) for r in regions_with
    ):
        return False
    if opts.namespace not in (None, "all") and not any(
        _region_has_namespace(r, opts.namespace) for r in regions_with
    ):
        return False
    return numa is None or any(r.numa_node == numa for r in regions_with)


def parse_filters(root: Root, opts: ListOptions) -> tuple[str | None, int | None]:
    """The region type and NUMA node to keep; FilterError for arguments ndctl refuses."""
    if opts.type is not None and opts.type not in ("pmem", "blk"):
        raise FilterError(f'unknown type "{opts.type}" must be "pmem" or "blk"\n')
    if opts.mode is not None and opts.mode.lower() not in MODES:
        raise FilterError(f"invalid mode: '{opts.mode}'\n")
    numa = None
    if opts.numa_node is not None and opts.numa_node != "all":
        if not root.isdir(paths.NODE):
            raise FilterError("This system does not support NUMA")
        value, end = cparse.strtoull_end(opts.numa_node)
        if not end or end != len(opts.numa_node):
            raise FilterError(f"invalid numa_node: '{opts.numa_node}'\n")
        numa = cparse.strtol(opts.numa_node)
    return opts.type, numa


# -- the walk --------------------------------------------------------------------------------
@dataclass
class _Listing:
    """ndctl's list_filter_arg: the arrays built so far and where the next ones go."""

    buses: list[dict[str, Any]] | None = None
    bus: dict[str, Any] | None = None
    dimms: list[dict[str, Any]] | None = None
    regions: list[dict[str, Any]] | None = None
    region: dict[str, Any] | None = None
    namespaces: list[dict[str, Any]] | None = None
    failed: int = 0
    messages: list[str] = field(default_factory=list)


def _namespace_wanted(ns: NdNamespace, opts: ListOptions) -> bool:
    if ns.active or opts.idle:
        return True
    return opts.configured and 0 < ns.size < ULONG_MAX


@dataclass
class ListResult:
    value: Any  # what to print as JSON (None: nothing)
    failed: int  # objects that could not be shown
    warnings: list[str]  # printed after the walk's failure lines


def list_nd(root: Root, opts: ListOptions) -> ListResult:
    """What `ndctl list` prints."""
    region_type, numa = parse_filters(root, opts)
    system = NdSystem(root)
    flags = opts.flags
    out = _Listing()
    for bus in system.buses:
        if not _bus_selected(bus, opts):
            continue
        if out.buses is not None:
            out.dimms = out.region = out.regions = out.namespaces = None
        if opts.buses:
            out.buses = out.buses if out.buses is not None else []
            out.bus = bus_json(bus)
            out.buses.append(out.bus)
        if opts.dimms:
            for dimm in bus.dimms:
                if _dimm_selected(dimm, bus, opts, numa):
                    _add_dimm(out, dimm, opts)
        for region in bus.regions:
            if not _region_selected(region, opts, region_type, numa):
                continue
            # A disabled region is left out, but its namespaces are still walked.
            if opts.regions and (opts.configured or opts.idle or region.enabled):
                _add_region(out, region, opts, flags)
            if opts.namespaces:
                for ns in region.namespaces:
                    if _namespace_selected(ns, opts, numa):
                        _add_namespace(out, ns, opts, flags, system)
    value = _display(out, opts.human)
    return ListResult(value, out.failed, out.messages)


def _region_selected(
    region: NdRegion, opts: ListOptions, region_type: str | None, numa: int | None
) -> bool:
    if not region_matches(region, opts.region):
        return False
    if not _region_has_dimm(region, opts.dimm) or not _region_has_namespace(region, opts.namespace):
        return False
    if numa is not None and region.has_numa and region.numa_node != numa:
        return False
    return region_type is None or region.type_name == region_type


def _namespace_selected(ns: NdNamespace, opts: ListOptions, numa: int | None) -> bool:
    if not namespace_matches(ns, opts.namespace):
        return False
    if opts.mode is not None and MODE_NAMES.get(ns.mode or "") != MODES[opts.mode.lower()]:
        return False
    return numa is None or ns.numa_node == numa


def _add_dimm(out: _Listing, dimm: NdDimm, opts: ListOptions) -> None:
    if not (opts.configured or opts.idle or dimm.enabled):
        return
    if out.dimms is None:
        out.dimms = []
        if out.bus is not None:
            out.bus["dimms"] = out.dimms
    out.dimms.append(dimm_json(dimm))


def _add_region(out: _Listing, region: NdRegion, opts: ListOptions, flags) -> None:
    if out.regions is None:
        out.regions = []
        if out.bus is not None:
            out.bus["regions"] = out.regions
    mappings = None
    if opts.dimms:
        mappings = [
            m
            for m in region.mappings
            if dimm_matches(m.dimm, opts.dimm) and (opts.configured or opts.idle or m.dimm.enabled)
        ]
    out.region = region_json(region, flags, mappings)
    # Namespaces listed from here on belong to this region.
    out.namespaces = None
    out.regions.append(out.region)


def _add_namespace(out: _Listing, ns: NdNamespace, opts: ListOptions, flags, system) -> None:
    if not _namespace_wanted(ns, opts):
        return
    if out.namespaces is None:
        out.namespaces = []
        container = out.region if out.region is not None else out.bus
        if container is not None:
            container["namespaces"] = out.namespaces
    obj = namespace_json(ns, flags, system.dax)
    if obj is None:
        out.failed += 1
        return
    out.namespaces.append(obj)


def _array(out: _Listing, items: list[dict[str, Any]], human: bool) -> Any:
    """An array as ndctl prints one: its only element under -u; empty, a warning too."""
    if human and len(items) <= 1:
        return items[0] if items else None
    if not items:
        out.messages.append("  Warning: no matching devices found\n\n")
    return items


def _display(out: _Listing, human: bool) -> Any:
    if out.buses is not None:
        return _array(out, out.buses, human)
    kinds = [k for k in (out.dimms, out.regions, out.namespaces) if k is not None]
    if len(kinds) > 1:
        platform: dict[str, Any] = {}
        if out.dimms is not None:
            platform["dimms"] = out.dimms
        if out.regions is not None:
            platform["regions"] = out.regions
        if out.namespaces is not None and out.regions is None:
            platform["namespaces"] = out.namespaces
        return platform
    for items in kinds:
        return _array(out, items, human)
    return None
