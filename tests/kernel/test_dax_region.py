"""A dax region's create, delete, seed and available_size."""

from __future__ import annotations

import errno
import os

import pytest

from tests.kernel import daxkit
from tests.kernel.daxkit import (
    A_START,
    DAX,
    MiB,
    bind,
    driver,
    exists,
    read,
    refused,
    unbind,
    write,
)

# The shared trees (fixtures).
_originals, tree = daxkit._originals, daxkit.tree

REGION = "/sys/devices/platform/ACPI0017:00/root0/decoder0.0/region0/dax_region0"
GROUP = REGION + "/dax_region"


@pytest.fixture
def room(tree):
    """a-debian with dax0.0 unbound and shrunk to 128 MiB: 128 MiB free."""
    root = tree("a-debian", "ram-devdax")
    unbind(root, "dax0.0")
    write(root, f"{DAX}/dax0.0/size", str(128 * MiB))
    return root


def test_create_takes_only_1(room):
    for value in ("0", "2", "-1", "one", ""):
        refused(room, f"{GROUP}/create", value, errno.EINVAL)


def test_create_without_free_space_is_enospc(tree):
    root = tree("a-debian", "ram-region-created")
    assert read(root, f"{GROUP}/available_size") == "0"
    refused(root, f"{GROUP}/create", "1", errno.ENOSPC)


def test_create_makes_an_empty_device_and_seeds_the_region(room):
    write(room, f"{GROUP}/create", "1")
    dev = f"{REGION}/dax0.1"
    assert read(room, dev + "/size") == "0"
    assert read(room, dev + "/resource") == f"{A_START:#x}"
    assert read(room, dev + "/align") == "2097152"
    assert read(room, dev + "/memmap_on_memory") == "0"
    assert read(room, dev + "/target_node") == "1"
    assert read(room, dev + "/numa_node") == "-1"
    assert read(room, dev + "/dev") == "252:1"
    assert read(room, dev + "/uevent") == "MAJOR=252\nMINOR=1\nDEVNAME=dax0.1\nMODALIAS=dax:t0"
    assert os.readlink(room.host(f"{DAX}/dax0.1")) == (
        "../../../devices/platform/ACPI0017:00/root0/decoder0.0/region0/dax_region0/dax0.1"
    )
    assert exists(room, "/dev/dax0.1")
    assert os.readlink(room.host("/sys/dev/char/252:1")).endswith("/dax_region0/dax0.1")
    assert driver(room, "dax0.1") is None
    assert read(room, f"{GROUP}/seed") == "dax0.1"
    assert read(room, f"{GROUP}/create") == "dax0.1"
    # A second one is the youngest; the seed stays the first not yet bound.
    write(room, f"{GROUP}/create", "1")
    assert read(room, f"{GROUP}/create") == "dax0.2"
    assert read(room, f"{GROUP}/seed") == "dax0.1"


def test_binding_the_seed_clears_it(room):
    write(room, f"{GROUP}/create", "1")
    write(room, f"{DAX}/dax0.1/size", str(64 * MiB))
    bind(room, "dax0.1", "device_dax")
    assert read(room, f"{GROUP}/seed") == ""
    assert read(room, f"{GROUP}/create") == "dax0.1"


def test_delete_rules(room):
    refused(room, f"{GROUP}/delete", "dax9.9", errno.ENXIO)
    # daxN.0 stays, even unbound and empty.
    write(room, f"{DAX}/dax0.0/size", "0")
    refused(room, f"{GROUP}/delete", "dax0.0", errno.EBUSY)
    write(room, f"{GROUP}/create", "1")
    write(room, f"{DAX}/dax0.1/size", str(64 * MiB))
    refused(room, f"{GROUP}/delete", "dax0.1", errno.EBUSY)  # holds memory
    bind(room, "dax0.1", "device_dax")
    refused(room, f"{GROUP}/delete", "dax0.1", errno.EBUSY)  # bound


def test_delete_unregisters_the_device(room):
    write(room, f"{GROUP}/create", "1")
    write(room, f"{GROUP}/create", "1")
    write(room, f"{GROUP}/delete", "dax0.2")
    assert not exists(room, f"{REGION}/dax0.2")
    assert not exists(room, f"{DAX}/dax0.2")
    assert not exists(room, "/dev/dax0.2")
    assert not exists(room, "/sys/dev/char/252:2")
    assert read(room, f"{GROUP}/create") == ""
    assert read(room, f"{GROUP}/seed") == "dax0.1"
    write(room, f"{GROUP}/delete", "dax0.1")
    assert read(room, f"{GROUP}/seed") == ""
    # Ids and minors are free again.
    write(room, f"{GROUP}/create", "1")
    assert read(room, f"{REGION}/dax0.1/dev") == "252:1"
