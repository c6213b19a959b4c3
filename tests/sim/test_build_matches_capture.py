"""A built fixture is the boot state a real Linux 6.12 kernel showed in QEMU.

For each capture run (tests/data/captures/{a,b,c}-{debian,v81}) the matching built-in
fixture is built into a real directory and compared, path by path, with the
capture's `sysfs-before` state: the same paths, link targets, file modes and file
contents under the CXL, DAX and nd buses, the CXL root's platform device (root0,
its decoders, ports, endpoints, nvdimm-bridge0 and its ndbus), the memdev
directories, the top of /sys/devices/system/memory and /sys/devices/system/node.

What is not compared, and why (also listed in docs/compat.md, "Simulated trees"):
- the contents of node*/meminfo, numastat and vmstat: counters of the running guest;
- boot memory blocks, which the capture names but does not record
  (their names are checked against the capture's list instead).
"""

from __future__ import annotations

import os

import pytest

from cxltool.sim.build import build_tree
from cxltool.sim.topology import load_fixture
from cxltool.sysfs.paths import SYS
from tests.sim.capture_data import (
    C_V81_NUMBERING,
    load_capture,
    normalize_capture_entry,
    shallow_under,
    tree_entries,
    under,
)

RUNS = [
    ("a-debian", "qemu-a", None),
    ("a-v81", "qemu-a", None),
    ("b-debian", "qemu-b", None),
    ("b-v81", "qemu-b", None),
    ("c-debian", "qemu-c", None),
    ("c-v81", "qemu-c", C_V81_NUMBERING),
]

# Runtime counters of the guest: present with the same mode, contents not compared.
COUNTER_FILES = ("/meminfo", "/numastat", "/vmstat")

MEMORY = SYS + "/devices/system/memory"
NODE = SYS + "/devices/system/node"
CXL_ROOT_PLATFORM = SYS + "/devices/platform/ACPI0017:00"


@pytest.fixture(scope="module", params=RUNS, ids=[r[0] for r in RUNS])
def built(request, tmp_path_factory):
    run, fixture, changes = request.param
    topo = load_fixture(fixture)
    if changes:
        topo = topo.with_devices(changes)
    dest = str(tmp_path_factory.mktemp(run) / "root")
    build_tree(topo, dest)
    return run, dest, load_capture(run)


def _scope(capture: dict) -> tuple[list[str], list[str]]:
    entries = capture["entries"]
    memdevs = [
        e["resolved"] for p, e in entries.items() if p.startswith(SYS + "/bus/cxl/devices/mem")
    ]
    blocks = [f"{MEMORY}/{b}" for b in capture["meta"].get("memory_blocks_captured", [])]
    tops = [
        SYS + "/bus/cxl",
        SYS + "/bus/dax",
        SYS + "/bus/nd",
        CXL_ROOT_PLATFORM,
        NODE,
        *memdevs,
        *blocks,
    ]
    return tops, [MEMORY]


def _comparable(path: str, entry: dict | None) -> dict | None:
    if entry is not None and path.endswith(COUNTER_FILES):
        return dict(entry, content=None)
    return entry


def test_same_paths_links_modes_and_contents(built):
    run, dest, capture = built
    tops, shallow = _scope(capture)
    captured_blocks = set(capture["meta"].get("memory_blocks_captured", []))

    def in_scope(path: str) -> bool:
        if shallow_under(path, shallow) and path.startswith(MEMORY + "/memory"):
            return path.rsplit("/", 1)[1] in captured_blocks
        return under(path, tops) or shallow_under(path, shallow)

    want = {p: normalize_capture_entry(e) for p, e in capture["entries"].items() if in_scope(p)}
    got = {p: e for p, e in tree_entries(dest, tops, shallow).items() if in_scope(p)}
    assert len(want) > 300
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing, f"{run}: paths the kernel has that the build lacks: {missing[:20]}"
    assert not extra, f"{run}: paths the build has that the kernel lacks: {extra[:20]}"
    differ = [p for p in sorted(want) if _comparable(p, want[p]) != _comparable(p, got[p])]
    details = [f"{p}: kernel {want[p]!r:.120} built {got[p]!r:.120}" for p in differ[:10]]
    assert not differ, f"{run}: {len(differ)} entries differ:\n" + "\n".join(details)


def test_boot_memory_blocks_are_the_kernels(built):
    _run, dest, capture = built
    names = sorted(n for n in os.listdir(dest + MEMORY) if n.startswith("memory"))
    assert names == sorted(capture["meta"]["memory_blocks_all"])


def test_skeleton_files_equal_the_captured_ones(built):
    """The PCI and ACPI files written for the links to land on carry the kernel's values."""
    run, dest, capture = built
    entries = capture["entries"]
    tops = [SYS + "/devices/pci0000:0c", SYS + "/devices/LNXSYSTM:00", SYS + "/bus/acpi/devices"]
    got = tree_entries(dest, tops)
    got.pop(SYS + "/bus/acpi/devices")
    assert len(got) > 100
    extra = [p for p in got if p not in entries]
    assert not extra, f"{run}: skeleton paths the kernel does not have: {extra[:10]}"
    differ = [p for p in got if normalize_capture_entry(entries[p]) != got[p]]
    assert not differ, f"{run}: skeleton entries differ from the kernel's: {differ[:10]}"


def test_every_link_resolves_inside_the_tree(built):
    _run, dest, _capture = built
    dangling = []
    for dirpath, dirnames, filenames in os.walk(dest + SYS):
        for name in dirnames + filenames:
            host = os.path.join(dirpath, name)
            if os.path.islink(host):
                real = os.path.realpath(host)
                if not os.path.exists(real) or not real.startswith(dest + "/"):
                    dangling.append(host[len(dest) :])
    assert not dangling, dangling[:10]
