"""How fast `cxltool cxl list` is, against Python's own start-up and the real ndctl.

    python benchmarks/bench_list.py [--devices N] [--runs R]

1. Start-up: `cxltool --root <qemu-c tree> cxl list` against `python -c "import click"`
   (the floor any click tool pays), median of R runs; prints the difference in ms.
2. Scale: a `scale` tree with N memdevs (default 4096); `cxl list -M` and
   `cxl list -vvv`, by the real ndctl (Debian 76.1) and by cxltool, both reading the
   same tmpfs copy of the tree as /sys in a private mount namespace (needs root,
   unshare and the ndctl package; GNU time for peak memory). Prints both times and
   the ratio cxltool/ndctl; below 1.0 means cxltool is faster.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from cxltool.cli import jsonc  # noqa: E402
from tests.newer_keys import strip_newer  # noqa: E402
from tests.realtools import run_real_measured, unavailable_reason  # noqa: E402

CACHE = os.path.join(tempfile.gettempdir(), "cxltool-bench")


def _median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _tree(fixture: str, params: list[str]) -> str:
    name = fixture + "".join("-" + p.replace("=", "") for p in params)
    path = os.path.join(CACHE, name)
    if not os.path.isdir(path):
        os.makedirs(CACHE, exist_ok=True)
        argv = [sys.executable, "-m", "cxltool", "sim", "new", fixture, path]
        for p in params:
            argv += ["-p", p]
        t0 = time.perf_counter()
        subprocess.run(argv, check=True)
        print(f"built {name} in {time.perf_counter() - t0:.1f} s")
    return path


def startup(runs: int) -> None:
    tree = _tree("qemu-c", [])
    floor = _median_seconds([sys.executable, "-c", "import click"], runs)
    ours = _median_seconds(
        [sys.executable, "-m", "cxltool", "--root", tree, "cxl", "list"], runs
    )
    print(f"start-up, median of {runs}:")
    print(f"  python -c 'import click'        {floor * 1000:7.1f} ms")
    print(f"  cxltool cxl list (qemu-c)        {ours * 1000:7.1f} ms")
    print(f"  cost above python+click          {(ours - floor) * 1000:7.1f} ms")


def _timed(argv: list[str]) -> list[str]:
    # GNU time forks before exec, so the peak RSS it reports is the command's own.
    gnu_time = shutil.which("time") if os.path.exists("/usr/bin/time") else None
    return [gnu_time, "-f", "MAXRSS_KB=%M", *argv] if gnu_time else argv


def _peak_kb(stderr: str) -> str:
    for line in stderr.splitlines()[::-1]:
        if line.startswith("MAXRSS_KB="):
            return line.split("=", 1)[1]
    return "?"


def scale(devices: int, runs: int) -> None:
    reason = unavailable_reason("cxl")
    if reason:
        print(f"scale comparison skipped: {reason}")
        return
    # One device per root port, host bridges x root ports as square as it gets.
    hb = max(1, math.isqrt(devices))
    rp = max(1, devices // hb)
    per_port = 1
    params = [f"host_bridges={hb}", f"root_ports={rp}", f"devices_per_port={per_port}"]
    tree = _tree("scale", params)
    count = hb * rp * per_port
    ours = [sys.executable, "-m", "cxltool", "--root", "/", "cxl"]
    print(f"scale tree: {hb} host bridges x {rp} root ports x {per_port} = {count} memdevs")
    for opts in (["list", "-M"], ["list", "-vvv"]):
        commands = []
        for _ in range(runs):
            commands += [_timed(["cxl", *opts]), _timed([*ours, *opts])]
        results = run_real_measured(tree, commands)
        real = [r for i, r in enumerate(results) if i % 2 == 0]
        mine = [r for i, r in enumerate(results) if i % 2 == 1]
        t_real = statistics.median(r["seconds"] for r in real)
        t_mine = statistics.median(r["seconds"] for r in mine)
        # ndctl 76.1 lacks keys v85 added; compare with those taken out.
        ours_as_761 = jsonc.dumps(strip_newer(json.loads(mine[0]["stdout"]), "76.1"))
        same = real[0]["stdout"] == ours_as_761
        print(f"  cxl {' '.join(opts):<8} ndctl {t_real:7.3f} s   cxltool {t_mine:7.3f} s   "
              f"ratio {t_mine / t_real:5.2f}   peak RSS ndctl {_peak_kb(real[0]['stderr'])} KiB, "
              f"cxltool {_peak_kb(mine[0]['stderr'])} KiB   same JSON: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=4096)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-scale", action="store_true")
    args = ap.parse_args()
    startup(max(args.runs, 10))
    if not args.skip_scale:
        scale(args.devices, args.runs)


if __name__ == "__main__":
    main()
