"""`daxctl enable-device <device>`: bind dax devices in devdax mode."""

from __future__ import annotations

from cxltool.cli import daxctl_device_cli as device_cli
from cxltool.cli import ndopts
from cxltool.cli.daxctl_device_cli import BASE_OPTIONS
from cxltool.ops.daxctl_device import ENABLE

COMMAND = device_cli.command("daxctl enable-device <device>", BASE_OPTIONS)
SPEC = device_cli.Spec(ENABLE, "enable", "enabling device", "enabled")


def run(ctx, parsed: ndopts.Parsed) -> int:
    return device_cli.run(ctx, parsed, COMMAND, SPEC)
