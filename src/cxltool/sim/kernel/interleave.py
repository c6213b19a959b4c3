"""What the HDM decoders of a port can express: interleave ways and address bits.

Every port in the emulated platforms supports all the CXL way counts (1, 2, 4,
8, 16 and 3, 6, 12) and routes on host address bits 8 to 14; a combination of
ways and granularity needing higher bits cannot be programmed (ENXIO).
"""

from __future__ import annotations

import errno

from cxltool.sim.kernel.kerror import KernelError
from cxltool.sim.kernel.kstr import granularity_to_eig, ways_to_eiw

SUPPORTED_WAYS = (1, 2, 3, 4, 6, 8, 12, 16)
HIGHEST_ADDRESS_BIT = 14


def check_interleave_cap(ways: int, granularity: int) -> None:
    """The kernel's check_interleave_cap() for a port with the capabilities above."""
    if ways not in SUPPORTED_WAYS:
        raise KernelError(errno.ENXIO)
    eiw = ways_to_eiw(ways)
    if eiw in (0, 8):
        return
    eig = granularity_to_eig(granularity)
    high = eiw + eig - 1 if eiw > 8 else eiw + eig + 7
    if high > HIGHEST_ADDRESS_BIT:
        raise KernelError(errno.ENXIO)
