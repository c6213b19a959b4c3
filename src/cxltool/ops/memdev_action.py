"""Running one action on the memdevs named on a memdev command's line, as ndctl does.

ndctl's memdev commands (`disable-memdev`, `enable-memdev`, `reserve-dpa`, ...)
share their handling of the positional words: each must be `all` (which keeps
only the first word), `memN` or `N` (with `-S`: a number strtoull takes whole);
every word, valid or not, is then matched against each memdev with the `cxl
list -m`/`-s` filter rules, and the action runs once per match. The result
counts successes and keeps the first failure; the messages are the lines ndctl
prints on stderr, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cxltool.objects.cparse import scan_int, strtoull_end
from cxltool.objects.cxl import CxlSystem, Memdev
from cxltool.ops.cxl_filter import Filters
from cxltool.sysfs import Root

MEMDEV_LOG = "cxl memdev"


@dataclass
class Log:
    """Messages in ndctl's `<owner>: <function>: <message>` form, in order."""

    owner: str
    lines: list[str] = field(default_factory=list)

    def __call__(self, function: str, message: str) -> None:
        self.lines.append(f"{self.owner}: {function}: {message}\n")

    def lib(self, function: str, message: str) -> None:
        self.lines.append(f"libcxl: {function}: {message}\n")

    def raw(self, text: str) -> None:
        self.lines.append(text)

    def text(self) -> str:
        return "".join(self.lines)


@dataclass
class ActionResult:
    """What a memdev command did: successes, the first failure (0 if none), JSON."""

    count: int = 0
    err: int = 0
    json: list[dict] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        # ndctl: success if anything succeeded or nothing failed.
        return 0 if self.count > 0 or self.err == 0 else 1


def valid_words(args: list[str], serial: bool, log: Log) -> tuple[list[str], bool]:
    """The words to act on, and whether every word was invalid (usage error)."""
    words = list(args)
    bad = 0
    for i, word in enumerate(args):
        if serial:
            _value, end = strtoull_end(word)
            if end == len(word):
                continue
        else:
            if word == "all":
                # Only the first word is kept, whatever it is.
                words = args[:1]
                break
            if scan_int(word, "mem") is not None or scan_int(word) is not None:
                continue
        kind = "serial number" if serial else "name"
        log("memdev_action", f"'{word}' is not a valid memdev {kind}")
        bad += 1
        del i
    return words, bad == len(words)


class _WordFilter:
    def __init__(self, word: str, serial: bool) -> None:
        self.memdev_filter = None if serial else word
        self.serial_filter = word if serial else None
        self.bus_filter = None
        self.port_filter = None
        self.endpoint_filter = None
        self.decoder_filter = None
        self.region_filter = None
        self.single = False


class _BusFilter(_WordFilter):
    def __init__(self, bus: str) -> None:
        super().__init__("all", False)
        self.memdev_filter = None
        self.bus_filter = bus


def on_bus(system: CxlSystem, memdev: Memdev, bus: str | None) -> bool:
    """-b: the memdev's bus (known only through its endpoint) matches."""
    if bus is None:
        return True
    endpoint = system.endpoint_of(memdev)
    if endpoint is None or endpoint.bus is None:
        return False
    return Filters(system, _BusFilter(bus)).bus(endpoint.bus)


def run_action(
    root: Root,
    words: list[str],
    serial: bool,
    bus: str | None,
    log: Log,
    action: Callable[[CxlSystem, Memdev], int],
) -> ActionResult:
    """Run `action(system, memdev)` for every memdev each word matches."""
    result = ActionResult()
    listing = CxlSystem(root)
    memdevs = listing.memdevs
    log.lines.extend(listing.messages)
    for word in words:
        found = False
        for memdev in memdevs:
            if not Filters(listing, _WordFilter(word, serial)).memdev(memdev):
                continue
            # Each action sees the system as it is now (earlier actions change it).
            system = CxlSystem(root)
            current = system.memdev_named(memdev.name)
            if current is None or not on_bus(system, current, bus):
                continue
            found = True
            rc = action(system, current)
            if rc == 0:
                result.count += 1
            elif not result.err:
                result.err = rc
        if not found:
            log("memdev_action", f"no memdev matches {word}")
    return result


def plural(count: int) -> str:
    """ndctl's memdev/port/bus summaries add an `s` only above one."""
    return "s" if count > 1 else ""
