"""The libnvdimm region a CXL pmem region gets: registration, seeds, teardown."""

from __future__ import annotations

from cxltool.sim.kernel.nd_region import fletcher64, interleave_cookie
from cxltool.sysfs import paths
from tests.kernel.ndkit import ND, nd_differences, nd_path, pmem_root, read_nd
from tests.kernel.regionkit import DEV, build_region, fixture_root, write


def test_cookie_is_fletcher64_of_dpa_and_serial_per_position():
    assert fletcher64(b"") == 0
    # The captured cookies: one device, serial 2; two devices, serials 0x12, 0x13.
    assert interleave_cookie([(0, 2)]) == 0x400000002
    assert interleave_cookie([(0, 0x12), (0, 0x13)]) == 0x9200000025


def test_binding_a_pmem_region_registers_the_captured_nd_region(tmp_path):
    for run in ("b-debian", "c-v81"):
        root = pmem_root(tmp_path / run, run)
        assert nd_differences(root, run, "pmem-region-created") == []


def test_the_nd_region_plants_one_seed_of_each_kind(tmp_path):
    root = pmem_root(tmp_path, "c-v81")
    for kind, seed in (
        ("namespace", "namespace0.0"),
        ("btt", "btt0.0"),
        ("pfn", "pfn0.0"),
        ("dax", "dax0.0"),
    ):
        assert read_nd(root, "region0", f"{kind}_seed") == seed
        assert nd_path(root, seed) == nd_path(root, "region0") + "/" + seed
    assert read_nd(root, "nmem0", "state") == "active"
    assert read_nd(root, "nmem1", "state") == "active"


def test_unbinding_the_cxl_region_takes_the_nd_region_away(tmp_path):
    root = pmem_root(tmp_path, "c-v81")
    write(root, f"{paths.CXL_DRIVERS}/cxl_region/unbind", "region0")
    assert [n for n in root.listdir(ND) if n.startswith(("region", "namespace", "dax"))] == []
    assert read_nd(root, "nmem0", "state") == "idle"
    assert read_nd(root, "nmem1", "state") == "idle"
    assert not root.exists(f"{paths.ND_BUS}/drivers/nd_region/region0")
    # Binding again registers it afresh.
    write(root, f"{paths.CXL_DRIVERS}/cxl_region/bind", "region0")
    assert nd_differences(root, "c-v81", "pmem-region-created") == []


def test_the_nd_region_takes_the_cxl_region_id(tmp_path):
    root = fixture_root(tmp_path, "1hb2rp2mem")
    first = build_region(root, ["decoder2.0"], mode="pmem")
    second = build_region(
        root, ["decoder3.0"], mode="pmem", uuid="0b7f3c1e-52a4-4d7e-9a3b-6f2d1c0e9a8b"
    )
    for name in (first, second):
        n = name[len("region") :]
        assert read_nd(root, name, "size") == str(256 << 20)
        assert read_nd(root, name, "namespace_seed") == f"namespace{n}.0"
        cxl_start = int(open(root.host(root.realpath(f"{DEV}/{name}") + "/resource")).read(), 0)
        assert int(read_nd(root, name, "resource"), 0) == cxl_start
