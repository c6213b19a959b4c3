"""udev on the real root: waiting out probes after a bind, udev's device lists in
`sim check`, and the one-line refusal a user who is not root gets. Trees stand in for
the running system (a Root marked real); pyudev and its monitor are mocked."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import types

import pytest
from click.testing import CliRunner

from cxltool.cli import tool as toolmod
from cxltool.cli.cxl import CXL
from cxltool.cli.daxctl import DAXCTL
from cxltool.sim.check import check_tree
from cxltool.sysfs import NeedsRoot, Root, SimulatedRoot, SysfsError, open_root, paths, udev
from cxltool.sysfs.probe import NO_WAIT

HINT = "; changing CXL state needs root, try sudo\n"


class RealTree(Root):
    """A tree standing in for the running system (what Root('/') is)."""

    real = True


class DeniedTree(RealTree):
    """The running system as a user who may not write to sysfs sees it."""

    def _write_file(self, host_path: str, data: bytes) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", host_path)


@pytest.fixture
def system(built, tmp_path):
    def make(fixture: str = "qemu-c") -> str:
        dest = str(tmp_path / "copy")
        subprocess.run(["cp", "-a", built(fixture), dest], check=True)
        return dest

    return make


def run_on(root: Root, tool: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    ctx = toolmod.Context(lambda: root, out, err)
    rc = toolmod.run({"cxl": CXL, "daxctl": DAXCTL}[tool], list(argv), ctx)
    return rc, out.getvalue(), err.getvalue()


def tree_files(base: str) -> dict[str, str]:
    """Every file's content and every link's target under sys/ (what a command may change)."""
    found = {}
    for top, dirs, files in os.walk(os.path.join(base, "sys")):
        for name in dirs + files:
            path = os.path.join(top, name)
            if os.path.islink(path):
                found[path] = "-> " + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    found[path] = f.read().decode(errors="replace")
    return found


# -- pyudev stays out of simulated systems ------------------------------------------------------
RUN_COMMANDS = r"""
import json, sys
from cxltool.cli.main import cli
from cxltool.sim.systems import build_fixture_into

base = sys.argv[1]
build_fixture_into("qemu-c", base)
codes = []
for argv in (
    ["cxl", "list", "-vvv"],
    ["cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0"],
    ["daxctl", "reconfigure-device", "-m", "devdax", "-f", "dax0.0"],
    ["daxctl", "reconfigure-device", "-m", "system-ram", "-f", "dax0.0"],
    ["cxl", "disable-region", "-f", "region0"],
    ["cxl", "enable-region", "region0"],
    ["cxl", "disable-memdev", "mem1"],
    ["cxl", "enable-memdev", "mem1"],
    ["sim", "check"],
):
    try:
        cli.main(["--root", base, *argv], prog_name="cxltool", standalone_mode=False)
        codes.append(0)
    except SystemExit as e:
        codes.append(e.code)
    if "{probe}" == "yes" and argv[0] == "sim":
        from cxltool.sysfs import Root
        class Real(Root):
            real = True
        Real(base).udev_devices("cxl")
print("RESULT " + json.dumps({{
    "codes": codes,
    "pyudev": "pyudev" in sys.modules,
    "udev": "cxltool.sysfs.udev" in sys.modules,
}}))
"""


def _run_commands(tmp_path, probe: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", RUN_COMMANDS.format(probe=probe), str(tmp_path / "sys")],
        capture_output=True,
        text=True,
        check=True,
    )
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def test_a_simulated_root_never_imports_pyudev(tmp_path):
    result = _run_commands(tmp_path, probe="no")
    # Every command ran its binds (a failure could skip the code under test).
    assert result["codes"] == [0] * 9
    assert result == {"codes": [0] * 9, "pyudev": False, "udev": False}


def test_the_real_root_does_import_pyudev(tmp_path):
    # The same script, asking the (stand-in) running system for udev's list once:
    # the check above would see pyudev if anything on those paths loaded it.
    result = _run_commands(tmp_path, probe="yes")
    assert (result["pyudev"], result["udev"]) == (True, True)


# -- the hook: which roots wait, and where operations wait -------------------------------------
def test_only_the_running_system_has_probes_to_wait_for(system):
    base = system()
    assert open_root(base).probe(paths.CXL_DEVICES + "/mem0") is NO_WAIT
    assert Root(base).probe(paths.CXL_DEVICES + "/mem0") is NO_WAIT
    assert open_root(base).udev_devices("cxl") is None
    watch = Root("/").probe(paths.CXL_DEVICES + "/region0", flush=paths.CXL_FLUSH, timeout=1)
    assert isinstance(watch, udev.ProbeWatch)
    assert (watch.flush, watch.timeout) == (paths.CXL_FLUSH, 1)


class _Watch:
    def __init__(self, log: list, path: str, flush: str | None) -> None:
        self.log, self.path, self.flush = log, path, flush

    def __enter__(self):
        self.log.append(("open", self.path, self.flush))
        return self

    def __exit__(self, *exc):
        self.log.append(("close", self.path))

    def wait(self) -> bool:
        self.log.append(("wait", self.path))
        return True


class Recording(SimulatedRoot):
    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.log: list = []

    def probe(self, path, ready=None, *, flush=None, timeout=None):
        return _Watch(self.log, path, flush)


def test_binds_wait_for_their_probes(system):
    root = Recording(system())
    dev = paths.CXL_DEVICES
    real = root.realpath
    assert (
        run_on(root, "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0")[0] == 0
    )
    region = real(dev + "/region0")
    assert root.log == [("open", region, None), ("wait", region), ("close", region)]
    root.log.clear()
    assert run_on(root, "daxctl", "reconfigure-device", "-m", "devdax", "-f", "dax0.0")[0] == 0
    dax = real(paths.DAX_DEVICES + "/dax0.0")
    assert root.log == [("open", dax, None), ("wait", dax), ("close", dax)]
    root.log.clear()
    run_on(root, "cxl", "disable-memdev", "mem1")
    assert root.log == []
    assert run_on(root, "cxl", "enable-memdev", "mem1")[0] == 0
    mem1 = real(dev + "/mem1")
    assert root.log == [("open", mem1, paths.CXL_FLUSH), ("wait", mem1), ("close", mem1)]


def test_a_bind_that_fails_is_not_waited_for(system):
    root = Recording(system())
    # An uncommitted region: every driver refuses it.
    assert (
        run_on(root, "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0")[0] == 0
    )
    run_on(root, "cxl", "disable-region", "region0")
    root.log.clear()
    sim = SimulatedRoot(root.base)
    sim.write(paths.CXL_DEVICES + "/region0/commit", "0\n")
    rc, _, err = run_on(root, "cxl", "enable-region", "region0")
    assert rc != 0 and "failed to enable" in err
    region = root.realpath(paths.CXL_DEVICES + "/region0")
    assert root.log == [("open", region, None), ("close", region)]


# -- the watch ------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Event:
    def __init__(self, action: str, device_path: str) -> None:
        self.action = action
        self.device_path = device_path


class Monitor:
    """A netlink monitor: each poll runs the next step (a callable, or an event to return)."""

    def __init__(self, clock: Clock, steps: list) -> None:
        self.clock = clock
        self.steps = list(steps)
        self.polls = 0
        self.filters: list[str] = []
        self.started = False

    def filter_by(self, subsystem: str) -> None:
        self.filters.append(subsystem)

    def start(self) -> None:
        self.started = True

    def poll(self, timeout: float | None = None):
        self.polls += 1
        step = self.steps.pop(0) if self.steps else None
        if isinstance(step, Event):
            return step
        if callable(step):
            step()
        self.clock.now += timeout or 0
        return None


DEVPATH = "/devices/platform/ACPI0017:00/root0/decoder0.0/region0"


@pytest.fixture
def machine(tmp_path):
    """A minimal running system: region0 on the cxl bus, udevd's files under run/."""
    base = tmp_path / "m"
    region = base / ("sys" + DEVPATH)
    region.mkdir(parents=True)
    (base / "sys/bus/cxl/devices").mkdir(parents=True)
    (base / "sys/bus/cxl/drivers/cxl_region").mkdir(parents=True)
    (base / "sys/bus/cxl/flush").write_text("")
    os.symlink(os.path.relpath(base / "sys/bus/cxl", region), region / "subsystem")
    os.symlink(
        os.path.relpath(region, base / "sys/bus/cxl/devices"), base / "sys/bus/cxl/devices/region0"
    )
    (base / "run/udev").mkdir(parents=True)

    def bind() -> None:
        os.symlink(
            os.path.relpath(base / "sys/bus/cxl/drivers/cxl_region", region), region / "driver"
        )

    def udevd(queued: bool) -> None:
        (base / "run/udev/control").write_text("")
        if queued:
            (base / "run/udev/queue").write_text("")

    def drain() -> None:
        (base / "run/udev/queue").unlink()

    return types.SimpleNamespace(
        root=RealTree(str(base)), base=base, bind=bind, udevd=udevd, drain=drain
    )


def _watch(machine, monkeypatch, steps, **kw):
    clock = Clock()
    opened = []

    def open_monitor(source, subsystem):
        if steps is None:
            return None
        monitor = Monitor(clock, steps)
        opened.append((source, subsystem, monitor))
        return monitor

    monkeypatch.setattr(udev, "open_monitor", open_monitor)
    watch = udev.ProbeWatch(
        machine.root, paths.CXL_DEVICES + "/region0", clock=clock, sleep=clock.sleep, **kw
    )
    return watch, clock, opened


def test_with_udevd_the_wait_ends_when_udev_has_passed_on_the_bind_and_drained(
    machine, monkeypatch
):
    machine.udevd(queued=True)
    other = Event("bind", DEVPATH + "/dax_region0")
    steps = [None, Event("add", DEVPATH), other, Event("bind", DEVPATH), None, machine.drain]
    watch, clock, opened = _watch(machine, monkeypatch, steps, timeout=5)
    with watch:
        machine.bind()
        assert watch.wait() is True
    ((source, subsystem, monitor),) = opened
    assert (source, subsystem) == ("udev", "cxl")
    # Bound at once, but only udev's bind event and then an empty queue end the wait.
    assert monitor.polls == 6
    assert watch.monitor is None


def test_with_udevd_an_empty_queue_is_not_enough_without_the_event(machine, monkeypatch):
    machine.udevd(queued=False)
    watch, clock, opened = _watch(machine, monkeypatch, [None, None], timeout=0.5)
    with watch:
        machine.bind()
        assert watch.wait() is False
    assert clock.now >= 0.5
    assert opened[0][2].polls == int(0.5 / udev.TICK)


def test_without_udevd_the_kernel_is_heard_and_the_bound_device_is_enough(machine, monkeypatch):
    watch, clock, opened = _watch(machine, monkeypatch, [machine.bind], timeout=5)
    # A queue file without udevd is a leftover: nobody will drain it.
    (machine.base / "run/udev/queue").write_text("")
    with watch:
        assert watch.wait() is True
    assert opened[0][:2] == ("kernel", "cxl")
    assert opened[0][2].polls == 1


def test_a_device_that_never_binds_times_out(machine, monkeypatch):
    watch, clock, opened = _watch(machine, monkeypatch, [], timeout=0.3)
    with watch:
        assert watch.wait() is False
    assert 0.3 <= clock.now < 0.3 + udev.TICK


def test_without_netlink_the_watch_polls_the_driver_link(machine, monkeypatch):
    machine.udevd(queued=True)
    watch, clock, opened = _watch(machine, monkeypatch, None, timeout=5)
    with watch:
        assert opened == [] and watch.monitor is None
        clock_sleep = clock.sleep

        def sleep(seconds: float) -> None:
            clock_sleep(seconds)
            if len(clock.sleeps) == 3:
                machine.bind()
            if len(clock.sleeps) == 5:
                machine.drain()

        watch.sleep = sleep
        assert watch.wait() is True
    assert clock.sleeps == [udev.TICK] * 5


def test_a_monitor_that_fails_mid_wait_falls_back_to_polling(machine, monkeypatch):
    watch, clock, opened = _watch(machine, monkeypatch, [], timeout=5)

    def broken(timeout=None):
        raise OSError(errno.ENOBUFS, "No buffer space available")

    with watch:
        watch.monitor.poll = broken
        watch.sleep = lambda s: (clock.sleep(s), machine.bind())
        assert watch.wait() is True
    assert clock.sleeps == [udev.TICK]


def test_the_cxl_queue_is_flushed_once_the_device_is_bound(machine, monkeypatch):
    watch, clock, opened = _watch(
        machine, monkeypatch, [None, machine.bind], timeout=5, flush=paths.CXL_FLUSH
    )
    with watch:
        assert watch.wait() is True
        assert (machine.base / "sys/bus/cxl/flush").read_text() == "1\n"


def test_a_custom_condition_is_waited_for(machine, monkeypatch):
    child = machine.base / ("sys" + DEVPATH) / "dax_region0"
    steps = [machine.bind, None, child.mkdir]
    ready = lambda: child.is_dir()  # noqa: E731
    watch, clock, opened = _watch(machine, monkeypatch, steps, timeout=5, ready=ready)
    with watch:
        assert watch.wait() is True
    assert opened[0][2].polls == 3


def test_no_timeout_means_no_monitor_and_no_wait(machine, monkeypatch):
    monkeypatch.setenv(udev.TIMEOUT_ENV, "0")
    watch, clock, opened = _watch(machine, monkeypatch, [], timeout=None)
    with watch:
        assert watch.wait() is False
    assert opened == [] and clock.now == 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0.5", 0.5), ("0", 0.0), ("2", 2.0), ("soon", 5.0), ("-1", 5.0), ("inf", 5.0), ("", 5.0)],
)
def test_the_timeout_comes_from_the_environment(monkeypatch, text, seconds):
    monkeypatch.setenv(udev.TIMEOUT_ENV, text)
    assert udev.probe_timeout() == seconds
    assert udev.probe_timeout(1.5) == 1.5


# -- pyudev itself (mocked) ----------------------------------------------------------------------
def fake_pyudev(monkeypatch, devices: dict[str, list[str]] | None = None, fail: bool = False):
    made = []

    class Context:
        def list_devices(self, subsystem=None):
            return [types.SimpleNamespace(sys_name=n) for n in (devices or {}).get(subsystem, [])]

    class FakeMonitor:
        @classmethod
        def from_netlink(cls, context, source="udev"):
            if fail:
                raise OSError("Could not create udev monitor")
            monitor = Monitor(Clock(), [])
            made.append((source, monitor))
            return monitor

    module = types.ModuleType("pyudev")
    module.Context = Context
    module.Monitor = FakeMonitor
    monkeypatch.setitem(sys.modules, "pyudev", module)
    return made


def test_open_monitor_filters_and_starts(monkeypatch):
    made = fake_pyudev(monkeypatch)
    monitor = udev.open_monitor("kernel", "dax")
    assert made == [("kernel", monitor)]
    assert (monitor.filters, monitor.started) == (["dax"], True)


def test_open_monitor_without_netlink_or_libudev(monkeypatch):
    fake_pyudev(monkeypatch, fail=True)
    assert udev.open_monitor("udev", "cxl") is None
    monkeypatch.setitem(sys.modules, "pyudev", None)  # import fails: no pyudev or libudev
    assert udev.open_monitor("udev", "cxl") is None
    assert udev.list_devices("cxl") is None


def test_list_devices_names_what_udev_enumerates(monkeypatch):
    fake_pyudev(monkeypatch, {"cxl": ["root0", "mem0"], "dax": ["dax0.0"]})
    assert udev.list_devices("cxl") == ["root0", "mem0"]
    assert udev.list_devices("nd") == []


# -- sim check on the running system -------------------------------------------------------------
def _listed(base: str, folder: str) -> list[str]:
    return sorted(os.listdir(base + folder))


def test_sim_check_compares_udev_with_sysfs(system, monkeypatch):
    base = system("cxl_test")
    cxl = _listed(base, paths.CXL_DEVICES)
    dax = _listed(base, paths.DAX_DEVICES)
    assert "mem1" in cxl and dax
    fake_pyudev(
        monkeypatch,
        {"cxl": [n for n in cxl if n != "mem1"] + ["mem99"], "dax": dax},
    )
    assert check_tree(RealTree(base)) == [
        f"{paths.CXL_DEVICES}/mem1: not in udev's enumeration of cxl",
        f"{paths.CXL_DEVICES}/mem99: udev enumerates it, sysfs does not list it",
    ]
    # Where both agree there is nothing to say, and a tree is never compared.
    fake_pyudev(monkeypatch, {"cxl": cxl, "dax": dax})
    assert check_tree(RealTree(base)) == []
    fake_pyudev(monkeypatch, {"cxl": [], "dax": []})
    assert check_tree(open_root(base)) == []
    assert check_tree(Root(base)) == []


def test_sim_check_command_on_the_running_system(system, monkeypatch):
    from cxltool.cli.main import RootChoice, cli

    base = system()
    fake_pyudev(monkeypatch, {"cxl": _listed(base, paths.CXL_DEVICES), "dax": ["dax7.0"]})
    monkeypatch.setattr(RootChoice, "open", lambda self: RealTree(base))
    result = CliRunner().invoke(cli, ["sim", "check"])
    assert result.exit_code == 1
    assert (
        result.stdout == f"{paths.DAX_DEVICES}/dax7.0: udev enumerates it, sysfs does not list it\n"
    )
    assert result.stderr == f"cxltool sim: 1 problem(s) in {base}\n"


def test_sim_check_without_libudev_skips_the_comparison(system, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyudev", None)
    assert check_tree(RealTree(system())) == []


# -- a user who is not root ------------------------------------------------------------------------
def test_only_a_user_refused_by_the_running_system_is_stopped(monkeypatch):
    path = paths.CXL_DEVICES + "/region0/commit"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    stop = Root("/").needs_root(errno.EACCES, path, "write", "1\n")
    assert isinstance(stop, NeedsRoot)
    assert stop.message == "region0: cannot write commit: Permission denied (EACCES)" + HINT[:-1]
    assert isinstance(Root("/").needs_root(errno.EPERM, path), NeedsRoot)
    assert Root("/").needs_root(errno.ENXIO, path) is None
    assert Root("/tmp").needs_root(errno.EACCES, path) is None
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert Root("/").needs_root(errno.EACCES, path) is None


def test_refusals_name_the_object_and_the_file():
    sysfs = paths.CXL_DRIVERS + "/cxl_region/bind"
    cases = {
        (
            errno.EACCES,
            sysfs,
            "write",
            "region0\0",
        ): f"region0: cannot write {sysfs}: Permission denied (EACCES)" + HINT,
        (
            errno.EPERM,
            paths.DAX_DEVICES + "/dax0.0/driver/unbind",
            "write",
            "dax0.0",
        ): f"dax0.0: cannot write {paths.DAX_DEVICES}/dax0.0/driver/unbind: "
        "Operation not permitted (EPERM)" + HINT,
        (
            errno.EACCES,
            paths.MEMORY + "/memory42/state",
            "write",
            "offline",
        ): "memory42: cannot write state: Permission denied (EACCES)" + HINT,
        (
            errno.EACCES,
            paths.DEV + "/pmem0",
            "open",
            "",
        ): f"pmem0: cannot open {paths.DEV}/pmem0: Permission denied (EACCES); "
        "opening it needs root, try sudo\n",
    }
    for args, line in cases.items():
        assert NeedsRoot(*args).message + "\n" == line


def test_a_user_gets_one_line_and_nothing_changes(system, monkeypatch):
    base = system()
    before = tree_files(base)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    root = DeniedTree(base)
    rc, out, err = run_on(
        root, "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0"
    )
    assert (rc, out) == (1, "")
    assert (
        err
        == "cxltool: decoder0.0: cannot write create_ram_region: Permission denied (EACCES)" + HINT
    )
    rc, out, err = run_on(root, "cxl", "disable-memdev", "mem1")
    assert (rc, out) == (1, "")
    mem1 = root.realpath(paths.CXL_DEVICES + "/mem1")
    assert err == (
        f"cxltool: mem1: cannot write {mem1}/driver/unbind: Permission denied (EACCES)" + HINT
    )
    assert tree_files(base) == before


def test_a_user_gets_one_line_from_daxctl_and_from_enable_region(system, monkeypatch):
    base = system()
    sim = open_root(base)
    assert (
        run_on(sim, "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0")[0] == 0
    )
    assert run_on(sim, "cxl", "disable-region", "-f", "region0")[0] == 0
    before = tree_files(base)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    root = DeniedTree(base)
    rc, out, err = run_on(root, "cxl", "enable-region", "region0")
    first = root.listdir(paths.CXL_DRIVERS)[0]
    assert (rc, out) == (1, "")
    assert err == (
        f"cxltool: region0: cannot write {paths.CXL_DRIVERS}/{first}/bind: "
        "Permission denied (EACCES)" + HINT
    )
    assert tree_files(base) == before
    assert run_on(sim, "cxl", "enable-region", "region0")[0] == 0
    before = tree_files(base)
    rc, out, err = run_on(root, "daxctl", "reconfigure-device", "-m", "devdax", "-f", "dax0.0")
    assert (rc, out) == (1, "")
    assert err.startswith("cxltool: memory") and err.endswith(
        ": cannot write state: Permission denied (EACCES)" + HINT
    )
    assert err.count("\n") == 1
    assert tree_files(base) == before


def test_root_refused_keeps_ndctl_messages(system, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    rc, out, err = run_on(
        DeniedTree(system()), "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0"
    )
    assert (rc, out) == (1, "")
    assert err == (
        "libcxl: cxl_decoder_create_region: failed to write new region name: Permission denied\n"
        "cxl region: create_region: failed to create region under decoder0.0\n"
        "cxl region: cmd_create_region: created 0 regions\n"
    )


def test_other_commands_refused_get_the_line_too(system, monkeypatch, capsys):
    from cxltool.cli import main as mainmod

    base = system()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(mainmod.RootChoice, "open", lambda self: DeniedTree(base))
    monkeypatch.setattr(sys, "argv", ["cxltool", "sim", "write", paths.CXL_FLUSH, "1"])
    with pytest.raises(SystemExit) as done:
        mainmod.main()
    assert done.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "cxltool: cxl: cannot write flush: Permission denied (EACCES)" + HINT


def _root_only(path: str) -> bool:
    """Attributes the kernel makes 0400 (reference/kernel-abi.md)."""
    name = path.rsplit("/", 1)[-1]
    parent = path.rsplit("/", 2)[-2]
    return (
        (name == "start" and (parent.startswith("decoder") or parent.startswith("mapping")))
        or (name == "resource" and parent.startswith("dax"))
        or (name == "align" and parent == "dax_region")
    )


def test_a_user_lists_the_running_system_without_root_only_attributes(system, monkeypatch):
    from cxltool.sysfs import root as rootmod

    base = system()
    sim = open_root(base)
    assert (
        run_on(sim, "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0")[0] == 0
    )

    def decoder(root) -> dict:
        rc, out, err = run_on(root, "cxl", "list", "-D", "-d", "decoder0.0")
        assert (rc, err) == (0, "")
        return json.loads(out)[0]

    assert "resource" in decoder(RealTree(base))
    real_open = os.open

    def user_open(path, flags, *args):
        if str(path).startswith(base) and _root_only(str(path)) and not flags & os.O_WRONLY:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(rootmod, "_open", user_open)
    monkeypatch.setattr(os, "open", user_open)
    assert "resource" not in decoder(RealTree(base))
    # No mailbox objects: on the running system those are ioctls, not attributes.
    rc, out, err = run_on(RealTree(base), "cxl", "list", "-BPEMDRX", "-i")
    assert (rc, err) == (0, "")
    assert '"region":"region0"' in out
    rc, out, err = run_on(RealTree(base), "daxctl", "list", "-RDM")
    assert (rc, err) == (0, "")
    region = json.loads(out)[0]
    assert "align" not in region
    assert region["devices"][0]["chardev"] == "dax0.0"


class RootOnlyReadsDenied(DeniedTree):
    """As a user: root-only (0400) attributes cannot be read either."""

    def _root_only(self, path: str) -> bool:
        return os.stat(self.host(path)).st_mode & 0o044 == 0

    def read(self, path: str) -> str:
        if self._root_only(path):
            raise SysfsError(errno.EACCES, path)
        return super().read(path)

    def read_opt(self, path: str) -> str | None:
        if os.path.isfile(self.host(path)) and self._root_only(path):
            return None
        return super().read_opt(path)


def test_a_user_refused_a_root_only_read_a_change_needs_gets_the_hint(system, monkeypatch):
    # On Linux 6.12 a root decoder's start is 0400, and create-region needs it
    # (for the free extent) before its first write.
    base = system()
    before = tree_files(base)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    root = RootOnlyReadsDenied(base)
    rc, out, err = run_on(
        root, "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0"
    )
    assert (rc, out) == (1, "")
    assert err == ("cxltool: decoder0.0: cannot read start: Permission denied (EACCES)" + HINT)
    assert tree_files(base) == before


def test_a_user_refused_a_dax_devices_resource_gets_the_hint(system, monkeypatch):
    base = system()
    sim = open_root(base)
    assert (
        run_on(sim, "cxl", "create-region", "-m", "-d", "decoder0.0", "-t", "ram", "mem0")[0] == 0
    )
    before = tree_files(base)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    root = RootOnlyReadsDenied(base)
    rc, out, err = run_on(root, "daxctl", "reconfigure-device", "-m", "devdax", "-f", "dax0.0")
    assert (rc, out) == (1, "")
    assert err == "cxltool: dax0.0: cannot read resource: Permission denied (EACCES)" + HINT
    assert tree_files(base) == before
