"""Captures of real kernels (tests/data/captures) and built trees, in one comparable form.

A capture is `{"meta": ..., "entries": {path: entry}}` (see captures/README.md). For
a tree on disk, `tree_entries` produces entries of the same shape (file contents as
bytes), and `normalize_capture_entry` reduces a capture's entry to that shape, so
the two compare path by path.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import stat

CAPTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "captures")

# The c-v81 run probed the two volatile devices in the other order than c-debian, which
# the qemu-c fixture follows: Topology.with_devices changes give c-v81's numbering.
C_V81_NUMBERING = {
    "vmem0": {"memdev": 0, "probe_order": 1},
    "vmem1": {"memdev": 1, "probe_order": 0},
}


def capture_file(run: str, state: str = "before") -> str:
    return os.path.join(CAPTURES, run, f"sysfs-{state}.json.gz")


def load_capture(run: str, state: str = "before") -> dict:
    with gzip.open(capture_file(run, state), "rt") as f:
        return json.load(f)


def _entry(base: str, path: str, unreadable: dict[str, int]) -> dict:
    host = base + path
    st = os.lstat(host)
    if stat.S_ISLNK(st.st_mode):
        return {"type": "link", "target": os.readlink(host)}
    if stat.S_ISDIR(st.st_mode):
        return {"type": "dir"}
    mode = stat.S_IMODE(st.st_mode)
    entry: dict = {"type": "file", "mode": f"{mode:04o}"}
    if not mode & 0o444:
        entry["content"] = None
        return entry
    if path in unreadable:
        entry.update(content=None, errno=unreadable[path])
        return entry
    with open(host, "rb") as f:
        entry["content"] = f.read()
    return entry


def tree_entries(base: str, tops: list[str], shallow: list[str] = ()) -> dict[str, dict]:
    """Entries of a tree under base: whole subtrees of tops, direct children of shallow."""
    meta = os.path.join(base, ".cxltool", "unreadable.json")
    unreadable: dict[str, int] = {}
    if os.path.exists(meta):
        with open(meta) as f:
            unreadable = json.load(f)
    out: dict[str, dict] = {}
    for top in tops:
        if not os.path.lexists(base + top):
            continue
        out[top] = _entry(base, top, unreadable)
        if out[top]["type"] != "dir":
            continue
        for dirpath, dirnames, filenames in os.walk(base + top):
            for name in dirnames + filenames:
                path = dirpath[len(base) :] + "/" + name
                out[path] = _entry(base, path, unreadable)
    for top in shallow:
        if not os.path.isdir(base + top):
            continue
        out[top] = {"type": "dir"}
        for name in os.listdir(base + top):
            path = top + "/" + name
            out[path] = _entry(base, path, unreadable)
    return out


def normalize_capture_entry(e: dict) -> dict:
    """A capture entry reduced to what tree_entries records."""
    if e["type"] == "dir":
        return {"type": "dir"}
    if e["type"] == "link":
        return {"type": "link", "target": e["target"]}
    out = {"type": "file", "mode": e["mode"]}
    if e.get("content") is None:
        out["content"] = None
        if e.get("errno"):
            out["errno"] = e["errno"]
        return out
    if e.get("encoding") == "base64":
        out["content"] = base64.b64decode(e["content"])
    else:
        out["content"] = e["content"].encode()
    return out


def under(path: str, tops: list[str]) -> bool:
    return any(path == t or path.startswith(t + "/") for t in tops)


def shallow_under(path: str, tops: list[str]) -> bool:
    return any(
        path == t or (path.startswith(t + "/") and "/" not in path[len(t) + 1 :]) for t in tops
    )
