"""Transactions on a simulated root: every emulated write is all or nothing.

A store handler does not touch the tree. It reads the tree as it is and plans
its changes on a Transaction (files to write, directories and links to make or
remove, kernel state to keep). `commit()` then writes the whole plan to a
journal, applies it, and removes the journal. Every planned step is idempotent,
so an interrupted transaction is finished by replaying its journal the next
time the root is opened for writing (or listed by `recover`): the tree is only
ever seen before or after a write, never in between. All of it runs under an
exclusive lock on the root, so concurrent processes take turns.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import stat
from collections.abc import Iterator
from typing import Any

from cxltool.sim.shapes import Shapes, kernfs_link_target
from cxltool.sysfs.root import JOURNAL_FILE, UNREADABLE_FILE, SimulatedRoot

LOCK_FILE = "lock"
STATE_FILE = "fixture.json"


def _atomic_write(path: str, data: bytes) -> None:
    # Rename makes the file appear whole or not at all to any process, which is
    # what a crash of a writer needs; no fsync: a simulated system does not
    # have to survive a power cut, and fsync would dominate every write.
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@contextlib.contextmanager
def locked(root: SimulatedRoot) -> Iterator[None]:
    """Hold the root's exclusive lock, finishing any interrupted transaction first."""
    os.makedirs(root.meta, exist_ok=True)
    fd = os.open(os.path.join(root.meta, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        replay_journal(root)
        yield
    finally:
        os.close(fd)


def load_state(root: SimulatedRoot) -> dict[str, Any]:
    """What the emulated kernel keeps but does not show in sysfs."""
    try:
        with open(os.path.join(root.meta, STATE_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class Transaction:
    """The planned changes of one emulated write."""

    def __init__(self, root: SimulatedRoot) -> None:
        self.root = root
        self.ops: list[list[Any]] = []
        self.state: dict[str, Any] | None = None

    # -- planning ------------------------------------------------------------
    def write(self, path: str, content: str | bytes, mode: int | None = None) -> None:
        """Set an attribute's content (the kernel's text, newline included, or bytes)."""
        if isinstance(content, bytes):
            # Binary attributes (CDAT) travel through the JSON journal as base64.
            self.ops.append(["write_b64", path, base64.b64encode(content).decode(), mode])
        else:
            self.ops.append(["write", path, content, mode])

    def mknod(self, path: str, major: int, minor: int) -> None:
        """A character device node (a plain file where the process may not mknod)."""
        self.ops.append(["mknod", path, major, minor])

    def mkdir(self, path: str) -> None:
        self.ops.append(["mkdir", path])

    def symlink(self, path: str, target: str) -> None:
        """Make `path` a link; an absolute kernel-path target is made relative."""
        if target.startswith("/"):
            target = os.path.relpath(target, os.path.dirname(path))
        self.ops.append(["symlink", path, target])

    def remove(self, path: str) -> None:
        """Remove a file or link (nothing if it is already gone)."""
        self.ops.append(["remove", path])

    def rmtree(self, path: str) -> None:
        """Remove a device directory and everything below it."""
        self.ops.append(["rmtree", path])

    def chmod(self, path: str, mode: int) -> None:
        self.ops.append(["chmod", path, mode])

    def unreadable(self, path: str, err: int) -> None:
        """Reads of this attribute fail with err, as on the real kernel."""
        self.ops.append(["unreadable", path, err])

    def kernel_state(self) -> dict[str, Any]:
        """The kernel's hidden state, to read and change; saved on commit."""
        if self.state is None:
            self.state = load_state(self.root)
        return self.state

    # -- applying ------------------------------------------------------------
    def commit(self) -> None:
        if not self.ops and self.state is None:
            return
        doc = {"ops": self.ops, "state": self.state}
        journal = os.path.join(self.root.meta, JOURNAL_FILE)
        _atomic_write(journal, json.dumps(doc).encode())
        _apply(self.root, doc)
        os.unlink(journal)


def _apply(root: SimulatedRoot, doc: dict[str, Any]) -> None:
    base = root.base
    for op in doc["ops"]:
        kind, path = op[0], base + op[1]
        if kind in ("write", "write_b64"):
            data = op[2].encode() if kind == "write" else base64.b64decode(op[2])
            mode = op[3]
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if mode is None and os.path.exists(path):
                mode = os.stat(path).st_mode & 0o7777
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, 0o444 if mode is None else mode)
        elif kind == "mknod":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.lexists(path):
                os.unlink(path)
            try:
                os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(op[2], op[3]))
            except OSError:
                with open(path, "w"):
                    pass
        elif kind == "mkdir":
            os.makedirs(path, exist_ok=True)
        elif kind == "symlink":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.lexists(path):
                os.unlink(path)
            os.symlink(op[2], path)
        elif kind == "remove":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        elif kind == "rmtree":
            shutil.rmtree(path, ignore_errors=True)
        elif kind == "chmod":
            if os.path.lexists(path):
                os.chmod(path, op[2])
        elif kind == "unreadable":
            _record_unreadable(root, op[1], op[2])
        else:
            raise ValueError(f"unknown journal step {kind!r}")
    if doc.get("state") is not None:
        _atomic_write(os.path.join(root.meta, STATE_FILE),
                      json.dumps(doc["state"], indent=1, sort_keys=True).encode())


def _record_unreadable(root: SimulatedRoot, path: str, err: int) -> None:
    table = os.path.join(root.meta, UNREADABLE_FILE)
    try:
        with open(table) as f:
            known = json.load(f)
    except (OSError, ValueError):
        known = {}
    if known.get(path) != err:
        known[path] = err
        _atomic_write(table, json.dumps(known, indent=1, sort_keys=True).encode())


def replay_journal(root: SimulatedRoot) -> bool:
    """Finish a transaction a crash interrupted; True if there was one."""
    journal = os.path.join(root.meta, JOURNAL_FILE)
    try:
        with open(journal) as f:
            doc = json.load(f)
    except FileNotFoundError:
        return False
    except ValueError:
        # The journal itself was cut short: the transaction never started.
        os.unlink(journal)
        return False
    _apply(root, doc)
    os.unlink(journal)
    return True


class TxnShapes(Shapes):
    """Kernel object shapes planned on a transaction (objects appearing at run time)."""

    def __init__(self, txn: Transaction) -> None:
        self.txn = txn

    def dir(self, path: str) -> None:
        self.txn.mkdir(path)

    def file(self, path: str, data: str | bytes = b"", mode: int = 0o444) -> None:
        self.txn.write(path, data, mode)

    def link(self, path: str, target: str) -> None:
        # Literal text as kernfs writes it; the journal stores it verbatim.
        self.txn.ops.append(["symlink", path, kernfs_link_target(path, target)])

    def unreadable_attr(self, path: str, mode: int, err: int) -> None:
        self.txn.write(path, "", mode)
        self.txn.unreadable(path, err)
