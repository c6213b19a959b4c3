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


# Files through which a device is handed to a driver: the device is named by
# what is written, not by the directory the file is in.
_DRIVER_FILES = ("bind", "unbind", "new_id", "remove_id")

HINTS = {
    "write": "changing CXL state needs root, try sudo",
    "read": "changing CXL state needs root, try sudo",
    "open": "opening it needs root, try sudo",
}


class NeedsRoot(Exception):
    """The running system refused a user who is not root; the command stops here.

    Not a SysfsError, so that no operation mistakes it for a kernel's answer and
    carries on: every later write would be refused the same way.
    """

    def __init__(self, err: int, path: str, action: str = "write", value: str = "") -> None:
        self.error = SysfsError(err, path)
        self.path = path
        self.action = action
        self.value = value
        super().__init__(self.message)

    def _object(self) -> tuple[str, str]:
        """(what the user was changing, the file that refused) as the user knows them."""
        head, _, attr = self.path.rpartition("/")
        if self.action == "read":
            # A root-only attribute a change needs to read first.
            return head.rpartition("/")[2] or "/", attr
        if self.action != "write":
            return attr, self.path
        device = self.value.strip("\0\n ")
        if attr in _DRIVER_FILES and device and "/" not in device:
            # Which driver's file it was matters: ndctl offers a device to each.
            return device, self.path
        return head.rpartition("/")[2] or "/", attr

    @property
    def message(self) -> str:
        obj, what = self._object()
        return (
            f"{obj}: cannot {self.action} {what}: {self.error.strerror} "
            f"({self.error.errno_name}); {HINTS.get(self.action, 'this needs root, try sudo')}"
        )
