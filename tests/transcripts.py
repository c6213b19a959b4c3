"""The recorded runs of the real tools, and which captured state each command saw.

Each run folder in tests/data/captures holds a transcript of commands run on a
real kernel and the sysfs tree captured after each state change. A read-only
command saw the state captured next, when nothing changed the system between
the two; or the state captured last, when nothing changed it since.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from functools import cache

DATA = os.path.join(os.path.dirname(__file__), "data", "captures")
RUNS = sorted(d for d in os.listdir(DATA) if os.path.isdir(os.path.join(DATA, d)))


@dataclass(frozen=True)
class Step:
    run: str
    index: int
    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def line(self) -> str:
        return " ".join(self.argv)

    @property
    def tool_version(self) -> str:
        return "76.1" if self.run.endswith("-debian") else "81"


def _capture_label(argv: tuple[str, ...]) -> str | None:
    if len(argv) >= 4 and argv[0] == "python3" and argv[1].endswith("sysfs_capture.py"):
        return argv[3]
    return None


def _read_only(step: Step) -> bool:
    a = step.argv
    if _capture_label(a) is not None:
        return True
    if a[:2] in (("cxl", "list"), ("daxctl", "list"), ("ndctl", "list"), ("cxl", "read-labels")):
        return True
    if a[0] in ("cat", "grep"):
        return True
    if a[0] == "sh" and len(a) > 2 and not a[2].startswith("echo"):
        return True
    # Usage errors and unknown commands change nothing.
    return step.rc in (129,) or "Unknown command" in step.stderr or a[-1:] == ("-h",)


@cache
def steps(run: str) -> tuple[Step, ...]:
    out = []
    with open(os.path.join(DATA, run, "transcript.jsonl")) as f:
        for i, line in enumerate(f):
            o = json.loads(line)
            if "argv" not in o:
                continue
            out.append(Step(run, i, tuple(o["argv"]), o["rc"], o["stdout"], o["stderr"]))
    return tuple(out)


@cache
def state_of(run: str) -> dict[int, str]:
    """Step index -> label of the captured state that step saw (read-only steps only)."""
    seen: dict[int, str] = {}
    pending: list[int] = []
    since_capture: str | None = None  # label of a capture with no change after it
    for step in steps(run):
        label = _capture_label(step.argv)
        if label is not None:
            for idx in pending:
                seen[idx] = label
            pending = []
            since_capture = label
        elif not _read_only(step):
            pending = []
            since_capture = None
        elif since_capture is not None:
            seen[step.index] = since_capture
        else:
            pending.append(step.index)
    return seen


def list_steps(run: str, tool: str) -> list[tuple[Step, str]]:
    """`tool list` steps of a run with the captured state each one saw."""
    known = state_of(run)
    return [
        (s, known[s.index])
        for s in steps(run)
        if s.argv[:2] == (tool, "list") and s.index in known
    ]


def capture_file(run: str, label: str) -> str:
    return os.path.join(DATA, run, f"sysfs-{label}.json.gz")


def run_cxltool(root: str, argv: list[str]) -> tuple[int, str, str]:
    """Run `cxltool --root root argv...` in this process; (status, stdout, stderr)."""
    from cxltool.cli import tool as toolmod
    from cxltool.cli.cxl import CXL
    from cxltool.cli.daxctl import DAXCTL
    from cxltool.sysfs import open_root

    out, err = io.StringIO(), io.StringIO()
    tool = {"cxl": CXL, "daxctl": DAXCTL}[argv[0]]
    ctx = toolmod.Context(lambda: open_root(root), out, err)
    rc = toolmod.run(tool, argv[1:], ctx)
    return rc, out.getvalue(), err.getvalue()
