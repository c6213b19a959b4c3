"""The device side of mailbox commands on a simulated system.

A simulated device's mailbox answers live in `.cxltool/mailbox/memN.json` (the
objects `cxl list -I/-H/-A/-F` prints). IDENTIFY's partition fields are in its
`partition_info`. SET_PARTITION_INFO (without the immediate flag) changes
nothing now: the device records the sizes it will use at the next boot, which
GET_PARTITION_INFO then reports as `next_volatile_size` and
`next_persistent_size` (the volatile-only and persistent-only capacity plus the
partitionable capacity given to each).

`SimulatedMailbox` is this device behind sysfs/mailbox.py's interface; listing
only reads the answers, so the emulator's transactions are loaded for a write only.
"""

from __future__ import annotations

import json
import os

from cxltool.sysfs.mailbox import Sent
from cxltool.sysfs.root import META_DIR, Root, SimulatedRoot

MAILBOX_DIR = "mailbox"


def _path(root: Root, memdev: str) -> str:
    return os.path.join(root.base, META_DIR, MAILBOX_DIR, memdev + ".json")


def read_answers(root: Root, memdev: str) -> dict | None:
    try:
        with open(_path(root, memdev)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def identify(root: Root, memdev: str) -> dict | None:
    """The partition fields of IDENTIFY, or None when the device does not answer."""
    return _identify(read_answers(root, memdev))


def _identify(answers: dict | None) -> dict | None:
    info = (answers or {}).get("partition_info")
    if not isinstance(info, dict):
        return None
    keys = ("total_size", "volatile_only_size", "persistent_only_size", "partition_alignment_size")
    if not all(isinstance(info.get(k), int) for k in keys):
        return None
    return {k: info[k] for k in keys}


def set_partition(root: SimulatedRoot, memdev: str, volatile_size: int) -> bool:
    """SET_PARTITION_INFO for the next boot; False when the device does not answer."""
    from cxltool.sim.kernel.txn import locked

    with locked(root):
        answers = read_answers(root, memdev)
        info = (answers or {}).get("partition_info")
        if not isinstance(info, dict):
            return False
        available = info["total_size"] - info["volatile_only_size"] - info["persistent_only_size"]
        info["next_volatile_size"] = info["volatile_only_size"] + volatile_size
        info["next_persistent_size"] = info["persistent_only_size"] + available - volatile_size
        path = _path(root, memdev)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(answers, f, indent=1)
        os.replace(tmp, path)
    return True


class SimulatedMailbox:
    """A simulated memdev's mailbox (see sysfs/mailbox.py), read from its answers.

    A device without an answer for a command fails it without a word, as a
    device that lacks the command does on a real system.
    """

    def __init__(self, root: Root, memdev: str) -> None:
        self.root = root
        self.memdev = memdev
        self._answers: dict | None = None

    def _recorded(self) -> dict:
        if self._answers is None:
            self._answers = (read_answers(self.root, self.memdev) if self.root.base else None) or {}
        return self._answers

    def answer(self, command: str) -> dict | None:
        data = self._recorded().get(command)
        return dict(data) if isinstance(data, dict) else None

    def identify(self) -> dict | None:
        return _identify(self._recorded())

    def set_partition(self, volatile_size: int) -> Sent:
        if not isinstance(self.root, SimulatedRoot):
            return Sent(created=False)
        self._answers = None
        return Sent(created=set_partition(self.root, self.memdev, volatile_size))
