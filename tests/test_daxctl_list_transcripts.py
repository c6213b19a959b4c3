"""`daxctl list` on restored_tree restored from real captures prints what the real daxctl printed.

Every `daxctl list` of every recorded run whose system state was captured (see
tests/transcripts.py) is replayed on a tree restored from that capture, and its
output, error output and exit status must equal the recording.
"""

from __future__ import annotations

import json

import pytest

from cxltool.cli import jsonc
from tests.transcripts import RUNS, list_steps, run_cxltool

# Keys cxltool's daxctl prints that the recorded releases (76.1, v81) did not,
# by the first release printing them. daxctl list output has not gained keys
# since 76.1 (v85 only adds the "famfs" value of `mode`), so this is empty; a
# key added later belongs here, and is the only difference the comparison allows.
DAXCTL_KEYS_ADDED: dict[str, float] = {}

STEPS = [(step, label) for run in RUNS for step, label in list_steps(run, "daxctl")]


def _id(item: tuple) -> str:
    step, label = item
    return f"{step.run}:{step.index}:{label}:{' '.join(step.argv[2:]) or '-'}"


def _without_newer(stdout: str, version: str) -> str:
    drop = {k for k, added in DAXCTL_KEYS_ADDED.items() if added > float(version)}
    if not drop or not stdout.strip():
        return stdout
    return jsonc.dumps(_strip(json.loads(stdout), drop))


def _strip(value, drop: set[str]):
    if isinstance(value, dict):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_strip(v, drop) for v in value]
    return value


def test_every_run_has_daxctl_list_steps():
    assert RUNS
    for run in RUNS:
        assert list_steps(run, "daxctl"), run


@pytest.mark.parametrize("item", STEPS, ids=[_id(s) for s in STEPS])
def test_daxctl_list_matches_transcript(item, restored_tree):
    step, label = item
    rc, out, err = run_cxltool(restored_tree(step.run, label), list(step.argv))
    assert (rc, _without_newer(out, step.tool_version), err) == (step.rc, step.stdout, step.stderr)
