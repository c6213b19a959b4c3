"""The kernel's one IDA for CXL port numbers: rootN, portN and endpointN share it.

A new port takes the lowest number not in use; a removed port gives its number
back. The set in use is kept in the kernel state (`cxl_port_ida`). A tree that
has no record yet (a capture, an older system) starts from the ports it shows.
"""

from __future__ import annotations

from cxltool.sim.kernel.cxl_bus_view import port_number
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import paths

STATE_KEY = "cxl_port_ida"


def _in_use(txn: Transaction) -> list[int]:
    state = txn.kernel_state()
    if STATE_KEY not in state:
        names = txn.root.listdir_opt(paths.CXL_DEVICES)
        state[STATE_KEY] = sorted(n for n in (port_number(name) for name in names) if n is not None)
    return state[STATE_KEY]


def allocate(txn: Transaction) -> int:
    """The lowest free port number, now taken."""
    used = _in_use(txn)
    taken = set(used)
    n = 0
    while n in taken:
        n += 1
    used.append(n)
    used.sort()
    return n


def release(txn: Transaction, n: int) -> None:
    used = _in_use(txn)
    if n in used:
        used.remove(n)
