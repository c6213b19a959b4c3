"""Routes a write on a simulated root to the store handler for that attribute.

Handlers register a glob pattern of kernel path (the real path, links resolved)
and a function `(txn, path, value) -> None` that validates like the kernel's
store function and raises SysfsError with the kernel's errno, or plans the
side effects on the Transaction `txn` (sim/kernel/txn.py). The plan is applied
as one transaction under the root's lock; a refused write changes nothing.
Attributes without a handler are reported as not emulated.
"""

from __future__ import annotations

import errno
import fnmatch
from collections.abc import Callable

from cxltool.sim.kernel.txn import Transaction, locked
from cxltool.sysfs import SysfsError
from cxltool.sysfs.root import SimulatedRoot

Handler = Callable[[Transaction, str, str], None]
_HANDLERS: list[tuple[str, Handler]] = []


class NotEmulated(SysfsError):
    """A write the emulator does not implement (yet); nothing was changed."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.EOPNOTSUPP, path, "writing this attribute is not emulated")


def register(pattern: str) -> Callable[[Handler], Handler]:
    def wrap(fn: Handler) -> Handler:
        _HANDLERS.append((pattern, fn))
        return fn

    return wrap


def _resolve(root: SimulatedRoot, path: str) -> str:
    # Writes go to the real attribute behind any link, and never leave the root.
    parent, _, name = path.rpartition("/")
    return root.realpath(parent or "/").rstrip("/") + "/" + name


def _handler_for(real: str) -> Handler | None:
    _load_handlers()
    for pattern, handler in _HANDLERS:
        if fnmatch.fnmatchcase(real, pattern):
            return handler
    return None


def _load_handlers() -> None:
    # Handler modules register themselves on import; import them once, on the
    # first write, so that listing never pays for the emulator.
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for name in HANDLER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            # An area not emulated yet: its attributes stay "not emulated".
            if e.name != name:
                raise


_loaded = False
# Modules of the emulated kernel, one per area; each registers its stores.
HANDLER_MODULES: list[str] = [
    "cxltool.sim.kernel.region",  # root decoder create/delete, regions, targets, commit
    "cxltool.sim.kernel.decoder",  # endpoint decoder mode and dpa_size
    "cxltool.sim.kernel.cxl_drivers",  # bind/unbind of cxl_mem, cxl_port, flush
    "cxltool.sim.kernel.cxl_pci",  # bind/unbind of cxl_pci: a device's memdev
    "cxltool.sim.kernel.cxl_acpi",  # bind/unbind of cxl_acpi: a whole CXL root
    # libnvdimm before dax: a libnvdimm dax device's `align` also matches the dax
    # bus's device pattern, and must reach the libnvdimm store.
    "cxltool.sim.kernel.nd",  # nd regions, namespaces, btt/pfn/dax devices, nd drivers
    "cxltool.sim.kernel.dax",  # dax drivers and kmem, device size/align/mapping, create/delete
    "cxltool.sim.kernel.memory",  # memory block state/online, auto_online_blocks
]


def store(root: SimulatedRoot, path: str, value: str) -> None:
    """Run the kernel's store function for `echo value > path` on a simulated root."""
    with locked(root):
        if not root.exists(path):
            raise SysfsError(errno.ENOENT, path)
        real = _resolve(root, path)
        if root.isdir(real):
            raise SysfsError(errno.EISDIR, path)
        if not root.mode(real) & 0o222:
            raise SysfsError(errno.EACCES, path)
        handler = _handler_for(real)
        if handler is None:
            raise NotEmulated(path)
        txn = Transaction(root)
        handler(txn, real, value)
        txn.commit()
