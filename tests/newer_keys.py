"""JSON keys that ndctl added after a given release, by the object that carries them.

cxltool prints what ndctl v85 prints; output recorded from, or produced by, an older
ndctl lacks these keys, and they are the only difference allowed when comparing.
"""

from __future__ import annotations

from typing import Any

# key -> the first ndctl release that prints it (reference: ndctl.md section 0.2 and 4).
_ADDED_IN = {
    "pmem_qos_class": 79,
    "ram_qos_class": 79,
    "qos_class": 79,
    "qos_class_mismatch": 79,
    "decoders_committed": 79,
    "parent_dport": 77,
    "type": 77,
    "firmware_version": 80,
    "poison_injectable": 84,
    "injectable_protocol_errors": 84,
    "protocol_injectable": 84,
    "extended_linear_cache_size": 84,
    "locked": 85,
}


def _version_number(version: str) -> float:
    return float(version)


def newer_than(version: str) -> set[str]:
    v = _version_number(version)
    return {k for k, added in _ADDED_IN.items() if added > v}


def strip_newer(value: Any, version: str) -> Any:
    """A copy of a cxl list document without the keys `version` does not print."""
    drop = newer_than(version)
    return _strip(value, drop)


def _strip(value: Any, drop: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_strip(v, drop) for v in value]
    return value
