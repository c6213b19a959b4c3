"""Taking CXL ports and memdevs down, in the order Linux 6.12 does it.

- A port going away (unregistered) first takes its child ports and endpoints
  with it (they are resources of the parent port), then its own decoders; an
  endpoint decoder that belongs to a region leaves it, as a `targetN` detach does
  (region_attach.detach_endpoint_decoder).
- Unbinding a port from cxl_port does the same to everything below it, removes
  its own decoders, dports and CDAT, and then the memdevs whose endpoints went
  away are detached from cxl_mem.
- Detaching a memdev from cxl_mem removes its endpoint port, its nvdimm (`pmemN`
  and the libnvdimm `nmemN`), its `trigger_poison_list`, and then walks up the
  ports it hung off: a switch port left with no endpoint below it goes away too,
  unless the port above it is unbound. Host-bridge ports (children of the root)
  stay.

Numbers of removed ports return to the port IDA; what each port's hardware
offers is recorded first so that a later probe recreates the same port.
"""

from __future__ import annotations

from cxltool.sim.kernel import port_hardware, port_ida
from cxltool.sim.kernel.cxl_bus_view import (
    is_endpoint,
    is_root_port,
    parent_dir,
    port_number,
)
from cxltool.sim.kernel.device_core import DeviceCore
from cxltool.sim.kernel.region_attach import detach_endpoint_decoder
from cxltool.sysfs import paths


def _decoders(core: DeviceCore, port: str) -> list[str]:
    prefix = f"decoder{port_number(paths.basename(port))}."
    return [f"{port}/{n}" for n in core.view.listdir_host(port) if n.startswith(prefix)]


def _drop_decoders(core: DeviceCore, port: str) -> None:
    """The port's decoders go away; endpoint decoders leave their regions first."""
    decoders = _decoders(core, port)
    if is_endpoint(port):
        for dec in decoders:
            detach_endpoint_decoder(core.txn, dec)
    # Unregistered in reverse order of creation.
    for dec in reversed(decoders):
        core.unregister(dec)


def _record_below(core: DeviceCore, port: str) -> None:
    port_hardware.record_port(core.txn, core.view, port)
    for child in core.view.child_ports(port):
        _record_below(core, child)


def remove_port(core: DeviceCore, port: str) -> None:
    """Unregister a switch or endpoint port and everything below it."""
    view = core.view
    if view.is_gone(port):
        return
    port_hardware.record_port(core.txn, view, port)
    for child in reversed(view.child_ports(port)):
        remove_port(core, child)
    _drop_decoders(core, port)
    core.unregister(port)
    n = port_number(paths.basename(port))
    if n is not None:
        port_ida.release(core.txn, n)


def unbind_port(core: DeviceCore, port: str) -> None:
    """cxl_port lets go of a port: what it enumerated goes, then memdevs below detach."""
    view = core.view
    _record_below(core, port)
    endpoints = view.endpoints_below(port)
    memdevs = [(view.uport(ep), ep) for ep in endpoints]
    for child in reversed(view.child_ports(port)):
        remove_port(core, child)
    _drop_decoders(core, port)
    for did, _target in view.dports(port):
        core.txn.remove(f"{port}/dport{did}")
    core.txn.remove(port + "/CDAT")
    core.unbind(port)
    for memdev, ep in memdevs:
        if memdev is not None and view.driver(memdev) == "cxl_mem":
            detach_memdev(core, memdev, ep)


def _nvdimm(core: DeviceCore, memdev: str) -> None:
    """The memdev's cxl_nvdimm device and the libnvdimm DIMM it registered go away."""
    view = core.view
    for name in view.listdir_host(memdev):
        if not (name.startswith("pmem") and name[4:].isdigit()):
            continue
        for nmem in view.root.listdir_opt(paths.ND_DEVICES):
            link = f"{paths.ND_DEVICES}/{nmem}"
            if nmem.startswith("nmem") and view.root.read_opt(link + "/cxl/provider") == name:
                core.unregister(view.root.realpath(link))
        core.unregister(f"{memdev}/{name}")


def _port_chain(endpoint: str) -> list[str]:
    """The ports an endpoint hangs off, nearest first, the root left out."""
    out = []
    port = parent_dir(endpoint)
    while port.startswith(paths.SYS_DEVICES) and not is_root_port(port):
        if port_number(paths.basename(port)) is not None:
            out.append(port)
        port = parent_dir(port)
    return out


def detach_memdev(core: DeviceCore, memdev: str, endpoint: str | None = None) -> None:
    """cxl_mem lets go of a memdev."""
    view = core.view
    if endpoint is None:
        endpoint = view.endpoint_of_memdev(memdev)
    port_hardware.record_memdev(core.txn, view, memdev)
    chain = _port_chain(endpoint) if endpoint else []
    if endpoint is not None:
        remove_port(core, endpoint)
    _nvdimm(core, memdev)
    for port in chain:
        if view.is_gone(port) or view.endpoints_below(port):
            continue
        parent = parent_dir(port)
        if is_root_port(parent) or not view.is_bound(parent):
            continue
        remove_port(core, port)
    core.txn.remove(memdev + "/trigger_poison_list")
    core.unbind(memdev)
