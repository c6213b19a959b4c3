"""A dax device's size, align, mapping and memmap_on_memory, and what follows from them."""

from __future__ import annotations

import errno

import pytest

from tests.kernel import daxkit
from tests.kernel.daxkit import (
    A_START,
    DAX,
    MiB,
    exists,
    read,
    refused,
    unbind,
    write,
)

# The shared trees (fixtures).
_originals, tree = daxkit._originals, daxkit.tree

GROUP = f"{DAX}/dax0.0/../dax_region"


@pytest.fixture
def idle(tree):
    """a-debian's dax0.0 unbound, still holding the whole 256 MiB region."""
    root = tree("a-debian", "ram-devdax")
    unbind(root, "dax0.0")
    return root


def mapping(root, dev: str, n: int) -> tuple[str, str, str]:
    base = f"{DAX}/{dev}/mapping{n}"
    return read(root, base + "/start"), read(root, base + "/end"), read(root, base + "/page_offset")


def test_size_of_a_bound_device_is_ebusy(tree):
    root = tree("a-debian", "ram-devdax")
    refused(root, f"{DAX}/dax0.0/size", "0", errno.EBUSY)
    root = tree("a-debian", "ram-region-created")  # on kmem
    refused(root, f"{DAX}/dax0.0/size", str(128 * MiB), errno.EBUSY)


def test_size_must_parse_and_be_2m_aligned(idle):
    for value in ("abc", "12x", "-1", ""):
        refused(idle, f"{DAX}/dax0.0/size", value, errno.EINVAL)
    refused(idle, f"{DAX}/dax0.0/size", str(MiB), errno.EINVAL)
    refused(idle, f"{DAX}/dax0.0/size", "0x10000000000000000", errno.ERANGE)


def test_shrinking_to_nothing_drops_the_mapping(idle):
    write(idle, f"{DAX}/dax0.0/size", "0")
    assert read(idle, f"{DAX}/dax0.0/size") == "0"
    assert not exists(idle, idle.realpath(f"{DAX}/dax0.0") + "/mapping0")
    # With no range the device shows the region's start.
    assert read(idle, f"{DAX}/dax0.0/resource") == f"{A_START:#x}"
    assert read(idle, f"{GROUP}/available_size") == str(256 * MiB)
    assert read(idle, f"{DAX}/dax0.0/target_node") == "1"


def test_growing_past_the_free_space_is_enospc(idle):
    write(idle, f"{DAX}/dax0.0/size", str(128 * MiB))
    refused(idle, f"{DAX}/dax0.0/size", str(512 * MiB), errno.ENOSPC)


def test_growing_extends_the_last_range_in_place(idle):
    write(idle, f"{DAX}/dax0.0/size", str(64 * MiB))
    assert mapping(idle, "dax0.0", 0) == (f"{A_START:#x}", f"{A_START + 64 * MiB - 1:#x}", "0x0")
    write(idle, f"{DAX}/dax0.0/size", "0x8000000")  # daxctl's %#llx
    assert mapping(idle, "dax0.0", 0)[1] == f"{A_START + 128 * MiB - 1:#x}"
    assert read(idle, f"{DAX}/dax0.0/size") == str(128 * MiB)
    assert read(idle, f"{GROUP}/available_size") == str(128 * MiB)


def test_growing_past_another_device_adds_a_mapping(idle):
    write(idle, f"{DAX}/dax0.0/size", str(128 * MiB))
    write(idle, f"{GROUP}/create", "1")
    write(idle, f"{DAX}/dax0.1/size", str(64 * MiB))
    assert mapping(idle, "dax0.1", 0)[0] == f"{A_START + 128 * MiB:#x}"
    write(idle, f"{DAX}/dax0.0/size", str(192 * MiB))
    start = A_START + 192 * MiB
    # Page offset: after the 128 MiB of mapping0, in pages.
    assert mapping(idle, "dax0.0", 1) == (f"{start:#x}", f"{start + 64 * MiB - 1:#x}", "0x8000")
    assert read(idle, f"{GROUP}/available_size") == "0"
    # Shrinking takes the last range first.
    write(idle, f"{DAX}/dax0.0/size", str(96 * MiB))
    assert not exists(idle, idle.realpath(f"{DAX}/dax0.0") + "/mapping1")
    assert mapping(idle, "dax0.0", 0)[1] == f"{A_START + 96 * MiB - 1:#x}"
    assert read(idle, f"{GROUP}/available_size") == str(96 * MiB)


def test_growth_fills_the_first_gap(idle):
    write(idle, f"{DAX}/dax0.0/size", "0")
    write(idle, f"{GROUP}/create", "1")
    write(idle, f"{DAX}/dax0.1/mapping", f"{A_START + 64 * MiB:#x}-{A_START + 128 * MiB - 1:#x}")
    write(idle, f"{DAX}/dax0.0/size", str(128 * MiB))
    # The gap before dax0.1 first, then the space after it.
    assert mapping(idle, "dax0.0", 0)[:2] == (f"{A_START:#x}", f"{A_START + 64 * MiB - 1:#x}")
    assert mapping(idle, "dax0.0", 1)[:2] == (
        f"{A_START + 128 * MiB:#x}",
        f"{A_START + 192 * MiB - 1:#x}",
    )


def test_align(idle, tree):
    refused(idle, f"{DAX}/dax0.0/align", "foo", errno.ENXIO)
    refused(idle, f"{DAX}/dax0.0/align", "12345", errno.EINVAL)
    # 1 GiB does not divide the 256 MiB range.
    refused(idle, f"{DAX}/dax0.0/align", str(1 << 30), errno.EINVAL)
    write(idle, f"{DAX}/dax0.0/align", "0x1000")
    assert read(idle, f"{DAX}/dax0.0/align") == "4096"
    bound = tree("a-debian", "ram-devdax")
    refused(bound, f"{DAX}/dax0.0/align", "4096", errno.EBUSY)


def test_mapping_claims_a_free_range(idle):
    write(idle, f"{DAX}/dax0.0/size", "0")
    for value in ("zzz", "0x490000000", "0x490000000-qq"):
        refused(idle, f"{DAX}/dax0.0/mapping", value, errno.EINVAL)
    # Outside the region.
    refused(idle, f"{DAX}/dax0.0/mapping", "0x1000000-0x1ffffff", errno.ENOMEM)
    write(idle, f"{DAX}/dax0.0/mapping", f"{A_START + 128 * MiB:x}-{A_START + 256 * MiB - 1:x}")
    assert read(idle, f"{DAX}/dax0.0/resource") == f"{A_START + 128 * MiB:#x}"
    assert read(idle, f"{DAX}/dax0.0/size") == str(128 * MiB)
    # Overlapping what the device holds.
    refused(
        idle,
        f"{DAX}/dax0.0/mapping",
        f"{A_START + 192 * MiB:#x}-{A_START + 200 * MiB - 1:#x}",
        errno.ENOMEM,
    )


def test_a_misaligned_mapping_is_accepted_and_ignored(idle):
    write(idle, f"{DAX}/dax0.0/size", "0")
    write(idle, f"{DAX}/dax0.0/mapping", f"{A_START:#x}-{A_START + MiB - 1:#x}")
    assert read(idle, f"{DAX}/dax0.0/size") == "0"


def test_memmap_on_memory(tree, idle):
    refused(idle, f"{DAX}/dax0.0/memmap_on_memory", "1", errno.EOPNOTSUPP)
    refused(idle, f"{DAX}/dax0.0/memmap_on_memory", "what", errno.EINVAL)
    write(idle, f"{DAX}/dax0.0/memmap_on_memory", "0")
    assert read(idle, f"{DAX}/dax0.0/memmap_on_memory") == "0"
    on_kmem = tree("a-debian", "ram-region-created")
    refused(on_kmem, f"{DAX}/dax0.0/memmap_on_memory", "0", errno.EBUSY)
