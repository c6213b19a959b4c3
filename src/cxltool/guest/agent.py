"""The guest side of a run: load the CXL drivers, wait for the devices, run
the scenario on the guest's real sysfs, and leave the results in the output
share. Started by the run script that `vm` writes; not a user command.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from cxltool.guest.scenario import Scenario, run_scenario
from cxltool.sysfs import Root, paths

# Every driver a scenario can need: the CXL stack, device-dax with kmem, and
# libnvdimm for pmem regions (what the distribution loads at boot through udev).
UDEVD_PATH = "/lib/systemd:/usr/lib/systemd:/usr/sbin:/sbin"
MODULES = (
    "cxl_acpi",
    "cxl_pci",
    "cxl_mem",
    "cxl_pmem",
    "dax_cxl",
    "kmem",
    "device_dax",
    "dax_pmem",
    "nd_pmem",
    "nd_btt",
)


def wait_for_endpoints(root: Root, memdevs: int, timeout: float) -> float:
    """Seconds until every memdev has its endpoint port (cxl_pci probes asynchronously)."""
    started = time.monotonic()
    while True:
        names = root.listdir_opt(paths.CXL_DEVICES)
        mems = [n for n in names if n.startswith("mem")]
        endpoints = [n for n in names if n.startswith("endpoint")]
        if len(mems) >= memdevs and len(endpoints) >= memdevs:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(
                f"{len(mems)} memdevs and {len(endpoints)} endpoints after {timeout:.0f} s;"
                f" expected {memdevs}"
            )
        time.sleep(0.1)


def start_udevd() -> None:
    """Run udevd as a distribution does, so binds wait for it as on a real host.

    Only new events are handled (no trigger of what booted before): the rules
    of the host (module loading, daxctl's reconfigure service) find no modules
    folder or service manager here and do nothing.
    """
    daemon = shutil.which("systemd-udevd", path=UDEVD_PATH)
    if daemon is None:
        raise RuntimeError("systemd-udevd not found (harness/prepare installs udev)")
    subprocess.run([daemon, "--daemon"], check=True, capture_output=True)
    subprocess.run(["udevadm", "settle", "-t", "30"], check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxltool.guest.agent")
    parser.add_argument("--module-root", required=True)
    parser.add_argument("--memdevs", type=int, required=True)
    parser.add_argument("--udevd", action="store_true", help="run udevd in the guest")
    parser.add_argument("out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    timings: dict[str, float] = {}
    status: dict[str, object] = {"ok": False}
    try:
        scenario = Scenario.from_json(json.loads((out / "scenario.json").read_text()))
        started = time.monotonic()
        if args.udevd:
            start_udevd()
        # An empty configuration: the host's modprobe.d may run its own commands
        # for libnvdimm, which would look for modules in the wrong place.
        empty = tempfile.mkdtemp(prefix="modprobe.d-")
        loaded = subprocess.run(
            ["modprobe", "-C", empty, "-d", args.module_root, "-a", *MODULES],
            capture_output=True,
            text=True,
        )
        if loaded.returncode != 0:
            raise RuntimeError(f"modprobe failed: {loaded.stderr.strip()}")
        timings["modprobe_s"] = round(time.monotonic() - started, 2)
        root = Root("/")
        timings["endpoints_s"] = round(wait_for_endpoints(root, args.memdevs, 60), 2)
        if args.udevd:
            subprocess.run(["udevadm", "settle", "-t", "30"], check=True, capture_output=True)
        # What the binds will wait for: udevd's events, or the driver link alone.
        status["udevd"] = root.exists(paths.UDEV_CONTROL)
        started = time.monotonic()
        run_scenario(scenario, out)
        timings["scenario_s"] = round(time.monotonic() - started, 2)
        status["ok"] = True
    except Exception:
        status["error"] = traceback.format_exc()
    status["timings"] = timings
    dmesg = subprocess.run(["dmesg"], capture_output=True, text=True)
    (out / "dmesg.txt").write_text(dmesg.stdout)
    (out / "agent.json").write_text(json.dumps(status, indent=1) + "\n")
    return 0 if status["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
