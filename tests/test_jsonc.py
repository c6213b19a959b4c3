"""JSON text as ndctl prints it."""

from cxltool.cli.jsonc import dumps
from cxltool.ops.numbers import hexnum, human_size, parse_size


def test_pretty_layout_matches_json_c():
    assert dumps([{"memdev": "mem0", "ram_size": 268435456, "ok": True}]) == (
        '[\n  {\n    "memdev":"mem0",\n    "ram_size":268435456,\n    "ok":true\n  }\n]\n'
    )


def test_slash_is_escaped_and_empty_containers_break_the_line():
    assert dumps({"path": "/platform/ACPI0017:00", "devices": []}) == (
        '{\n  "path":"\\/platform\\/ACPI0017:00",\n  "devices":[\n  ]\n}\n'
    )
    assert dumps([]) == "[\n]\n"


def test_human_sizes_round_like_ndctl():
    assert human_size(268435456) == "256.00 MiB (268.44 MB)"
    assert human_size(1073741824) == "1024.00 MiB (1073.74 MB)"
    assert human_size(2147483648) == "2.00 GiB (2.15 GB)"
    assert human_size(4294967296) == "4.00 GiB (4.29 GB)"
    assert human_size(2097152) == 2097152
    assert human_size(3 << 40) == "3.00 TiB (3.30 TB)"


def test_hex_fields_use_c_printf_forms():
    assert hexnum(0, True) == "0"
    assert hexnum(0x12, True) == "0x12"
    assert hexnum(0x12, False) == 18


def test_size_arguments_take_ndctl_suffixes():
    assert parse_size("256M") == 256 << 20
    assert parse_size("0x1000") == 4096
    assert parse_size("4g") == 4 << 30
    assert parse_size("010") == 8
