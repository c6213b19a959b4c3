"""The cxltool front door, the system choice, and the sim commands."""

from __future__ import annotations

import hashlib
import os

import pytest
from click.testing import CliRunner

from cxltool.cli.main import cli
from cxltool.sim.capture import capture, load_capture, restore
from cxltool.sysfs import open_root
from tests.transcripts import capture_file, run_cxltool

C_BEFORE = capture_file("c-debian", "before")


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def tree_digest(base: str) -> str:
    """A digest of the system (sys/ and dev/) and the kernel state kept beside it."""
    h = hashlib.sha256()
    state = os.path.join(base, ".cxltool", "fixture.json")
    if os.path.exists(state):
        with open(state, "rb") as f:
            h.update(f.read())
    walked = [w for top in ("sys", "dev") for w in os.walk(os.path.join(base, top))]
    for dirpath, dirnames, filenames in sorted(walked):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            h.update(path[len(base):].encode())
            if os.path.islink(path):
                h.update(os.readlink(path).encode())
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


@pytest.fixture
def c_tree(tmp_path):
    dest = str(tmp_path / "c")
    restore(load_capture(C_BEFORE), dest)
    return dest


def test_unusable_root_is_one_line(tmp_path):
    r = invoke("--root", str(tmp_path / "missing"), "cxl", "list")
    assert r.exit_code == 1
    assert r.output == f"cxltool: {tmp_path / 'missing'}: no such directory\n"
    r = invoke("--root", str(tmp_path), "cxl", "list")
    assert r.output == f"cxltool: {tmp_path}: not a system root (no sys/ directory in it)\n"


def test_root_from_environment(c_tree):
    r = invoke("cxl", "list", "-E", env={"CXLTOOL_ROOT": c_tree})
    assert r.exit_code == 0
    assert '"endpoint":"endpoint3"' in r.output


def test_root_and_sim_together_is_a_usage_error(c_tree):
    r = CliRunner().invoke(cli, ["--root", c_tree, "--sim", "default", "cxl", "list"])
    assert r.exit_code == 2
    assert "give one" in r.output


def test_ndctl_top_level_rules(c_tree):
    assert run_cxltool(c_tree, ["cxl", "bogus-command"]) == (
        1, "", "Unknown command: 'bogus-command'\n"
    )
    assert run_cxltool(c_tree, ["daxctl", "bogus-command"]) == (
        1, "", "Unknown command: 'bogus-command'\n"
    )
    assert run_cxltool(c_tree, ["cxl", "--version"]) == (0, "85\n", "")
    rc, out, _ = run_cxltool(c_tree, ["cxl"])
    assert rc == 1 and out.startswith("\n usage: cxl [--version] [--help] COMMAND [ARGS]\n")
    rc, out, _ = run_cxltool(c_tree, ["cxl", "--list-cmds"])
    assert out.splitlines()[:3] == ["version", "list", "help"]
    assert run_cxltool(c_tree, ["cxl", "--list"])[0] == 129


def test_command_help_shows_its_usage(c_tree):
    rc, out, err = run_cxltool(c_tree, ["cxl", "list", "--help"])
    assert rc == 0 and err == ""
    assert out.startswith("usage: cxl list [<options>]\n\n    -m, --memdev <memory device name(s)>")


def test_restore_then_capture_round_trips(c_tree, tmp_path):
    original = load_capture(C_BEFORE)["entries"]
    again = capture(open_root(c_tree))["entries"]
    scope = ("/sys/bus/cxl/", "/sys/devices/platform/ACPI0017:00/root0/")
    want = {p: e for p, e in original.items() if p.startswith(scope) and "/power/" not in p}
    got = {p: again.get(p) for p in want}
    for p, e in want.items():
        g = got[p]
        assert g is not None, p
        assert g["type"] == e["type"], p
        if e["type"] == "link":
            assert g["target"] == e["target"], p
        if e["type"] == "file":
            assert (g["mode"], g.get("content")) == (e["mode"], e.get("content")), p


def test_sim_restore_refuses_a_used_directory(tmp_path, c_tree):
    r = invoke("sim", "restore", C_BEFORE, c_tree)
    assert r.exit_code == 1
    assert r.output == f"cxltool sim: {c_tree}: already exists and is not an empty directory\n"


def test_sim_restore_reports_a_bad_capture(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"meta": {}}')
    r = invoke("sim", "restore", str(bad), str(tmp_path / "x"))
    assert r.exit_code == 1
    assert r.output == f'cxltool sim: {bad}: not a capture (no "entries" object)\n'
    assert not (tmp_path / "x").exists()


def test_sim_write_of_an_unemulated_attribute_changes_nothing(c_tree):
    before = tree_digest(c_tree)
    # Memory compaction of a node is outside what the emulated kernel models.
    r = invoke("--root", c_tree, "sim", "write", "/sys/devices/system/node/node0/compact", "1")
    assert r.exit_code == 1
    assert r.output == (
        "cxltool sim: write error: /sys/devices/system/node/node0/compact: "
        "Operation not supported (EOPNOTSUPP): writing this attribute is not emulated\n"
    )
    assert tree_digest(c_tree) == before


def test_sim_write_errors_like_the_kernel(c_tree):
    r = invoke("--root", c_tree, "sim", "write", "/sys/bus/cxl/devices/mem0/serial", "1")
    assert r.exit_code == 1
    assert r.output.endswith("Permission denied (EACCES)\n")
    r = invoke("--root", c_tree, "sim", "write", "/sys/bus/cxl/devices/mem9/x", "1")
    assert r.output.endswith("No such file or directory (ENOENT)\n")
    r = invoke("--root", c_tree, "sim", "write", "sys/bus", "1")
    assert r.output == "cxltool sim: sys/bus: give the absolute path as on the machine (/sys/...)\n"


def test_sim_check_passes_on_a_kernel_tree_and_names_each_problem(c_tree):
    r = invoke("--root", c_tree, "sim", "check")
    assert r.exit_code == 0
    os.unlink(os.path.join(c_tree, "sys/bus/cxl/drivers/cxl_mem/mem0"))
    os.symlink("../../../devices/nowhere", os.path.join(c_tree, "sys/bus/cxl/devices/mem7"))
    r = invoke("--root", c_tree, "sim", "check")
    assert r.exit_code == 1
    assert r.output.splitlines() == [
        "/sys/bus/cxl/devices/mem7: dangling link to /sys/devices/nowhere",
        f"cxltool sim: 1 problem(s) in {c_tree}",
    ]


@pytest.mark.parametrize("fixture", ["qemu-c", "cxl_test"])
def test_capture_of_a_simulated_system_restores_to_the_same_listing(fixture, tmp_path):
    from cxltool.sim.systems import build_fixture_into

    built, copy = str(tmp_path / "built"), str(tmp_path / "copy")
    build_fixture_into(fixture, built)
    out = str(tmp_path / "capture.json.gz")
    assert invoke("--root", built, "sim", "capture", out).exit_code == 0
    assert invoke("sim", "restore", out, copy).exit_code == 0
    for argv in (["cxl", "list", "-vvv"], ["daxctl", "list", "-RDMi"], ["cxl", "list", "-BTu"]):
        assert run_cxltool(copy, argv)[:2] == run_cxltool(built, argv)[:2], argv


def test_sim_system_is_built_on_first_use_and_kept(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path)}
    r = invoke("--sim", "qemu-a", "cxl", "list", "-M", env=env)
    assert r.exit_code == 0
    assert '"memdev":"mem0"' in r.output and '"serial":1' in r.output
    system = tmp_path / "cxltool" / "qemu-a"
    assert (system / ".cxltool" / "fixture.json").is_file()
    marker = system / "sys" / "marker"
    marker.write_text("kept")
    assert invoke("--sim", "qemu-a", "cxl", "list", "-M", env=env).exit_code == 0
    assert marker.read_text() == "kept"


def test_bad_sim_names_and_fixtures_are_one_line(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path)}
    r = invoke("--sim", "../x", "cxl", "list", env=env)
    assert (r.exit_code, r.output) == (1, "cxltool: '../x': not a valid simulated system name\n")
    r = invoke("--sim", "nosuch", "cxl", "list", env=env)
    assert r.exit_code == 1 and r.output.startswith("cxltool: nosuch: no built-in fixture")
    assert len(r.output.splitlines()) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[platform]\nbogus = 1\n")
    r = invoke("sim", "new", str(bad), str(tmp_path / "out"))
    assert r.exit_code == 1
    assert r.output.startswith(f"cxltool sim: {bad}:2: platform.bogus: unknown key")
    assert not (tmp_path / "out").exists()
