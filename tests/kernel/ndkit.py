"""Helpers for the emulated kernel's libnvdimm tests.

A CXL pmem region is built with the region writes cxl create-region makes, on a
restored capture taken just before the real run made the same region; the
libnvdimm part of the tree can then be compared with the capture after it.
"""

from __future__ import annotations

from cxltool.sim.capture import capture, load_capture
from cxltool.sysfs import paths
from tests.kernel.regionkit import build_region, capture_root
from tests.transcripts import capture_file

ND = paths.ND_DEVICES
ND_DRIVERS = paths.ND_BUS + "/drivers"
# The endpoint decoders cxl create-region used for the pmem region of each run.
PMEM_TARGETS = {"b": ["decoder3.0"], "c": ["decoder5.0", "decoder6.0"]}
_ND_TOPS = (paths.ND_BUS, "/ndbus")


def pmem_root(tmp_path, run: str):
    """A run's tree before its pmem region, and that region built and bound."""
    root = capture_root(tmp_path, run, "ram-region-destroyed")
    build_region(root, PMEM_TARGETS[run[0]], mode="pmem")
    return root


def nd_path(root, name: str) -> str:
    """The device directory of an nd bus device (`region0`, `namespace0.0`, ...)."""
    return root.realpath(f"{ND}/{name}")


def read_nd(root, name: str, attr: str) -> str:
    with open(root.host(f"{nd_path(root, name)}/{attr}")) as f:
        return f.read().removesuffix("\n")


def _comparable(entry: dict) -> tuple:
    kind = entry.get("type")
    if kind == "link":
        return (kind, entry.get("target"))
    if kind == "file":
        return (kind, entry.get("mode"), entry.get("content"), entry.get("errno"))
    return (kind,)


def nd_differences(root, run: str, label: str, ignore: tuple[str, ...] = ()) -> list[str]:
    """Where the tree's libnvdimm part differs from a capture's (uuids `ignore`d by path end)."""
    ours = capture(root)["entries"]
    theirs = load_capture(capture_file(run, label))["entries"]
    out = []
    for path in sorted(set(ours) | set(theirs)):
        if not any(t in path for t in _ND_TOPS) or path.endswith(ignore):
            continue
        a = _comparable(ours[path]) if path in ours else None
        b = _comparable(theirs[path]) if path in theirs else None
        if a != b:
            out.append(f"{path}: emulated {a} captured {b}")
    return out
