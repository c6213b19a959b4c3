"""Which part of a tree the region transcripts compare, and how the rest is kept in step.

Compared (the CXL part): everything under /sys/bus/cxl and under the CXL root's
platform device (root0, its decoders and regions, ports, endpoints, the nvdimm
bridge), path by path: kind, mode, content, link text. Left out, each for its
reason:

- `power/` directories: runtime power-management counters of the captured guest;
- below a `dax_regionN`: its `dax_region/` attribute group and its `daxN.M`
  devices (dax devices, their modes and sizes, kmem) belong to the dax area,
  which daxctl drives between the captures;
- `nvdimm-bridge0/ndbus0`: libnvdimm (regions, namespaces, nmem states), which
  ndctl drives and cxltool does not emulate for CXL pmem regions;
- the value of a pmem region's `uuid`: ndctl generates it at random (it must
  still be a valid, non-nil UUID in the same mode).

The dax, libnvdimm, memory-block and node parts of the tree are what the
replay's skipped steps (daxctl, ndctl, memory policy writes) change; at each
capture they are taken from the capture, so the next region commands see the
same dax devices and memory the real tools saw.
"""

from __future__ import annotations

import json
import os
import re
import shutil

from cxltool.sim import devnodes
from cxltool.sim.capture import restore
from cxltool.sysfs import paths
from tests.sim.capture_data import normalize_capture_entry, tree_entries

_DAX_INSIDE = re.compile(r"/dax_region\d+/(dax_region|dax\d+\.\d+)(/|$)")
_UUID = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}\n$")
NIL_UUID = "00000000-0000-0000-0000-000000000000\n"
SYNCED_TOPS = (
    paths.DAX_BUS,
    paths.ND_BUS,
    paths.MEMORY,
    paths.NODE,
)


def cxl_tops(entries: dict) -> list[str]:
    """The compared subtrees: the cxl bus and the CXL root's platform device."""
    tops = [paths.CXL_BUS]
    for path in entries:
        if path.endswith("/root0") and path.startswith(paths.SYS_DEVICES + "/platform/"):
            tops.append(path)
    return sorted(set(tops))


def excluded(path: str) -> bool:
    """A path inside the compared subtrees that is not compared (see above)."""
    parts = path.split("/")
    return "power" in parts or bool(_DAX_INSIDE.search(path)) or "/ndbus0" in path


def synced(path: str) -> bool:
    """A path the replay takes from the capture (dax, libnvdimm, memory, nodes)."""
    if any(path == t or path.startswith(t + "/") for t in SYNCED_TOPS):
        return True
    return bool(_DAX_INSIDE.search(path)) or "/ndbus0/" in path


def _comparable(path: str, entry: dict) -> dict:
    if path.endswith("/uuid") and entry.get("mode") == "0644":
        text = entry.get("content") or b""
        if _UUID.match(text.decode(errors="replace")) and text.decode() != NIL_UUID:
            return dict(entry, content=b"<a generated uuid>")
    return entry


def cxl_part_of_capture(doc: dict) -> dict[str, dict]:
    entries = doc["entries"]
    tops = cxl_tops(entries)
    return {
        p: _comparable(p, normalize_capture_entry(e))
        for p, e in entries.items()
        if any(p == t or p.startswith(t + "/") for t in tops) and not excluded(p)
    }


def cxl_part_of_tree(base: str, doc: dict) -> dict[str, dict]:
    tops = cxl_tops(doc["entries"])
    entries = tree_entries(base, tops)
    return {p: _comparable(p, e) for p, e in entries.items() if not excluded(p)}


def differences(base: str, doc: dict) -> list[str]:
    """How the tree's CXL part differs from the capture's (empty when equal)."""
    want, got = cxl_part_of_capture(doc), cxl_part_of_tree(base, doc)
    out = []
    for path in sorted(set(want) | set(got)):
        if want.get(path) != got.get(path):
            out.append(f"{path}: captured {want.get(path)!r}, emulated {got.get(path)!r}")
    return out


def take_synced_parts(base: str, doc: dict) -> None:
    """Replace the tree's dax, libnvdimm, memory and node parts with the capture's."""
    for dirpath, dirnames, filenames in os.walk(base + paths.SYS, topdown=True):
        rel = dirpath[len(base):]
        for name in list(dirnames):
            path = f"{rel}/{name}"
            host = base + path
            if synced(path) and not os.path.islink(host):
                shutil.rmtree(host)
                dirnames.remove(name)
        for name in filenames:
            path = f"{rel}/{name}"
            if synced(path):
                os.unlink(base + path)
        for name in list(dirnames):
            if os.path.islink(os.path.join(dirpath, name)) and synced(f"{rel}/{name}"):
                os.unlink(os.path.join(dirpath, name))
                dirnames.remove(name)
    meta = os.path.join(base, ".cxltool")
    table = os.path.join(meta, "unreadable.json")
    with open(table) as f:
        unreadable = json.load(f)
    part = {"meta": doc.get("meta", {}),
            "entries": {p: e for p, e in doc["entries"].items() if synced(p)}}
    restore(part, base)
    with open(table) as f:
        unreadable.update(json.load(f))
    with open(table, "w") as f:
        json.dump(unreadable, f, indent=1, sort_keys=True)
    devnodes.sync_dev_nodes(base)
