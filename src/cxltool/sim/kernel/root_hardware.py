"""What the platform firmware describes of a CXL root, kept for when cxl_acpi binds again.

cxl_acpi builds a root from the ACPI CEDT: one dport per host bridge, one root
decoder per CFMWS window, a port per (non-restricted) host bridge, and the nvdimm
bridge when a window can hold pmem. Unbinding the driver takes all of it away,
but the tables stay; the emulator keeps those facts in the kernel state
(`cxl_roots`), keyed by the root's platform device, recorded from the tree
before the root goes. The hardware behind each host-bridge port is recorded by
port_hardware, as for any port.
"""

from __future__ import annotations

from dataclasses import dataclass

from cxltool.sim.kernel.cxl_bus_view import CxlBusView, port_number
from cxltool.sim.kernel.ktree import shared_tree
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import paths

STATE_KEY = "cxl_roots"
DEFAULT_NDCTL_MAJOR = 245  # the builder's default (topology.Platform.ndctl_major)


@dataclass
class Window:
    """One CFMWS window as its root decoder showed it (satisfies shapes.WindowLike)."""

    start: int
    size: int
    ways: int
    granularity: int
    locked: bool
    target_list: str
    ram: bool
    pmem: bool
    type2: bool
    type3: bool
    qos_class: int


@dataclass
class RootHardware:
    dports: list[tuple[int, str]]  # (host bridge UID, its device), in UID order
    windows: list[Window]  # in CFMWS order
    host_bridges: list[str]  # uports of the host-bridge ports, in creation order
    nvdimm_bridge: bool
    ndctl_major: int


def _table(txn: Transaction) -> dict:
    return txn.kernel_state().setdefault(STATE_KEY, {})


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text or "", 0)
    except ValueError:
        return default


def _window(txn: Transaction, dec: str) -> dict:
    kt = shared_tree(txn)
    # The kernel's own reads: `start` is 0400, which a simulated root guards.
    return {
        "start": _int(kt.read(dec + "/start")),
        "size": _int(kt.read(dec + "/size")),
        "ways": _int(kt.read(dec + "/interleave_ways"), 1),
        "granularity": _int(kt.read(dec + "/interleave_granularity"), 256),
        "locked": kt.read(dec + "/locked") == "1",
        "target_list": kt.read(dec + "/target_list") or "",
        "ram": kt.read(dec + "/cap_ram") == "1",
        "pmem": kt.read(dec + "/cap_pmem") == "1",
        "type2": kt.read(dec + "/cap_type2") == "1",
        "type3": kt.read(dec + "/cap_type3") == "1",
        "qos_class": _int(kt.read(dec + "/qos_class"), -1),
    }


def root_decoders(view: CxlBusView, root: str) -> list[str]:
    """The root's decoders, in CFMWS order."""
    prefix = f"decoder{port_number(paths.basename(root))}."
    names = [
        n for n in view.listdir_host(root) if n.startswith(prefix) and n[len(prefix) :].isdigit()
    ]
    return [f"{root}/{n}" for n in sorted(names, key=lambda n: int(n[len(prefix) :]))]


def _ndctl_major(txn: Transaction, bridge: str) -> int:
    kt = shared_tree(txn)
    for ndbus in kt.listdir(bridge):
        for ctl in kt.listdir(f"{bridge}/{ndbus}/nd"):
            dev = kt.read(f"{bridge}/{ndbus}/nd/{ctl}/dev")
            if dev and ":" in dev:
                return _int(dev.split(":")[0], DEFAULT_NDCTL_MAJOR)
    majors = txn.kernel_state().get("majors", {})
    return (
        int(majors.get("ndctl", DEFAULT_NDCTL_MAJOR))
        if isinstance(majors, dict)
        else DEFAULT_NDCTL_MAJOR
    )


def record_root(txn: Transaction, view: CxlBusView, root: str) -> None:
    """Remember the platform's description of a root that is still in the tree."""
    platform = paths.dirname(root)
    host_bridges = sorted(
        view.children(root, "port"), key=lambda p: port_number(paths.basename(p)) or 0
    )
    bridge = f"{root}/nvdimm-bridge0"
    has_bridge = view.exists(bridge)
    _table(txn)[platform] = {
        "dports": [[uid, target] for uid, target in view.dports(root)],
        "windows": [_window(txn, dec) for dec in root_decoders(view, root)],
        "host_bridges": [u for u in (view.uport(p) for p in host_bridges) if u is not None],
        "nvdimm_bridge": has_bridge,
        "ndctl_major": _ndctl_major(txn, bridge) if has_bridge else DEFAULT_NDCTL_MAJOR,
    }


def lookup(txn: Transaction, platform: str) -> RootHardware | None:
    """What was recorded for the root of platform device `platform`, if anything."""
    entry = _table(txn).get(platform)
    if not isinstance(entry, dict):
        return None
    return RootHardware(
        dports=[(int(uid), str(target)) for uid, target in entry.get("dports", [])],
        windows=[Window(**w) for w in entry.get("windows", [])],
        host_bridges=[str(u) for u in entry.get("host_bridges", [])],
        nvdimm_bridge=bool(entry.get("nvdimm_bridge")),
        ndctl_major=int(entry.get("ndctl_major", DEFAULT_NDCTL_MAJOR)),
    )


def recorded(txn: Transaction) -> list[str]:
    """Platform devices whose root was recorded."""
    return list(txn.kernel_state().get(STATE_KEY, {}))
