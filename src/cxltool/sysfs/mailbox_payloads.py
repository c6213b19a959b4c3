"""CXL mailbox payloads, read into the objects `cxl list` prints for them.

The layouts are the CXL specification's (r3.1 section 8.2.9): little-endian
fields at fixed offsets, capacities in 256 MiB units. Each reader returns a dict
whose keys, order and values are those ndctl prints, which is also the shape a
simulated device's recorded answers have (`.cxltool/mailbox/memN.json`), so the
JSON layer cannot tell the two apart. A payload shorter than its layout reads
as if padded with zeros, as libcxl's zeroed buffers do.
"""

from __future__ import annotations

CAPACITY_UNIT = 256 << 20
_U64 = (1 << 64) - 1

# Sizes the kernel's command table gives (bytes of output, or of input).
IDENTIFY_SIZE = 0x43
PARTITION_INFO_SIZE = 0x20
HEALTH_INFO_SIZE = 0x12
ALERT_CONFIG_SIZE = 0x10
FW_INFO_SIZE = 0x50
SET_PARTITION_SIZE = 0x0A

SET_PARTITION_IMMEDIATE = 1 << 0

# Get Health Info byte 1: the one media state a device reports.
MEDIA_STATES = (
    "media_normal",
    "media_not_ready",
    "media_persistence_lost",
    "media_data_lost",
    "media_powerloss_persistence_loss",
    "media_shutdown_persistence_loss",
    "media_persistence_loss_imminent",
    "media_powerloss_data_loss",
    "media_shutdown_data_loss",
    "media_data_loss_imminent",
)
# Byte 0, bit by bit.
HEALTH_STATUS = ("maintenance_needed", "performance_degraded", "hw_replacement_needed")
_LEVELS = ("normal", "warning", "critical")
LIFE_USED_NOT_REPORTED = 0xFF
TEMPERATURE_NOT_REPORTED = 0xFFFF

# Get Alert Configuration: bits of bytes 0 (valid) and 1 (programmable), in order.
ALERTS = (
    "life_used",
    "dev_over_temperature",
    "dev_under_temperature",
    "corrected_volatile_mem_err",
    "corrected_pmem_err",
)
# (key, offset, width) of the thresholds, in the order ndctl prints them.
_ALERT_THRESHOLDS = (
    ("life_used_crit_alert_threshold", 2, 1),
    ("life_used_prog_warn_threshold", 3, 1),
    ("dev_over_temperature_crit_alert_threshold", 4, 2),
    ("dev_under_temperature_crit_alert_threshold", 6, 2),
    ("dev_over_temperature_prog_warn_threshold", 8, 2),
    ("dev_under_temperature_prog_warn_threshold", 10, 2),
    ("corrected_volatile_mem_err_prog_warn_threshold", 12, 2),
    ("corrected_pmem_err_prog_warn_threshold", 14, 2),
)

FW_SLOTS = 4
FW_REVISION_LEN = 16
_FW_REVISIONS_AT = 16


def _le(payload: bytes, offset: int, width: int) -> int:
    return int.from_bytes(payload[offset : offset + width].ljust(width, b"\0"), "little")


def _capacity(payload: bytes, offset: int) -> int:
    # libcxl multiplies in 64 bits.
    return (_le(payload, offset, 8) * CAPACITY_UNIT) & _U64


def _text(raw: bytes) -> str:
    """A fixed-width, NUL-padded text field as C reads it (up to the first NUL)."""
    text = raw.split(b"\0", 1)[0]
    try:
        return text.decode()
    except UnicodeDecodeError:
        return text.decode(errors="replace")


def identify_partitions(payload: bytes) -> dict[str, int]:
    """IDENTIFY MEMORY DEVICE: the capacity fields `partition_info` starts with."""
    return {
        "total_size": _capacity(payload, 16),
        "volatile_only_size": _capacity(payload, 24),
        "persistent_only_size": _capacity(payload, 32),
        "partition_alignment_size": _capacity(payload, 40),
    }


def partition_info(payload: bytes) -> dict[str, int]:
    """GET PARTITION INFO: the active and next-boot split."""
    return {
        "active_volatile_size": _capacity(payload, 0),
        "active_persistent_size": _capacity(payload, 8),
        "next_volatile_size": _capacity(payload, 16),
        "next_persistent_size": _capacity(payload, 24),
    }


def _level(value: int, names: tuple[str, ...]) -> str:
    return names[value] if value < len(names) else "unknown"


def health_info(payload: bytes) -> dict[str, object]:
    """GET HEALTH INFO as ndctl's `health` object."""
    status, media, ext, life_used = (_le(payload, i, 1) for i in range(4))
    out: dict[str, object] = {
        name: bool(status >> bit & 1) for bit, name in enumerate(HEALTH_STATUS)
    }
    out.update({name: media == state for state, name in enumerate(MEDIA_STATES)})
    out["ext_life_used"] = _level(ext & 3, _LEVELS)
    out["ext_temperature"] = _level(ext >> 2 & 3, _LEVELS)
    # One bit each: normal or warning (ndctl's "unknown" cannot occur).
    out["ext_corrected_volatile"] = _level(ext >> 4 & 1, _LEVELS)
    out["ext_corrected_persistent"] = _level(ext >> 5 & 1, _LEVELS)
    # A device that does not track a value reports all ones; the key is left out.
    if life_used != LIFE_USED_NOT_REPORTED:
        out["life_used_percent"] = life_used
    temperature = _le(payload, 4, 2)
    if temperature != TEMPERATURE_NOT_REPORTED:
        out["temperature"] = temperature
    out["dirty_shutdowns"] = _le(payload, 6, 4)
    out["volatile_errors"] = _le(payload, 10, 4)
    out["pmem_errors"] = _le(payload, 14, 4)
    return out


def alert_config(payload: bytes) -> dict[str, object]:
    """GET ALERT CONFIGURATION as ndctl's `alert_config` object."""
    valid, programmable = _le(payload, 0, 1), _le(payload, 1, 1)
    out: dict[str, object] = {}
    for bit, alert in enumerate(ALERTS):
        out[f"{alert}_prog_warn_threshold_valid"] = bool(valid >> bit & 1)
    for bit, alert in enumerate(ALERTS):
        out[f"{alert}_prog_warn_threshold_writable"] = bool(programmable >> bit & 1)
    for key, offset, width in _ALERT_THRESHOLDS:
        out[key] = _le(payload, offset, width)
    return out


def fw_info(payload: bytes) -> dict[str, object]:
    """GET FW INFO as the device part of ndctl's `firmware` object.

    The firmware loader's state (`fw_update_in_progress`, `remaining_size`) comes
    from sysfs and is added by the caller.
    """
    slots, slot_info, caps = (_le(payload, i, 1) for i in range(3))
    out: dict[str, object] = {"num_slots": slots, "active_slot": slot_info & 7}
    staged = slot_info >> 3 & 7
    if 0 < staged <= slots:
        out["staged_slot"] = staged
    out["online_activate_capable"] = bool(caps & 1)
    for n in range(1, FW_SLOTS + 1):
        at = _FW_REVISIONS_AT + (n - 1) * FW_REVISION_LEN
        raw = payload[at : at + FW_REVISION_LEN]
        # An empty slot (first byte NUL) has no version to show.
        if raw[:1] not in (b"", b"\0"):
            out[f"slot_{n}_version"] = _text(raw)
    return out


def set_partition(volatile_size: int, immediate: bool = False) -> bytes:
    """SET PARTITION INFO's input: the volatile capacity, and when it takes effect."""
    units = (volatile_size & _U64) // CAPACITY_UNIT
    flags = SET_PARTITION_IMMEDIATE if immediate else 0
    return units.to_bytes(8, "little") + bytes([flags])
