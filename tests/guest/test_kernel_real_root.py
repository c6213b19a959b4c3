"""What only a real kernel can show: a user who is not root gets one line
with a hint for a refused change, nothing changes, and listing still works;
and `sim check` finds the kernel's own tree consistent, udev's enumeration of
the cxl and dax devices included.

A simulated system has no owner to refuse anyone (it is the user's own
sandbox), so this is checked on the kernel only. Marked `realkernel`.
"""

from __future__ import annotations

import os

import pytest

from cxltool.guest import parity
from cxltool.guest.scenario import Scenario, Step
from cxltool.guest.vm import boot_scenario
from cxltool.sim.topology import load_fixture

pytestmark = pytest.mark.realkernel

HINT = "changing CXL state needs root, try sudo"


def test_a_user_is_refused_in_one_line_and_the_tree_checks_clean(tmp_path, guest_kernel):
    steps = (
        Step("cxl list -M -u", user="nobody"),
        Step("sim check"),
        Step("cxl disable-memdev {mem:0x1}", capture="user-disable", user="nobody"),
        Step(
            "cxl create-region -m -d decoder0.0 -t ram {mem:0x1}",
            capture="user-create",
            user="nobody",
        ),
        Step("cxl create-region -m -d decoder0.0 -t ram {mem:0x1}", capture="root-create"),
        Step("daxctl reconfigure-device -m devdax -f dax0.0", capture="user-dax", user="nobody"),
        Step("cxl list -R -u", user="nobody"),
        Step("sim check"),
    )
    scenario = Scenario("users", "qemu-b", steps)
    run = boot_scenario(load_fixture("qemu-b"), scenario, tmp_path / "kernel")
    assert run.agent["udevd"] is False
    results, captures = parity.load_run(run.out)
    r = results["results"]
    assert r[0]["rc"] == 0 and '"memdev":' in r[0]["stdout"] and r[0]["stderr"] == ""
    # The checker finds nothing wrong with what the kernel made, before and after.
    for check in (r.pop(1), r.pop()):
        assert (check["rc"], check["stdout"], check["stderr"]) == (0, "", "/: consistent\n")
    for refused in (r[1], r[2], r[4]):
        assert refused["rc"] == 1, refused
        assert refused["stdout"] == ""
        lines = refused["stderr"].splitlines()
        assert len(lines) == 1 and lines[0].startswith("cxltool: "), refused["stderr"]
        assert "Permission denied (EACCES)" in lines[0] and lines[0].endswith(HINT)
    denied = "Permission denied (EACCES); " + HINT + "\n"
    # 6.12's root decoder start and dax resource are root-only; create-region and
    # reconfigure-device read them before their first write.
    assert r[2]["stderr"] == "cxltool: decoder0.0: cannot read start: " + denied
    assert r[4]["stderr"] == "cxltool: dax0.0: cannot read resource: " + denied
    assert r[3]["rc"] == 0
    assert '"region":"region0"' in r[5]["stdout"]
    same = parity.Translation((), 0)
    # Refused as a user, the system is as it was.
    assert parity.compare_captures(captures["boot"], captures["user-disable"], same) == []
    assert parity.compare_captures(captures["boot"], captures["user-create"], same) == []
    assert parity.compare_captures(captures["root-create"], captures["user-dax"], same) == []


def test_with_udevd_the_binds_wait_for_udev_and_go_on(tmp_path, guest_kernel):
    """udevd runs in the guest, as on a distribution: every bind waits until
    udevd has passed on its event and drained its queue, and must not run into
    the wait's time limit (5 s), which a lost or misread event would."""
    if not any(
        os.path.exists(os.path.join(d, "systemd-udevd"))
        for d in ("/lib/systemd", "/usr/lib/systemd")
    ):
        pytest.skip("no systemd-udevd on this host (harness/prepare installs udev)")
    steps = (
        Step("cxl create-region -m -d decoder0.0 -t ram {mem:0x1}", capture="region"),
        Step("daxctl reconfigure-device -m devdax -f dax0.0"),
        Step("daxctl reconfigure-device -m system-ram --no-movable dax0.0"),
        Step("cxl disable-region -f region0"),
        Step("cxl enable-region region0"),
        Step("cxl disable-memdev {mem:0x2}"),
        Step("cxl enable-memdev {mem:0x2}"),
        Step("cxl disable-port -f port1"),
        Step("cxl enable-port -m port1", capture="port-back"),
        Step("cxl list -M -u"),
        Step("sim check"),
    )
    scenario = Scenario("udevd", "qemu-b", steps)
    run = boot_scenario(load_fixture("qemu-b"), scenario, tmp_path / "kernel", udevd=True)
    assert run.agent["udevd"] is True
    results = run.results["results"]
    for r in results:
        assert r["rc"] == 0, r
        # A wait that runs out costs its whole 5 s; a bind takes about 1 s here.
        assert r["wall_ms"] < 4500, r
    assert results[-1]["stderr"] == "/: consistent\n"
    listed = results[-2]["stdout"]
    assert listed.count('"memdev":') == 2
