"""Scenarios: a list of cxltool commands run on one system, with a capture of
the tree after each state change.

The same scenario runs on the real sysfs of a QEMU guest or on a simulated
system built from the scenario's fixture, and both runs write the same result
files, so the two can be compared (see `parity`).

A scenario file is TOML::

    fixture = "qemu-b"
    [[steps]]
    run = "cxl create-region -d decoder0.0 -t ram {mem:0x1}"
    capture = "ram-region"      # the step changes state: capture the tree after it

`{mem:SERIAL}` stands for the memdev whose serial is SERIAL: a real kernel
numbers memdevs in the order their asynchronous probes finish, so a scenario
names devices by what does not change from one boot to the next.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import pwd
import re
import shlex
import sys
import tempfile
import time
import tomllib
import traceback
from dataclasses import dataclass
from pathlib import Path

from cxltool.sim.capture import capture, write_capture
from cxltool.sim.topology import Topology
from cxltool.sysfs import Root, open_root, paths

TOOLS = ("cxl", "daxctl", "ndctl", "sim")
RESULTS = "results.json"
_PLACEHOLDER = re.compile(r"\{mem:(0x[0-9a-fA-F]+|\d+)\}")
_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ScenarioError(Exception):
    """A scenario file that cannot be run; the message names the file and the step."""


@dataclass(frozen=True)
class Step:
    run: str
    capture: str | None = None
    user: str | None = None  # run as this user instead of root


@dataclass(frozen=True)
class Scenario:
    name: str
    fixture: str
    steps: tuple[Step, ...]

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "fixture": self.fixture,
            "steps": [{"run": s.run, "capture": s.capture, "user": s.user} for s in self.steps],
        }

    @classmethod
    def from_json(cls, doc: dict) -> Scenario:
        steps = tuple(Step(s["run"], s.get("capture"), s.get("user")) for s in doc["steps"])
        return cls(doc["name"], doc["fixture"], steps)


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as e:
        raise ScenarioError(f"{path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: {e}") from None
    fixture = doc.get("fixture")
    if not isinstance(fixture, str):
        raise ScenarioError(f"{path}: fixture: a fixture name is required")
    raw = doc.get("steps")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{path}: steps: at least one [[steps]] table is required")
    steps = []
    labels: set[str] = set()
    for n, item in enumerate(raw, 1):
        run, label, user = item.get("run"), item.get("capture"), item.get("user")
        unknown = set(item) - {"run", "capture", "user"}
        if unknown:
            raise ScenarioError(f"{path}: step {n}: unknown key {sorted(unknown)[0]}")
        if not isinstance(run, str) or not run.strip():
            raise ScenarioError(f"{path}: step {n}: run: a command line is required")
        argv = shlex.split(run)
        if argv[0] not in TOOLS:
            raise ScenarioError(f"{path}: step {n}: {argv[0]}: not one of {', '.join(TOOLS)}")
        if label is not None:
            if not isinstance(label, str) or not _LABEL.match(label) or label in labels:
                raise ScenarioError(f"{path}: step {n}: capture: a new lower-case label")
            labels.add(label)
        if user is not None:
            try:
                pwd.getpwnam(user)
            except (KeyError, TypeError):
                raise ScenarioError(
                    f"{path}: step {n}: user: {user!r} is not a user here"
                ) from None
        steps.append(Step(run, label, user))
    return Scenario(path.stem, fixture, tuple(steps))


def memdevs_by_serial(root: Root) -> dict[int, str]:
    """Memdev names keyed by device serial number."""
    out: dict[int, str] = {}
    for name in root.listdir_opt(paths.CXL_DEVICES):
        if name.startswith("mem") and name[3:].isdigit():
            serial = root.read_opt(f"{paths.CXL_DEVICES}/{name}/serial")
            if serial is not None:
                out[int(serial.strip(), 0)] = name
    return out


def resolve(command: str, by_serial: dict[int, str]) -> list[str]:
    """The argument vector of a step, with `{mem:SERIAL}` replaced."""

    def name(m: re.Match) -> str:
        serial = int(m.group(1), 0)
        if serial not in by_serial:
            raise ScenarioError(f"{command}: no memdev has serial {m.group(1)}")
        return by_serial[serial]

    return shlex.split(_PLACEHOLDER.sub(name, command))


def _preload(everything: bool = False) -> None:
    # Imported once here, so that each forked command starts warm: under
    # QEMU's TCG a fresh interpreter costs more than a second per command.
    import cxltool.cli.cxl  # noqa: F401
    import cxltool.cli.daxctl  # noqa: F401
    import cxltool.cli.main  # noqa: F401
    import cxltool.cli.ndctl  # noqa: F401

    if everything:
        # A command run as a user may not be able to read what it would import
        # later (an interpreter or checkout under /root).
        import cxltool

        for info in pkgutil.walk_packages(cxltool.__path__, "cxltool."):
            # Not __main__, which would run a command on import.
            if not info.name.startswith(("cxltool.guest", "cxltool.sim", "cxltool.__main__")):
                importlib.import_module(info.name)


def run_command(args: list[str], user: str | None = None) -> tuple[int, str, str]:
    """Run `cxltool ARGS` in a forked child (as USER if given): exit status, stdout, stderr.

    A child of its own, as a shell would start it: state one command leaves in
    the interpreter never reaches the next, and a crash ends only the child.
    """
    from cxltool.cli.main import cli

    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            status = 70
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                # New streams on the new descriptors: the parent's may write
                # elsewhere (a test runner's capture, say).
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                os.environ.pop("CXLTOOL_ROOT", None)
                if user is not None:
                    account = pwd.getpwnam(user)
                    os.setgroups([])
                    os.setgid(account.pw_gid)
                    os.setuid(account.pw_uid)
                try:
                    cli.main(args=args, prog_name="cxltool", standalone_mode=True)
                    status = 0
                except SystemExit as e:
                    status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:
                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(status)
        _, wait = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(wait)
        if rc < 0:
            rc = 128 - rc
        out.seek(0)
        err.seek(0)
        return rc, out.read().decode(errors="replace"), err.read().decode(errors="replace")


def settle(root: Root) -> None:
    """Let a real kernel finish the probes a step queued before the tree is captured.

    Binding the CXL root (`cxl_acpi`) rescans the bus from a work queue, so the
    memdevs' endpoints appear after the write returns; the bus's `flush`
    attribute waits for that queue. A simulated kernel probes as it writes.
    """
    if root.real and root.exists(paths.CXL_BUS + "/flush"):
        root.write(paths.CXL_BUS + "/flush", "1\n")


def run_scenario(scenario: Scenario, out: str | Path, base: str | None = None) -> list[dict]:
    """Run every step as its own cxltool process and write the results to OUT.

    BASE is the simulated system's directory, given to each command as
    `--root`; None runs on the real system.
    """

    def system() -> Root:
        # Opened afresh each time: the commands change the system behind any
        # Root this process would keep (a simulated root caches its metadata).
        return open_root(base or "/")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_capture(capture(system(), "boot"), str(out / "capture-boot.json.gz"))
    prefix = [] if base is None else ["--root", base]
    _preload(everything=any(step.user for step in scenario.steps))
    results = []
    for step in scenario.steps:
        argv = resolve(step.run, memdevs_by_serial(system()))
        started = time.monotonic()
        rc, stdout, stderr = run_command(prefix + argv, step.user)
        result = {
            "run": step.run,
            "argv": argv,
            "rc": rc,
            "stdout": stdout,
            "stderr": stderr,
            "wall_ms": round((time.monotonic() - started) * 1000),
            "capture": step.capture,
            "user": step.user,
        }
        results.append(result)
        if step.capture:
            root = system()
            settle(root)
            doc = capture(root, step.capture)
            write_capture(doc, str(out / f"capture-{step.capture}.json.gz"))
    doc = {"scenario": scenario.to_json(), "results": results}
    (out / RESULTS).write_text(json.dumps(doc, indent=1) + "\n")
    return results


def run_simulated(scenario: Scenario, topology: Topology, out: str | Path) -> list[dict]:
    """Run SCENARIO on a new simulated system built from TOPOLOGY in OUT/root."""
    from cxltool.sim.build import build_tree

    out = Path(out)
    dest = out / "root"
    build_tree(topology, str(dest))
    return run_scenario(scenario, out, str(dest))
