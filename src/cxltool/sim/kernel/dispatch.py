"""Routes a write on a simulated root to the store handler for that attribute.

Handlers register a pattern of kernel path (with `*` for one path component)
and a function `(root, path, value) -> None` that validates like the kernel's
store function, raises SysfsError with the kernel's errno, and applies the
side effects. Attributes without a handler are reported as not emulated and
the tree is left unchanged.
"""

from __future__ import annotations

import errno
import fnmatch
from collections.abc import Callable

from cxltool.sysfs import SysfsError
from cxltool.sysfs.root import SimulatedRoot

Handler = Callable[[SimulatedRoot, str, str], None]
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


def store(root: SimulatedRoot, path: str, value: str) -> None:
    if not root.exists(path):
        raise SysfsError(errno.ENOENT, path)
    real = _resolve(root, path)
    if root.isdir(real):
        raise SysfsError(errno.EISDIR, path)
    if not root.mode(real) & 0o222:
        raise SysfsError(errno.EACCES, path)
    for pattern, handler in _HANDLERS:
        if fnmatch.fnmatchcase(real, pattern):
            handler(root, real, value)
            return
    raise NotEmulated(path)
