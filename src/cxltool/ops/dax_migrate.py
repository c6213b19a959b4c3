"""`daxctl migrate-device-model`: install the modprobe policy for the dax bus model.

daxctl links its shipped policy file into modprobe.d
(`/etc/modprobe.d/daxctl.conf` -> `/usr/share/daxctl/daxctl.conf`), which makes
the dax_pmem driver bind in bus mode on the next boot. On a simulated system the
link is made under its root, in an `etc/modprobe.d` made for it if missing (a
real machine always has one); the link text is the absolute path daxctl writes.
"""

from __future__ import annotations

import errno
import os

from cxltool.sysfs import Root, paths


def install_modprobe_policy(root: Root) -> int:
    """Make the link; 0 or the errno symlink() failed with."""
    target = root.host(paths.DAXCTL_MODPROBE_INSTALL)
    try:
        if root.simulated:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(paths.DAXCTL_MODPROBE_DATA, target)
    except OSError as e:
        return e.errno or errno.EIO
    return 0
