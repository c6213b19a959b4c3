"""Trees and helpers for the emulated dax bus, kmem and memory block tests.

Trees: the cxl_test fixture (region0's dax0.0 on kmem, 512 MiB at
0x3ff010000000, four blocks online on node 0) and restored captures of real
6.12 guests: a-debian (one 256 MiB region at 0x490000000, blocks 146-147,
target node 1) and c-debian (512 MiB, blocks 146-149). Each test gets its own
copy. `refused` checks a write fails with an exact errno and changes nothing,
the kernel's hidden state included.
"""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from cxltool.sim.capture import load_capture, restore
from cxltool.sim.systems import build_fixture_into
from cxltool.sysfs import SysfsError, open_root, paths
from tests.transcripts import capture_file

DAX = paths.DAX_DEVICES
DRV = paths.DAX_DRIVERS
MEM = paths.MEMORY
NODE = paths.NODE
MiB = 1 << 20
A_START = 0x490000000  # a-debian and c-debian region0
CT_START = 0x3FF010000000  # cxl_test region0


@pytest.fixture(scope="session")
def _originals(tmp_path_factory):
    made: dict[tuple[str, str], str] = {}

    def get(source: str, label: str) -> str:
        key = (source, label)
        if key not in made:
            dest = str(tmp_path_factory.mktemp("dax-orig") / f"{source}-{label}")
            if source == "fixture":
                build_fixture_into(label, dest)
            else:
                restore(load_capture(capture_file(source, label)), dest)
            made[key] = dest
        return made[key]

    return get


@pytest.fixture
def tree(_originals, tmp_path):
    """`tree("a-debian", "ram-devdax")` or `tree("fixture", "cxl_test")`: a private root."""
    count = [0]

    def make(source: str, label: str):
        count[0] += 1
        dest = str(tmp_path / f"t{count[0]}")
        subprocess.run(["cp", "-a", _originals(source, label), dest], check=True)
        return open_root(dest)

    return make


def snapshot(root) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    base = root.base
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            host = os.path.join(dirpath, name)
            rel = host[len(base) :]
            if rel.endswith("/lock"):
                continue
            st = os.lstat(host)
            if os.path.islink(host):
                out[rel] = ("link", os.readlink(host))
            elif os.path.isdir(host):
                out[rel] = ("dir",)
            elif not stat.S_ISREG(st.st_mode):
                out[rel] = ("node", st.st_rdev)
            else:
                with open(host, "rb") as f:
                    out[rel] = ("file", st.st_mode & 0o7777, f.read())
    return out


def write(root, path: str, value: str) -> None:
    """`echo value > path`."""
    root.write(path, value + "\n")


def refused(root, path: str, value: str, err: int) -> None:
    before = snapshot(root)
    with pytest.raises(SysfsError) as info:
        write(root, path, value)
    assert info.value.errno == err, f"{path} <- {value!r}: {info.value}"
    assert snapshot(root) == before


def read(root, path: str) -> str:
    """An attribute as the kernel shows it (0400 ones too)."""
    parent, _, name = path.rpartition("/")
    with open(root.host(root.realpath(parent) + "/" + name)) as f:
        return f.read().removesuffix("\n")


def exists(root, path: str) -> bool:
    return os.path.lexists(root.host(path))


def driver(root, dev: str) -> str | None:
    link = f"{DAX}/{dev}/driver"
    return os.path.basename(root.realpath(link)) if root.islink(link) else None


def blocks(root, node: int) -> list[int]:
    names = os.listdir(root.host(f"{NODE}/node{node}"))
    return sorted(int(n[6:]) for n in names if n.startswith("memory") and n[6:].isdigit())


def block(root, index: int, attr: str) -> str:
    return read(root, f"{MEM}/memory{index}/{attr}")


def offline_all(root, indexes) -> None:
    for i in indexes:
        write(root, f"{MEM}/memory{i}/state", "offline")


def unbind(root, dev: str) -> None:
    write(root, f"{DRV}/{driver(root, dev)}/unbind", dev)


def bind(root, dev: str, drv: str) -> None:
    """What daxctl does: new_id, then bind (EBUSY when new_id already bound it)."""
    write(root, f"{DRV}/{drv}/new_id", dev)
    try:
        write(root, f"{DRV}/{drv}/bind", dev)
    except SysfsError as e:
        if driver(root, dev) != drv:
            raise
        assert e.errno == 16
