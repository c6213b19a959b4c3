"""How the kernel's store functions read the text written to them.

A write hands the store function the bytes written; the buffer is a C string,
so parsing stops at the first NUL (ndctl writes its string *and* the NUL,
`echo` adds a newline, `echo -n` neither). These helpers parse like the kernel's
kstrto*(), sysfs_streq(), kstrtobool() and sscanf(), and raise KernelError with
the errno those return.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel.kerror import KernelError

UINT_MAX = 0xFFFFFFFF
INT_MAX = 0x7FFFFFFF
ULLONG_MAX = 0xFFFFFFFFFFFFFFFF


def cstring(value: str) -> str:
    """The written text as the kernel's C-string functions see it (up to a NUL)."""
    return value.split("\0", 1)[0]


def sysfs_streq(a: str, b: str) -> bool:
    """String equality ignoring one trailing newline on either side."""
    a, b = cstring(a), cstring(b)
    return a.removesuffix("\n") == b.removesuffix("\n")


def _digits(text: str, base: int) -> int | None:
    try:
        return int(text, base) if text else None
    except ValueError:
        return None


def kstrtoull(value: str, base: int = 0) -> int:
    """kstrtoull(): an unsigned number, one trailing newline allowed."""
    s = cstring(value)
    if s.startswith("+"):
        s = s[1:]
    if s.endswith("\n"):
        s = s[:-1]
    if base == 0:
        if s[:2].lower() == "0x" and len(s) > 2 and s[2] in "0123456789abcdefABCDEF":
            base, s = 16, s[2:]
        elif s.startswith("0"):
            base = 8
        else:
            base = 10
    elif base == 16 and s[:2].lower() == "0x":
        s = s[2:]
    # int() accepts "_" and blanks; the kernel accepts only digits of the base.
    allowed = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    if not s or any(c.lower() not in allowed for c in s):
        raise KernelError(errno.EINVAL)
    n = _digits(s, base)
    if n is None:
        raise KernelError(errno.EINVAL)
    if n > ULLONG_MAX:
        raise KernelError(errno.ERANGE)
    return n


def kstrtouint(value: str, base: int = 0) -> int:
    n = kstrtoull(value, base)
    if n > UINT_MAX:
        raise KernelError(errno.ERANGE)
    return n


def kstrtoint(value: str, base: int = 0) -> int:
    """kstrtoint(): a signed int, ERANGE outside the int range."""
    s = cstring(value)
    negative = s.startswith("-")
    n = kstrtoull(s[1:] if negative else s, base)
    if negative:
        if n > INT_MAX + 1:
            raise KernelError(errno.ERANGE)
        return -n
    if n > INT_MAX:
        raise KernelError(errno.ERANGE)
    return n


def kstrtobool(value: str) -> bool:
    """kstrtobool(): judged by the first character (and the second after o/O)."""
    s = cstring(value)
    if not s:
        raise KernelError(errno.EINVAL)
    first = s[0]
    if first in "eEyYtT1":
        return True
    if first in "dDnNfF0":
        return False
    if first in "oO" and len(s) > 1:
        if s[1] in "nN":
            return True
        if s[1] in "fF":
            return False
    raise KernelError(errno.EINVAL)


def scan_prefixed_int(value: str, prefix: str) -> int | None:
    """sscanf(buf, "<prefix>%d"): the number after a literal prefix, or None."""
    s = cstring(value)
    if not s.startswith(prefix):
        return None
    rest = s[len(prefix) :].lstrip(" \t\n\v\f\r")
    sign = 1
    if rest[:1] in ("+", "-"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    digits = ""
    for c in rest:
        if not c.isdigit():
            break
        digits += c
    if not digits:
        return None
    n = sign * int(digits)
    # The kernel's %d keeps the low 32 bits of what it read.
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n > INT_MAX else n


def is_power_of_2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def ways_to_eiw(ways: int) -> int:
    """The HDM encoding of an interleave way count (EINVAL if there is none)."""
    if ways <= 0 or ways > 16:
        raise KernelError(errno.EINVAL)
    if is_power_of_2(ways):
        return ways.bit_length() - 1
    if ways % 3 == 0 and is_power_of_2(ways // 3):
        return (ways // 3).bit_length() - 1 + 8
    raise KernelError(errno.EINVAL)


def granularity_to_eig(granularity: int) -> int:
    """The HDM encoding of an interleave granularity: powers of two 256..16K."""
    if not is_power_of_2(granularity) or granularity < 256 or granularity > 16384:
        raise KernelError(errno.EINVAL)
    return granularity.bit_length() - 1 - 8
