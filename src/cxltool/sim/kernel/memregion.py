"""The kernel's `memregion` id pool, from which every region takes its number.

One pool for the whole system (hmem devices and some libnvdimm regions draw
from it too); ids are handed out lowest-free first. Each CXL root decoder holds
one id in reserve for its next region, which its `create_*_region` files show.

The pool is kept in `.cxltool/fixture.json` (`memregion.allocated`); a tree
without it (a restored capture) starts from what the tree itself shows: the
ids root decoders offer, the regions that exist and the hmem devices.
"""

from __future__ import annotations

import re

from cxltool.sim.kernel.ktree import KernelTree
from cxltool.sysfs import paths

_KEY = "memregion"
_NUMBERED = re.compile(r"^(region|hmem\.)(\d+)$")
_CREATE_FILES = ("create_ram_region", "create_pmem_region")


def _from_tree(kt: KernelTree) -> set[int]:
    ids: set[int] = set()
    for name in kt.listdir(paths.CXL_DEVICES):
        path = kt.realpath(f"{paths.CXL_DEVICES}/{name}")
        if path is None:
            continue
        if name.startswith("decoder"):
            for attr in _CREATE_FILES:
                text = kt.read(f"{path}/{attr}")
                if text and text.startswith("region") and text[6:].isdigit():
                    ids.add(int(text[6:]))
        m = _NUMBERED.match(name)
        if m and m.group(1) == "region":
            ids.add(int(m.group(2)))
    for name in kt.listdir(paths.SYS + "/bus/platform/devices"):
        m = _NUMBERED.match(name)
        if m and m.group(1) == "hmem.":
            ids.add(int(m.group(2)))
    return ids


class MemregionPool:
    """The allocated ids, read once per write and saved with the transaction."""

    def __init__(self, kt: KernelTree) -> None:
        self.kt = kt
        state = kt.txn.kernel_state()
        entry = state.get(_KEY)
        if isinstance(entry, dict) and isinstance(entry.get("allocated"), list):
            self.allocated = {int(i) for i in entry["allocated"]}
        else:
            self.allocated = _from_tree(kt)

    def _save(self) -> None:
        state = self.kt.txn.kernel_state()
        entry = dict(state.get(_KEY) or {})
        entry["allocated"] = sorted(self.allocated)
        entry["next"] = self.lowest_free()
        state[_KEY] = entry

    def lowest_free(self) -> int:
        n = 0
        while n in self.allocated:
            n += 1
        return n

    def alloc(self) -> int:
        n = self.lowest_free()
        self.allocated.add(n)
        self._save()
        return n

    def free(self, n: int) -> None:
        self.allocated.discard(n)
        self._save()
