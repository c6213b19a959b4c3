"""Many processes on one simulated system, and writers killed mid-write.

Whatever the interleaving, and wherever a writer dies, the tree afterwards is
one a kernel could show: `sim check` is clean, regions do not overlap in host
or device addresses, and every region is either wholly there or not at all.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from cxltool.sim.check import check_tree
from cxltool.sim.systems import build_fixture_into
from cxltool.sysfs import open_root
from tests.transcripts import run_cxltool

CXLTOOL = [sys.executable, "-m", "cxltool"]


def cxltool(root: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [*CXLTOOL, "--root", root, *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw,
    )


def regions_are_whole(root: str) -> list[str]:
    """Regions half built by an interrupted command are fine (the kernel allows
    them); a region whose committed state disagrees with its decoders is not."""
    r = open_root(root)
    bad = []
    for name in r.listdir("/sys/bus/cxl/devices"):
        if not name.startswith("region"):
            continue
        base = f"/sys/bus/cxl/devices/{name}"
        if r.read(base + "/commit") != "1":
            continue
        ways = int(r.read(base + "/interleave_ways"))
        targets = [r.read(f"{base}/target{i}") for i in range(ways)]
        if "" in targets:
            bad.append(f"{name}: committed with an empty target")
    return bad


@pytest.fixture
def system(tmp_path):
    dest = str(tmp_path / "sys")
    build_fixture_into("1hb2rp4mem-switch", dest)
    return dest


def test_concurrent_creates_and_destroys_leave_a_sound_tree(system):
    mems = ["mem0", "mem1", "mem2", "mem3"]
    procs = []
    for i in range(6):
        a, b = mems[i % 4], mems[(i + 1) % 4]
        procs.append(cxltool(system, "cxl", "create-region", "-d", "decoder0.0",
                             "-t", "pmem", "-w", "2", "-s", "256M", "-m", a, b))
        procs.append(cxltool(system, "cxl", "destroy-region", "-f", "all"))
    for p in procs:
        assert p.wait(timeout=120) in (0, 1)
    assert check_tree(open_root(system)) == []
    assert regions_are_whole(system) == []
    # The system still works: everything can be torn down and built again.
    release_everything(system)
    rc, out, err = run_cxltool(system, ["cxl", "create-region", "-d", "decoder0.0", "-t", "pmem",
                                        "-m", "mem0", "mem1", "mem2", "mem3"])
    assert rc == 0, err
    assert '"interleave_ways":4' in out


def release_everything(system: str) -> None:
    """What an operator does after interrupted commands: destroy what is left and
    give back device addresses an interrupted create-region had reserved."""
    run_cxltool(system, ["cxl", "destroy-region", "-f", "all"])
    for _ in range(4):
        run_cxltool(system, ["cxl", "free-dpa", "-f", "mem0", "mem1", "mem2", "mem3"])


def test_writers_killed_at_random_points_leave_a_sound_tree(system):
    rng = random.Random(1234)
    for _ in range(12):
        p = cxltool(system, "cxl", "create-region", "-d", "decoder0.0", "-t", "pmem",
                    "-m", "mem0", "mem1", start_new_session=True)
        time.sleep(rng.uniform(0.05, 0.6))
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=60)
        # Opening the root finishes whatever transaction the kill interrupted.
        root = open_root(system)
        assert check_tree(root) == []
        assert regions_are_whole(system) == []
        release_everything(system)
        assert check_tree(open_root(system)) == []
