"""Booting the guest: QEMU with the fixture's CXL devices, the host's root
shared read-only, and an output share the guest writes its results into.

QEMU runs under TCG (no KVM): the machines this runs on are guests
themselves. `-cpu max,-hypervisor` matters: with the hypervisor bit set the
distribution kernel refuses to commit regions (it cannot flush CPU caches).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cxltool
from cxltool.guest.initramfs import build_initramfs
from cxltool.guest.kernel import GuestUnavailable, Kernel, cache_dir, prepare_kernel
from cxltool.guest.scenario import RESULTS, Scenario
from cxltool.sim.qemu_args import qemu_topology
from cxltool.sim.topology import Topology

QEMU = "qemu-system-x86_64"
# Where the guest sees the output share (init.sh mounts it there).
GUEST_OUT = "/run/out"
MACHINE = ["-accel", "tcg", "-cpu", "max,-hypervisor", "-M", "q35,cxl=on"]
MEMORY = ["-m", "2G,maxmem=8G,slots=8", "-smp", "2"]


class GuestFailed(Exception):
    """The guest ran but did not bring results back; the message says why."""


@dataclass(frozen=True)
class GuestRun:
    out: Path
    seconds: float
    agent: dict

    @property
    def results(self) -> dict:
        return json.loads((self.out / RESULTS).read_text())


def qemu_available() -> str | None:
    """Why a guest cannot start here, or None when it can."""
    if shutil.which(QEMU) is None:
        return f"{QEMU} not found (run harness/prepare as root)"
    if shutil.which("busybox") is None and not Path("/bin/busybox").is_file():
        return "busybox not found (run harness/prepare as root)"
    return None


def initramfs_for(kernel: Kernel) -> Path:
    """The initramfs for KERNEL, rebuilt whenever the init script changes."""
    init = resources.files(__package__).joinpath("init.sh").read_bytes()
    tag = hashlib.sha256(init + kernel.version.encode()).hexdigest()[:12]
    path = cache_dir() / f"initrd-{tag}.gz"
    if not path.exists():
        build_initramfs(kernel, path)
    return path


def _run_script(kernel: Kernel, memdevs: int, udevd: bool) -> str:
    # The guest shares the host's root, so the interpreter and the cxltool
    # that started the guest are the ones the guest runs.
    source = str(Path(cxltool.__file__).resolve().parent.parent)
    agent = [
        sys.executable,
        "-m",
        "cxltool.guest.agent",
        "--module-root",
        str(kernel.module_root),
        "--memdevs",
        str(memdevs),
        *(["--udevd"] if udevd else []),
        GUEST_OUT,
    ]
    return "\n".join(
        [
            "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "export HOME=/run/tmp TMPDIR=/run/tmp LANG=C.UTF-8",
            f"export PYTHONPATH={shlex.quote(source)}",
            "export PYTHONDONTWRITEBYTECODE=1",
            shlex.join(agent) + f" > {GUEST_OUT}/agent.log 2>&1",
            "sync",
            "echo o > /proc/sysrq-trigger",
            "sleep 30",
            "",
        ]
    )


def boot_scenario(
    topology: Topology,
    scenario: Scenario,
    out: str | Path,
    timeout: float = 900,
    udevd: bool = False,
) -> GuestRun:
    """Run SCENARIO in a guest with TOPOLOGY's devices; results land in OUT.

    With UDEVD the guest runs udevd, as a distribution does (its binds then wait
    for udev's events); without, the kernel's events go unheard, as in an initramfs.
    """
    reason = qemu_available()
    if reason:
        raise GuestUnavailable(reason)
    kernel = prepare_kernel()
    initrd = initramfs_for(kernel)
    out = Path(out).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    backing = out.parent / (out.name + ".backing")
    shutil.rmtree(backing, ignore_errors=True)
    backing.mkdir()
    devices = qemu_topology(topology, str(backing))
    for path, size in devices.backing_files.items():
        with open(path, "wb") as f:
            f.truncate(size)
    (out / "scenario.json").write_text(json.dumps(scenario.to_json(), indent=1) + "\n")
    (out / "run.sh").write_text(_run_script(kernel, len(topology.devices()), udevd))
    argv = [
        QEMU,
        *MACHINE,
        *MEMORY,
        "-nographic",
        "-no-reboot",
        "-nodefaults",
        "-serial",
        "mon:stdio",
        "-kernel",
        str(kernel.vmlinuz),
        "-initrd",
        str(initrd),
        "-append",
        "console=ttyS0 panic=-1 quiet loglevel=4",
        "-fsdev",
        "local,id=root,path=/,security_model=none,readonly=on",
        "-device",
        "virtio-9p-pci,fsdev=root,mount_tag=hostroot",
        "-fsdev",
        f"local,id=out,path={out},security_model=none",
        "-device",
        "virtio-9p-pci,fsdev=out,mount_tag=out",
        *devices.args,
    ]
    (out / "qemu-cmdline.txt").write_text(shlex.join(argv) + "\n")
    started = time.monotonic()
    with open(out / "console.log", "wb") as console:
        try:
            subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GuestFailed(f"the guest did not finish within {timeout:.0f} s") from None
        finally:
            shutil.rmtree(backing, ignore_errors=True)
    seconds = time.monotonic() - started
    agent_file = out / "agent.json"
    if not agent_file.exists():
        said = []
        for name in ("agent.log", "console.log"):
            if (out / name).exists():
                tail = (out / name).read_text(errors="replace").splitlines()[-12:]
                said += [f"{name} ends:", *tail]
        raise GuestFailed("the guest left no results; " + "\n".join(said))
    agent = json.loads(agent_file.read_text())
    if not agent.get("ok"):
        raise GuestFailed("the guest agent failed:\n" + str(agent.get("error")))
    return GuestRun(out, seconds, agent)
