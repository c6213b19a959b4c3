"""`cxl list`: walk the CXL topology and build the JSON document ndctl v85 prints.

`ListParams` holds the options; `apply_defaults` turns the flags given into the
object kinds to list (ndctl's defaulting rules); `list_topology` walks buses,
their root decoders and regions, RCH endpoints, then ports depth first with
their endpoints, memdevs and decoders, nesting each object under the nearest
listed ancestor (`ports:root0`, `decoders:port1`, `regions:decoder0.0`, an
endpoint's `memdev`) and otherwise putting it in one of nine top-level buckets.
"""

from __future__ import annotations

from cxltool.objects.cxl import CxlSystem, Decoder, Port
from cxltool.ops.cxl_filter import Filters, filter_has
from cxltool.ops.cxl_json import (
    JsonFlags,
    append_dports,
    append_targets,
    bus_json,
    decoder_json,
    memdev_json,
    port_json,
    region_json,
)

# Top-level buckets, in output order.
BUCKETS = (
    "anon memdevs",
    "buses",
    "ports",
    "endpoints",
    "memdevs",
    "root decoders",
    "port decoders",
    "endpoint decoders",
    "regions",
)

_FLAGS = (
    "memdevs buses ports single endpoints decoders targets regions dax idle human"
    " health partition firmware alert_config media_errors debug"
).split()
_FILTERS = "memdev serial bus port endpoint decoder region".split()


class ListParams:
    """The options of one `cxl list` run (filters are None when not given)."""

    def __init__(self, **values) -> None:
        for name in _FLAGS:
            setattr(self, name, bool(values.pop(name, False)))
        for name in _FILTERS:
            setattr(self, name + "_filter", values.pop(name + "_filter", None))
        self.verbose = int(values.pop("verbose", 0) or 0)
        if values:
            raise TypeError(f"unknown cxl list parameters: {', '.join(values)}")

    def kinds_given(self) -> int:
        return sum(
            (self.memdevs, self.buses, self.ports, self.endpoints, self.decoders, self.regions)
        )

    def json_flags(self) -> JsonFlags:
        return JsonFlags(
            human=self.human,
            targets=self.targets,
            idle=self.idle,
            health=self.health,
            partition=self.partition,
            firmware=self.firmware,
            alert_config=self.alert_config,
            dax=self.dax,
            media_errors=self.media_errors,
        )


def apply_defaults(p: ListParams) -> None:
    """What to list when the options do not say it directly (ndctl's rules, in order)."""
    if not p.kinds_given():
        # A filter alone lists its own kind, and only the named port.
        if p.memdev_filter is not None or p.serial_filter is not None:
            p.memdevs = True
        if p.bus_filter is not None:
            p.buses = True
        if p.port_filter is not None:
            p.ports = True
        if p.endpoint_filter is not None:
            p.endpoints = True
        if p.decoder_filter is not None:
            p.decoders = True
        p.single = True
        if p.region_filter is not None:
            p.regions = True
    if not p.kinds_given():
        p.regions = p.memdevs = True
    if p.verbose >= 3:
        p.health = p.partition = p.firmware = p.alert_config = True
        p.dax = p.media_errors = True
    if p.verbose >= 2:
        p.idle = True
    if p.verbose >= 1:
        p.buses = p.ports = p.endpoints = p.decoders = p.targets = p.regions = True
    if p.ports and filter_has(p.port_filter, "root"):
        p.buses = True
    if p.ports and filter_has(p.port_filter, "endpoint"):
        p.endpoints = True


def _pick(child: list | None, container: list) -> list:
    return child if child is not None else container


def _nest(obj: dict | None, key: str, name: str, items: list | None) -> None:
    if obj is not None and items:
        obj[f"{key}:{name}"] = items


class _Walk:
    def __init__(self, system: CxlSystem, p: ListParams) -> None:
        self.system = system
        self.p = p
        self.f = Filters(system, p)
        self.flags = p.json_flags()
        self.buckets: dict[str, list] = {name: [] for name in BUCKETS}

    # -- pieces ------------------------------------------------------------
    def _bus_obj(self, bus) -> dict:
        errors = self.system.protocol_errors if self.system.debugfs is not None else None
        j = bus_json(bus, errors)
        append_dports(j, bus, self.f.maps_matching_memdev, self.flags)
        return j

    def _decoder_obj(self, d: Decoder) -> dict:
        j = decoder_json(d, self.flags)
        append_targets(j, d, self.f.maps_matching_memdev, self.flags)
        return j

    def _listed_decoder(self, d: Decoder) -> bool:
        f = self.f
        return (
            f.decoder(d)
            and f.decoder_by_bus(d)
            and f.decoder_by_port(d)
            and f.decoder_by_memdev(d)
            and f.decoder_by_region(d)
        )

    # -- the walk ----------------------------------------------------------
    def run(self) -> list:
        p, f = self.p, self.f
        b = self.buckets
        # ndctl enumerates memdevs first whatever is listed; doing the same keeps
        # enumeration errors in its order on stderr.
        memdevs = self.system.memdevs
        if p.memdevs and p.idle:
            for m in memdevs:
                if m.enabled:
                    continue
                if f.memdev(m) and f.memdev_by_decoder(m) and f.memdev_by_port(m):
                    b["anon memdevs"].append(memdev_json(m, self.flags))
        for bus in self.system.buses:
            self._walk_bus(bus)
        return self._assemble()

    def _walk_bus(self, bus) -> None:
        p, f, b = self.p, self.f, self.buckets
        if not f.bus_by_memdev(bus):
            return
        jbus = None
        ports = eps = devs = decoders = regions = None
        if f.bus(bus) and f.port(bus) and p.buses:
            jbus = self._bus_obj(bus)
            b["buses"].append(jbus)
            ports = [] if p.ports else None
            eps = [] if p.endpoints else None
            devs = [] if p.memdevs else None
            decoders = [] if p.decoders else None
            regions = [] if p.regions else None
        self._walk_decoders(bus, _pick(decoders, b["root decoders"]), _pick(regions, b["regions"]))
        if p.endpoints or p.memdevs or p.decoders:
            self._walk_endpoints(
                bus,
                _pick(eps, b["endpoints"]),
                _pick(devs, b["memdevs"]),
                _pick(decoders, b["endpoint decoders"]),
            )
        self._walk_ports(
            bus,
            _pick(ports, b["ports"]),
            _pick(decoders, b["port decoders"]),
            _pick(eps, b["endpoints"]),
            _pick(decoders, b["endpoint decoders"]),
            _pick(devs, b["memdevs"]),
        )
        _nest(jbus, "ports", bus.name, ports)
        _nest(jbus, "endpoints", bus.name, eps)
        _nest(jbus, "decoders", bus.name, decoders)
        _nest(jbus, "regions", bus.name, regions)
        _nest(jbus, "memdevs", bus.name, devs)

    def _walk_decoders(self, port: Port, jdecoders: list, jregions: list | None) -> None:
        p = self.p
        walk_regions = p.regions and port.is_root and jregions is not None
        if not p.decoders and not walk_regions:
            return
        for d in port.decoders:
            jdecoder = None
            child_regions = None
            if p.decoders and self._listed_decoder(d):
                if not p.idle and d.size == 0:
                    continue
                jdecoder = self._decoder_obj(d)
                if p.regions:
                    child_regions = []
                jdecoders.append(jdecoder)
            if not walk_regions:
                continue
            self._walk_regions(d, _pick(child_regions, jregions))
            _nest(jdecoder, "regions", d.name, child_regions)

    def _walk_regions(self, d: Decoder, jregions: list) -> None:
        p, f = self.p, self.f
        for r in d.regions:
            if not (
                f.region(r) and f.region_by_bus(r) and f.region_by_port(r)
                and f.region_by_decoder(r)
            ):
                continue
            if not p.idle and not r.enabled:
                continue
            jregions.append(region_json(r, self.flags))

    def _walk_endpoints(self, port: Port, jeps: list, jdevs: list, jdecoders: list) -> None:
        p, f = self.p, self.f
        for ep in port.endpoints:
            if not (
                f.endpoint(ep) and f.port_by_bus(ep) and f.endpoint_by_port(ep)
                and f.endpoint_by_memdev(ep)
            ):
                continue
            if not p.idle and not ep.enabled:
                continue
            jep = None
            if p.endpoints:
                jep = port_json(ep, "endpoint")
                jeps.append(jep)
            if p.memdevs:
                m = ep.memdev
                if m is None or not (
                    f.memdev(m) and f.memdev_by_decoder(m) and f.memdev_by_port(m)
                ):
                    continue
                if not p.idle and not m.enabled:
                    continue
                jm = memdev_json(m, self.flags)
                if jep is not None:
                    jep["memdev"] = jm
                else:
                    jdevs.append(jm)
            if not p.decoders:
                continue
            child_decoders = [] if p.endpoints else None
            self._walk_decoders(ep, _pick(child_decoders, jdecoders), None)
            _nest(jep, "decoders", ep.name, child_decoders)

    def _walk_ports(
        self,
        parent: Port,
        jports: list,
        jportdecoders: list,
        jeps: list,
        jepdecoders: list,
        jdevs: list,
    ) -> None:
        p, f = self.p, self.f
        for port in parent.child_ports:
            if not f.port_by_memdev(port):
                continue
            jport = None
            ports = devs = eps = decoders = None
            if f.port(port) and f.port_by_bus(port):
                if not p.idle and not port.enabled:
                    continue
                if p.ports:
                    jport = port_json(port, "port")
                    append_dports(jport, port, f.maps_matching_memdev, self.flags)
                    jports.append(jport)
                    ports = []
                    devs = [] if p.memdevs else None
                    eps = [] if p.endpoints else None
                    decoders = [] if p.decoders else None
            if p.endpoints or p.memdevs or p.decoders:
                self._walk_endpoints(
                    port, _pick(eps, jeps), _pick(devs, jdevs), _pick(decoders, jepdecoders)
                )
            self._walk_decoders(port, _pick(decoders, jportdecoders), None)
            self._walk_ports(
                port,
                _pick(ports, jports),
                _pick(decoders, jportdecoders),
                _pick(eps, jeps),
                _pick(decoders, jepdecoders),
                _pick(devs, jdevs),
            )
            _nest(jport, "ports", port.name, ports)
            _nest(jport, "endpoints", port.name, eps)
            _nest(jport, "decoders", port.name, decoders)
            _nest(jport, "memdevs", port.name, devs)

    def _assemble(self) -> list:
        full = [(name, items) for name, items in self.buckets.items() if items]
        if len(full) > 1:
            return [{name: items} for name, items in full]
        return full[0][1] if full else []


def list_topology(system: CxlSystem, params: ListParams) -> list:
    """The top-level JSON array of `cxl list` (before -u unwrapping).

    `params` must already have had `apply_defaults` applied.
    """
    return _Walk(system, params).run()


__all__ = ["BUCKETS", "ListParams", "apply_defaults", "list_topology"]
