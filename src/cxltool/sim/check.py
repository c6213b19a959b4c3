"""Consistency checks of a simulated tree: what a kernel could not have produced."""

from __future__ import annotations

from cxltool.sysfs import Root, SysfsError, paths


def _check_bus_links(root: Root, bus_devices: str, problems: list[str]) -> None:
    for name in root.listdir_opt(bus_devices):
        link = bus_devices + "/" + name
        if not root.islink(link):
            problems.append(f"{link}: not a symlink")
            continue
        try:
            target = root.realpath(link)
        except SysfsError as e:
            problems.append(f"{link}: {e.message}")
            continue
        if not root.isdir(target):
            problems.append(f"{link}: dangling link to {target}")
        elif paths.basename(target) != name:
            problems.append(f"{link}: points at {target}, whose name differs")


def _check_drivers(root: Root, drivers_dir: str, problems: list[str]) -> None:
    for driver in root.listdir_opt(drivers_dir):
        ddir = drivers_dir + "/" + driver
        for name in root.listdir_opt(ddir):
            link = ddir + "/" + name
            if name == "module" or not root.islink(link):
                continue
            try:
                dev = root.realpath(link)
            except SysfsError as e:
                problems.append(f"{link}: {e.message}")
                continue
            back = dev + "/driver"
            if not root.islink(back) or root.realpath(back) != root.realpath(ddir):
                problems.append(f"{link}: device {dev} does not name {driver} as its driver")


def _check_endpoints(root: Root, problems: list[str]) -> None:
    for name in root.listdir_opt(paths.CXL_DEVICES):
        if not name.startswith("endpoint"):
            continue
        port = paths.CXL_DEVICES + "/" + name
        try:
            mem = root.realpath(port + "/uport")
        except SysfsError as e:
            problems.append(f"{port}/uport: {e.message}")
            continue
        if not root.isdir(mem):
            problems.append(f"{port}/uport: memdev {mem} missing")


def check_tree(root: Root) -> list[str]:
    """Every inconsistency found, as one line each; empty when the tree is sound."""
    problems: list[str] = []
    if not root.isdir(paths.CXL_BUS):
        problems.append(f"{paths.CXL_BUS}: missing")
        return problems
    for bus_devices, drivers in (
        (paths.CXL_DEVICES, paths.CXL_DRIVERS),
        (paths.DAX_DEVICES, paths.DAX_DRIVERS),
    ):
        _check_bus_links(root, bus_devices, problems)
        _check_drivers(root, drivers, problems)
    _check_endpoints(root, problems)
    return problems
