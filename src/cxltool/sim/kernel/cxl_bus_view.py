"""What the emulated kernel needs to know about the CXL bus, read from the tree.

The tree is the state: which devices are on the bus, which driver each one is
bound to, where ports hang and which dports they have. A `CxlBusView` answers
those questions for the store handlers of the cxl drivers, leaving out what the
transaction being planned has already removed (`gone`), so that later steps of
one write see the effects of the earlier ones.
"""

from __future__ import annotations

import os
import re

from cxltool.sysfs import SysfsError, paths
from cxltool.sysfs.root import SimulatedRoot

_PORT_NAME = re.compile(r"^(root|port|endpoint)(\d+)$")
_MEMDEV_NAME = re.compile(r"^mem(\d+)$")


def port_number(name: str) -> int | None:
    """N of rootN, portN or endpointN; None for other names."""
    m = _PORT_NAME.match(name)
    return int(m.group(2)) if m else None


def is_memdev_name(name: str) -> bool:
    return _MEMDEV_NAME.match(name) is not None


def parent_dir(path: str) -> str:
    return paths.dirname(path)


class CxlBusView:
    """Reads of the CXL bus of one simulated root during one emulated write."""

    def __init__(self, root: SimulatedRoot) -> None:
        self.root = root
        self.gone: set[str] = set()  # device directories the plan has removed
        self.unbound: set[str] = set()  # devices the plan has detached from their driver
        self.bound: set[str] = set()  # devices the plan has attached to a driver
        self.added: dict[str, list[tuple[int, str]]] = {}  # ports planned, with their dports

    # -- existence ---------------------------------------------------------------
    def is_gone(self, path: str) -> bool:
        # The path or one of its ancestors: a walk up, not a scan of everything removed.
        while path:
            if path in self.gone:
                return True
            path = path[: path.rfind("/")]
        return False

    def exists(self, path: str) -> bool:
        if self.is_gone(path):
            return False
        return path in self.added or self.root.exists(path)

    def device_named(self, name: str) -> str | None:
        """Real path of the device `name` on the cxl bus, or None."""
        if not name or "/" in name or name in (".", ".."):
            return None
        link = paths.CXL_DEVICES + "/" + name
        if not self.root.islink(link):
            return None
        try:
            real = self.root.realpath(link)
        except SysfsError:
            return None
        return real if self.exists(real) and self.root.isdir(real) else None

    # -- drivers -------------------------------------------------------------------
    def driver(self, path: str) -> str | None:
        """Name of the driver the device is bound to, or None."""
        if path in self.unbound or self.is_gone(path):
            return None
        if path in self.bound:
            return "planned"
        return self.root.link_name(path + "/driver")

    def is_bound(self, path: str) -> bool:
        return self.driver(path) is not None

    # -- ports -----------------------------------------------------------------------
    def children(self, path: str, prefix: str) -> list[str]:
        """Child device directories named <prefix>N, in the directory's order."""
        out = []
        for name in self.root.listdir_opt(path):
            if name.startswith(prefix) and name[len(prefix) :].isdigit():
                child = path + "/" + name
                if not self.is_gone(child) and not self.root.islink(child):
                    out.append(child)
        return out

    def child_ports(self, path: str) -> list[str]:
        return self.children(path, "port") + self.children(path, "endpoint")

    def roots(self) -> list[str]:
        out = []
        for name in self.root.listdir_opt(paths.CXL_DEVICES):
            if name.startswith("root") and port_number(name) is not None:
                real = self.device_named(name)
                if real is not None:
                    out.append(real)
        return out

    def all_ports(self) -> list[str]:
        """Every root, host-bridge/switch and endpoint port, parents before children."""
        out: list[str] = []

        def visit(path: str) -> None:
            out.append(path)
            for child in self.child_ports(path):
                visit(child)

        for r in self.roots():
            visit(r)
        for path in self.added:
            if path not in out and not self.is_gone(path):
                out.append(path)
        return out

    def dports(self, port: str) -> list[tuple[int, str]]:
        """(id, device path) of the port's dportN links, by id (hardware port order)."""
        if port in self.added:
            return list(self.added[port])
        out = []
        for name in self.root.listdir_opt(port):
            if name.startswith("dport") and name[5:].isdigit():
                try:
                    out.append((int(name[5:]), self.root.realpath(port + "/" + name)))
                except SysfsError:
                    continue
        return sorted(out)

    def port_with_dport(self, device: str) -> tuple[str, int] | None:
        """The port one of whose dports is `device`, and that dport's id."""
        for port in self.all_ports():
            if is_endpoint(port):
                continue
            for did, target in self.dports(port):
                if target == device:
                    return port, did
        return None

    def endpoints_below(self, port: str) -> list[str]:
        """Endpoint ports at or below `port`."""
        if is_endpoint(port):
            return [] if self.is_gone(port) else [port]
        out = []
        for child in self.child_ports(port):
            out.extend(self.endpoints_below(child))
        return out

    def uport(self, port: str) -> str | None:
        try:
            return self.root.realpath(port + "/uport")
        except SysfsError:
            return None

    def endpoint_of_memdev(self, memdev: str) -> str | None:
        """The endpoint port whose uport is the memdev."""
        dport_dev = parent_dir(parent_dir(memdev))
        found = self.port_with_dport(dport_dev)
        candidates = [found[0]] if found else self.roots()
        for port in candidates:
            for ep in self.children(port, "endpoint"):
                if self.uport(ep) == memdev:
                    return ep
        return None

    def is_cxl_test(self, path: str) -> bool:
        """Whether the port tree `path` is in belongs to cxl_test's mock platform."""
        top = path
        while top != "/" and not is_root_port(top):
            top = parent_dir(top)
        host = self.uport(top)
        return host is not None and paths.basename(host).startswith("cxl_acpi")

    def host(self, path: str) -> str:
        return self.root.host(path)

    def listdir_host(self, path: str) -> list[str]:
        try:
            return os.listdir(self.root.host(path))
        except OSError:
            return []


def is_endpoint(path: str) -> bool:
    return paths.basename(path).startswith("endpoint")


def is_root_port(path: str) -> bool:
    name = paths.basename(path)
    return name.startswith("root") and port_number(name) is not None
