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


def region_root(tmp_path, run: str):
    """A run's tree with its pmem region as captured (namespace0.0 idle)."""
    return capture_root(tmp_path, run, "pmem-region-created")


def devdax_writes(root, run: str, namespace: str = "namespace0.0", dax: str = "dax0.0") -> None:
    """What ndctl create-namespace -m devdax writes, with the uuids the run got."""
    doc = load_capture(capture_file(run, "pmem-namespace-devdax"))["entries"]

    def captured(name: str, attr: str) -> str:
        return next(e["content"].strip() for p, e in doc.items() if p.endswith(f"/{name}/{attr}"))

    size = int(read_nd(root, "region0", "available_size"))
    for attr, value in (
        ("uuid", captured("namespace0.0", "uuid")),
        ("alt_name", ""),
        ("size", f"{size:#x}\n"),
        ("sector_size", "512\n"),
        ("holder_class", "dax"),
    ):
        root.write(f"{ND}/{namespace}/{attr}", value + "\0")
    for attr, value in (
        ("uuid", captured("dax0.0", "uuid")),
        ("mode", "pmem"),
        ("align", "2097152\n"),
        ("namespace", namespace),
    ):
        root.write(f"{ND}/{dax}/{attr}", value + "\0")
    root.write(f"{ND_DRIVERS}/dax_pmem/bind", dax + "\0")


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
        if "/power/" in path or path.endswith("/power"):
            continue  # a capture of a simulated tree leaves power/ out
        a = _comparable(ours[path]) if path in ours else None
        b = _comparable(theirs[path]) if path in theirs else None
        if a != b:
            out.append(f"{path}: emulated {a} captured {b}")
    return out
