"""ndctl's option-parsing rules, with its exact error texts and exit status."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from cxltool.cli.ndopts import Command, Opt, UsageExit, parse

CMD = Command(
    usage=["cxl demo [<options>]"],
    options=[
        Opt("m", "memdev", "str", "filter by memdev", argh="memory device name(s)"),
        Opt("M", "memdevs", "bool", "include memdevs"),
        Opt("d", "decoder", "str", "filter by decoder", argh="decoder device name"),
        Opt("D", "decoders", "bool", "include decoders"),
        Opt("w", "ways", "int", "number of ways"),
        Opt("i", "idle", "bool", "include idle"),
        Opt("v", "verbose", "incr", "more"),
        Opt(None, "no-online", "bool", "do not online"),
    ],
)


def fails(argv):
    with pytest.raises(UsageExit) as e:
        parse(argv, CMD)
    return e.value


def test_bundles_glued_values_and_repeats():
    p = parse(["-MDvvv", "-mmem0", "x", "--", "-M"], CMD)
    assert (p["memdevs"], p["decoders"], p["verbose"], p["memdev"]) == (True, True, 3, "mem0")
    assert p.args == ["x", "-M"]


def test_long_options_prefixes_and_negation():
    p = parse(["--memdev=mem1", "--verb", "--verb", "--no-idle", "--decoder", "root"], CMD)
    assert (p["memdev"], p["verbose"], p["idle"], p["decoder"]) == ("mem1", 2, False, "root")
    assert parse(["--no-online"], CMD)["no_online"] is True
    assert parse(["--no-online", "--online"], CMD)["no_online"] is False


def test_ambiguous_prefix():
    assert fails(["--memd=x"]).stderr.startswith(
        "  Error: Ambiguous option: memd=x (could be --memdev or --memdevs)\n"
    )
    e = fails(["--dec"])
    assert e.status == 129
    assert e.stderr.startswith(
        "  Error: Ambiguous option: dec (could be --decoder or --decoders)\n\n usage: cxl demo"
    )


def test_missing_value_prints_only_that_option():
    e = fails(["-m"])
    assert e.stderr == (
        "  Error: switch `m' requires a value\n\n usage: cxl demo [<options>]\n\n"
        "    -m, --memdev <memory device name(s)>\n                          filter by memdev\n"
    )
    assert fails(["--memdev"]).stderr.startswith("  Error: option `memdev' requires a value\n")


def test_numbers_and_flags_with_values():
    assert fails(["-w", "2x"]).stderr.startswith("  Error: switch `w' expects a numerical value\n")
    assert parse(["-w", "4"], CMD)["ways"] == 4
    assert fails(["--idle=1"]).stderr.startswith("  Error: option `idle' takes no value\n")


def test_unknown_options_print_full_usage():
    e = fails(["-Z"])
    assert e.stderr.startswith("  Error: unknown switch `Z'\n\n usage: cxl demo [<options>]\n\n")
    assert e.stderr.endswith(
        "    -v, --verbose         more\n        --no-online       do not online\n\n"
    )
    assert fails(["--bogus"]).stderr.startswith("  Error: unknown option `bogus'\n")


def test_single_dash_long_name_is_caught():
    e = fails(["-idle"])
    assert (e.status, e.stderr) == (129, "  Error: did you mean `--idle` (with two dashes ?)\n")


def test_help_and_list_opts():
    assert fails(["-h"]).status == 129
    e = fails(["--list-opts"])
    assert (e.status, e.stdout, e.stderr) == (
        130, "--memdev --memdevs --decoder --decoders --ways --idle --verbose --no-online ", ""
    )


@pytest.mark.ndctl
@pytest.mark.skipif(shutil.which("cxl") is None, reason="the real cxl is not installed")
@pytest.mark.parametrize("argv", [["-m"], ["--memdev"], ["-Z"], ["--bogus"], ["-idle"],
                                  ["--dec"], ["--memdevs=3"], ["-Mx"], ["--idle=1"]])
def test_first_error_line_matches_the_real_cxl_list(argv):
    from cxltool.cli.cxl_list import COMMAND

    real = subprocess.run(["cxl", "list", *argv], capture_output=True, text=True)
    with pytest.raises(UsageExit) as e:
        parse(argv, COMMAND)
    assert e.value.status == real.returncode == 129
    assert e.value.stderr.splitlines()[0] == real.stderr.splitlines()[0]
