"""Every `cxl list` the real tools ran in the captured runs, replayed on the captured tree.

Each step's recorded stdout and exit status must come out of cxltool byte for byte,
and so must stderr (the empty-result warning, usage errors). The differences
allowed are listed below, each for a stated reason; nothing else may differ.
"""

from __future__ import annotations

import json

import pytest

from cxltool.cli import jsonc
from cxltool.sim.capture import load_capture, restore
from tests.transcripts import RUNS, capture_file, list_steps, run_cxltool

# (a) Keys cxltool prints (as ndctl v85 does) that the ndctl which made a transcript
# did not have yet, with the release that added them. They are removed from
# cxltool's output before comparing with a transcript made by an older release.
KEYS_ADDED_IN = {
    "parent_dport": 77,  # port / endpoint
    "type": 77,  # region
    "daxregion": 77,  # region; -vvv includes -X since v77 (76.1 had no -X)
    "pmem_qos_class": 79,  # memdev
    "ram_qos_class": 79,  # memdev
    "qos_class": 79,  # root decoder
    "qos_class_mismatch": 79,  # region
    "decoders_committed": 79,  # port / endpoint
    "firmware_version": 80,  # memdev
    "poison_injectable": 84,  # memdev (only with a CXL debugfs)
    "injectable_protocol_errors": 84,  # bus (only with a CXL debugfs)
    "protocol_injectable": 84,  # dport (only with a CXL debugfs)
    "extended_linear_cache_size": 84,  # region (only when non-zero)
    "locked": 85,  # region
}

# (b) Keys filled from the device mailbox (ioctls on /dev/cxl/memN). The captures
# hold sysfs only, so a restored tree has no mailbox data and cxltool leaves these
# out, as ndctl does when the mailbox command fails; they are removed from the
# recorded output.
MAILBOX_KEYS = {"health", "alert_config", "partition_info", "firmware"}

# (c) cxl list options newer than 76.1: the Debian tool rejects them ("unknown
# switch"), cxltool (v85) accepts them, so those steps cannot be compared.
OPTIONS_ADDED_IN = {"X": 77, "F": 78, "L": 80}

VERSION = {"76.1": 76.1, "81": 81}


def _strip(value, drop: set[str]):
    if isinstance(value, dict):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_strip(v, drop) for v in value]
    return value


def _normalized(text: str, drop: set[str]) -> str:
    if not text:
        return text
    return jsonc.dumps(_strip(json.loads(text), drop))


def _newer_option(step) -> str | None:
    version = VERSION[step.tool_version]
    for word in step.argv[2:]:
        if word.startswith("-") and not word.startswith("--"):
            for ch in word[1:]:
                if OPTIONS_ADDED_IN.get(ch, 0) > version:
                    return ch
    return None


CASES = [
    pytest.param(step, label, id=f"{run}-{step.index}-{label}-{'_'.join(step.argv[2:])}")
    for run in RUNS
    for step, label in list_steps(run, "cxl")
]


@pytest.mark.parametrize("step,label", CASES)
def test_recorded_cxl_list(step, label, restored_tree):
    newer = _newer_option(step)
    if newer is not None and step.rc == 129:
        pytest.skip(f"-{newer} does not exist in ndctl {step.tool_version} (unknown switch)")
    root = restored_tree(step.run, label)
    rc, out, err = run_cxltool(root, list(step.argv))

    assert rc == step.rc
    assert err == step.stderr
    if step.rc != 0:
        assert out == step.stdout
        return
    # The recorded text is exactly what json-c printed for that document, so
    # comparing documents re-printed by jsonc.dumps is a byte-for-byte comparison
    # once the allowed keys are gone.
    if step.stdout:
        assert jsonc.dumps(json.loads(step.stdout)) == step.stdout
    version = VERSION[step.tool_version]
    newer_keys = {k for k, added in KEYS_ADDED_IN.items() if added > version}
    assert _normalized(out, newer_keys) == _normalized(step.stdout, MAILBOX_KEYS)


# The same steps again with the mailbox data the devices reported in that run: the
# `-vvv` listing of a state shows each memdev's mailbox objects (in bytes), and a
# tree given them as `.cxltool/mailbox/memN.json` must then print the mailbox-backed
# steps (-H/-I/-A/-F, -vvv) exactly as recorded, with nothing removed but (a).
def _mailbox_records(stdout: str) -> dict[str, dict]:
    found: dict[str, dict] = {}

    def visit(value) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("memdev"), str) and "host" in value:
                record = {k: v for k, v in value.items() if k in MAILBOX_KEYS}
                if record:
                    found.setdefault(value["memdev"], record)
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    visit(json.loads(stdout))
    return found


def _uses_mailbox(step) -> bool:
    for word in step.argv[2:]:
        if word.startswith("-") and not word.startswith("--"):
            if any(ch in "HIAF" for ch in word[1:]) or word.count("v") >= 3:
                return True
    return False


def _mailbox_cases():
    for run in RUNS:
        steps = list_steps(run, "cxl")
        records = {
            label: _mailbox_records(step.stdout)
            for step, label in steps
            if step.argv[2:] == ("-vvv",) and step.rc == 0
        }
        for step, label in steps:
            if records.get(label) and _uses_mailbox(step) and step.rc == 0:
                yield pytest.param(
                    step, label, records[label],
                    id=f"{run}-{step.index}-{label}-{'_'.join(step.argv[2:])}",
                )


@pytest.fixture(scope="session")
def mailbox_tree(tmp_path_factory):
    trees: dict[tuple[str, str], str] = {}

    def get(run: str, label: str, records: dict[str, dict]) -> str:
        key = (run, label)
        if key not in trees:
            dest = tmp_path_factory.mktemp(f"{run}-{label}-mailbox")
            restore(load_capture(capture_file(run, label)), str(dest))
            box = dest / ".cxltool" / "mailbox"
            box.mkdir()
            for name, record in records.items():
                (box / f"{name}.json").write_text(json.dumps(record))
            trees[key] = str(dest)
        return trees[key]

    return get


@pytest.mark.parametrize("step,label,records", list(_mailbox_cases()))
def test_recorded_cxl_list_with_mailbox_data(step, label, records, mailbox_tree):
    root = mailbox_tree(step.run, label, records)
    rc, out, err = run_cxltool(root, list(step.argv))
    assert (rc, err) == (step.rc, step.stderr)
    version = VERSION[step.tool_version]
    newer_keys = {k for k, added in KEYS_ADDED_IN.items() if added > version}
    assert _normalized(out, newer_keys) == step.stdout
