"""Fixtures as QEMU options (sim/qemu_args.py, `cxltool sim qemu-args`).

The oracle is the command lines that produced the captures in tests/data/captures:
what follows their second virtio-9p-pci device is the topology, and the options for
the matching fixture must equal it, except for the names of root and switch ports
and their chassis/slot numbers, which the three runs chose inconsistently.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from cxltool.cli.main import cli
from cxltool.sim.qemu_args import (
    QEMU_FIRST_WINDOW_BASE,
    QemuUnsupported,
    qemu_topology,
    qemu_window_bases,
)
from cxltool.sim.topology import builtin_fixtures, load_fixture
from tests.sim.capture_data import CAPTURES

RUNS = {
    "a-debian": "qemu-a",
    "a-v81": "qemu-a",
    "b-debian": "qemu-b",
    "b-v81": "qemu-b",
    "c-debian": "qemu-c",
    "c-v81": "qemu-c",
}
EXPRESSIBLE = [
    "1hb1rp1mem",
    "1hb2rp2mem",
    "1hb2rp4mem-switch",
    "qemu-2hb",
    "qemu-a",
    "qemu-b",
    "qemu-c",
    "scale",
]
# Port devices whose ids and slots are ours to choose.
PORT_DRIVERS = ("cxl-rp", "cxl-upstream", "cxl-downstream")


def captured_topology(run: str) -> list[str]:
    with open(os.path.join(CAPTURES, run, "qemu-cmdline.txt"), encoding="utf-8") as f:
        words = shlex.split(f.read())
    nine_p = [
        i
        for i, w in enumerate(words)
        if w.startswith("virtio-9p-pci") and words[i - 1] == "-device"
    ]
    assert len(nine_p) == 2
    return words[nine_p[1] + 1 :]


def parsed(args: list[str]) -> list[tuple[str, str | None, dict[str, str]]]:
    """Options as (option, driver, properties), port ids renamed in order of definition."""
    assert len(args) % 2 == 0
    out = []
    renamed: dict[str, str] = {}
    for option, value in zip(args[::2], args[1::2], strict=True):
        items = value.split(",")
        driver = None if option == "-M" else items.pop(0)
        props = dict(item.split("=", 1) for item in items)
        assert len(props) == len(items), value  # no property given twice
        if driver in PORT_DRIVERS:
            renamed[props["id"]] = f"port#{len(renamed)}"
            props.pop("chassis", None)
            props.pop("slot", None)
        props = {k: renamed.get(v, v) if k in ("id", "bus") else v for k, v in props.items()}
        out.append((option, driver, props))
    return out


@pytest.mark.parametrize("run", sorted(RUNS))
def test_options_equal_the_captured_command_line(run):
    ours = qemu_topology(load_fixture(RUNS[run]), "$VMDIR/backing").args
    assert parsed(ours) == parsed(captured_topology(run))


def test_qemu_b_options_exactly():
    q = qemu_topology(load_fixture("qemu-b"))
    assert q.args == [
        "-object", "memory-backend-ram,id=vmem0,share=on,size=256M",
        "-object", "memory-backend-file,id=pmem1,share=on,mem-path=backing/pmem1.raw,size=256M",
        "-object", "memory-backend-file,id=lsa1,share=on,mem-path=backing/lsa1.raw,size=256M",
        "-device", "pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1",
        "-device", "cxl-rp,port=0,bus=cxl.1,id=root_port0,chassis=0,slot=0",
        "-device", "cxl-rp,port=1,bus=cxl.1,id=root_port1,chassis=0,slot=1",
        "-device", "cxl-type3,bus=root_port0,volatile-memdev=vmem0,id=cxl-vmem0,sn=0x1",
        "-device", "cxl-type3,bus=root_port1,persistent-memdev=pmem1,lsa=lsa1,id=cxl-pmem1,sn=0x2",
        "-M", "cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G",
    ]  # fmt: skip
    assert q.backing_files == {"backing/pmem1.raw": 256 << 20, "backing/lsa1.raw": 256 << 20}
    assert q.ignored == []


def test_switch_ports_and_backing_files_of_qemu_c():
    q = qemu_topology(load_fixture("qemu-c"), "/srv/vm")
    devices = [v for o, v in zip(q.args[::2], q.args[1::2], strict=True) if o == "-device"]
    assert devices[1:8] == [
        "cxl-rp,port=0,bus=cxl.1,id=root_port0,chassis=0,slot=0",
        "cxl-rp,port=1,bus=cxl.1,id=root_port1,chassis=0,slot=1",
        "cxl-upstream,bus=root_port0,id=us0",
        "cxl-downstream,port=0,bus=us0,id=swport0,chassis=0,slot=2",
        "cxl-downstream,port=1,bus=us0,id=swport1,chassis=0,slot=3",
        "cxl-downstream,port=2,bus=us0,id=swport2,chassis=0,slot=4",
        "cxl-downstream,port=3,bus=us0,id=swport3,chassis=0,slot=5",
    ]
    assert q.backing_files == {
        "/srv/vm/pmem2.raw": 256 << 20,
        "/srv/vm/lsa2.raw": 256 << 20,
        "/srv/vm/pmem3.raw": 256 << 20,
        "/srv/vm/lsa3.raw": 256 << 20,
    }
    assert q.args[-2:] == [
        "-M",
        "cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G,cxl-fmw.0.interleave-granularity=4k",
    ]
    # The fixture pins c-debian's memdev numbering, which QEMU cannot.
    assert q.ignored == [
        "host_bridges[0].root_ports[0].switch.ports[0].device: memdev 1, probe_order 1: the "
        "guest numbers memdevs in its (asynchronous) probe order, which QEMU cannot pin",
        "host_bridges[0].root_ports[0].switch.ports[1].device: memdev 0, probe_order 0: the "
        "guest numbers memdevs in its (asynchronous) probe order, which QEMU cannot pin",
    ]


@pytest.mark.parametrize("name", EXPRESSIBLE)
def test_chassis_slot_pairs_and_ids_are_unique(name):
    args = qemu_topology(load_fixture(name)).args
    ids, slots = [], []
    for value in args[1::2]:
        props = dict(item.split("=", 1) for item in value.split(",") if "=" in item)
        if "id" in props:
            ids.append(props["id"])
        if "slot" in props:
            slots.append((props["chassis"], props["slot"]))
    assert len(ids) == len(set(ids))
    assert len(slots) == len(set(slots))


def test_every_builtin_fixture_is_classified():
    expressible = []
    for name, _ in builtin_fixtures():
        try:
            qemu_topology(load_fixture(name))
            expressible.append(name)
        except QemuUnsupported:
            pass
    assert expressible == EXPRESSIBLE


def test_windows_across_host_bridges_and_their_bases():
    topo = load_fixture("scale", {"host_bridges": 3})
    q = qemu_topology(topo)
    assert q.args[-1] == (
        "cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=1G,"
        "cxl-fmw.1.targets.0=cxl.2,cxl-fmw.1.size=1G,"
        "cxl-fmw.2.targets.0=cxl.3,cxl-fmw.2.size=1G"
    )
    assert qemu_window_bases(topo) == [0x490000000, 0x4D0000000, 0x510000000]
    assert q.ignored == [
        f"host_bridges[{i}].windows[0].base = {0x1000000000 + i * (1 << 30):#x}: QEMU places "
        f"this window at {QEMU_FIRST_WINDOW_BASE + i * (1 << 30):#x} (with -m 2G,maxmem=8G,"
        "slots=8); the platform chooses window bases"
        for i in range(3)
    ]


def test_an_interleaved_window_names_its_targets_in_order(tmp_path):
    path = write(tmp_path, TWO_BRIDGES.format(window=INTERLEAVED))
    args = qemu_topology(load_fixture(path)).args
    assert args[-1] == (
        "cxl-fmw.0.targets.0=cxl.2,cxl-fmw.0.targets.1=cxl.1,cxl-fmw.0.size=4G,"
        "cxl-fmw.0.interleave-granularity=8k"
    )
    # Created newest-first, so that the guest numbers them in fixture order.
    assert args[args.index("-device") + 1 :: 2][:2] == [
        "pxb-cxl,bus_nr=222,bus=pcie.0,id=cxl.2",
        "pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1",
    ]


def test_ports_beyond_32_get_explicit_functions():
    args = qemu_topology(load_fixture("scale", {"host_bridges": 1, "root_ports": 33})).args
    ports = [v for v in args[1::2] if v.startswith("cxl-rp,")]
    assert ports[0] == (
        "cxl-rp,port=0,bus=cxl.1,id=root_port0,chassis=0,slot=0,addr=00.0,multifunction=on"
    )
    assert ports[1] == "cxl-rp,port=1,bus=cxl.1,id=root_port1,chassis=0,slot=1,addr=01.0"
    assert ports[32] == "cxl-rp,port=32,bus=cxl.1,id=root_port32,chassis=0,slot=32,addr=00.1"


def test_a_comma_in_the_backing_directory_is_doubled():
    q = qemu_topology(load_fixture("1hb1rp1mem"), "/vm,1")
    assert q.args[1] == "memory-backend-file,id=pmem0,share=on,mem-path=/vm,,1/pmem0.raw,size=512M"
    assert q.backing_files == {"/vm,1/pmem0.raw": 512 << 20, "/vm,1/lsa0.raw": 256 << 10}


# -- what QEMU cannot build -------------------------------------------------------------------

ONE = """\
[platform]
{platform}
[[host_bridges]]
bus = 0x0c
{bridge}
  [[host_bridges.windows]]
  base = 0x490000000
  size = "4G"
  {window}
  [[host_bridges.root_ports]]
  port = 0
  device = {{ serial = 1, ram = "256M" }}

  [[host_bridges.root_ports]]
  port = 1
  device = {{ serial = 2, {device} }}
{extra}"""

TWO_BRIDGES = """\
[[host_bridges]]
bus = 0x0c
  [[host_bridges.root_ports]]
  port = 0
  device = {{ serial = 1, ram = "256M" }}

[[host_bridges]]
bus = 222
  {window}
  [[host_bridges.root_ports]]
  port = 0
  device = {{ serial = 2, ram = "256M" }}
"""
INTERLEAVED = """[[host_bridges.windows]]
  base = 0x490000000
  size = "4G"
  targets = [222, 12]
  granularity = "8K"
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "t.toml"
    path.write_text(text)
    return str(path)


def one(
    platform="", bridge="", window="", device='pmem = "256M", label_storage_size = "4K"', extra=""
) -> str:
    return ONE.format(platform=platform, bridge=bridge, window=window, device=device, extra=extra)


UNSUPPORTED = [
    (
        one(device='pmem = "256M"'),
        "host_bridges[0].root_ports[1].device: persistent memory without a label storage area; "
        "QEMU requires one (lsa)",
    ),
    (
        one(device='ram = "256M", label_storage_size = 1000'),
        "host_bridges[0].root_ports[1].device: label_storage_size 1000; QEMU's memory backends "
        "come in 4096-byte pages",
    ),
    (
        one(device='ram = "256M", serial = 0xffffffffffffffff').replace("serial = 2, ", ""),
        "host_bridges[0].root_ports[1].device: serial 0xffffffffffffffff is QEMU's value for a "
        "device without a serial number",
    ),
    (
        one(device='ram = "256M", hdm_decoders = 8'),
        "host_bridges[0].root_ports[1].device: 8 HDM decoders; QEMU gives host bridges, "
        "switches and devices 4",
    ),
    (
        one(
            device='ram = "256M", pmem = "256M", label_storage_size = "4K", '
            'partition_alignment = "256M"'
        ),
        "host_bridges[0].root_ports[1].device: partitionable capacity; QEMU's devices have "
        "fixed volatile and persistent capacity (partition alignment 0)",
    ),
    (
        one(window="ram = false"),
        "host_bridges[0].windows[0]: restricted (ram = false); QEMU's windows take ram, pmem, "
        "type-2 and type-3 memory",
    ),
    (
        one(window="qos_class = 1"),
        "host_bridges[0].windows[0]: qos_class 1; QEMU gives every window QTG id 0",
    ),
    (
        one(window="locked = true"),
        "host_bridges[0].windows[0]: locked; QEMU's windows are never fixed",
    ),
    (
        one(bridge="uid = 7"),
        "host_bridges[0]: uid 7; QEMU's host bridge uid is its bus number (12)",
    ),
    (
        one(bridge='acpi_path = "\\\\_SB_.HB00"'),
        "host_bridges[0]: ACPI path \\_SB_.HB00; QEMU names this host bridge \\_SB_.CL0C",
    ),
    (
        one(bridge="segment = 1"),
        "host_bridges[0]: on PCI segment 1; QEMU's pxb-cxl host bridges all share segment 0 "
        "and its 256 bus numbers",
    ),
    (
        one(bridge="hdm_decoders = 8"),
        "host_bridges[0]: 8 HDM decoders; QEMU gives host bridges, switches and devices 4",
    ),
    (
        one(extra='[[regions]]\nwindow = 0\ndevices = ["0000:0d:00.0"]\nsize = "256M"\n'),
        "regions[0]: QEMU's firmware commits no regions before boot",
    ),
    (
        one().replace("port = 1\n", 'port = 1\n  pci = "01.1"\n'),
        "host_bridges[0].root_ports[1]: slot 01 has no function 0, so the guest would not find it",
    ),
    (
        one().replace("device = { serial = 2, ", 'device = { pci = "01.0", serial = 2, '),
        "host_bridges[0].root_ports[1].device: at 0000:0e:01.0; QEMU plugs the one device below "
        "a PCIe port at 0000:0e:00.0",
    ),
]


@pytest.mark.parametrize(("text", "reason"), UNSUPPORTED, ids=[r[:40] for _, r in UNSUPPORTED])
def test_what_qemu_cannot_build(tmp_path, text, reason):
    topo = load_fixture(write(tmp_path, text))
    with pytest.raises(QemuUnsupported) as e:
        qemu_topology(topo)
    assert str(e.value) == reason


def test_the_base_fixture_of_those_cases_is_expressible(tmp_path):
    q = qemu_topology(load_fixture(write(tmp_path, one())))
    assert q.ignored == []
    assert q.backing_files == {"backing/pmem1.raw": 256 << 20, "backing/lsa1.raw": 4096}


def test_details_qemu_does_not_reproduce_are_listed(tmp_path):
    device = (
        'ram = "256M", firmware_version = "v2", numa_node = 0, cdat = false, '
        "mailbox = { health = true }"
    )
    text = one(platform='boot_ram = "4G"\ncpus = 4\nauto_online = "offline"', device=device)
    q = qemu_topology(load_fixture(write(tmp_path, text)))
    dev = "host_bridges[0].root_ports[1].device"
    assert q.ignored == [
        "platform.boot_ram = 4G: guest RAM is set by -m, not by these options",
        "platform.cpus = 4: CPUs are set by -smp, not by these options",
        "platform.auto_online = offline: the guest kernel's auto-online policy applies",
        f"{dev}.mailbox.health: QEMU's device answers its own",
        f"{dev}.firmware_version = 'v2': QEMU's device has 'BWFW VERSION 00'",
        f"{dev}.numa_node = 0: QEMU's device has -1",
        f"{dev}.cdat = false: QEMU's device has true",
    ]


# -- the command -------------------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(cli, ["sim", "qemu-args", *args])


def test_command_prints_one_shell_line():
    r = invoke("qemu-a")
    assert r.exit_code == 0
    assert r.stdout == (
        "-object memory-backend-ram,id=vmem0,share=on,size=256M "
        "-device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1 "
        "-device cxl-rp,port=0,bus=cxl.1,id=root_port0,chassis=0,slot=0 "
        "-device cxl-type3,bus=root_port0,volatile-memdev=vmem0,id=cxl-vmem0,sn=0x1 "
        "-M cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G\n"
    )
    assert r.stderr == ""


def test_command_json_and_backing_directory():
    r = invoke("qemu-b", "--json", "--backing", "/vm/b dir")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == qemu_topology(load_fixture("qemu-b"), "/vm/b dir").args
    r = invoke("qemu-b", "--backing", "/vm/b dir")
    assert shlex.split(r.stdout)[3] == (
        "memory-backend-file,id=pmem1,share=on,mem-path=/vm/b dir/pmem1.raw,size=256M"
    )


def test_command_notes_go_to_stderr():
    r = invoke("scale", "-p", "host_bridges=1")
    assert r.exit_code == 0
    assert r.stderr == (
        "cxltool sim: note: scale: host_bridges[0].windows[0].base = 0x1000000000: QEMU places "
        "this window at 0x490000000 (with -m 2G,maxmem=8G,slots=8); the platform chooses "
        "window bases\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["cxl_test"],
            'cxltool sim: cxl_test: QEMU cannot build this fixture: platform.kind = "cxl_test" '
            "is the kernel's mock platform (the cxl_test module), not a machine QEMU emulates\n",
        ),
        (
            ["default"],
            "cxltool sim: default: QEMU cannot build this fixture: host_bridges[0].windows[0]: "
            "restricted (pmem = false, type2 = false); QEMU's windows take ram, pmem, type-2 and "
            "type-3 memory\n",
        ),
        (
            ["scale", "-p", "host_bridges=17"],
            "cxltool sim: scale: QEMU cannot build this fixture: 17 host bridges; QEMU has "
            "register space for 16 pxb-cxl host bridges\n",
        ),
    ],
)
def test_command_refuses_what_qemu_cannot_build(args, message):
    r = invoke(*args)
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr == message


# -- QEMU itself ---------------------------------------------------------------------------------

QEMU = "qemu-system-x86_64"
MACHINE = [
    *("-accel", "tcg", "-M", "q35,cxl=on", "-m", "2G,maxmem=8G,slots=8", "-nographic"),
    *("-nodefaults", "-S", "-serial", "none", "-display", "none", "-monitor", "stdio"),
]
BOOTABLE = [(name, None) for name in EXPRESSIBLE] + [
    ("scale", {"host_bridges": 16}),
    ("scale", {"host_bridges": 2, "root_ports": 33}),
    ("scale", {"host_bridges": 2, "root_ports": 2, "devices_per_port": 3}),
]
_WINDOW = re.compile(r"^\s*([0-9a-f]+)-[0-9a-f]+ \(prio 0, i/o\): cxl-fixed-memory-region$")


@pytest.mark.realkernel
@pytest.mark.parametrize(("name", "params"), BOOTABLE, ids=[f"{n}-{p}" for n, p in BOOTABLE])
def test_qemu_accepts_the_options(tmp_path, name, params):
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} is not installed")
    topo = load_fixture(name, params)
    q = qemu_topology(topo, str(tmp_path))
    for path, size in q.backing_files.items():
        with open(path, "wb") as f:
            f.truncate(size)
    # Paused before the guest runs: QEMU has built every device, or refused one.
    r = subprocess.run(
        [QEMU, *MACHINE, *q.args],
        input="info mtree -f\nquit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    bases = []
    for line in r.stdout.splitlines():
        m = _WINDOW.match(line)
        if m and int(m.group(1), 16) not in bases:
            bases.append(int(m.group(1), 16))
    assert bases == qemu_window_bases(topo)
