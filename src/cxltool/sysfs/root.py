"""A system root: the real machine (`/`) or a directory holding a simulated one.

All reads and writes of the system go through a Root. Paths given to it are the
kernel's absolute paths (`/sys/bus/cxl/devices/mem0/serial`); the root maps them
into its directory. On a simulated root, directories list in kernfs order and
writes are handed to the emulator, which changes the tree as the kernel would.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable

from cxltool.sysfs import paths
from cxltool.sysfs.errors import NeedsRoot, RootError, SysfsError
from cxltool.sysfs.kernfs import sort_key
from cxltool.sysfs.probe import NO_WAIT, ProbeWait

_open, _read, _close, _O_RDONLY = os.open, os.read, os.close, os.O_RDONLY

META_DIR = ".cxltool"
UNREADABLE_FILE = "unreadable.json"
JOURNAL_FILE = "journal.json"


class Root:
    """The real system. Subclassed by SimulatedRoot."""

    simulated = False

    def __init__(self, base: str = "/") -> None:
        # base is "" for the real root so that host paths are the kernel's paths.
        self.base = "" if base in ("", "/") else os.path.abspath(base)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base or '/'!r})"

    @property
    def display(self) -> str:
        return self.base or "/"

    @property
    def real(self) -> bool:
        """The running machine itself: a kernel and udev are behind this root."""
        return not self.base

    def host(self, path: str) -> str:
        """Where a kernel path lives on this machine."""
        return self.base + path

    # -- reads -------------------------------------------------------------
    def read(self, path: str) -> str:
        """An attribute's value with its one trailing newline removed."""
        try:
            fd = os.open(self.base + path, os.O_RDONLY)
        except OSError as e:
            raise SysfsError(e.errno or errno.EIO, path) from None
        try:
            if self.simulated:
                self._check_readable(fd, path)
            data = os.read(fd, 4096)
        except OSError as e:
            raise SysfsError(e.errno or errno.EIO, path) from None
        finally:
            os.close(fd)
        text = data.decode(errors="replace")
        return text[:-1] if text.endswith("\n") else text

    def _check_readable(self, fd: int, path: str) -> None:
        """Refuse what the kernel would refuse to read (a real kernel does it itself)."""

    def read_opt(self, path: str) -> str | None:
        """The value, or None where the attribute is missing or unreadable."""
        # The hot path of every listing: no exception objects for missing
        # files, and as little work per read as the syscalls allow.
        try:
            fd = _open(self.base + path, _O_RDONLY)
        except OSError:
            return None
        try:
            if self.simulated:
                self._check_readable(fd, path)
            data = _read(fd, 4096)
        except (OSError, SysfsError):
            _close(fd)
            return None
        _close(fd)
        if data[-1:] == b"\n":
            data = data[:-1]
        try:
            return data.decode()
        except UnicodeDecodeError:
            return data.decode(errors="replace")

    def read_bytes(self, path: str) -> bytes:
        try:
            with open(self.base + path, "rb") as f:
                return f.read()
        except OSError as e:
            raise SysfsError(e.errno or errno.EIO, path) from None

    def listdir(self, path: str) -> list[str]:
        """Entry names in the order the kernel's readdir returns them."""
        try:
            names = os.listdir(self.base + path)
        except OSError as e:
            raise SysfsError(e.errno or errno.EIO, path) from None
        # The real /sys already lists in kernfs order; a tree on any other
        # filesystem is put in that order so output matches a real kernel's.
        return sorted(names, key=sort_key) if self.base else names

    def listdir_opt(self, path: str) -> list[str]:
        try:
            return self.listdir(path)
        except SysfsError:
            return []

    def exists(self, path: str) -> bool:
        return os.path.lexists(self.base + path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self.base + path)

    def islink(self, path: str) -> bool:
        return os.path.islink(self.base + path)

    def readlink(self, path: str) -> str:
        try:
            return os.readlink(self.base + path)
        except OSError as e:
            raise SysfsError(e.errno or errno.EIO, path) from None

    def realpath(self, path: str) -> str:
        """The kernel path a link (or a path through links) resolves to."""
        if not self.base:
            return os.path.realpath(path)
        real = os.path.realpath(self.base + path)
        if real == self.base:
            return "/"
        if not real.startswith(self.base + "/"):
            raise SysfsError(errno.EXDEV, path, "resolves outside the root")
        return real[len(self.base) :]

    def link_name(self, path: str) -> str | None:
        """Basename of what a link resolves to, or None if it is not a link."""
        try:
            return paths.basename(os.readlink(self.base + path))
        except OSError:
            return None

    def mode(self, path: str) -> int:
        try:
            return stat.S_IMODE(os.lstat(self.base + path).st_mode)
        except OSError as e:
            raise SysfsError(e.errno or errno.EIO, path) from None

    # -- writes ------------------------------------------------------------
    def write(self, path: str, value: str) -> None:
        """What `echo value > path` does: the kernel's store function runs."""
        try:
            self._write_file(self.base + path, value.encode())
        except OSError as e:
            err = e.errno or errno.EIO
            raise self.needs_root(err, path, "write", value) or SysfsError(err, path) from None

    def _write_file(self, host_path: str, data: bytes) -> None:
        fd = os.open(host_path, os.O_WRONLY)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def needs_root(
        self, err: int, path: str, action: str = "write", value: str = ""
    ) -> NeedsRoot | None:
        """The error that stops a command the running system refused for want of root.

        None where the failure is the kernel's answer to root (ndctl's messages
        follow), or the root is a tree, whose files say nothing about privilege.
        """
        if self.real and err in (errno.EACCES, errno.EPERM) and os.geteuid() != 0:
            return NeedsRoot(err, path, action, value)
        return None

    # -- udev ----------------------------------------------------------------
    def probe(
        self,
        path: str,
        ready: Callable[[], bool] | None = None,
        *,
        flush: str | None = None,
        timeout: float | None = None,
    ) -> ProbeWait:
        """A watch to open before binding the device at `path` (see sysfs/probe.py).

        Its `wait()` returns once the device is bound (or `ready()` holds), the
        `flush` attribute has been written, and udev has handled what the probe
        set off. Only the running system has anything to wait for.
        """
        if not self.real:
            return NO_WAIT
        from cxltool.sysfs.udev import ProbeWatch

        return ProbeWatch(self, path, ready, flush=flush, timeout=timeout)

    def udev_devices(self, subsystem: str) -> list[str] | None:
        """Names of the devices udev enumerates in `subsystem`; None without udev."""
        if not self.real:
            return None
        from cxltool.sysfs.udev import list_devices

        return list_devices(subsystem)


class SimulatedRoot(Root):
    """A directory laid out like a machine, with `.cxltool/` beside `sys/`."""

    simulated = True

    _unreadable: dict[str, int] | None = None

    @property
    def meta(self) -> str:
        return os.path.join(self.base, META_DIR)

    def _read_errors(self) -> dict[str, int]:
        # Attributes whose show() fails on the system the tree came from (a
        # capture records them with their errno) keep failing here.
        if self._unreadable is None:
            try:
                with open(os.path.join(self.meta, UNREADABLE_FILE)) as f:
                    self._unreadable = {k: int(v) for k, v in json.load(f).items()}
            except (OSError, ValueError):
                self._unreadable = {}
        return self._unreadable

    def _check_readable(self, fd: int, path: str) -> None:
        # kernfs refuses to open an attribute for reading when it has no show()
        # (mode 0200), and 0400 attributes are root's alone.
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            m = stat.S_IMODE(st.st_mode)
            if not m & 0o444 or (not m & 0o044 and os.geteuid() != 0):
                raise SysfsError(errno.EACCES, path)
            err = self._read_errors().get(path)
            if err:
                raise SysfsError(err, path)

    def write(self, path: str, value: str) -> None:
        # Imported here so that reading a tree never loads the emulator.
        from cxltool.sim.kernel.dispatch import store

        try:
            store(self, path, value)
        finally:
            # A write may have changed which attributes fail to read.
            self._unreadable = None


def stop_if_refused_read(root: Root, path: str) -> None:
    """Raise NeedsRoot if reading `path` is refused to a user who is not root."""
    try:
        root.read(path)
    except SysfsError as e:
        refused = root.needs_root(e.errno, path, "read")
        if refused is not None:
            raise refused from None


def open_root(base: str | None = None) -> Root:
    """The root at `base` (default `/`), checked to look like a system."""
    if base in (None, "", "/"):
        if not os.path.isdir(paths.SYS):
            raise RootError("/: no sysfs mounted at /sys")
        return Root("/")
    base = os.path.abspath(base)
    if not os.path.isdir(base):
        raise RootError(f"{base}: no such directory")
    if not os.path.isdir(base + paths.SYS):
        raise RootError(f"{base}: not a system root (no sys/ directory in it)")
    if os.path.isdir(os.path.join(base, META_DIR)):
        root = SimulatedRoot(base)
        if os.path.exists(os.path.join(base, META_DIR, JOURNAL_FILE)):
            # A writer died mid-transaction: finish it before anyone reads.
            from cxltool.sim.kernel.txn import locked

            with locked(root):
                pass
        return root
    return Root(base)
