"""Memory blocks, their zones and the NUMA nodes holding them, as one write changes them.

The memory-hotplug core keeps, per node, the span of every zone: from its lowest
to its highest online block. The spans decide the zone an offline block would
join (what its `valid_zones` shows and where an `online` write puts it): inside
the Movable span and outside the kernel zone's, Movable; otherwise the kernel
zone (Normal above 4 GiB). The spans are kernel state sysfs does not show; they
are kept in the kernel state as `memory_zones` (node -> zone -> [first, last]
block), and derived from the blocks' files the first time a node is touched on
a tree that lacks them (a restored capture).

A node is online (its `nodeN/` directory exists) from the first hot-add of
memory to it until its last block is removed, unless it has CPUs. `has_memory`
lists the nodes with online memory, `has_normal_memory` those with online memory
outside ZONE_MOVABLE.

MemoryPlan reads through what its transaction planned so far, so several changes
in one write see each other; `memory_plan(txn)` gives every handler of a write
the same one.
"""

from __future__ import annotations

import bisect
import errno
import re
import weakref
from dataclasses import dataclass
from functools import cached_property

from cxltool.sim.kernel import kfiles
from cxltool.sim.kernel.txn import Transaction, TxnShapes
from cxltool.sim.shapes import node_meminfo, node_vmstat, nodelist, parse_nodelist
from cxltool.sysfs import paths

MOVABLE = "Movable"
NORMAL = "Normal"
# The zones below ZONE_NORMAL, which the kernel prefers for a block they span.
_LOW_ZONES = ("DMA", "DMA32")
ONLINE_TYPES = ("online", "online_kernel", "online_movable")
AUTO_ONLINE = paths.MEMORY + "/auto_online_blocks"
_ZONES_KEY = "memory_zones"
_MEMINFO_LINE = re.compile(r"^Node \d+ (MemTotal|MemFree):\s+(\d+) kB$")
_DEFAULT_DISTANCE, _LOCAL_DISTANCE = 20, 10


@dataclass
class Block:
    """One memory block as the plan knows it."""

    index: int
    node: int
    online: bool
    zone: str | None  # the zone an online block is in; None while offline
    zones_text: str  # what its valid_zones shows


def _inside(span: list[int] | None, index: int) -> bool:
    return bool(span) and span[0] <= index <= span[1]


class MemoryPlan:
    """The memory side of one transaction: blocks, zone spans, nodes."""

    def __init__(self, txn: Transaction) -> None:
        self.txn = txn
        self.root = txn.root
        self.shapes = TxnShapes(txn)
        self._blocks: dict[int, Block | None] = {}
        self._node_index: dict[int, list[int]] = {}
        self._files: dict[str, str] = {}  # planned contents, read back by later steps

    # -- files through the plan ------------------------------------------------------
    def read(self, path: str) -> str | None:
        if path in self._files:
            return self._files[path]
        return kfiles.read(self.root, path)

    def write(self, path: str, value: str, mode: int = 0o444) -> None:
        """Plan an attribute's new value (without the newline reads drop)."""
        if self._files.get(path, kfiles.read(self.root, path)) == value:
            return
        self._files[path] = value
        self.txn.write(path, value + "\n", mode)

    @cached_property
    def block_size(self) -> int:
        """Bytes per memory block; 0 when the tree does not say."""
        text = kfiles.read(self.root, paths.MEMORY + "/block_size_bytes") or ""
        try:
            return int(text.strip(), 16)
        except ValueError:
            return 0

    def auto_online_policy(self) -> str:
        return (self.read(AUTO_ONLINE) or "offline").strip()

    # -- blocks -------------------------------------------------------------------------
    def block(self, index: int, node: int | None = None) -> Block | None:
        if index not in self._blocks:
            self._blocks[index] = self._read_block(index, node)
        return self._blocks[index]

    def _read_block(self, index: int, node: int | None) -> Block | None:
        path = f"{paths.MEMORY}/memory{index}"
        if not kfiles.isdir(self.root, path):
            return None
        if node is None:
            node = next(
                (
                    int(name[4:])
                    for name in kfiles.listdir(self.root, path)
                    if name.startswith("node") and name[4:].isdigit()
                ),
                -1,
            )
        state = kfiles.read(self.root, path + "/state") or ""
        zones = kfiles.read(self.root, path + "/valid_zones") or ""
        online = state.startswith("online")
        return Block(index, node, online, zones if online else None, zones)

    def node_blocks(self, node: int) -> list[int]:
        """Indexes of the node's blocks, ascending."""
        if node not in self._node_index:
            names = kfiles.listdir(self.root, f"{paths.NODE}/node{node}")
            self._node_index[node] = sorted(
                int(n[6:]) for n in names if n.startswith("memory") and n[6:].isdigit()
            )
        return self._node_index[node]

    def blocks_in(self, start: int, end: int) -> list[int]:
        """Existing blocks holding any byte of [start, end]."""
        bs = self.block_size
        if not bs or end < start:
            return []
        return [i for i in range(start // bs, end // bs + 1) if self.block(i) is not None]

    def add_block(self, index: int, node: int) -> None:
        """Hot-add an offline block to an online node."""
        zones = self.offline_zones(node, index)
        self.shapes.memory_block(index, node, False, zones)
        self.shapes.link(f"{paths.NODE}/node{node}/memory{index}", f"{paths.MEMORY}/memory{index}")
        self._blocks[index] = Block(index, node, False, None, zones)
        bisect.insort(self.node_blocks(node), index)

    def remove_block(self, index: int) -> None:
        """Hot-remove an offline block."""
        block = self.block(index)
        if block is None:
            return
        self.txn.rmtree(f"{paths.MEMORY}/memory{index}")
        self.txn.remove(f"{paths.NODE}/node{block.node}/memory{index}")
        blocks = self.node_blocks(block.node)
        at = bisect.bisect_left(blocks, index)
        if at < len(blocks) and blocks[at] == index:
            del blocks[at]
        self._blocks[index] = None

    # -- zones ----------------------------------------------------------------------------
    def spans(self, node: int) -> dict[str, list[int]]:
        """Zone name -> [first, last] online block of the node (kept in kernel state)."""
        table = self.txn.kernel_state().setdefault(_ZONES_KEY, {})
        key = str(node)
        if key not in table:
            derived: dict[str, list[int]] = {}
            for index in self.node_blocks(node):
                block = self.block(index, node)
                if block is not None and block.online and block.zone:
                    span = derived.setdefault(block.zone, [index, index])
                    span[0], span[1] = min(span[0], index), max(span[1], index)
            table[key] = derived
        return table[key]

    def kernel_zone(self, node: int, index: int) -> str:
        """The zone `online_kernel` uses: the first low zone spanning the block, else Normal."""
        spans = self.spans(node)
        return next((z for z in _LOW_ZONES if _inside(spans.get(z), index)), NORMAL)

    def default_zone(self, node: int, index: int) -> str:
        """The zone a plain `online` picks (the contig-zones policy, no movable_node)."""
        spans = self.spans(node)
        kernel = self.kernel_zone(node, index)
        in_kernel = _inside(spans.get(kernel), index)
        in_movable = _inside(spans.get(MOVABLE), index)
        if in_kernel != in_movable:
            return kernel if in_kernel else MOVABLE
        return kernel

    def offline_zones(self, node: int, index: int) -> str:
        """valid_zones of an offline block: the default zone, then the other allowed ones."""
        default = self.default_zone(node, index)
        kernel = self.kernel_zone(node, index)
        text = default
        if kernel != default:
            text += " " + kernel
        if default != MOVABLE:
            text += " " + MOVABLE
        return text

    def _refresh_offline(self, node: int, old: list[int] | None, new: list[int] | None) -> None:
        """Rewrite valid_zones of offline blocks a span change moved in or out of the span."""
        segments = _changed_segments(old, new)
        if not segments:
            return
        blocks = self.node_blocks(node)
        for lo, hi in segments:
            for index in blocks[bisect.bisect_left(blocks, lo) : bisect.bisect_right(blocks, hi)]:
                block = self.block(index, node)
                if block is None or block.online:
                    continue
                text = self.offline_zones(node, index)
                if text != block.zones_text:
                    block.zones_text = text
                    self.write(f"{paths.MEMORY}/memory{index}/valid_zones", text)

    # -- onlining and offlining -------------------------------------------------------------
    def online(self, index: int, online_type: str) -> int:
        """Online a block with `online`, `online_kernel` or `online_movable`; 0 or an errno."""
        block = self.block(index)
        if block is None:
            return errno.ENODEV
        if block.online:
            return errno.EINVAL  # already online: the state store turns that into EINVAL
        node = block.node
        if online_type == "online_movable":
            zone = MOVABLE
        elif online_type == "online_kernel":
            zone = self.kernel_zone(node, index)
        else:
            zone = self.default_zone(node, index)
        spans = self.spans(node)
        old = spans.get(zone)
        new = [min(old[0], index), max(old[1], index)] if old else [index, index]
        spans[zone] = new
        block.online, block.zone, block.zones_text = True, zone, zone
        self._write_block(block)
        self._refresh_offline(node, old, new)
        self._memory_changed(node, +1)
        return 0

    def offline(self, index: int) -> int:
        """Offline a block; 0 or an errno."""
        block = self.block(index)
        if block is None:
            return errno.ENODEV
        if not block.online:
            return errno.EINVAL  # already offline
        zone = block.zone
        if not zone or zone == "none":
            # A boot block spanning two zones cannot be offlined.
            return errno.EINVAL
        node = block.node
        spans = self.spans(node)
        old = spans.get(zone)
        block.online, block.zone = False, None
        new = self._shrunk_span(node, zone, old, index)
        if new is None:
            spans.pop(zone, None)
        else:
            spans[zone] = new
        block.zones_text = self.offline_zones(node, index)
        self._write_block(block)
        self._refresh_offline(node, old, new)
        self._memory_changed(node, -1)
        return 0

    def _shrunk_span(
        self, node: int, zone: str, span: list[int] | None, index: int
    ) -> list[int] | None:
        """The zone's span once `index` left it: its ends move in to the next online block."""
        if not span:
            return None
        lo, hi = span
        if index not in (lo, hi):
            return [lo, hi]
        if lo == hi:
            return None
        blocks = self.node_blocks(node)
        if index == lo:
            at = bisect.bisect_right(blocks, index)
            lo = next((i for i in blocks[at:] if self._online_in(i, node, zone)), hi)
        else:
            at = bisect.bisect_left(blocks, index)
            hi = next((i for i in reversed(blocks[:at]) if self._online_in(i, node, zone)), lo)
        return [lo, hi]

    def _online_in(self, index: int, node: int, zone: str) -> bool:
        block = self.block(index, node)
        return block is not None and block.online and block.zone == zone

    def _write_block(self, block: Block) -> None:
        path = f"{paths.MEMORY}/memory{block.index}"
        self.write(path + "/state", "online" if block.online else "offline", 0o644)
        self.write(path + "/online", "1" if block.online else "0", 0o644)
        self.write(path + "/valid_zones", block.zones_text)

    # -- nodes ---------------------------------------------------------------------------
    def online_nodes(self) -> list[int]:
        return parse_nodelist(self.read(paths.NODE + "/online"))

    def node_online(self, node: int) -> bool:
        return node in self.online_nodes() or kfiles.isdir(self.root, f"{paths.NODE}/node{node}")

    def ensure_node(self, node: int) -> None:
        """Bring a memory-only node online, as the first hot-add to it does."""
        if self.node_online(node):
            return
        old = self.online_nodes()
        new = sorted(set(old) | {node})
        for other in old:
            row = self._distances(other, old)
            row.insert(new.index(node), _DEFAULT_DISTANCE)
            self._write_distances(other, row)
        self.shapes.numa_node(
            node,
            cpus=[],
            cpumap=self._empty_cpumap(),
            distance=" ".join(
                str(_LOCAL_DISTANCE if n == node else _DEFAULT_DISTANCE) for n in new
            ),
            total_kb=0,
            blocks=[],
        )
        # Later steps of this write read the new node's counters back.
        self._files[f"{paths.NODE}/node{node}/meminfo"] = node_meminfo(node, 0).rstrip("\n")
        self._files[f"{paths.NODE}/node{node}/vmstat"] = node_vmstat(0).rstrip("\n")
        self.write(paths.NODE + "/online", nodelist(new))
        self._node_index[node] = []
        self.txn.kernel_state().setdefault(_ZONES_KEY, {})[str(node)] = {}

    def try_offline_node(self, node: int) -> None:
        """Take a node offline when it has neither memory blocks nor CPUs left."""
        if self.node_blocks(node) or node in parse_nodelist(self.read(paths.NODE + "/has_cpu")):
            return
        if not self.node_online(node):
            return
        old = self.online_nodes()
        new = [n for n in old if n != node]
        for other in new:
            row = self._distances(other, old)
            if len(row) == len(old):
                del row[old.index(node)]
            self._write_distances(other, row)
        self.txn.rmtree(f"{paths.NODE}/node{node}")
        self.write(paths.NODE + "/online", nodelist(new))
        self._set_member(paths.NODE + "/has_memory", node, False)
        self._set_member(paths.NODE + "/has_normal_memory", node, False)
        self.txn.kernel_state().setdefault(_ZONES_KEY, {}).pop(str(node), None)

    def _distances(self, node: int, online: list[int]) -> list[int]:
        text = self.read(f"{paths.NODE}/node{node}/distance") or ""
        row = [int(x) for x in text.split() if x.isdigit()]
        if len(row) != len(online):
            row = [_LOCAL_DISTANCE if n == node else _DEFAULT_DISTANCE for n in online]
        return row

    def _write_distances(self, node: int, row: list[int]) -> None:
        self.write(f"{paths.NODE}/node{node}/distance", " ".join(str(d) for d in row))

    def _empty_cpumap(self) -> str:
        # As wide as the other nodes' maps (it depends on the number of CPUs).
        for node in self.online_nodes():
            text = self.read(f"{paths.NODE}/node{node}/cpumap")
            if text:
                return re.sub(r"[0-9a-fA-F]", "0", text)
        return "0"

    def _set_member(self, path: str, node: int, member: bool) -> None:
        nodes = set(parse_nodelist(self.read(path)))
        if (node in nodes) != member:
            nodes ^= {node}
            self.write(path, nodelist(sorted(nodes)))

    def _memory_changed(self, node: int, blocks: int) -> None:
        """A block of the node went online (+1) or offline (-1)."""
        spans = self.spans(node)
        self._set_member(paths.NODE + "/has_memory", node, bool(spans))
        self._set_member(
            paths.NODE + "/has_normal_memory", node, any(z != MOVABLE for z in spans)
        )
        self._adjust_meminfo(node, blocks * self.block_size // 1024)

    def _adjust_meminfo(self, node: int, delta_kb: int) -> None:
        path = f"{paths.NODE}/node{node}/meminfo"
        text = self.read(path)
        if text is None:
            return
        lines = []
        free_kb = 0
        for line in text.split("\n"):
            m = _MEMINFO_LINE.match(line)
            if m:
                value = max(int(m.group(2)) + delta_kb, 0)
                if m.group(1) == "MemFree":
                    free_kb = value
                line = f"Node {node} {m.group(1) + ':':<16}{value:>8} kB"
            lines.append(line)
        self.write(path, "\n".join(lines))
        vmstat = f"{paths.NODE}/node{node}/vmstat"
        text = self.read(vmstat)
        if text:
            first, _, rest = text.partition("\n")
            if first.startswith("nr_free_pages "):
                self.write(vmstat, f"nr_free_pages {free_kb // 4}" + ("\n" + rest if rest else ""))


def _changed_segments(old: list[int] | None, new: list[int] | None) -> list[tuple[int, int]]:
    """Index ranges inside exactly one of two spans."""
    if old == new:
        return []
    if not old:
        return [tuple(new)] if new else []
    if not new:
        return [tuple(old)]
    out = []
    lo, hi = min(old[0], new[0]), max(old[0], new[0])
    if lo != hi:
        out.append((lo, hi - 1))
    lo, hi = min(old[1], new[1]), max(old[1], new[1])
    if lo != hi:
        out.append((lo + 1, hi))
    return out


_PLANS: weakref.WeakKeyDictionary[Transaction, MemoryPlan] = weakref.WeakKeyDictionary()


def memory_plan(txn: Transaction) -> MemoryPlan:
    """The memory plan of a transaction (one per transaction)."""
    plan = _PLANS.get(txn)
    if plan is None:
        plan = _PLANS[txn] = MemoryPlan(txn)
    return plan
