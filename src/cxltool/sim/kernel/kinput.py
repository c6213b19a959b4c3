"""How the kernel's store functions read what was written.

`echo` appends a newline and C writers may send a NUL; the kernel's helpers
(sysfs_streq, kstrtobool, kstrtoull) each tolerate exactly one trailing
newline and stop at a NUL. Parse failures are None here; the callers choose
the errno the real store returns (mostly EINVAL, sometimes not).
"""

from __future__ import annotations

ULLONG_LIMIT = 1 << 64
_HEX = "0123456789abcdefABCDEF"


def written(value: str) -> str:
    """The text up to the first NUL, one trailing newline removed (sysfs_streq's view)."""
    text = value.split("\0", 1)[0]
    return text[:-1] if text.endswith("\n") else text


def kstrtoull(value: str, base: int = 0) -> int | None:
    """kstrtoull(): digits only (base 0: 0x hex, leading-0 octal), one newline allowed.

    The value is returned whole; one of 2**64 or more is the kernel's ERANGE.
    """
    text = value.split("\0", 1)[0]
    if text.endswith("\n"):
        text = text[:-1]
    if text.startswith("+"):
        text = text[1:]
    if base in (0, 16) and text[:2].lower() == "0x":
        text, base = text[2:], 16
    elif base == 0:
        base = 8 if text.startswith("0") and len(text) > 1 else 10
    if not text:
        return None
    digits = _HEX[: base + (6 if base == 16 else 0)] if base <= 10 or base == 16 else None
    if digits is None or any(c not in digits for c in text):
        return None
    return int(text, base)


def kstrtobool(value: str) -> bool | None:
    """kstrtobool(): y/Y/1/on are true, n/N/0/off false, judged by the first characters."""
    text = value.split("\0", 1)[0]
    if not text:
        return None
    first = text[0]
    if first in "yY1":
        return True
    if first in "nN0":
        return False
    if first in "oO" and len(text) > 1:
        if text[1] in "nN":
            return True
        if text[1] in "fF":
            return False
    return None
