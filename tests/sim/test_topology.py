"""Fixture parsing and validation (sim/topology.py)."""

from __future__ import annotations

import textwrap

import pytest

from cxltool.sim.topology import (
    FixtureError,
    builtin_fixtures,
    find_line,
    fixture_path,
    load_fixture,
    parse_size,
)

GOOD = """\
# a small valid fixture
[platform]
boot_ram = "2G"

[[host_bridges]]
bus = 0x0c

  [[host_bridges.windows]]
  base = 0x490000000
  size = "4G"

  [[host_bridges.root_ports]]
  port = 0
  device = { serial = 1, ram = "256M" }

  [[host_bridges.root_ports]]
  port = 1
  device = { serial = 2, pmem = "256M", label_storage_size = "128K" }
"""

TWO_HB = """\
[[host_bridges]]
bus = 0x0c
  [[host_bridges.windows]]
  base = 0x490000000
  size = "4G"
  [[host_bridges.root_ports]]
  port = 0
  device = { name = "a", serial = 1, ram = "512M" }

[[host_bridges]]
bus = 0x20
  [[host_bridges.windows]]
  base = 0x590000000
  size = "{size}"
  [[host_bridges.root_ports]]
  port = 0
  device = { name = "b", serial = 2, ram = "512M" }
"""


def write(fs, text: str, name: str = "/fx/test.toml") -> str:
    if fs.exists(name):
        fs.remove(name)
    fs.create_file(name, contents=textwrap.dedent(text))
    return name


def error_of(fs, text: str, params: dict | None = None) -> FixtureError:
    path = write(fs, text)
    with pytest.raises(FixtureError) as info:
        load_fixture(path, params)
    return info.value


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (4096, 4096),
        ("256M", 256 << 20),
        ("256MiB", 256 << 20),
        ("4G", 4 << 30),
        ("4g", 4 << 30),
        ("128K", 128 << 10),
        ("1T", 1 << 40),
        ("0x10000000", 0x10000000),
        (" 512 ", 512),
    ],
)
def test_sizes(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["4X", "-1", "", "1.5G", True, 1.5, -5])
def test_bad_sizes(value):
    with pytest.raises(ValueError):
        parse_size(value)


# ---------------------------------------------------------------------------
# A good fixture resolves
# ---------------------------------------------------------------------------


def test_good_fixture_resolves(fs):
    topo = load_fixture(write(fs, GOOD))
    assert topo.name == "test"
    assert topo.description == "a small valid fixture"
    (hb,) = topo.host_bridges
    assert (hb.uid, hb.host, hb.bus, hb.subordinate_bus) == (12, "pci0000:0c", 12, 14)
    assert [rp.host for rp in hb.root_ports] == ["0000:0c:00.0", "0000:0c:01.0"]
    devs = topo.devices()
    assert [d.host for d in devs] == ["0000:0d:00.0", "0000:0e:00.0"]
    assert [d.memdev for d in devs] == [0, 1]
    assert [d.probe_order for d in devs] == [0, 1]
    assert devs[1].pmem == 256 << 20 and devs[1].label_storage_size == 128 << 10
    (w,) = topo.windows
    assert (w.base, w.size, w.targets, w.granularity, w.node) == (
        0x490000000,
        4 << 30,
        (12,),
        256,
        1,
    )
    assert w.ram and w.pmem and w.type2 and w.type3 and not w.locked


def test_description_key_wins(fs):
    topo = load_fixture(write(fs, 'description = "from the key"\n' + GOOD))
    assert topo.description == "from the key"


def test_switch_bus_numbering_is_depth_first():
    topo = load_fixture("qemu-c")
    (hb,) = topo.host_bridges
    rp0, rp1 = hb.root_ports
    assert (rp0.secondary_bus, rp0.subordinate_bus) == (0x0D, 0x12)
    assert rp0.switch.host == "0000:0d:00.0"
    assert [p.host for p in rp0.switch.ports] == [f"0000:0e:0{i}.0" for i in range(4)]
    assert [p.device.host for p in rp0.switch.ports] == [
        f"0000:{b:02x}:00.0" for b in range(0x0F, 0x13)
    ]
    assert (rp1.host, rp1.secondary_bus) == ("0000:0c:01.0", 0x13)
    assert [d.memdev for d in topo.devices()] == [1, 0, 2, 3]


def test_explicit_memdev_numbers_leave_the_rest_in_order(fs):
    text = GOOD.replace("device = { serial = 2, pmem", "device = { memdev = 0, serial = 2, pmem")
    devs = load_fixture(write(fs, text)).devices()
    assert [d.memdev for d in devs] == [1, 0]
    assert [d.probe_order for d in devs] == [1, 0]


def test_with_devices_replaces_fields():
    topo = load_fixture("qemu-c").with_devices({"vmem0": {"memdev": 0}, "vmem1": {"memdev": 1}})
    assert {d.name: d.memdev for d in topo.devices()}["vmem0"] == 0


# ---------------------------------------------------------------------------
# Errors name the file, the key path, the line and the reason
# ---------------------------------------------------------------------------


def test_window_size_error_names_file_key_line(fs):
    err = error_of(fs, TWO_HB.replace("{size}", "100M"))
    assert err.file == "/fx/test.toml"
    assert err.key == "host_bridges[1].windows[0].size"
    assert "256M" in err.reason
    assert err.line == 14
    assert str(err).startswith("/fx/test.toml:14: host_bridges[1].windows[0].size: ")


def test_unknown_key_is_reported_with_its_line(fs):
    err = error_of(fs, GOOD.replace('  size = "4G"', '  sise = "4G"\n  size = "4G"'))
    assert err.key == "host_bridges[0].windows[0].sise"
    assert "unknown key" in err.reason and "size" in err.reason
    assert err.line == 10


def test_unknown_key_in_inline_table(fs):
    err = error_of(fs, GOOD.replace("device = { serial = 1,", "device = { serail = 1, serial = 1,"))
    assert err.key == "host_bridges[0].root_ports[0].device.serail"
    assert err.line == 14  # the line of the inline table


def test_wrong_type(fs):
    err = error_of(fs, GOOD.replace("port = 1", 'port = "one"'))
    assert err.key == "host_bridges[0].root_ports[1].port"
    assert "integer" in err.reason
    assert err.line == 17


def test_missing_required_key(fs):
    err = error_of(fs, GOOD.replace("serial = 1, ", ""))
    assert err.key == "host_bridges[0].root_ports[0].device.serial"
    assert "required" in err.reason


def test_invalid_toml_has_a_line(fs):
    err = error_of(fs, GOOD + "\nthis is not toml\n")
    assert "not valid TOML" in err.reason
    assert err.line == 20
    assert err.key == ""


def test_missing_file():
    with pytest.raises(FixtureError) as info:
        load_fixture("/nonexistent/dir/x.toml")
    assert "cannot read" in info.value.reason


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (("port = 1", "port = 0"), "host_bridges[0].root_ports[1].port", "duplicate port number"),
        (("serial = 2", "serial = 1"), "host_bridges[0].root_ports[1].device.serial", "used twice"),
        (('ram = "256M"', 'ram = "100M"'), "host_bridges[0].root_ports[0].device.ram", "256M"),
        (('ram = "256M"', 'ram = "0"'), "host_bridges[0].root_ports[0].device.ram", "capacity"),
        (
            ("base = 0x490000000", "base = 0x10000000"),
            "host_bridges[0].windows[0].base",
            "boot RAM",
        ),
        (
            ('size = "4G"', 'size = "4G"\n  granularity = 300'),
            "host_bridges[0].windows[0].granularity",
            "one of",
        ),
        (
            ('size = "4G"', 'size = "4G"\n  targets = [7]'),
            "host_bridges[0].windows[0].targets",
            "uid 7",
        ),
        (
            ('size = "4G"', 'size = "4G"\n  targets = [12, 12]'),
            "host_bridges[0].windows[0].targets",
            "twice",
        ),
        (
            ('size = "4G"', 'size = "4G"\n  targets = [12, 12, 12, 12, 12]'),
            "host_bridges[0].windows[0].targets",
            "5 targets",
        ),
        (
            ('boot_ram = "2G"', 'boot_ram = "2G"\nauto_online = "sometimes"'),
            "platform.auto_online",
            "one of",
        ),
        (('boot_ram = "2G"', 'boot_ram = "100M"'), "platform.boot_ram", "multiple"),
        (
            ('boot_ram = "2G"', 'boot_ram = "2G"\nmemory_block_size = "100M"'),
            "platform.memory_block_size",
            "power of two",
        ),
        (
            ("serial = 1,", "serial = 1, numa_node = 3,"),
            "host_bridges[0].root_ports[0].device.numa_node",
            "does not exist",
        ),
        (
            ("serial = 1,", "serial = 1, hdm_decoders = 3,"),
            "host_bridges[0].root_ports[0].device.hdm_decoders",
            "one of",
        ),
        (
            ("serial = 1,", "serial = 1, payload_max = 100,"),
            "host_bridges[0].root_ports[0].device.payload_max",
            "power of two",
        ),
        (
            ("serial = 1,", 'serial = 1, firmware_version = "12345678901234567",'),
            "host_bridges[0].root_ports[0].device.firmware_version",
            "16",
        ),
        (
            ("serial = 1,", "serial = 1, memdev = 1,", "serial = 2,", "serial = 2, memdev = 1,"),
            "host_bridges[0].root_ports[1].device.memdev",
            "used twice",
        ),
        (
            ("port = 1\n", 'port = 1\n  pci = "40.0"\n'),
            "host_bridges[0].root_ports[1].pci",
            "device.function",
        ),
        (("bus = 0x0c", "bus = 0x1ff"), "host_bridges[0].bus", "at most 255"),
        (("bus = 0x0c", "bus = 0x0c\nrch = true"), "host_bridges[0].rch", "cxl_test"),
    ],
)
def test_each_error_names_key_and_reason(fs, change, key, words):
    text = GOOD
    for old, new in zip(change[::2], change[1::2], strict=True):
        assert old in text
        text = text.replace(old, new, 1)
    err = error_of(fs, text)
    assert err.key == key, str(err)
    assert words in err.reason, str(err)
    assert str(err).startswith("/fx/test.toml")
    assert err.line is not None


def test_host_bridge_needs_root_ports(fs):
    err = error_of(fs, "[[host_bridges]]\nbus = 1\n")
    assert err.key == "host_bridges[0].root_ports"
    assert err.line == 1


def test_no_host_bridges(fs):
    err = error_of(fs, "[platform]\ncpus = 2\n")
    assert err.key == "host_bridges"


def test_overlapping_windows(fs):
    err = error_of(fs, TWO_HB.replace("0x590000000", "0x490000000").replace("{size}", "4G"))
    assert err.key == "host_bridges[1].windows[0].base"
    assert "overlaps host_bridges[0].windows[0]" in err.reason


def test_overlapping_pci_buses(fs):
    err = error_of(fs, TWO_HB.replace("bus = 0x20", "bus = 0x0d").replace("{size}", "4G"))
    assert err.key == "host_bridges[1].bus"
    assert "overlap" in err.reason


def test_device_and_switch_on_one_port(fs):
    text = GOOD.replace("  port = 1\n", "  port = 1\n  switch = { ports = [ { port = 0 } ] }\n")
    err = error_of(fs, text)
    assert err.key == "host_bridges[0].root_ports[1].switch"


# ---------------------------------------------------------------------------
# Firmware-committed regions
# ---------------------------------------------------------------------------

REGION = (
    TWO_HB.replace("{size}", "4G")
    + """
[[host_bridges]]
bus = 0x40
  [[host_bridges.windows]]
  base = 0x690000000
  size = "8G"
  targets = [0x0c, 0x20]
  granularity = 4096
  [[host_bridges.root_ports]]
  port = 0
  device = { name = "c", serial = 3, ram = "512M" }

[[regions]]
window = 2
devices = ["a", "b"]
size = "512M"
"""
)


def test_region_resolves(fs):
    topo = load_fixture(write(fs, REGION))
    (r,) = topo.regions
    assert (r.window, r.devices, r.start, r.size, r.granularity, r.mode) == (
        2,
        ("a", "b"),
        0x690000000,
        512 << 20,
        4096,
        "ram",
    )


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (
            ('devices = ["a", "b"]', 'devices = ["b", "a"]'),
            "regions[0].devices[0]",
            "host bridge 12",
        ),
        (('devices = ["a", "b"]', 'devices = ["a", "x"]'), "regions[0].devices[1]", "no device"),
        (('devices = ["a", "b"]', 'devices = ["a", "a"]'), "regions[0].devices[1]", "twice"),
        (('size = "512M"\n', 'size = "2G"\n'), "regions[0].devices[0]", "ram"),
        (('size = "512M"\n', 'size = "256M"\n'), "regions[0].size", "x 2 ways"),
        (("window = 2", "window = 9"), "regions[0].window", "no window 9"),
        (('size = "512M"\n', 'size = "512M"\nmode = "pmem"\n'), "regions[0].mode", "ram regions"),
        (
            ('size = "512M"\n', 'size = "512M"\ngranularity = 256\n'),
            "regions[0].granularity",
            "must equal",
        ),
        (
            ('size = "512M"\n', 'size = "512M"\nstart = 0x490000000\n'),
            "regions[0].start",
            "does not fit",
        ),
        (('devices = ["a", "b"]', 'devices = ["a", "b", "c"]'), "regions[0].devices", "3 ways"),
    ],
)
def test_region_errors(fs, change, key, words):
    old, new = change
    assert old in REGION
    err = error_of(fs, REGION.replace(old, new, 1))
    assert err.key == key, str(err)
    assert words in err.reason, str(err)


def test_region_needs_a_free_decoder(fs):
    # A host bridge with one root port has a single passthrough decoder.
    text = REGION + '\n[[regions]]\nwindow = 2\ndevices = ["a", "b"]\nsize = "512M"\n'
    err = error_of(fs, text)
    assert err.key == "regions[1].devices"
    assert "HDM decoder" in err.reason


def test_region_interleave_order_below_a_switch():
    # cxl_test region0: positions 0 and 1 go through switch ports 0 and 4.
    topo = load_fixture("cxl_test")
    (r,) = topo.regions
    assert r.devices == ("cxl_mem.0", "cxl_mem.4")
    assert r.start == topo.windows[0].base


# ---------------------------------------------------------------------------
# Parametric fixtures
# ---------------------------------------------------------------------------


def test_scale_defaults_and_parameters():
    small = load_fixture("scale")
    assert len(small.devices()) == 4
    assert dict(small.params) == {"devices_per_port": 1, "host_bridges": 2, "root_ports": 2}
    big = load_fixture("scale", {"host_bridges": 64, "root_ports": 64, "devices_per_port": 1})
    devs = big.devices()
    assert len(devs) == 4096
    assert len({d.serial for d in devs}) == 4096
    assert len({(hb.segment, hb.bus) for hb in big.host_bridges}) == 64
    switched = load_fixture("scale", {"host_bridges": 2, "root_ports": 2, "devices_per_port": 4})
    assert all(
        rp.switch and len(rp.switch.ports) == 4
        for hb in switched.host_bridges
        for rp in hb.root_ports
    )
    assert len(switched.windows) == 2


def test_scale_parameter_errors():
    with pytest.raises(FixtureError) as info:
        load_fixture("scale", {"hosts": 2})
    assert info.value.key == "generate.hosts" and "unknown parameter" in info.value.reason
    with pytest.raises(FixtureError) as info:
        load_fixture("scale", {"host_bridges": 0})
    assert "positive" in info.value.reason
    with pytest.raises(FixtureError) as info:
        load_fixture("scale", {"root_ports": 16, "devices_per_port": 16})
    assert info.value.key == "generate.root_ports" and "bus numbers" in info.value.reason


def test_parameters_for_a_fixed_fixture():
    with pytest.raises(FixtureError) as info:
        load_fixture("qemu-a", {"host_bridges": 2})
    assert "has none" in info.value.reason


def test_generate_excludes_host_bridges(fs):
    err = error_of(fs, GOOD + "\n[generate]\nhost_bridges = 1\n")
    assert err.key.startswith("generate")


# ---------------------------------------------------------------------------
# Built-in fixtures
# ---------------------------------------------------------------------------

BUILTIN = {
    "default",
    "1hb1rp1mem",
    "1hb2rp2mem",
    "1hb2rp4mem-switch",
    "cxl_test",
    "qemu-a",
    "qemu-b",
    "qemu-c",
    "scale",
}


def test_builtin_fixtures_listed_with_descriptions():
    listed = dict(builtin_fixtures())
    assert BUILTIN <= set(listed)
    assert all(listed[n] and "\n" not in listed[n] for n in BUILTIN)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_fixture_loads(name):
    topo = load_fixture(name)
    assert topo.name == name
    assert topo.devices()
    assert load_fixture(fixture_path(name)) == topo


def test_unknown_builtin():
    with pytest.raises(FixtureError) as info:
        fixture_path("no-such-fixture")
    assert "built-in" in info.value.reason and "qemu-a" in info.value.reason


def test_seed_topologies():
    def shape(name):
        topo = load_fixture(name)
        rps = [rp for hb in topo.host_bridges for rp in hb.root_ports]
        return len(topo.host_bridges), len(rps), len(topo.devices()), any(rp.switch for rp in rps)

    assert shape("1hb1rp1mem") == (1, 1, 1, False)
    assert shape("1hb2rp2mem") == (1, 2, 2, False)
    assert shape("1hb2rp4mem-switch") == (1, 2, 4, True)


def test_cxl_test_topology():
    topo = load_fixture("cxl_test")
    assert topo.platform.kind == "cxl_test"
    assert [hb.uid for hb in topo.host_bridges] == [0, 1, 2, 3]
    assert [len(hb.root_ports) for hb in topo.host_bridges] == [2, 2, 1, 0]
    assert topo.host_bridges[3].rch and topo.host_bridges[3].device.host == "cxl_rcd.10"
    devs = topo.devices()
    assert len(devs) == 11
    assert sorted(d.serial for d in devs) == list(range(1, 12))
    assert {d.host: d.memdev for d in devs}["cxl_mem.9"] == 9
    assert [w.targets for w in topo.windows] == [(0,), (0, 1), (0,), (0, 1), (2,), (3,)]
    assert [w.size >> 20 for w in topo.windows] == [1024, 2048, 1024, 2048, 1024, 256]
    assert all(w.qos_class == 42 for w in topo.windows)


# ---------------------------------------------------------------------------
# Line lookup
# ---------------------------------------------------------------------------


def test_find_line():
    text = textwrap.dedent(
        """\
        [platform]
        cpus = 2
        [[a]]
        x = 1
          [[a.b]]
          y = 2
          [[a.b]]
          y = 3
        [[a]]
          [[a.b]]
          y = 4
          [a.b.c]
          z = 5
        """
    )
    assert find_line(text, "platform.cpus") == 2
    assert find_line(text, "a[0].x") == 4
    assert find_line(text, "a[0].b[1].y") == 8
    assert find_line(text, "a[1].b[0].y") == 11
    assert find_line(text, "a[1].b[0].c.z") == 13
    assert find_line(text, "a[1].b[0].c.missing") == 12
    assert find_line(text, "a[1]") == 9
    assert find_line(text, "nothing") is None


SWITCHED = """\
[[host_bridges]]
bus = 0x0c
  [[host_bridges.windows]]
  base = 0x490000000
  size = "4G"
  granularity = 4096
  [[host_bridges.root_ports]]
  port = 0
    [[host_bridges.root_ports.switch.ports]]
    port = 0
    device = { name = "a0", serial = 1, ram = "256M" }
    [[host_bridges.root_ports.switch.ports]]
    port = 1
    device = { name = "a1", serial = 2, ram = "256M" }
  [[host_bridges.root_ports]]
  port = 1
    [[host_bridges.root_ports.switch.ports]]
    port = 0
    device = { name = "b0", serial = 3, ram = "256M" }
    [[host_bridges.root_ports.switch.ports]]
    port = 1
    device = { name = "b1", serial = 4, ram = "256M" }
  [[host_bridges.root_ports]]
  port = 2
  device = { name = "c", serial = 5, ram = "256M" }

[[regions]]
window = 0
devices = {devices}
size = "1G"
"""


def test_four_way_region_through_two_switches(fs):
    topo = load_fixture(write(fs, SWITCHED.replace("{devices}", '["a0", "b0", "a1", "b1"]')))
    assert topo.regions[0].ways == 4


def test_region_positions_follow_the_interleave_order(fs):
    err = error_of(fs, SWITCHED.replace("{devices}", '["a0", "a1", "b0", "b1"]'))
    assert err.key == "regions[0].devices[1]"
    assert "must be 2 apart" in err.reason


def test_region_devices_at_one_depth(fs):
    text = SWITCHED.replace("{devices}", '["a0", "c"]').replace('size = "1G"', 'size = "512M"')
    err = error_of(fs, text)
    assert err.key == "regions[0].devices"
    assert "same depth" in err.reason


def test_generate_template_errors(fs):
    err = error_of(fs, '[generate]\nhost_bridges = 1\n[generate.device]\nram = "lots"\n')
    assert err.key == "generate.device.ram"
    assert err.line == 4
    err = error_of(fs, "[generate]\n[generate.device]\nserial = 5\n")
    assert err.key == "generate.device.serial"
