"""The guest's initramfs: busybox, the 9p modules, and an init that mounts
the host's root read-only and hands over to the run script.

The archive is written here in the kernel's "newc" cpio format, so building it
needs neither cpio nor root.
"""

from __future__ import annotations

import gzip
import lzma
import shutil
from importlib import resources
from pathlib import Path

from .kernel import GuestUnavailable, Kernel

# Enough to mount the host's root over virtio-9p; virtio-pci is built in.
ROOT_MODULES = ("netfs", "9pnet", "9pnet_virtio", "9p")
_S_IFDIR = 0o040000
_S_IFREG = 0o100000
_S_IFLNK = 0o120000


class _Newc:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"") -> None:
        encoded = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.ino += 1
        self.parts.append(header + encoded + b"\0" * (-(110 + len(encoded)) % 4))
        self.parts.append(data + b"\0" * (-len(data) % 4))

    def directory(self, name: str) -> None:
        self._entry(name, _S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, _S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, _S_IFLNK | 0o777, target.encode())

    def archive(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return b"".join(self.parts)


def module_files(kernel: Kernel, names: tuple[str, ...]) -> list[str]:
    """Module paths (relative to the modules folder) for NAMES and what they
    need, dependencies first."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in (kernel.modules / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[path] = rest.split()
        base = Path(path).name.split(".ko")[0]
        by_name[base.replace("-", "_")] = path
    order: list[str] = []

    def add(path: str) -> None:
        if path in order:
            return
        for dep in reversed(deps.get(path, [])):
            add(dep)
        order.append(path)

    for name in names:
        path = by_name.get(name.replace("-", "_"))
        if path is None:
            raise GuestUnavailable(f"kernel {kernel.version} has no module {name}")
        add(path)
    return order


def _module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".xz":
        return lzma.decompress(data)
    if path.suffix == ".gz":
        return gzip.decompress(data)
    return data


def build_initramfs(kernel: Kernel, dest: Path) -> Path:
    """Write the initramfs for KERNEL to DEST (gzip-compressed newc cpio)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not Path(busybox).is_file():
        raise GuestUnavailable("busybox not found (run harness/prepare as root)")
    out = _Newc()
    for d in ("bin", "dev", "proc", "sys", "newroot", "lib"):
        out.directory(d)
    out.file("bin/busybox", Path(busybox).read_bytes(), 0o755)
    out.symlink("bin/sh", "busybox")
    names = []
    for rel in module_files(kernel, ROOT_MODULES):
        name = Path(rel).name.split(".ko")[0] + ".ko"
        out.file(f"lib/{name}", _module_bytes(kernel.modules / rel))
        names.append(name)
    out.file("lib/modules.order", ("\n".join(names) + "\n").encode())
    init = resources.files(__package__).joinpath("init.sh").read_bytes()
    out.file("init", init, 0o755)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".partial")
    tmp.write_bytes(gzip.compress(out.archive(), compresslevel=1))
    tmp.rename(dest)
    return dest
