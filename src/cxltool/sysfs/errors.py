"""The one exception type for system access failures."""

from __future__ import annotations

import errno as _errno
import os


class SysfsError(Exception):
    """A read, write or lookup on the system failed with an errno."""

    def __init__(self, err: int, path: str, detail: str | None = None) -> None:
        self.errno = err
        self.path = path
        self.detail = detail
        super().__init__(self.message)

    @property
    def errno_name(self) -> str:
        # The kernel's own name for 95 is EOPNOTSUPP (Python's table says ENOTSUP).
        if self.errno == _errno.EOPNOTSUPP:
            return "EOPNOTSUPP"
        return _errno.errorcode.get(self.errno, str(self.errno))

    @property
    def strerror(self) -> str:
        return os.strerror(self.errno)

    @property
    def message(self) -> str:
        text = f"{self.path}: {self.strerror} ({self.errno_name})"
        return f"{text}: {self.detail}" if self.detail else text


class RootError(Exception):
    """The chosen root is not a usable system."""
