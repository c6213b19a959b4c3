"""The sysfs gateway: kernfs order, reads, permissions and errors."""

from __future__ import annotations

import errno
import json
import os

import pytest

from cxltool.sysfs import RootError, SimulatedRoot, SysfsError, open_root
from cxltool.sysfs.kernfs import kernfs_order, name_hash


def test_kernfs_order_is_the_order_a_real_kernel_listed():
    # Seen on Linux 6.12: port2's endpoints and dports, as readdir returned them.
    assert kernfs_order(["endpoint3", "endpoint4", "endpoint5", "endpoint6"]) == [
        "endpoint3", "endpoint6", "endpoint4", "endpoint5",
    ]
    assert kernfs_order(["dport0", "dport1", "dport2", "dport3"]) == [
        "dport3", "dport1", "dport2", "dport0",
    ]


def test_name_hash_stays_in_kernfs_range():
    for name in ("", "a", "mem0", "x" * 300):
        assert 2 <= name_hash(name) < 0x7FFFFFFF


def _file(path, text="", mode=0o444):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


@pytest.fixture
def sim_root(tmp_path):
    # A real directory: file modes matter here.
    t = str(tmp_path)
    os.makedirs(t + "/.cxltool")
    _file(t + "/sys/bus/cxl/devices/mem0/serial", "0x1\n")
    _file(t + "/sys/bus/cxl/flush", mode=0o200)
    _file(t + "/sys/devices/x/start", "0x0\n", mode=0o400)
    _file(t + "/sys/devices/x/size", "junk\n")
    _file(t + "/.cxltool/unreadable.json", json.dumps({"/sys/devices/x/size": 6}))
    for n in ("dport0", "dport1", "dport2", "dport3"):
        os.makedirs(f"{t}/sys/devices/p/{n}")
    return open_root(t)


def test_simulated_root_is_detected_and_reads_strip_one_newline(sim_root):
    assert isinstance(sim_root, SimulatedRoot)
    assert sim_root.read("/sys/bus/cxl/devices/mem0/serial") == "0x1"


def test_simulated_root_lists_in_kernfs_order(sim_root):
    assert sim_root.listdir("/sys/devices/p") == ["dport3", "dport1", "dport2", "dport0"]


def test_write_only_attribute_cannot_be_read(sim_root):
    with pytest.raises(SysfsError) as e:
        sim_root.read("/sys/bus/cxl/flush")
    assert e.value.errno == errno.EACCES
    assert e.value.errno_name == "EACCES"


def test_captured_read_error_is_replayed(sim_root):
    with pytest.raises(SysfsError) as e:
        sim_root.read("/sys/devices/x/size")
    assert (e.value.errno, e.value.errno_name) == (errno.ENXIO, "ENXIO")
    assert sim_root.read_opt("/sys/devices/x/size") is None


def test_root_only_attribute(sim_root):
    if os.geteuid() == 0:
        assert sim_root.read("/sys/devices/x/start") == "0x0"
    else:
        with pytest.raises(SysfsError):
            sim_root.read("/sys/devices/x/start")


def test_missing_attribute_names_path_and_errno(sim_root):
    with pytest.raises(SysfsError) as e:
        sim_root.read("/sys/bus/cxl/devices/mem9/serial")
    assert e.value.message == (
        "/sys/bus/cxl/devices/mem9/serial: No such file or directory (ENOENT)"
    )


def test_unusable_roots_give_one_clear_error(fs):
    fs.create_dir("/empty")
    with pytest.raises(RootError, match="^/nowhere: no such directory$"):
        open_root("/nowhere")
    with pytest.raises(RootError, match=r"^/empty: not a system root \(no sys/ directory in it\)$"):
        open_root("/empty")


def test_realpath_never_leaves_the_root(fs):
    fs.create_dir("/t/sys/bus")
    fs.create_dir("/t/.cxltool")
    fs.create_symlink("/t/sys/bus/out", "../../../etc")
    root = open_root("/t")
    with pytest.raises(SysfsError) as e:
        root.realpath("/sys/bus/out")
    assert e.value.errno == errno.EXDEV
