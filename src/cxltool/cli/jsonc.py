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
    if isinstance(v, dict):
        out.append("{\n")
        first = True
        for k, item in v.items():
            if not first:
                out.append(",\n")
            first = False
            out.append("  " * (level + 1) + _string(k) + ":")
            _value(item, level + 1, out)
        if not first:
            out.append("\n")
        out.append("  " * level + "}")
    elif isinstance(v, list):
        out.append("[\n")
        for i, item in enumerate(v):
            if i:
                out.append(",\n")
            out.append("  " * (level + 1))
            _value(item, level + 1, out)
        if v:
            out.append("\n")
        out.append("  " * level + "]")
    elif isinstance(v, bool):
        out.append("true" if v else "false")
    elif isinstance(v, str):
        out.append(_string(v))
    elif v is None:
        out.append("null")
    else:
        out.append(str(v))


def dumps(value: Any) -> str:
    """The document with its final newline."""
    out: list[str] = []
    _value(value, 0, out)
    out.append("\n")
    return "".join(out)
