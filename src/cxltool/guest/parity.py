"""Comparing a scenario's run on a real kernel with its run on a simulated
system: exit statuses, outputs and the captured trees.

Values the platform chooses differ for reasons that are not the emulator's:
a real kernel numbers memdevs in the order their probes finish, and a window's
base address is where the firmware put it. The first is matched by building
the simulated system with the guest's numbering; the second by translating
every address inside a window on one side into the same offset of the same
window on the other (and memory block names with them), so that an address
off by one byte still shows as a difference.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

from cxltool.sim.topology import Topology
from cxltool.sysfs import paths

_NUMBER = re.compile(r"\b0x[0-9a-fA-F]+\b|\b\d{7,}\b")
_BLOCK = re.compile(r"\bmemory(\d+)\b")
_UUID = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}\n$")
_NIL_UUID = "00000000-0000-0000-0000-000000000000\n"
_ANY_UUID = re.compile(r"\b[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\b")
# Counters of the running machine: compared for presence and mode only.
_COUNTERS = ("/meminfo", "/numastat", "/vmstat")


def _content(entry: dict | None) -> str | None:
    if entry is None or entry.get("type") != "file":
        return None
    text = entry.get("content")
    return text if isinstance(text, str) else None


def _link_target(entries: dict, path: str) -> str | None:
    entry = entries.get(path)
    return entry.get("resolved") if entry and entry.get("type") == "link" else None


def device_numbering(doc: dict, topology: Topology) -> dict[str, dict[str, int]]:
    """The memdev number and probe rank the captured system gave each device,
    as `Topology.with_devices` changes keyed by fixture device name."""
    entries = doc["entries"]
    memdev_of_path: dict[str, int] = {}
    serial_of: dict[int, int] = {}
    for path in entries:
        name = paths.basename(path)
        if path.startswith(paths.CXL_DEVICES + "/mem") and name[3:].isdigit():
            real = _link_target(entries, path)
            serial = _content(entries.get(f"{real}/serial"))
            if real and serial:
                memdev_of_path[real] = int(name[3:])
                serial_of[int(name[3:])] = int(serial.strip(), 0)
    endpoint_of: dict[int, int] = {}
    for path in entries:
        name = paths.basename(path)
        if path.startswith(paths.CXL_DEVICES + "/endpoint") and name[8:].isdigit():
            real = _link_target(entries, path)
            uport = _link_target(entries, f"{real}/uport") if real else None
            if uport in memdev_of_path:
                endpoint_of[memdev_of_path[uport]] = int(name[8:])
    ranked = sorted(endpoint_of, key=endpoint_of.get)
    by_serial = {d.serial: d.name for d in topology.devices()}
    changes: dict[str, dict[str, int]] = {}
    for memdev, serial in serial_of.items():
        if serial in by_serial:
            rank = ranked.index(memdev) if memdev in endpoint_of else memdev
            changes[by_serial[serial]] = {"memdev": memdev, "probe_order": rank}
    return changes


def _windows(doc: dict) -> dict[str, tuple[int, int]]:
    entries = doc["entries"]
    out = {}
    for path in entries:
        name = paths.basename(path)
        if path.startswith(paths.CXL_DEVICES + "/decoder0."):
            real = _link_target(entries, path)
            start = _content(entries.get(f"{real}/start"))
            size = _content(entries.get(f"{real}/size"))
            if start and size:
                out[name] = (int(start, 0), int(size, 0))
    return out


def _block_size(doc: dict) -> int:
    text = _content(doc["entries"].get(paths.MEMORY + "/block_size_bytes"))
    return int(text, 16) if text else 0


@dataclass(frozen=True)
class Translation:
    """Maps the addresses of one system onto another's, window by window."""

    ranges: tuple[tuple[int, int, int], ...]  # (start, end, other start)
    block_size: int

    @classmethod
    def between(cls, mine: dict, theirs: dict) -> Translation:
        a, b = _windows(mine), _windows(theirs)
        ranges = tuple((a[n][0], a[n][0] + a[n][1], b[n][0]) for n in sorted(a) if n in b)
        return cls(ranges, _block_size(mine))

    def address(self, value: int) -> int:
        for lo, hi, other in self.ranges:
            if lo <= value < hi:
                return other + (value - lo)
        return value

    def text(self, text: str) -> str:
        if all(lo == other for lo, _, other in self.ranges):
            return text

        def number(m: re.Match) -> str:
            token = m.group(0)
            if token.startswith(("0x", "0X")):
                return hex(self.address(int(token, 16)))
            return str(self.address(int(token)))

        def block(m: re.Match) -> str:
            if not self.block_size:
                return m.group(0)
            start = self.address(int(m.group(1)) * self.block_size)
            return f"memory{start // self.block_size}"

        return _BLOCK.sub(block, _NUMBER.sub(number, text))


class UuidNames:
    """Names generated uuids by first appearance ("uuid-1", ...), so that the
    uuids ndctl makes up on each system compare by the role they play."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def text(self, text: str) -> str:
        def name(m: re.Match) -> str:
            found = m.group(0)
            if found == _NIL_UUID.strip():
                return found
            return self.names.setdefault(found, f"uuid-{len(self.names) + 1}")

        return _ANY_UUID.sub(name, text)


def compare_results(real: dict, simulated: dict, translate: Translation) -> list[str]:
    """Steps whose exit status or output differ, one line of detail each."""
    out = []
    real_uuids, sim_uuids = UuidNames(), UuidNames()
    steps = zip(real["results"], simulated["results"], strict=True)
    for n, (r, s) in enumerate(steps, 1):
        where = f"step {n} ({r['run']})"
        if r["rc"] != s["rc"]:
            out.append(f"{where}: exit status: kernel {r['rc']}, simulated {s['rc']}")
        for stream in ("stdout", "stderr"):
            want = real_uuids.text(translate.text(r[stream]))
            got = sim_uuids.text(s[stream])
            if want != got:
                out.append(f"{where}: {stream}:\n{_first_difference(want, got)}")
    return out


def _first_difference(want: str, got: str) -> str:
    a, b = want.splitlines(), got.splitlines()
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end>"
        y = b[i] if i < len(b) else "<end>"
        if x != y:
            return f"  line {i + 1}: kernel {x!r}\n  line {i + 1}: simulated {y!r}"
    return "  (line endings differ)"


def _comparable(path: str, entry: dict, translate: Translation | None) -> dict:
    entry = {k: v for k, v in entry.items() if k in ("type", "mode", "content", "target", "errno")}
    text = entry.get("content")
    if isinstance(text, str):
        if path.endswith(_COUNTERS):
            entry["content"] = "<counters>"
        elif path.endswith("/uuid") and _UUID.match(text) and text != _NIL_UUID:
            # ndctl makes up a uuid for each new pmem region and namespace.
            entry["content"] = "<a generated uuid>"
        elif translate is not None:
            entry["content"] = translate.text(text)
    return entry


_MEMDEV_DIR = re.compile(r"/mem\d+(/|$)")


def _skipped(path: str) -> bool:
    # Runtime power management belongs to the running machine, not to CXL.
    return "/power/" in path or path.endswith("/power")


def _skeleton(path: str) -> bool:
    """A path of the PCI, ACPI or block layers: a simulated tree holds only the
    part of these that tools read, so what only the kernel has is no difference."""
    if "/block/" in path:
        return True
    if _MEMDEV_DIR.search(path):
        return False
    return any(path.startswith(paths.SYS_DEVICES + "/" + top) for top in ("pci", "LNXSYSTM"))


def compare_captures(real: dict, simulated: dict, translate: Translation) -> list[str]:
    """How two captures of the same state differ: paths one has and the
    other lacks, and entries that differ (kind, mode, content, link)."""
    want = {
        translate.text(p): _comparable(p, e, translate)
        for p, e in real["entries"].items()
        if not _skipped(p)
    }
    got = {p: _comparable(p, e, None) for p, e in simulated["entries"].items() if not _skipped(p)}
    out = []
    for path in sorted(set(want) - set(got)):
        if not _skeleton(path):
            out.append(f"{path}: only on the kernel")
    for path in sorted(set(got) - set(want)):
        out.append(f"{path}: only simulated")
    for path in sorted(set(want) & set(got)):
        if want[path] != got[path]:
            out.append(f"{path}: kernel {want[path]!r:.200}, simulated {got[path]!r:.200}")
    return out


def load_run(out: str | Path) -> tuple[dict, dict[str, dict]]:
    """A run's results and its captures by label (the boot state included)."""
    out = Path(out)
    results = json.loads((out / "results.json").read_text())
    labels = ["boot"] + [r["capture"] for r in results["results"] if r["capture"]]
    captures = {}
    for label in labels:
        with gzip.open(out / f"capture-{label}.json.gz", "rt") as f:
            captures[label] = json.load(f)
    return results, captures


def compare_runs(kernel: str | Path, simulated: str | Path) -> list[str]:
    """Every difference between a scenario's run on a kernel and on a simulation."""
    real_results, real_captures = load_run(kernel)
    sim_results, sim_captures = load_run(simulated)
    translate = Translation.between(real_captures["boot"], sim_captures["boot"])
    out = compare_results(real_results, sim_results, translate)
    for label, doc in real_captures.items():
        out += [
            f"capture {label}: {d}" for d in compare_captures(doc, sim_captures[label], translate)
        ]
    return out
