"""A region's `commit`: program its decoders into the hardware, or reset them.

Commit goes position by position, each from the endpoint up to the host bridge
(root decoders are static), every decoder under its port's in-order rule; any
failure undoes the whole attempt and is returned (EBUSY for an order
violation). Decommit unbinds the region driver first, then resets the decoders.
A region holding a locked decoder cannot be decommitted (EPERM), as newer
kernels refuse it; Linux 6.12 has no `locked` region attribute to show it.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel import region_driver
from cxltool.sim.kernel.cxlview import ACTIVE, COMMIT, Cxl, Region, region_decoder_at
from cxltool.sim.kernel.hdm import Hdm
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.region_attach import decode_reset


def decode_commit(hdm: Hdm, region: Region) -> None:
    for ep in region.targets():
        if ep is None:
            continue
        for port in ep.port.chain():
            dec = ep if port.is_endpoint else region_decoder_at(port, region)
            if dec is None:
                raise KernelError(errno.ENXIO)
            # A failure discards every commit of this attempt, as the kernel
            # resets what it had committed before returning the error.
            hdm.commit(dec)


def set_commit(cxl: Cxl, region: Region, commit: bool) -> None:
    """The kernel's commit_store() once the value is parsed."""
    state = region.state
    if commit and state >= COMMIT:
        return
    if not commit and state < COMMIT:
        return
    if commit and state < ACTIVE:
        raise KernelError(errno.ENXIO)
    hdm = Hdm(cxl)
    if commit:
        decode_commit(hdm, region)
        region.set("commit", 1)
        return
    if region.locked:
        raise KernelError(errno.EPERM)
    region_driver.release(cxl, region)
    decode_reset(hdm, region, region.targets())
    region.set("commit", 0)
