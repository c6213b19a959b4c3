"""Simulated systems kept in the user's state directory (`--sim NAME`)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class SystemError_(Exception):
    """A simulated system that cannot be found or made."""


def state_home() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "cxltool")


def system_dir(name: str) -> str:
    if not _NAME.match(name) or name in (".", ".."):
        raise SystemError_(f"{name!r}: not a valid simulated system name")
    return os.path.join(state_home(), name)


def build_fixture_into(fixture: str, dest: str, params: dict[str, int] | None = None) -> None:
    """Build a fixture (built-in name or .toml path) into a new directory dest."""
    from cxltool.sim.build import build_tree
    from cxltool.sim.topology import load_fixture

    topology = load_fixture(fixture, params)
    parent = os.path.dirname(os.path.abspath(dest)) or "."
    os.makedirs(parent, exist_ok=True)
    # Build beside the destination and rename, so a crash never leaves half a system.
    work = tempfile.mkdtemp(prefix=".cxltool-new-", dir=parent)
    try:
        build_tree(topology, work)
        if os.path.isdir(dest) and not os.listdir(dest):
            os.rmdir(dest)
        os.rename(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def ensure_system(name: str) -> str:
    """The directory of simulated system NAME, built from fixture NAME if new."""
    path = system_dir(name)
    if not os.path.isdir(path):
        build_fixture_into(name, path)
    return path
