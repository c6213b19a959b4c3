"""The daxctl device commands: flows, messages, JSON and exit status beyond the recorded runs.

Trees are private copies of the cxl_test fixture (dax0.0 on kmem, four blocks
online on node 0, `auto_online_blocks` online) and of restored captures. The
recorded runs themselves are replayed in tests/test_dax_transcripts.py; the
commands whose answer cannot change the tree are also compared with the real
daxctl 76.1 here (marked `ndctl`).
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from cxltool.cli.daxctl_device_cli import parse_size64
from tests.kernel import daxkit
from tests.kernel.daxkit import (
    CT_START,
    DAX,
    MEM,
    MiB,
    block,
    driver,
    exists,
    read,
    write,
)
from tests.realtools import run_real, unavailable_reason
from tests.transcripts import run_cxltool

# The shared trees (fixtures).
_originals, tree = daxkit._originals, daxkit.tree

CT_BLOCKS = [CT_START // (128 * MiB) + i for i in range(4)]
RACE = (
    "dax0.0:\n  WARNING: detected a race while onlining memory\n"
    "  Some memory may not be in the expected zone. It is\n"
    "  recommended to disable any other onlining mechanisms,\n"
    "  and retry. If onlining is to be left to other agents,\n"
    "  use the --no-online option to suppress this warning\n"
)


def daxctl(root, *argv: str) -> tuple[int, str, str]:
    return run_cxltool(root.base, ["daxctl", *argv])


def device(root, name: str = "dax0.0") -> dict:
    rc, out, _ = daxctl(root, "list", "-d", name, "-i")
    assert rc == 0
    return json.loads(out)[0]


def test_size_arguments_parse_as_daxctl_parses_them():
    assert parse_size64("128M") == 128 * MiB
    assert parse_size64("0x1000") == 4096
    assert parse_size64("1g") == 1 << 30
    assert parse_size64("12q") == -1
    assert parse_size64("") == 0
    assert parse_size64("16E") == -1


def test_system_ram_to_devdax_needs_the_memory_offline(tree):
    root = tree("fixture", "cxl_test")
    rc, out, err = daxctl(root, "reconfigure-device", "-m", "devdax", "-v", "dax0.0")
    assert (rc, out) == (240, "")
    assert err == (
        "dax0.0: found 4 memory sections online\ndax0.0: refusing to change modes\n"
        "error reconfiguring devices: Device or resource busy\nreconfigured 0 devices\n"
    )
    rc, out, err = daxctl(root, "reconfigure-device", "-m", "devdax", "-f", "dax0.0")
    assert rc == 0 and err == "reconfigured 1 device\n"
    assert json.loads(out) == [
        {
            "chardev": "dax0.0",
            "size": 512 * MiB,
            "target_node": 0,
            "align": 2097152,
            "mode": "devdax",
        }
    ]
    assert not any(exists(root, f"{MEM}/memory{i}") for i in CT_BLOCKS)


def test_back_to_system_ram_with_the_kernel_onlining(tree):
    root = tree("fixture", "cxl_test")
    daxctl(root, "reconfigure-device", "-m", "devdax", "-f", "dax0.0")
    rc, out, err = daxctl(root, "reconfigure-device", "-m", "system-ram", "dax0.0")
    assert (rc, err) == (
        240,
        "dax0.0: error: kernel policy will auto-online memory, aborting\n"
        "error reconfiguring devices: Device or resource busy\nreconfigured 0 devices\n",
    )
    # -f goes ahead: the kernel onlines (ZONE_NORMAL), daxctl finds it done.
    rc, out, err = daxctl(root, "reconfigure-device", "-m", "system-ram", "-f", "-u", "dax0.0")
    assert rc == 0
    assert err == RACE + "dax0.0: all memory sections (4) already online\nreconfigured 1 device\n"
    assert json.loads(out) == {
        "chardev": "dax0.0",
        "size": "512.00 MiB (536.87 MB)",
        "target_node": 0,
        "align": 2097152,
        "mode": "system-ram",
        "online_memblocks": 4,
        "total_memblocks": 4,
        "movable": False,
    }


def test_onlining_counts_what_was_already_online(tree):
    root = tree("fixture", "cxl_test")
    rc, _, err = daxctl(root, "offline-memory", "-v", "dax0.0")
    assert (rc, err) == (0, "dax0.0: 4 memory sections offlined\nofflined memory for 1 device\n")
    write(root, f"{MEM}/memory{CT_BLOCKS[1]}/state", "online_movable")
    rc, _, err = daxctl(root, "online-memory", "-v", "dax0.0")
    assert rc == 0
    assert err == (
        RACE + "dax0.0: 1 memory section already online\n"
        "dax0.0: 3 memory sections onlined\nonlined memory for 1 device\n"
    )
    assert [block(root, i, "valid_zones") for i in CT_BLOCKS] == ["Movable"] * 4
    write(root, f"{MEM}/memory{CT_BLOCKS[0]}/state", "offline")
    rc, _, err = daxctl(root, "offline-memory", "dax0.0")
    assert (rc, err) == (
        0,
        "dax0.0: 1 memory section already offline\nofflined memory for 1 device\n",
    )


def test_no_movable_onlines_into_zone_normal(tree):
    root = tree("fixture", "cxl_test")
    daxctl(root, "offline-memory", "dax0.0")
    rc, _, err = daxctl(root, "online-memory", "--no-movable", "dax0.0")
    assert (rc, err) == (0, "onlined memory for 1 device\n")
    assert device(root)["movable"] is False


def test_status_operations_refuse_system_ram(tree):
    root = tree("fixture", "cxl_test")
    for command, doing, count in (
        ("enable-device", "enabling device", "enabled"),
        ("disable-device", "disabling device", "disabled"),
    ):
        assert daxctl(root, command, "dax0.0") == (
            250,
            "",
            "dax0.0: status operations are only applicable in devdax mode\n"
            f"error {doing}: No such device or address\n{count} 0 devices\n",
        )


def test_destroy_and_create(tree):
    root = tree("fixture", "cxl_test")
    assert daxctl(root, "destroy-device", "dax0.0") == (
        250,
        "",
        "dax0.0 is active, specify --force for deletion\n"
        "error destroying devices: No such device or address\ndestroyed 0 devices\n",
    )
    daxctl(root, "reconfigure-device", "-m", "devdax", "-f", "dax0.0")
    assert daxctl(root, "destroy-device", "-f", "dax0.0") == (0, "", "destroyed 1 device\n")
    assert device(root)["size"] == 0
    rc, out, err = daxctl(root, "create-device", "-s", "256M", "-a", "1G")
    # A 1 GiB alignment does not fit 256 MiB: the size write fails.
    assert (rc, out) == (250, "")
    assert err == (
        "libdaxctl: daxctl_dev_set_size: dax0.1: failed to set size\n"
        "error creating devices: No such device or address\ncreated 0 devices\n"
    )
    # The failed attempt left its device behind as the region's seed: the next
    # create-device makes another (dax0.2) but sizes and binds the seed.
    rc, out, err = daxctl(root, "create-device", "-r", "region0", "-a", "2M")
    assert (rc, err) == (0, "created 1 device\n")
    assert [(d["chardev"], d["size"]) for d in json.loads(out)] == [("dax0.1", 512 * MiB)]
    rc, out, err = daxctl(root, "create-device")
    assert (rc, out) == (228, "")
    assert err == "error creating devices: No space left on device\ncreated 0 devices\n"


def test_create_from_a_device_file_restores_the_layout(tree, tmp_path):
    root = tree("fixture", "cxl_test")
    daxctl(root, "reconfigure-device", "-m", "devdax", "-f", "dax0.0")
    daxctl(root, "disable-device", "dax0.0")
    daxctl(root, "reconfigure-device", "-s", "128M", "dax0.0")
    daxctl(root, "create-device", "-s", "256M")
    rc, out, _ = daxctl(root, "list", "-M", "-d", "dax0.1")
    saved = json.loads(out)[0]
    file = tmp_path / "dax0.1.json"
    file.write_text(json.dumps(saved))
    daxctl(root, "destroy-device", "-f", "dax0.1")
    rc, out, err = daxctl(root, "create-device", "--input", str(file))
    assert (rc, err) == (0, "created 1 device\n")
    rc, out, _ = daxctl(root, "list", "-M", "-d", "dax0.1")
    assert json.loads(out)[0]["mappings"] == saved["mappings"]
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    rc, _, err = daxctl(root, "create-device", "--input", str(bad))
    assert rc == 129
    assert err.startswith("error: failed to parse device file: Invalid argument\n\n usage:")


def test_resize_and_realign_print_no_json(tree):
    root = tree("a-debian", "ram-devdax")
    daxctl(root, "disable-device", "dax0.0")
    assert daxctl(root, "reconfigure-device", "-s", "128M", "dax0.0") == (
        0,
        "",
        "reconfigured 1 device\n",
    )
    assert read(root, f"{DAX}/dax0.0/size") == str(128 * MiB)
    # -a alone sets the alignment and succeeds (daxctl reports a bogus mode).
    assert daxctl(root, "reconfigure-device", "-a", "4k", "dax0.0") == (
        0,
        "",
        "reconfigured 1 device\n",
    )
    assert read(root, f"{DAX}/dax0.0/align") == "4096"


def test_every_reconfigured_device_is_listed(tree):
    root = tree("a-debian", "ram-recreated")
    rc, out, err = daxctl(root, "reconfigure-device", "-m", "devdax", "all")
    # dax0.0 is empty (destroyed): no driver takes it.
    assert rc == 250
    assert err == (
        "libdaxctl: daxctl_dev_enable: dax0.0: failed to enable\n"
        "error reconfiguring devices: No such device or address\nreconfigured 2 devices\n"
    )
    assert sorted(d["chardev"] for d in json.loads(out)) == ["dax0.1", "dax0.2"]


def test_famfs_needs_a_driver_this_kernel_lacks(tree):
    root = tree("a-debian", "ram-devdax")
    assert daxctl(root, "reconfigure-device", "-m", "famfs", "dax0.0") == (
        254,
        "",
        "libdaxctl: daxctl_insert_kmod_for_mode: dax0.0: insert failure: -2\n"
        "error reconfiguring devices: No such file or directory\nreconfigured 0 devices\n",
    )
    root = tree("a-debian", "ram-region-created")
    rc, _, err = daxctl(root, "reconfigure-device", "-m", "famfs", "dax0.0")
    assert (rc, err.splitlines()[0]) == (
        234,
        "dax0.0 is in system-ram mode; must be in devdax mode to convert to famfs",
    )


def test_enable_device_asks_for_a_device_to_enable(tree):
    root = tree("a-debian", "ram-devdax")
    rc, _, err = daxctl(root, "enable-device")
    assert rc == 129
    assert err.startswith('specify a device to enable, or "all"\n')


def test_check_config(tree):
    root = tree("a-debian", "ram-devdax")
    assert daxctl(root, "reconfigure-device", "-C", "dax0.0") == (
        0,
        "",
        "no UUID match for dax0.0 found in config files\n"
        "dax0.0: missing or malformed config section\n",
    )
    rc, _, err = daxctl(root, "reconfigure-device", "-C", "-m", "devdax", "dax0.0")
    assert rc == 129
    assert err.startswith(
        "dax0.0: -C cannot be used with --mode, --(no-)movable, or --(no-)online\n\n usage:"
    )


def test_check_config_reads_the_namespace_section(tree):
    root = tree("b-debian", "pmem-namespace-devdax")
    folder = root.host("/etc/daxctl.conf.d")
    os.makedirs(folder)
    with open(os.path.join(folder, "pmem.conf"), "w") as f:
        f.write(
            "# the devdax namespace of region0\n"
            "[reconfigure-device pmem0]\n"
            "nvdimm.uuid = 9180862f-de99-4173-aa6b-7e7359f3dc2d\n"
            "mode = system-ram\n"
            "online = true\n"
            "movable = false\n"
        )
    rc, out, err = daxctl(root, "reconfigure-device", "-C", "dax0.0")
    assert rc == 0 and err.endswith("reconfigured 1 device\n")
    assert json.loads(out)[0]["movable"] is False
    assert driver(root, "dax0.0") == "kmem"
    # Without the directory daxctl cannot read the files; a simulated system
    # has it as daxctl's package installs it, empty.
    os.unlink(os.path.join(folder, "pmem.conf"))
    os.rmdir(folder)
    assert daxctl(root, "reconfigure-device", "-C", "dax0.0") == (
        0,
        "",
        "dax0.0: missing or malformed config section\n",
    )


def test_migrate_device_model_links_the_policy_under_the_root(tree):
    root = tree("a-debian", "ram-devdax")
    assert daxctl(root, "migrate-device-model") == (
        0,
        "",
        " success: installed /etc/modprobe.d/daxctl.conf\n",
    )
    link = root.host("/etc/modprobe.d/daxctl.conf")
    assert os.readlink(link) == "/usr/share/daxctl/daxctl.conf"
    assert daxctl(root, "migrate-device-model") == (
        1,
        "",
        "  Error: failed to install /etc/modprobe.d/daxctl.conf: File exists\n\n",
    )


def _many_blocks(tree):
    """a-debian in devdax mode with 2 MiB memory blocks: 128 of them once on kmem."""
    root = tree("a-debian", "ram-devdax")
    with open(root.host(f"{MEM}/block_size_bytes"), "w") as f:
        f.write("200000\n")
    write(root, f"{MEM}/auto_online_blocks", "offline")
    rc, _, _ = daxctl(root, "reconfigure-device", "-m", "system-ram", "-N", "dax0.0")
    assert rc == 0
    return root


def _cli(root, *argv: str, tty: bool) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "cxltool", "--root", root.base, "daxctl", *argv]
    if not tty:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(), b"".join(chunks).decode(errors="replace")


def test_memory_walks_show_progress_only_on_a_terminal(tree):
    root = _many_blocks(tree)
    rc, err = _cli(root, "online-memory", "dax0.0", tty=False)
    assert (rc, err) == (0, "onlined memory for 1 device\n")
    rc, err = _cli(root, "offline-memory", "dax0.0", tty=True)
    assert rc == 0
    assert "offlined memory for 1 device" in err
    assert "memory blocks" in err  # the bar's label, drawn with escape sequences
    assert block(root, 146 * 64, "state") == "offline"


# -- the real daxctl -----------------------------------------------------------------

# Commands that fail or stop before writing anything, where 76.1 and v85 agree.
READ_ONLY = {
    ("fixture", "cxl_test"): [
        ["online-memory", "dax0.0"],
        ["online-memory", "--no-movable", "dax0.0"],
        ["reconfigure-device", "-m", "system-ram", "dax0.0"],
        ["reconfigure-device", "-m", "devdax", "dax0.0"],
        ["enable-device", "dax0.0"],
        ["disable-device", "dax0.0"],
        ["destroy-device", "dax0.0"],
        ["reconfigure-device", "-m", "devdax", "-N", "dax0.0"],
        ["reconfigure-device", "dax0.0"],
        ["offline-memory"],
    ],
    ("a-debian", "ram-devdax"): [
        ["online-memory", "dax0.0"],
        ["offline-memory", "dax0.0"],
        ["reconfigure-device", "-m", "system-ram", "-N", "dax0.0"],
        ["destroy-device", "all"],
        ["reconfigure-device", "-m", "system-ram", "-u", "dax0.0"],
        ["reconfigure-device", "-C", "dax0.0"],
        ["reconfigure-device", "-C", "all"],
    ],
    # (libndctl finds no bus in a restored capture, which lacks /sys/class/nd, so
    # the real daxctl cannot match the namespace for -C there.)
    ("b-debian", "pmem-namespace-devdax"): [
        ["online-memory", "dax0.0"],
        ["reconfigure-device", "-m", "system-ram", "dax0.0"],
    ],
}


@pytest.mark.ndctl
@pytest.mark.skipif(unavailable_reason("daxctl") is not None, reason="real daxctl unavailable")
@pytest.mark.parametrize("source,label", list(READ_ONLY))
def test_refusals_match_the_real_daxctl(tree, source, label):
    root = tree(source, label)
    commands = READ_ONLY[(source, label)]
    real = run_real(root.base, [["daxctl", *c] for c in commands])
    for command, recorded in zip(commands, real, strict=True):
        assert daxctl(root, *command) == tuple(recorded), command
