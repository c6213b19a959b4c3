"""The memdev and port commands the real tools ran in the captured runs, replayed.

Each run starts from its `before` capture; the `cxl disable-memdev`/`enable-memdev`
steps are replayed in order on that tree (the emulated kernel carries out the
binds and unbinds) and must print exactly what was recorded, with the recorded
exit status. Steps that come after other state changes (regions created and
destroyed in between) run on the capture taken last before them.

The differences allowed, each with its reason:

- ndctl 76.1 (the `-debian` runs) refuses to disable any enabled memdev without
  `--force` ("memX is part of an active region", exit 1) without looking at it.
  cxltool follows v85, which refuses only when the memdev's endpoint has
  committed decoders; the memdevs those steps name have none, so cxltool
  disables them. Recorded v81 runs made the same steps and agree with cxltool.
- Mailbox commands in between (`read-labels`, `zero-labels`) are not memdev or
  port state changes and are not replayed.
"""

from __future__ import annotations

import subprocess

import pytest

from cxltool.sim.capture import load_capture, restore
from tests.transcripts import RUNS, capture_file, run_cxltool, steps

COMMANDS = {"disable-memdev", "enable-memdev", "disable-port", "enable-port", "disable-bus"}
V85 = "cxl memdev: cmd_disable_memdev: disabled 1 mem\n"

# (run, step) -> (rc, stderr) cxltool gives where ndctl 76.1 gave something else.
DIFFERENT_IN_V85 = {
    ("b-debian", 22): (0, V85),
    ("c-debian", 22): (0, V85),
}


def _label(argv: tuple[str, ...]) -> str | None:
    if len(argv) >= 4 and argv[0] == "python3" and argv[1].endswith("sysfs_capture.py"):
        return argv[3]
    return None


def replayed_steps(run: str):
    """(step, capture label before it, whether a state change came since) of a run."""
    label = None
    out = []
    for step in steps(run):
        found = _label(step.argv)
        if found is not None:
            label = found
            continue
        if step.argv[0] == "cxl" and step.argv[1] in COMMANDS:
            out.append((step, label or "before"))
    return out


CASES = [pytest.param(run, id=run) for run in RUNS]


def _listing(root: str) -> str:
    rc, out, err = run_cxltool(root, ["cxl", "list", "-vvv"])
    assert rc == 0, err
    return out


@pytest.mark.parametrize("run", CASES)
def test_recorded_memdev_commands(run, restored_tree, tmp_path):
    trees: dict[str, str] = {}
    listings: dict[str, str] = {}

    def tree(label: str) -> str:
        if label not in trees:
            dest = tmp_path / label
            # cp keeps the character device nodes under dev/.
            subprocess.run(["cp", "-a", restored_tree(run, label), str(dest)], check=True)
            trees[label] = str(dest)
            listings[label] = _listing(str(dest))
        return trees[label]

    replayed = replayed_steps(run)
    assert replayed, "every run disables and enables a memdev"
    for step, label in replayed:
        root = tree(label)
        rc, out, err = run_cxltool(root, list(step.argv))
        want_rc, want_err = DIFFERENT_IN_V85.get((run, step.index), (step.rc, step.stderr))
        assert (rc, out, err) == (want_rc, step.stdout, want_err), step.line
        if step.argv[1] == "enable-memdev":
            # Back to the captured state, numbered as before.
            assert _listing(root) == listings[label], step.line


def test_the_v85_differences_are_the_refusals_of_76_1():
    for (run, index), _ in DIFFERENT_IN_V85.items():
        step = next(s for s in steps(run) if s.index == index)
        assert step.tool_version == "76.1"
        assert step.argv[1:] == ("disable-memdev", step.argv[2]) and step.rc == 1
        assert step.stderr.endswith(
            "is part of an active region\ncxl memdev: cmd_disable_memdev: disabled 0 mem\n"
        )
        # The v81 run of the same scenario disabled the same memdev.
        other = next(s for s in steps(run.replace("-debian", "-v81")) if s.argv == step.argv)
        assert (other.rc, other.stderr) == (0, V85)


def test_restored_captures_have_no_kernel_state_yet(tmp_path):
    # The replay above works from the tree alone: port numbers come from the
    # ports the capture shows.
    dest = tmp_path / "a"
    restore(load_capture(capture_file("a-v81", "before")), str(dest))
    assert not (dest / ".cxltool" / "fixture.json").exists()
