"""The `cxl list` filters: which objects a -m/-s/-b/-p/-e/-d/-r word lets through.

A filter is one word list, split on spaces if it has any, else on commas; its
words are OR-ed and different filters AND-ed. Numbers are matched the way
sscanf("%d") reads them, so only a numeric prefix counts (`-m 0000:10:00.0`
matches mem0) and `all` matches everything. Filters on memdevs also act on the
ports, endpoints, decoders and links that lead to a matching memdev, and port
filters either match a port alone (SINGLE) or a port and everything below it
(ANCESTRY).

The relations ndctl tests by scanning every memdev for every object (does this
port host a matching memdev, does this decoder target one) are computed once
per run here, so a walk costs time linear in the size of the topology.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import cached_property
from typing import Protocol

from cxltool.objects.cparse import scan_int, scan_int_pair, strtoull_end
from cxltool.objects.cxl import (
    Bus,
    CxlSystem,
    Decoder,
    Downstream,
    Endpoint,
    Memdev,
    Port,
    Region,
)

SINGLE = "single"
ANCESTRY = "ancestry"


class FilterParams(Protocol):
    memdev_filter: str | None
    serial_filter: str | None
    bus_filter: str | None
    port_filter: str | None
    endpoint_filter: str | None
    decoder_filter: str | None
    region_filter: str | None
    single: bool


def split_words(text: str) -> list[str]:
    """The words of a filter: split on spaces if there are any, else on commas."""
    sep = " " if " " in text or "," not in text else ","
    return [w for w in text.split(sep) if w]


def filter_has(text: str | None, needle: str) -> bool:
    """Whether some word of the filter contains `needle`."""
    return text is not None and any(needle in w for w in split_words(text))


def _id_matches(word: str, prefix: str, value: int) -> bool:
    # "%d" is tried first; only when it fails is "<prefix>%d" tried.
    n = scan_int(word)
    if n is None:
        n = scan_int(word, prefix)
    return n is not None and n == value


def _has_prefix(sorted_paths: list[str], prefix: str) -> bool:
    """Whether some path in the sorted list starts with `prefix`."""
    i = bisect_left(sorted_paths, prefix)
    return i < len(sorted_paths) and sorted_paths[i].startswith(prefix)


def _ancestry_names(host_path: str) -> list[str]:
    """Device names along a memdev's host path, as libcxl compares ports to it."""
    pos = host_path.find("devices")
    if pos < 0:
        return []
    rest = host_path[pos + len("devices") + 1 :]
    if rest.startswith("platform"):
        rest = rest[len("platform") + 1 :]
    return [c for c in rest.split("/") if c]


class _PrefixSet:
    """Paths from a lazy source, asked whether one of them begins a given path.

    The source is consumed only as far as needed, in ndctl's search order: a
    memdev is usually found behind the first decoders searched (root decoders
    target every host bridge), so endpoint decoders are rarely read at all.
    """

    def __init__(self, source) -> None:
        self._source = source
        self._paths: set[str] = set()
        self._lengths: set[int] = set()

    def _known(self, path: str) -> bool:
        return any(path[:n] in self._paths for n in self._lengths)

    def has_prefix_of(self, path: str) -> bool:
        if self._known(path):
            return True
        for found in self._source:
            if found not in self._paths:
                self._paths.add(found)
                self._lengths.add(len(found))
            if path.startswith(found):
                return True
        return False


class Filters:
    """The filters of one `cxl list` run over one system."""

    def __init__(self, system: CxlSystem, params: FilterParams) -> None:
        self.system = system
        self.memdev_words = _words(params.memdev_filter)
        self.serial_words = _words(params.serial_filter)
        self.bus_words = _words(params.bus_filter)
        self.port_words = _words(params.port_filter)
        self.endpoint_words = _words(params.endpoint_filter)
        self.decoder_words = _words(params.decoder_filter)
        self.region_words = _words(params.region_filter)
        self.mode = SINGLE if params.single else ANCESTRY
        self.by_memdev = self.memdev_words is not None or self.serial_words is not None

    # -- memdevs -------------------------------------------------------------
    def memdev(self, m: Memdev) -> bool:
        words = self.memdev_words
        if words is not None and not any(
            w == "all" or _id_matches(w, "mem", m.id) or w == m.name or w == m.host
            for w in words
        ):
            return False
        return self._serial(m)

    def _serial(self, m: Memdev) -> bool:
        words = self.serial_words
        if words is None:
            return True
        for w in words:
            value, end = strtoull_end(w)
            if end == len(w) and value == m.serial:
                return True
        return False

    @cached_property
    def _matching(self) -> list[Memdev]:
        return [m for m in self.system.memdevs if self.memdev(m)]

    @cached_property
    def _matching_ids(self) -> set[int]:
        return {id(m) for m in self._matching}

    @cached_property
    def _matching_hosts(self) -> list[str]:
        return sorted(m.host_path for m in self._matching)

    @cached_property
    def _matching_endpoints(self) -> list[Endpoint]:
        eps = (self.system.endpoint_of(m) for m in self._matching)
        return [ep for ep in eps if ep is not None]

    @cached_property
    def _endpoint_ids(self) -> set[int]:
        return {id(ep) for ep in self._matching_endpoints}

    @cached_property
    def _hosting_port_ids(self) -> set[int]:
        ids: set[int] = set()
        for ep in self._matching_endpoints:
            port: Port | None = ep
            while port is not None and id(port) not in ids:
                ids.add(id(port))
                port = port.parent
        return ids

    @cached_property
    def _bus_ids(self) -> set[int]:
        buses = (ep.bus for ep in self._matching_endpoints)
        return {id(b) for b in buses if b is not None}

    def bus_by_memdev(self, bus: Bus) -> bool:
        return not self.by_memdev or id(bus) in self._bus_ids

    def port_by_memdev(self, port: Port) -> bool:
        return not self.by_memdev or id(port) in self._hosting_port_ids

    def endpoint_by_memdev(self, ep: Endpoint) -> bool:
        return not self.by_memdev or id(ep) in self._endpoint_ids

    def maps_matching_memdev(self, link: Downstream) -> bool:
        """A dport or target leads to a matching memdev (its path prefixes the host's)."""
        return not self.by_memdev or _has_prefix(self._matching_hosts, link.match_path)

    def decoder_by_memdev(self, d: Decoder) -> bool:
        if not self.by_memdev:
            return True
        hosts = self._matching_hosts
        if any(_has_prefix(hosts, t.match_path) for t in d.targets):
            return True
        if isinstance(d.port, Endpoint):
            memdev = d.port.memdev
            return memdev is not None and id(memdev) in self._matching_ids
        return False

    # -- memdevs by what leads to them ----------------------------------------
    def _all_ports(self, buses: list[Bus]):
        """Every port ndctl's memdev filters visit: roots, switches, their endpoints."""
        for bus in buses:
            tops = [bus, *self.system.iter_ports(bus)]
            for port in tops:
                yield port
                yield from port.endpoints

    @cached_property
    def _decoder_targets(self) -> _PrefixSet:
        def paths():
            for port in self._all_ports(self.system.buses):
                for d in port.decoders:
                    if self.decoder(d):
                        yield from (t.match_path for t in d.targets)

        return _PrefixSet(paths())

    def memdev_by_decoder(self, m: Memdev) -> bool:
        """Some decoder matching -d has a target leading to the memdev."""
        if self.decoder_words is None:
            return True
        return self._decoder_targets.has_prefix_of(m.host_path)

    @cached_property
    def _ancestor_hosts(self) -> set[str]:
        buses = [b for b in self.system.buses if self.bus(b)]
        return {p.host for p in self._all_ports(buses) if self._port_matches(p)}

    def memdev_by_port(self, m: Memdev) -> bool:
        """The memdev's device path passes through a port matching -b and -p."""
        if self.bus_words is None and self.port_words is None:
            return True
        hosts = self._ancestor_hosts
        return any(name in hosts for name in _ancestry_names(m.host_path))

    # -- buses and ports -------------------------------------------------------
    def bus(self, bus: Bus) -> bool:
        words = self.bus_words
        if words is None:
            return True
        return any(
            w == "all" or _id_matches(w, "root", bus.id) or w == bus.name or w == bus.provider
            for w in words
        )

    def _port_matches(self, port: Port) -> bool:
        words = self.port_words
        if words is None:
            return True
        for w in words:
            if (
                w == "all"
                or (w == "root" and port.is_root)
                or (w == "switch" and port.is_switch)
                or (w == "endpoint" and port.is_endpoint)
                or _id_matches(w, "port", port.id)
                or w == port.name
                or w == port.host
            ):
                return True
        return False

    def port(self, port: Port, mode: str | None = None) -> bool:
        """-p: the port itself, or (ANCESTRY) any port above it, matches."""
        if self.port_words is None:
            return True
        mode = mode or self.mode
        it: Port | None = port
        while it is not None:
            if self._port_matches(it):
                return True
            if mode == SINGLE:
                return False
            it = it.parent
        return False

    def port_by_bus(self, port: Port) -> bool:
        if self.bus_words is None:
            return True
        if port.is_root:
            return self.bus(port)  # type: ignore[arg-type]
        bus = port.bus
        return bus is not None and self.bus(bus)

    # -- endpoints -------------------------------------------------------------
    def endpoint(self, ep: Endpoint) -> bool:
        words = self.endpoint_words
        if words is None:
            return True
        return any(
            w == "all" or _id_matches(w, "endpoint", ep.id) or w == ep.name or w == ep.host
            for w in words
        )

    def endpoint_by_port(self, ep: Endpoint) -> bool:
        if self.port(ep, SINGLE):
            return True
        parent = ep.parent
        return parent is not None and self.port(parent)

    # -- decoders ----------------------------------------------------------------
    def decoder(self, d: Decoder) -> bool:
        words = self.decoder_words
        if words is None:
            return True
        port = d.port
        for w in words:
            if (
                w == "all"
                or (w == "root" and port.is_root)
                or (w == "switch" and port.is_switch)
                or (w == "endpoint" and port.is_endpoint)
            ):
                return True
            pair = scan_int_pair(w)
            if pair is None:
                pair = scan_int_pair(w, "decoder")
            if pair is not None and pair == (port.id, d.id):
                return True
            if w == d.name:
                return True
        return False

    def decoder_by_bus(self, d: Decoder) -> bool:
        return self.port_by_bus(d.port)

    def decoder_by_port(self, d: Decoder) -> bool:
        return self.port(d.port)

    def decoder_by_region(self, d: Decoder) -> bool:
        if self.region_words is None:
            return True
        if any(self.region(r) for r in d.regions):
            return True
        region = d.region
        return region is not None and self.region(region)

    # -- regions -------------------------------------------------------------------
    def region(self, r: Region) -> bool:
        words = self.region_words
        if words is None:
            return True
        return any(
            w == "all" or _id_matches(w, "region", r.id) or w == r.name for w in words
        )

    def region_by_bus(self, r: Region) -> bool:
        return self.decoder_by_bus(r.decoder)

    def region_by_port(self, r: Region) -> bool:
        return self.port(r.decoder.port, ANCESTRY)

    def region_by_decoder(self, r: Region) -> bool:
        return self.decoder(r.decoder)


def _words(text: str | None) -> list[str] | None:
    return None if text is None else split_words(text)
