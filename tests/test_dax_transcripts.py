"""Ground truth: the recorded daxctl runs replayed on the emulated kernel.

Each run of tests/data/captures walked a dax device through every daxctl mode and
memory state on a real Linux 6.12 guest. Here the first dax state of each run
(`ram-region-created`) is restored and the run's steps are replayed in order:
every `daxctl` command must give the recorded exit status, stdout and stderr;
`sh -c 'echo V > /sys/...'` writes to dax and memory attributes go through the
emulated kernel; `cat` reads the tree. At every capture the dax bus, the dax
devices, the memory blocks and the nodes of the emulated tree must equal the
capture's, except:

- the contents of `nodeN/meminfo`, `numastat` and `vmstat` (counters of the
  running guest; the files themselves, their modes included, are compared);
- what captures leave out anyway (`power/` contents, memory blocks outside CXL
  windows beyond their basic attributes);
- libnvdimm's own devices (its regions, namespaces and `daxX.Y` seeds), which
  the emulator does not make; the dax devices inside them are compared.

CXL commands and `sh -c 'echo ... > /sys/bus/cxl/...'` writes are run for their
effect on the dax side (destroying the region removes its dax region; the pmem
region is built by hand) and skipped as tests: their output is checked by
tests/test_region_transcripts.py. Steps nothing here emulates are skipped with
the reason: libnvdimm namespace commands, `sh -c` reads of /proc, listings other
than daxctl's. After a step that changed the system and was not emulated (or a
CXL step that did not end as recorded), the replay waits for the next capture and
restores it (that capture is then not compared).

The 76.1 runs recorded two behaviours that ndctl changed in v80 and that
cxltool, following v85, does not have: `destroy-device daxN.0` treating the
kernel's EBUSY for device 0 as a failure, and a device name matching nothing
being an error (ENXIO). Those steps are compared with the v80+ answer, which
the v81 runs record (test_newer_answers_are_the_v81_recordings).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass

import pytest

from cxltool.sim.capture import capture, load_capture, restore
from cxltool.sysfs import SysfsError, open_root, paths
from tests.transcripts import RUNS, Step, capture_file, run_cxltool, steps

START = "ram-region-created"
COUNTERS = ("meminfo", "numastat", "vmstat")
# What ndctl v80 and later answer where 76.1 answered otherwise.
NEWER_ANSWERS: dict[tuple[str, ...], tuple[int, str, str]] = {
    ("daxctl", "destroy-device", "dax0.0"): (0, "", "destroyed 1 device\n"),
    ("daxctl", "reconfigure-device", "-m", "system-ram", "dax9.9"): (
        0,
        "",
        "reconfigured 0 devices\n",
    ),
    ("daxctl", "online-memory", "dax9.9"): (0, "", "onlined memory for 0 devices\n"),
}
_DAX_TOPS = (paths.DAX_BUS, paths.MEMORY, paths.NODE)
_DAX_NAME = re.compile(r"^dax\d+\.\d+$")


def _label(step: Step) -> str | None:
    a = step.argv
    if len(a) >= 4 and a[0] == "python3" and a[1].endswith("sysfs_capture.py"):
        return a[3]
    return None


def _in_scope(path: str) -> bool:
    """The dax bus, memory and nodes, dax regions and dax devices (not libnvdimm's own)."""
    if path.startswith(_DAX_TOPS):
        return True
    parts = path.split("/")
    if any(p.startswith("dax_region") for p in parts):
        return True
    # A dax device of a pmem namespace sits in libnvdimm's `daxX.Y` device.
    return sum(1 for p in parts if _DAX_NAME.match(p)) >= 2


def _comparable(path: str, entry: dict) -> tuple:
    kind = entry.get("type")
    if kind == "link":
        return (kind, entry.get("target"))
    if kind == "file":
        content = entry.get("content")
        if paths.basename(path) in COUNTERS and path.startswith(paths.NODE):
            content = None
        return (kind, entry.get("mode"), content, entry.get("errno"))
    return (kind,)


def _block(path: str) -> str | None:
    """`memoryK` of a path below /sys/devices/system/memory/memoryK, else None."""
    if not path.startswith(paths.MEMORY + "/memory"):
        return None
    return path[len(paths.MEMORY) + 1 :].split("/", 1)[0]


def tree_differences(root_dir: str, label_doc: dict) -> list[str]:
    """Paths where the emulated tree and a capture disagree, within the dax scope."""
    ours = capture(open_root(root_dir))["entries"]
    theirs = label_doc["entries"]
    # Blocks a capture records have a state; the others (boot memory outside
    # the CXL windows) appear in a restored tree only as the directories
    # node links point to.
    blocks = {_block(p) for p in (*ours, *theirs) if p.endswith("/state")} - {None}
    out = []
    for path in sorted(set(ours) | set(theirs)):
        if not _in_scope(path) or "/power/" in path or path.endswith("/power"):
            continue
        block = _block(path)
        if block is not None and block not in blocks:
            continue
        a = _comparable(path, ours[path]) if path in ours else None
        b = _comparable(path, theirs[path]) if path in theirs else None
        if a != b:
            out.append(f"{path}: emulated {a} recorded {b}")
    return out


def _echo_target(step: Step) -> tuple[str, str] | None:
    a = step.argv
    if a[0] != "sh" or len(a) != 3 or not a[2].startswith("echo ") or " > " not in a[2]:
        return None
    value, path = a[2][len("echo ") :].rsplit(" > ", 1)
    return value, path.strip()


def _echo(tree: str, value: str, path: str) -> tuple[int, str, str]:
    """`sh -c 'echo value > path'`: status, stdout, stderr."""
    try:
        open_root(tree).write(path, value + "\n")
    except SysfsError as e:
        return (2, "", f"sh: 1: echo: echo: {e.strerror}\n")
    return (0, "", "")


def _cxl_change(step: Step) -> bool:
    """A cxl region or memdev command cxltool has (not a listing, not a usage error)."""
    a = step.argv
    return (
        a[0] == "cxl"
        and a[1] not in ("list", "monitor")
        and step.rc != 129
        and "Unknown command" not in step.stderr
    )


def _why_not(step: Step) -> str:
    a = step.argv
    if a[0] in ("cxl", "ndctl") and a[1] == "list":
        return f"`{a[0]} list` is tested with the listings"
    if a[0] == "ndctl":
        return "libnvdimm namespaces are not emulated"
    if a[0] == "cxl":
        return "a cxl usage answer, tested with the cxl commands"
    if a[0] == "sh":
        return "reads /proc or the kernel log, which a simulated system does not have"
    return f"`{a[0]}` is not replayed"


@dataclass
class Replayed:
    step: Step
    expected: tuple[int, str, str] | None = None
    got: tuple[int, str, str] | None = None
    differences: list[str] | None = None
    skipped: str | None = None


def _expected(step: Step) -> tuple[int, str, str]:
    recorded = (step.rc, step.stdout, step.stderr)
    if step.run.endswith("-debian") and step.argv in NEWER_ANSWERS:
        return NEWER_ANSWERS[step.argv]
    return recorded


# Summaries of the CXL commands that changed something dax or memory depends on.
_CHANGED = re.compile(r": (created|destroyed|disabled|enabled) [1-9]\d* (region|mem|port|bus)")


def _changes_state(step: Step) -> bool:
    """A skipped step after which the dax side may differ from what the replay has."""
    a = step.argv
    if a[0] == "sh":
        return _echo_target(step) is not None
    if a[0] == "cxl":
        return _CHANGED.search(step.stderr) is not None
    if a[0] == "ndctl":
        return a[1].endswith("-namespace") and step.rc == 0
    return a[0] == "modprobe"


def replay_run(run: str, workdir: str) -> dict[int, Replayed]:
    """Replay a run from its first dax capture; the outcome of every later step."""
    todo = list(steps(run))
    first = next(i for i, s in enumerate(todo) if _label(s) == START)
    tree = os.path.join(workdir, run)
    restore(load_capture(capture_file(run, START)), tree)
    in_sync = True
    results: dict[int, Replayed] = {}
    for step in todo[first + 1 :]:
        r = results[step.index] = Replayed(step)
        label = _label(step)
        target = _echo_target(step)
        if label is not None:
            doc = load_capture(capture_file(run, label))
            if in_sync:
                r.differences = tree_differences(tree, doc)
            else:
                r.skipped = "the state before it was not emulated; restored from this capture"
                shutil.rmtree(tree)
                restore(doc, tree)
                in_sync = True
        elif not in_sync:
            r.skipped = "follows a step not emulated here (libnvdimm), until the next capture"
        elif step.argv[0] == "daxctl":
            r.expected = _expected(step)
            r.got = run_cxltool(tree, list(step.argv))
        elif target is not None and target[1].startswith(_DAX_TOPS):
            r.expected = _expected(step)
            r.got = _echo(tree, *target)
        elif target is not None or _cxl_change(step):
            # The CXL side: run for its effect on the dax side; what it prints
            # is tests/test_region_transcripts.py's to check.
            r.skipped = "run for its effect only (its output is checked with the regions)"
            got = _echo(tree, *target) if target else run_cxltool(tree, list(step.argv))
            if got[0] != step.rc:
                in_sync = False
        elif step.argv[0] == "cat" and len(step.argv) == 2:
            r.expected = _expected(step)
            try:
                r.got = (0, open_root(tree).read(step.argv[1]) + "\n", "")
            except SysfsError as e:
                r.got = (1, "", f"cat: {step.argv[1]}: {e.strerror}\n")
        else:
            r.skipped = _why_not(step)
            if _changes_state(step):
                in_sync = False
    return results


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    done: dict[str, dict[int, Replayed]] = {}

    def get(run: str) -> dict[int, Replayed]:
        if run not in done:
            done[run] = replay_run(run, str(tmp_path_factory.mktemp("dax-replay")))
        return done[run]

    return get


def _replayable(run: str) -> list[Step]:
    todo = list(steps(run))
    first = next(i for i, s in enumerate(todo) if _label(s) == START)
    return todo[first + 1 :]


CASES = [(run, step) for run in RUNS for step in _replayable(run)]


@pytest.mark.parametrize(
    "run,step", CASES, ids=[f"{r}:{s.index}:{' '.join(s.argv)[:60]}" for r, s in CASES]
)
def test_recorded_step(run, step, replayed):
    r = replayed(run)[step.index]
    if r.skipped:
        pytest.skip(r.skipped)
    if r.differences is not None:
        assert r.differences == [], "\n".join(r.differences[:40])
    else:
        assert r.got == r.expected


def test_every_run_reaches_a_dax_state():
    for run in RUNS:
        assert any(_label(s) == START for s in steps(run)), run


def test_newer_answers_are_the_v81_recordings():
    seen = set()
    for run in RUNS:
        if not run.endswith("-v81"):
            continue
        for step in steps(run):
            if step.argv in NEWER_ANSWERS:
                assert (step.rc, step.stdout, step.stderr) == NEWER_ANSWERS[step.argv]
                seen.add(step.argv)
    assert seen == set(NEWER_ANSWERS)
