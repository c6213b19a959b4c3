"""Stores of /sys/devices/system/memory: block `state` and `online`, `auto_online_blocks`.

`memoryK/state` takes `online`, `online_kernel`, `online_movable` or `offline`
(anything else is EINVAL) and writing the state a block is already in is EINVAL
too. `memoryK/online` takes a boolean: 1 onlines with the default zone, 0
offlines, and writing the current value succeeds without doing anything.
A boot block spanning two zones (`valid_zones` reads `none`) cannot be offlined
(EINVAL). `auto_online_blocks` takes the same four words as `state`; it decides
what happens to memory hot-added later (see kmem.py).
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel import kinput
from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.memplan import ONLINE_TYPES, memory_plan
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import SysfsError, paths

_BLOCK = paths.MEMORY + "/memory[0-9]*/"
STATES = (*ONLINE_TYPES, "offline")


def _block_index(path: str) -> int:
    name = path.rsplit("/", 2)[1]
    return int(name[len("memory") :])


@register(_BLOCK + "state")
def store_state(txn: Transaction, path: str, value: str) -> None:
    wanted = kinput.written(value)
    if wanted not in STATES:
        raise SysfsError(errno.EINVAL, path)
    plan = memory_plan(txn)
    index = _block_index(path)
    err = plan.offline(index) if wanted == "offline" else plan.online(index, wanted)
    if err:
        raise SysfsError(err, path)


@register(_BLOCK + "online")
def store_online(txn: Transaction, path: str, value: str) -> None:
    wanted = kinput.kstrtobool(value)
    if wanted is None:
        raise SysfsError(errno.EINVAL, path)
    plan = memory_plan(txn)
    index = _block_index(path)
    block = plan.block(index)
    if block is None:
        raise SysfsError(errno.ENODEV, path)
    if block.online == wanted:
        return  # the device core reports "already" as success here
    err = plan.online(index, "online") if wanted else plan.offline(index)
    if err:
        raise SysfsError(err, path)


@register(paths.MEMORY + "/auto_online_blocks")
def store_auto_online(txn: Transaction, path: str, value: str) -> None:
    wanted = kinput.written(value)
    if wanted not in STATES:
        raise SysfsError(errno.EINVAL, path)
    memory_plan(txn).write(path, wanted, 0o644)
