"""The real cxl and daxctl 76.1 and cxltool, on the same generated trees, agree.

Every built-in fixture is built into a tree; the real tools read it as /sys in a
private mount namespace (tests/realtools.py) and cxltool reads it with --root.
cxltool prints v85's JSON, so keys newer than 76.1 are removed from its output
before comparing the text exactly.
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

# Options whose meaning did not change between 76.1 and v85.
CXL_LISTS = [
    ["-M"], ["-B"], ["-P"], ["-E"], ["-D"], ["-R"], ["-T", "-B"],
    ["-BPEMDT"], ["-BPEMDTi"], ["-BPEMDTu"], ["-Mi"], ["-Di"], ["-DT", "-i"],
    ["-M", "-m", "mem0"], ["-M", "-m", "mem1,mem2"], ["-M", "-s", "0x1"],
    ["-P", "-p", "root"], ["-P", "-p", "switch"], ["-P", "-p", "endpoint"],
    ["-p", "port1"], ["-P", "-p", "port1", "-S"], ["-E", "-e", "endpoint2"],
    ["-D", "-d", "root"], ["-D", "-d", "switch", "-i"], ["-D", "-d", "endpoint", "-i"],
    ["-D", "-d", "decoder0.0"], ["-M", "-d", "decoder0.0"], ["-Mu", "-d", "decoder0.0"],
    ["-b", "root0"], ["-BT", "-b", "ACPI.CXL"], ["-BTu", "-b", "cxl_test"],
    ["-R", "-r", "all"], ["-RT"], ["-RTu", "-i"], ["-m", "mem9"], ["-r", "region9", "-u"],
    ["-BMu"], ["-P", "-p", "switch,endpoint", "-m", "mem0"],
]
DAXCTL_LISTS = [
    [], ["-R"], ["-D"], ["-RD"], ["-RDM"], ["-RDMi"], ["-RDu"], ["-r", "0", "-d", "0.0"],
]


def _fixtures() -> list[str]:
    try:
        from cxltool.sim.topology import builtin_fixtures
    except ImportError:
        return []
    return [name for name, _ in builtin_fixtures()]


@pytest.fixture(scope="module", params=_fixtures())
def tree(request, tmp_path_factory):
    from cxltool.sim.systems import build_fixture_into

    dest = tmp_path_factory.mktemp("fixture") / request.param
    build_fixture_into(request.param, str(dest))
    return str(dest)


def _normalize(stdout: str) -> str:
    # Older output is compared as JSON text after dropping newer keys.
    if not stdout.strip():
        return stdout
    return jsonc.dumps(strip_newer(json.loads(stdout), "76.1"))


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_cxl_list_matches_ndctl(tree):
    commands = [["cxl", "list", *opts] for opts in CXL_LISTS]
    real = run_real(tree, commands)
    mismatches = []
    for argv, (rc, out, _err) in zip(commands, real, strict=True):
        mine = run_cxltool(tree, argv)
        if (mine[0], _normalize(mine[1])) != (rc, out):
            mismatches.append(f"{' '.join(argv)}:\n--- ndctl ---\n{out}--- cxltool ---\n{mine[1]}")
    assert not mismatches, "\n".join(mismatches[:3]) + f"\n({len(mismatches)} differ)"


@pytest.mark.skipif(unavailable_reason("daxctl") is not None, reason="real daxctl unavailable")
def test_daxctl_list_matches_daxctl(tree):
    commands = [["daxctl", "list", *opts] for opts in DAXCTL_LISTS]
    real = run_real(tree, commands)
    mismatches = []
    for argv, (rc, out, _err) in zip(commands, real, strict=True):
        mine = run_cxltool(tree, argv)
        if (mine[0], mine[1]) != (rc, out):
            mismatches.append(f"{' '.join(argv)}:\n--- daxctl ---\n{out}--- cxltool ---\n{mine[1]}")
    assert not mismatches, "\n".join(mismatches[:3]) + f"\n({len(mismatches)} differ)"
