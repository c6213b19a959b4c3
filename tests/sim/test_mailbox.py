"""Mailbox answers: the fixture's `mailbox` keys (sim/topology.py) and the memN.json
files the builder writes for `cxl list -H/-A/-I/-F` (sim/build.py)."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from cxltool.cli import jsonc
from cxltool.sim import build as build_mod
from cxltool.sim import device_mailbox
from cxltool.sim.build import build_tree
from cxltool.sim.topology import FixtureError, load_fixture
from cxltool.sysfs.root import META_DIR
from tests.newer_keys import strip_newer
from tests.sim.capture_data import C_V81_NUMBERING
from tests.transcripts import run_cxltool, state_of, steps

GiB = 1 << 30
MiB = 1 << 20

# ---------------------------------------------------------------------------
# The QEMU fixtures answer what QEMU 10's devices answered in the captured runs
# ---------------------------------------------------------------------------

BUILDS = {
    "a": ("qemu-a", None),
    "b": ("qemu-b", None),
    "c-v81": ("qemu-c", C_V81_NUMBERING),
    "c": ("qemu-c", None),
}
# (run, build, command): the v81 runs for both commands; the 76.1 runs too for the
# one whose meaning did not change (76.1's -vvv left firmware out).
CASES = [
    ("a-v81", "a", ("-vvv",)),
    ("a-v81", "a", ("-M", "-H", "-I", "-A", "-u")),
    ("b-v81", "b", ("-vvv",)),
    ("b-v81", "b", ("-M", "-H", "-I", "-A", "-u")),
    ("c-v81", "c-v81", ("-vvv",)),
    ("c-v81", "c-v81", ("-M", "-H", "-I", "-A", "-u")),
    ("a-debian", "a", ("-M", "-H", "-I", "-A", "-u")),
    ("b-debian", "b", ("-M", "-H", "-I", "-A", "-u")),
    ("c-debian", "c", ("-M", "-H", "-I", "-A", "-u")),
]


@pytest.fixture(scope="module")
def qemu_tree(tmp_path_factory):
    trees: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in trees:
            fixture, numbering = BUILDS[name]
            topo = load_fixture(fixture)
            if numbering:
                topo = topo.with_devices(numbering)
            dest = str(tmp_path_factory.mktemp(name) / "root")
            build_tree(topo, dest)
            trees[name] = dest
        return trees[name]

    return get


def _before_step(run: str, options: tuple[str, ...]):
    seen = state_of(run)
    found = [
        s
        for s in steps(run)
        if s.argv == ("cxl", "list", *options) and seen.get(s.index) == "before"
    ]
    assert found, f"{run} has no `cxl list {' '.join(options)}` in its before state"
    return found[0]


@pytest.mark.parametrize(
    ("run", "build", "options"), CASES, ids=[f"{r}-{'_'.join(o)}" for r, _, o in CASES]
)
def test_recorded_listing_of_the_boot_state(run, build, options, qemu_tree):
    step = _before_step(run, options)
    rc, out, err = run_cxltool(qemu_tree(build), list(step.argv))
    assert (rc, err) == (step.rc, step.stderr)
    version = "76.1" if run.endswith("-debian") else "81"
    assert jsonc.dumps(strip_newer(json.loads(out), version)) == step.stdout


def test_qemu_device_files(qemu_tree):
    box = os.path.join(qemu_tree("c"), META_DIR, build_mod.MAILBOX_DIR)
    assert sorted(os.listdir(box)) == ["mem0.json", "mem1.json", "mem2.json", "mem3.json"]
    with open(os.path.join(box, "mem2.json")) as f:
        pmem = json.load(f)
    assert pmem == {
        "partition_info": {
            "total_size": 256 * MiB,
            "volatile_only_size": 0,
            "persistent_only_size": 256 * MiB,
            "partition_alignment_size": 0,
        },
        "firmware": {
            "num_slots": 2,
            "active_slot": 1,
            "online_activate_capable": True,
            "slot_1_version": "BWFW VERSION 0",
            "fw_update_in_progress": False,
        },
    }


def test_builder_writes_where_listing_reads():
    assert build_mod.MAILBOX_DIR == device_mailbox.MAILBOX_DIR


# ---------------------------------------------------------------------------
# cxl_test: the mock's partition layout and firmware slots
# ---------------------------------------------------------------------------


def test_cxl_test_answers(tmp_path):
    topo = load_fixture("cxl_test")
    answers = {d.host: d.mailbox_answers() for d in topo.devices()}
    for host, answer in answers.items():
        assert set(answer) == {"partition_info", "firmware"}, host
        assert answer["firmware"] == {
            "num_slots": 3,
            "active_slot": 2,
            "online_activate_capable": False,
            "slot_1_version": "cxl_test_fw_001",
            "slot_2_version": "cxl_test_fw_002",
            "slot_3_version": "cxl_test_fw_003",
            "fw_update_in_progress": False,
        }
    assert answers["cxl_mem.0"]["partition_info"] == {
        "total_size": 2 * GiB,
        "volatile_only_size": 0,
        "persistent_only_size": 0,
        "partition_alignment_size": 256 * MiB,
        "active_volatile_size": GiB,
        "active_persistent_size": GiB,
        "next_volatile_size": 0,
        "next_persistent_size": 0,
    }
    assert answers["cxl_rcd.10"]["partition_info"] == {
        "total_size": 2 * GiB,
        "volatile_only_size": 2 * GiB,
        "persistent_only_size": 0,
        "partition_alignment_size": 0,
    }


# ---------------------------------------------------------------------------
# Answers a fixture gives, and devices that answer nothing
# ---------------------------------------------------------------------------

ONE_HB = """\
[[host_bridges]]
bus = 0x0c

  [[host_bridges.windows]]
  base = 0x490000000
  size = "4G"

  [[host_bridges.root_ports]]
  port = 0
  device = {{ serial = 1, ram = "512M", pmem = "256M"{extra} }}

  [[host_bridges.root_ports]]
  port = 1

    [host_bridges.root_ports.device]
    serial = 2
    ram = "256M"
{tables}"""

SICK = """
    [host_bridges.root_ports.device.mailbox.health]
    temperature = 40
    media_data_lost = true
    dirty_shutdowns = 3

    [host_bridges.root_ports.device.mailbox.alert_config]
    life_used_prog_warn_threshold_valid = true
    life_used_prog_warn_threshold = 75

    [host_bridges.root_ports.device.mailbox.firmware]
    num_slots = 3
    staged_slot = 3
    slot_3_version = "NEXT"
"""


def fixture_text(extra: str = "", tables: str = "") -> str:
    return ONE_HB.format(extra=extra, tables=tables)


def build_text(tmp_path, text: str) -> str:
    path = tmp_path / "fx.toml"
    path.write_text(text)
    dest = str(tmp_path / "root")
    build_tree(load_fixture(str(path)), dest)
    return dest


def test_given_answers_are_listed_in_ndctl_order(tmp_path):
    dest = build_text(tmp_path, fixture_text(tables=SICK))
    rc, out, err = run_cxltool(dest, ["cxl", "list", "-m", "mem1", "-H", "-A", "-F"])
    assert (rc, err) == (0, "")
    mem = json.loads(out)[0]
    assert list(mem) == [
        "memdev",
        "ram_size",
        "health",
        "alert_config",
        "serial",
        "host",
        "firmware_version",
        "firmware",
    ]
    health = mem["health"]
    assert list(health)[:4] == [
        "maintenance_needed",
        "performance_degraded",
        "hw_replacement_needed",
        "media_normal",
    ]
    assert health["media_normal"] is False and health["media_data_lost"] is True
    assert "life_used_percent" not in health
    assert list(health)[-4:] == ["temperature", "dirty_shutdowns", "volatile_errors", "pmem_errors"]
    assert (health["temperature"], health["dirty_shutdowns"]) == (40, 3)
    alerts = mem["alert_config"]
    assert len(alerts) == 18
    assert list(alerts)[0] == "life_used_prog_warn_threshold_valid"
    assert list(alerts)[5] == "life_used_prog_warn_threshold_writable"
    assert alerts["life_used_prog_warn_threshold_valid"] is True
    assert alerts["life_used_prog_warn_threshold"] == 75
    assert mem["firmware"] == {
        "num_slots": 3,
        "active_slot": 1,
        "staged_slot": 3,
        "online_activate_capable": True,
        "slot_1_version": "BWFW VERSION 0",
        "slot_3_version": "NEXT",
        "fw_update_in_progress": False,
    }


def test_aligned_partitions_print_human_sizes(tmp_path):
    dest = build_text(tmp_path, fixture_text(extra=', partition_alignment = "256M"'))
    rc, out, _ = run_cxltool(dest, ["cxl", "list", "-m", "mem0", "-I", "-u"])
    assert rc == 0
    assert json.loads(out)["partition_info"] == {
        "total_size": "768.00 MiB (805.31 MB)",
        "volatile_only_size": 0,
        "persistent_only_size": 0,
        "partition_alignment_size": "256.00 MiB (268.44 MB)",
        "active_volatile_size": "512.00 MiB (536.87 MB)",
        "active_persistent_size": "256.00 MiB (268.44 MB)",
        "next_volatile_size": 0,
        "next_persistent_size": 0,
    }


def test_a_silent_mailbox_writes_no_file(tmp_path):
    dest = build_text(tmp_path, fixture_text(extra=", mailbox = false"))
    box = os.path.join(dest, META_DIR, build_mod.MAILBOX_DIR)
    assert os.listdir(box) == ["mem1.json"]
    rc, out, err = run_cxltool(dest, ["cxl", "list", "-m", "mem0", "-H", "-I", "-A", "-F"])
    assert (rc, err) == (0, "")
    assert not {"health", "alert_config", "partition_info", "firmware"} & set(json.loads(out)[0])


def test_single_commands_can_fail(tmp_path):
    extra = ", mailbox = { partition_info = false, health = true }"
    dest = build_text(tmp_path, fixture_text(extra=extra))
    with open(os.path.join(dest, META_DIR, build_mod.MAILBOX_DIR, "mem0.json")) as f:
        answers = json.load(f)
    assert list(answers) == ["health", "firmware"]
    assert answers["health"]["media_normal"] is True


def test_no_answers_at_all_no_directory(tmp_path):
    text = fixture_text(extra=", mailbox = false", tables="    mailbox = false\n")
    dest = build_text(tmp_path, text)
    assert not os.path.exists(os.path.join(dest, META_DIR, build_mod.MAILBOX_DIR))


# ---------------------------------------------------------------------------
# Validation: file, key path, line and reason
# ---------------------------------------------------------------------------

DEV0 = "host_bridges[0].root_ports[0].device"
BOX1 = "host_bridges[0].root_ports[1].device.mailbox"


def error_of(fs, text: str) -> FixtureError:
    fs.create_file("/fx/test.toml", contents=textwrap.dedent(text))
    with pytest.raises(FixtureError) as info:
        load_fixture("/fx/test.toml")
    return info.value


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        (", mailbox = 3", f"{DEV0}.mailbox", "true, false or a table"),
        (", mailbox = { smart = true }", f"{DEV0}.mailbox.smart", "unknown key"),
        (", mailbox = { health = 1 }", f"{DEV0}.mailbox.health", "true, false or a table"),
        (
            ', mailbox = { health = { ext_temperature = "hot" } }',
            f"{DEV0}.mailbox.health.ext_temperature",
            "one of normal, warning, critical, unknown",
        ),
        (
            ', mailbox = { health = { ext_corrected_volatile = "critical" } }',
            f"{DEV0}.mailbox.health.ext_corrected_volatile",
            "one of normal, warning, unknown",
        ),
        (
            ", mailbox = { health = { life_used_percent = 101 } }",
            f"{DEV0}.mailbox.health.life_used_percent",
            "at most 100",
        ),
        (
            ", mailbox = { health = { temperature = 65535 } }",
            f"{DEV0}.mailbox.health.temperature",
            "at most 65534",
        ),
        (
            ", mailbox = { health = { pmem_errors = -1 } }",
            f"{DEV0}.mailbox.health.pmem_errors",
            "at least 0",
        ),
        (
            ', mailbox = { health = { maintenance_needed = "yes" } }',
            f"{DEV0}.mailbox.health.maintenance_needed",
            "true or false",
        ),
        (
            ", mailbox = { health = { media_not_ready = true, media_data_lost = true } }",
            f"{DEV0}.mailbox.health.media_data_lost",
            "one media status",
        ),
        (
            ", mailbox = { alert_config = { corrected_pmem_err_prog_warn_threshold = 70000 } }",
            f"{DEV0}.mailbox.alert_config.corrected_pmem_err_prog_warn_threshold",
            "at most 65535",
        ),
        (
            ", mailbox = { alert_config = { life_used_alert = true } }",
            f"{DEV0}.mailbox.alert_config.life_used_alert",
            "unknown key",
        ),
        (
            ', partition_alignment = "100M"',
            f"{DEV0}.partition_alignment",
            "multiple of 256M",
        ),
        (
            ', partition_alignment = "512M"',
            f"{DEV0}.partition_alignment",
            "pmem (256M) must be persistent_only_size (0) plus a multiple",
        ),
        (
            ', mailbox = { partition_info = { total_size = "1G" } }',
            f"{DEV0}.mailbox.partition_info.total_size",
            "ram + pmem (768M)",
        ),
        (
            ', mailbox = { partition_info = { volatile_only_size = "100M" } }',
            f"{DEV0}.mailbox.partition_info.volatile_only_size",
            "256M units",
        ),
        (
            ', mailbox = { partition_info = { volatile_only_size = "256M" } }',
            f"{DEV0}.mailbox.partition_info.volatile_only_size",
            "the device's ram (512M)",
        ),
        (
            ', mailbox = { partition_info = { next_volatile_size = "512M" } }',
            f"{DEV0}.mailbox.partition_info.next_volatile_size",
            "non-zero partition_alignment_size",
        ),
        (
            ', mailbox = { partition_info = { partition_alignment_size = "256M", '
            'active_volatile_size = "256M" } }',
            f"{DEV0}.mailbox.partition_info.active_volatile_size",
            "the device's ram (512M)",
        ),
        (
            ', mailbox = { partition_info = { partition_alignment_size = "512M", '
            'volatile_only_size = "512M" } }',
            f"{DEV0}.mailbox.partition_info",
            "pmem (256M) must be persistent_only_size (0) plus a multiple",
        ),
        (
            ', mailbox = { partition_info = { partition_alignment_size = "256M", '
            'next_volatile_size = "512M" } }',
            f"{DEV0}.mailbox.partition_info.next_volatile_size",
            "no change pending",
        ),
        (
            ', partition_alignment = "256M", '
            'mailbox = { partition_info = { partition_alignment_size = "512M" } }',
            f"{DEV0}.mailbox.partition_info.partition_alignment_size",
            "differs from the device's partition_alignment (256M)",
        ),
        (
            ", mailbox = { firmware = { num_slots = 5 } }",
            f"{DEV0}.mailbox.firmware.num_slots",
            "at most 4",
        ),
        (
            ", mailbox = { firmware = { active_slot = 3 } }",
            f"{DEV0}.mailbox.firmware.active_slot",
            "beyond num_slots (2)",
        ),
        (
            ", mailbox = { firmware = { num_slots = 1, staged_slot = 2 } }",
            f"{DEV0}.mailbox.firmware.staged_slot",
            "beyond num_slots (1)",
        ),
        (
            ', mailbox = { firmware = { slot_3_version = "X" } }',
            f"{DEV0}.mailbox.firmware.slot_3_version",
            "no slot 3",
        ),
        (
            ', mailbox = { firmware = { slot_2_version = "0123456789abcdefg" } }',
            f"{DEV0}.mailbox.firmware.slot_2_version",
            "16 printable ASCII",
        ),
        (
            ", mailbox = { firmware = { slot_2_version = 2 } }",
            f"{DEV0}.mailbox.firmware.slot_2_version",
            "must be a string",
        ),
        (
            ", mailbox = { firmware = { slot_5_version = 2 } }",
            f"{DEV0}.mailbox.firmware.slot_5_version",
            "unknown key",
        ),
        (
            ", mailbox = { firmware = { fw_update_in_progress = true } }",
            f"{DEV0}.mailbox.firmware.fw_update_in_progress",
            "no update is in progress",
        ),
        (
            ', mailbox = { firmware = { remaining_size = "256M" } }',
            f"{DEV0}.mailbox.firmware.remaining_size",
            "while an update is in progress",
        ),
    ],
)
def test_inline_errors(fs, extra, key, words):
    err = error_of(fs, fixture_text(extra=extra))
    assert err.key == key, str(err)
    assert words in err.reason, str(err)
    assert err.file == "/fx/test.toml"
    assert err.line == 10, str(err)  # the device's inline table


def test_error_in_a_sub_table_names_its_line(fs):
    tables = SICK.replace(
        "    dirty_shutdowns = 3\n", "    dirty_shutdowns = 3\n    tempurature = 1\n"
    )
    err = error_of(fs, fixture_text(tables=tables))
    assert err.key == f"{BOX1}.health.tempurature"
    assert "unknown key" in err.reason and "temperature" in err.reason
    assert err.line == 23
    assert str(err).startswith(f"/fx/test.toml:23: {BOX1}.health.tempurature: unknown key")


def test_firmware_error_in_a_sub_table(fs):
    tables = SICK.replace("num_slots = 3", "num_slots = 2")
    err = error_of(fs, fixture_text(tables=tables))
    assert err.key == f"{BOX1}.firmware.staged_slot"
    assert err.line == 30


def test_mock_defaults_shrink_with_fewer_slots(fs):
    text = textwrap.dedent(
        """\
        [platform]
        kind = "cxl_test"
        [[host_bridges]]
        uid = 0
          [[host_bridges.windows]]
          base = 0x3ff010000000
          size = "1G"
          [[host_bridges.root_ports]]
          port = 0
          device = { serial = 1, ram = "1G", mailbox = { firmware = { num_slots = 2 } } }
        """
    )
    fs.create_file("/fx/mock.toml", contents=text)
    (dev,) = load_fixture("/fx/mock.toml").devices()
    firmware = dev.mailbox_answers()["firmware"]
    assert (firmware["num_slots"], firmware["active_slot"]) == (2, 2)
    assert "slot_3_version" not in firmware
    assert firmware["slot_2_version"] == "cxl_test_fw_002"
