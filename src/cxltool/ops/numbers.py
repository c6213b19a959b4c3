"""How ndctl shows numbers: raw integers, or with -u sizes and hex strings."""

from __future__ import annotations

_KIB, _MIB, _GIB, _TIB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


def _centi(value: int, unit: int) -> int:
    # Two decimals, rounded half up, in integer arithmetic as ndctl does.
    return (value * 200 // unit + 1) // 2


def human_size(value: int) -> int | str:
    """`268435456` -> `"256.00 MiB (268.44 MB)"`; small values stay integers."""
    if value < 5000 * _KIB:
        return value
    if value < 2 * _GIB:
        iec, si, names = _MIB, 10**6, ("MiB", "MB")
    elif value < 2 * _TIB:
        iec, si, names = _GIB, 10**9, ("GiB", "GB")
    else:
        iec, si, names = _TIB, 10**12, ("TiB", "TB")
    a = _centi(value, iec)
    b = (value // (si // 200) + 1) // 2
    return f"{a // 100}.{a % 100:02d} {names[0]} ({b // 100}.{b % 100:02d} {names[1]})"


def size(value: int, human: bool) -> int | str:
    return human_size(value) if human else value


def hexnum(value: int, human: bool) -> int | str:
    """A hex field: decimal normally; with -u, C's `%#llx` (zero prints as "0")."""
    if not human:
        return value
    return f"{value:#x}" if value else "0"


def parse_kernel_int(text: str | None) -> int | None:
    """A kernel number attribute (`0x1000`, `256`, `0x0000000040000000`)."""
    if text is None:
        return None
    try:
        return int(text.strip(), 0)
    except ValueError:
        try:
            return int(text.strip(), 16) if text.startswith("0x") else None
        except ValueError:
            return None


def parse_size(text: str) -> int:
    """A size argument as ndctl takes it: 0x/octal/decimal with one K/M/G/T suffix."""
    s = text.strip()
    shift = 0
    if s and s[-1] in "kKmMgGtT":
        shift = {"k": 10, "m": 20, "g": 30, "t": 40}[s[-1].lower()]
        s = s[:-1]
    if not s:
        raise ValueError(text)
    if s.lower().startswith("0x"):
        value = int(s[2:], 16)
    elif len(s) > 1 and s.startswith("0"):
        value = int(s[1:], 8)
    else:
        if not s.isdigit():
            raise ValueError(text)
        value = int(s)
    value <<= shift
    if value >= 1 << 64:
        raise ValueError(text)
    return value
