"""What only a real kernel can show: a user who is not root gets one line
with a hint for a refused change, nothing changes, and listing still works;
and `sim check` finds the kernel's own tree consistent, udev's enumeration of
the cxl and dax devices included.

A simulated system has no owner to refuse anyone (it is the user's own
sandbox), so this is checked on the kernel only. Marked `realkernel`.
"""

from __future__ import annotations

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
