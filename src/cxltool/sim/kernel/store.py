"""Running an emulated store function: kernel errors become the write's errno."""

from __future__ import annotations

from collections.abc import Callable

from cxltool.sim.kernel.cxlview import Cxl
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.ktree import KernelTree
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError


def run_store(txn: Transaction, path: str, store: Callable[[Cxl], None]) -> None:
    """Run `store` on a fresh view of the tree; a KernelError fails the write.

    Normally a failed store changes nothing (the plan is dropped). Where the
    kernel itself keeps part of its work before failing (KernelError.keep),
    that part is committed first.
    """
    try:
        store(Cxl(KernelTree(txn)))
    except KernelError as e:
        if e.keep:
            txn.commit()
        raise SysfsError(e.errno, path) from None
