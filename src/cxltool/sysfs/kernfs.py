"""Directory order of the kernel's sysfs (kernfs).

kernfs keeps a directory's children in a tree sorted by a hash of the name, and
readdir walks that tree, so `ls -f /sys/bus/cxl/devices` comes out in hash order.
ndctl's output order follows readdir order, so a simulated tree (kept on an
ordinary filesystem) is listed in this order to print what a real kernel prints.
"""

_MASK64 = (1 << 64) - 1
_GOLDEN_RATIO_64 = 0x61C8864680B583EB
_INT_MAX = 0x7FFFFFFF


def name_hash(name: str) -> int:
    """The hash kernfs files `name` under (no namespace tag)."""
    h = 0
    for c in name.encode():
        h = ((h + (c << 4) + (c >> 4)) * 11) & _MASK64
    # end_name_hash() folds the 64-bit value to 32 bits with hash_64().
    h = ((h * _GOLDEN_RATIO_64) & _MASK64) >> 32
    h &= _INT_MAX
    if h < 2:
        h += 2
    if h >= _INT_MAX:
        h = _INT_MAX - 1
    return h


def sort_key(name: str) -> tuple[int, str]:
    return (name_hash(name), name)


def kernfs_order(names: list[str]) -> list[str]:
    """Names in the order a kernel's readdir returns them."""
    return sorted(names, key=sort_key)
