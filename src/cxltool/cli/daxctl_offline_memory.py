"""`daxctl offline-memory <device> [<options>]`: offline the memory of system-ram dax devices."""

from __future__ import annotations

from cxltool.cli import daxctl_device_cli as device_cli
from cxltool.cli import ndopts
from cxltool.cli.daxctl_device_cli import BASE_OPTIONS
from cxltool.ops.daxctl_device import OFFLINE

COMMAND = device_cli.command("daxctl offline-memory <device> [<options>]", BASE_OPTIONS)
SPEC = device_cli.Spec(OFFLINE, "offline memory for", "offlining memory", "offlined memory for")


def run(ctx, parsed: ndopts.Parsed) -> int:
    return device_cli.run(ctx, parsed, COMMAND, SPEC)
