"""`cxl set-partition`: the volatile/persistent split a device takes at its next boot.

The checks and messages are ndctl's: IDENTIFY gives the partitionable capacity
and its alignment, the requested size becomes the volatile share (pmem: what
is left), rounded with `-a` or refused when unaligned, and SET_PARTITION_INFO
sends it. The mailbox is reached only on a simulated system
(sim/device_mailbox.py); on the real root cxltool issues no mailbox ioctls, so
IDENTIFY fails there as a failed mailbox command does for ndctl.
"""

from __future__ import annotations

import errno
import os

from cxltool.objects.cparse import ULLONG_MAX
from cxltool.objects.cxl import CxlSystem, Memdev
from cxltool.ops.cxl_json import JsonFlags, memdev_json
from cxltool.ops.memdev_action import Log
from cxltool.ops.numbers import parse_size

FN = "action_setpartition"
PMEM, VOLATILE = "pmem", "volatile"
_TYPES = {"pmem": PMEM, "volatile": VOLATILE, "ram": VOLATILE}


def _identify(system: CxlSystem, memdev: Memdev) -> dict | None:
    if not system.root.simulated:
        return None
    from cxltool.sim.device_mailbox import identify

    return identify(system.root, memdev.name)  # type: ignore[arg-type]


def _aligned(name: str, kind: str, volatile: int, align: int, avail: int, do_align: bool, log):
    if volatile % align == 0:
        return volatile
    if not do_align:
        log("partition_align", f"{name}: size {volatile} is not partition aligned {align}")
        return ULLONG_MAX
    if kind == PMEM:
        volatile = volatile // align * align
    else:
        volatile = -(-volatile // align) * align
    if volatile > avail:
        log(
            "partition_align",
            f"{name}: aligned partition size {volatile} exceeds available size {avail}",
        )
        return ULLONG_MAX
    return volatile


def _volatile_size(system, memdev: Memdev, kind: str, size: int, do_align: bool, log) -> int:
    ident = _identify(system, memdev)
    if ident is None:
        return ULLONG_MAX
    name = memdev.name
    align = ident["partition_alignment_size"]
    if align == 0:
        log("validate_partition", f"{name}: no available capacity")
        return ULLONG_MAX
    avail = ident["total_size"] - ident["volatile_only_size"] - ident["persistent_only_size"]
    if size == ULLONG_MAX:
        volatile = 0 if kind == PMEM else avail
    elif size > avail:
        log("param_size_to_volatile_size", f"{name}: {size} exceeds available capacity {avail}")
        return ULLONG_MAX
    else:
        volatile = avail - size if kind == PMEM else size
    return _aligned(name, kind, volatile, align, avail, do_align, log)


def set_partition(
    system: CxlSystem,
    memdev: Memdev,
    log: Log,
    type_: str | None,
    size_text: str | None,
    do_align: bool,
    out: list[dict],
    human: bool,
) -> int:
    name = memdev.name
    kind = PMEM
    if type_ is not None:
        if type_ not in _TYPES:
            log(FN, f"invalid type '{type_}'")
            return -errno.EINVAL
        kind = _TYPES[type_]
    size = ULLONG_MAX
    if size_text is not None:
        try:
            size = parse_size(size_text)
        except ValueError:
            log(FN, f"{name}: failed to parse size option '{size_text}'")
            return -errno.EINVAL
    volatile = _volatile_size(system, memdev, kind, size, do_align, log)
    if volatile == ULLONG_MAX:
        return -errno.EINVAL
    from cxltool.sim.device_mailbox import set_partition as send

    rc = 0 if send(system.root, name, volatile) else -errno.ENXIO  # type: ignore[arg-type]
    if rc:
        log(FN, f"{name} error: {os.strerror(-rc)}")
    # The printed object is read after the command: GET_PARTITION_INFO shows the change.
    fresh = CxlSystem(system.root).memdev_named(name) or memdev
    out.append(memdev_json(fresh, JsonFlags(human=human, partition=True)))
    return rc
