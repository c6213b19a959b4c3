"""The CXL objects the emulated kernel works on, found in the tree.

Ports, decoders, memdevs and regions are directories; their state is their
attributes plus the little the kernel keeps hidden (`.cxltool/fixture.json`).
These views read both through a KernelTree, so a store function sees its own
earlier changes. Structure (which port hosts what, which dport leads where) is
worked out once per view; attribute values are read every time they are needed.
"""

from __future__ import annotations

import errno
import re
from functools import cached_property

from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.kstr import ULLONG_MAX
from cxltool.sim.kernel.ktree import KernelTree
from cxltool.sysfs import paths

SZ_256M = 256 << 20
NO_RESOURCE = ULLONG_MAX

# Region configuration states, in the kernel's order.
IDLE, INTERLEAVE_ACTIVE, ACTIVE, RESET_PENDING, COMMIT = range(5)

_PORT_NAME = re.compile(r"^(root|port|endpoint)(\d+)$")
_DECODER_NAME = re.compile(r"^decoder(\d+)\.(\d+)$")
_REGION_NAME = re.compile(r"^region(\d+)$")
_DPORT_NAME = re.compile(r"^dport(\d+)$")
_REGION_STATE = "regions"  # kernel_state key: per-region facts sysfs does not show


def _int(text: str | None, default: int = 0) -> int:
    if text is None:
        return default
    try:
        return int(text, 0)
    except ValueError:
        return default


class Cxl:
    """The CXL side of one simulated root, for one store function."""

    def __init__(self, kt: KernelTree) -> None:
        self.kt = kt
        self._ports: dict[str, Port] = {}

    # -- hidden state --------------------------------------------------------------
    @property
    def state(self) -> dict:
        return self.kt.txn.kernel_state()

    def region_facts(self, name: str) -> dict:
        """What the kernel knows of a region beyond sysfs (read-only view)."""
        return self.state.get(_REGION_STATE, {}).get(name, {})

    def set_region_facts(self, name: str, **facts: object) -> None:
        table = self.state.setdefault(_REGION_STATE, {})
        entry = dict(table.get(name, {}))
        for key, value in facts.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        if entry:
            table[name] = entry
        else:
            table.pop(name, None)
        if not table:
            del self.state[_REGION_STATE]

    def forget_region(self, name: str) -> None:
        table = self.state.get(_REGION_STATE)
        if table is not None:
            table.pop(name, None)
            if not table:
                del self.state[_REGION_STATE]

    # -- lookups -------------------------------------------------------------------
    def bus_device(self, name: str) -> str | None:
        """The device directory of a device on the cxl bus, by name."""
        if not name or "/" in name or name in (".", ".."):
            return None
        return self.kt.realpath(f"{paths.CXL_DEVICES}/{name}")

    def port(self, path: str) -> Port:
        port = self._ports.get(path)
        if port is None:
            port = self._ports[path] = Port(self, path)
        return port

    def decoder(self, path: str) -> Decoder:
        return Decoder(self, path)

    def region(self, path: str) -> Region:
        return Region(self, path)

    @cached_property
    def root_platform(self) -> str | None:
        """Name of the platform device the CXL root hangs off."""
        for name in self.kt.listdir(paths.CXL_DEVICES):
            if _PORT_NAME.match(name) and name.startswith("root"):
                path = self.kt.realpath(f"{paths.CXL_DEVICES}/{name}")
                if path:
                    return path.rsplit("/", 2)[-2]
        return None

    @property
    def acpi(self) -> bool:
        """A real ACPI platform (not the cxl_test mock)."""
        return (self.root_platform or "").startswith("ACPI0017")

    def regions(self) -> list[Region]:
        """Every region on the bus."""
        out = []
        for name in self.kt.listdir(paths.CXL_DEVICES):
            if _REGION_NAME.match(name):
                path = self.kt.realpath(f"{paths.CXL_DEVICES}/{name}")
                if path:
                    out.append(Region(self, path))
        return out


class Port:
    """A CXL port: root, host bridge or switch ("switch"), or endpoint."""

    def __init__(self, cxl: Cxl, path: str) -> None:
        self.cxl = cxl
        self.kt = cxl.kt
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        m = _PORT_NAME.match(self.name)
        if not m:
            raise KernelError(errno.ENODEV)
        self.kind = {"root": "root", "port": "switch", "endpoint": "endpoint"}[m.group(1)]
        self.id = int(m.group(2))

    def __repr__(self) -> str:
        return f"Port({self.name})"

    @property
    def is_root(self) -> bool:
        return self.kind == "root"

    @property
    def is_endpoint(self) -> bool:
        return self.kind == "endpoint"

    @cached_property
    def parent(self) -> Port | None:
        if self.is_root:
            return None
        up = self.path.rsplit("/", 1)[0]
        return self.cxl.port(up) if _PORT_NAME.match(up.rsplit("/", 1)[-1]) else None

    @cached_property
    def dports(self) -> dict[int, str]:
        """Dport id -> the device it links to."""
        out = {}
        for name in self.kt.listdir(self.path):
            m = _DPORT_NAME.match(name)
            if m:
                target = self.kt.realpath(f"{self.path}/{name}")
                if target:
                    out[int(m.group(1))] = target
        return out

    def dport_to(self, device: str) -> int | None:
        """The id of the dport that links to `device`."""
        for did, target in self.dports.items():
            if target == device:
                return did
        return None

    @cached_property
    def parent_dport(self) -> str | None:
        return self.kt.realpath(self.path + "/parent_dport")

    @cached_property
    def uport(self) -> str | None:
        return self.kt.realpath(self.path + "/uport")

    @cached_property
    def decoders(self) -> list[Decoder]:
        found = []
        for name in self.kt.listdir(self.path):
            m = _DECODER_NAME.match(name)
            if m and int(m.group(1)) == self.id:
                found.append((int(m.group(2)), Decoder(self.cxl, f"{self.path}/{name}")))
        return [d for _, d in sorted(found)]

    @property
    def commit_end(self) -> int:
        return _int(self.kt.read(self.path + "/decoders_committed")) - 1

    def set_commit_end(self, value: int) -> None:
        self.kt.write(self.path + "/decoders_committed", value + 1)

    @cached_property
    def passthrough(self) -> bool:
        """A single-dport port on an ACPI platform: one decoder that never commits.

        Linux 6.12 gives such a host bridge or switch one passthrough decoder
        with no commit or reset operation of its own.
        """
        return self.cxl.acpi and not self.is_endpoint and len(self.dports) == 1

    @property
    def target_count(self) -> int:
        """How many targets each of this port's decoders can hold."""
        return 1 if self.passthrough else max(len(self.dports), 1)

    # -- endpoints -------------------------------------------------------------------
    @cached_property
    def memdev(self) -> str | None:
        """An endpoint's memdev directory."""
        return self.uport if self.is_endpoint else None

    def chain(self) -> list[Port]:
        """This port and its ancestors up to (not including) the root."""
        out: list[Port] = []
        port: Port | None = self
        while port is not None and not port.is_root:
            out.append(port)
            port = port.parent
        return out

    @cached_property
    def root(self) -> Port | None:
        port: Port | None = self
        while port is not None and not port.is_root:
            port = port.parent
        return port

    @cached_property
    def host_bridge(self) -> str | None:
        """The host bridge device above this port (the top port's parent_dport)."""
        chain = self.chain()
        return chain[-1].parent_dport if chain else None

    def dport_toward(self, below: Port) -> int | None:
        """The dport of this port that leads down to port `below` (or None)."""
        child: Port | None = below
        while child is not None and child.parent is not None and child.parent.path != self.path:
            child = child.parent
        if child is None or child.parent is None:
            return None
        device = child.parent_dport
        return self.dport_to(device) if device else None


class Decoder:
    """An HDM decoder: root, switch (host bridge or switch port) or endpoint."""

    def __init__(self, cxl: Cxl, path: str) -> None:
        self.cxl = cxl
        self.kt = cxl.kt
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        m = _DECODER_NAME.match(self.name)
        if not m:
            raise KernelError(errno.ENODEV)
        self.id = int(m.group(2))

    def __repr__(self) -> str:
        return f"Decoder({self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decoder) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @cached_property
    def port(self) -> Port:
        return self.cxl.port(self.path.rsplit("/", 1)[0])

    @property
    def devtype(self) -> str | None:
        return self.kt.read(self.path + "/devtype")

    @property
    def is_endpoint(self) -> bool:
        return self.devtype == "cxl_decoder_endpoint"

    @property
    def is_switch(self) -> bool:
        return self.devtype == "cxl_decoder_switch"

    def attr(self, name: str) -> str | None:
        return self.kt.read(f"{self.path}/{name}")

    def set(self, name: str, value: object) -> None:
        self.kt.write(f"{self.path}/{name}", value)

    # -- common ----------------------------------------------------------------
    @property
    def start(self) -> int:
        return _int(self.attr("start"))

    @property
    def size(self) -> int:
        return _int(self.attr("size"))

    def set_range(self, start: int, size: int) -> None:
        self.set("start", f"{start:#x}")
        self.set("size", f"{size:#x}")

    @property
    def ways(self) -> int:
        return _int(self.attr("interleave_ways"), 1)

    @property
    def granularity(self) -> int:
        return _int(self.attr("interleave_granularity"), 256)

    @property
    def locked(self) -> bool:
        return self.attr("locked") == "1"

    @property
    def region_name(self) -> str:
        return self.attr("region") or ""

    @property
    def target_ids(self) -> list[int]:
        text = self.attr("target_list") or ""
        return [int(w) for w in text.split(",") if w.strip().isdigit()]

    # -- endpoint decoders --------------------------------------------------------
    @property
    def mode(self) -> str:
        return self.attr("mode") or "none"

    @property
    def dpa_size(self) -> int:
        return _int(self.attr("dpa_size"))

    @property
    def dpa_resource(self) -> int:
        return _int(self.attr("dpa_resource"), NO_RESOURCE)

    @property
    def allocated(self) -> bool:
        return self.dpa_size > 0 and self.dpa_resource != NO_RESOURCE

    @property
    def memdev(self) -> str | None:
        return self.port.memdev


class Region:
    """A region below a root decoder."""

    def __init__(self, cxl: Cxl, path: str) -> None:
        self.cxl = cxl
        self.kt = cxl.kt
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        m = _REGION_NAME.match(self.name)
        if not m:
            raise KernelError(errno.ENODEV)
        self.id = int(m.group(1))

    def __repr__(self) -> str:
        return f"Region({self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Region) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @cached_property
    def root_decoder(self) -> Decoder:
        return self.cxl.decoder(self.path.rsplit("/", 1)[0])

    def attr(self, name: str) -> str | None:
        return self.kt.read(f"{self.path}/{name}")

    def set(self, name: str, value: object) -> None:
        self.kt.write(f"{self.path}/{name}", value)

    @property
    def mode(self) -> str:
        return self.attr("mode") or ""

    @property
    def ways(self) -> int:
        return _int(self.attr("interleave_ways"))

    @property
    def granularity(self) -> int:
        return _int(self.attr("interleave_granularity"))

    @property
    def size(self) -> int:
        return _int(self.attr("size"))

    @property
    def start(self) -> int:
        return _int(self.attr("resource"), NO_RESOURCE)

    @property
    def has_hpa(self) -> bool:
        return self.size > 0 and self.start != NO_RESOURCE

    @property
    def uuid(self) -> str:
        return self.attr("uuid") or ""

    @property
    def bound(self) -> bool:
        return self.kt.readlink_abs(self.path + "/driver") is not None

    def target_name(self, pos: int) -> str:
        return self.attr(f"target{pos}") or ""

    def targets(self) -> list[Decoder | None]:
        """The endpoint decoder in each position (None where the slot is empty)."""
        out: list[Decoder | None] = []
        for pos in range(self.ways):
            name = self.target_name(pos)
            path = self.cxl.bus_device(name) if name else None
            out.append(self.cxl.decoder(path) if path else None)
        return out

    @property
    def auto(self) -> bool:
        """Assembled by the kernel from firmware-committed decoders.

        Regions the emulator created for userspace are recorded as such; any
        other region in the tree came with it, as firmware-committed regions do.
        """
        return not self.cxl.region_facts(self.name).get("user")

    @property
    def state(self) -> int:
        if self.attr("commit") == "1":
            return COMMIT
        if not self.has_hpa:
            return IDLE
        if self.cxl.region_facts(self.name).get("setup_failed"):
            return INTERLEAVE_ACTIVE
        targets = self.targets()
        if targets and all(t is not None for t in targets):
            return ACTIVE
        return INTERLEAVE_ACTIVE

    def decoders(self) -> list[Decoder]:
        """Every decoder claimed by this region: endpoint, switch and host bridge."""
        out: list[Decoder] = []
        for ep in self.targets():
            if ep is None:
                continue
            for port in ep.port.chain():
                dec = ep if port.is_endpoint else region_decoder_at(port, self)
                if dec is not None and dec not in out:
                    out.append(dec)
        return out

    @property
    def locked(self) -> bool:
        """Locked: a claimed decoder (or the root decoder) has its lock bit set."""
        if self.root_decoder.locked:
            return True
        return any(d.locked for d in self.decoders())


def region_decoder_at(port: Port, region: Region) -> Decoder | None:
    """The decoder of a (non-endpoint) port that the region claims there."""
    for dec in port.decoders:
        if dec.region_name == region.name:
            return dec
    return None
