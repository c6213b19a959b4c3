"""Putting endpoint decoders into a region's positions (`targetN`) and taking them out.

Attaching runs the kernel's checks in its order (see kernel-abi.md 2.6.5), then
claims a decoder on every port between the endpoint and the root: the endpoint
decoder itself, and on each switch or host bridge the decoder that is next to
commit (commit_end + 1), unclaimed, with no decoder below it shut down out of
order; regions sharing a port must arrive in increasing HPA order. When the last
position fills, every port's decoder is programmed top-down: ways from the
number of dports used, granularity from the level above, target lists in
position order, checked with the "distance" rule. If that fails the kernel
keeps the position filled and the region stays unprogrammed (KernelError.keep).

Detaching resets a committed region's decoders, lets go of the decoders the
endpoint no longer needs, unprograms the ports (user regions only) and unbinds
the region driver.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel import region_driver
from cxltool.sim.kernel.cxlview import (
    ACTIVE,
    COMMIT,
    INTERLEAVE_ACTIVE,
    Cxl,
    Decoder,
    Port,
    Region,
    region_decoder_at,
)
from cxltool.sim.kernel.hdm import Hdm
from cxltool.sim.kernel.interleave import check_interleave_cap
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.kstr import granularity_to_eig, is_power_of_2, ways_to_eiw


def _dports_used(port: Port, region: Region, targets: list[Decoder | None]) -> list[int]:
    """Distinct dports of `port` that the region's endpoints below it go through."""
    used: list[int] = []
    for ep in targets:
        if ep is None or port not in ep.port.chain():
            continue
        did = port.dport_toward(ep.port)
        if did is not None and did not in used:
            used.append(did)
    return used


def _claim(cxl: Cxl, hdm: Hdm, port: Port, region: Region, ep: Decoder,
           targets: list[Decoder | None]) -> None:
    """The kernel's cxl_port_attach_region() for one port."""
    if port.is_endpoint:
        existing = ep if ep.region_name == region.name else None
    else:
        existing = region_decoder_at(port, region)
    if existing is None:
        # Regions sharing a port must be programmed in increasing HPA order.
        seen = set()
        for dec in port.decoders:
            name = dec.region_name
            if not name or name == region.name or name in seen:
                continue
            seen.add(name)
            path = cxl.bus_device(name)
            other = cxl.region(path) if path else None
            if other is not None and other.has_hpa and other.start >= region.start:
                raise KernelError(errno.EBUSY)
        if port.is_endpoint:
            if ep.region_name:
                raise KernelError(errno.EBUSY)
            ep.set("region", region.name)
            return
        free = [
            d
            for d in port.decoders
            if d.id == port.commit_end + 1
            and not d.region_name
            and d.is_switch
            and hdm.lower_all_enabled(port, d)
        ]
        if not free:
            raise KernelError(errno.EBUSY)
        existing = free[0]
        existing.set("target_type", "expander")
        existing.set("region", region.name)
    if not port.is_endpoint:
        with_new = [t for t in targets if t is not None] + [ep]
        if len(_dports_used(port, region, with_new)) > port.target_count:
            raise KernelError(errno.ENXIO)


def _target_list(port: Port, dec: Decoder, assigned: list[int]) -> str:
    """What `target_list` shows: the first `interleave_ways` target slots."""
    before = dec.target_ids
    idle = 0 if 0 in port.dports else None
    out = []
    for i in range(dec.ways):
        if i < len(assigned):
            out.append(assigned[i])
        elif i < len(before):
            out.append(before[i])
        elif idle is not None:
            out.append(idle)
        else:
            break
    return ",".join(str(d) for d in out)


class _Setup:
    """Programming of every port's decoder once all positions are filled."""

    def __init__(self, region: Region, targets: list[Decoder | None]) -> None:
        self.region = region
        self.targets = targets
        self.assigned: dict[str, list[int]] = {}
        root = region.root_decoder
        self.root_ways = root.ways

    def nr_targets(self, port: Port) -> int:
        return len(_dports_used(port, self.region, self.targets))

    def run(self) -> None:
        for pos, ep in enumerate(self.targets):
            assert ep is not None
            for port in reversed(ep.port.chain()):
                if not port.is_endpoint:
                    self._port(port, ep, pos)

    def _port(self, port: Port, ep: Decoder, pos: int) -> None:
        region = self.region
        dec = region_decoder_at(port, region)
        if dec is None:
            raise KernelError(errno.ENXIO)
        nr = self.nr_targets(port)
        if not is_power_of_2(nr):
            raise KernelError(errno.EINVAL)
        assigned = self.assigned.setdefault(port.path, [])
        dport = port.dport_toward(ep.port)
        if assigned:
            if dport in assigned:
                self._check_peer(port, dport, pos)
                return
        else:
            self._program(port, dec, nr)
        if len(assigned) == nr:
            raise KernelError(errno.ENXIO)
        assigned.append(dport if dport is not None else -1)
        dec.set("target_list", _target_list(port, dec, assigned))

    def _check_peer(self, port: Port, dport: int | None, pos: int) -> None:
        # Positions sharing a dport must lie `distance` apart, distance being the
        # product of the interleave ways from this port up to the root.
        distance = self.root_ways
        for p in port.chain():
            distance *= self.nr_targets(p)
        if pos < distance:
            raise KernelError(errno.ENXIO)
        peer = self.targets[pos - distance]
        if peer is None or port.dport_toward(peer.port) != dport:
            raise KernelError(errno.ENXIO)

    def _program(self, port: Port, dec: Decoder, nr: int) -> None:
        region = self.region
        parent = port.parent
        if parent is None or parent.is_root:
            parent_ig = region.granularity
            parent_iw = self.root_ways
            if not is_power_of_2(parent_iw):
                parent_iw //= 3
        else:
            parent_dec = region_decoder_at(parent, region)
            if parent_dec is None:
                raise KernelError(errno.ENXIO)
            parent_ig, parent_iw = parent_dec.granularity, parent_dec.ways
        granularity_to_eig(parent_ig)
        ways_to_eiw(parent_iw)
        ways_to_eiw(nr)
        ig = parent_ig * parent_iw
        granularity_to_eig(ig)
        if nr > 8 or nr > port.target_count:
            raise KernelError(errno.ENXIO)
        check_interleave_cap(nr, ig)
        dec.set("interleave_ways", nr)
        dec.set("interleave_granularity", ig)
        dec.set_range(region.start, region.size)


def teardown_targets(region: Region, targets: list[Decoder | None]) -> None:
    """Unprogram the HPA range of the port decoders the region still holds."""
    if region.auto:
        # A firmware-assembled region's address space stays decoded.
        return
    for ep in targets:
        if ep is None:
            continue
        for port in ep.port.chain():
            if port.is_endpoint:
                continue
            dec = region_decoder_at(port, region)
            if dec is not None:
                dec.set_range(0, 0)


def attach(cxl: Cxl, hdm: Hdm, region: Region, ep: Decoder, pos: int) -> None:
    """Write endpoint decoder `ep` to `target<pos>` (the kernel's checks, in order)."""
    ways, granularity = region.ways, region.granularity
    check_interleave_cap(ways, granularity)
    if ep.mode != region.mode:
        raise KernelError(errno.EINVAL)
    state = region.state
    if state > INTERLEAVE_ACTIVE:
        raise KernelError(errno.EBUSY)
    if state < INTERLEAVE_ACTIVE:
        raise KernelError(errno.ENXIO)
    targets = region.targets()
    if sum(t is not None for t in targets) >= ways:
        raise KernelError(errno.EINVAL)
    root_port = region.root_decoder.port
    host_bridge = ep.port.host_bridge
    hb_dport = root_port.dport_to(host_bridge) if host_bridge else None
    if hb_dport is None:
        raise KernelError(errno.ENXIO)
    if (ep.attr("target_type") or "expander") != "expander":
        raise KernelError(errno.ENXIO)
    if not ep.allocated:
        raise KernelError(errno.ENXIO)
    if ep.dpa_size * ways != region.size:
        raise KernelError(errno.EINVAL)
    if region.auto:
        # Only the kernel's own assembly adds to a firmware-assembled region.
        raise KernelError(errno.EINVAL)
    if pos >= ways:
        raise KernelError(errno.ENXIO)
    if targets[pos] is not None:
        # The same decoder again is refused too: Linux 6.12 would go on to
        # attach it twice and corrupt its bookkeeping.
        raise KernelError(errno.EBUSY)
    if any(t is not None and t.memdev == ep.memdev for t in targets):
        raise KernelError(errno.EBUSY)
    root_targets = region.root_decoder.target_ids
    root_ways = max(region.root_decoder.ways, 1)
    expected = root_targets[pos % root_ways] if pos % root_ways < len(root_targets) else None
    if expected != hb_dport:
        raise KernelError(errno.ENXIO)
    for port in ep.port.chain():
        _claim(cxl, hdm, port, region, ep, targets)
    region.set(f"target{pos}", ep.name)
    targets[pos] = ep
    if all(t is not None for t in targets):
        try:
            _Setup(region, targets).run()
        except KernelError as e:
            teardown_targets(region, targets)
            cxl.set_region_facts(region.name, setup_failed=True)
            raise KernelError(e.errno, keep=True) from None
    ep.set("interleave_ways", ways)
    ep.set("interleave_granularity", granularity)
    ep.set_range(region.start, region.size)


def decode_reset(hdm: Hdm, region: Region, targets: list[Decoder | None]) -> None:
    """Reset the region's decoders: positions last to first, each top-down."""
    if region.locked:
        # Locked decoders keep decoding; Linux leaves them committed.
        return
    for ep in reversed(targets):
        if ep is None:
            continue
        for port in reversed(ep.port.chain()):
            if port.is_endpoint:
                continue
            dec = region_decoder_at(port, region)
            if dec is not None:
                hdm.reset(dec)
        hdm.reset(ep)


def detach(cxl: Cxl, hdm: Hdm, region: Region, pos: int) -> None:
    """Empty position `pos` (the kernel's cxl_region_detach)."""
    targets = region.targets()
    ep = targets[pos] if pos < len(targets) else None
    if ep is None:
        return
    state = region.state
    if state == COMMIT:
        if region.locked:
            hdm.keep_enabled(region.decoders())
        decode_reset(hdm, region, targets)
        region.set("commit", 0)
        state = ACTIVE
    remaining = [t for t in targets if t is not None and t != ep]
    for port in ep.port.chain():
        if port.is_endpoint:
            ep.set("region", "")
            continue
        dec = region_decoder_at(port, region)
        if dec is not None and not _dports_used(port, region, remaining):
            dec.set("region", "")
    if state == ACTIVE:
        teardown_targets(region, targets)
    region.set(f"target{pos}", "")
    ep.set_range(0, 0)
    cxl.set_region_facts(region.name, setup_failed=None)
    region_driver.release(cxl, region)


def detach_endpoint_decoder(txn, decoder_path: str) -> None:
    """An endpoint decoder going away leaves its region (the kernel's
    cxl_decoder_kill_region), for teardown code outside the region area.

    `txn` is the write's Transaction; successive calls in one write share
    what they planned.
    """
    from cxltool.sim.kernel.ktree import shared_tree

    cxl = Cxl(shared_tree(txn))
    dec = cxl.decoder(decoder_path)
    name = dec.region_name
    if not name:
        return
    path = cxl.bus_device(name)
    if path is None:
        return
    region = cxl.region(path)
    for pos, target in enumerate(region.targets()):
        if target == dec:
            detach(cxl, Hdm(cxl), region, pos)
            return
