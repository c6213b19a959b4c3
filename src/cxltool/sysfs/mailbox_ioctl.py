"""A memdev's character device and the kernel's two CXL mailbox ioctls on it.

Linux's UAPI (`linux/cxl_mem.h`) gives each memdev node two ioctls:
QUERY_COMMANDS lists the commands the driver knows, each with the payload sizes
it expects and whether the device offers it; SEND_COMMAND runs one with
caller-owned input and output buffers and hands back the device's return code.
Every call opens the node afresh, after making sure it is the character device
whose number the memdev had when it was found, as libcxl does.

Nothing here interprets a payload; see `mailbox_payloads`.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from cxltool.sysfs import paths

# _IOC(dir, type, nr, size) as asm-generic/ioctl.h lays it out.
_IOC_WRITE, _IOC_READ = 1, 2
_CXL_IOCTL_TYPE = 0xCE


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (_CXL_IOCTL_TYPE << 8) | nr


class _CommandInfo(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("size_in", ctypes.c_uint32),
        ("size_out", ctypes.c_uint32),
    ]


class _Buffer(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32),
        ("rsvd", ctypes.c_uint32),
        ("payload", ctypes.c_uint64),
    ]


class _SendCommand(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("raw", ctypes.c_uint32),  # raw opcode and a reserved half; zero here
        ("retval", ctypes.c_uint32),
        ("in_", _Buffer),
        ("out", _Buffer),
    ]


# Module-level so that tests can stand in for the system calls.
_open = os.open

_QUERY_HEADER = 8  # n_commands, reserved; the command array follows
QUERY_COMMANDS = _ioc(_IOC_READ, 1, _QUERY_HEADER)
SEND_COMMAND = _ioc(_IOC_READ | _IOC_WRITE, 2, ctypes.sizeof(_SendCommand))


class CommandId(IntEnum):
    """The kernel's command numbers (the UAPI enumeration; it only ever grows)."""

    IDENTIFY = 1
    GET_FW_INFO = 4
    GET_PARTITION_INFO = 5
    GET_HEALTH_INFO = 7
    SET_PARTITION_INFO = 9
    GET_ALERT_CONFIG = 11


COMMAND_ENABLED = 1 << 0
COMMAND_EXCLUSIVE = 1 << 1


@dataclass(frozen=True)
class CommandInfo:
    id: int
    flags: int
    size_in: int
    size_out: int


class NodeError(Exception):
    """An ioctl on the node failed: the errno, and libcxl's line when it prints one."""

    def __init__(self, err: int, line: tuple[str, str] | None = None) -> None:
        super().__init__(os.strerror(err))
        self.errno = err
        self.line = line


@dataclass(frozen=True)
class Reply:
    retval: int  # the device's mailbox return code (0: success)
    payload: bytes  # the output buffer, as large as asked for
    size: int  # how much of it the device filled


Ioctl = Callable[[int, int, object], object]


class MemdevNode:
    """The node `/dev/cxl/<name>` of a memdev, under `root`'s directory."""

    def __init__(self, root_base: str, name: str, ioctl: Ioctl | None = None) -> None:
        self.name = name
        self.path = f"{paths.DEV_CXL}/{name}"
        self.host_path = root_base + self.path
        self._ioctl = ioctl or fcntl.ioctl
        # libcxl takes the node's number when it enumerates the memdev and later
        # refuses a node that is not that character device.
        try:
            self.rdev: int | None = os.stat(self.host_path).st_rdev
        except OSError:
            self.rdev = None

    def _call(self, request: int, arg: object) -> None:
        try:
            fd = _open(self.host_path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            err = e.errno or errno.EIO
            line = ("do_cmd", f"failed to open {self.path}: {os.strerror(err)}")
            raise NodeError(err, line) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISCHR(st.st_mode) or st.st_rdev != self.rdev:
                raise NodeError(
                    errno.ENXIO, ("do_cmd", f"failed to validate {self.path} as a CXL memdev node")
                )
            try:
                self._ioctl(fd, request, arg)
            except OSError as e:
                raise NodeError(e.errno or errno.EIO) from None
        finally:
            os.close(fd)

    def count_commands(self) -> int:
        """How many commands the driver describes (QUERY_COMMANDS with room for none)."""
        buf = bytearray(_QUERY_HEADER)
        self._call(QUERY_COMMANDS, buf)
        return int.from_bytes(buf[0:4], "little")

    def query_commands(self, n: int) -> list[CommandInfo]:
        """The first `n` command descriptions the driver gives."""
        entry = ctypes.sizeof(_CommandInfo)
        buf = bytearray(_QUERY_HEADER + n * entry)
        buf[0:4] = n.to_bytes(4, "little")
        self._call(QUERY_COMMANDS, buf)
        got = min(n, int.from_bytes(buf[0:4], "little"))
        out = []
        for i in range(got):
            info = _CommandInfo.from_buffer_copy(buf, _QUERY_HEADER + i * entry)
            out.append(CommandInfo(info.id, info.flags, info.size_in, info.size_out))
        return out

    def send(self, command: int, payload_in: bytes, size_in: int, size_out: int) -> Reply:
        """SEND_COMMAND with an input of `size_in` bytes and room for `size_out`."""
        inbuf = ctypes.create_string_buffer(payload_in.ljust(size_in, b"\0"), max(size_in, 1))
        outbuf = ctypes.create_string_buffer(max(size_out, 1))
        cmd = _SendCommand()
        cmd.id = command
        if size_in:
            cmd.in_.size = size_in
            cmd.in_.payload = ctypes.addressof(inbuf)
        if size_out:
            cmd.out.size = size_out
            cmd.out.payload = ctypes.addressof(outbuf)
        self._call(SEND_COMMAND, cmd)
        return Reply(cmd.retval, outbuf.raw[:size_out], cmd.out.size)
