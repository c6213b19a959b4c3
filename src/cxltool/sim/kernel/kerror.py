"""The error an emulated store function returns."""

from __future__ import annotations


class KernelError(Exception):
    """A store function failed with `errno`.

    `keep` marks the rare failures after which the kernel has already changed
    something (it reports the error but does not undo its work); the handler
    then commits what was planned before reporting the error.
    """

    def __init__(self, err: int, keep: bool = False) -> None:
        super().__init__(err)
        self.errno = err
        self.keep = keep
