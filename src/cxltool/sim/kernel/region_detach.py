"""A region losing one of its endpoint decoders because the decoder went away.

When an endpoint port is torn down (its memdev unbound, a port above it
disabled) each of its decoders that belongs to a region leaves that region, as
a `targetN` detach does (kernel-abi.md 2.6.5): a committed region first has all
its decoders reset (`commit` reads 0, each port's `decoders_committed` drops),
the region falls back to waiting for targets, the switch programming is torn
down (switch decoders lose their HPA range, and their `region` where no other
member is below them), the slot is cleared, and a bound region is unbound from
cxl_region (its dax or pmem region children go away).
"""

from __future__ import annotations

from collections import Counter

from cxltool.sim.kernel.cxl_bus_view import is_root_port, parent_dir, port_number
from cxltool.sim.kernel.device_core import DeviceCore
from cxltool.sim.shapes import kernel_hex
from cxltool.sysfs import paths


def _read(core: DeviceCore, path: str) -> str:
    return core.root.read_opt(path) or ""


def _switch_decoders_of(core: DeviceCore, ports: list[str], region: str) -> list[str]:
    out = []
    for port in ports:
        n = port_number(paths.basename(port))
        for name in core.view.listdir_host(port):
            if name.startswith(f"decoder{n}.") and _read(core, f"{port}/{name}/region") == region:
                out.append(f"{port}/{name}")
    return out


def detach_endpoint_decoder(core: DeviceCore, decoder: str) -> None:
    region_name = _read(core, decoder + "/region")
    if not region_name:
        return
    view = core.view
    region = view.device_named(region_name)
    if region is None:
        return
    ways = int(_read(core, region + "/interleave_ways") or 0)
    names = [_read(core, f"{region}/target{i}") for i in range(ways)]
    me = paths.basename(decoder)
    if me not in names:
        return
    slot = names.index(me)
    members = [view.device_named(n) for n in names if n]
    member_paths = [m for m in members if m is not None]
    switch_ports = [p for p in view.all_ports() if not is_root_port(p) and "endpoint" not in p]
    switch_decs = _switch_decoders_of(core, switch_ports, region_name)

    if _read(core, region + "/commit") == "1":
        drops: Counter[str] = Counter()
        for dec in member_paths + switch_decs:
            drops[parent_dir(dec)] += 1
        for port, n in drops.items():
            if view.is_gone(port):
                continue
            now = int(_read(core, port + "/decoders_committed") or 0)
            core.txn.write(port + "/decoders_committed", f"{max(now - n, 0)}\n")
        core.txn.write(region + "/commit", "0\n")
    if all(names):
        # The region was fully assembled: its switch-level programming is undone.
        for dec in switch_decs:
            core.txn.write(dec + "/start", kernel_hex(0) + "\n")
            core.txn.write(dec + "/size", kernel_hex(0) + "\n")
    others = [parent_dir(m) for m in member_paths if m != decoder]
    for dec in switch_decs:
        port = parent_dir(dec)
        if not any(o.startswith(port + "/") for o in others):
            core.txn.write(dec + "/region", "\n")
    core.txn.write(f"{region}/target{slot}", "\n")
    if view.is_bound(region):
        for child in view.listdir_host(region):
            if child.startswith(("dax_region", "pmem_region")):
                core.unregister(f"{region}/{child}")
        core.unbind(region)
