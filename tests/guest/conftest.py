"""The real-kernel tier's guest: skipped, with the reason, where QEMU cannot start."""

from __future__ import annotations

import pytest

from cxltool.guest.kernel import GuestUnavailable, prepare_kernel
from cxltool.guest.vm import qemu_available


@pytest.fixture(scope="session")
def guest_kernel():
    reason = qemu_available()
    if reason:
        pytest.skip(f"no QEMU guest: {reason}")
    try:
        return prepare_kernel()
    except GuestUnavailable as e:
        pytest.skip(f"no QEMU guest: {e}")
