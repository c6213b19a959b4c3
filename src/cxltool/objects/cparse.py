"""C library number parsing, as ndctl applies it to sysfs values and filter words.

ndctl reads attributes with strtoull/strtoul/strtol/atoi and matches filter words
with sscanf, all of which accept a numeric *prefix* and have their own rules for
signs, bases and overflow. Matching ndctl's output and filters needs the same rules.
"""

from __future__ import annotations

ULLONG_MAX = (1 << 64) - 1
UINT_MAX = (1 << 32) - 1
INT_MAX = (1 << 31) - 1
_LONG_MAX = (1 << 63) - 1
_LONG_MIN = -(1 << 63)

_SPACE = " \t\n\v\f\r"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _scan(text: str, base: int) -> tuple[bool, int, int, int]:
    """(digits seen, sign, magnitude, index after the number) of a strto*() prefix."""
    i, n = 0, len(text)
    while i < n and text[i] in _SPACE:
        i += 1
    sign = 1
    if i < n and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    if (
        base in (0, 16)
        and text[i : i + 2].lower() == "0x"
        and _digit(text[i + 2 : i + 3], 16) is not None
    ):
        i += 2
        base = 16
    elif base == 0:
        base = 8 if text[i : i + 1] == "0" else 10
    start = i
    value = 0
    while i < n:
        d = _digit(text[i], base)
        if d is None:
            break
        value = value * base + d
        i += 1
    return i > start, sign, value, i


def _digit(ch: str, base: int) -> int | None:
    if not ch:
        return None
    d = _DIGITS.find(ch.lower())
    return d if 0 <= d < base else None


_HEX = frozenset("0123456789abcdefABCDEF")


def _plain(text: str, base: int) -> int | None:
    """The value of a whole-string number in the forms sysfs prints, else None."""
    # Most attributes are plain decimal or 0x-hex; those need no C emulation.
    if not text.isascii():
        return None
    if text.isdigit() and base in (0, 10) and (text[0] != "0" or len(text) == 1 or base == 10):
        return int(text)
    if (
        base in (0, 16)
        and len(text) > 2
        and text[0] == "0"
        and text[1] in "xX"
        and _HEX.issuperset(text[2:])
    ):
        return int(text[2:], 16)
    return None


def strtoull_end(text: str, base: int = 0) -> tuple[int, int]:
    """strtoull(): the value and the index of the first unparsed character."""
    value = _plain(text, base)
    if value is not None and value <= ULLONG_MAX:
        return value, len(text)
    seen, sign, value, end = _scan(text, base)
    if not seen:
        return 0, 0
    if value > ULLONG_MAX:
        return ULLONG_MAX, end
    return (value if sign > 0 else -value) & ULLONG_MAX, end


def strtoull(text: str, base: int = 0) -> int:
    return strtoull_end(text, base)[0]


def strtol(text: str, base: int = 0) -> int:
    seen, sign, value, _ = _scan(text, base)
    if not seen:
        return 0
    return max(_LONG_MIN, min(_LONG_MAX, sign * value))


def to_int32(value: int) -> int:
    """What C keeps when a long is stored in an int."""
    value &= UINT_MAX
    return value - (1 << 32) if value > INT_MAX else value


def atoi(text: str) -> int:
    return to_int32(strtol(text, 10))


def strtoul_uint(text: str) -> int:
    """strtoul() stored in an unsigned int (interleave ways, granularity)."""
    return strtoull(text) & UINT_MAX


def scan_int(text: str, prefix: str = "") -> int | None:
    """sscanf(text, "<prefix>%d"): the int after a literal prefix, or None."""
    if not text.startswith(prefix):
        return None
    rest = text[len(prefix) :]
    if rest.isascii() and rest.isdigit():
        return to_int32(min(_LONG_MAX, int(rest)))
    seen, sign, value, _ = _scan(rest, 10)
    if not seen:
        return None
    return to_int32(max(_LONG_MIN, min(_LONG_MAX, sign * value)))


def scan_int_pair(text: str, prefix: str = "") -> tuple[int, int] | None:
    """sscanf(text, "<prefix>%d.%d") when both numbers convert."""
    if not text.startswith(prefix):
        return None
    rest = text[len(prefix) :]
    seen, sign, value, end = _scan(rest, 10)
    if not seen or rest[end : end + 1] != ".":
        return None
    second = scan_int(rest[end + 1 :])
    if second is None:
        return None
    return to_int32(max(_LONG_MIN, min(_LONG_MAX, sign * value))), second
