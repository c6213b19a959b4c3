"""What a simulated type-3 device is, apart from what the kernel made of it.

A device has an identity (serial, firmware, label area), media (volatile and
persistent capacity), capabilities and mailbox answers. The kernel reads them
when cxl_pci probes the device and shows them through `memN`; afterwards the
device may change (`sim set-capacity`) while the memdev keeps what was read.
So the device's own facts are kept in the kernel state under `cxl_devices`,
keyed by the device's host directory (its PCI function or mock platform
device). Devices of a built or restored tree have no record until an event
needs one: it is then read from the memdev the tree shows.

The mailbox answers live with the memdev while there is one
(`.cxltool/mailbox/memN.json`, which `cxl list` and `set-partition` use); the
record keeps them while the device has no memdev.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from cxltool.sim import device_mailbox
from cxltool.sim.topology import default_firmware, default_partition_info
from cxltool.sysfs import SysfsError, paths
from cxltool.sysfs.root import META_DIR, SimulatedRoot

STATE_KEY = "cxl_devices"
# What a device of each platform has when nothing says otherwise: QEMU's cxl-type3
# and cxl_test's mock memdev (as the fixture format's device defaults).
_DEFAULTS: dict[str, dict[str, Any]] = {
    "acpi": dict(
        firmware_version="BWFW VERSION 00",
        payload_max=2048,
        hdm_decoders=4,
        cdat=True,
        secure_erase=False,
        label_storage_size=0,
    ),
    "cxl_test": dict(
        firmware_version="mock fw v1 ",
        payload_max=4096,
        hdm_decoders=8,
        cdat=False,
        secure_erase=True,
        label_storage_size=131072,
    ),
}


@dataclass
class Type3:
    """One device's facts; also what the memdev shape needs (shapes.MemdevLike)."""

    serial: int
    ram: int
    pmem: int
    label_storage_size: int
    firmware_version: str
    numa_node: int
    payload_max: int
    hdm_decoders: int
    cdat: bool
    qos_class: int | None
    sanitize: bool
    secure_erase: bool
    poison: bool
    firmware_update: bool
    mailbox: dict[str, Any] = field(default_factory=dict)
    memdev: int = -1  # the memdev number of the probe being planned

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        del out["memdev"]
        # The kernel state is saved with sorted keys; ndctl's key order of each
        # answer must survive, so answers are kept as lists of pairs.
        out["mailbox"] = [
            [command, list(answer.items()) if isinstance(answer, dict) else answer]
            for command, answer in self.mailbox.items()
        ]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Type3:
        names = {f.name for f in dataclasses.fields(cls)} - {"memdev"}
        fields = {k: v for k, v in data.items() if k in names}
        box = fields.get("mailbox", [])
        fields["mailbox"] = {
            command: dict(answer) if isinstance(answer, list) else answer for command, answer in box
        }
        return cls(**fields)


def new_device(
    kind: str, serial: int, ram: int, pmem: int, label_storage_size: int | None, numa_node: int
) -> Type3:
    """A device as it comes from the factory: the platform's defaults, no pending changes."""
    d = _DEFAULTS.get(kind, _DEFAULTS["acpi"])
    fw = d["firmware_version"]
    lsa = d["label_storage_size"] if label_storage_size is None else label_storage_size
    return Type3(
        serial=serial,
        ram=ram,
        pmem=pmem,
        label_storage_size=lsa,
        firmware_version=fw,
        numa_node=numa_node,
        payload_max=d["payload_max"],
        hdm_decoders=d["hdm_decoders"],
        cdat=d["cdat"],
        qos_class=None,
        sanitize=True,
        secure_erase=d["secure_erase"],
        poison=True,
        firmware_update=True,
        mailbox={
            "partition_info": default_partition_info(ram, pmem, 0),
            "firmware": default_firmware(kind, fw),
        },
    )


def load(state: dict[str, Any], host: str) -> Type3 | None:
    data = state.get(STATE_KEY, {}).get(host)
    return Type3.from_json(data) if isinstance(data, dict) else None


def save(state: dict[str, Any], host: str, dev: Type3) -> None:
    state.setdefault(STATE_KEY, {})[host] = dev.to_json()


def forget(state: dict[str, Any], host: str) -> None:
    state.get(STATE_KEY, {}).pop(host, None)


def mailbox_file(memdev_name: str) -> str:
    """The root-relative path of a memdev's mailbox answers (planned on a transaction)."""
    return f"/{META_DIR}/{device_mailbox.MAILBOX_DIR}/{memdev_name}.json"


def _int(text: str | None, default: int, base: int = 0) -> int:
    try:
        return int(text or "", base)
    except ValueError:
        return default


def from_tree(root: SimulatedRoot, state: dict[str, Any], memdev: str) -> Type3:
    """The facts of the device behind a memdev the tree shows (a device with no record).

    Media: what the kernel state says the device has, else what the memdev shows.
    Capabilities: the files the memdev carries. Decoder count and CDAT: what the
    endpoint port shows or, when it is gone, what was recorded of its hardware.
    """
    from cxltool.sim.kernel import port_hardware

    name = paths.basename(memdev)
    media = state.get("memdevs", {}).get(name, {})
    qos = root.read_opt(memdev + "/ram/qos_class") or root.read_opt(memdev + "/pmem/qos_class")
    hw = state.get(port_hardware.STATE_KEY, {}).get(memdev, {})
    endpoint = _endpoint(root, memdev)
    decoders = hw.get("decoders")
    cdat = "cdat" in hw
    if endpoint is not None:
        n = paths.basename(endpoint)[len("endpoint") :]
        decoders = len([x for x in root.listdir_opt(endpoint) if x.startswith(f"decoder{n}.")])
        cdat = root.exists(endpoint + "/CDAT")
    # The poison trigger shows only while cxl_mem is bound; an unbound memdev with
    # nothing recorded is taken to have it, as both platforms' devices do.
    poison = bool(hw.get("poison", root.exists(memdev + "/trigger_poison_list") or not endpoint))
    kind = "cxl_test" if paths.basename(paths.dirname(memdev)).startswith("cxl_") else "acpi"
    return Type3(
        serial=_int(root.read_opt(memdev + "/serial"), 0),
        ram=int(media.get("ram", _int(root.read_opt(memdev + "/ram/size"), 0))),
        pmem=int(media.get("pmem", _int(root.read_opt(memdev + "/pmem/size"), 0))),
        label_storage_size=_int(root.read_opt(memdev + "/label_storage_size"), 0, 10),
        firmware_version=root.read_opt(memdev + "/firmware_version") or "",
        numa_node=_int(root.read_opt(memdev + "/numa_node"), -1, 10),
        payload_max=_int(root.read_opt(memdev + "/payload_max"), 2048, 10),
        hdm_decoders=int(decoders or _DEFAULTS[kind]["hdm_decoders"]),
        cdat=cdat,
        qos_class=_int(qos, 0, 10) if qos is not None else None,
        sanitize=root.exists(memdev + "/security/sanitize"),
        secure_erase=root.exists(memdev + "/security/erase"),
        poison=poison,
        firmware_update=root.isdir(memdev + "/firmware"),
        mailbox=device_mailbox.read_answers(root, name) or {},
    )


def _endpoint(root: SimulatedRoot, memdev: str) -> str | None:
    for name in root.listdir_opt(paths.CXL_DEVICES):
        if name.startswith("endpoint"):
            try:
                port = root.realpath(f"{paths.CXL_DEVICES}/{name}")
                if root.realpath(port + "/uport") == memdev:
                    return port
            except SysfsError:
                continue
    return None
