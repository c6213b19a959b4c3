"""`daxctl destroy-device <device> [<options>]`: shrink dax devices to nothing and delete them."""

from __future__ import annotations

from cxltool.cli import daxctl_device_cli as device_cli
from cxltool.cli import ndopts
from cxltool.cli.daxctl_device_cli import BASE_OPTIONS, DESTROY_OPTIONS
from cxltool.ops.daxctl_device import DESTROY

COMMAND = device_cli.command(
    "daxctl destroy-device <device> [<options>]", BASE_OPTIONS + DESTROY_OPTIONS
)
SPEC = device_cli.Spec(DESTROY, "destroy", "destroying devices", "destroyed")


def run(ctx, parsed: ndopts.Parsed) -> int:
    return device_cli.run(ctx, parsed, COMMAND, SPEC)
