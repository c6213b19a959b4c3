"""`daxctl disable-device <device>`: unbind devdax or famfs dax devices."""

from __future__ import annotations

from cxltool.cli import daxctl_device_cli as device_cli
from cxltool.cli import ndopts
from cxltool.cli.daxctl_device_cli import BASE_OPTIONS
from cxltool.ops.daxctl_device import DISABLE

COMMAND = device_cli.command("daxctl disable-device <device>", BASE_OPTIONS)
SPEC = device_cli.Spec(DISABLE, "disable", "disabling device", "disabled")


def run(ctx, parsed: ndopts.Parsed) -> int:
    return device_cli.run(ctx, parsed, COMMAND, SPEC)
