"""The kernel's mailbox: payload decoding, the ioctl layer, libcxl's command flow and
its error lines, and `cxl list`/`set-partition` on a root whose nodes answer like
the kernel (a fake ioctl; see tests/cxl_kernel_fake.py)."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil

import pytest

from cxltool.sysfs import Root, mailbox, mailbox_ioctl
from cxltool.sysfs import mailbox_payloads as payloads
from cxltool.sysfs.mailbox import Sent
from cxltool.sysfs.mailbox_ioctl import MemdevNode
from cxltool.sysfs.mailbox_kernel import KernelMailbox
from tests import cxl_kernel_fake as fake
from tests.transcripts import run_cxltool, state_of, steps

MiB = 1 << 20
GiB = 1 << 30


# -- payloads ----------------------------------------------------------------------------
def test_ioctl_numbers_are_the_uapi_ones():
    assert mailbox_ioctl.QUERY_COMMANDS == fake.QUERY_COMMANDS
    assert mailbox_ioctl.SEND_COMMAND == fake.SEND_COMMAND


def test_identify_and_partition_info():
    raw = fake.identify(2 * GiB, 512 * MiB, 256 * MiB, 256 * MiB, fw="FW 1", lsa=0x1000)
    assert len(raw) == payloads.IDENTIFY_SIZE
    assert payloads.identify_partitions(raw) == {
        "total_size": 2 * GiB,
        "volatile_only_size": 512 * MiB,
        "persistent_only_size": 256 * MiB,
        "partition_alignment_size": 256 * MiB,
    }
    part = fake.partition(1 * GiB, 1 * GiB, 768 * MiB, 1280 * MiB)
    assert payloads.partition_info(part) == {
        "active_volatile_size": 1 * GiB,
        "active_persistent_size": 1 * GiB,
        "next_volatile_size": 768 * MiB,
        "next_persistent_size": 1280 * MiB,
    }


def test_capacities_wrap_at_64_bits_as_libcxl_multiplies():
    raw = bytes(16) + (1 << 40).to_bytes(8, "little") + bytes(payloads.IDENTIFY_SIZE - 24)
    assert payloads.identify_partitions(raw)["total_size"] == ((1 << 40) * 256 * MiB) % (1 << 64)


def test_health_bits():
    raw = fake.health(
        status=0b101, media=3, ext=1 | 2 << 2 | 1 << 4, life_used=42, temperature=37,
        dirty=7, vol=0xFFFFFFFF, pmem=5,
    )  # fmt: skip
    assert len(raw) == payloads.HEALTH_INFO_SIZE
    assert payloads.health_info(raw) == {
        "maintenance_needed": True,
        "performance_degraded": False,
        "hw_replacement_needed": True,
        "media_normal": False,
        "media_not_ready": False,
        "media_persistence_lost": False,
        "media_data_lost": True,
        "media_powerloss_persistence_loss": False,
        "media_shutdown_persistence_loss": False,
        "media_persistence_loss_imminent": False,
        "media_powerloss_data_loss": False,
        "media_shutdown_data_loss": False,
        "media_data_loss_imminent": False,
        "ext_life_used": "warning",
        "ext_temperature": "critical",
        "ext_corrected_volatile": "warning",
        "ext_corrected_persistent": "normal",
        "life_used_percent": 42,
        "temperature": 37,
        "dirty_shutdowns": 7,
        "volatile_errors": 0xFFFFFFFF,
        "pmem_errors": 5,
    }


def test_health_values_not_reported_and_unknown_levels():
    got = payloads.health_info(fake.health(media=0x42, ext=3 | 3 << 2 | 1 << 5, life_used=0xFF,
                                           temperature=0xFFFF))  # fmt: skip
    assert "life_used_percent" not in got and "temperature" not in got
    assert not any(got[m] for m in payloads.MEDIA_STATES)
    assert (got["ext_life_used"], got["ext_temperature"]) == ("unknown", "unknown")
    assert got["ext_corrected_persistent"] == "warning"
    # The order ndctl prints, whatever is left out.
    assert list(got)[-3:] == ["dirty_shutdowns", "volatile_errors", "pmem_errors"]


def test_alert_config():
    raw = fake.alert_config(0b10011, 0b01100, 90, 75, 70, 0xFFEC, 60, 5, 12, 34)
    assert len(raw) == payloads.ALERT_CONFIG_SIZE
    assert payloads.alert_config(raw) == {
        "life_used_prog_warn_threshold_valid": True,
        "dev_over_temperature_prog_warn_threshold_valid": True,
        "dev_under_temperature_prog_warn_threshold_valid": False,
        "corrected_volatile_mem_err_prog_warn_threshold_valid": False,
        "corrected_pmem_err_prog_warn_threshold_valid": True,
        "life_used_prog_warn_threshold_writable": False,
        "dev_over_temperature_prog_warn_threshold_writable": False,
        "dev_under_temperature_prog_warn_threshold_writable": True,
        "corrected_volatile_mem_err_prog_warn_threshold_writable": True,
        "corrected_pmem_err_prog_warn_threshold_writable": False,
        "life_used_crit_alert_threshold": 90,
        "life_used_prog_warn_threshold": 75,
        "dev_over_temperature_crit_alert_threshold": 70,
        "dev_under_temperature_crit_alert_threshold": 0xFFEC,
        "dev_over_temperature_prog_warn_threshold": 60,
        "dev_under_temperature_prog_warn_threshold": 5,
        "corrected_volatile_mem_err_prog_warn_threshold": 12,
        "corrected_pmem_err_prog_warn_threshold": 34,
    }


def test_fw_info_slots():
    raw = fake.fw_info(3, 2, 3, 0, "fw-one", "", "0123456789abcdef")
    assert len(raw) == payloads.FW_INFO_SIZE
    assert payloads.fw_info(raw) == {
        "num_slots": 3,
        "active_slot": 2,
        "staged_slot": 3,
        "online_activate_capable": False,
        "slot_1_version": "fw-one",
        "slot_3_version": "0123456789abcdef",
    }
    # A staged slot beyond the slots there are is not shown.
    assert "staged_slot" not in payloads.fw_info(fake.fw_info(2, 1, 3, 1, "a"))


def test_what_qemu_answered():
    # Bytes QEMU 10's type-3 device returned under Linux 6.12 (a 256M pmem device).
    ident = bytes.fromhex(
        "425746572056455253494f4e2030300001000000000000000000000000000000"
        "0100000000000000000000000000000000000000000000000000000010000100"
        "00000000"
    )[: payloads.IDENTIFY_SIZE].ljust(payloads.IDENTIFY_SIZE, b"\0")
    assert payloads.identify_partitions(ident) == {
        "total_size": 256 * MiB,
        "volatile_only_size": 0,
        "persistent_only_size": 256 * MiB,
        "partition_alignment_size": 0,
    }
    fw = bytes.fromhex("0201010000000000000000000000000042574657205645525349" + "4f4e2030")
    assert payloads.fw_info(fw.ljust(payloads.FW_INFO_SIZE, b"\0")) == {
        "num_slots": 2,
        "active_slot": 1,
        "online_activate_capable": True,
        "slot_1_version": "BWFW VERSION 0",
    }


def test_set_partition_input():
    assert payloads.set_partition(768 * MiB) == (3).to_bytes(8, "little") + b"\0"
    assert payloads.set_partition(0, immediate=True)[-1] == 1


# -- the node and the command flow ---------------------------------------------------------
@pytest.fixture
def node_tree(tmp_path, monkeypatch):
    """A root whose /dev/cxl/mem0 is /dev/null and mem1 /dev/zero, answered by a fake kernel."""
    (tmp_path / "dev" / "cxl").mkdir(parents=True)
    os.symlink("/dev/null", tmp_path / "dev/cxl/mem0")
    os.symlink("/dev/zero", tmp_path / "dev/cxl/mem1")
    kernel = fake.FakeCxlKernel({"/dev/null": fake.FakeDevice(), "/dev/zero": fake.FakeDevice()})
    monkeypatch.setattr(fcntl, "ioctl", kernel)
    return tmp_path, kernel


def _mailbox(base, name="mem0"):
    lines: list[str] = []
    root = Root(str(base))
    box = KernelMailbox(
        root, name, f"/sys/devices/x/{name}", lambda f, m: lines.append(f"{f}: {m}")
    )
    return box, lines


def test_query_lists_the_drivers_commands(node_tree):
    base, kernel = node_tree
    node = MemdevNode(str(base), "mem0")
    assert node.count_commands() == len(fake.QEMU_QUERY)
    infos = node.query_commands(node.count_commands())
    assert [(i.id, i.flags, i.size_in, i.size_out) for i in infos] == fake.QEMU_QUERY
    assert len(node.query_commands(3)) == 3


def test_answers_of_a_qemu_like_device(node_tree):
    base, kernel = node_tree
    dev = kernel.devices["/dev/null"]
    dev.answers[fake.IDENTIFY] = (0, fake.identify(256 * MiB, 256 * MiB, 0, 0, "BWFW VERSION 00"))
    dev.answers[fake.GET_FW_INFO] = (0, fake.fw_info(2, 1, 0, 1, "BWFW VERSION 0"))
    loader = base / "sys/devices/x/mem0/firmware/mem0"
    loader.mkdir(parents=True)
    (loader / "status").write_text("idle\n")
    box, lines = _mailbox(base)
    assert box.answer("partition_info") == {
        "total_size": 256 * MiB,
        "volatile_only_size": 256 * MiB,
        "persistent_only_size": 0,
        "partition_alignment_size": 0,
    }
    assert box.answer("firmware") == {
        "num_slots": 2,
        "active_slot": 1,
        "online_activate_capable": True,
        "slot_1_version": "BWFW VERSION 0",
        "fw_update_in_progress": False,
    }
    # The device lacks these: the kernel refuses them (ENOTTY), and libcxl says nothing.
    assert box.answer("health") is None
    assert box.answer("alert_config") is None
    assert lines == []
    # Without an alignment GET_PARTITION_INFO is not asked.
    assert [cid for cid, _ in dev.sent] == [fake.IDENTIFY, fake.GET_FW_INFO]


def test_partitionable_device_and_a_failing_get_partition_info(node_tree):
    base, kernel = node_tree
    dev = kernel.devices["/dev/null"]
    dev.query = fake.enable(dev.query, fake.SET_PARTITION_INFO)
    dev.answers[fake.IDENTIFY] = (0, fake.identify(1 * GiB, 0, 0, 256 * MiB))
    dev.answers[fake.GET_PARTITION_INFO] = (0, fake.partition(512 * MiB, 512 * MiB, 0, 0))
    box, _ = _mailbox(base)
    assert list(box.answer("partition_info").values()) == [
        1 * GiB, 0, 0, 256 * MiB, 512 * MiB, 512 * MiB, 0, 0,
    ]  # fmt: skip
    # A device error on the second command leaves the first command's part.
    dev.answers[fake.GET_PARTITION_INFO] = (5, b"")
    assert list(box.answer("partition_info")) == [
        "total_size", "volatile_only_size", "persistent_only_size", "partition_alignment_size",
    ]  # fmt: skip
    # And a device error on IDENTIFY leaves nothing.
    dev.answers[fake.IDENTIFY] = (5, b"")
    assert box.answer("partition_info") is None


def test_health_and_alerts_when_the_device_offers_them(node_tree):
    base, kernel = node_tree
    dev = kernel.devices["/dev/null"]
    dev.query = fake.enable(dev.query, fake.GET_HEALTH_INFO, fake.GET_ALERT_CONFIG)
    dev.answers[fake.GET_HEALTH_INFO] = (0, fake.health(temperature=30, life_used=0xFF))
    dev.answers[fake.GET_ALERT_CONFIG] = (0, fake.alert_config(1, 1, 90, 80))
    box, lines = _mailbox(base)
    h = box.answer("health")
    assert (h["media_normal"], h["temperature"], "life_used_percent" in h) == (True, 30, False)
    a = box.answer("alert_config")
    assert a["life_used_prog_warn_threshold_valid"] and a["life_used_prog_warn_threshold"] == 80
    assert lines == []


def test_firmware_update_in_progress(node_tree):
    base, kernel = node_tree
    kernel.devices["/dev/null"].answers[fake.GET_FW_INFO] = (0, fake.fw_info(2, 1, 2, 1, "a", "b"))
    loader = base / "sys/devices/x/mem0/firmware/mem0"
    loader.mkdir(parents=True)
    (loader / "status").write_text("transferring\n")
    (loader / "remaining_size").write_text("4096\n")
    box, lines = _mailbox(base)
    fw = box.answer("firmware")
    assert list(fw.items())[-3:] == [
        ("slot_2_version", "b"), ("fw_update_in_progress", True), ("remaining_size", 4096),
    ]  # fmt: skip
    # Without a firmware loader, libcxl's lines, and the update counts as in progress.
    shutil.rmtree(base / "sys")
    fw = box.answer("firmware")
    assert (fw["fw_update_in_progress"], fw["remaining_size"]) == (True, 0)
    assert lines == [
        "cxl_fwl_get_status: mem0: failed to get fw loader status (No such file or directory)",
        "cxl_memdev_fw_update_get_remaining: mem0: failed to get fw loader remaining size"
        " (No such file or directory)",
    ]


def _query_failed(name: str, reason: str) -> list[str]:
    return [
        f"alloc_do_query: {name}: query commands failed: {reason}",
        f"cxl_cmd_new_generic: {name}: query returned: {reason}",
    ]


def test_node_that_cannot_be_opened(node_tree, monkeypatch):
    base, _ = node_tree

    def refuse(path, flags):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    monkeypatch.setattr(mailbox_ioctl, "_open", refuse)
    box, lines = _mailbox(base)
    assert box.answer("health") is None
    assert lines == [
        "do_cmd: failed to open /dev/cxl/mem0: Permission denied",
        *_query_failed("mem0", "Permission denied"),
    ]


def test_node_that_is_not_the_memdevs(tmp_path):
    (tmp_path / "dev/cxl").mkdir(parents=True)
    (tmp_path / "dev/cxl/mem0").write_text("")
    box, lines = _mailbox(tmp_path)
    assert box.identify() is None
    assert lines == [
        "do_cmd: failed to validate /dev/cxl/mem0 as a CXL memdev node",
        *_query_failed("mem0", "No such device or address"),
    ]


def test_query_ioctl_failure(node_tree):
    base, kernel = node_tree
    kernel.devices["/dev/null"].query_errno = errno.EIO
    box, lines = _mailbox(base)
    assert box.answer("firmware") is None
    assert lines == _query_failed("mem0", "Input/output error")


def test_set_partition(node_tree):
    base, kernel = node_tree
    dev = kernel.devices["/dev/null"]
    box, _ = _mailbox(base)
    # The driver lists the command but the device lacks it.
    assert box.set_partition(512 * MiB) == Sent(created=True, rc=-errno.ENOTTY)
    dev.query = fake.enable(dev.query, fake.SET_PARTITION_INFO)
    assert box.set_partition(512 * MiB) == Sent(created=True)
    # The input the kernel sees: 10 bytes, volatile capacity in 256M units, flags 0.
    assert dev.sent[-1] == (fake.SET_PARTITION_INFO, bytes([2]) + bytes(9))
    dev.answers[fake.SET_PARTITION_INFO] = (0x15, b"")
    assert box.set_partition(0) == Sent(created=True, status=0x15)
    dev.query = [q for q in dev.query if q[0] != fake.SET_PARTITION_INFO]
    assert box.set_partition(0) == Sent(created=False)


# -- the commands on a root answered like the running kernel ---------------------------------
@pytest.fixture
def kernel_root(restored_tree, tmp_path, monkeypatch):
    """`get(run, label)`: a copy of a captured state whose memdev nodes a fake kernel
    answers with what QEMU's devices answered, treated as the running system."""

    def get(run: str, label: str):
        src, base = restored_tree(run, label), tmp_path / "root"
        nodes = sorted(os.listdir(os.path.join(src, "dev/cxl")))
        # Device nodes do not copy; each memdev's becomes a link to one of the host's.
        skip_nodes = shutil.ignore_patterns("mem*")
        shutil.copytree(src, base, symlinks=True, ignore=lambda d, n: skip_nodes(d, n) if
                        d.endswith("/dev/cxl") else ())  # fmt: skip
        shutil.rmtree(base / ".cxltool" / "mailbox", ignore_errors=True)
        devices = {}
        targets = iter(["/dev/null", "/dev/zero", "/dev/full", "/dev/random"])
        root = Root(str(base))
        for name in nodes:
            target = next(targets)
            os.symlink(target, base / "dev/cxl" / name)
            ram = int(root.read(f"/sys/bus/cxl/devices/{name}/ram/size"), 0)
            pmem = int(root.read(f"/sys/bus/cxl/devices/{name}/pmem/size"), 0)
            dev = fake.FakeDevice()
            total = ram + pmem
            dev.answers[fake.IDENTIFY] = (0, fake.identify(total, ram, pmem, 0, "BWFW VERSION 00"))
            dev.answers[fake.GET_PARTITION_INFO] = (0, fake.partition(ram, pmem, 0, 0))
            dev.answers[fake.GET_FW_INFO] = (0, fake.fw_info(2, 1, 0, 1, "BWFW VERSION 0"))
            devices[target] = dev
        kernel = fake.FakeCxlKernel(devices)
        monkeypatch.setattr(fcntl, "ioctl", kernel)
        monkeypatch.setattr(mailbox, "on_running_system", lambda root: True)
        return str(base), kernel

    return get


def _recorded(run: str, argv: tuple[str, ...]):
    seen = state_of(run)
    return next((s, seen[s.index]) for s in steps(run) if s.argv == argv and s.index in seen)


@pytest.mark.parametrize("run", ["b-v81", "c-v81"])
def test_list_with_mailbox_objects_equals_ndctl(run, kernel_root):
    step, label = _recorded(run, ("cxl", "list", "-M", "-H", "-I", "-A", "-u"))
    base, _ = kernel_root(run, label)
    rc, out, err = run_cxltool(base, list(step.argv))
    assert (rc, out, err) == (step.rc, step.stdout, step.stderr)


def test_list_as_a_user_who_cannot_open_the_nodes(kernel_root, monkeypatch):
    step, label = _recorded("b-v81", ("cxl", "list", "-M", "-H", "-I", "-A", "-u"))
    base, _ = kernel_root("b-v81", label)

    def refuse(path, flags):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    monkeypatch.setattr(mailbox_ioctl, "_open", refuse)
    rc, out, err = run_cxltool(base, ["cxl", "list", "-M", "-H", "-I", "-A"])
    assert rc == 0
    assert [set(m) & {"health", "alert_config", "partition_info"} for m in json.loads(out)] == [
        set(),
        set(),
    ]
    # Three commands per memdev (health, alert_config, partition_info), three lines each.
    per_command = [
        "libcxl: do_cmd: failed to open /dev/cxl/{m}: Permission denied\n",
        "libcxl: alloc_do_query: {m}: query commands failed: Permission denied\n",
        "libcxl: cxl_cmd_new_generic: {m}: query returned: Permission denied\n",
    ]
    want = "".join(
        line.format(m=m) for m in ("mem0", "mem1") for _ in range(3) for line in per_command
    )
    assert err == want


def test_set_partition_on_devices_without_partitionable_capacity(kernel_root):
    step, label = _recorded("b-v81", ("cxl", "list", "-M", "-H", "-I", "-A", "-u"))
    base, kernel = kernel_root("b-v81", label)
    rc, out, err = run_cxltool(base, ["cxl", "set-partition", "mem0"])
    assert (rc, out) == (1, "[\n]\n")
    assert err == (
        "cxl memdev: validate_partition: mem0: no available capacity\n"
        "  Warning: no matching devices found\n\n"
        "cxl memdev: cmd_set_partition: set_partition 0 mem\n"
    )


def test_set_partition_on_a_partitionable_device(kernel_root):
    step, label = _recorded("b-v81", ("cxl", "list", "-M", "-H", "-I", "-A", "-u"))
    base, kernel = kernel_root("b-v81", label)
    dev = kernel.devices["/dev/null"]
    dev.query = fake.enable(dev.query, fake.SET_PARTITION_INFO)
    dev.answers[fake.IDENTIFY] = (0, fake.identify(1 * GiB, 0, 0, 256 * MiB))
    dev.answers[fake.GET_PARTITION_INFO] = (0, fake.partition(256 * MiB, 768 * MiB, 0, 0))
    rc, out, err = run_cxltool(base, ["cxl", "set-partition", "mem0", "-t", "ram", "-s", "512M"])
    assert (rc, err) == (0, "cxl memdev: cmd_set_partition: set_partition 1 mem\n")
    assert dev.sent[-3][0] == fake.SET_PARTITION_INFO
    assert dev.sent[-3][1][:9] == (2).to_bytes(8, "little") + b"\0"
    assert json.loads(out)[0]["partition_info"]["active_volatile_size"] == 256 * MiB
    # The device refuses: ndctl's messages, and the memdev is still printed.
    dev.answers[fake.SET_PARTITION_INFO] = (0x15, b"")
    rc, out, err = run_cxltool(base, ["cxl", "set-partition", "mem0", "-t", "ram", "-s", "512M"])
    assert (rc, len(json.loads(out))) == (1, 1)
    assert err == (
        "cxl memdev: action_setpartition: action_setpartition: mbox status: 21\n"
        "cxl memdev: action_setpartition: mem0 error: No such device or address\n"
        "cxl memdev: cmd_set_partition: set_partition 0 mem\n"
    )


def test_set_partition_a_device_lacks(kernel_root):
    # The kernel lists SET_PARTITION_INFO but the device does not offer it.
    step, label = _recorded("b-v81", ("cxl", "list", "-M", "-H", "-I", "-A", "-u"))
    base, kernel = kernel_root("b-v81", label)
    dev = kernel.devices["/dev/null"]
    dev.answers[fake.IDENTIFY] = (0, fake.identify(1 * GiB, 0, 0, 256 * MiB))
    rc, out, err = run_cxltool(base, ["cxl", "set-partition", "mem0"])
    assert (rc, len(json.loads(out))) == (1, 1)
    assert err == (
        "cxl memdev: action_setpartition: cmd submission failed: Inappropriate ioctl for device\n"
        "cxl memdev: action_setpartition: mem0 error: Inappropriate ioctl for device\n"
        "cxl memdev: cmd_set_partition: set_partition 0 mem\n"
    )
    # A kernel that does not even list it: ndctl would crash; cxltool reports ENXIO.
    dev.query = [q for q in dev.query if q[0] != fake.SET_PARTITION_INFO]
    rc, out, err = run_cxltool(base, ["cxl", "set-partition", "mem0"])
    assert rc == 1
    assert "cxl memdev: action_setpartition: mem0 error: No such device or address\n" in err
