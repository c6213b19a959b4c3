"""`daxctl online-memory <device> [<options>]`: online the memory of system-ram dax devices."""

from __future__ import annotations

from cxltool.cli import daxctl_device_cli as device_cli
from cxltool.cli import ndopts
from cxltool.cli.daxctl_device_cli import BASE_OPTIONS, ZONE_OPTIONS
from cxltool.ops.daxctl_device import ONLINE

COMMAND = device_cli.command(
    "daxctl online-memory <device> [<options>]", BASE_OPTIONS + ZONE_OPTIONS
)
SPEC = device_cli.Spec(ONLINE, "online memory for", "onlining memory", "onlined memory for")


def run(ctx, parsed: ndopts.Parsed) -> int:
    return device_cli.run(ctx, parsed, COMMAND, SPEC)
