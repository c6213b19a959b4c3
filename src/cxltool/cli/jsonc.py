"""JSON text exactly as ndctl prints it (json-c, pretty, no space after colons).

Details scripts and diffs notice: two-space indent, `"key":value`, `/` escaped as
`\\/`, and an empty array printed as `[` newline `]` (json-c 0.16, the version
Debian bookworm's ndctl links).
"""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any


def _string(s: str) -> str:
    # The standard encoder escapes what json-c escapes (quotes, backslash,
    # \b \f \n \r \t, other control characters as \u00XX, non-ASCII kept);
    # json-c also escapes the slash.
    text = encode_basestring(s)
    return text.replace("/", "\\/") if "/" in text else text


def _value(v: Any, level: int, out: list[str]) -> None:
    # Dispatch on the exact type: listings are hundreds of thousands of values.
    t = type(v)
    if t is str:
        out.append(_string(v))
    elif t is int:
        out.append(str(v))
    elif t is dict:
        if not v:
            out.append("{\n" + "  " * level + "}")
            return
        inner = "  " * (level + 1)
        sep = "{\n"
        for k, item in v.items():
            out.append(sep + inner + _string(k) + ":")
            _value(item, level + 1, out)
            sep = ",\n"
        out.append("\n" + "  " * level + "}")
    elif t is list:
        if not v:
            out.append("[\n" + "  " * level + "]")
            return
        inner = "  " * (level + 1)
        sep = "[\n"
        for item in v:
            out.append(sep + inner)
            _value(item, level + 1, out)
            sep = ",\n"
        out.append("\n" + "  " * level + "]")
    elif t is bool:
        out.append("true" if v else "false")
    elif v is None:
        out.append("null")
    elif isinstance(v, bool):
        out.append("true" if v else "false")
    elif isinstance(v, str):
        out.append(_string(v))
    elif isinstance(v, dict):
        _value(dict(v), level, out)
    elif isinstance(v, list | tuple):
        _value(list(v), level, out)
    else:
        out.append(str(v))


def dumps(value: Any) -> str:
    """The document with its final newline."""
    out: list[str] = []
    _value(value, 0, out)
    out.append("\n")
    return "".join(out)
