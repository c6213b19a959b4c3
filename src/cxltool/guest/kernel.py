"""The guest's kernel: a Debian 6.12 image unpacked into a cache folder.

The host's own boot is never touched. The image comes from the apt suite that
`harness/prepare` adds (bookworm-backports); it is fetched with `apt-get
download`, unpacked with `dpkg -x` and indexed with `depmod -b`, once.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The unsigned, generic flavour: the cloud kernel lacks CXL, rt is slower.
_PACKAGE = re.compile(r"^linux-image-(6\.12\.(\d+)\+deb12(?:\.\d+)?-amd64)-unsigned$")


class GuestUnavailable(Exception):
    """What the guest needs is missing; the message says what and how to get it."""


@dataclass(frozen=True)
class Kernel:
    version: str
    vmlinuz: Path
    # The folder that holds lib/modules/VERSION (the guest loads modules from it).
    module_root: Path

    @property
    def modules(self) -> Path:
        return self.module_root / "lib" / "modules" / self.version


def cache_dir() -> Path:
    """Where kernels and initramfs images are kept between runs."""
    env = os.environ.get("CXLTOOL_GUEST_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cxltool" / "guest"


def _run(argv: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise GuestUnavailable(f"{argv[0]} not found (run harness/prepare as root)") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["failed"]
        raise GuestUnavailable(f"{' '.join(argv)}: {tail[0]}")
    return done.stdout


def kernel_package() -> str:
    """The newest installable 6.12 generic kernel package apt knows."""
    names = _run(["apt-cache", "pkgnames", "linux-image-6.12"]).split()
    found = [(int(m.group(2)), n) for n in names if (m := _PACKAGE.match(n))]
    for _, name in sorted(found, reverse=True):
        policy = _run(["apt-cache", "policy", name])
        if re.search(r"Candidate: (?!\(none\))", policy):
            return name
    raise GuestUnavailable(
        "no linux-image-6.12.*-amd64-unsigned package in apt (run harness/prepare as root)"
    )


def _unpacked(root: Path) -> Kernel | None:
    mods = root / "lib" / "modules"
    if not mods.is_dir():
        return None
    for version in sorted(os.listdir(mods)):
        vmlinuz = root / "boot" / f"vmlinuz-{version}"
        if vmlinuz.is_file() and (mods / version / "modules.dep").is_file():
            return Kernel(version, vmlinuz, root)
    return None


def prepare_kernel(cache: Path | None = None) -> Kernel:
    """The unpacked kernel, fetching and unpacking it on first use."""
    cache = cache or cache_dir()
    root = cache / "kernel"
    have = _unpacked(root)
    if have is not None:
        return have
    cache.mkdir(parents=True, exist_ok=True)
    deb = os.environ.get("CXLTOOL_GUEST_KERNEL_DEB")
    if not deb:
        name = kernel_package()
        _run(["apt-get", "download", "-q", name], cwd=cache)
        debs = sorted(cache.glob(f"{name}_*.deb"))
        if not debs:
            raise GuestUnavailable(f"apt-get download {name} left no .deb in {cache}")
        deb = str(debs[-1])
    staging = cache / "kernel.partial"
    _run(["rm", "-rf", str(staging)])
    _run(["dpkg", "-x", deb, str(staging)])
    kernel = _unpacked_without_index(staging)
    _run(["depmod", "-b", str(staging), kernel.version])
    staging.rename(root)
    for leftover in cache.glob("*.deb"):
        leftover.unlink()
    result = _unpacked(root)
    assert result is not None
    return result


def _unpacked_without_index(root: Path) -> Kernel:
    mods = root / "lib" / "modules"
    for version in sorted(os.listdir(mods)) if mods.is_dir() else []:
        vmlinuz = root / "boot" / f"vmlinuz-{version}"
        if vmlinuz.is_file():
            return Kernel(version, vmlinuz, root)
    raise GuestUnavailable(f"{root}: the package holds no kernel image")
