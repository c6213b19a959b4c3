"""`daxctl migrate-device-model`: switch dax devices to the bus model on the next boot."""

from __future__ import annotations

import os

from cxltool.cli import ndopts
from cxltool.ops.dax_migrate import install_modprobe_policy
from cxltool.sysfs import paths

COMMAND = ndopts.Command(usage=["daxctl migrate-device-model"], options=[])


def run(ctx, parsed: ndopts.Parsed) -> int:
    if parsed.args:
        # Each message ends in a newline of its own, hence the blank lines.
        text = "".join(ndopts.error_line(f'unknown parameter "{a}"\n') for a in parsed.args)
        raise ndopts.UsageExit(ndopts.USAGE_EXIT, text + COMMAND.full_usage())
    err = install_modprobe_policy(ctx.root)
    if err == 0:
        ctx.err.write(f" success: installed {paths.DAXCTL_MODPROBE_INSTALL}\n")
        return 0
    ctx.err.write(
        ndopts.error_line(
            f"failed to install {paths.DAXCTL_MODPROBE_INSTALL}: {os.strerror(err)}\n"
        )
    )
    return 1
