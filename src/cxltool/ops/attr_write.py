"""Attribute writes as libcxl makes them, and the C formatting of the values it writes.

libcxl writes a string together with its terminating NUL (strlen + 1 bytes);
the kernel parses up to the NUL. Some store functions count the bytes (a
region's `uuid` must be 36 characters and one terminator), so the NUL is part
of the write, on the real kernel as on a simulated one.
"""

from __future__ import annotations

from cxltool.sysfs import Root, SysfsError


def write_attr(root: Root, path: str, text: str) -> int:
    """Write `text` and its NUL; 0, or the negative errno of the failure."""
    try:
        root.write(path, text + "\0")
    except SysfsError as e:
        return -e.errno
    return 0


def c_hex(n: int) -> str:
    """glibc's `%#llx`: 0x and hex digits, but a plain `0` for zero."""
    return f"{n:#x}" if n else "0"
