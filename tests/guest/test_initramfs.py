"""The guest's initramfs: the 9p modules in dependency order, busybox and init."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

from cxltool.guest.initramfs import build_initramfs, module_files
from cxltool.guest.kernel import Kernel

VERSION = "6.12.0-test"
DEPS = """kernel/fs/netfs/netfs.ko.xz:
kernel/net/9p/9pnet.ko.xz:
kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz
kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz
kernel/drivers/cxl/cxl_acpi.ko.xz:
"""


def _kernel(tmp_path: Path) -> Kernel:
    mods = tmp_path / "lib" / "modules" / VERSION
    for line in DEPS.splitlines():
        rel = line.split(":")[0]
        (mods / rel).parent.mkdir(parents=True, exist_ok=True)
        (mods / rel).write_bytes(lzma.compress(f"module {Path(rel).name}".encode()))
    (mods / "modules.dep").write_text(DEPS)
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot" / f"vmlinuz-{VERSION}").write_bytes(b"kernel")
    return Kernel(VERSION, tmp_path / "boot" / f"vmlinuz-{VERSION}", tmp_path)


def _entries(archive: bytes) -> dict[str, tuple[int, bytes]]:
    """name -> (mode, data) of a newc cpio archive."""
    out, at = {}, 0
    while True:
        assert archive[at : at + 6] == b"070701"
        fields = [int(archive[at + 6 + 8 * i : at + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_at = at + 110
        name = archive[name_at : name_at + namesize - 1].decode()
        data_at = name_at + namesize + (-(110 + namesize) % 4)
        if name == "TRAILER!!!":
            return out
        out[name] = (mode, archive[data_at : data_at + size])
        at = data_at + size + (-size % 4)


def test_modules_come_after_what_they_need(tmp_path):
    kernel = _kernel(tmp_path)
    assert module_files(kernel, ("netfs", "9pnet", "9pnet_virtio", "9p")) == [
        "kernel/fs/netfs/netfs.ko.xz",
        "kernel/net/9p/9pnet.ko.xz",
        "kernel/net/9p/9pnet_virtio.ko.xz",
        "kernel/fs/9p/9p.ko.xz",
    ]
    assert module_files(kernel, ("9p",)) == [
        "kernel/fs/netfs/netfs.ko.xz",
        "kernel/net/9p/9pnet.ko.xz",
        "kernel/fs/9p/9p.ko.xz",
    ]


def test_the_archive_holds_init_busybox_and_decompressed_modules(tmp_path):
    kernel = _kernel(tmp_path)
    path = build_initramfs(kernel, tmp_path / "initrd.gz")
    entries = _entries(gzip.decompress(path.read_bytes()))
    assert entries["lib/modules.order"][1] == b"netfs.ko\n9pnet.ko\n9pnet_virtio.ko\n9p.ko\n"
    assert entries["lib/9p.ko"][1] == b"module 9p.ko.xz"
    mode, init = entries["init"]
    assert mode == 0o100755
    assert b"switch_root /newroot /bin/sh /run/out/run.sh" in init
    assert entries["bin/sh"] == (0o120777, b"busybox")
    assert entries["bin/busybox"][0] == 0o100755
    assert "lib/cxl_acpi.ko" not in entries
