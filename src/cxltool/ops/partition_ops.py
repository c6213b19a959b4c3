"""`cxl set-partition`: the volatile/persistent split a device takes at its next boot.

The checks and messages are ndctl's: IDENTIFY gives the partitionable capacity
and its alignment, the requested size becomes the volatile share (pmem: what
is left), rounded with `-a` or refused when unaligned, and SET_PARTITION_INFO
sends it. The device is asked through its mailbox (sysfs/mailbox.py): the
kernel's on the running system, the simulated device's elsewhere; what a failed
mailbox command makes libcxl print joins the command's messages in order.
"""

from __future__ import annotations

import errno
import os

from cxltool.objects.cparse import ULLONG_MAX
from cxltool.objects.cxl import CxlSystem, Memdev
from cxltool.ops.cxl_json import JsonFlags, memdev_json
from cxltool.ops.memdev_action import Log
from cxltool.ops.numbers import parse_size
from cxltool.sysfs.mailbox import Mailbox, memdev_mailbox

FN = "action_setpartition"
PMEM, VOLATILE = "pmem", "volatile"
_TYPES = {"pmem": PMEM, "volatile": VOLATILE, "ram": VOLATILE}


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


def _volatile_size(mailbox: Mailbox, memdev: Memdev, kind, size, do_align, log) -> int:
    ident = mailbox.identify()
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
    mailbox = memdev_mailbox(system.root, name, memdev.path, log.lib)
    volatile = _volatile_size(mailbox, memdev, kind, size, do_align, log)
    if volatile == ULLONG_MAX:
        return -errno.EINVAL
    rc = _send(mailbox, volatile, log)
    if rc:
        log(FN, f"{name} error: {os.strerror(-rc)}")
    # The printed object is read after the command: GET_PARTITION_INFO shows the change.
    fresh_system = CxlSystem(system.root)
    fresh = fresh_system.memdev_named(name) or memdev
    out.append(memdev_json(fresh, JsonFlags(human=human, partition=True)))
    log.lines.extend(fresh_system.messages)
    return rc


def _send(mailbox: Mailbox, volatile: int, log: Log) -> int:
    sent = mailbox.set_partition(volatile)
    if not sent.created:
        # ndctl dereferences the command it could not prepare and crashes; the
        # check it meant to make fails with ENXIO.
        return -errno.ENXIO
    if sent.rc < 0:
        log(FN, f"cmd submission failed: {os.strerror(-sent.rc)}")
        return sent.rc
    if sent.status:
        log(FN, f"{FN}: mbox status: {sent.status}")
        return -errno.ENXIO
    return 0
