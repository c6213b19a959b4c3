"""Ground truth for ndctl: the recorded runs' ndctl steps replayed on restored captures.

Every `ndctl list` of a run whose state was captured is run on that capture and
must print what ndctl printed, byte for byte, with its exit status.

Then each run with a pmem region is replayed from `pmem-region-created` to
`pmem-region-destroyed`: `ndctl` commands must give the recorded exit status,
stdout and stderr; the `daxctl` and `cxl` commands in between run for their
effect (their output is the dax and region tests' concern); at every capture
the libnvdimm part of the tree (everything under the nd bus's devices and
/sys/bus/nd) and the dax bus must equal the capture. ndctl generates uuids at
random; the replay hands cxltool the ones the run got, in the order ndctl
asks for them (the namespace's, then its dax device's).

Left out of the comparison: `power/` directories (a capture of a simulated tree
has none), and what the dax area owns outside the dax bus (memory blocks,
nodes: tests/test_dax_transcripts.py).
"""

from __future__ import annotations

import io
import os
import uuid as uuidlib

import pytest

from cxltool.cli import tool as toolmod
from cxltool.cli.ndctl import NDCTL
from cxltool.sim.capture import capture, load_capture, restore
from cxltool.sysfs import open_root, paths
from tests.transcripts import RUNS, Step, capture_file, run_cxltool, state_of, steps

START, END = "pmem-region-created", "pmem-region-destroyed"
PMEM_RUNS = [r for r in RUNS if os.path.exists(capture_file(r, START))]


def run_ndctl(root: str, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    ctx = toolmod.Context(lambda: open_root(root), out, err)
    rc = toolmod.run(NDCTL, argv, ctx)
    return rc, out.getvalue(), err.getvalue()


def _label(step: Step) -> str | None:
    a = step.argv
    if len(a) >= 4 and a[0] == "python3" and a[1].endswith("sysfs_capture.py"):
        return a[3]
    return None


# -- every ndctl list on the state it saw ---------------------------------------------------
LISTS = [
    (run, step, state_of(run)[step.index])
    for run in RUNS
    for step in steps(run)
    if step.argv[:2] == ("ndctl", "list") and step.index in state_of(run)
]


@pytest.fixture(scope="module")
def restored(tmp_path_factory):
    trees: dict[tuple[str, str], str] = {}

    def get(run: str, label: str) -> str:
        if (run, label) not in trees:
            dest = str(tmp_path_factory.mktemp("nd") / f"{run}-{label}")
            restore(load_capture(capture_file(run, label)), dest)
            trees[run, label] = dest
        return trees[run, label]

    return get


@pytest.mark.parametrize(
    "run,step,label", LISTS, ids=[f"{r}:{s.index}:{' '.join(s.argv)}" for r, s, _ in LISTS]
)
def test_list_prints_what_ndctl_printed(run, step, label, restored):
    got = run_ndctl(restored(run, label), list(step.argv[1:]))
    assert got == (step.rc, step.stdout, step.stderr)


# -- the pmem region's namespace, replayed ---------------------------------------------------
def _comparable(entry: dict) -> tuple:
    kind = entry.get("type")
    if kind == "link":
        return (kind, entry.get("target"))
    if kind == "file":
        return (kind, entry.get("mode"), entry.get("content"), entry.get("errno"))
    return (kind,)


def _in_scope(path: str) -> bool:
    if "/power/" in path or path.endswith("/power"):
        return False
    return path.startswith((paths.ND_BUS, paths.DAX_BUS)) or "/ndbus" in path


def nd_tree_differences(tree: str, doc: dict) -> list[str]:
    ours = capture(open_root(tree))["entries"]
    theirs = doc["entries"]
    out = []
    for path in sorted(set(ours) | set(theirs)):
        if not _in_scope(path):
            continue
        a = _comparable(ours[path]) if path in ours else None
        b = _comparable(theirs[path]) if path in theirs else None
        if a != b:
            out.append(f"{path}: emulated {a} captured {b}")
    return out


def _recorded_uuids(run: str) -> list[str]:
    """The namespace's uuid, then its dax device's, as the run's devdax capture shows them."""
    doc = load_capture(capture_file(run, "pmem-namespace-devdax"))["entries"]
    found = {}
    for path, entry in doc.items():
        for name in ("namespace0.0", "dax0.0"):
            if path.endswith(f"/ndbus0/region0/{name}/uuid"):
                found[name] = entry["content"].strip()
    return [found["namespace0.0"], found["dax0.0"]]


def _replayed_steps(run: str) -> list[Step]:
    todo = list(steps(run))
    first = next(i for i, s in enumerate(todo) if _label(s) == START)
    last = next(i for i, s in enumerate(todo) if _label(s) == END)
    return todo[first + 1 : last + 1]


def replay(run: str, workdir: str, monkeypatch) -> list[tuple[Step, object, object]]:
    """(step, expected, got) for the ndctl steps and the captures of a run's pmem part."""
    tree = os.path.join(workdir, run)
    restore(load_capture(capture_file(run, START)), tree)
    uuids = iter(_recorded_uuids(run))
    monkeypatch.setattr(uuidlib, "uuid4", lambda: uuidlib.UUID(next(uuids)))
    results = []
    for step in _replayed_steps(run):
        label = _label(step)
        tool = step.argv[0]
        if label is not None:
            doc = load_capture(capture_file(run, label))
            results.append((step, [], nd_tree_differences(tree, doc)))
        elif tool == "ndctl":
            got = run_ndctl(tree, list(step.argv[1:]))
            results.append((step, (step.rc, step.stdout, step.stderr), got))
        elif tool in ("daxctl", "cxl"):
            run_cxltool(tree, list(step.argv))
    return results


@pytest.mark.parametrize("run", PMEM_RUNS)
def test_replayed_namespace_steps(run, tmp_path, monkeypatch):
    results = replay(run, str(tmp_path), monkeypatch)
    assert any(s.argv[:2] == ("ndctl", "create-namespace") for s, _, _ in results)
    for step, expected, got in results:
        if isinstance(got, list):
            assert got == [], f"{_label(step)}:\n" + "\n".join(got[:40])
        else:
            assert got == expected, " ".join(step.argv)


def test_every_pmem_run_has_its_namespace_captures():
    assert PMEM_RUNS == ["b-debian", "b-v81", "c-debian", "c-v81"]
    for run in PMEM_RUNS:
        assert os.path.exists(capture_file(run, "pmem-namespace-devdax"))
        assert os.path.exists(capture_file(run, END))
