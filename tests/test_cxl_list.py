"""`cxl list` filters, nesting, -u and usage errors, on a tree captured from a real kernel.

The tree is the `c` topology (one host bridge, two root ports, a switch with four
downstream ports: mem0/mem1 volatile, mem2/mem3 persistent) with a 2-way ram region
over mem0 and mem1, as captured after its dax device was put in devdax mode.
Expected outputs are exact; the ones that 76.1 can also produce were checked
against it (see the ndctl-marked test at the end).
"""

from __future__ import annotations

import json
import os

import pytest

from cxltool.cli import jsonc
from cxltool.cli.cxl_list import COMMAND
from cxltool.sim.capture import load_capture, restore
from tests.transcripts import capture_file, run_cxltool

USAGE = COMMAND.full_usage()


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> str:
    dest = tmp_path_factory.mktemp("c-v81-ram-devdax")
    restore(load_capture(capture_file("c-v81", "ram-devdax")), str(dest))
    return str(dest)


def cxl_list(tree: str, *args: str) -> tuple[int, str, str]:
    return run_cxltool(tree, ["cxl", "list", *args])


def ok(tree: str, *args: str) -> str:
    rc, out, err = cxl_list(tree, *args)
    assert (rc, err) == (0, "")
    return out


def doc(text: str) -> str:
    """Expected output written as compact JSON, in the form json-c prints it."""
    return jsonc.dumps(json.loads(text))


MEM0 = """{"memdev":"mem0","ram_size":268435456,"serial":16,"host":"0000:0f:00.0",
           "firmware_version":"BWFW VERSION 00"}"""
MEM1 = """{"memdev":"mem1","ram_size":268435456,"serial":17,"host":"0000:10:00.0",
           "firmware_version":"BWFW VERSION 00"}"""
ROOT_DECODER = """{"decoder":"decoder0.0","resource":19595788288,"size":4294967296,
    "interleave_ways":1,"max_available_extent":3758096384,"pmem_capable":true,
    "volatile_capable":true,"accelmem_capable":true,"qos_class":0,"nr_targets":1}"""
PORT2 = """{"port":"port2","host":"0000:0d:00.0","parent_dport":"0000:0c:00.0","depth":2,
            "decoders_committed":1}"""


# -- memdev filters -------------------------------------------------------------
def test_memdev_by_name(tree):
    assert ok(tree, "-m", "mem1") == doc(f"[{MEM1}]")


def test_memdev_by_id_and_host(tree):
    assert ok(tree, "-m", "1") == doc(f"[{MEM1}]")
    assert ok(tree, "-m", "mem1xyz") == doc(f"[{MEM1}]")


def test_memdev_by_pci_host_also_matches_mem0(tree):
    # sscanf("%d") reads "0000:10:00.0" as 0, so mem0 matches as well as the
    # memdev whose host it is; ndctl does the same.
    assert ok(tree, "-m", "0000:10:00.0") == doc(f"[{MEM0},{MEM1}]")


def test_memdev_words_split_on_commas_or_spaces(tree):
    assert ok(tree, "-m", "mem0,mem1") == doc(f"[{MEM0},{MEM1}]")
    assert ok(tree, "-m", "mem1 mem0") == doc(f"[{MEM0},{MEM1}]")


def test_serial(tree):
    assert ok(tree, "-s", "0x11") == doc(f"[{MEM1}]")
    assert ok(tree, "-s", "17") == doc(f"[{MEM1}]")
    # Serial words must be whole numbers.
    rc, out, err = cxl_list(tree, "-s", "17x")
    assert (rc, out) == (0, "[\n]\n")


def test_serial_and_name_must_both_match(tree):
    assert ok(tree, "-m", "mem1", "-s", "0x11") == doc(f"[{MEM1}]")
    rc, out, err = cxl_list(tree, "-m", "mem0", "-s", "0x11")
    assert out == "[\n]\n"


def test_memdevs_through_a_decoder(tree):
    # Memdevs behind decoder2.0's targets (the switch's two volatile ports).
    assert ok(tree, "-M", "-d", "decoder2.0") == doc(f"[{MEM0},{MEM1}]")
    # Endpoint decoders have no targets, so they select no memdevs.
    rc, out, err = cxl_list(tree, "-M", "-d", "endpoint")
    assert out == "[\n]\n"


# -- ports ----------------------------------------------------------------------
def test_single_port(tree):
    assert ok(tree, "-p", "port2", "-S") == doc(f"[{PORT2}]")
    # A port filter alone lists only that port (SINGLE is forced).
    assert ok(tree, "-p", "port2") == doc(f"[{PORT2}]")


def test_ports_below_root_nest_under_the_bus(tree):
    expected = f"""[{{"bus":"root0","provider":"ACPI.CXL","ports:root0":[
        {{"port":"port1","host":"pci0000:0c","depth":1,"decoders_committed":1,
          "ports:port1":[{PORT2}]}}]}}]"""
    assert ok(tree, "-P", "-p", "root") == doc(expected)


def test_root_port_single_is_the_bus_alone(tree):
    assert ok(tree, "-P", "-p", "root", "-S") == doc(
        '[{"bus":"root0","provider":"ACPI.CXL"}]'
    )


def test_port_by_host(tree):
    assert ok(tree, "-p", "0000:0d:00.0") == doc(f"[{PORT2}]")


def test_ports_with_endpoints_of_a_memdev(tree):
    # Host-bridge ports count as switch ports; -m keeps only the path to mem0,
    # and without -M the memdev itself is not listed.
    expected = """[{"port":"port1","host":"pci0000:0c","depth":1,"decoders_committed":1,
        "ports:port1":[{"port":"port2","host":"0000:0d:00.0","parent_dport":"0000:0c:00.0",
          "depth":2,"decoders_committed":1,"endpoints:port2":[
            {"endpoint":"endpoint4","host":"mem0","parent_dport":"0000:0e:00.0","depth":3,
             "decoders_committed":1}]}]}]"""
    assert ok(tree, "-P", "-p", "switch,endpoint", "-m", "mem0") == doc(expected)
    nested = json.loads(ok(tree, "-PEM", "-p", "port2", "-m", "mem0"))
    assert nested[0]["endpoints:port2"][0]["memdev"] == json.loads(MEM0)


def test_dports_filtered_by_memdev_keep_their_count(tree):
    expected = """{"port":"port2","host":"0000:0d:00.0","parent_dport":"0000:0c:00.0",
        "depth":2,"decoders_committed":1,"nr_dports":4,
        "dports":[{"dport":"0000:0e:01.0","id":"0x1"}]}"""
    assert ok(tree, "-PTu", "-p", "port2", "-m", "mem1") == doc(expected)


# -- decoders and regions ---------------------------------------------------------
def test_root_decoders(tree):
    assert ok(tree, "-d", "root") == doc(f"[{ROOT_DECODER}]")
    assert ok(tree, "-d", "0.0") == doc(f"[{ROOT_DECODER}]")


def test_decoders_of_a_memdev_in_buckets(tree):
    expected = """[
      {"root decoders":[{"decoder":"decoder0.0","resource":19595788288,"size":4294967296,
        "interleave_ways":1,"max_available_extent":3758096384,"pmem_capable":true,
        "volatile_capable":true,"accelmem_capable":true,"qos_class":0,"nr_targets":1,
        "targets":[{"target":"pci0000:0c","alias":"ACPI0016:00","position":0,"id":12}]}]},
      {"port decoders":[
        {"decoder":"decoder1.0","resource":19595788288,"size":536870912,"interleave_ways":1,
         "region":"region0","nr_targets":1,
         "targets":[{"target":"0000:0c:00.0","position":0,"id":0}]},
        {"decoder":"decoder2.0","resource":19595788288,"size":536870912,"interleave_ways":2,
         "interleave_granularity":256,"region":"region0","nr_targets":2,
         "targets":[{"target":"0000:0e:01.0","position":1,"id":1}]}]},
      {"endpoint decoders":[
        {"decoder":"decoder3.0","resource":19595788288,"size":536870912,"interleave_ways":2,
         "interleave_granularity":256,"region":"region0","dpa_resource":0,
         "dpa_size":268435456,"mode":"ram"}]}
    ]"""
    assert ok(tree, "-DT", "-m", "mem1") == doc(expected)


def test_region_with_mappings(tree):
    expected = """[{"region":"region0","resource":19595788288,"size":536870912,"type":"ram",
        "interleave_ways":2,"interleave_granularity":256,"decode_state":"commit",
        "mappings":[{"position":1,"memdev":"mem1","decoder":"decoder3.0"},
                    {"position":0,"memdev":"mem0","decoder":"decoder4.0"}],
        "qos_class_mismatch":true}]"""
    assert ok(tree, "-r", "region0", "-T") == doc(expected)
    assert ok(tree, "-r", "0", "-T") == doc(expected)


def test_regions_nest_under_their_root_decoder(tree):
    out = json.loads(ok(tree, "-D", "-R", "-d", "root"))
    assert [r["region"] for r in out[0]["regions:decoder0.0"]] == ["region0"]


def test_region_filter_selects_decoders_of_that_region(tree):
    out = json.loads(ok(tree, "-D", "-r", "region0"))
    names = [d["decoder"] for bucket in out for d in next(iter(bucket.values()))]
    assert names == ["decoder0.0", "decoder1.0", "decoder2.0", "decoder4.0", "decoder3.0"]


# -- -u, empty results, verbosity -----------------------------------------------------
def test_human_unwraps_a_single_result(tree):
    expected = """{"memdev":"mem1","ram_size":"256.00 MiB (268.44 MB)","serial":"0x11",
        "host":"0000:10:00.0","firmware_version":"BWFW VERSION 00"}"""
    assert ok(tree, "-m", "mem1", "-u") == doc(expected)


def test_human_bus_dports(tree):
    expected = """{"bus":"root0","provider":"ACPI.CXL","nr_dports":1,
        "dports":[{"dport":"pci0000:0c","alias":"ACPI0016:00","id":"0xc"}]}"""
    assert ok(tree, "-BTu", "-b", "ACPI.CXL") == doc(expected)


def test_no_match_warns_and_prints_an_empty_array(tree):
    assert cxl_list(tree, "-m", "mem9") == (0, "[\n]\n", "  Warning: no matching devices found\n\n")


def test_no_match_with_human_prints_nothing(tree):
    assert cxl_list(tree, "-m", "mem9", "-u") == (0, "", "")
    assert cxl_list(tree, "-r", "region9", "-u") == (0, "", "")


def test_default_is_regions_and_memdevs(tree):
    out = json.loads(ok(tree))
    assert [next(iter(b)) for b in out] == ["memdevs", "regions"]
    assert [m["memdev"] for m in out[0]["memdevs"]] == ["mem2", "mem0", "mem3", "mem1"]


def test_verbose_lists_the_tree_from_buses(tree):
    out = json.loads(ok(tree, "-v"))
    assert list(out[0]) == [
        "bus", "provider", "nr_dports", "dports", "ports:root0", "decoders:root0"
    ]
    assert "regions:decoder0.0" in out[0]["decoders:root0"][0]


def test_media_errors_accepted(tree):
    assert ok(tree, "-M", "-L", "-m", "mem1") == doc(f"[{MEM1}]")


def test_mailbox_data_of_a_simulated_device(tree, tmp_path):
    restore(load_capture(capture_file("c-v81", "ram-devdax")), str(tmp_path))
    os.makedirs(tmp_path / ".cxltool" / "mailbox")
    mailbox = {
        "partition_info": {
            "total_size": 268435456,
            "volatile_only_size": 268435456,
            "persistent_only_size": 0,
            "partition_alignment_size": 0,
        },
        "firmware": {"num_slots": 2, "active_slot": 1, "online_activate_capable": True,
                     "slot_1_version": "BWFW VERSION 0", "fw_update_in_progress": True,
                     "remaining_size": 1073741824},
    }
    (tmp_path / ".cxltool" / "mailbox" / "mem1.json").write_text(json.dumps(mailbox))
    expected = """{"memdev":"mem1","ram_size":"256.00 MiB (268.44 MB)","serial":"0x11",
        "host":"0000:10:00.0","firmware_version":"BWFW VERSION 00",
        "partition_info":{"total_size":"256.00 MiB (268.44 MB)",
          "volatile_only_size":"256.00 MiB (268.44 MB)","persistent_only_size":0,
          "partition_alignment_size":0},
        "firmware":{"num_slots":2,"active_slot":1,"online_activate_capable":true,
          "slot_1_version":"BWFW VERSION 0","fw_update_in_progress":true,
          "remaining_size":"1024.00 MiB (1073.74 MB)"}}"""
    assert ok(str(tmp_path), "-m", "mem1", "-H", "-I", "-F", "-A", "-u") == doc(expected)
    # Without the flags, or for a device with no record, nothing is added.
    assert ok(str(tmp_path), "-m", "mem0", "-I", "-F") == doc(f"[{MEM0}]")


# -- usage errors --------------------------------------------------------------------------
def test_extra_words(tree):
    err = '  Error: unknown parameter "foo"\n\n  Error: unknown parameter "bar"\n\n' + USAGE
    assert cxl_list(tree, "foo", "-M", "bar") == (129, "", err)


def test_single_needs_a_port_filter(tree):
    err = "  Error: -S/--single expects a port filter: -p/--port=\n\n" + USAGE
    assert cxl_list(tree, "-S") == (129, "", err)


def test_unknown_switch_and_option(tree):
    assert cxl_list(tree, "-Z") == (129, "", "  Error: unknown switch `Z'\n" + USAGE)
    assert cxl_list(tree, "--bogus") == (129, "", "  Error: unknown option `bogus'\n" + USAGE)


def test_missing_value(tree):
    err = (
        "  Error: switch `m' requires a value\n\n usage: cxl list [<options>]\n\n"
        "    -m, --memdev <memory device name(s)>\n"
        "                          filter by CXL memory device name(s)\n"
    )
    assert cxl_list(tree, "-m") == (129, "", err)


def test_ambiguous_prefix(tree):
    # Only the usage header follows, as ndctl prints it.
    err = (
        "  Error: Ambiguous option: dec (could be --decoder or --decoders)\n"
        "\n usage: cxl list [<options>]\n\n"
    )
    assert cxl_list(tree, "--dec") == (129, "", err)


def test_help_text():
    assert USAGE.startswith("\n usage: cxl list [<options>]\n\n    -m, --memdev <memory device")
    assert "    -L, --media-errors    include media-error information \n" in USAGE
    assert USAGE.endswith("        --debug           debug list walk\n\n")


# -- against the real ndctl 76.1 --------------------------------------------------------------
# Option sets whose meaning is the same in 76.1 and v85. Left out: -v (v77 made it
# list regions too), -X/-F/-L (newer than 76.1), and -M with -p/-b (76.1 let every
# memdev of a matching bus through; v83 and later test the memdev's device path).
SAME_IN_76 = [
    "-M", "-B", "-P", "-E", "-D", "-R", "-BPEMDRT", "-BPEMDRTi", "-BPEMDRTu",
    "-m mem1", "-m 0000:10:00.0", "-m mem1xyz", "-m mem0,mem2", "-s 0x11", "-s 0x11,0x12",
    "-p port2 -S", "-P -p port2", "-P -p root", "-P -p root -S", "-P -p endpoint",
    "-P -p switch", "-p 0000:0d:00.0", "-d root", "-d switch", "-d endpoint -i",
    "-d 0.0", "-M -d decoder2.0", "-M -d decoder1.0", "-r region0 -T", "-R -r 0",
    "-e endpoint3", "-e mem1", "-b ACPI.CXL", "-BT -m mem1", "-BPT -m mem1", "-DT -m mem1",
    "-DT -m mem1 -i", "-P -p switch,endpoint -m mem0", "-E -p port1", "-E -p port1 -S",
    "-D -p port1", "-R -p root", "-R -d root", "-BRD", "-PEM", "-PDi", "-EDi", "-MR",
    "-m all", "-d all", "-M -i", "-m mem9", "-r region9 -u", "-vv",
]
NEWER_THAN_76 = {
    "parent_dport", "type", "daxregion", "pmem_qos_class", "ram_qos_class", "qos_class",
    "qos_class_mismatch", "decoders_committed", "firmware_version", "poison_injectable",
    "injectable_protocol_errors", "protocol_injectable", "extended_linear_cache_size", "locked",
}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in NEWER_THAN_76}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


@pytest.mark.ndctl
@pytest.mark.parametrize("label", ["ram-devdax", "pmem-region-created", "before"])
def test_same_as_ndctl_76(label, tmp_path):
    from tests.realtools import run_real, unavailable_reason

    reason = unavailable_reason("cxl")
    if reason:
        pytest.skip(reason)
    restore(load_capture(capture_file("c-v81", label)), str(tmp_path))
    argvs = [["cxl", "list", *words.split()] for words in SAME_IN_76]
    for argv, (rc, out, err) in zip(argvs, run_real(str(tmp_path), argvs), strict=True):
        ours = run_cxltool(str(tmp_path), argv)
        text = jsonc.dumps(_strip(json.loads(ours[1]))) if ours[1] else ""
        assert (ours[0], text, ours[2]) == (rc, out, err), " ".join(argv)


# -- with a CXL debugfs directory (real systems with debugfs mounted) --------------------
def test_debugfs_keys(tree, tmp_path):
    from cxltool.objects.cxl import CxlSystem
    from cxltool.ops.cxl_list import ListParams, apply_defaults, list_topology
    from cxltool.sysfs import open_root, paths

    restore(load_capture(capture_file("c-v81", "ram-devdax")), str(tmp_path))
    debugfs = paths.SYS + "/kernel/debug/cxl"
    os.makedirs(f"{tmp_path}{debugfs}/mem1")
    os.makedirs(f"{tmp_path}{debugfs}/0000:0e:01.0")
    (tmp_path / debugfs.lstrip("/") / "einj_types").write_text(
        "0x00008000 Mem Correctable\n0x00001000 Cache Correctable\n"
    )
    (tmp_path / debugfs.lstrip("/") / "mem1" / "inject_poison").write_text("")
    (tmp_path / debugfs.lstrip("/") / "0000:0e:01.0" / "einj_inject").write_text("")

    system = CxlSystem(open_root(str(tmp_path)))
    assert system.debugfs is None  # a simulated system has no debugfs
    system.__dict__["debugfs"] = debugfs  # as found through /proc/mounts on a real one
    params = ListParams(buses=True, ports=True, memdevs=True, endpoints=True,
                        targets=True, memdev_filter="mem1")
    apply_defaults(params)
    out = list_topology(system, params)
    bus = out[0]
    assert list(bus)[:5] == ["bus", "provider", "injectable_protocol_errors", "nr_dports",
                             "dports"]
    assert bus["injectable_protocol_errors"] == ["mem-correctable", "cache-correctable"]
    assert bus["dports"][0]["protocol_injectable"] is False
    port2 = bus["ports:root0"][0]["ports:port1"][0]
    assert port2["dports"] == [{"dport": "0000:0e:01.0", "id": 1, "protocol_injectable": True}]
    memdev = port2["endpoints:port2"][0]["memdev"]
    assert list(memdev)[-2:] == ["firmware_version", "poison_injectable"]
    assert memdev["poison_injectable"] is True
