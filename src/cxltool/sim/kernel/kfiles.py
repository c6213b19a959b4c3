"""The tree as the kernel itself reads it: attribute values whatever their mode.

A store handler is the kernel, so 0400 attributes (`resource`, `mappingN/start`)
and 0200 ones are open to it, unlike to the user a simulated root serves. These
helpers read the files directly under the root's directory.
"""

from __future__ import annotations

import os

from cxltool.sysfs import paths
from cxltool.sysfs.root import SimulatedRoot


def read(root: SimulatedRoot, path: str) -> str | None:
    """An attribute's text without its trailing newline, or None if absent."""
    try:
        with open(root.host(path)) as f:
            text = f.read()
    except OSError:
        return None
    return text[:-1] if text.endswith("\n") else text


def read_int(root: SimulatedRoot, path: str, base: int = 0) -> int | None:
    text = read(root, path)
    if text is None:
        return None
    try:
        return int(text.strip(), base)
    except ValueError:
        return None


def listdir(root: SimulatedRoot, path: str) -> list[str]:
    try:
        return os.listdir(root.host(path))
    except OSError:
        return []


def isdir(root: SimulatedRoot, path: str) -> bool:
    host = root.host(path)
    return os.path.isdir(host) and not os.path.islink(host)


def link_target(root: SimulatedRoot, path: str) -> str | None:
    """The kernel path a link resolves to, or None when it is not a link."""
    host = root.host(path)
    if not os.path.islink(host):
        return None
    real = os.path.realpath(host)
    base = root.base
    return real[len(base) :] if real.startswith(base + "/") else None


def driver_of(root: SimulatedRoot, device: str) -> str | None:
    """Name of the driver a device is bound to, or None."""
    target = link_target(root, device + "/driver")
    return paths.basename(target) if target else None
