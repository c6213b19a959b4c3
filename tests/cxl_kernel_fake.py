"""A stand-in for the kernel's side of the CXL memdev ioctls, and CXL payload builders.

`FakeCxlKernel` takes the place of `fcntl.ioctl`: it reads the caller's
QUERY_COMMANDS and SEND_COMMAND buffers by the UAPI's byte layout (not through
cxltool's own structures), answers from per-device tables, and writes the reply
into the caller's memory as the kernel does. Devices are told apart by the node
the descriptor was opened on (tests point each memdev's node at a different
character device: /dev/null, /dev/zero, ...).

The payload builders follow the CXL specification's layouts (r3.1 8.2.9).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from dataclasses import dataclass, field

QUERY_COMMANDS = 0x8008CE01  # _IOR(0xCE, 1, struct cxl_mem_query_commands)
SEND_COMMAND = 0xC030CE02  # _IOWR(0xCE, 2, struct cxl_send_command)
VARIABLE = 0xFFFFFFFF

IDENTIFY, GET_FW_INFO, GET_PARTITION_INFO, GET_HEALTH_INFO = 1, 4, 5, 7
SET_PARTITION_INFO, GET_ALERT_CONFIG = 9, 11

# What Linux 6.12 lists for QEMU 10's type-3 device: (id, flags, size_in, size_out),
# holes included (id 0). Flag 1: the device offers the command; 2: the kernel owns it.
QEMU_QUERY = [
    (0, 0, 0, 0),
    (1, 1, 0, 0x43),
    (0, 0, 0, 0),
    (3, 1, 0, VARIABLE),
    (4, 1, 0, 0x50),
    (5, 1, 0, 0x20),
    (6, 1, 8, VARIABLE),
    (7, 0, 0, 0x12),
    (8, 1, 0x18, VARIABLE),
    (9, 0, 0x0A, 0),
    (10, 3, VARIABLE, 0),
    (11, 0, 0, 0x10),
    (12, 0, 0x0C, 0),
    (13, 0, 0, 1),
    (14, 2, 1, 0),
    (0, 0, 0, 0),
    (0, 0, 0, 0),
    (0, 0, 0, 0),
    (18, 1, 0x10, 4),
    (0, 0, 0, 0),
    (0, 0, 0, 0),
    (21, 1, 0, 8),
    (22, 0, 0x10, 4),
    (23, 0, 0x10, 0),
    (24, 0, 2, VARIABLE),
]

GiB256 = 256 << 20


def enable(query: list[tuple[int, int, int, int]], *ids: int) -> list[tuple[int, int, int, int]]:
    """The query with the commands `ids` offered by the device."""
    return [(i, f | 1 if i in ids else f, a, b) for i, f, a, b in query]


def identify(total: int, volatile: int, persistent: int, align: int, fw: str = "", lsa: int = 0):
    units = [v // GiB256 for v in (total, volatile, persistent, align)]
    return (
        fw.encode().ljust(16, b"\0")
        + struct.pack("<4Q", *units)
        + struct.pack("<4H", 0, 0, 0, 0)
        + struct.pack("<I", lsa)
        + bytes(3 + 2 + 1 + 1)
    )


def partition(active_v: int, active_p: int, next_v: int, next_p: int) -> bytes:
    return struct.pack("<4Q", *(v // GiB256 for v in (active_v, active_p, next_v, next_p)))


def health(status=0, media=0, ext=0, life_used=0, temperature=0, dirty=0, vol=0, pmem=0) -> bytes:
    return struct.pack("<4BH3I", status, media, ext, life_used, temperature, dirty, vol, pmem)


def alert_config(valid=0, writable=0, life_crit=0, life_warn=0, *thresholds: int) -> bytes:
    six = list(thresholds) + [0] * (6 - len(thresholds))
    return struct.pack("<4B6H", valid, writable, life_crit, life_warn, *six)


def fw_info(slots: int, active: int, staged: int, caps: int, *versions: str) -> bytes:
    names = b"".join(v.encode().ljust(16, b"\0") for v in versions).ljust(64, b"\0")
    return struct.pack("<3B", slots, active | staged << 3, caps) + bytes(13) + names


@dataclass
class FakeDevice:
    query: list[tuple[int, int, int, int]] = field(default_factory=lambda: list(QEMU_QUERY))
    # id -> (device return code, output payload)
    answers: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    sent: list[tuple[int, bytes]] = field(default_factory=list)
    query_errno: int = 0


class FakeCxlKernel:
    """Call it as `ioctl(fd, request, buffer)`."""

    def __init__(self, devices: dict[str, FakeDevice]) -> None:
        self.devices = devices  # keyed by the node a descriptor is opened on
        self.calls: list[int] = []

    def __call__(self, fd: int, request: int, arg) -> int:
        device = self.devices[os.readlink(f"/proc/self/fd/{fd}")]
        self.calls.append(request)
        buf = memoryview(arg).cast("B")
        if request == QUERY_COMMANDS:
            return self._query(device, buf)
        if request == SEND_COMMAND:
            return self._send(device, buf)
        raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))

    def _query(self, device: FakeDevice, buf: memoryview) -> int:
        if device.query_errno:
            raise OSError(device.query_errno, os.strerror(device.query_errno))
        (n,) = struct.unpack_from("<I", buf, 0)
        if n == 0:
            struct.pack_into("<I", buf, 0, len(device.query))
            return 0
        for i, entry in enumerate(device.query[:n]):
            struct.pack_into("<4I", buf, 8 + 16 * i, *entry)
        return 0

    def _send(self, device: FakeDevice, buf: memoryview) -> int:
        cid, flags, raw, _retval, in_size, in_rsvd, in_addr, out_size, out_rsvd, out_addr = (
            struct.unpack_from("<4I2IQ2IQ", buf, 0)
        )
        assert (flags, raw, in_rsvd, out_rsvd) == (0, 0, 0, 0)
        info = next((q for q in device.query if q[0] == cid and cid), None)
        if info is None or not info[1] & 1:
            raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
        if info[2] != VARIABLE and info[2] != in_size:
            raise OSError(errno.ENOMEM, os.strerror(errno.ENOMEM))
        if info[3] != VARIABLE and out_size < info[3]:
            raise OSError(errno.ENOMEM, os.strerror(errno.ENOMEM))
        device.sent.append((cid, ctypes.string_at(in_addr, in_size) if in_size else b""))
        retval, payload = device.answers.get(cid, (0, b""))
        payload = payload[:out_size]
        if payload:
            ctypes.memmove(out_addr, payload, len(payload))
        struct.pack_into("<I", buf, 12, retval)
        struct.pack_into("<I", buf, 32, len(payload))
        return 0
