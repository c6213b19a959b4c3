"""What a decoder reset leaves behind: it clears only the commit bit, so a port
probed again shows the ways, granularity and (switch) targets last committed
to each idle decoder, as Linux 6.12 on QEMU does after disable-port/enable-port
or a cxl_acpi rebind (tests/guest/test_kernel_parity.py found both)."""

from __future__ import annotations

from cxltool.sim.build import build_tree
from cxltool.sim.topology import load_fixture
from cxltool.sysfs import open_root, paths
from tests.kernel.test_cxl_drivers import endpoint_of
from tests.transcripts import run_cxltool

DEVS = paths.CXL_DEVICES


def _tree(tmp_path, fixture: str) -> str:
    dest = str(tmp_path / "root")
    build_tree(load_fixture(fixture), dest)
    return dest


def _attr(base: str, decoder: str, name: str) -> str:
    return open_root(base).read(f"{DEVS}/{decoder}/{name}")


def _ok(base: str, *argv: str) -> None:
    rc, _out, err = run_cxltool(base, list(argv))
    assert rc == 0, err


def test_a_port_probed_again_shows_the_last_committed_granularity(tmp_path):
    base = _tree(tmp_path, "qemu-b")
    assert _attr(base, "decoder1.0", "interleave_granularity") == "256"
    _ok(base, "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "-g", "512", "mem0")
    _ok(base, "cxl", "destroy-region", "-f", "region0")
    # Still the live decoder objects: the reset left the attributes as they are.
    _ok(base, "cxl", "disable-port", "-f", "port1")
    _ok(base, "cxl", "enable-port", "-m", "port1")
    assert _attr(base, "decoder1.0", "interleave_granularity") == "512"
    assert _attr(base, "decoder1.1", "interleave_granularity") == "256"
    endpoint = endpoint_of(open_root(base), "mem0")
    assert _attr(base, f"decoder{endpoint[8:]}.0", "interleave_granularity") == "512"


def test_a_switch_port_probed_again_shows_the_last_committed_targets(tmp_path):
    base = _tree(tmp_path, "qemu-c")
    # mem2 (serial 0x12) sits behind the switch's dport 2.
    _ok(base, "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "pmem", "mem2")
    assert _attr(base, "decoder2.0", "target_list") == "2"
    _ok(base, "cxl", "destroy-region", "-f", "region0")
    root = open_root(base)
    root.write(paths.SYS + "/bus/platform/drivers/cxl_acpi/unbind", "ACPI0017:00\n")
    root = open_root(base)
    root.write(paths.SYS + "/bus/platform/drivers/cxl_acpi/bind", "ACPI0017:00\n")
    assert _attr(base, "decoder2.0", "target_list") == "2"
    assert _attr(base, "decoder2.1", "target_list") == "0"
