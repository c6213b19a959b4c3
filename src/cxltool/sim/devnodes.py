"""Device nodes under dev/ for the character devices a tree's sysfs declares.

ndctl and daxctl stat `/dev/cxl/memN` and `/dev/daxN.M` and follow
`/sys/dev/char/MAJ:MIN`; a simulated tree carries them so those tools (and
cxltool) see the devices as present.
"""

from __future__ import annotations

import os
import stat

from cxltool.sysfs import paths


def _relative_link(link_host: str, target_host: str) -> str:
    return os.path.relpath(target_host, os.path.dirname(link_host))


def _make_node(host_path: str, major: int, minor: int) -> None:
    os.makedirs(os.path.dirname(host_path), exist_ok=True)
    if os.path.lexists(host_path):
        return
    try:
        os.mknod(host_path, 0o600 | stat.S_IFCHR, os.makedev(major, minor))
    except (PermissionError, OSError):
        # Without CAP_MKNOD a plain file stands in: existence is what is checked.
        with open(host_path, "w"):
            pass


def add_char_device(base: str, device_path: str, node_path: str) -> None:
    """Create the dev/ node and the sys/dev/char link for one device.

    device_path is the kernel path of the device directory (holding `dev`),
    node_path the kernel path of its node (e.g. /dev/cxl/mem0).
    """
    with open(base + device_path + paths.DEVNUM) as f:
        major, minor = (int(x) for x in f.read().strip().split(":"))
    _make_node(base + node_path, major, minor)
    link = base + paths.SYS_DEV_CHAR + f"/{major}:{minor}"
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.lexists(link):
        os.symlink(_relative_link(link, base + device_path), link)


def remove_char_device(base: str, node_path: str) -> None:
    host = base + node_path
    try:
        st = os.lstat(host)
    except OSError:
        return
    if stat.S_ISCHR(st.st_mode):
        link = base + paths.SYS_DEV_CHAR + f"/{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        if os.path.islink(link):
            os.unlink(link)
    os.unlink(host)


def node_for(bus_dir: str, name: str) -> str | None:
    """The /dev node name the kernel gives a device on the cxl or dax bus."""
    if bus_dir == paths.CXL_DEVICES and name.startswith("mem"):
        return paths.DEV_CXL + "/" + name
    if bus_dir == paths.DAX_DEVICES and name.startswith("dax"):
        return paths.DEV + "/" + name
    return None


def sync_dev_nodes(base: str) -> int:
    """Give every memdev and dax device in the tree its node; return how many."""
    made = 0
    for bus_dir in (paths.CXL_DEVICES, paths.DAX_DEVICES):
        try:
            names = os.listdir(base + bus_dir)
        except OSError:
            continue
        for name in names:
            node = node_for(bus_dir, name)
            if node is None:
                continue
            device = os.path.realpath(base + bus_dir + "/" + name)
            if not os.path.isfile(device + paths.DEVNUM):
                continue
            add_char_device(base, device[len(base):], node)
            made += 1
    return made
