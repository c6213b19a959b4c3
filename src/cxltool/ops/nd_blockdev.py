"""The first bytes of a pmem disk: what ndctl reads and zeroes to erase an info block.

On the real system the disk is opened exclusively with direct I/O, as ndctl
opens it. A simulated system's disk is written through the emulator (its node
in /dev is not a real device); it is never read, so it always counts as
holding something and is always zeroed.
"""

from __future__ import annotations

import errno
import mmap
import os

from cxltool.sysfs import Root, SysfsError, paths

INFO_SIZE = 8192


def zero_start(root: Root, bdev: str) -> tuple[int, bool]:
    """Zero the first 8K: (0 or an errno, whether the start already read as zeros)."""
    node = f"{paths.DEV}/{bdev}"
    if root.simulated:
        try:
            root.write(node, "\0" * INFO_SIZE)
        except SysfsError as e:
            return e.errno, False
        return 0, False
    try:
        fd = os.open(root.host(node), os.O_RDWR | os.O_DIRECT | os.O_EXCL)
    except OSError as e:
        stop = root.needs_root(e.errno, node, "open")
        if stop:
            raise stop from None
        return e.errno or errno.ENXIO, False
    try:
        buf = mmap.mmap(-1, INFO_SIZE)  # page aligned, as direct I/O needs
        if os.preadv(fd, [buf], 0) == INFO_SIZE and not any(buf):
            return 0, True
        buf[:] = bytes(INFO_SIZE)
        if os.pwritev(fd, [buf], 0) < INFO_SIZE:
            return errno.ENXIO, False
        return 0, False
    except OSError as e:
        return e.errno or errno.EIO, False
    finally:
        os.close(fd)
