"""Helpers for the emulated kernel's region and decoder tests.

Trees come from built-in fixtures or restored captures. `refused` asserts a
write fails with an exact errno and leaves every file of the tree (and the
kernel's hidden state) as it was.
"""

from __future__ import annotations

import os
import stat

import pytest

from cxltool.sim.capture import load_capture, restore
from cxltool.sim.systems import build_fixture_into
from cxltool.sysfs import SysfsError, open_root, paths
from tests.transcripts import capture_file

DEV = paths.CXL_DEVICES
SZ_256M = 256 << 20


def fixture_root(tmp_path, name: str):
    dest = str(tmp_path / name)
    build_fixture_into(name, dest)
    return open_root(dest)


def capture_root(tmp_path, run: str, label: str = "before"):
    dest = str(tmp_path / f"{run}-{label}")
    restore(load_capture(capture_file(run, label)), dest)
    return open_root(dest)


def snapshot(root) -> dict[str, tuple]:
    """Every entry of the tree: kind, mode, content or link text."""
    out: dict[str, tuple] = {}
    base = root.base
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            host = os.path.join(dirpath, name)
            rel = host[len(base):]
            if rel.endswith("/lock"):
                continue
            st = os.lstat(host)
            if os.path.islink(host):
                out[rel] = ("link", os.readlink(host))
            elif os.path.isdir(host):
                out[rel] = ("dir", st.st_mode & 0o7777)
            elif not stat.S_ISREG(st.st_mode):
                out[rel] = ("node", st.st_mode, st.st_rdev)
            else:
                with open(host, "rb") as f:
                    out[rel] = ("file", st.st_mode & 0o7777, f.read())
    return out


def write(root, path: str, value: str) -> None:
    """`echo value > path`."""
    root.write(path, value + "\n")


def refused(root, path: str, value: str, err: int, raw: bool = False) -> None:
    """The write (`echo`, or exactly `value` when raw) fails with `err`, changing nothing."""
    before = snapshot(root)
    with pytest.raises(SysfsError) as info:
        root.write(path, value) if raw else write(root, path, value)
    assert info.value.errno == err, f"{path} <- {value!r}: {info.value}"
    assert snapshot(root) == before


def read(root, path: str) -> str:
    with open(root.host(root.realpath(path)) if root.islink(path) else root.host(path)) as f:
        return f.read().removesuffix("\n")


def attr(root, device: str, name: str) -> str:
    """An attribute of a cxl bus device, read as root would (0400 too)."""
    real = root.realpath(f"{DEV}/{device}")
    with open(root.host(f"{real}/{name}")) as f:
        return f.read().removesuffix("\n")


def new_region(root, decoder: str = "decoder0.0", mode: str = "ram") -> str:
    name = attr(root, decoder, f"create_{mode}_region")
    write(root, f"{DEV}/{decoder}/create_{mode}_region", name)
    return name


def configure(root, region: str, ways: int, granularity: int, size: int,
              uuid: str | None = None) -> None:
    write(root, f"{DEV}/{region}/interleave_granularity", str(granularity))
    write(root, f"{DEV}/{region}/interleave_ways", str(ways))
    if uuid:
        write(root, f"{DEV}/{region}/uuid", uuid)
    write(root, f"{DEV}/{region}/size", str(size))


def reserve(root, decoder: str, mode: str, size: int) -> None:
    write(root, f"{DEV}/{decoder}/mode", mode)
    write(root, f"{DEV}/{decoder}/dpa_size", str(size))


def build_region(root, targets: list[str], *, decoder: str = "decoder0.0", mode: str = "ram",
                 granularity: int = 256, per_target: int = SZ_256M,
                 uuid: str | None = None, commit: bool = True, bind: bool = True) -> str:
    """A region over the given endpoint decoders, in position order."""
    region = new_region(root, decoder, mode)
    if mode == "pmem" and uuid is None:
        uuid = "6c1a2e6d-8d6e-4f0e-9d3c-1f1e2d3c4b5a"
    configure(root, region, len(targets), granularity, per_target * len(targets), uuid)
    for pos, dec in enumerate(targets):
        reserve(root, dec, mode, per_target)
        write(root, f"{DEV}/{region}/target{pos}", dec)
    if commit:
        write(root, f"{DEV}/{region}/commit", "1")
    if commit and bind:
        write(root, f"{paths.CXL_DRIVERS}/cxl_region/bind", region)
    return region


def endpoint_decoder(root, memdev: str, index: int = 0) -> str:
    """The name of decoder `index` of the endpoint port whose device is `memdev`."""
    for name in root.listdir(DEV):
        if name.startswith("endpoint"):
            uport = root.realpath(f"{DEV}/{name}/uport")
            if uport.rsplit("/", 1)[1] == memdev:
                return f"decoder{name[len('endpoint'):]}.{index}"
    raise LookupError(memdev)


def toml_root(tmp_path, text: str):
    """A simulated system built from a fixture written out in the test."""
    path = tmp_path / "fixture.toml"
    path.write_text(text)
    dest = str(tmp_path / "custom")
    build_fixture_into(str(path), dest)
    return open_root(dest)


def switch_fixture(groups: list[int], ram: str = "256M", hdm: int = 4) -> str:
    """One host bridge (x1 window), root ports each with a switch of `groups[i]` ram devices."""
    text = (
        '[platform]\nkind = "acpi"\nboot_ram = "2G"\ncpus = 2\n\n'
        '[[host_bridges]]\nbus = 0x0c\n'
        '  [[host_bridges.windows]]\n  base = 0x490000000\n  size = "16G"\n'
    )
    serial = 1
    for rp, count in enumerate(groups):
        text += f"  [[host_bridges.root_ports]]\n  port = {rp}\n"
        text += f"    [host_bridges.root_ports.switch]\n    hdm_decoders = {hdm}\n"
        for n in range(count):
            text += (
                f"    [[host_bridges.root_ports.switch.ports]]\n    port = {n}\n"
                f'    device = {{ serial = {serial}, ram = "{ram}" }}\n'
            )
            serial += 1
    return text
