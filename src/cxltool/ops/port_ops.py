"""`cxl disable-port`, `enable-port` and `disable-bus`: finding the named ports and
buses the way ndctl does, its safety checks, and the binds and unbinds.

Port words are `cxl list -p` filters in single mode, tried against every port
below each bus (never the root itself), first match wins; with `-e` they are
endpoint filters tried against the endpoints of those ports. Disabling refuses
while enabled memdevs sit below (any memdev for a bus) unless forced; it unbinds
the port (the bus: the platform device the root hangs off) and flushes.
"""

from __future__ import annotations

import errno

from cxltool.objects.cparse import scan_int
from cxltool.objects.cxl import Bus, CxlSystem, Endpoint, Port
from cxltool.ops.cxl_filter import SINGLE, Filters
from cxltool.ops.memdev_action import ActionResult, Log, plural
from cxltool.ops.memdev_ops import bind_any_driver, enable_memdev, flush, is_enabled
from cxltool.sysfs import SysfsError

PORT_LOG = "cxl port"
BUS_LOG = "cxl bus"


class _Words:
    def __init__(self, **kw: str | None) -> None:
        for name in ("memdev", "serial", "bus", "port", "endpoint", "decoder", "region"):
            setattr(self, name + "_filter", kw.get(name))
        self.single = True


def find_port(system: CxlSystem, word: str) -> Port | None:
    filt = Filters(system, _Words(port=word))
    for bus in system.buses:
        for port in system.iter_ports(bus):
            if filt.port(port, SINGLE):
                return port
    return None


def find_endpoint(system: CxlSystem, word: str) -> Endpoint | None:
    filt = Filters(system, _Words(endpoint=word))
    for bus in system.buses:
        for port in system.iter_ports(bus):
            for ep in port.endpoints:
                if filt.endpoint(ep):
                    return ep
    return None


def find_bus(system: CxlSystem, word: str) -> Bus | None:
    filt = Filters(system, _Words(bus=word))
    return next((b for b in system.buses if filt.bus(b)), None)


def _memdevs_below(system: CxlSystem, port: Port) -> list:
    return [m for m in system.memdevs if any(d.maps_memdev(m) for d in port.dports)]


def _refuse(log: Log, fn: str, name: str, active: int, flag: str) -> int:
    many = active > 1
    log(
        fn,
        f"{name} hosts {active} memdev{plural(active)} which "
        f"{'are' if many else 'is'} part of an active region",
    )
    log(fn, f"See 'cxl list -M {flag} {name}' to see impacted device{plural(active)}")
    return -errno.EBUSY


def disable_port(system: CxlSystem, port: Port, log: Log, force: bool, endpoint: bool) -> int:
    if not is_enabled(system, port.path):
        return 0
    active = 0
    if endpoint and isinstance(port, Endpoint) and port.memdev is not None:
        active += 1
    for memdev in _memdevs_below(system, port):
        if is_enabled(system, memdev.path):
            active += 1
    if active and not force:
        return _refuse(log, "action_disable", port.name, active, "-p")
    return port_disable_invalidate(system, port, log)


def port_disable_invalidate(system: CxlSystem, port: Port, log: Log) -> int:
    fn = "cxl_port_disable_invalidate"
    if port.is_root:
        log.lib(fn, f"{port.name}: can not be disabled through this interface")
        return -errno.EINVAL
    if port.bus is None:
        log.lib(fn, f"{port.name}: failed to invalidate")
        return -errno.ENXIO
    try:
        system.root.write(port.path + "/driver/unbind", port.name)
    except SysfsError:
        pass  # libcxl ignores the write's result here
    if is_enabled(system, port.path):
        log.lib(fn, f"{port.name}: failed to disable")
        return -errno.EBUSY
    flush(system)
    return 0


def enable_port(system: CxlSystem, port: Port, log: Log, memdevs: bool) -> int:
    if not is_enabled(system, port.path):
        bind_any_driver(system, port.path)
        if not is_enabled(system, port.path):
            log.lib("cxl_port_enable", f"{port.name}: failed to enable")
            return -errno.ENXIO
    if not memdevs:
        return 0
    # The port's dports are read now that it is bound.
    fresh = CxlSystem(system.root)
    again = find_port_at(fresh, port.path) or port
    for memdev in _memdevs_below(fresh, again):
        enable_memdev(fresh, memdev, log)
    return 0


def find_port_at(system: CxlSystem, path: str) -> Port | None:
    for bus in system.buses:
        for p in [bus, *system.iter_ports(bus)]:
            if p.path == path:
                return p
            for ep in p.endpoints:
                if ep.path == path:
                    return ep
    return None


def disable_bus(system: CxlSystem, bus: Bus, log: Log, force: bool) -> int:
    active = 0
    for memdev in system.memdevs:
        ep = system.endpoint_of(memdev)
        if ep is not None and ep.bus is not None and ep.bus.path == bus.path:
            active += 1
    if active and not force:
        return _refuse(log, "action_disable", bus.name, active, "-b")
    uport = system.root.realpath(bus.path + "/uport")
    try:
        system.root.write(uport + "/driver/unbind", uport.rsplit("/", 1)[-1])
    except SysfsError as e:
        return -e.errno
    flush(system)
    return 0


def port_action(system_of, words: list[str], endpoint: bool, log: Log, action) -> ActionResult:
    """Run `action(system, port)` on the port (or endpoint) each word names first."""
    result = ActionResult()
    if "all" in words:
        # ndctl keeps only the first word, whatever it is.
        words = words[:1]
    for word in words:
        system = system_of()
        if endpoint:
            port = find_endpoint(system, word)
            if port is None:
                log("port_action", f"endpoint: {word} not found")
                continue
        else:
            port = find_port(system, word)
            if port is None:
                log("port_action", f"port: {word} not found")
                continue
        rc = action(system, port)
        if rc == 0:
            result.count += 1
        elif not result.err:
            result.err = rc
    return result


def valid_bus_words(words: list[str], log: Log) -> tuple[list[str], bool]:
    """Bus words: `all` (which replaces the first word), rootN or N; all bad is a usage error."""
    bad = 0
    for word in words:
        if word == "all":
            words = ["all"]
            break
        if scan_int(word, "root") is not None or scan_int(word) is not None:
            continue
        log("bus_action", f"'{word}' is not a valid bus identifier")
        bad += 1
    return words, bad == len(words)


def bus_action(system_of, words: list[str], action) -> ActionResult:
    result = ActionResult()
    for word in words:
        system = system_of()
        bus = find_bus(system, word)
        if bus is None:
            continue
        rc = action(system, bus)
        if rc == 0:
            result.count += 1
        elif not result.err:
            result.err = rc
    return result
