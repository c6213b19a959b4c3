"""The real ndctl 76.1 and cxltool list the same libnvdimm objects the same way.

A built fixture gets a pmem region and namespaces in every mode cxltool makes
(devdax, fsdax with a name, raw, devdax with a 4K alignment); the real ndctl
then reads the tree as /sys in a private mount namespace (tests/realtools.py)
and each `ndctl list` must print exactly what `cxltool ndctl list` prints.
"""

from __future__ import annotations

import pytest

from tests.realtools import run_real, unavailable_reason
from tests.test_ndctl_transcripts import run_ndctl
from tests.transcripts import run_cxltool

pytestmark = pytest.mark.ndctl

REASON = unavailable_reason("ndctl")
LISTS = [
    ["-RBNDu"],
    ["-RBNDXiu", "-vv"],
    ["-Ni"],
    ["-RC"],
    ["-D", "-d", "nmem0"],
    ["-r", "0", "-N", "-i"],
    ["-vvv"],
    ["-Nu", "-m", "fsdax"],
    ["-X"],
    ["-N", "-n", "0.1", "-v"],
    ["-c"],
    ["-B", "-b", "CXL"],
    ["-R", "-t", "blk"],
    ["-D", "-U", "0"],
]
NAMESPACES = [
    "create-namespace -m devdax -s 256M",
    "create-namespace -m fsdax -s 256M -n data",
    "create-namespace -m raw -s 256M",
    "create-namespace -m devdax -s 128M -a 4K",
]


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    from cxltool.sim.systems import build_fixture_into

    region = str(tmp_path_factory.mktemp("nd") / "region")
    build_fixture_into("1hb2rp2mem", region)
    argv = "cxl create-region -m -d decoder0.0 -t pmem -w 2 mem0 mem1".split()
    assert run_cxltool(region, argv)[0] == 0
    namespaces = str(tmp_path_factory.mktemp("nd") / "namespaces")
    build_fixture_into("1hb2rp2mem", namespaces)
    assert run_cxltool(namespaces, argv)[0] == 0
    for line in NAMESPACES:
        assert run_ndctl(namespaces, line.split())[0] == 0, line
    return {"region": region, "namespaces": namespaces}


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
@pytest.mark.parametrize("which", ["region", "namespaces"])
def test_lists_match_the_real_ndctl(trees, which):
    tree = trees[which]
    real = run_real(tree, [["ndctl", "list", *opts] for opts in LISTS])
    for opts, theirs in zip(LISTS, real, strict=True):
        assert run_ndctl(tree, ["list", *opts]) == theirs, " ".join(opts)
