"""Captures: a system's sysfs as one JSON document, and trees made from them.

The format (one object per path, `dir`, `link` or `file` with mode and content)
is the one the captures from real kernels use, so a capture taken here on a real
machine can be restored as a simulated system anywhere.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import os
import platform
import stat
import time
from collections.abc import Iterator

from cxltool.sim import devnodes
from cxltool.sysfs import Root, SysfsError, paths
from cxltool.sysfs.root import META_DIR, UNREADABLE_FILE

CAPTURE_FILE = "capture.json"
# Counters that change on every read; not worth recording.
_SKIP_DIRS = {"power"}
_COMPANION_LINKS = {"firmware_node", "physical_node"}
_BLOCK_BASICS = ("phys_index", "state", "online", "valid_zones", "removable")


class CaptureError(Exception):
    """A capture file that cannot be read or restored."""


def load_capture(path: str) -> dict:
    """A capture document from a .json or .json.gz file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        doc = json.loads(raw)
    except (OSError, ValueError, EOFError) as e:
        raise CaptureError(f"{path}: cannot read capture: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), dict):
        raise CaptureError(f"{path}: not a capture (no \"entries\" object)")
    return doc


def _safe_host(dest: str, path: str) -> str:
    if not path.startswith("/") or "\0" in path or "/../" in path + "/":
        raise CaptureError(f"unsafe path in capture: {path!r}")
    return dest + path


def restore(doc: dict, dest: str) -> int:
    """Write the tree a capture describes into dest; return the entry count."""
    dest = os.path.abspath(dest)
    entries = doc["entries"]
    os.makedirs(dest, exist_ok=True)
    unreadable: dict[str, int] = {}
    # Parents sort before children, so directories exist before their entries.
    for path in sorted(entries):
        entry = entries[path]
        host = _safe_host(dest, path)
        kind = entry.get("type")
        if kind == "dir":
            os.makedirs(host, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(host), exist_ok=True)
        if kind == "link":
            target = entry["target"]
            if target.startswith("/"):
                target = os.path.relpath(dest + target, os.path.dirname(host))
            if not os.path.lexists(host):
                os.symlink(target, host)
        elif kind == "file":
            content = entry.get("content")
            data = b""
            if content is not None:
                if entry.get("encoding") == "base64":
                    data = base64.b64decode(content)
                else:
                    data = content.encode()
            with open(host, "wb") as f:
                f.write(data)
            os.chmod(host, int(entry.get("mode", "0444"), 8))
            if entry.get("errno"):
                unreadable[path] = int(entry["errno"])
        else:
            raise CaptureError(f"{path}: unknown entry type {kind!r}")
    # Link targets outside the captured set still need to resolve.
    for entry in entries.values():
        if entry.get("type") == "link" and entry.get("resolved"):
            resolved = _safe_host(dest, entry["resolved"])
            if not os.path.lexists(resolved):
                os.makedirs(resolved, exist_ok=True)
    meta = os.path.join(dest, META_DIR)
    os.makedirs(meta, exist_ok=True)
    with open(os.path.join(meta, UNREADABLE_FILE), "w") as f:
        json.dump(unreadable, f, indent=1, sort_keys=True)
    with open(os.path.join(meta, CAPTURE_FILE), "w") as f:
        json.dump({"source": "capture", "meta": doc.get("meta", {})}, f, indent=1)
    if isinstance(doc.get("cxltool"), dict):
        _restore_extras(doc["cxltool"], meta)
    os.makedirs(dest + paths.DEV, exist_ok=True)
    devnodes.sync_dev_nodes(dest)
    return len(entries)


def _entry(root: Root, path: str) -> dict:
    host = root.host(path)
    st = os.lstat(host)
    if stat.S_ISLNK(st.st_mode):
        try:
            resolved = root.realpath(path)
        except Exception:
            resolved = None
        return {"type": "link", "target": os.readlink(host), "resolved": resolved}
    if stat.S_ISDIR(st.st_mode):
        return {"type": "dir"}
    mode = stat.S_IMODE(st.st_mode)
    entry: dict = {"type": "file", "mode": f"{mode:04o}"}
    if not mode & 0o444:
        entry.update(content=None, skipped="not readable (mode)")
        return entry
    try:
        data = root.read_bytes(path) if not root.simulated else _sim_bytes(root, path)
    except Exception as e:
        err = getattr(e, "errno", 5) or 5
        entry.update(content=None, error=f"OSError: {os.strerror(err)}", errno=err)
        return entry
    text = _as_text(data)
    if text is not None:
        entry.update(content=text, encoding="text", size=len(data))
    else:
        entry.update(content=base64.b64encode(data).decode(), encoding="base64", size=len(data))
    return entry


def _as_text(data: bytes) -> str | None:
    # Binary attributes (CDAT, PCI config) may happen to decode; keep them base64.
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    if any(c < " " and c not in "\n\t" for c in text):
        return None
    return text


def _sim_bytes(root: Root, path: str) -> bytes:
    root.read(path)  # raises what the system would raise
    return root.read_bytes(path)


def _walk(root: Root, top: str, seen: set[str]) -> Iterator[str]:
    if top in seen or not root.exists(top):
        return
    seen.add(top)
    yield top
    if root.islink(top) or not root.isdir(top):
        return
    for name in root.listdir(top):
        if name in _SKIP_DIRS:
            continue
        yield from _walk(root, top + "/" + name, seen)


def _cxl_windows(root: Root) -> list[tuple[int, int]]:
    """HPA ranges of the root decoders: where CXL memory can be hot-added."""
    ranges = []
    for name in root.listdir_opt(paths.CXL_DEVICES):
        if not name.startswith("decoder0."):
            continue
        base = paths.CXL_DEVICES + "/" + name
        try:
            start, size = int(root.read(base + "/start"), 0), int(root.read(base + "/size"), 0)
        except (ValueError, SysfsError):
            continue
        ranges.append((start, start + size))
    return ranges


def _block_size(root: Root) -> int:
    try:
        return int(root.read(paths.MEMORY + "/block_size_bytes"), 16)
    except (ValueError, SysfsError):
        return 0


def _ancestors(path: str) -> Iterator[str]:
    parts = path.strip("/").split("/")
    for i in range(1, len(parts)):
        yield "/" + "/".join(parts[:i])


def capture(root: Root, label: str = "capture") -> dict:
    """The CXL-related part of a system's sysfs, in the capture format."""
    started = time.monotonic()
    tops: list[str] = list(paths.CAPTURE_BUSES)
    for bus_dir in (paths.CXL_DEVICES, paths.DAX_DEVICES, paths.ND_DEVICES):
        for name in root.listdir_opt(bus_dir):
            try:
                tops.append(root.realpath(bus_dir + "/" + name))
            except Exception:
                continue
    # The PCI trees of the host bridges that hold the CXL devices.
    for name in root.listdir_opt(paths.CXL_DEVICES):
        if name.startswith("root"):
            for dport in root.listdir_opt(paths.CXL_DEVICES + "/" + name):
                if dport.startswith("dport"):
                    try:
                        tops.append(root.realpath(f"{paths.CXL_DEVICES}/{name}/{dport}"))
                    except Exception:
                        continue
    tops += [paths.NODE]
    seen: set[str] = set()
    entries: dict[str, dict] = {}
    for top in tops:
        for path in _walk(root, top, seen):
            entries[path] = _entry(root, path)
    # Firmware companions (ACPI nodes) give dports and targets their aliases.
    for path, entry in list(entries.items()):
        if entry["type"] == "link" and paths.basename(path) in _COMPANION_LINKS:
            companion = entry.get("resolved")
            if companion and root.isdir(companion):
                entries.setdefault(companion, {"type": "dir"})
                for name in root.listdir_opt(companion):
                    child = companion + "/" + name
                    if root.isdir(child) and not root.islink(child):
                        entries.setdefault(child, {"type": "dir"})
                    else:
                        entries.setdefault(child, _entry(root, child))
    windows = _cxl_windows(root)
    block = _block_size(root)
    for name in root.listdir_opt(paths.MEMORY):
        path = paths.MEMORY + "/" + name
        if not root.isdir(path) or root.islink(path):
            entries[path] = _entry(root, path)
        elif block and name.startswith("memory") and name[6:].isdigit():
            start = int(name[6:]) * block
            if any(lo <= start < hi for lo, hi in windows):
                for sub in _walk(root, path, seen):
                    entries[sub] = _entry(root, sub)
            else:
                # Other blocks only as much as tools read to tell whose they are.
                entries[path] = {"type": "dir"}
                for attr in _BLOCK_BASICS:
                    if root.exists(path + "/" + attr):
                        entries[path + "/" + attr] = _entry(root, path + "/" + attr)
    for path in list(entries):
        for parent in _ancestors(path):
            entries.setdefault(parent, {"type": "dir"})
    meta = {
        "label": label,
        "kernel": platform.release() if not root.simulated else "simulated",
        "captured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "roots": sorted(set(tops)),
        "entry_count": len(entries),
        "capture_seconds": round(time.monotonic() - started, 2),
    }
    doc = {"meta": meta, "entries": dict(sorted(entries.items()))}
    if root.simulated:
        doc["cxltool"] = _simulated_extras(root)
    return doc


# What a simulated system keeps beside its tree: the device-side data that a
# real machine holds in the devices themselves, and the kernel's hidden state.
_EXTRA_FILES = ("fixture.json",)
_EXTRA_DIRS = ("mailbox",)


def _simulated_extras(root: Root) -> dict:
    meta = os.path.join(root.base, META_DIR)
    extras: dict[str, object] = {}
    for name in _EXTRA_FILES:
        try:
            with open(os.path.join(meta, name)) as f:
                extras[name] = json.load(f)
        except (OSError, ValueError):
            continue
    for name in _EXTRA_DIRS:
        folder = os.path.join(meta, name)
        if not os.path.isdir(folder):
            continue
        files = {}
        for entry in sorted(os.listdir(folder)):
            try:
                with open(os.path.join(folder, entry)) as f:
                    files[entry] = json.load(f)
            except (OSError, ValueError):
                continue
        extras[name] = files
    return extras


def _restore_extras(extras: dict, meta: str) -> None:
    for name in _EXTRA_FILES:
        if name in extras:
            with open(os.path.join(meta, name), "w") as f:
                json.dump(extras[name], f, indent=1, sort_keys=True)
    for name in _EXTRA_DIRS:
        files = extras.get(name)
        if not isinstance(files, dict):
            continue
        folder = os.path.join(meta, name)
        os.makedirs(folder, exist_ok=True)
        for entry, content in files.items():
            if "/" in entry or entry.startswith("."):
                raise CaptureError(f"unsafe file name in capture: {entry!r}")
            with open(os.path.join(folder, entry), "w") as f:
                json.dump(content, f, indent=1)


def write_capture(doc: dict, out: str) -> None:
    data = json.dumps(doc, indent=1).encode() + b"\n"
    if out.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with open(out, "wb") as f:
        f.write(data)
