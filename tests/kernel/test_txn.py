"""Emulated writes are transactions: all or nothing, even across a crash."""

from __future__ import annotations

import json
import os

import pytest

from cxltool.sim.capture import load_capture, restore
from cxltool.sim.kernel.txn import JOURNAL_FILE, Transaction, load_state, locked
from cxltool.sysfs import open_root
from tests.transcripts import capture_file

DEC = "/sys/devices/platform/ACPI0017:00/root0/decoder0.0"


@pytest.fixture
def root(tmp_path):
    dest = str(tmp_path / "a")
    restore(load_capture(capture_file("a-debian", "before")), dest)
    return open_root(dest)


def plan(root):
    txn = Transaction(root)
    txn.mkdir(DEC + "/region0")
    txn.write(DEC + "/region0/size", "0x0\n", 0o644)
    txn.symlink("/sys/bus/cxl/devices/region0", DEC + "/region0")
    txn.write(DEC + "/create_ram_region", "region1\n")
    txn.kernel_state()["memregion"] = {"next": 2}
    return txn


def test_commit_applies_every_step_and_keeps_modes(root):
    plan(root).commit()
    assert root.read(DEC + "/region0/size") == "0x0"
    assert oct(root.mode(DEC + "/region0/size")) == "0o644"
    assert root.realpath("/sys/bus/cxl/devices/region0") == DEC + "/region0"
    assert root.read(DEC + "/create_ram_region") == "region1"
    assert oct(root.mode(DEC + "/create_ram_region")) == "0o644"
    assert load_state(root)["memregion"] == {"next": 2}
    assert not os.path.exists(os.path.join(root.meta, JOURNAL_FILE))


def test_an_interrupted_transaction_is_finished_when_the_root_is_opened(root):
    txn = plan(root)
    # A crash after the journal was written and one step applied.
    with open(os.path.join(root.meta, JOURNAL_FILE), "w") as f:
        json.dump({"ops": txn.ops, "state": txn.state}, f)
    os.makedirs(root.host(DEC + "/region0"))
    again = open_root(root.base)
    assert again.read(DEC + "/region0/size") == "0x0"
    assert again.read(DEC + "/create_ram_region") == "region1"
    assert not os.path.exists(os.path.join(root.meta, JOURNAL_FILE))


def test_a_torn_journal_means_the_write_never_happened(root):
    with open(os.path.join(root.meta, JOURNAL_FILE), "w") as f:
        f.write('{"ops": [["mkdir", "/sys/x"')
    with locked(root):
        pass
    assert not root.exists("/sys/x")
    assert not os.path.exists(os.path.join(root.meta, JOURNAL_FILE))
