"""The tree as a store function sees it while it works: on disk, plus what it planned.

A handler reads attributes, decides, and plans changes on a Transaction; later
steps of the same write must see the earlier ones (a decoder committed for the
first target is already committed for the second). KernelTree keeps that
overlay: every planned file, directory, link and removal, consulted before the
disk. Reads here are the kernel's own, so they ignore the permission checks a
simulated root applies to userspace (0400 `start`, 0200 `commit` are readable).
"""

from __future__ import annotations

import errno
import os

from cxltool.sim.kernel.txn import Transaction, TxnShapes
from cxltool.sim.shapes import kernfs_link_target
from cxltool.sysfs import SysfsError

_FILE, _DIR, _LINK = "file", "dir", "link"


class KernelTree:
    """Reads through planned changes; plans writes, links, directories, removals."""

    def __init__(self, txn: Transaction) -> None:
        self.txn = txn
        self.root = txn.root
        self._kind: dict[str, str | None] = {}  # planned entries; None = removed
        self._content: dict[str, str] = {}
        self._link: dict[str, str] = {}  # planned link -> absolute kernel target
        self._removed: list[str] = []  # removed trees
        self.shapes = _PlannedShapes(self)

    # -- what is there ---------------------------------------------------------
    def _planned(self, path: str) -> tuple[bool, str | None]:
        """(known, kind) from the plan: known is False when the disk decides."""
        if path in self._kind:
            return True, self._kind[path]
        for top in self._removed:
            if path == top or path.startswith(top + "/"):
                return True, None
        return False, None

    def kind(self, path: str) -> str | None:
        known, kind = self._planned(path)
        if known:
            return kind
        host = self.root.host(path)
        if os.path.islink(host):
            return _LINK
        if os.path.isdir(host):
            return _DIR
        if os.path.exists(host):
            return _FILE
        return None

    def exists(self, path: str) -> bool:
        return self.kind(path) is not None

    def isdir(self, path: str) -> bool:
        return self.kind(path) == _DIR

    def read(self, path: str) -> str | None:
        """An attribute's text without its trailing newline; None if absent."""
        known, kind = self._planned(path)
        if known:
            if kind != _FILE:
                return None
            text = self._content.get(path, "")
        else:
            try:
                with open(self.root.host(path), encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                return None
        return text[:-1] if text.endswith("\n") else text

    def listdir(self, path: str) -> list[str]:
        """Names in a directory (sorted), with planned entries in or out."""
        names: set[str] = set()
        known, kind = self._planned(path)
        if not known or kind == _DIR:
            if not (known and path in self._kind):
                try:
                    names.update(os.listdir(self.root.host(path)))
                except OSError:
                    pass
        prefix = path.rstrip("/") + "/"
        for p, k in self._kind.items():
            if p.startswith(prefix) and "/" not in p[len(prefix) :]:
                if k is None:
                    names.discard(p[len(prefix) :])
                else:
                    names.add(p[len(prefix) :])
        return sorted(n for n in names if self.exists(prefix + n))

    def readlink_abs(self, path: str) -> str | None:
        """Where a link points, as an absolute kernel path (None if not a link)."""
        known, kind = self._planned(path)
        if known:
            return self._link.get(path) if kind == _LINK else None
        host = self.root.host(path)
        try:
            text = os.readlink(host)
        except OSError:
            return None
        return os.path.normpath(os.path.join(os.path.dirname(path), text))

    def realpath(self, path: str) -> str | None:
        """The device directory a path (through links) resolves to, or None."""
        parts = [p for p in path.split("/") if p]
        cur = ""
        for _ in range(64):
            if not parts:
                return cur or "/"
            nxt = cur + "/" + parts.pop(0)
            target = self.readlink_abs(nxt)
            if target is not None:
                parts = [p for p in target.split("/") if p] + parts
                cur = ""
                continue
            if not self.exists(nxt):
                return None
            cur = nxt
        return None

    def link_name(self, path: str) -> str | None:
        target = self.readlink_abs(path)
        return None if target is None else target.rsplit("/", 1)[-1]

    # -- planning --------------------------------------------------------------
    def _forget_below(self, path: str) -> None:
        prefix = path + "/"
        for p in [p for p in self._kind if p == path or p.startswith(prefix)]:
            del self._kind[p]
            self._content.pop(p, None)
            self._link.pop(p, None)

    def write(self, path: str, value: object, mode: int | None = None) -> None:
        """Set an attribute to the kernel's text of `value` (a newline is added)."""
        text = f"{value}\n"
        self.txn.write(path, text, mode)
        self._kind[path] = _FILE
        self._content[path] = text

    def set_file(self, path: str, text: str, mode: int) -> None:
        self.txn.write(path, text, mode)
        self._kind[path] = _FILE
        self._content[path] = text

    def mknod(self, path: str, major: int, minor: int) -> None:
        """A character device node under /dev."""
        self.txn.mknod(path, major, minor)
        self._kind[path] = _FILE
        self._content[path] = ""

    def mkdir(self, path: str) -> None:
        self.txn.mkdir(path)
        self._kind[path] = _DIR

    def link(self, path: str, target: str) -> None:
        """A link as kernfs makes it (relative text), to an absolute kernel path."""
        self.txn.ops.append(["symlink", path, kernfs_link_target(path, target)])
        self._kind[path] = _LINK
        self._link[path] = target

    def remove(self, path: str) -> None:
        self.txn.remove(path)
        self._forget_below(path)
        self._kind[path] = None

    def rmtree(self, path: str) -> None:
        self.txn.rmtree(path)
        self._forget_below(path)
        self._removed.append(path)

    def require(self, path: str) -> str:
        """An attribute the object must have; EIO when the tree lacks it."""
        text = self.read(path)
        if text is None:
            raise SysfsError(errno.EIO, path, "attribute missing from the simulated tree")
        return text


class _PlannedShapes(TxnShapes):
    """Object shapes planned on the transaction and recorded in the overlay."""

    def __init__(self, tree: KernelTree) -> None:
        super().__init__(tree.txn)
        self.tree = tree

    def dir(self, path: str) -> None:
        self.tree.mkdir(path)

    def file(self, path: str, data: str | bytes = b"", mode: int = 0o444) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        self.tree.set_file(path, text, mode)

    def link(self, path: str, target: str) -> None:
        self.tree.link(path, target)

    def unreadable_attr(self, path: str, mode: int, err: int) -> None:
        self.tree.set_file(path, "", mode)
        self.txn.unreadable(path, err)


def shared_tree(txn: Transaction) -> KernelTree:
    """One KernelTree per transaction, for code that plans several steps in turn.

    A driver-core teardown that takes several region members away in one write
    must let each step see the ones before it.
    """
    tree = txn.__dict__.get("_kernel_tree")
    if tree is None:
        tree = txn.__dict__["_kernel_tree"] = KernelTree(txn)
    return tree
