"""What the hardware behind a CXL port offers, kept for when the port comes back.

When a port goes away (its last memdev left, its driver unbound) the kernel
forgets it, but the hardware stays: the next probe finds the same number of HDM
decoders, the same CDAT and, for host bridges and switches, the same downstream
ports. The emulator keeps those facts in the kernel state (`cxl_hardware`), keyed
by the port's upstream device, recorded from the tree before the port goes.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from cxltool.sim.kernel.cxl_bus_view import CxlBusView, port_number
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import paths

STATE_KEY = "cxl_hardware"
# Decoder counts when nothing was recorded: QEMU's devices and cxl_test's mocks.
DEFAULT_DECODERS = {"acpi": 4, "cxl_test": 8}


@dataclass
class PortHardware:
    decoders: int
    cdat: bytes | None
    dports: list[tuple[int, str]]
    poison: bool = True  # memdevs: Get Poison List supported (trigger_poison_list)
    # Decoder index -> (ways, granularity, target list) last programmed into
    # its registers. A reset clears only the commit bit, so the next probe
    # reads these back into an uncommitted decoder's attributes.
    programmed: dict[int, tuple[int, int, str]] = field(default_factory=dict)


def _table(txn: Transaction) -> dict:
    return txn.kernel_state().setdefault(STATE_KEY, {})


def record_port(txn: Transaction, view: CxlBusView, port: str) -> None:
    """Remember the hardware of a port that is still in the tree."""
    uport = view.uport(port)
    if uport is None:
        return
    prefix = f"decoder{port_number(paths.basename(port))}."
    decoders = [n for n in view.listdir_host(port) if n.startswith(prefix)]
    entry = _table(txn).setdefault(uport, {})
    if decoders:
        # An unbound port shows no decoders; keep what was seen while it was bound.
        entry["decoders"] = len(decoders)
    cdat_host = view.host(port + "/CDAT")
    # The tree shows the CDAT read at the last probe; a table the device has
    # changed since (sim set-capacity) is recorded already and wins.
    if "cdat" not in entry and os.path.isfile(cdat_host):
        with open(cdat_host, "rb") as f:
            entry["cdat"] = base64.b64encode(f.read()).decode()
    dports = view.dports(port)
    if dports:
        entry["dports"] = [[did, path] for did, path in dports]


def record_memdev(txn: Transaction, view: CxlBusView, memdev: str) -> None:
    entry = _table(txn).setdefault(memdev, {})
    entry["poison"] = view.root.exists(memdev + "/trigger_poison_list")


def lookup(txn: Transaction, device: str, platform: str) -> PortHardware:
    """The facts recorded for the port whose upstream device is `device`."""
    entry = _table(txn).get(device, {})
    cdat = entry.get("cdat")
    return PortHardware(
        decoders=int(entry.get("decoders", DEFAULT_DECODERS[platform])),
        cdat=base64.b64decode(cdat) if cdat is not None else None,
        dports=[(int(d), str(p)) for d, p in entry.get("dports", [])],
        poison=bool(entry.get("poison", True)),
        programmed={
            int(i): (int(w), int(g), str(t)) for i, (w, g, t) in entry.get("programmed", {}).items()
        },
    )


def record_programmed(
    txn: Transaction, uport: str, index: int, ways: int, granularity: int, targets: str
) -> None:
    """Remember what a commit wrote into a decoder's registers ("" targets: an endpoint's)."""
    entry = _table(txn).setdefault(uport, {})
    entry.setdefault("programmed", {})[str(index)] = [ways, granularity, targets]


def known(txn: Transaction, device: str) -> bool:
    return device in _table(txn)
