"""`daxctl create-device [<options>]`: create a devdax device in each matching region."""

from __future__ import annotations

from cxltool.cli import daxctl_device_cli as device_cli
from cxltool.cli import ndopts
from cxltool.cli.daxctl_device_cli import BASE_OPTIONS, CREATE_OPTIONS
from cxltool.ops.daxctl_device import CREATE

COMMAND = device_cli.command("daxctl create-device [<options>]", BASE_OPTIONS + CREATE_OPTIONS)
SPEC = device_cli.Spec(CREATE, "", "creating devices", "created")


def run(ctx, parsed: ndopts.Parsed) -> int:
    return device_cli.run(ctx, parsed, COMMAND, SPEC)
