"""The region steps of the captured runs, replayed on the emulated kernel in order.

Each run starts from its `before` capture. Its steps run in order on that one
tree: the `cxl create-region`/`destroy-region`/`disable-region`/`enable-region`
commands through cxltool, which must print exactly what was recorded and exit
as recorded; the `sh -c 'echo V > /sys/...'` region builds through the emulated
kernel, which must accept them as the real one did. At every capture the CXL
part of the tree must equal the capture (tests/region_replay.py says what is
compared, what is not and why).

Steps not replayed, and why:
- `daxctl` and `ndctl` commands, and the write to `auto_online_blocks`: dax
  devices, kmem, memory blocks and libnvdimm namespaces belong to other areas;
  what they change is taken from the next capture;
- memdev commands (`disable-memdev`, `enable-memdev`, `read-labels`,
  `zero-labels`): another area's, replayed by tests/test_memdev_transcripts.py;
  they leave the region side of the tree as it was;
- `cxl list` and the other read-only steps: tests/test_cxl_list_transcripts.py.

Differences from the recorded ndctl 76.1 runs (`-debian`), each with its reason:
- `create-region -t ram` failed in 76.1 ("unable to determine region size",
  exit 0: 76.1 sized regions from pmem capacity only). cxltool does what v81 and
  v85 do and creates the region; that is checked on a copy of the tree, and the
  replay goes on with the sysfs writes 76.1's run fell back to.
- 76.1 printed that failure's function name twice (`create_region:
  create_region:`) and exited 0 when a region could not be sized at all (a pmem
  region of a ram-only memdev); v81 and v85 print it once and exit 1.
- 76.1's `create-region -h` lacks the `-U/--uuid` and `-Q/--enforce-qos` lines
  (options added in v77 and v79).
- JSON keys newer than 76.1 (region `type`, `qos_class_mismatch`) are removed
  from cxltool's output before comparing, as in the list transcripts.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from cxltool.cli import jsonc
from cxltool.sim import devnodes
from cxltool.sim.capture import load_capture, restore
from cxltool.sysfs import SysfsError, open_root
from tests.newer_keys import strip_newer
from tests.region_replay import differences, take_synced_parts
from tests.transcripts import RUNS, capture_file, run_cxltool, steps

REGION_COMMANDS = {"create-region", "destroy-region", "enable-region", "disable-region"}
SKIPPED_TOOLS = {"daxctl", "ndctl", "modprobe", "cat"}
SKIPPED_CXL = {"list", "disable-memdev", "enable-memdev", "read-labels", "zero-labels",
               "bogus-command"}


def _capture_label(argv: tuple[str, ...]) -> str | None:
    if len(argv) >= 4 and argv[0] == "python3" and argv[1].endswith("sysfs_capture.py"):
        return argv[3]
    return None


def _echo(argv: tuple[str, ...]) -> tuple[str, str] | None:
    """(value, path) of a `sh -c 'echo V > /sys/...'` step."""
    if len(argv) == 3 and argv[:2] == ("sh", "-c") and argv[2].startswith("echo "):
        value, sep, path = argv[2][len("echo "):].partition(" > ")
        if sep:
            return value, path.strip()
    return None


def _expected(step) -> tuple[int, str, str]:
    """What v85 prints for a recorded step: 76.1's known differences applied."""
    rc, out, err = step.rc, step.stdout, step.stderr
    if step.tool_version == "76.1":
        if "create_region: create_region: unable to determine region size" in err:
            err = err.replace("create_region: create_region:", "create_region:")
            rc = 1
    return rc, out, err


V85_ONLY_OPTIONS = (
    "    -U, --uuid <region uuid>\n"
    "                          uuid for the new region (default: autogenerate)\n",
    "    -Q, --enforce-qos     enforce qos_class match\n",
)


def _same_output(step, got: tuple[int, str, str]) -> None:
    rc, out, err = _expected(step)
    grc, gout, gerr = got
    if step.tool_version == "76.1" and step.argv[-1] == "-h":
        for lines in V85_ONLY_OPTIONS:
            assert lines in gerr
            gerr = gerr.replace(lines, "")
    assert (grc, gerr) == (rc, err), step.line
    if out and step.tool_version == "76.1":
        gout = jsonc.dumps(strip_newer(json.loads(gout), step.tool_version))
    assert gout == out, step.line


def _ram_region_76_1_could_not_make(step, tree: str, tmp_path) -> None:
    """76.1 failed to size a ram region; cxltool (as v81/v85) makes it. On a copy."""
    copy = str(tmp_path / f"copy-{step.index}")
    # Device nodes are made again in the copy rather than copied.
    shutil.copytree(tree, copy, symlinks=True, ignore=lambda d, _: ["dev"] if d == tree else [])
    os.makedirs(copy + "/dev")
    devnodes.sync_dev_nodes(copy)
    rc, out, err = run_cxltool(copy, list(step.argv))
    assert (rc, err) == (0, "cxl region: cmd_create_region: created 1 region\n"), err
    body = json.loads(out)
    assert body["type"] == "ram" and body["decode_state"] == "commit"
    shutil.rmtree(copy)


@pytest.mark.parametrize("run", RUNS)
def test_region_steps_replay_as_recorded(run, tmp_path):
    tree = str(tmp_path / "tree")
    restore(load_capture(capture_file(run, "before")), tree)
    root = open_root(tree)
    compared = 0
    for step in steps(run):
        argv = step.argv
        label = _capture_label(argv)
        if label is not None:
            doc = load_capture(capture_file(run, label))
            diff = differences(tree, doc)
            assert not diff, f"{run} at {label}:\n" + "\n".join(diff[:40])
            take_synced_parts(tree, doc)
            compared += 1
            continue
        echo = _echo(argv)
        if echo is not None:
            value, path = echo
            if not path.startswith("/sys/bus/cxl/"):
                continue  # auto_online_blocks: the memory area's
            if step.rc == 0:
                root.write(path, value + "\n")
            else:
                with pytest.raises(SysfsError):
                    root.write(path, value + "\n")
            continue
        if argv[0] in SKIPPED_TOOLS or argv[0] in ("python3", "sh"):
            continue
        if argv[0] == "cxl" and argv[1] in REGION_COMMANDS:
            if (
                step.tool_version == "76.1"
                and argv[1] == "create-region"
                and "-t" in argv
                and argv[argv.index("-t") + 1] == "ram"
                and "unable to determine region size" in step.stderr
                and "mem0" in argv
                and "-w" in argv
                and _fits(argv)
            ):
                _ram_region_76_1_could_not_make(step, tree, tmp_path)
                continue
            _same_output(step, run_cxltool(tree, list(argv)))
            continue
        assert argv[0] == "cxl" and argv[1] in SKIPPED_CXL, f"unclassified step {step.line}"
    assert compared == sum(1 for s in steps(run) if _capture_label(s.argv))


def _fits(argv: tuple[str, ...]) -> bool:
    """The targets named are as many as the ways: a region v85 can make."""
    ways = int(argv[argv.index("-w") + 1])
    targets = [a for a in argv[2:] if a.startswith("mem")]
    return ways == len(targets)
