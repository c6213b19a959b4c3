"""The dax bus drivers: bind, unbind, new_id and remove_id."""

from __future__ import annotations

import errno

from tests.kernel import daxkit
from tests.kernel.daxkit import (
    DAX,
    DRV,
    MiB,
    driver,
    read,
    refused,
    unbind,
    write,
)

# The shared trees (fixtures).
_originals, tree = daxkit._originals, daxkit.tree

GROUP = f"{DAX}/dax0.0/../dax_region"


def test_bind_rules(tree):
    root = tree("a-debian", "ram-devdax")
    refused(root, f"{DRV}/device_dax/bind", "dax9.9", errno.ENODEV)
    refused(root, f"{DRV}/device_dax/bind", "dax0.0", errno.EBUSY)
    unbind(root, "dax0.0")
    # A CXL device matches kmem by type, device_dax only by name.
    refused(root, f"{DRV}/device_dax/bind", "dax0.0", errno.ENODEV)
    write(root, f"{DRV}/device_dax/new_id", "dax0.0")
    assert driver(root, "dax0.0") == "device_dax"


def test_new_id_binds_at_once_and_the_following_bind_is_ebusy(tree):
    root = tree("a-debian", "ram-devdax")
    unbind(root, "dax0.0")
    write(root, f"{DRV}/device_dax/new_id", "dax0.0")
    assert driver(root, "dax0.0") == "device_dax"
    assert read(root, f"{DAX}/dax0.0/uevent").splitlines()[3] == "DRIVER=device_dax"
    refused(root, f"{DRV}/device_dax/bind", "dax0.0", errno.EBUSY)


def test_new_id_and_remove_id_take_exact_names(tree):
    root = tree("a-debian", "ram-devdax")
    for value in ("dax0", "dax0.00", "dax0.0x", "0.0", "dax 0.0", ""):
        refused(root, f"{DRV}/kmem/new_id", value, errno.EINVAL)
        refused(root, f"{DRV}/kmem/remove_id", value, errno.EINVAL)
    # A name never added is no error, and removing one does not unbind.
    write(root, f"{DRV}/device_dax/remove_id", "dax7.7")
    write(root, f"{DRV}/device_dax/remove_id", "dax0.0")
    assert driver(root, "dax0.0") == "device_dax"


def test_a_device_of_size_zero_is_enxio(tree):
    root = tree("a-debian", "ram-devdax")
    unbind(root, "dax0.0")
    write(root, f"{DAX}/dax0.0/size", "0")
    refused(root, f"{DRV}/kmem/bind", "dax0.0", errno.ENXIO)


def test_unbind_rules(tree):
    root = tree("a-debian", "ram-devdax")
    refused(root, f"{DRV}/kmem/unbind", "dax0.0", errno.ENODEV)
    refused(root, f"{DRV}/device_dax/unbind", "dax9.9", errno.ENODEV)
    write(root, f"{DRV}/device_dax/unbind", "dax0.0")
    assert driver(root, "dax0.0") is None
    assert "DRIVER=" not in read(root, f"{DAX}/dax0.0/uevent")
    refused(root, f"{DRV}/device_dax/unbind", "dax0.0", errno.ENODEV)


def test_new_id_attaches_every_device_the_driver_matches(tree):
    root = tree("a-debian", "ram-devdax")
    unbind(root, "dax0.0")
    write(root, f"{DAX}/dax0.0/size", str(128 * MiB))
    write(root, f"{GROUP}/create", "1")
    write(root, f"{DAX}/dax0.1/size", str(128 * MiB))
    write(root, f"{DRV}/kmem/new_id", "dax0.1")
    # dax0.0 matches kmem by type and was unbound: it is taken too.
    assert (driver(root, "dax0.0"), driver(root, "dax0.1")) == ("kmem", "kmem")
