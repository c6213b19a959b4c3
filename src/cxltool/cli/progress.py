"""Progress bars on a terminal for long memory walks (rich, loaded only when shown)."""

from __future__ import annotations

from collections.abc import Callable

# Walks shorter than this finish before a bar would be worth drawing.
MIN_BLOCKS = 64


class BlockProgress:
    """One transient bar per walk of a device's memory blocks, on stderr."""

    def __init__(self) -> None:
        self._progress = None

    def track(self, device: str, doing: str) -> Callable[[int, int], None]:
        task = None

        def advance(done: int, total: int) -> None:
            nonlocal task
            if total < MIN_BLOCKS:
                return
            if task is None:
                task = self._bar().add_task(f"{device}: {doing} memory blocks", total=total)
            self._bar().update(task, completed=done)
            if done >= total:
                self._bar().remove_task(task)
                task = None

        return advance

    def _bar(self):
        if self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
        return self._progress

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
