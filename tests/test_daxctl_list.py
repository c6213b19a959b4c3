"""`daxctl list`: filters, nesting, -M, -i, -u, errors, and the `cxl list -X` object.

Trees are real directories: restored captures, or small systems written here
file by file (a dax region, its devices with /dev nodes, memory blocks and
nodes), laid out as the kernel lays them out.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from cxltool.cli import jsonc
from cxltool.cli.daxctl_list import COMMAND
from cxltool.ops import dax_list
from cxltool.sim.capture import load_capture, restore
from cxltool.sim.devnodes import add_char_device
from cxltool.sysfs import open_root
from tests.realtools import run_real, unavailable_reason
from tests.transcripts import RUNS, capture_file, list_steps, run_cxltool

MiB = 1 << 20
REGION = "/sys/devices/platform/ACPI0017:00/root0/decoder0.0/region0"
DAX_REGION = REGION + "/dax_region0"
REGION_PATH_JSON = r'"path":"\/platform\/ACPI0017:00\/root0\/decoder0.0\/region0\/dax_region0"'
BLOCK = 128 * MiB
BASE = 0x490000000


class Tree:
    """Writes a system's files under a directory, kernel paths in, links relative."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._minor = 0

    def file(self, path: str, content: str, mode: int = 0o444) -> None:
        host = self.base + path
        os.makedirs(os.path.dirname(host), exist_ok=True)
        with open(host, "w") as f:
            f.write(content)
        os.chmod(host, mode)

    def dir(self, path: str) -> None:
        os.makedirs(self.base + path, exist_ok=True)

    def link(self, path: str, target: str) -> None:
        host = self.base + path
        os.makedirs(os.path.dirname(host), exist_ok=True)
        self.dir(target)
        os.symlink(os.path.relpath(self.base + target, os.path.dirname(host)), host)

    def region(
        self, path: str = DAX_REGION, rid: int = 0, size: int = 1024 * MiB, available: int = 0
    ) -> None:
        attrs = path + "/dax_region"
        self.file(attrs + "/id", f"{rid}\n")
        self.file(attrs + "/size", f"{size}\n")
        self.file(attrs + "/align", "2097152\n", 0o400)
        self.file(attrs + "/available_size", f"{available}\n")
        self.file(attrs + "/seed", "\n")

    def device(
        self,
        name: str,
        ranges: list[tuple[int, int]],
        *,
        region: str = DAX_REGION,
        driver: str | None = "device_dax",
        target_node: int = 1,
    ) -> str:
        path = f"{region}/{name}"
        size = sum(n for _, n in ranges)
        self.file(path + "/size", f"{size}\n", 0o644)
        self.file(path + "/align", "2097152\n", 0o644)
        self.file(path + "/target_node", f"{target_node}\n")
        self.file(path + "/resource", f"{ranges[0][0] if ranges else 0:#x}\n", 0o400)
        self.file(path + "/dev", f"252:{self._minor}\n")
        self._minor += 1
        offset = 0
        for i, (start, length) in enumerate(ranges):
            m = f"{path}/mapping{i}"
            self.file(m + "/start", f"{start:#x}\n", 0o400)
            self.file(m + "/end", f"{start + length - 1:#x}\n", 0o400)
            self.file(m + "/page_offset", f"{offset >> 12:#x}\n", 0o400)
            offset += length
        self.link(path + "/subsystem", "/sys/bus/dax")
        if driver:
            self.link(path + "/driver", f"/sys/bus/dax/drivers/{driver}")
        self.link(f"/sys/bus/dax/devices/{name}", path)
        add_char_device(self.base, path, f"/dev/{name}")
        return path

    def memory(self, node: int, start: int, count: int, states: list[tuple[str, str]]) -> None:
        """count blocks from address start on node; states: (state, valid_zones) each."""
        self.file("/sys/devices/system/memory/block_size_bytes", f"{BLOCK:x}\n")
        for i in range(count):
            k = start // BLOCK + i
            state, zones = states[i % len(states)]
            block = f"/sys/devices/system/memory/memory{k}"
            self.file(block + "/phys_index", f"{k:08x}\n")
            self.file(block + "/state", f"{state}\n", 0o644)
            self.file(block + "/valid_zones", f"{zones}\n")
            self.link(f"/sys/devices/system/node/node{node}/memory{k}", block)


def daxctl(base: str, *args: str) -> tuple[int, str, str]:
    return run_cxltool(base, ["daxctl", "list", *args])


def listed(base: str, *args: str):
    rc, out, err = daxctl(base, *args)
    assert (rc, err) == (0, "")
    return json.loads(out) if out else None


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    """Trees restored from captures, by (run, label), each made once."""
    made: dict[tuple[str, str], str] = {}

    def get(run: str, label: str) -> str:
        if (run, label) not in made:
            dest = tmp_path_factory.mktemp(label)
            restore(load_capture(capture_file(run, label)), str(dest))
            made[(run, label)] = str(dest)
        return made[(run, label)]

    return get


@pytest.fixture
def recreated(captured):
    """a-debian after destroy/create: dax0.1 and dax0.2 (128M each), dax0.0 empty."""
    return captured("a-debian", "ram-recreated")


@pytest.fixture
def two_mappings(tmp_path):
    """devdax dax0.0 with two ranges, dax0.1 in system-ram with 4 online movable blocks."""
    t = Tree(str(tmp_path))
    t.region(available=256 * MiB)
    t.device("dax0.0", [(BASE, 256 * MiB), (BASE + 512 * MiB, 256 * MiB)])
    t.device("dax0.1", [(BASE + 1024 * MiB, 4 * BLOCK)], driver="kmem")
    t.memory(1, BASE + 1024 * MiB, 4, [("online", "Movable")])
    return str(tmp_path)


def system_ram_tree(base: str, states: list[tuple[str, str]], count: int = 4) -> str:
    t = Tree(base)
    t.region()
    t.device("dax0.0", [(BASE, count * BLOCK)], driver="kmem")
    t.memory(1, BASE, count, states)
    return base


# -- which objects, and how they nest -------------------------------------------------
def test_default_lists_devices_with_a_size_flat(recreated):
    rc, out, err = daxctl(recreated)
    assert (rc, err) == (0, "")
    assert out == (
        "[\n"
        "  {\n"
        '    "chardev":"dax0.1",\n'
        '    "size":134217728,\n'
        '    "target_node":1,\n'
        '    "align":2097152,\n'
        '    "mode":"devdax"\n'
        "  },\n"
        "  {\n"
        '    "chardev":"dax0.2",\n'
        '    "size":134217728,\n'
        '    "target_node":1,\n'
        '    "align":2097152,\n'
        '    "mode":"devdax"\n'
        "  }\n"
        "]\n"
    )


def test_idle_includes_size_zero_devices(recreated):
    devs = listed(recreated, "-i")
    assert [d["chardev"] for d in devs] == ["dax0.1", "dax0.0", "dax0.2"]
    assert devs[1] == {
        "chardev": "dax0.0",
        "size": 0,
        "target_node": 1,
        "align": 2097152,
        "mode": "devdax",
        "state": "disabled",
    }


def test_region_filter_alone_lists_regions_without_devices(recreated):
    rc, out, err = daxctl(recreated, "-r", "0")
    assert (rc, err) == (0, "")
    assert out == (
        "[\n  {\n    " + REGION_PATH_JSON + ",\n"
        '    "id":0,\n    "size":268435456,\n    "align":2097152\n  }\n]\n'
    )
    for ident in ("region0", "all", "0x", "region0abc"):
        assert daxctl(recreated, "-r", ident)[1] == out, ident


@pytest.mark.parametrize("ident", ["1", "region1", "regionX", "dax0", "-1"])
def test_region_filter_matching_nothing_prints_nothing(recreated, ident):
    assert daxctl(recreated, "-r", ident) == (0, "", "")
    assert daxctl(recreated, "-RD", "-r", ident) == (0, "", "")


def test_both_filters_nest_the_filtered_devices(recreated):
    regions = listed(recreated, "-r", "0", "-d", "0.2")
    assert [d["chardev"] for d in regions[0]["devices"]] == ["dax0.2"]


def test_regions_option_with_device_filter_does_not_nest(recreated):
    regions = listed(recreated, "-R", "-d", "0.2")
    assert "devices" not in regions[0]
    regions = listed(recreated, "-RD", "-d", "dax0.2")
    assert [d["chardev"] for d in regions[0]["devices"]] == ["dax0.2"]


@pytest.mark.parametrize(
    ("ident", "names"),
    [
        ("dax0.1", ["dax0.1"]),
        ("0.1", ["dax0.1"]),
        (" 0. 1", ["dax0.1"]),
        ("0.1x", ["dax0.1"]),
        ("all", ["dax0.1", "dax0.2"]),
        ("dax0.0", None),
        ("0.9", None),
        ("dax9.9", None),
        ("1.1", None),
        ("x", None),
    ],
)
def test_device_filter(recreated, ident, names):
    devs = listed(recreated, "-d", ident)
    assert (None if devs is None else [d["chardev"] for d in devs]) == names


def test_region_without_matching_devices_is_still_listed(recreated):
    regions = listed(recreated, "-RD", "-d", "dax0.7")
    assert [r["id"] for r in regions] == [0]
    assert "devices" not in regions[0]


def test_available_size_only_when_nonzero(recreated, captured):
    assert "available_size" not in listed(recreated, "-R")[0]
    destroyed = captured("a-debian", "ram-destroyed")
    assert listed(destroyed, "-R")[0]["available_size"] == 268435456


def test_nothing_at_all_without_dax_devices(captured):
    before = captured("a-debian", "before")
    for args in ([], ["-RDMi"], ["-u"], ["-Ru"], ["-r", "all"]):
        assert daxctl(before, *args) == (0, "", ""), args


# -- -u --------------------------------------------------------------------------------
def test_human_unwraps_a_single_result(recreated):
    rc, out, _ = daxctl(recreated, "-u", "-d", "dax0.2")
    assert out == (
        "{\n"
        '  "chardev":"dax0.2",\n'
        '  "size":"128.00 MiB (134.22 MB)",\n'
        '  "target_node":1,\n'
        '  "align":2097152,\n'
        '  "mode":"devdax"\n'
        "}\n"
    )


def test_human_keeps_an_array_of_several(recreated):
    assert [d["size"] for d in listed(recreated, "-u")] == ["128.00 MiB (134.22 MB)"] * 2


def test_region_align_is_never_human(recreated):
    region = listed(recreated, "-Ru")
    assert (region["size"], region["align"]) == ("256.00 MiB (268.44 MB)", 2097152)


# -- -M --------------------------------------------------------------------------------
def test_mappings_last_first(two_mappings):
    dev = listed(two_mappings, "-M", "-d", "dax0.0")[0]
    assert dev["mappings"] == [
        {
            "page_offset": 0x10000,
            "start": BASE + 512 * MiB,
            "end": BASE + 768 * MiB - 1,
            "size": 256 * MiB,
        },
        {"page_offset": 0, "start": BASE, "end": BASE + 256 * MiB - 1, "size": 256 * MiB},
    ]


def test_mappings_human_are_hex_strings_with_bare_zero(two_mappings):
    rc, out, _ = daxctl(two_mappings, "-Mu", "-d", "0.0")
    assert out.endswith(
        '  "mappings":[\n'
        "    {\n"
        '      "page_offset":"0x10000",\n'
        '      "start":"0x4b0000000",\n'
        '      "end":"0x4bfffffff",\n'
        '      "size":"256.00 MiB (268.44 MB)"\n'
        "    },\n"
        "    {\n"
        '      "page_offset":"0",\n'
        '      "start":"0x490000000",\n'
        '      "end":"0x49fffffff",\n'
        '      "size":"256.00 MiB (268.44 MB)"\n'
        "    }\n"
        "  ]\n"
        "}\n"
    )


def test_mappings_come_after_memory_keys(two_mappings):
    dev = listed(two_mappings, "-M", "-d", "dax0.1")[0]
    assert list(dev) == [
        "chardev",
        "size",
        "target_node",
        "align",
        "mode",
        "online_memblocks",
        "total_memblocks",
        "movable",
        "mappings",
    ]


def test_no_mappings_key_without_mappings(recreated):
    dev = listed(recreated, "-Mi", "-d", "dax0.0")[0]
    assert "mappings" not in dev


# -- modes and memory blocks ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([("online", "Movable")], (4, 4, True)),
        ([("online", "Normal")], (4, 4, False)),
        ([("online", "Movable"), ("online", "Normal")], (4, 4, False)),
        ([("online", "none")], (4, 4, False)),
        ([("offline", "Normal Movable")], (0, 4, None)),
        ([("online", "Movable"), ("offline", "Movable Normal")], (2, 4, None)),
        ([("going-offline", "Movable")], (0, 4, None)),
    ],
)
def test_system_ram_block_counts(tmp_path, states, expected):
    base = system_ram_tree(str(tmp_path), states)
    dev = listed(base)[0]
    assert dev["mode"] == "system-ram"
    movable = dev.get("movable")
    assert (dev["online_memblocks"], dev["total_memblocks"], movable) == expected


def test_only_blocks_in_the_device_range_count(tmp_path):
    t = Tree(str(tmp_path))
    t.region()
    t.device("dax0.0", [(BASE + 2 * BLOCK, 2 * BLOCK)], driver="kmem")
    # Blocks before and after the device, on the same node, are someone else's.
    t.memory(
        1,
        BASE,
        6,
        [
            ("online", "Normal"),
            ("online", "Normal"),
            ("online", "Movable"),
            ("online", "Movable"),
            ("offline", "Normal"),
            ("offline", "Normal"),
        ],
    )
    dev = listed(str(tmp_path))[0]
    assert (dev["online_memblocks"], dev["total_memblocks"], dev["movable"]) == (2, 2, True)


def test_modes_by_driver(tmp_path):
    t = Tree(str(tmp_path))
    t.region()
    t.device("dax0.0", [(BASE, BLOCK)], driver="device_dax")
    t.device("dax0.1", [(BASE + BLOCK, BLOCK)], driver="fsdev_dax")
    t.device("dax0.2", [(BASE + 2 * BLOCK, BLOCK)], driver=None)
    t.device("dax0.3", [(BASE + 3 * BLOCK, BLOCK)], driver="kmem")
    t.memory(1, BASE + 3 * BLOCK, 1, [("online", "Movable")])
    devs = {d["chardev"]: d for d in listed(str(tmp_path))}
    assert devs["dax0.0"]["mode"] == "devdax"
    assert devs["dax0.1"]["mode"] == "famfs"
    assert (devs["dax0.2"]["mode"], devs["dax0.2"]["state"]) == ("devdax", "disabled")
    assert devs["dax0.3"]["mode"] == "system-ram"
    assert [k for k in devs["dax0.1"] if k in ("state", "online_memblocks")] == []


def test_system_ram_without_resource_has_no_block_counts(tmp_path):
    base = system_ram_tree(str(tmp_path), [("online", "Movable")])
    os.unlink(base + DAX_REGION + "/dax0.0/resource")
    # The fallback, /proc/iomem, is not part of this tree.
    dev = listed(base)[0]
    assert dev["mode"] == "system-ram" and "total_memblocks" not in dev


def test_unreadable_node_gives_negative_errno_counts(tmp_path):
    base = system_ram_tree(str(tmp_path), [("online", "Movable")])
    os.rename(base + "/sys/devices/system/node/node1", base + "/sys/devices/system/node/gone")
    rc, out, err = daxctl(base)
    assert (rc, err) == (0, "")
    dev = json.loads(out)[0]
    assert (dev["online_memblocks"], dev["total_memblocks"], "movable" in dev) == (-2, -2, False)


def test_unreadable_phys_index_is_reported_per_walk(tmp_path):
    base = system_ram_tree(str(tmp_path), [("online", "Movable")], count=1)
    os.unlink(base + "/sys/devices/system/memory/memory146/phys_index")
    rc, out, err = daxctl(base)
    line = (
        "libdaxctl: memblock_in_dev: dax0.0: memory146: "
        "Unable to determine phys_index: No such file or directory\n"
    )
    assert (rc, err) == (0, line * 3)
    dev = json.loads(out)[0]
    assert (dev["online_memblocks"], dev["total_memblocks"], "movable" in dev) == (-2, -2, False)


def test_unreadable_state_fails_the_online_count_only(tmp_path):
    base = system_ram_tree(str(tmp_path), [("online", "Movable")], count=1)
    os.unlink(base + "/sys/devices/system/memory/memory146/state")
    rc, out, err = daxctl(base)
    line = (
        "libdaxctl: memblock_is_online: dax0.0: Failed to read "
        "/sys/devices/system/node/node1/memory146/state: No such file or directory\n"
    )
    assert (rc, err) == (0, line * 2)
    dev = json.loads(out)[0]
    assert (dev["online_memblocks"], dev["total_memblocks"], "movable" in dev) == (-2, 1, False)


def test_unknown_block_size(tmp_path):
    base = system_ram_tree(str(tmp_path), [("online", "Movable")], count=1)
    os.unlink(base + "/sys/devices/system/memory/block_size_bytes")
    rc, out, err = daxctl(base)
    line = "libdaxctl: memblock_in_dev: dax0.0: Unable to determine memory block size\n"
    assert (rc, err) == (0, line * 3)
    dev = json.loads(out)[0]
    assert (dev["online_memblocks"], dev["total_memblocks"]) == (-6, -6)


def test_device_without_dev_node_is_skipped_with_a_message(recreated, tmp_path):
    base = system_ram_tree(str(tmp_path), [("online", "Movable")], count=1)
    os.unlink(base + "/dev/dax0.0")
    rc, out, err = daxctl(base, "-RDi")
    assert (rc, err) == (0, "libdaxctl: __sysfs_device_parse: dax0.0: add_dev() failed\n")
    assert "devices" not in json.loads(out)[0]


def test_class_model_device_counts_as_enabled(tmp_path):
    t = Tree(str(tmp_path))
    region = "/sys/devices/platform/hmem.0"
    t.region(path=region)
    path = t.device("dax0.0", [(BASE, BLOCK)], region=region + "/dax", driver=None)
    # The class model: no dax bus, the device is in the region's dax/ directory.
    os.unlink(t.base + "/sys/bus/dax/devices/dax0.0")
    os.unlink(t.base + path + "/subsystem")
    t.link(path + "/subsystem", "/sys/class/dax")
    t.link("/sys/class/dax/dax0.0", path)
    regions = listed(str(tmp_path), "-RD")
    assert regions[0]["path"] == "/platform/hmem.0"
    assert regions[0]["devices"][0]["mode"] == "devdax"
    assert "state" not in regions[0]["devices"][0]


def test_as_a_user_root_only_attributes_are_missing(captured, monkeypatch):
    # Region align, dax resource and mappings are 0400: a user's daxctl lists
    # without them, and without block counts (the resource is unknown).
    tree = captured("a-debian", "ram-sysram-online")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    rc, out, err = daxctl(tree, "-RDM")
    assert (rc, err) == (0, "")
    region = json.loads(out)[0]
    assert "align" not in region
    assert region["devices"] == [
        {
            "chardev": "dax0.0",
            "size": 268435456,
            "target_node": 1,
            "align": 2097152,
            "mode": "system-ram",
        }
    ]


# -- reading ------------------------------------------------------------------------------
def test_each_attribute_is_read_once(two_mappings, monkeypatch):
    from cxltool.sysfs.root import Root

    counts: dict[str, int] = {}
    real_read = Root.read

    def counting(self, path):
        counts[path] = counts.get(path, 0) + 1
        return real_read(self, path)

    monkeypatch.setattr(Root, "read", counting)
    result = dax_list.list_dax(
        open_root(two_mappings),
        dax_list.ListOptions(regions=True, devices=True, mappings=True, idle=True),
    )
    assert result.items and counts
    assert max(counts.values()) == 1, {p: n for p, n in counts.items() if n > 1}


def test_thousands_of_blocks_and_devices(tmp_path):
    t = Tree(str(tmp_path))
    devices = 128
    t.region(size=devices * 32 * BLOCK)
    for i in range(devices):
        t.device(f"dax0.{i}", [(BASE + i * 32 * BLOCK, 32 * BLOCK)], driver="kmem")
    t.memory(1, BASE, devices * 32, [("online", "Movable")])
    started = time.perf_counter()
    devs = listed(str(tmp_path))
    elapsed = time.perf_counter() - started
    assert len(devs) == devices
    assert {(d["online_memblocks"], d["total_memblocks"], d["movable"]) for d in devs} == {
        (32, 32, True)
    }
    # A walk of the node per device and question (daxctl's way) would read
    # the 4096 blocks' files 3 * 128 times.
    assert elapsed < 10


# -- options ----------------------------------------------------------------------------
USAGE = (
    "\n usage: daxctl list [<options>]\n\n"
    "    -r, --region <region-id>\n"
    "                          filter by region\n"
    "    -d, --dev <dev-id>    filter by dax device instance name\n"
    "    -D, --devices         include dax device info\n"
    "    -R, --regions         include dax region info\n"
    "    -M, --mappings        include dax mappings info\n"
    "    -i, --idle            include idle devices\n"
    "    -u, --human           use human friendly number formats \n"
    "\n"
)


def test_usage_text_is_daxctls():
    assert COMMAND.full_usage() == USAGE


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (["-h"], USAGE),
        (["--help-all"], USAGE),
        (["-Z"], "  Error: unknown switch `Z'\n" + USAGE),
        (["--bogus"], "  Error: unknown option `bogus'\n" + USAGE),
        (
            ["foo", "bar"],
            '  Error: unknown parameter "foo"\n\n  Error: unknown parameter "bar"\n\n' + USAGE,
        ),
        (["-u", "x"], '  Error: unknown parameter "x"\n\n' + USAGE),
        (
            ["-r"],
            "  Error: switch `r' requires a value\n\n usage: daxctl list [<options>]\n\n"
            "    -r, --region <region-id>\n                          filter by region\n",
        ),
        (
            ["--dev"],
            "  Error: option `dev' requires a value\n\n usage: daxctl list [<options>]\n\n"
            "    -d, --dev <dev-id>    filter by dax device instance name\n",
        ),
        (["-idle"], "  Error: did you mean `--idle` (with two dashes ?)\n"),
    ],
)
def test_usage_errors(recreated, args, stderr):
    assert daxctl(recreated, *args) == (129, "", stderr)


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ["--idle=3"],
            "  Error: option `idle' takes no value\n\n usage: daxctl list [<options>]\n"
            "\n    -i, --idle            include idle devices\n",
        ),
        (
            ["--regions=x"],
            "  Error: option `regions' takes no value\n\n usage: daxctl list "
            "[<options>]\n\n    -r, --region <region-id>\n"
            "                          filter by region\n",
        ),
        (
            ["--reg", "0"],
            "  Error: Ambiguous option: reg (could be --region or --regions)\n\n"
            " usage: daxctl list [<options>]\n\n",
        ),
    ],
)
def test_usage_errors_with_one_option_usage(recreated, args, stderr):
    assert daxctl(recreated, *args) == (129, "", stderr)


def test_list_opts(recreated):
    assert daxctl(recreated, "--list-opts") == (
        130,
        "--region --dev --devices --regions --mappings --idle --human ",
        "",
    )


def test_long_prefixes_and_negation(recreated):
    assert daxctl(recreated, "--reg=0")[0] == 129
    assert (
        daxctl(recreated, "--regions", "--dev", "0.1", "--dev", "0.2")[1]
        == daxctl(recreated, "-R")[1]
    )
    assert daxctl(recreated, "--hum", "--no-human", "--idl")[1] == daxctl(recreated, "-i")[1]


# -- cxl list -X ----------------------------------------------------------------------------
def _x_steps():
    for run in RUNS:
        for step, label in list_steps(run, "cxl"):
            if step.argv[2:4] == ("-R", "-X") and step.rc == 0 and step.stdout:
                yield step, label


X_STEPS = list(_x_steps())


@pytest.mark.parametrize("item", X_STEPS, ids=[f"{s.run}:{s.index}:{lbl}" for s, lbl in X_STEPS])
def test_region_json_is_cxl_lists_daxregion(item, captured):
    step, label = item
    root = open_root(captured(step.run, label))
    recorded = json.loads(step.stdout)
    for region in recorded if isinstance(recorded, list) else [recorded]:
        path = root.realpath("/sys/bus/cxl/devices/" + region["region"])
        mine = dax_list.region_json(root, path, human=True)
        assert mine == region.get("daxregion")
        if mine is not None:
            assert jsonc.dumps(mine) == jsonc.dumps(region["daxregion"])


def test_region_json_idle_devices_only_with_idle(recreated):
    root = open_root(recreated)
    plain = dax_list.region_json(root, REGION, human=False)
    assert [d["chardev"] for d in plain["devices"]] == ["dax0.1", "dax0.2"]
    assert "path" not in plain
    idle = dax_list.region_json(root, REGION, human=False, idle=True)
    assert [d["chardev"] for d in idle["devices"]] == ["dax0.1", "dax0.0", "dax0.2"]


def test_region_json_without_dax_region(captured):
    root = open_root(captured("a-debian", "ram-region-destroyed"))
    assert dax_list.region_json(root, REGION, human=True) is None


def test_region_json_without_enabled_devices_has_no_devices_key(tmp_path):
    t = Tree(str(tmp_path))
    t.region(available=1024 * MiB)
    t.device("dax0.0", [], driver=None)
    root = open_root(str(tmp_path))
    assert dax_list.region_json(root, REGION, human=False) == {
        "id": 0,
        "size": 1024 * MiB,
        "available_size": 1024 * MiB,
        "align": 2097152,
    }


# -- the real daxctl ------------------------------------------------------------------------
DIFF_COMMANDS = [
    [],
    ["-R"],
    ["-D"],
    ["-RD"],
    ["-RDM"],
    ["-RDMi"],
    ["-RDu"],
    ["-DMu"],
    ["-i"],
    ["-iu"],
    ["-r", "0"],
    ["-r", "0", "-d", "0.1"],
    ["-R", "-d", "0.1"],
    ["-d", "dax0.0"],
    ["-d", "9.9"],
    ["-r", "region0", "-u"],
    ["x"],
    ["-Z"],
    ["-r"],
]


def _synthetic_trees(base: str) -> list[str]:
    trees = []
    for name, states in [
        ("movable", [("online", "Movable")]),
        ("mixed", [("online", "Movable"), ("online", "Normal")]),
        ("partly-offline", [("online", "Normal"), ("offline", "Normal Movable")]),
    ]:
        trees.append(system_ram_tree(os.path.join(base, name), states))
    broken = system_ram_tree(os.path.join(base, "no-phys-index"), [("online", "Movable")], 2)
    os.unlink(broken + "/sys/devices/system/memory/memory147/phys_index")
    trees.append(broken)
    multi = os.path.join(base, "multi")
    t = Tree(multi)
    t.region(available=256 * MiB)
    t.device("dax0.0", [(BASE, 256 * MiB), (BASE + 512 * MiB, 256 * MiB)])
    t.device("dax0.1", [(BASE + 1024 * MiB, 4 * BLOCK)], driver="kmem")
    t.device("dax0.2", [], driver=None)
    t.memory(1, BASE + 1024 * MiB, 4, [("online", "Movable"), ("offline", "Movable")])
    trees.append(multi)
    return trees


@pytest.mark.ndctl
@pytest.mark.skipif(unavailable_reason("daxctl") is not None, reason="real daxctl unavailable")
def test_same_as_the_real_daxctl(tmp_path, captured):
    trees = _synthetic_trees(str(tmp_path))
    trees += [
        captured("a-debian", "ram-recreated"),
        captured("b-debian", "pmem-namespace-devdax"),
        captured("c-debian", "ram-sysram-online-movable"),
    ]
    mismatches = []
    for tree in trees:
        commands = [["daxctl", "list", *args] for args in DIFF_COMMANDS]
        for argv, real in zip(commands, run_real(tree, commands), strict=True):
            mine = run_cxltool(tree, argv)
            if mine != real:
                mismatches.append(f"{tree} {' '.join(argv)}:\n{real}\n{mine}")
    assert not mismatches, "\n".join(mismatches[:3]) + f"\n({len(mismatches)} differ)"
