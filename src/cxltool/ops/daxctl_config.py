"""`daxctl reconfigure-device -C`: a device's settings from daxctl's configuration files.

A device qualifies when it is the first device of the dax region of a
libnvdimm namespace in devdax mode; the namespace's dax `uuid` names it in the
files. Every `*.conf` file of /etc/daxctl.conf.d (on a simulated system, under
its root) is read, in reverse name order, as an ini file; a section whose name
begins with `reconfigure-device` and whose `nvdimm.uuid` is that uuid supplies
`mode`, `online` and `movable` (booleans by their first letter: t/y/1 true,
f/n/0 false). Values found in several files are joined with a space, as daxctl
does. A simulated system without the directory reads as one where daxctl's
package installed it empty.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass

from cxltool.objects import cparse
from cxltool.objects.dax import DaxSystem
from cxltool.sysfs import Root, SysfsError, paths

SECTION = "reconfigure-device"
UUID_KEY = "nvdimm.uuid"


@dataclass
class ReconfigureConfig:
    mode: str | None = None
    online: bool | None = None
    movable: bool | None = None
    error: int = 0  # a negative errno when the files could not be read


def namespace_uuid(root: Root, device: str) -> str | None:
    """The uuid of the devdax namespace whose dax region starts with `device`."""
    found = None
    for name in root.listdir_opt(paths.ND_DEVICES):
        if cparse.scan_int_pair(name, "dax") is None:
            continue
        try:
            real = root.realpath(f"{paths.ND_DEVICES}/{name}")
        except SysfsError:
            continue
        if not root.read_opt(real + "/namespace"):
            continue
        region_id = root.read_opt(real + "/dax_region/id")
        if region_id is None or not region_id.strip().lstrip("-").isdigit():
            continue
        region = DaxSystem(root).region_at(real, int(region_id))
        devices = region.devices
        if devices and devices[0].name == device:
            found = root.read_opt(real + "/uuid")
    return found


def _parse_ini(text: str) -> list[tuple[str, dict[str, str]]]:
    """Sections in file order, names and keys lower-cased, values unquoted."""
    sections: list[tuple[str, dict[str, str]]] = []
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = {}
            sections.append((line[1:-1].strip().lower(), current))
            continue
        key, eq, value = line.partition("=")
        if not eq or current is None:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        current[key.strip().lower()] = value
    return sections


def _search(sections: list[tuple[str, dict[str, str]]], uuid: str, key: str) -> str | None:
    for name, values in sections:
        words = name.split()
        if not words or words[0] != SECTION:
            continue
        if values.get(UUID_KEY) != uuid:
            continue
        return values.get(key)
    return None


def _to_bool(text: str | None) -> bool | None:
    if not text:
        return None
    if text[0] in "tTyY1":
        return True
    if text[0] in "fFnN0":
        return False
    return None


def read_config(root: Root, uuid: str) -> ReconfigureConfig:
    folder = root.host(paths.DAXCTL_CONF_DIR)
    try:
        names = sorted(
            n for n in os.listdir(folder)
            if n.endswith(".conf") and n != ".conf" and os.path.isfile(os.path.join(folder, n))
        )
    except FileNotFoundError:
        if root.simulated:
            return ReconfigureConfig()  # daxctl's packages ship the directory empty
        return ReconfigureConfig(error=-errno.ENOENT)
    except OSError as e:
        return ReconfigureConfig(error=-(e.errno or errno.EIO))
    joined: dict[str, str] = {}
    for name in reversed(names):
        try:
            with open(os.path.join(folder, name)) as f:
                sections = _parse_ini(f.read())
        except OSError as e:
            return ReconfigureConfig(error=-(e.errno or errno.EIO))
        for key in ("mode", "online", "movable"):
            value = _search(sections, uuid, key)
            if value is not None:
                joined[key] = f"{joined[key]} {value}" if key in joined else value
    return ReconfigureConfig(
        mode=joined.get("mode"),
        online=_to_bool(joined.get("online")),
        movable=_to_bool(joined.get("movable")),
    )


def reconfigure_config(root: Root, device: str, err: Callable[[str], None]) -> ReconfigureConfig:
    """What the files say for `device` (nothing for "all" or an unknown device)."""
    if device == "all":
        return ReconfigureConfig()
    uuid = namespace_uuid(root, device)
    if uuid is None:
        err(f"no UUID match for {device} found in config files\n")
        return ReconfigureConfig()
    return read_config(root, uuid)
