"""Asking a memdev's mailbox: one interface, two devices behind it.

On the running system the mailbox is the kernel's (ioctls on `/dev/cxl/memN`,
`mailbox_kernel.py`); on any other root it is the simulated device's, whose
answers were recorded with the tree (`sim/device_mailbox.py`, loaded only then,
as the emulator is for writes). Both give the objects ndctl prints for a
command (`health`, `alert_config`, `partition_info`, `firmware`), IDENTIFY's
capacity fields, and SET_PARTITION_INFO. A command that fails gives None; the
kernel's mailbox then reports what libcxl would print, through `log`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cxltool.sysfs.root import Root

# The printed objects `answer` knows, by the name of their JSON key.
ANSWERS = ("health", "alert_config", "partition_info", "firmware")

# A libcxl error line: (function, message).
LibLog = Callable[[str, str], None]


@dataclass(frozen=True)
class Sent:
    """How a command that changes the device went, in libcxl's terms."""

    created: bool  # the command could be prepared (the driver offers it)
    rc: int = 0  # the submission: 0, or -errno when the ioctl failed
    status: int = 0  # the device's return code


class Mailbox(Protocol):
    def answer(self, command: str) -> dict | None:
        """The object ndctl prints for `command` (one of ANSWERS), or None."""
        ...

    def identify(self) -> dict[str, int] | None:
        """IDENTIFY's capacities: total, volatile-only, persistent-only, alignment."""
        ...

    def set_partition(self, volatile_size: int) -> Sent:
        """SET_PARTITION_INFO for the next boot: `volatile_size` bytes volatile."""
        ...


def on_running_system(root: Root) -> bool:
    """Whether the memdev nodes under `root` are the running kernel's."""
    return not root.base


def memdev_mailbox(root: Root, name: str, path: str, log: LibLog) -> Mailbox:
    """The mailbox of memdev `name`, whose sysfs directory is `path`."""
    if on_running_system(root):
        from cxltool.sysfs.mailbox_kernel import KernelMailbox

        return KernelMailbox(root, name, path, log)
    from cxltool.sim.device_mailbox import SimulatedMailbox

    return SimulatedMailbox(root, name)
