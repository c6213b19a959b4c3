"""Fixture format: a TOML description of a CXL platform, parsed into frozen dataclasses.

A fixture describes a topology, not a tree: host bridges with their CFMWS windows,
root ports, switches, type-3 devices, firmware-committed regions and a few platform
facts (memory block size, auto-online policy, boot RAM). `load_fixture` validates it
and resolves everything the tree builder needs (PCI addresses, bus numbers, memdev
numbers, probe order), so that `sim.build` only has to write files.

Every problem is reported as a FixtureError naming the file, the key path
(`host_bridges[1].windows[0].size`), the line where it can be found, and what is
wrong. The format is documented in docs/fixtures.md.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources

from cxltool.sysfs.mailbox_payloads import HEALTH_STATUS, MEDIA_STATES

MiB = 1 << 20
GiB = 1 << 30
# CXL partitions, HPA windows and region sizes all come in 256 MiB units.
CXL_ALIGN = 256 * MiB

KINDS = ("acpi", "cxl_test")
AUTO_ONLINE = ("online", "online_movable", "online_kernel", "offline")
SOFT_RESERVED = ("cxl", "system_ram")
REGION_MODES = ("ram", "pmem")
VALID_WAYS = (1, 2, 3, 4, 6, 8, 12, 16)
VALID_GRANULARITY = (256, 512, 1024, 2048, 4096, 8192, 16384)
# HDM decoder counts the capability register can encode.
HDM_COUNTS = (1, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32)
MAX_MEMDEVS = 65536

_SIZE_RE = re.compile(r"^\s*(\d+)\s*(?:([kmgtp])(?:i?b)?|(b))?\s*$", re.IGNORECASE)
_SHIFT = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50}
_DEVFN_RE = re.compile(r"^([0-9a-fA-F]{1,2})\.([0-7])$")
_HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$")


class FixtureError(Exception):
    """A fixture that cannot be loaded: file, key path, line and reason."""

    def __init__(self, file: str, key: str, reason: str, line: int | None = None) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        self.line = line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {reason}" if key else f"{where}: {reason}")


# ---------------------------------------------------------------------------
# The resolved topology
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    kind: str = "acpi"
    memory_block_size: int = 128 * MiB
    auto_online: str = "online"
    boot_ram: int = 2 * GiB
    cpus: int = 2
    numa_nodes: int = 1
    soft_reserved: str = "cxl"
    kmem: bool = True
    memdev_major: int = 250
    nmem_major: int = 244
    ndctl_major: int = 245
    dax_major: int = 252


@dataclass(frozen=True)
class Window:
    """One CFMWS entry: root decoder `decoder0.<index>`."""

    index: int
    base: int
    size: int
    targets: tuple[int, ...]  # host bridge uids, in interleave order
    granularity: int
    ram: bool
    pmem: bool
    type2: bool
    type3: bool
    qos_class: int
    locked: bool
    node: int  # the NUMA node memory in this window joins
    key: str = field(default="", compare=False)

    @property
    def ways(self) -> int:
        return len(self.targets)


@dataclass(frozen=True)
class Device:
    """A type-3 memory device (one memdev)."""

    name: str
    host: str  # the parent device's directory name: PCI address or platform device
    serial: int
    ram: int
    pmem: int
    label_storage_size: int
    firmware_version: str
    numa_node: int
    payload_max: int
    hdm_decoders: int
    memdev: int
    probe_order: int
    cdat: bool
    qos_class: int | None
    sanitize: bool
    secure_erase: bool
    poison: bool
    firmware_update: bool
    host_bridge: int = 0  # uid of the host bridge above
    route: tuple[int, ...] = ()  # dport ids from the host bridge down to the device
    bus: int | None = None  # PCI bus the device sits on (acpi platforms)
    # What the device answers through its mailbox, as the objects ndctl prints:
    # ((command, ((key, value), ...)), ...) in ndctl's key order. A command left out
    # fails on this device, so ndctl omits its key.
    mailbox: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    key: str = field(default="", compare=False)

    @property
    def capacity(self) -> int:
        return self.ram + self.pmem

    def mailbox_answers(self) -> dict[str, dict[str, object]]:
        """The mailbox answers by command (`health`, `partition_info`, ...)."""
        return {command: dict(items) for command, items in self.mailbox}


@dataclass(frozen=True)
class Switch:
    """A CXL switch: an upstream port and its downstream ports."""

    host: str
    hdm_decoders: int
    cdat: bool
    ports: tuple[Port, ...]
    bus: int | None = None  # PCI bus of the upstream port
    secondary_bus: int | None = None
    subordinate_bus: int | None = None
    key: str = field(default="", compare=False)


@dataclass(frozen=True)
class Port:
    """A downstream port (root port or switch downstream port) and what is below it."""

    port: int  # the port number, which is the dport id
    host: str
    device: Device | None = None
    switch: Switch | None = None
    bus: int | None = None
    secondary_bus: int | None = None
    subordinate_bus: int | None = None
    key: str = field(default="", compare=False)


@dataclass(frozen=True)
class HostBridge:
    uid: int
    host: str  # pci<segment>:<bus> or the platform device name
    segment: int
    bus: int
    subordinate_bus: int
    hdm_decoders: int
    acpi_path: str
    rch: bool
    root_ports: tuple[Port, ...]
    device: Device | None = None  # the restricted device below an RCH host bridge
    key: str = field(default="", compare=False)


@dataclass(frozen=True)
class Region:
    """A region firmware committed before the OS booted (auto-discovered)."""

    index: int
    window: int
    devices: tuple[str, ...]  # device names, in position order
    start: int
    size: int
    granularity: int
    mode: str
    locked: bool
    key: str = field(default="", compare=False)

    @property
    def ways(self) -> int:
        return len(self.devices)


@dataclass(frozen=True)
class Topology:
    name: str
    description: str
    source: str
    params: tuple[tuple[str, int], ...]
    platform: Platform
    host_bridges: tuple[HostBridge, ...]
    windows: tuple[Window, ...]
    regions: tuple[Region, ...]

    def devices(self) -> list[Device]:
        """Every device, in fixture (depth-first) order."""
        out: list[Device] = []
        for hb in self.host_bridges:
            if hb.device is not None:
                out.append(hb.device)
            for rp in hb.root_ports:
                out.extend(_port_devices(rp))
        return out

    def device(self, name: str) -> Device:
        for dev in self.devices():
            if dev.name == name:
                return dev
        raise KeyError(name)

    def host_bridge(self, uid: int) -> HostBridge:
        for hb in self.host_bridges:
            if hb.uid == uid:
                return hb
        raise KeyError(uid)

    def with_devices(self, changes: dict[str, dict]) -> Topology:
        """A copy with some devices' fields replaced (e.g. another memdev numbering)."""

        def port(p: Port) -> Port:
            dev = p.device
            if dev is not None and dev.name in changes:
                dev = replace(dev, **changes[dev.name])
            sw = p.switch
            if sw is not None:
                sw = replace(sw, ports=tuple(port(q) for q in sw.ports))
            return replace(p, device=dev, switch=sw)

        hbs = []
        for hb in self.host_bridges:
            dev = hb.device
            if dev is not None and dev.name in changes:
                dev = replace(dev, **changes[dev.name])
            hbs.append(replace(hb, device=dev, root_ports=tuple(port(p) for p in hb.root_ports)))
        return replace(self, host_bridges=tuple(hbs))


def _port_devices(port: Port) -> list[Device]:
    if port.device is not None:
        return [port.device]
    if port.switch is not None:
        out: list[Device] = []
        for p in port.switch.ports:
            out.extend(_port_devices(p))
        return out
    return []


# ---------------------------------------------------------------------------
# Value parsing
# ---------------------------------------------------------------------------


def parse_size(value: object) -> int:
    """Bytes from an integer or a string such as "256M", "4GiB" or "0x10000000"."""
    if isinstance(value, bool):
        raise ValueError("expected a size, got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"size {value} is negative")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower().startswith("0x"):
            try:
                return int(text, 16)
            except ValueError:
                pass
        m = _SIZE_RE.match(text)
        if m:
            unit = m.group(2)
            return int(m.group(1)) << (_SHIFT[unit.lower()] if unit else 0)
        raise ValueError(f'{value!r} is not a size (write 268435456, "256M" or "4G")')
    raise ValueError(f"expected a size, got {type(value).__name__}")


def format_size(n: int) -> str:
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


# ---------------------------------------------------------------------------
# Line lookup for error messages
# ---------------------------------------------------------------------------

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\-.\" ]+?)\s*=")


def _split_path(key: str) -> list[str]:
    """`a[1].b` -> ["a", "[1]", "b"]."""
    parts: list[str] = []
    for piece in key.split("."):
        m = re.match(r"^([^\[]*)((?:\[\d+\])*)$", piece)
        if not m:
            parts.append(piece)
            continue
        if m.group(1):
            parts.append(m.group(1))
        parts.extend(re.findall(r"\[\d+\]", m.group(2)))
    return parts


def find_line(text: str, key: str) -> int | None:
    """The line where key path `key` (or its nearest written ancestor) is set."""
    target = _split_path(key)
    if not target:
        return None
    counters: dict[tuple[str, ...], int] = {}
    table: list[str] = []
    best: tuple[int, int] | None = None  # (matched length, line)
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _HEADER_RE.match(line)
        if m:
            names = [n.strip().strip('"') for n in m.group(2).split(".")]
            # Rebuild the concrete path: every array-of-tables prefix takes its
            # latest index, the last name of a [[header]] advances its counter.
            concrete: list[str] = []
            for i, name in enumerate(names):
                concrete.append(name)
                logical = tuple(n for n in concrete if not n.startswith("["))
                is_last = i == len(names) - 1
                if is_last and m.group(1) == "[[":
                    counters[logical] = counters.get(logical, -1) + 1
                    for k in list(counters):
                        if len(k) > len(logical) and k[: len(logical)] == logical:
                            del counters[k]
                    concrete.append(f"[{counters[logical]}]")
                elif logical in counters:
                    concrete.append(f"[{counters[logical]}]")
            table = concrete
            path = table
        else:
            k = _KEY_RE.match(line)
            if not k or line.lstrip().startswith("#"):
                continue
            path = table + [n.strip().strip('"') for n in k.group(1).split(".")]
        n = 0
        while n < min(len(path), len(target)) and path[n] == target[n]:
            n += 1
        if n == len(path) and (best is None or n > best[0]):
            best = (n, lineno)
            if n == len(target):
                break
    return best[1] if best else None


# ---------------------------------------------------------------------------
# A checked view of one TOML table
# ---------------------------------------------------------------------------


class _Ctx:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text

    def error(self, key: str, reason: str) -> FixtureError:
        return FixtureError(self.file, key, reason, find_line(self.text, key) if key else None)


class _Table:
    """Reads typed keys from one table and rejects keys nobody asked for."""

    def __init__(self, ctx: _Ctx, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise ctx.error(path, f"must be a table, got {_typename(data)}")
        self.ctx = ctx
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, reason: str) -> FixtureError:
        return self.ctx.error(self.key(name), reason)

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str) -> object:
        self.seen.add(name)
        return self.data.get(name)

    def int(
        self, name: str, default: int | None = None, lo: int | None = None, hi: int | None = None
    ) -> int:
        v = self.raw(name)
        if v is None:
            if default is None:
                raise self.error(name, "is required")
            return default
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(name, f"must be an integer, got {_typename(v)}")
        if lo is not None and v < lo:
            raise self.error(name, f"must be at least {lo}, got {v}")
        if hi is not None and v > hi:
            raise self.error(name, f"must be at most {hi}, got {v}")
        return v

    def opt_int(self, name: str, lo: int | None = None, hi: int | None = None) -> int | None:
        if self.data.get(name) is None:
            self.seen.add(name)
            return None
        return self.int(name, lo=lo, hi=hi)

    def bool(self, name: str, default: bool) -> bool:
        v = self.raw(name)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.error(name, f"must be true or false, got {_typename(v)}")
        return v

    def str(self, name: str, default: str | None = None) -> str:
        v = self.raw(name)
        if v is None:
            if default is None:
                raise self.error(name, "is required")
            return default
        if not isinstance(v, str):
            raise self.error(name, f"must be a string, got {_typename(v)}")
        return v

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        v = self.str(name, default)
        if v not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}; got {v!r}")
        return v

    def size(self, name: str, default: int | None = None) -> int:
        v = self.raw(name)
        if v is None:
            if default is None:
                raise self.error(name, "is required")
            return default
        try:
            return parse_size(v)
        except ValueError as e:
            raise self.error(name, str(e)) from None

    def table(self, name: str) -> _Table | None:
        v = self.raw(name)
        if v is None:
            return None
        return _Table(self.ctx, v, self.key(name))

    def tables(self, name: str) -> list[_Table]:
        v = self.raw(name)
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.error(name, f"must be an array of tables, got {_typename(v)}")
        return [_Table(self.ctx, item, f"{self.key(name)}[{i}]") for i, item in enumerate(v)]

    def done(self) -> None:
        extra = [k for k in self.data if k not in self.seen]
        if extra:
            allowed = ", ".join(sorted(self.seen))
            raise self.error(extra[0], f"unknown key (known here: {allowed})")


def _typename(v: object) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a float"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a table"
    return type(v).__name__


# ---------------------------------------------------------------------------
# Mailbox answers: what `cxl list -H/-A/-I/-F` shows for a device
# ---------------------------------------------------------------------------

MAILBOX_COMMANDS = ("health", "alert_config", "partition_info", "firmware")


@dataclass(frozen=True)
class _Range:
    lo: int
    hi: int


# Value kinds of the answer keys besides ranges and choices.
_BOOL = "bool"
_SIZE = "size"
_VERSION = "version"
_U16 = _Range(0, 0xFFFF)
_U32 = _Range(0, 0xFFFFFFFF)
_PERCENT = _Range(0, 100)
_LEVELS = ("normal", "warning", "critical", "unknown")
_CORRECTED_LEVELS = ("normal", "warning", "unknown")

# Keys of each answer in ndctl's order, with their value kinds.
_HEALTH_KEYS: dict[str, object] = {
    **{name: _BOOL for name in HEALTH_STATUS + MEDIA_STATES},
    "ext_life_used": _LEVELS,
    "ext_temperature": _LEVELS,
    "ext_corrected_volatile": _CORRECTED_LEVELS,
    "ext_corrected_persistent": _CORRECTED_LEVELS,
    "life_used_percent": _PERCENT,
    "temperature": _Range(0, 0xFFFE),  # ndctl leaves 0xffff ("not reported") out
    "dirty_shutdowns": _U32,
    "volatile_errors": _U32,
    "pmem_errors": _U32,
}
_ALERTS = (
    "life_used",
    "dev_over_temperature",
    "dev_under_temperature",
    "corrected_volatile_mem_err",
    "corrected_pmem_err",
)
_ALERT_CONFIG_KEYS: dict[str, object] = {
    **{f"{a}_prog_warn_threshold_valid": _BOOL for a in _ALERTS},
    **{f"{a}_prog_warn_threshold_writable": _BOOL for a in _ALERTS},
    "life_used_crit_alert_threshold": _PERCENT,
    "life_used_prog_warn_threshold": _PERCENT,
    "dev_over_temperature_crit_alert_threshold": _U16,
    "dev_under_temperature_crit_alert_threshold": _U16,
    "dev_over_temperature_prog_warn_threshold": _U16,
    "dev_under_temperature_prog_warn_threshold": _U16,
    "corrected_volatile_mem_err_prog_warn_threshold": _U16,
    "corrected_pmem_err_prog_warn_threshold": _U16,
}
# Shown only when the partition alignment is non-zero.
_PARTITION_ALIGNED = (
    "active_volatile_size",
    "active_persistent_size",
    "next_volatile_size",
    "next_persistent_size",
)
_PARTITION_KEYS: dict[str, object] = {
    name: _SIZE
    for name in (
        "total_size",
        "volatile_only_size",
        "persistent_only_size",
        "partition_alignment_size",
        *_PARTITION_ALIGNED,
    )
}
FW_SLOTS = 4  # slot_1_version .. slot_4_version
_FIRMWARE_KEYS: dict[str, object] = {
    "num_slots": _Range(1, FW_SLOTS),
    "active_slot": _Range(1, FW_SLOTS),
    "staged_slot": _Range(1, FW_SLOTS),
    "online_activate_capable": _BOOL,
    **{f"slot_{n}_version": _VERSION for n in range(1, FW_SLOTS + 1)},
    "fw_update_in_progress": _BOOL,
    "remaining_size": _SIZE,
}

# A device with nothing to report: what a given but empty health or alert_config
# table answers.
_HEALTHY: dict[str, object] = {
    **{name: name == "media_normal" for name in HEALTH_STATUS + MEDIA_STATES},
    "ext_life_used": "normal",
    "ext_temperature": "normal",
    "ext_corrected_volatile": "normal",
    "ext_corrected_persistent": "normal",
    "dirty_shutdowns": 0,
    "volatile_errors": 0,
    "pmem_errors": 0,
}
_ALERTS_OFF: dict[str, object] = {
    name: False if kind == _BOOL else 0 for name, kind in _ALERT_CONFIG_KEYS.items()
}

# QEMU's type-3 device identifies its firmware as "BWFW VERSION 00" but names the
# active slot "BWFW VERSION 0" in GET_FW_INFO (the captured `cxl list -F` shows both).
QEMU_FW_REVISION = "BWFW VERSION 00"
QEMU_FW_SLOT_REVISION = "BWFW VERSION 0"
# The cxl_test mock: three slots named by number, slot 2 active, no live activation.
_MOCK_FIRMWARE: dict[str, object] = {
    "num_slots": 3,
    "active_slot": 2,
    "online_activate_capable": False,
    "slot_1_version": "cxl_test_fw_001",
    "slot_2_version": "cxl_test_fw_002",
    "slot_3_version": "cxl_test_fw_003",
    "fw_update_in_progress": False,
}


def default_firmware(kind: str, firmware_version: str) -> dict[str, object]:
    """GET_FW_INFO of a device that the fixture says nothing about."""
    if kind == "cxl_test":
        return dict(_MOCK_FIRMWARE)
    slot = QEMU_FW_SLOT_REVISION if firmware_version == QEMU_FW_REVISION else firmware_version
    return {
        "num_slots": 2,
        "active_slot": 1,
        "online_activate_capable": True,
        "slot_1_version": slot,
        "fw_update_in_progress": False,
    }


def default_partition_info(ram: int, pmem: int, alignment: int) -> dict[str, object]:
    """IDENTIFY + GET_PARTITION_INFO of a device with these active partitions.

    Without an alignment the capacity cannot be repartitioned: all of it is volatile-
    or persistent-only. With one, all of it is partitionable and no change is pending.
    """
    info: dict[str, object] = {
        "total_size": ram + pmem,
        "volatile_only_size": 0 if alignment else ram,
        "persistent_only_size": 0 if alignment else pmem,
        "partition_alignment_size": alignment,
    }
    if alignment:
        info.update(
            active_volatile_size=ram,
            active_persistent_size=pmem,
            next_volatile_size=0,
            next_persistent_size=0,
        )
    return info


def _answer_value(t: _Table, name: str, kind: object) -> object:
    if kind == _BOOL:
        return t.bool(name, False)
    if kind == _SIZE:
        v = t.size(name)
        if v % CXL_ALIGN:
            raise t.error(name, f"capacities come in 256M units, got {v:#x}")
        return v
    if kind == _VERSION:
        v = t.str(name)
        if len(v) > 16 or not all(" " <= c <= "~" for c in v):
            raise t.error(name, "at most 16 printable ASCII characters")
        return v
    if isinstance(kind, _Range):
        return t.int(name, lo=kind.lo, hi=kind.hi)
    assert isinstance(kind, tuple)
    return t.choice(name, kind, "")


def _given(t: _Table, keys: dict[str, object]) -> dict[str, object]:
    """The keys t sets, read and checked; any other key is an error."""
    given = {name: _answer_value(t, name, kind) for name, kind in keys.items() if t.has(name)}
    t.seen.update(keys)
    t.done()
    return given


def _ordered(answer: dict[str, object], keys: dict[str, object]) -> dict[str, object]:
    return {k: answer[k] for k in keys if k in answer}


def health_answer(t: _Table) -> dict[str, object]:
    given = _given(t, _HEALTH_KEYS)
    answer = {**_HEALTHY, **given}
    if "media_normal" not in given and any(given.get(m) for m in MEDIA_STATES):
        answer["media_normal"] = False
    flagged = [m for m in MEDIA_STATES if answer[m]]
    if len(flagged) > 1:
        raise t.error(
            flagged[1] if flagged[1] in given else flagged[0],
            f"the device reports one media status; {flagged[0]} and {flagged[1]} are both true",
        )
    return _ordered(answer, _HEALTH_KEYS)


def alert_config_answer(t: _Table) -> dict[str, object]:
    return _ordered({**_ALERTS_OFF, **_given(t, _ALERT_CONFIG_KEYS)}, _ALERT_CONFIG_KEYS)


def firmware_answer(t: _Table, base: dict[str, object]) -> dict[str, object]:
    given = _given(t, _FIRMWARE_KEYS)
    if given.get("fw_update_in_progress"):
        raise t.error(
            "fw_update_in_progress", "a fixture describes boot, when no update is in progress"
        )
    if "remaining_size" in given:
        raise t.error("remaining_size", "only reported while an update is in progress")
    answer = {**base, **given}
    slots = answer["num_slots"]
    assert isinstance(slots, int)
    for name in ("active_slot", "staged_slot"):
        slot = answer.get(name)
        if isinstance(slot, int) and slot > slots:
            blame = name if name in given else "num_slots"
            raise t.error(blame, f"{name} {slot} is beyond num_slots ({slots})")
    for n in range(1, FW_SLOTS + 1):
        name = f"slot_{n}_version"
        if n > slots and answer.get(name) and name in given:
            raise t.error(name, f"there is no slot {n} (num_slots = {slots})")
        # An empty slot has no version, and ndctl prints none.
        if n > slots or answer.get(name) == "":
            answer.pop(name, None)
    return _ordered(answer, _FIRMWARE_KEYS)


# Makes the error for a partition_info key: at the key if the fixture wrote it.
_Blame = Callable[[str, str], FixtureError]


def partition_answer(
    t: _Table | None, dev: _Table, ram: int, pmem: int, alignment: int
) -> dict[str, object]:
    """The partition_info answer: derived from the device, with what t sets."""
    given = _given(t, _PARTITION_KEYS) if t is not None else {}
    align = given.get("partition_alignment_size", alignment)
    assert isinstance(align, int)
    if t is not None and dev.has("partition_alignment") and align != alignment:
        raise t.error(
            "partition_alignment_size",
            f"differs from the device's partition_alignment ({format_size(alignment)})",
        )

    def error(name: str, reason: str) -> FixtureError:
        if t is None:
            return dev.error("partition_alignment", reason)
        return t.error(name, reason) if name in given else t.ctx.error(t.path, reason)

    info = {**default_partition_info(ram, pmem, align), **given}
    if not align:
        for name in _PARTITION_ALIGNED:
            if name in given:
                raise error(name, "only reported with a non-zero partition_alignment_size")
    _check_partitions(info, ram, pmem, error)
    return _ordered(info, _PARTITION_KEYS)


def _check_partitions(info: dict, ram: int, pmem: int, error: _Blame) -> None:
    """The partition sizes the kernel turns into ram/size and pmem/size agree with them."""
    if info["total_size"] != ram + pmem:
        raise error("total_size", f"must be the device's ram + pmem ({format_size(ram + pmem)})")
    align = info["partition_alignment_size"]
    # Without an alignment the kernel sizes the partitions from the *_only sizes.
    volatile, persistent = "volatile_only_size", "persistent_only_size"
    if align:
        volatile, persistent = "active_volatile_size", "active_persistent_size"
    for name, only, want, what in (
        (volatile, "volatile_only_size", ram, "ram"),
        (persistent, "persistent_only_size", pmem, "pmem"),
    ):
        if info[name] != want:
            raise error(name, f"must be the device's {what} ({format_size(want)})")
        if align and (want < info[only] or (want - info[only]) % align):
            raise error(
                only,
                f"{what} ({format_size(want)}) must be {only} ({format_size(info[only])}) "
                f"plus a multiple of partition_alignment_size ({format_size(align)})",
            )
    if align:
        _check_next_partitions(info, align, error)


def _check_next_partitions(info: dict, align: int, error: _Blame) -> None:
    # Both zero: no change pending; otherwise they split the whole capacity anew.
    nv, np_ = info["next_volatile_size"], info["next_persistent_size"]
    if nv == np_ == 0:
        return
    if nv + np_ != info["total_size"]:
        raise error(
            "next_volatile_size",
            "next_volatile_size + next_persistent_size must be 0 (no change pending) or total_size",
        )
    for name, only in (
        ("next_volatile_size", "volatile_only_size"),
        ("next_persistent_size", "persistent_only_size"),
    ):
        if info[name] < info[only] or (info[name] - info[only]) % align:
            raise error(name, f"must be {only} plus a multiple of partition_alignment_size")


def _command_table(box: _Table, command: str) -> _Table | bool | None:
    """A command's answer table (an empty one for `true`), False, or None if not given."""
    v = box.raw(command)
    if v is None or v is False:
        return v
    if v is True:
        v = {}
    if not isinstance(v, dict):
        raise box.error(command, f"must be true, false or a table, got {_typename(v)}")
    return _Table(box.ctx, v, box.key(command))


def mailbox_answers(
    dev: _Table, kind: str, fields: dict, alignment: int
) -> tuple[tuple[str, tuple[tuple[str, object], ...]], ...]:
    """A device's mailbox answers, from its `mailbox` key and its capacity."""
    raw = dev.raw("mailbox")
    if raw is False:
        return ()
    if raw is not None and raw is not True and not isinstance(raw, dict):
        raise dev.error("mailbox", f"must be true, false or a table, got {_typename(raw)}")
    box = _Table(dev.ctx, raw if isinstance(raw, dict) else {}, dev.key("mailbox"))
    tables = {command: _command_table(box, command) for command in MAILBOX_COMMANDS}
    box.done()
    answers: dict[str, dict[str, object]] = {}
    # Health and alert answers only when the fixture gives them: the captured QEMU
    # devices answered neither command.
    health, alerts = tables["health"], tables["alert_config"]
    if isinstance(health, _Table):
        answers["health"] = health_answer(health)
    if isinstance(alerts, _Table):
        answers["alert_config"] = alert_config_answer(alerts)
    part = tables["partition_info"]
    if part is not False:
        sub = part if isinstance(part, _Table) else None
        answers["partition_info"] = partition_answer(
            sub, dev, fields["ram"], fields["pmem"], alignment
        )
    fw = tables["firmware"]
    if fw is not False:
        base = default_firmware(kind, fields["firmware_version"])
        answers["firmware"] = firmware_answer(fw, base) if isinstance(fw, _Table) else base
    return tuple((command, tuple(answer.items())) for command, answer in answers.items())


# ---------------------------------------------------------------------------
# Parsing the document
# ---------------------------------------------------------------------------


@dataclass
class _DraftDevice:
    t: _Table
    name: str | None
    host: str | None
    devfn: tuple[int, int]
    fields: dict
    memdev: int | None
    probe_order: int | None


class _Parser:
    """Turns a TOML document into a Topology, checking as it goes."""

    def __init__(self, ctx: _Ctx, doc: dict, name: str, params: dict[str, int] | None) -> None:
        self.ctx = ctx
        self.doc = doc
        self.name = name
        self.params_in = dict(params or {})
        self.params: dict[str, int] = {}
        self.drafts: list[_DraftDevice] = []

    # -- platform ------------------------------------------------------------
    def platform(self, top: _Table) -> Platform:
        t = top.table("platform")
        if t is None:
            return Platform()
        kind = t.choice("kind", KINDS, "acpi")
        block = t.size("memory_block_size", 128 * MiB)
        if not _is_pow2(block) or block < 16 * MiB:
            raise t.error("memory_block_size", "must be a power of two of at least 16M")
        boot = t.size("boot_ram", 2 * GiB)
        if boot <= 0 or boot % block:
            raise t.error("boot_ram", f"must be a positive multiple of the block size ({block})")
        p = Platform(
            kind=kind,
            memory_block_size=block,
            auto_online=t.choice("auto_online", AUTO_ONLINE, "online"),
            boot_ram=boot,
            cpus=t.int("cpus", 2, lo=1, hi=8192),
            numa_nodes=t.int("numa_nodes", 1, lo=1, hi=64),
            soft_reserved=t.choice("soft_reserved", SOFT_RESERVED, "cxl"),
            kmem=t.bool("kmem", True),
            memdev_major=t.int("memdev_major", 250, lo=1, hi=4095),
            nmem_major=t.int("nmem_major", 244, lo=1, hi=4095),
            ndctl_major=t.int("ndctl_major", 245, lo=1, hi=4095),
            dax_major=t.int("dax_major", 252, lo=1, hi=4095),
        )
        t.done()
        if p.cpus < p.numa_nodes:
            raise t.error("cpus", f"fewer CPUs ({p.cpus}) than NUMA nodes ({p.numa_nodes})")
        majors = [p.memdev_major, p.nmem_major, p.ndctl_major, p.dax_major]
        if len(set(majors)) != len(majors):
            raise t.error("memdev_major", "character device majors must differ from each other")
        return p

    # -- devices ---------------------------------------------------------------
    def device(self, t: _Table, kind: str, default_host: str | None) -> _DraftDevice:
        test = kind == "cxl_test"
        ram = t.size("ram", 0)
        pmem = t.size("pmem", 0)
        for name, v in (("ram", ram), ("pmem", pmem)):
            if v % CXL_ALIGN:
                raise t.error(name, f"must be a multiple of 256M, got {v}")
        if ram + pmem == 0:
            raise t.error("ram", "a device needs ram or pmem capacity")
        fw = t.str("firmware_version", "mock fw v1 " if test else "BWFW VERSION 00")
        if len(fw) > 16:
            raise t.error("firmware_version", "at most 16 characters")
        payload = t.int("payload_max", 4096 if test else 2048)
        if not _is_pow2(payload) or not 256 <= payload <= 1 << 20:
            raise t.error("payload_max", "must be a power of two from 256 to 1048576")
        decoders = t.int("hdm_decoders", 8 if test else 4)
        if decoders not in HDM_COUNTS:
            raise t.error("hdm_decoders", f"must be one of {', '.join(map(str, HDM_COUNTS))}")
        fields = dict(
            serial=t.int("serial", lo=0, hi=(1 << 64) - 1),
            ram=ram,
            pmem=pmem,
            label_storage_size=t.size("label_storage_size", 131072 if test else 0),
            firmware_version=fw,
            numa_node=t.int("numa_node", -1, lo=-1, hi=1023),
            payload_max=payload,
            hdm_decoders=decoders,
            cdat=t.bool("cdat", not test),
            qos_class=t.opt_int("qos_class", lo=-1, hi=(1 << 31) - 1),
            sanitize=t.bool("sanitize", True),
            secure_erase=t.bool("secure_erase", test),
            poison=t.bool("poison", True),
            firmware_update=t.bool("firmware_update", True),
        )
        alignment = t.size("partition_alignment", 0)
        if alignment % CXL_ALIGN:
            raise t.error("partition_alignment", f"must be a multiple of 256M, got {alignment:#x}")
        fields["mailbox"] = mailbox_answers(t, kind, fields, alignment)
        name = t.str("name", "") or None
        host = self.host_name(t, default_host)
        devfn = self.devfn(t, (0, 0))
        d = _DraftDevice(
            t=t,
            name=name,
            host=host,
            devfn=devfn,
            fields=fields,
            memdev=t.opt_int("memdev", lo=0, hi=MAX_MEMDEVS - 1),
            probe_order=t.opt_int("probe_order", lo=0),
        )
        t.done()
        return d

    def host_name(self, t: _Table, default: str | None) -> str | None:
        v = t.str("host", "") or default
        if v is not None and not _HOST_RE.match(v):
            raise t.error("host", f"{v!r} is not a usable device name")
        return v

    def devfn(self, t: _Table, default: tuple[int, int]) -> tuple[int, int]:
        v = t.str("pci", "")
        if not v:
            return default
        m = _DEVFN_RE.match(v)
        if not m or int(m.group(1), 16) > 0x1F:
            raise t.error("pci", f'{v!r} is not a device.function on the bus (like "00.0")')
        return int(m.group(1), 16), int(m.group(2))

    # -- the tree below a host bridge -------------------------------------------
    def port(self, t: _Table, kind: str, index: int, level: str) -> dict:
        """A raw downstream port: number, devfn, host name, and device or switch."""
        test = kind == "cxl_test"
        number = t.int("port", lo=0, hi=255)
        devfn = self.devfn(t, (index % 32, index // 32))
        if test:
            default_host = (
                f"cxl_root_port.{number}" if level == "root" else (f"cxl_switch_dport.{number}")
            )
        else:
            default_host = None
        host = self.host_name(t, default_host)
        dev_t = t.table("device")
        sw_t = t.table("switch")
        if dev_t is not None and sw_t is not None:
            raise t.error("switch", "a port holds either a device or a switch, not both")
        entry = {"t": t, "port": number, "devfn": devfn, "host": host}
        if dev_t is not None:
            entry["device"] = self.device(dev_t, kind, f"cxl_mem.{number}" if test else None)
            self.drafts.append(entry["device"])
        if sw_t is not None:
            entry["switch"] = self.switch(sw_t, kind, number)
        t.done()
        return entry

    def switch(self, t: _Table, kind: str, parent_port: int) -> dict:
        test = kind == "cxl_test"
        decoders = t.int("hdm_decoders", 8 if test else 4)
        if decoders not in HDM_COUNTS:
            raise t.error("hdm_decoders", f"must be one of {', '.join(map(str, HDM_COUNTS))}")
        entry = {
            "t": t,
            "devfn": self.devfn(t, (0, 0)),
            "host": self.host_name(t, f"cxl_switch_uport.{parent_port}" if test else None),
            "hdm_decoders": decoders,
            "cdat": t.bool("cdat", not test),
        }
        ports = [self.port(p, kind, i, "switch") for i, p in enumerate(t.tables("ports"))]
        if not ports:
            raise t.error("ports", "a switch needs at least one downstream port")
        _unique([p["port"] for p in ports], t, "ports", "port", "port number")
        _unique([p["devfn"] for p in ports], t, "ports", "pci", "PCI device.function")
        entry["ports"] = ports
        t.done()
        return entry

    # -- host bridges -------------------------------------------------------------
    def host_bridges(self, top: _Table, platform: Platform) -> list[dict]:
        kind = platform.kind
        test = kind == "cxl_test"
        out = []
        for t in top.tables("host_bridges"):
            rch = t.bool("rch", False)
            if rch and not test:
                raise t.error(
                    "rch", 'restricted (CXL 1.1) host bridges need platform.kind = "cxl_test"'
                )
            if test:
                uid = t.int("uid", lo=0, hi=0xFFFFFFFF)
                segment, bus = 0, 0
                t.seen.update({"bus", "segment"})
                if t.has("bus") or t.has("segment"):
                    raise t.error("bus", "cxl_test host bridges are platform devices: no PCI bus")
            else:
                bus = t.int("bus", lo=0, hi=255)
                segment = t.int("segment", 0, lo=0, hi=0xFFFF)
                uid = t.int("uid", bus, lo=0, hi=0xFFFFFFFF)
            decoders = t.int("hdm_decoders", 8 if test else 4)
            if decoders not in HDM_COUNTS:
                raise t.error("hdm_decoders", f"must be one of {', '.join(map(str, HDM_COUNTS))}")
            entry = {
                "t": t,
                "uid": uid,
                "segment": segment,
                "bus": bus,
                "rch": rch,
                "hdm_decoders": decoders,
                "acpi_path": t.str("acpi_path", f"\\_SB_.CL{bus:02X}" if not test else ""),
                "host": self.host_name(
                    t, f"cxl_host_bridge.{uid}" if test else f"pci{segment:04x}:{bus:02x}"
                ),
                "windows": [self.window(w) for w in t.tables("windows")],
            }
            ports = [self.port(p, kind, j, "root") for j, p in enumerate(t.tables("root_ports"))]
            dev_t = t.table("device")
            if rch:
                if ports:
                    raise t.error("root_ports", "an RCH host bridge has no root ports")
                if dev_t is None:
                    raise t.error("device", "an RCH host bridge needs its device")
                entry["device"] = self.device(dev_t, kind, f"cxl_rcd.{uid}")
                self.drafts.append(entry["device"])
            else:
                if dev_t is not None:
                    raise t.error("device", "only RCH host bridges hold a device directly")
                if not ports:
                    raise t.error("root_ports", "a host bridge needs at least one root port")
            _unique([p["port"] for p in ports], t, "root_ports", "port", "port number")
            _unique([p["devfn"] for p in ports], t, "root_ports", "pci", "PCI device.function")
            entry["root_ports"] = ports
            t.done()
            out.append(entry)
        if not out:
            raise top.ctx.error("host_bridges", "a fixture needs at least one host bridge")
        return out

    def window(self, t: _Table) -> dict:
        base = t.size("base")
        size = t.size("size")
        for name, v in (("base", base), ("size", size)):
            if v % CXL_ALIGN:
                raise t.error(name, f"must be a multiple of 256M, got {v:#x}")
        if size == 0:
            raise t.error("size", "must not be zero")
        gran = t.size("granularity", 256)
        if gran not in VALID_GRANULARITY:
            raise t.error("granularity", f"must be one of {', '.join(map(str, VALID_GRANULARITY))}")
        raw_targets = t.raw("targets")
        if raw_targets is not None and (
            not isinstance(raw_targets, list)
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in raw_targets)
        ):
            raise t.error("targets", "must be an array of host bridge uids")
        w = {
            "t": t,
            "base": base,
            "size": size,
            "granularity": gran,
            "targets": raw_targets,
            "ram": t.bool("ram", True),
            "pmem": t.bool("pmem", True),
            "type2": t.bool("type2", True),
            "type3": t.bool("type3", True),
            "qos_class": t.int("qos_class", 0, lo=-1, hi=(1 << 31) - 1),
            "locked": t.bool("locked", False),
            "node": t.opt_int("node", lo=0, hi=1023),
        }
        t.done()
        return w

    # -- generation ------------------------------------------------------------------
    def generate(self, top: _Table, platform: Platform) -> list[dict] | None:
        """Expand a [generate] table into host-bridge entries like hand-written ones."""
        t = top.table("generate")
        if t is None:
            if self.params_in:
                raise self.ctx.error("generate", "parameters given, but this fixture has none")
            return None
        if top.has("host_bridges") or top.has("regions"):
            raise t.error("layout", "a generated fixture cannot also list host_bridges or regions")
        t.choice("layout", ("grid",), "grid")
        names = ("host_bridges", "root_ports", "devices_per_port")
        for name in self.params_in:
            if name not in names:
                raise t.error(name, f"unknown parameter (parameters: {', '.join(names)})")
        for name in names:
            default = t.int(name, 1, lo=1)
            value = self.params_in.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise t.error(name, f"parameter must be a positive integer, got {value!r}")
            self.params[name] = value
        nhb, nrp, ndev = (self.params[n] for n in names)
        if nhb * nrp * ndev > MAX_MEMDEVS:
            raise t.error("host_bridges", f"{nhb * nrp * ndev} devices; at most {MAX_MEMDEVS}")
        if nrp > 256:
            raise t.error("root_ports", "at most 256 root ports per host bridge")
        if ndev > 256:
            raise t.error("devices_per_port", "at most 256 devices per port")
        serial_base = t.int("serial_base", 1, lo=0)
        window_base = t.size("window_base", 0x1000000000)
        tmpl = t.table("device") or _Table(self.ctx, {}, t.key("device"))
        wtmpl = t.table("window") or _Table(self.ctx, {}, t.key("window"))
        dev_tmpl = dict(tmpl.data)
        win_tmpl = dict(wtmpl.data)
        for banned in ("serial", "memdev", "probe_order", "name", "host", "pci"):
            if banned in dev_tmpl:
                raise tmpl.error(banned, "is set per device by the generator")
        for banned in ("base", "targets"):
            if banned in win_tmpl:
                raise wtmpl.error(banned, "is set per window by the generator")
        dev_tmpl.setdefault("ram", "256M")
        t.done()
        # Buses a host bridge uses: its own, then per root port one bus, and
        # with a switch one more for the switch's internal bus and one per port.
        per_rp = 1 if ndev == 1 else 2 + ndev
        need = 1 + nrp * per_rp
        if need > 256:
            raise t.error(
                "root_ports", f"a host bridge would need {need} PCI bus numbers; at most 256"
            )
        try:
            dev_size = parse_size(dev_tmpl.get("ram", 0)) + parse_size(dev_tmpl.get("pmem", 0))
        except ValueError as e:
            raise tmpl.error("ram", str(e)) from None
        win_size = win_tmpl.pop("size", None)
        if win_size is None:
            win_size = -(-dev_size * nrp * ndev // CXL_ALIGN) * CXL_ALIGN
        else:
            try:
                win_size = parse_size(win_size)
            except ValueError as e:
                raise wtmpl.error("size", str(e)) from None
        serial = serial_base
        segment, bus = 0, 0x0C
        hbs = []
        base = window_base
        for _ in range(nhb):
            if bus + need > 256:
                segment, bus = segment + 1, 0
            rps = []
            for r in range(nrp):
                if ndev == 1:
                    rps.append({"port": r, "device": dict(dev_tmpl, serial=serial)})
                    serial += 1
                else:
                    ports = []
                    for d in range(ndev):
                        ports.append({"port": d, "device": dict(dev_tmpl, serial=serial)})
                        serial += 1
                    rps.append({"port": r, "switch": {"ports": ports}})
            uid = segment * 256 + bus
            hbs.append(
                {
                    "uid": uid,
                    "segment": segment,
                    "bus": bus,
                    "windows": [dict(win_tmpl, base=base, size=win_size, targets=[uid])],
                    "root_ports": rps,
                }
            )
            base += win_size
            bus += need
        return hbs

    # -- regions -------------------------------------------------------------------------
    def regions(self, top: _Table) -> list[dict]:
        out = []
        for t in top.tables("regions"):
            devices = t.raw("devices")
            if (
                not isinstance(devices, list)
                or not devices
                or not all(isinstance(d, str) for d in devices)
            ):
                raise t.error("devices", "must be a non-empty array of device names")
            gran = t.raw("granularity")
            r = {
                "t": t,
                "window": t.int("window", lo=0),
                "devices": devices,
                "size": t.size("size"),
                "granularity": None if gran is None else t.size("granularity"),
                "mode": t.choice("mode", REGION_MODES, "ram"),
                "locked": t.bool("locked", False),
                "start": None if t.raw("start") is None else t.size("start"),
            }
            t.done()
            out.append(r)
        return out

    # -- the whole document ---------------------------------------------------------------
    def parse(self) -> Topology:
        top = _Table(self.ctx, self.doc, "")
        description = top.str("description", "")
        platform = self.platform(top)
        generated = self.generate(top, platform)
        if generated is not None:
            doc = dict(self.doc, host_bridges=generated)
            top = _Table(self.ctx, doc, "")
            top.seen.update({"description", "platform", "generate"})
        hbs = self.host_bridges(top, platform)
        regions = self.regions(top)
        top.done()
        return _Resolver(self.ctx, platform, hbs, regions, self.drafts).resolve(
            name=self.name,
            description=description,
            params=tuple(sorted(self.params.items())),
        )


def _unique(values: list, t: _Table, array: str, key: str, what: str) -> None:
    seen: dict = {}
    for i, v in enumerate(values):
        if v in seen:
            raise t.ctx.error(
                f"{t.key(array)}[{i}].{key}", f"duplicate {what} (also {array}[{seen[v]}])"
            )
        seen[v] = i


# ---------------------------------------------------------------------------
# Resolution: addresses, numbering and the cross-checks
# ---------------------------------------------------------------------------


class _Resolver:
    def __init__(
        self, ctx: _Ctx, platform: Platform, hbs: list[dict], regions: list[dict], drafts: list
    ) -> None:
        self.ctx = ctx
        self.platform = platform
        self.raw_hbs = hbs
        self.raw_regions = regions
        self.drafts = drafts
        self.pci = platform.kind == "acpi"
        self.memdev_of: dict[int, int] = {}  # id(draft) -> memdev number
        self.probe_of: dict[int, int] = {}
        self.names: dict[int, str] = {}

    def resolve(self, name: str, description: str, params: tuple) -> Topology:
        self.number_devices()
        hbs = [self.host_bridge(h) for h in self.raw_hbs]
        self.check_hosts(hbs)
        windows = self.windows(hbs)
        topo = Topology(
            name=name,
            description=description,
            source=self.ctx.file,
            params=params,
            platform=self.platform,
            host_bridges=tuple(hbs),
            windows=tuple(windows),
            regions=(),
        )
        regions = _RegionChecker(self.ctx, topo).check(self.raw_regions)
        return replace(topo, regions=tuple(regions))

    # -- memdev numbers and probe order -----------------------------------------
    def number_devices(self) -> None:
        taken: dict[int, _DraftDevice] = {}
        for d in self.drafts:
            if d.memdev is not None:
                if d.memdev in taken:
                    raise self.ctx.error(d.t.key("memdev"), f"memdev {d.memdev} used twice")
                taken[d.memdev] = d
        free = (n for n in range(MAX_MEMDEVS + len(self.drafts)) if n not in taken)
        for d in self.drafts:
            self.memdev_of[id(d)] = d.memdev if d.memdev is not None else next(free)
        orders: dict[int, _DraftDevice] = {}
        for d in self.drafts:
            if d.probe_order is not None:
                if d.probe_order in orders:
                    raise self.ctx.error(d.t.key("probe_order"), "probe_order used twice")
                orders[d.probe_order] = d
        for d in self.drafts:
            self.probe_of[id(d)] = (
                d.probe_order if d.probe_order is not None else self.memdev_of[id(d)]
            )
        serials: dict[int, _DraftDevice] = {}
        for d in self.drafts:
            s = d.fields["serial"]
            if s in serials:
                raise self.ctx.error(d.t.key("serial"), f"serial {s:#x} used twice")
            serials[s] = d

    # -- tree with addresses ----------------------------------------------------
    def host_bridge(self, h: dict) -> HostBridge:
        self.next_bus = h["bus"] + 1
        ports = tuple(self.port(p, h, h["bus"]) for p in h["root_ports"])
        device = None
        if h.get("device") is not None:
            device = self.make_device(h["device"], h["uid"], (), None)
        sub = self.next_bus - 1 if self.pci else 0
        if self.pci and sub > 255:
            raise self.ctx.error(
                h["t"].key("root_ports"),
                f"needs PCI buses {h['bus']:#04x}-{sub:#x}; bus numbers end at 0xff",
            )
        return HostBridge(
            uid=h["uid"],
            host=h["host"],
            segment=h["segment"],
            bus=h["bus"],
            subordinate_bus=max(sub, h["bus"]),
            hdm_decoders=h["hdm_decoders"],
            acpi_path=h["acpi_path"],
            rch=h["rch"],
            root_ports=ports,
            device=device,
            key=h["t"].path,
        )

    def take_bus(self) -> int:
        bus = self.next_bus
        self.next_bus += 1
        return bus

    def bdf(self, segment: int, bus: int, devfn: tuple[int, int]) -> str:
        return f"{segment:04x}:{bus:02x}:{devfn[0]:02x}.{devfn[1]:x}"

    def port(self, p: dict, hb: dict, bus: int, route: tuple[int, ...] = ()) -> Port:
        route = route + (p["port"],)
        seg = hb["segment"]
        host = p["host"] or self.bdf(seg, bus, p["devfn"])
        if not self.pci:
            sec = None
        else:
            sec = self.take_bus()
        device = switch = None
        if "device" in p:
            device = self.make_device(p["device"], hb["uid"], route, sec)
        elif "switch" in p:
            s = p["switch"]
            s_host = s["host"] or self.bdf(seg, sec, s["devfn"]) if self.pci else s["host"]
            inner = self.take_bus() if self.pci else None
            ports = tuple(self.port(q, hb, inner, route) for q in s["ports"])
            switch = Switch(
                host=s_host,
                hdm_decoders=s["hdm_decoders"],
                cdat=s["cdat"],
                ports=ports,
                bus=sec,
                secondary_bus=inner,
                subordinate_bus=self.next_bus - 1 if self.pci else None,
                key=s["t"].path,
            )
        return Port(
            port=p["port"],
            host=host,
            device=device,
            switch=switch,
            bus=bus if self.pci else None,
            secondary_bus=sec,
            subordinate_bus=self.next_bus - 1 if self.pci else None,
            key=p["t"].path,
        )

    def make_device(
        self, d: _DraftDevice, hb_uid: int, route: tuple[int, ...], bus: int | None
    ) -> Device:
        if self.pci:
            seg = next(h["segment"] for h in self.raw_hbs if h["uid"] == hb_uid)
            host = d.host or self.bdf(seg, bus, d.devfn)
        else:
            host = d.host
        return Device(
            name=d.name or host,
            host=host,
            memdev=self.memdev_of[id(d)],
            probe_order=self.probe_of[id(d)],
            host_bridge=hb_uid,
            route=route,
            bus=bus,
            key=d.t.path,
            **d.fields,
        )

    # -- cross checks ---------------------------------------------------------------
    def check_hosts(self, hbs: list[HostBridge]) -> None:
        uids: dict[int, HostBridge] = {}
        for hb in hbs:
            if hb.uid in uids:
                raise self.ctx.error(f"{hb.key}.uid", f"uid {hb.uid} used twice")
            uids[hb.uid] = hb
        if self.pci:
            spans: list[tuple[int, int, int, HostBridge]] = []
            for hb in hbs:
                for seg, lo, hi, other in spans:
                    if seg == hb.segment and lo <= hb.subordinate_bus and hb.bus <= hi:
                        raise self.ctx.error(
                            f"{hb.key}.bus",
                            f"PCI buses {hb.bus:#04x}-{hb.subordinate_bus:#04x} overlap "
                            f"those of {other.key} ({lo:#04x}-{hi:#04x})",
                        )
                spans.append((hb.segment, hb.bus, hb.subordinate_bus, hb))
        names: dict[str, str] = {}
        devices = [d for hb in hbs for d in _hb_devices(hb)]
        for dev in devices:
            if dev.name in names:
                raise self.ctx.error(
                    f"{dev.key}.name",
                    f"device name {dev.name!r} used twice (also {names[dev.name]})",
                )
            names[dev.name] = dev.key
        if not self.pci:
            # cxl_test platform devices share one directory namespace per type.
            hosts: dict[str, str] = {}
            for hb in hbs:
                for host, key in _platform_hosts(hb):
                    if host in hosts:
                        raise self.ctx.error(
                            key, f"platform device {host!r} used twice (also {hosts[host]})"
                        )
                    hosts[host] = key
        for dev in devices:
            if dev.numa_node >= self.platform.numa_nodes:
                raise self.ctx.error(
                    f"{dev.key}.numa_node",
                    f"node {dev.numa_node} does not exist (platform.numa_nodes = "
                    f"{self.platform.numa_nodes})",
                )

    def windows(self, hbs: list[HostBridge]) -> list[Window]:
        uids = {hb.uid for hb in hbs}
        out: list[Window] = []
        next_node = self.platform.numa_nodes
        boot = boot_ram_ranges(self.platform)
        for h in self.raw_hbs:
            for w in h["windows"]:
                t = w["t"]
                targets = tuple(w["targets"] if w["targets"] is not None else [h["uid"]])
                if len(targets) not in VALID_WAYS:
                    raise t.error(
                        "targets",
                        f"{len(targets)} targets; a window interleaves "
                        f"{', '.join(map(str, VALID_WAYS))} ways",
                    )
                for uid in targets:
                    if uid not in uids:
                        raise t.error("targets", f"no host bridge with uid {uid}")
                if len(set(targets)) != len(targets):
                    raise t.error("targets", "a host bridge appears twice")
                if w["size"] % (CXL_ALIGN * len(targets)):
                    raise t.error("size", f"must be a multiple of 256M x {len(targets)} ways")
                node = w["node"]
                if node is None:
                    node, next_node = next_node, next_node + 1
                win = Window(
                    index=len(out),
                    base=w["base"],
                    size=w["size"],
                    targets=targets,
                    granularity=w["granularity"],
                    ram=w["ram"],
                    pmem=w["pmem"],
                    type2=w["type2"],
                    type3=w["type3"],
                    qos_class=w["qos_class"],
                    locked=w["locked"],
                    node=node,
                    key=t.path,
                )
                for other in out:
                    if win.base < other.base + other.size and other.base < win.base + win.size:
                        raise t.error("base", f"window overlaps {other.key}")
                for lo, hi in boot:
                    if win.base < hi and lo < win.base + win.size:
                        raise t.error("base", f"window overlaps boot RAM [{lo:#x}-{hi - 1:#x}]")
                out.append(win)
        return out


def _hb_devices(hb: HostBridge) -> list[Device]:
    out = [hb.device] if hb.device else []
    for rp in hb.root_ports:
        out.extend(_port_devices(rp))
    return out


def _platform_hosts(hb: HostBridge) -> list[tuple[str, str]]:
    out = [(hb.host, hb.key)]
    if hb.device is not None:
        out.append((hb.device.host, hb.device.key))

    def walk(p: Port) -> None:
        out.append((p.host, p.key))
        if p.device is not None:
            out.append((p.device.host, p.device.key))
        if p.switch is not None:
            out.append((p.switch.host, p.switch.key))
            for q in p.switch.ports:
                walk(q)

    for rp in hb.root_ports:
        walk(rp)
    return out


def boot_ram_ranges(p: Platform) -> list[tuple[int, int]]:
    """Where boot RAM sits: below 2G, or split around the 32-bit PCI hole (q35 layout)."""
    if p.boot_ram >= 0xB0000000:
        low = 0x80000000
        return [(0, low), (1 << 32, (1 << 32) + p.boot_ram - low)]
    return [(0, p.boot_ram)]


class _RegionChecker:
    """Checks firmware-committed regions the way the kernel would when assembling them."""

    def __init__(self, ctx: _Ctx, topo: Topology) -> None:
        self.ctx = ctx
        self.topo = topo
        self.devices = {d.name: d for d in topo.devices()}

    def check(self, raw: list[dict]) -> list[Region]:
        out: list[Region] = []
        used_dpa: dict[str, int] = {}
        for i, r in enumerate(raw):
            t = r["t"]
            if r["window"] >= len(self.topo.windows):
                raise t.error(
                    "window", f"no window {r['window']} (there are {len(self.topo.windows)})"
                )
            win = self.topo.windows[r["window"]]
            if r["mode"] == "pmem":
                raise t.error(
                    "mode",
                    "only ram regions can be firmware-committed here (pmem auto-assembly "
                    "needs labels, which are not simulated)",
                )
            if not (win.type3 and win.ram):
                raise t.error("window", f"{win.key} cannot hold type-3 ram regions")
            ways = len(r["devices"])
            if ways not in VALID_WAYS:
                raise t.error(
                    "devices",
                    f"{ways} devices; regions interleave {', '.join(map(str, VALID_WAYS))} ways",
                )
            if ways % win.ways or not _is_pow2(ways // win.ways):
                raise t.error("devices", f"{ways} ways cannot sit in a {win.ways}-way window")
            gran = r["granularity"] if r["granularity"] is not None else win.granularity
            if gran not in VALID_GRANULARITY:
                raise t.error(
                    "granularity", f"must be one of {', '.join(map(str, VALID_GRANULARITY))}"
                )
            if win.ways > 1 and gran != win.granularity:
                raise t.error(
                    "granularity",
                    f"must equal the window's ({win.granularity}) when it interleaves",
                )
            size = r["size"]
            if size <= 0 or size % (CXL_ALIGN * ways):
                raise t.error("size", f"must be a positive multiple of 256M x {ways} ways")
            start = r["start"]
            if start is None:
                start = self.first_fit(win, size, out)
                if start is None:
                    raise t.error("size", f"no free {format_size(size)} left in {win.key}")
            elif start % CXL_ALIGN:
                raise t.error("start", "must be 256M aligned")
            if start < win.base or start + size > win.base + win.size:
                raise t.error("start", f"region does not fit in {win.key}")
            for other in out:
                if start < other.start + other.size and other.start < start + size:
                    raise t.error("start", f"overlaps {other.key}")
            names = r["devices"]
            for pos, name in enumerate(names):
                if name not in self.devices:
                    raise self.ctx.error(f"{t.key('devices')}[{pos}]", f"no device named {name!r}")
                if names.index(name) != pos:
                    raise self.ctx.error(f"{t.key('devices')}[{pos}]", f"{name!r} appears twice")
                dev = self.devices[name]
                want = win.targets[pos % win.ways]
                if dev.host_bridge != want:
                    raise self.ctx.error(
                        f"{t.key('devices')}[{pos}]",
                        f"position {pos} must be below host bridge {want} (window target "
                        f"{pos % win.ways}), but {name!r} is below {dev.host_bridge}",
                    )
                used_dpa[name] = used_dpa.get(name, 0) + size // ways
                if used_dpa[name] > dev.ram:
                    raise self.ctx.error(
                        f"{t.key('devices')}[{pos}]",
                        f"{name!r} has {format_size(dev.ram)} of ram; its regions need "
                        f"{format_size(used_dpa[name])}",
                    )
            region = Region(
                index=i,
                window=win.index,
                devices=tuple(names),
                start=start,
                size=size,
                granularity=gran,
                mode=r["mode"],
                locked=r["locked"],
                key=t.path,
            )
            self.check_levels(region, win, t)
            out.append(region)
        self.check_decoder_counts(out)
        return out

    def first_fit(self, win: Window, size: int, placed: list[Region]) -> int | None:
        start = win.base
        for other in sorted(placed, key=lambda r: r.start):
            if other.start + other.size <= start or other.window != win.index:
                continue
            if start + size <= other.start:
                break
            start = max(start, other.start + other.size)
        return start if start + size <= win.base + win.size else None

    def check_levels(self, region: Region, win: Window, t: _Table) -> None:
        # Below the host bridges, position p picks its dport at each level by the
        # next mixed-radix digit of p; dports are numbered by first use.
        depths = {len(self.devices[n].route) for n in region.devices}
        if len(depths) > 1:
            raise t.error("devices", "the devices of a region must sit at the same depth")
        for _level, stride, groups in region_levels(self.topo, region):
            level_ways: dict[int, str] = {}
            for port_key, members in groups.items():
                order: list[int] = []
                for _pos, dport in members:
                    if dport not in order:
                        order.append(dport)
                ways = len(order)
                if not _is_pow2(ways) or ways > 8:
                    raise t.error(
                        "devices", f"{ways} ports used below {port_key}; must be 1, 2, 4 or 8"
                    )
                level_ways.setdefault(ways, port_key)
                for pos, dport in members:
                    if order.index(dport) != (pos // stride) % ways:
                        raise self.ctx.error(
                            f"{t.key('devices')}[{pos}]",
                            f"position {pos} cannot go through port {dport} of {port_key} "
                            "(interleave order: positions that share a port must be "
                            f"{stride * ways} apart)",
                        )
            if len(level_ways) > 1:
                keys = " and ".join(level_ways.values())
                raise t.error("devices", f"{keys} would interleave over different numbers of ports")

    def check_decoder_counts(self, regions: list[Region]) -> None:
        use: dict[str, list[Region]] = {}
        for region in regions:
            for _level, _stride, groups in region_levels(self.topo, region):
                for port_key in groups:
                    use.setdefault(port_key, []).append(region)
            for name in region.devices:
                use.setdefault("device:" + name, []).append(region)
        limits = port_decoder_limits(self.topo)
        for port_key, rs in use.items():
            limit = limits.get(port_key)
            if limit is not None and len(rs) > limit:
                last = rs[limit]
                raise self.ctx.error(
                    f"{last.key}.devices",
                    f"{port_key.removeprefix('device:')} has {limit} HDM decoder(s); "
                    f"{len(rs)} regions need one each",
                )


def region_levels(topo: Topology, region: Region) -> list[tuple[int, int, dict]]:
    """Per level below the root: (level, stride, {port key: [(position, dport id)]}).

    Level 1 is the host bridges, then each switch level. The stride of a level is the
    product of the interleave ways above it.
    """
    win = topo.windows[region.window]
    devices = [topo.device(n) for n in region.devices]
    depth = max(len(d.route) for d in devices)
    levels = []
    stride = win.ways
    for level in range(depth):
        groups: dict[str, list[tuple[int, int]]] = {}
        for pos, dev in enumerate(devices):
            if level >= len(dev.route):
                continue
            key = port_key(dev.host_bridge, dev.route[:level])
            groups.setdefault(key, []).append((pos, dev.route[level]))
        levels.append((level + 1, stride, groups))
        # Every port at this level spreads over the same number of dports.
        ways = max(len({d for _, d in g}) for g in groups.values())
        stride *= ways
    return levels


def port_key(hb_uid: int, route: tuple[int, ...]) -> str:
    """A name for the CXL port reached from host bridge hb_uid through dports `route`."""
    return f"hb{hb_uid}" + "".join(f"/{r}" for r in route)


def port_decoder_limits(topo: Topology) -> dict[str, int]:
    """How many decoders each port and device offers, keyed like `port_key`."""
    passthrough = topo.platform.kind == "acpi"
    limits: dict[str, int] = {}

    def walk(hb: HostBridge, ports: tuple[Port, ...], route: tuple[int, ...], n: int) -> None:
        limits[port_key(hb.uid, route)] = 1 if passthrough and len(ports) == 1 else n
        for p in ports:
            if p.device is not None:
                limits["device:" + p.device.name] = p.device.hdm_decoders
            if p.switch is not None:
                walk(hb, p.switch.ports, route + (p.port,), p.switch.hdm_decoders)

    for hb in topo.host_bridges:
        if hb.device is not None:
            limits["device:" + hb.device.name] = hb.device.hdm_decoders
        if hb.root_ports:
            walk(hb, hb.root_ports, (), hb.hdm_decoders)
    return limits


# ---------------------------------------------------------------------------
# Finding and loading fixtures
# ---------------------------------------------------------------------------


def _fixture_dirs() -> list[str]:
    dirs: list[str] = []
    try:
        installed = resources.files("cxltool") / "_fixtures"
        if installed.is_dir():
            dirs.append(str(installed))
    except (ModuleNotFoundError, OSError):
        pass
    # Running from a checkout: src/cxltool/sim/topology.py -> <repo>/fixtures/sysfs
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    checkout = os.path.join(repo, "fixtures", "sysfs")
    if os.path.isdir(checkout):
        dirs.append(checkout)
    return dirs


def _builtin_paths() -> dict[str, str]:
    found: dict[str, str] = {}
    for d in _fixture_dirs():
        for entry in sorted(os.listdir(d)):
            if entry.endswith(".toml"):
                found.setdefault(entry[: -len(".toml")], os.path.join(d, entry))
    return found


def fixture_path(name: str) -> str:
    """The file of built-in fixture `name`."""
    paths = _builtin_paths()
    if name not in paths:
        known = ", ".join(sorted(paths)) or "none found"
        raise FixtureError(name, "", f"no built-in fixture of that name (built-in: {known})")
    return paths[name]


def _description(text: str, doc: dict | None = None) -> str:
    if doc is not None and isinstance(doc.get("description"), str):
        return doc["description"]
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            return s.lstrip("#").strip()
        m = re.match(r'^description\s*=\s*"(.*)"\s*$', s)
        return m.group(1) if m else ""
    return ""


def builtin_fixtures() -> list[tuple[str, str]]:
    """(name, description) of every built-in fixture, by name."""
    out = []
    for name, path in sorted(_builtin_paths().items()):
        try:
            with open(path, encoding="utf-8") as f:
                out.append((name, _description(f.read())))
        except OSError:
            out.append((name, ""))
    return out


def _is_path(spec: str) -> bool:
    return os.sep in spec or spec.endswith(".toml") or os.path.isfile(spec)


def load_fixture(path_or_name: str, params: dict[str, int] | None = None) -> Topology:
    """Parse and validate a fixture file (or built-in fixture name) into a Topology."""
    path = path_or_name if _is_path(path_or_name) else fixture_path(path_or_name)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise FixtureError(path, "", f"cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FixtureError(path, "", f"not UTF-8 text: {e}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        line = int(m.group(1)) if m else None
        raise FixtureError(path, "", f"not valid TOML: {e}", line) from None
    name = os.path.basename(path)
    name = name[: -len(".toml")] if name.endswith(".toml") else name
    ctx = _Ctx(path, text)
    topo = _Parser(ctx, doc, name, params).parse()
    if not topo.description:
        topo = replace(topo, description=_description(text))
    return topo
