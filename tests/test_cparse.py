"""C number parsing as ndctl applies it to attributes and filter words."""

from __future__ import annotations

import pytest

from cxltool.objects.cparse import (
    ULLONG_MAX,
    atoi,
    scan_int,
    scan_int_pair,
    strtol,
    strtoul_uint,
    strtoull,
    strtoull_end,
)


@pytest.mark.parametrize(
    "text,value,end",
    [
        ("0x0000000010000000", 0x10000000, 18),
        ("0x0", 0, 3),
        ("0", 0, 1),
        ("010", 8, 3),  # octal
        ("08", 0, 1),  # octal stops at 8
        ("0x", 0, 1),  # "0" parsed, "x" left
        ("0x1g", 1, 3),
        (" 12abc", 12, 3),
        ("-1", ULLONG_MAX, 2),
        ("99999999999999999999999", ULLONG_MAX, 23),
        ("abc", 0, 0),
        ("", 0, 0),
    ],
)
def test_strtoull(text, value, end):
    assert strtoull_end(text) == (value, end)


def test_bases():
    assert strtoull("255", 16) == 0x255
    assert strtoull("0xff", 10) == 0
    assert strtoull("ff", 16) == 255


def test_signed_and_narrow_forms():
    assert strtol("-1") == -1
    assert strtol("99999999999999999999999") == (1 << 63) - 1
    assert atoi("-1") == -1
    assert atoi("42 apples") == 42
    assert atoi("x") == 0
    assert strtoul_uint("4294967297") == 1


@pytest.mark.parametrize(
    "text,prefix,value",
    [
        ("mem12", "mem", 12),
        ("mem", "mem", None),
        ("mem-1", "mem", -1),
        ("mem1xyz", "mem", 1),
        ("0000:36:00.0", "", 0),
        ("4294967296", "", 0),  # stored in an int
        ("pmem2", "mem", None),
        ("dport1", "port", None),
    ],
)
def test_scan_int(text, prefix, value):
    assert scan_int(text, prefix) == value


def test_scan_int_pair():
    assert scan_int_pair("decoder1.3", "decoder") == (1, 3)
    assert scan_int_pair("1.3") == (1, 3)
    assert scan_int_pair("1") is None
    assert scan_int_pair("1.x") is None
    assert scan_int_pair("decoder1.3", "") is None
