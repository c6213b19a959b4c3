"""`daxctl reconfigure-device <device> [<options>]`: change dax devices' mode, size or alignment."""

from __future__ import annotations

from cxltool.cli import daxctl_device_cli as device_cli
from cxltool.cli import ndopts
from cxltool.cli.daxctl_device_cli import (
    BASE_OPTIONS,
    CREATE_OPTIONS,
    RECONFIG_OPTIONS,
    ZONE_OPTIONS,
)
from cxltool.ops.daxctl_device import RECONFIGURE

COMMAND = device_cli.command(
    "daxctl reconfigure-device <device> [<options>]",
    BASE_OPTIONS + CREATE_OPTIONS + RECONFIG_OPTIONS + ZONE_OPTIONS,
)
SPEC = device_cli.Spec(RECONFIGURE, "reconfigure", "reconfiguring devices", "reconfigured")


def run(ctx, parsed: ndopts.Parsed) -> int:
    return device_cli.run(ctx, parsed, COMMAND, SPEC)
