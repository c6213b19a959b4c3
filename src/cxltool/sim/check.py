"""Consistency checks of a simulated tree: what a kernel could not have produced.

On the running system the same checks run over its sysfs, and udev's list of the cxl
and dax devices is compared with what the walk of sysfs found.
"""

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


_NO_RESOURCE = 0xFFFFFFFFFFFFFFFF


def _num(root: Root, path: str) -> int | None:
    text = root.read_opt(path)
    try:
        return int(text, 0) if text else None
    except ValueError:
        return None


def _overlaps(ranges: list[tuple[int, int, str]]) -> list[tuple[str, str]]:
    found = []
    reach, holder = -1, ""
    for start, end, name in sorted(ranges):
        if start < reach:
            found.append((holder, name))
        if end > reach:
            reach, holder = end, name
    return found


def _check_regions(root: Root, problems: list[str]) -> None:
    """Regions are whole: targets name decoders that name them back; no overlap."""
    hpa: list[tuple[int, int, str]] = []
    for name in root.listdir_opt(paths.CXL_DEVICES):
        if not name.startswith("region"):
            continue
        region = paths.CXL_DEVICES + "/" + name
        start, size = _num(root, region + "/resource"), _num(root, region + "/size")
        if start not in (None, _NO_RESOURCE) and size:
            hpa.append((start, start + size, name))
        ways = _num(root, region + "/interleave_ways") or 0
        for pos in range(ways):
            target = root.read_opt(f"{region}/target{pos}")
            if not target:
                continue
            dec = paths.CXL_DEVICES + "/" + target
            if not root.exists(dec):
                problems.append(f"{region}/target{pos}: {target} does not exist")
            elif root.read_opt(dec + "/region") != name:
                problems.append(f"{region}/target{pos}: {target} does not name {name} back")
    for a, b in _overlaps(hpa):
        problems.append(f"{paths.CXL_DEVICES}/{b}: host addresses overlap {a}")


def _check_dpa(root: Root, problems: list[str]) -> None:
    """No two endpoint decoders of one memdev claim the same device addresses."""
    by_port: dict[str, list[tuple[int, int, str]]] = {}
    for name in root.listdir_opt(paths.CXL_DEVICES):
        if not name.startswith("decoder"):
            continue
        dec = paths.CXL_DEVICES + "/" + name
        start, size = _num(root, dec + "/dpa_resource"), _num(root, dec + "/dpa_size")
        if start is None or start == _NO_RESOURCE or not size:
            continue
        port = name.split(".")[0]
        by_port.setdefault(port, []).append((start, start + size, name))
    for ranges in by_port.values():
        for a, b in _overlaps(ranges):
            problems.append(f"{paths.CXL_DEVICES}/{b}: device addresses overlap {a}")


# On the running system udev's enumeration is compared with the sysfs walk:
# each subsystem with the directories its devices are listed in.
UDEV_VIEW = (
    ("cxl", (paths.CXL_DEVICES,)),
    ("dax", (paths.DAX_DEVICES, paths.CLASS_DAX)),
)


def check_udev(root: Root) -> list[str]:
    """Devices that udev enumerates and the sysfs walk does not, and the other way round."""
    problems: list[str] = []
    for subsystem, dirs in UDEV_VIEW:
        listed = root.udev_devices(subsystem)
        if listed is None:
            continue  # a tree, or no libudev to ask
        walked: dict[str, str] = {}
        for folder in dirs:
            for name in root.listdir_opt(folder):
                walked.setdefault(name, folder)
        seen = set(listed)
        for name in sorted(set(walked) - seen):
            problems.append(f"{walked[name]}/{name}: not in udev's enumeration of {subsystem}")
        for name in sorted(seen - set(walked)):
            problems.append(f"{dirs[0]}/{name}: udev enumerates it, sysfs does not list it")
    return problems


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
    _check_regions(root, problems)
    _check_dpa(root, problems)
    if root.real:
        problems.extend(check_udev(root))
    return problems
