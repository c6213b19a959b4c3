"""Trees the emulated kernel changed read the same to the real tools and to cxltool.

Regions are created (and some destroyed) with cxltool's commands on built
fixtures; then the real cxl and daxctl 76.1 read the tree as /sys in a private
mount namespace, and their listings must equal cxltool's (keys newer than 76.1
removed from cxltool's JSON).
"""

from __future__ import annotations

import json

import pytest

from cxltool.cli import jsonc
from tests.newer_keys import strip_newer
from tests.realtools import run_real, unavailable_reason
from tests.transcripts import run_cxltool

pytestmark = pytest.mark.ndctl

REASON = unavailable_reason("cxl")

SCENARIOS = {
    "qemu-c": [
        ["create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0", "mem1"],
        ["create-region", "-m", "-d", "decoder0.0", "-t", "pmem", "mem2", "mem3"],
    ],
    "default": [
        ["create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0", "mem2"],
        ["create-region", "-m", "-d", "decoder0.1", "-t", "pmem", "-s", "256M", "mem1"],
        ["create-region", "-m", "-d", "decoder0.1", "-t", "pmem", "-s", "256M", "mem1"],
        ["disable-region", "region4"],
    ],
    "cxl_test": [
        ["destroy-region", "-f", "region0"],
        ["create-region", "-m", "-d", "decoder0.1", "-t", "ram", "-s", "1G",
         "mem0", "mem1", "mem4", "mem5"],
    ],
}
LISTS = [
    ["cxl", "list", "-RT"], ["cxl", "list", "-RTi"], ["cxl", "list", "-BPEMDTi"],
    ["cxl", "list", "-Di", "-u"], ["daxctl", "list", "-RDM"],
]


def _normalize(stdout: str) -> str:
    if not stdout.strip():
        return stdout
    return jsonc.dumps(strip_newer(json.loads(stdout), "76.1"))


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
@pytest.mark.parametrize("fixture", sorted(SCENARIOS))
def test_regions_made_by_cxltool_list_the_same_with_ndctl(fixture, tmp_path):
    from cxltool.sim.systems import build_fixture_into

    tree = str(tmp_path / fixture)
    build_fixture_into(fixture, tree)
    for argv in SCENARIOS[fixture]:
        rc, _out, err = run_cxltool(tree, ["cxl", *argv])
        assert rc == 0, err
    real = run_real(tree, LISTS)
    mismatches = []
    for argv, (rc, out, _err) in zip(LISTS, real, strict=True):
        mine = run_cxltool(tree, argv)
        if (mine[0], _normalize(mine[1])) != (rc, out):
            mismatches.append(f"{' '.join(argv)}:\n--- ndctl ---\n{out}--- cxltool ---\n{mine[1]}")
    assert not mismatches, "\n".join(mismatches[:2])
