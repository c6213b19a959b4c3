"""A memdev's mailbox on the running kernel, asked the way libcxl asks it.

Each command starts with QUERY_COMMANDS (once for the count, once for the list)
and is prepared only if the driver lists it; whether the device really offers
it shows when it is sent (the kernel refuses it with ENOTTY). A command counts
as answered only when the ioctl succeeds and the device returns success.
libcxl prints lines for some failures (the node cannot be opened or is not the
memdev's, the query fails) and none for others (a command the driver does not
list, an ioctl or device error); the same lines go to `log`.

`firmware` also reads the memdev's firmware-loader state from sysfs, as libcxl
does for `fw_update_in_progress` and `remaining_size`.
"""

from __future__ import annotations

import os

from cxltool.sysfs import mailbox_payloads as payloads
from cxltool.sysfs.errors import SysfsError
from cxltool.sysfs.mailbox import LibLog, Sent
from cxltool.sysfs.mailbox_ioctl import CommandId, CommandInfo, MemdevNode, NodeError, Reply
from cxltool.sysfs.root import Root

_IDLE = "idle"


def _number(text: str) -> int:
    # The kernel writes the count in decimal; what does not parse counts as none left.
    try:
        return int(text.strip(), 0)
    except ValueError:
        return 0


class KernelMailbox:
    """The mailbox of memdev `name` (sysfs directory `path`) through its node."""

    def __init__(
        self, root: Root, name: str, path: str, log: LibLog, node: MemdevNode | None = None
    ) -> None:
        self.root = root
        self.name = name
        self.path = path
        self.log = log
        self.node = node or MemdevNode(root.base, name)

    # -- libcxl's command steps -------------------------------------------------------
    def _prepare(self, command: CommandId) -> CommandInfo | None:
        """The driver's description of `command`, or None (libcxl's lines logged)."""
        try:
            infos = self.node.query_commands(self.node.count_commands())
        except NodeError as e:
            if e.line:
                self.log(*e.line)
            reason = os.strerror(e.errno)
            self.log("alloc_do_query", f"{self.name}: query commands failed: {reason}")
            self.log("cxl_cmd_new_generic", f"{self.name}: query returned: {reason}")
            return None
        return next((info for info in infos if info.id == command), None)

    def _submit(self, info: CommandInfo, payload: bytes = b"") -> Reply | int:
        """The device's reply, or -errno when the ioctl failed."""
        try:
            return self.node.send(info.id, payload, info.size_in, info.size_out)
        except NodeError as e:
            if e.line:
                self.log(*e.line)
            return -e.errno

    def _ask(self, command: CommandId) -> bytes | None:
        """The output payload of a command that succeeded, else None."""
        info = self._prepare(command)
        if info is None:
            return None
        reply = self._submit(info)
        if isinstance(reply, int) or reply.retval != 0:
            return None
        return reply.payload

    # -- the mailbox interface --------------------------------------------------------
    def answer(self, command: str) -> dict | None:
        if command == "health":
            payload = self._ask(CommandId.GET_HEALTH_INFO)
            return None if payload is None else payloads.health_info(payload)
        if command == "alert_config":
            payload = self._ask(CommandId.GET_ALERT_CONFIG)
            return None if payload is None else payloads.alert_config(payload)
        if command == "partition_info":
            return self._partition_info()
        if command == "firmware":
            return self._firmware()
        raise ValueError(f"no mailbox answer called {command!r}")

    def identify(self) -> dict[str, int] | None:
        payload = self._ask(CommandId.IDENTIFY)
        return None if payload is None else payloads.identify_partitions(payload)

    def set_partition(self, volatile_size: int) -> Sent:
        info = self._prepare(CommandId.SET_PARTITION_INFO)
        if info is None:
            return Sent(created=False)
        reply = self._submit(info, payloads.set_partition(volatile_size))
        if isinstance(reply, int):
            return Sent(created=True, rc=reply)
        return Sent(created=True, status=reply.retval)

    # -- the composite objects --------------------------------------------------------
    def _partition_info(self) -> dict | None:
        info: dict | None = self.identify()
        if info is None:
            return None
        # Without an alignment nothing can be repartitioned, and ndctl does not ask.
        if info["partition_alignment_size"]:
            payload = self._ask(CommandId.GET_PARTITION_INFO)
            if payload is not None:
                info.update(payloads.partition_info(payload))
        return info

    def _firmware(self) -> dict | None:
        payload = self._ask(CommandId.GET_FW_INFO)
        if payload is None:
            return None
        out = payloads.fw_info(payload)
        loader = f"{self.path}/firmware/{self.name}"
        try:
            busy = self.root.read(loader + "/status") != _IDLE
        except SysfsError as e:
            self.log(
                "cxl_fwl_get_status", f"{self.name}: failed to get fw loader status ({e.strerror})"
            )
            busy = True
        out["fw_update_in_progress"] = busy
        if busy:
            try:
                out["remaining_size"] = _number(self.root.read(loader + "/remaining_size"))
            except SysfsError as e:
                self.log(
                    "cxl_memdev_fw_update_get_remaining",
                    f"{self.name}: failed to get fw loader remaining size ({e.strerror})",
                )
                out["remaining_size"] = 0
        return out
