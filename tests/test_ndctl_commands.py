"""cxltool ndctl on simulated systems: the tool's front door, and each namespace command's
checks, messages, exit status, JSON and effect on the tree."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from cxltool.cli.ndctl import NDCTL
from cxltool.sim.capture import load_capture, restore
from cxltool.sysfs import open_root, paths
from tests.test_ndctl_transcripts import run_ndctl
from tests.transcripts import capture_file, run_cxltool

ND = paths.ND_DEVICES
REAL = shutil.which("ndctl")


@pytest.fixture
def tree(tmp_path):
    """c-v81's 512M two-way pmem region, namespace0.0 idle."""
    dest = str(tmp_path / "c")
    restore(load_capture(capture_file("c-v81", "pmem-region-created")), dest)
    return dest


def ok(tree: str, line: str) -> dict:
    rc, out, err = run_ndctl(tree, line.split())
    assert (rc, err) == (0, ""), (line, err)
    return json.loads(out)


# -- the tool --------------------------------------------------------------------------------
def test_version_and_commands(tree):
    assert run_ndctl(tree, ["--version"]) == (0, "85\n", "")
    rc, out, _ = run_ndctl(tree, ["--list-cmds"])
    assert rc == 0 and out.split() == list(NDCTL.commands)
    assert run_ndctl(tree, ["bogus"]) == (1, "", "Unknown command: 'bogus'\n")
    rc, _, err = run_ndctl(tree, ["enable-region", "all"])
    assert rc == 1 and err.startswith("ndctl enable-region: not available in cxltool")


@pytest.mark.skipif(REAL is None, reason="the real ndctl is not installed")
def test_command_order_and_usage_texts_are_ndctls(tree):
    real = subprocess.run([REAL, "--list-cmds"], capture_output=True, text=True)
    assert list(NDCTL.commands) == real.stdout.split()
    for cmd in (
        "list",
        "create-namespace",
        "destroy-namespace",
        "enable-namespace",
        "disable-namespace",
    ):
        theirs = subprocess.run([REAL, cmd, "-h"], capture_output=True, text=True)
        assert run_ndctl(tree, [cmd, "-h"]) == (theirs.returncode, theirs.stdout, theirs.stderr)


def test_namespace_commands_want_a_namespace(tree):
    rc, out, err = run_ndctl(tree, ["destroy-namespace"])
    assert rc == 129 and out == ""
    assert err.startswith('  Error: specify a namespace to destroy, or "all"\n\n\n usage: ')
    rc, _, err = run_ndctl(tree, ["enable-namespace", "namespace0.0", "extra"])
    assert rc == 129 and err.startswith('  Error: unknown extra parameter "extra"\n\n\n usage:')


# -- list --------------------------------------------------------------------------------------
def test_list_filters_and_refusals(tree):
    assert run_ndctl(tree, ["list", "-t", "foo"]) == (
        234,
        "",
        '  Error: unknown type "foo" must be "pmem" or "blk"\n\n',
    )
    assert run_ndctl(tree, ["list", "-m", "foo"]) == (234, "", "  Error: invalid mode: 'foo'\n\n")
    assert run_ndctl(tree, ["list", "-R", "-t", "blk"]) == (0, "", "")
    # A filter alone lists its own kind.
    assert [r["dev"] for r in ok(tree, "list -r region0")] == ["region0"]
    assert ok(tree, "list -d nmem1 -u")["dev"] == "nmem1"
    assert ok(tree, "list -b 0 -u") == {"provider": "CXL", "dev": "ndbus0"}
    # Idle namespaces only with -i; -n takes a name or R.N.
    assert run_ndctl(tree, ["list", "-N"]) == (0, "", "")
    assert ok(tree, "list -N -i -n 0.0 -u")["dev"] == "namespace0.0"


def test_list_capabilities_and_verbose_nodes(tree):
    region = ok(tree, "list -R -C -v -u")
    assert region["numa_node"] == 0 and region["target_node"] == 1
    assert region["capabilities"] == [
        {"mode": "sector", "sector_sizes": [512, 520, 528, 4096, 4104, 4160, 4224]},
        {"mode": "fsdax", "alignments": [4096, 2097152, 1073741824]},
        {"mode": "devdax", "alignments": [4096, 2097152, 1073741824]},
    ]


# -- create-namespace ------------------------------------------------------------------------
def test_create_devdax_takes_the_region(tree):
    ns = ok(tree, "create-namespace -m devdax -r region0")
    assert (ns["dev"], ns["mode"], ns["map"], ns["size"]) == (
        "namespace0.0",
        "devdax",
        "dev",
        526385152,
    )
    assert ns["daxregion"]["devices"][0]["chardev"] == "dax0.0"
    root = open_root(tree)
    assert root.realpath(f"{paths.DAX_DEVICES}/dax0.0/driver").endswith("/device_dax")
    region = ok(tree, "list -R -u")
    assert region["available_size"] == 0
    assert run_ndctl(tree, ["create-namespace", "-s", "16M"]) == (
        237,
        "",
        "failed to create namespace: No space left on device\n",
    )


def test_create_fsdax_raw_and_names(tree):
    fsdax = ok(tree, "create-namespace -s 256M -n data")  # fsdax is the default mode
    assert (fsdax["mode"], fsdax["blockdev"], fsdax["name"]) == ("fsdax", "pmem0", "data")
    assert fsdax["size"] == 256 * 2**20 - 6 * 2**20  # info block, page map, alignment
    raw = ok(tree, "create-namespace -m raw -s 256M")
    assert (raw["dev"], raw["mode"], raw["size"], raw["blockdev"]) == (
        "namespace0.1",
        "raw",
        256 * 2**20,
        "pmem0.1",
    )
    assert open_root(tree).exists("/dev/pmem0.1")


def test_create_size_and_alignment_checks(tree):
    assert run_ndctl(tree, ["create-namespace", "-s", "100M"]) == (
        234,
        "",
        "  Error: create namespace: region0: align setting is 0x1000000 size "
        "0x6400000 is misaligned\n\n",
    )
    assert run_ndctl(tree, ["create-namespace", "-m", "devdax", "-a", "1G"]) == (
        234,
        "",
        "  Error: create namespace: '--size=' must align to interleave-width: 2 and "
        "alignment: 1073741824\ndid you intend --size=2147483648?\n\n",
    )
    assert run_ndctl(tree, ["create-namespace", "-s", "2G"]) == (
        237,
        "",
        "failed to create namespace: No space left on device\n",
    )
    rc, _, err = run_ndctl(tree, ["create-namespace", "-m", "foo"])
    assert rc == 129 and err.startswith("  Error: invalid mode 'foo'\n\n\n usage: ")
    # Nothing was left behind.
    assert ok(tree, "list -R -u")["available_size"] == "512.00 MiB (536.87 MB)"


def test_sector_mode_is_refused_and_cleaned_up(tree):
    assert run_ndctl(tree, ["create-namespace", "-m", "sector"]) == (
        161,
        "",
        "  Error: create namespace: btt0.0: set_namespace failed: Operation not supported\n\n",
    )
    ns = ok(tree, "list -N -i -u")
    assert (ns["mode"], ns["size"]) == ("raw", 0)


def test_reconfigure_needs_force_when_active(tree):
    ok(tree, "create-namespace -m devdax")
    assert run_ndctl(tree, ["create-namespace", "-e", "namespace0.0", "-m", "fsdax"]) == (
        240,
        "",
        "  Error: namespace0.0 is active, specify --force for re-configuration\n\n"
        "failed to reconfigure namespace: Device or resource busy\n",
    )
    ns = ok(tree, "create-namespace -e namespace0.0 -m fsdax -f")
    assert (ns["dev"], ns["mode"], ns["blockdev"]) == ("namespace0.0", "fsdax", "pmem0")
    assert not open_root(tree).exists(f"{paths.DAX_DEVICES}/dax0.0")


# -- destroy, disable, enable ------------------------------------------------------------------
def test_destroy_refusals_and_summary(tree):
    ok(tree, "create-namespace -m devdax")
    assert run_ndctl(tree, ["destroy-namespace", "namespace0.0"]) == (
        240,
        "",
        "  Error: namespace0.0 is active, specify --force for re-configuration\n\n"
        "error destroying namespaces: Device or resource busy\ndestroyed 0 namespaces\n",
    )
    assert run_ndctl(tree, ["destroy-namespace", "namespace9.9"]) == (
        250,
        "",
        "error destroying namespaces: No such device or address\ndestroyed 0 namespaces\n",
    )
    assert run_ndctl(tree, ["destroy-namespace", "all", "-f"]) == (0, "", "destroyed 1 namespace\n")
    assert run_ndctl(tree, ["destroy-namespace", "all"]) == (0, "", "destroyed 0 namespaces\n")
    assert ok(tree, "list -R -u")["available_size"] == "512.00 MiB (536.87 MB)"


def test_destroy_refuses_memory_online_as_system_ram(tree):
    ok(tree, "create-namespace -m devdax")
    rc, _, _ = run_cxltool(
        tree, "daxctl reconfigure-device -m system-ram --no-movable dax0.0".split()
    )
    assert rc == 0
    assert run_ndctl(tree, ["destroy-namespace", "-f", "namespace0.0"]) == (
        240,
        "",
        "error destroying namespaces: Device or resource busy\ndestroyed 0 namespaces\n",
    )
    assert run_ndctl(tree, ["disable-namespace", "namespace0.0"]) == (
        240,
        "",
        "error disabling namespaces: Device or resource busy\ndisabled 0 namespaces\n",
    )


def test_disable_then_enable_brings_the_dax_device_back(tree):
    before = ok(tree, "create-namespace -m devdax")
    assert run_ndctl(tree, ["disable-namespace", "namespace0.0"]) == (
        0,
        "",
        "disabled 1 namespace\n",
    )
    root = open_root(tree)
    assert not root.exists(f"{paths.DAX_DEVICES}/dax0.0")
    assert ok(tree, "list -N -i -u -n namespace0.0")["state"] == "disabled"
    assert run_ndctl(tree, ["enable-namespace", "all"]) == (0, "", "enabled 1 namespace\n")
    after = ok(tree, "list -N -X")
    assert after == [dict(before)]
    assert run_ndctl(tree, ["enable-namespace", "namespace0.0"]) == (0, "", "enabled 1 namespace\n")


def test_through_the_click_entry_point(tree):
    from click.testing import CliRunner

    from cxltool.cli.main import cli

    r = CliRunner().invoke(cli, ["--root", tree, "ndctl", "list", "-R", "-u"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["dev"] == "region0"


def test_a_devdax_namespace_without_its_device_fails_the_listing(tree):
    # A tree where namespace0.0 reads `dax` but names no dax device (edited by hand).
    root = open_root(tree)
    ns = root.realpath(f"{ND}/namespace0.0")
    with open(root.host(ns + "/mode"), "w") as f:
        f.write("dax\n")
    assert run_ndctl(tree, ["list", "-N", "-i"]) == (
        244,
        "[\n]\n",
        "ndctl-85:filter_namespace:267: \n  Warning: no matching devices found\n\n",
    )
    assert run_ndctl(tree, ["list", "-N", "-i", "-u"]) == (
        244,
        "",
        "ndctl-85:filter_namespace:267: \n",
    )
