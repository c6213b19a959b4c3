"""The mailbox on a real kernel: cxltool's `cxl list -H -I -A -F` and `-vvv` in a QEMU
guest (Linux 6.12, QEMU's type-3 devices) print what the real ndctl v81 printed on
the same devices (tests/data/captures/*-v81), and `set-partition` refuses as ndctl
does: QEMU's devices report no partition alignment, so nothing can be repartitioned
(QEMU implements neither SET_PARTITION_INFO nor, in 10.0, GET_HEALTH_INFO or
GET_ALERT_CONFIG, so `health` and `alert_config` are absent there as well).

A guest numbers memdevs and endpoints in the order their probes finish, so the
guest's names are mapped to the recorded run's by device serial first; when the
numbering differs, arrays are compared without regard to their order.

Slow (a guest boot): marked `realkernel`, run with `python -m pytest -m realkernel`.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.newer_keys import strip_newer
from tests.transcripts import state_of, steps

pytestmark = pytest.mark.realkernel

LIST_H = ("cxl", "list", "-M", "-H", "-I", "-A", "-u")
LIST_F = ("cxl", "list", "-M", "-H", "-I", "-A", "-F", "-u")
LIST_VVV = ("cxl", "list", "-vvv")
RUNS = {"qemu-b": "b-v81", "qemu-c": "c-v81"}


def _recorded(run: str, argv: tuple[str, ...]):
    """The step `argv` of the recorded run, on the state the guest boots into."""
    seen = state_of(run)
    return next(s for s in steps(run) if s.argv == argv and seen.get(s.index) == "before")


def _memdevs(doc) -> list[dict]:
    """Every memdev object in a listing, wherever it is nested."""
    found = []

    def visit(value) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("memdev"), str) and "serial" in value:
                found.append(value)
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    visit(doc)
    return found


def _endpoints(doc) -> dict[str, str]:
    """memdev name -> the endpoint port that hosts it."""
    out = {}

    def visit(value) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("endpoint"), str):
                out[value["host"]] = value["endpoint"]
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    visit(doc)
    return out


def _names(doc) -> dict[int, str]:
    return {int(str(m["serial"]), 0): m["memdev"] for m in _memdevs(doc)}


def _renaming(guest, recorded) -> dict[str, str]:
    """Guest names -> the recorded run's, for memdevs, endpoints and their decoders."""
    ours, theirs = _names(guest), _names(recorded)
    names = {ours[s]: theirs[s] for s in ours if s in theirs}
    ep_ours, ep_theirs = _endpoints(guest), _endpoints(recorded)
    for mem, mapped in list(names.items()):
        if mem in ep_ours and mapped in ep_theirs:
            a, b = ep_ours[mem], ep_theirs[mapped]
            names[a] = b
            names["decoder" + a.removeprefix("endpoint") + "."] = (
                "decoder" + b.removeprefix("endpoint") + "."
            )
    return {k: v for k, v in names.items() if k != v}


def _rename(text: str, names: dict[str, str]) -> str:
    """All renamings at once; `memN` does not match `memNM`, a `decoderN.` prefix does."""
    if not names:
        return text
    alternatives = [
        rf"\b{re.escape(k)}" + ("" if k.endswith(".") else "(?![0-9])")
        for k in sorted(names, key=len, reverse=True)
    ]
    return re.sub("|".join(alternatives), lambda m: names[m.group(0)], text)


def _unordered(value):
    if isinstance(value, dict):
        return {k: _unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_unordered(v) for v in value), key=lambda v: json.dumps(v))
    return value


def _assert_same_listing(guest_out: str, recorded_out: str, names: dict[str, str]) -> None:
    """Equal listings: to the byte when the guest numbered everything as the recorded
    run did, else after renaming, with arrays in any order (the kernel lists devices
    in an order that follows their names)."""
    recorded = json.loads(recorded_out)
    guest = strip_newer(json.loads(guest_out), "81")
    if not names:
        assert json.dumps(guest) == json.dumps(recorded)
        assert guest_out == recorded_out
        return
    guest = json.loads(_rename(json.dumps(guest), names))
    assert json.dumps(_unordered(guest)) == json.dumps(_unordered(recorded))


def _with_firmware(listing: str, vvv: str) -> str:
    """A recorded `-M -H -I -A -u` listing with each memdev's `firmware` object (from
    the recorded `-vvv`), where `-F` puts it: after `partition_info`."""
    firmware = {m["serial"]: m["firmware"] for m in _memdevs(json.loads(vvv))}
    out = []
    for m in json.loads(listing):
        m = dict(m)
        m["firmware"] = firmware[int(m["serial"], 0)]
        out.append(m)
    from cxltool.cli import jsonc

    return jsonc.dumps(out)


@pytest.mark.parametrize("fixture", sorted(RUNS))
def test_mailbox_objects_equal_ndctls(fixture, tmp_path, guest_kernel):
    from cxltool.guest.scenario import Scenario, Step
    from cxltool.guest.vm import boot_scenario
    from cxltool.sim.topology import load_fixture

    run = RUNS[fixture]
    topology = load_fixture(fixture)
    serials = sorted(d.serial for d in topology.devices())
    commands = [LIST_H, LIST_F, LIST_VVV]
    partition = [
        f"cxl set-partition {{mem:{serials[0]:#x}}}",
        f"cxl set-partition {{mem:{serials[-1]:#x}}} -t ram -s 256M",
    ]
    scenario = Scenario(
        "mailbox", fixture, tuple(Step(" ".join(c)) for c in commands) + tuple(map(Step, partition))
    )
    results = boot_scenario(topology, scenario, tmp_path / "guest").results["results"]
    by_argv = {tuple(r["argv"]): r for r in results}

    listed_h, listed_vvv = _recorded(run, LIST_H), _recorded(run, LIST_VVV)
    # Memdevs and endpoints as the guest numbered them -> as the recorded run did;
    # `-vvv` shows both (the endpoints' numbers also decide the order of `-M`).
    names = _renaming(json.loads(by_argv[LIST_VVV]["stdout"]), json.loads(listed_vvv.stdout))
    for argv, want_out in (
        (LIST_H, listed_h.stdout),
        (LIST_F, _with_firmware(listed_h.stdout, listed_vvv.stdout)),
        (LIST_VVV, listed_vvv.stdout),
    ):
        got = by_argv[argv]
        assert (got["rc"], got["stderr"]) == (0, ""), argv
        _assert_same_listing(got["stdout"], want_out, names)

    # QEMU's devices have no partitionable capacity: ndctl refuses before sending.
    for r in results[len(commands) :]:
        name = r["argv"][2]
        assert (r["rc"], r["stdout"]) == (1, "[\n]\n")
        assert r["stderr"] == (
            f"cxl memdev: validate_partition: {name}: no available capacity\n"
            "  Warning: no matching devices found\n\n"
            "cxl memdev: cmd_set_partition: set_partition 0 mem\n"
        )
