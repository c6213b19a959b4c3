"""Store functions of endpoint decoders: `mode` and `dpa_size`.

`mode` selects the partition (ram or pmem) the next allocation comes from; it
does not move an allocation already made. `dpa_size` first frees the current
allocation, then (for a non-zero size) allocates anew; see dpa.py for the rules.
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel import kstr
from cxltool.sim.kernel.cxlview import Cxl, Decoder
from cxltool.sim.kernel.dispatch import register
from cxltool.sim.kernel.dpa import DpaSpace, check_size
from cxltool.sim.kernel.hdm import Hdm
from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.store import run_store
from cxltool.sim.kernel.txn import Transaction
from cxltool.sysfs import paths

# The real path of an endpoint decoder attribute, wherever the endpoint sits.
_ENDPOINT_DECODER = paths.SYS_DEVICES + "/*/endpoint[0-9]*/decoder[0-9]*.[0-9]*/"


def _endpoint_decoder(cxl: Cxl, path: str) -> Decoder:
    dec = cxl.decoder(path.rsplit("/", 1)[0])
    if not dec.is_endpoint or not dec.port.is_endpoint:
        raise KernelError(errno.ENXIO)
    return dec


@register(_ENDPOINT_DECODER + "mode")
def store_mode(txn: Transaction, path: str, value: str) -> None:
    def store(cxl: Cxl) -> None:
        dec = _endpoint_decoder(cxl, path)
        if kstr.sysfs_streq(value, "pmem"):
            mode = "pmem"
        elif kstr.sysfs_streq(value, "ram"):
            mode = "ram"
        else:
            raise KernelError(errno.EINVAL)
        if Hdm(cxl).enabled(dec):
            raise KernelError(errno.EBUSY)
        space = DpaSpace(dec.port)
        if (space.pmem if mode == "pmem" else space.ram) == 0:
            raise KernelError(errno.ENXIO)
        dec.set("mode", mode)

    run_store(txn, path, store)


@register(_ENDPOINT_DECODER + "dpa_size")
def store_dpa_size(txn: Transaction, path: str, value: str) -> None:
    def store(cxl: Cxl) -> None:
        dec = _endpoint_decoder(cxl, path)
        size = kstr.kstrtoull(value)
        check_size(size)
        hdm = Hdm(cxl)
        space = DpaSpace(dec.port)
        had = dec.allocated
        space.free(dec, hdm)
        if size:
            try:
                space.alloc(dec, size, hdm)
            except KernelError as e:
                # The old allocation is gone even though the new one failed.
                raise KernelError(e.errno, keep=had) from None

    run_store(txn, path, store)
