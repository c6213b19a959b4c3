"""ndctl's namespace commands: create (or reconfigure), destroy, enable, disable.

The work is ndctl's: parameters checked and defaulted before any device is
looked at (`NamespaceParams`), then every bus and region that passes `-b`/`-r`
is visited. Create picks the first region with room (`-s`, or all of the
largest free extent), checks the size against the region's alignment and
interleave, takes the region's idle namespace (its `.0` if idle, else its
seed), writes uuid, name and size, then gives it its personality: a pfn
device (fsdax), a dax device (devdax), a btt device (sector), or binds it raw.
Destroy and reconfigure first disable the namespace (refusing, without
`--force`, one that is active), mark it raw, erase its info block through its
raw disk, and for destroy give its capacity back.

Messages are ndctl's: `error()` lines (`  Error: ...`), `err()` lines that
also count as reported failures, warnings, and the final summary line.
"""

from __future__ import annotations

import errno
import os
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cxltool.objects import cparse
from cxltool.objects.nd import NSTYPE_IO, UINT_MAX, ULLONG_MAX, NdNamespace, NdRegion, NdSystem
from cxltool.ops import nd_blockdev
from cxltool.ops.nd_json import JsonFlags, namespace_json
from cxltool.ops.nd_lib import LOCATIONS, NdLib
from cxltool.ops.nd_list import MODES, bus_matches, region_matches
from cxltool.sysfs import Root, paths

SZ_1K, SZ_1M, SZ_1G, SZ_1T = 1 << 10, 1 << 20, 1 << 30, 1 << 40
SZ_16M = 16 << 20
SZ_2M = 2 << 20
PAGE_SIZE = 4096
NSLABEL_NAME_LEN = 64


class Reporter:
    """Where ndctl's messages go, and how many `err()` failures were reported."""

    def __init__(self, err: Callable[[str], None], cmd_name: str) -> None:
        self.write = err
        self.cmd_name = cmd_name
        self.err_count = 0

    def error(self, message: str) -> None:
        self.write(f"  Error: {message}\n")

    def warning(self, message: str) -> None:
        self.write(f"  Warning: {message}\n")

    def err(self, message: str) -> None:
        self.err_count += 1
        self.error(f"{self.cmd_name}: {message}")


# -- sizes as ndctl parses them ------------------------------------------------------------
def parse_size64(text: str) -> tuple[int, int] | None:
    """ndctl's __parse_size64: (bytes, unit of the suffix), None where it gives ULLONG_MAX."""
    value, end = cparse.strtoull_end(text)
    if value == ULLONG_MAX:
        return None
    check, units = value, 1
    unit = {"k": SZ_1K, "m": SZ_1M, "g": SZ_1G, "t": SZ_1T}.get(text[end : end + 1].lower())
    if unit is not None:
        units = unit
        value = value * unit & ULLONG_MAX
        end += 1
    if value < check or end != len(text):
        return None
    return value, units


def _power_of_2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass
class NamespaceParams:
    """The create/reconfigure options after ndctl's set_defaults()."""

    bus: str | None = None
    region: str | None = None
    reconfig: str | None = None
    uuid: str | None = None
    name: str | None = None
    size: str | None = None
    mode: str | None = None
    map: str | None = None
    sector_size: str | None = None
    type: str | None = None
    align: str | None = None
    force: bool = False
    autolabel: bool = True
    greedy: bool = False
    autorecover: bool = True
    mode_default: bool = False
    do_scan: bool = False

    def set_defaults(self, creating: bool, report: Reporter) -> int:
        """Check and default the options; a negative errno when one is refused."""
        rc = 0
        if self.type is not None:
            if self.type not in ("pmem", "blk"):
                report.error(f"invalid type '{self.type}', must be either 'pmem' or 'blk'\n")
                rc = -errno.EINVAL
        elif not self.reconfig and creating:
            self.type = "pmem"
        if self.mode is not None:
            if self.mode.lower() not in MODES:
                report.error(f"invalid mode '{self.mode}'\n")
                rc = -errno.EINVAL
        elif not self.reconfig and self.type:
            self.mode = "fsdax" if self.type == "pmem" else "sector"
            self.mode_default = True
        if self.map is not None:
            if self.map not in ("mem", "dev"):
                report.error(f"invalid map location '{self.map}'\n")
                rc = -errno.EINVAL
            if not self.reconfig and self.mode and self.mode not in ("fsdax", "devdax"):
                report.error("--map only valid for an devdax mode pmem namespace\n")
                rc = -errno.EINVAL
        elif not self.reconfig:
            self.map = "dev"
        if self.type == "blk" and self.mode in ("fsdax", "devdax"):
            report.error("only 'pmem' namespaces support dax operation\n")
            rc = -errno.ENXIO
        if self.size is not None and parse_size64(self.size) is None:
            report.error(f"failed to parse namespace size '{self.size}'\n")
            rc = -errno.EINVAL
        if self.align is not None:
            parsed = parse_size64(self.align)
            if parsed is None:
                report.error(f"failed to parse namespace alignment '{self.align}'\n")
                rc = -errno.EINVAL
            elif not _power_of_2(parsed[0]) or parsed[0] < PAGE_SIZE:
                report.error(f"align must be a power-of-2 greater than {PAGE_SIZE}\n")
                rc = -errno.EINVAL
        if self.size is not None and parse_size64(self.size) is None:
            report.error(f"failed to parse namespace size '{self.size}'\n")
            rc = -errno.EINVAL
        if self.uuid is not None and _parse_uuid(self.uuid) is None:
            report.error(f"failed to parse uuid: '{self.uuid}'\n")
            rc = -errno.EINVAL
        if self.sector_size is not None:
            if parse_size64(self.sector_size) is None:
                report.error(f"invalid sector size: {self.sector_size}\n")
                rc = -errno.EINVAL
        elif self.type == "blk" or MODES.get((self.mode or "").lower()) == "sector":
            self.sector_size = "4096"
        return rc

    @property
    def mode_name(self) -> str | None:
        return MODES.get(self.mode.lower()) if self.mode else None


def _parse_uuid(text: str) -> str | None:
    try:
        return str(uuidlib.UUID(text)) if len(text) == 36 else None
    except ValueError:
        return None


@dataclass
class Parsed:
    """validate_namespace_options' result: what setup_namespace writes."""

    uuid: str
    name: str
    mode: str
    size: int
    sector_size: int
    align: int
    loc: str  # none, mem, dev


class NamespaceOps:
    """One ndctl namespace command on one root."""

    def __init__(
        self,
        root: Root,
        params: NamespaceParams,
        report: Reporter,
        show: Callable[[dict[str, Any]], None],
        human: bool,
    ) -> None:
        self.root = root
        self.params = params
        self.report = report
        self.show = show  # prints a configured namespace's JSON
        self.human = human
        self.lib = NdLib(root, report.write)

    # -- validate_namespace_options -----------------------------------------------------------
    def validate(self, region: NdRegion, ns: NdNamespace | None) -> Parsed | int:
        p = self.params
        report = self.report
        name = region.devname
        if not region.enabled:
            return -errno.EAGAIN
        units = 1
        default_size = False
        if p.size is not None:
            size, units = parse_size64(p.size) or (0, 1)
        elif ns is not None:
            size = ns.size
        else:
            size, default_size = 0, True
        if ns is None:
            if region.nstype == NSTYPE_IO:
                available = region.size
            else:
                available = region.max_available_extent
                if available == ULLONG_MAX:
                    available = region.available_size
            if not available or size > available:
                return -errno.EAGAIN
            if size == 0:
                size = available
        if region.nstype == NSTYPE_IO and size != region.size:
            report.error("Legacy / label-less namespaces do not support sub-dividing a region\n")
            report.error("Retry without -s/--size=\n")
            return -errno.EINVAL
        new_uuid = _parse_uuid(p.uuid) if p.uuid else str(uuidlib.uuid4())
        assert new_uuid is not None
        alt = p.name if p.name is not None else (ns.alt_name if ns is not None else "")
        if len(alt.encode()) >= NSLABEL_NAME_LEN:
            report.err("validate_namespace_options: alt name overflow\n")
            return -errno.EINVAL
        if p.mode is not None:
            mode = p.mode_name or "unknown"
            if region.type_name != "pmem" and mode in ("fsdax", "devdax"):
                report.err(f"blk {name} does not support {mode} mode\n")
                return -errno.EAGAIN
        elif ns is not None:
            mode = _ns_mode(ns)
        else:
            mode = "unknown"
        pfn = dax = None
        if mode == "fsdax":
            pfn = region.claim_seed("pfn")
            if pfn is None and p.mode_default:
                report.err(f"{name} fsdax mode not available\n")
                mode = "raw"
        elif mode == "devdax":
            dax = region.claim_seed("dax")
            if dax is None:
                report.error(f"Kernel does not support {mode} mode\n")
                return -errno.ENODEV
        if p.align is not None:
            if mode == "fsdax" and pfn is None:
                report.error("Kernel does not support setting an alignment in fsdax mode\n")
                return -errno.EINVAL
            if mode not in ("fsdax", "devdax"):
                report.error(f"{mode} mode does not support setting an alignment\n")
                return -errno.ENXIO
            align = (parse_size64(p.align) or (0, 1))[0]
            supported = (pfn or dax).supported  # type: ignore[union-attr]
            if align not in supported:
                report.error(f"unsupported align: {p.align}\n")
                return -errno.ENXIO
        else:
            if ns is not None and mode == _ns_mode(ns):
                claim = ns.pfn or ns.dax
                align = claim.align if claim is not None else PAGE_SIZE
            elif mode == "fsdax":
                align = pfn.align if pfn is not None and pfn.attr("align") else SZ_2M
            elif mode == "devdax":
                align = dax.align  # type: ignore[union-attr]
            else:
                align = PAGE_SIZE
            resource = region.resource
            if resource < ULLONG_MAX and resource & (align - 1):
                align = PAGE_SIZE
        region_align = region.align
        if region_align < ULLONG_MAX and region_align and size % region_align:
            report.err(f"{name}: align setting is {region_align:#x} size {size:#x} is misaligned\n")
            return -errno.EINVAL
        ways = region.ways
        if size % (align * ways):
            suffix = {SZ_1K: "K", SZ_1M: "M", SZ_1G: "G", SZ_1T: "T"}.get(units, "")
            step = max(units, align) * ways
            suggested = (size // step + 1) * step // units
            report.err(
                f"'--size=' must align to interleave-width: {ways} and alignment: {align}\n"
                f"did you intend --size={suggested}{suffix}?\n"
            )
            return -errno.EINVAL
        if size < SZ_16M and mode != "raw":
            if default_size:
                return -errno.EAGAIN
            report.error(f"'--size=' must be >= 16MiB for '{mode}' mode\n")
            return -errno.EINVAL
        sector = self._sector_size(region, ns, mode)
        if isinstance(sector, int) and sector < 0:
            return sector
        loc = "none"
        if p.map is not None:
            loc = p.map
            if ns is not None and mode not in ("fsdax", "devdax"):
                report.err(f"{ns.devname}: --map= only valid for fsdax mode namespace\n")
                return -errno.EINVAL
        elif mode in ("fsdax", "devdax"):
            loc = "dev"
        if pfn is None and _setup_pfn(ns, mode, loc):
            report.error(f"operation failed, {name} cannot support requested mode\n")
            return -errno.EINVAL
        return Parsed(new_uuid, alt, mode, size, sector, align, loc)

    def _sector_size(self, region: NdRegion, ns: NdNamespace | None, mode: str) -> int:
        p, report, name = self.params, self.report, region.devname
        if p.sector_size is not None:
            wanted = (parse_size64(p.sector_size) or (0, 1))[0]
            if mode == "sector":
                btt = region.claim_seed("btt")
                if btt is None:
                    report.err(f"{name}: does not support 'sector' mode\n")
                    return -errno.EINVAL
                if wanted not in btt.supported:
                    report.err(f"{name}: does not support btt sector_size {wanted}\n")
                    return -errno.EINVAL
                return wanted
            seed = ns if ns is not None else region.namespace_seed()
            if seed is None:
                report.err(f"{name}: failed to get seed\n")
                return -errno.ENXIO
            if wanted not in seed.sector_sizes[0]:
                report.err(f"{name}: does not support namespace sector_size {wanted}\n")
                return -errno.EINVAL
            return wanted
        if ns is not None:
            btt = ns.btt
            if btt is not None and mode == "sector":
                return btt.sector_size
            return ns.sector_size
        seed = region.namespace_seed()
        if seed is None:
            report.err(f"{name}: failed to get seed\n")
            return -errno.ENXIO
        return UINT_MAX if not seed.sector_sizes[0] else 512

    # -- setup_namespace -------------------------------------------------------------------
    def _try(self, what: str, devname: str, rc: int) -> bool:
        """ndctl's try(): report a failed step (`<dev>: <step> failed: <error>`)."""
        if rc:
            self.report.err(f"{devname}: {what} failed: {os.strerror(abs(rc))}\n")
        return rc == 0

    def setup(self, region: NdRegion, ns: NdNamespace, parsed: Parsed) -> int:
        lib = self.lib
        if ns.nstype != NSTYPE_IO:
            rc = lib.write(ns.path + "/uuid", parsed.uuid)
            if not self._try("set_uuid", ns.devname, rc):
                return rc
            if ns.attr("alt_name") is not None:
                rc = lib.write(ns.path + "/alt_name", parsed.name)
                if not self._try("set_alt_name", ns.devname, rc):
                    return rc
            rc = -errno.EBUSY if ns.enabled else lib.namespace_set_size(ns, parsed.size)
            if not self._try("set_size", ns.devname, rc):
                return rc
        if parsed.sector_size and parsed.sector_size < UINT_MAX:
            sizes = ns.sector_sizes[0]
            if parsed.sector_size in sizes:
                rc = lib.write(ns.path + "/sector_size", f"{parsed.sector_size}\n")
                if not self._try("set_sector_size", ns.devname, rc):
                    return rc
            elif parsed.mode != "sector" and parsed.sector_size != 512:
                self.report.error(
                    f"{ns.devname}: sector_size: {parsed.sector_size} not supported\n"
                )
                return -errno.EINVAL
        claim_uuid = str(uuidlib.uuid4())
        lib.set_enforce_mode(ns, parsed.mode)
        if _setup_pfn(ns, parsed.mode, parsed.loc) or parsed.mode == "devdax":
            kind = "dax" if parsed.mode == "devdax" else "pfn"
            rc = self._setup_claim(region, ns, parsed, kind, claim_uuid)
        elif parsed.mode == "sector":
            btt = region.claim_seed("btt")
            if btt is None:
                return -errno.ENXIO
            sector = 4096 if parsed.sector_size == UINT_MAX else parsed.sector_size
            for what, path, text in (
                ("set_uuid", "uuid", claim_uuid),
                ("set_sector_size", "sector_size", f"{sector}\n"),
                ("set_namespace", "namespace", ns.devname),
            ):
                rc = lib.write(f"{btt.path}/{path}", text)
                if not self._try(what, btt.devname, rc):
                    return rc
            rc = lib.claim_enable(btt)
        else:
            rc = lib.namespace_enable(ns)
        if rc:
            self.report.error(f"{ns.devname}: failed to enable\n")
            return rc
        self._print(ns)
        return 0

    def _setup_claim(
        self, region: NdRegion, ns: NdNamespace, parsed: Parsed, kind: str, claim_uuid: str
    ) -> int:
        lib = self.lib
        claim = region.claim_seed(kind)
        if claim is None:
            return -errno.ENXIO
        rc = self._check_dax_align(ns)
        if rc:
            return rc
        steps = [
            ("set_uuid", "uuid", claim_uuid),
            ("set_location", "mode", LOCATIONS[parsed.loc]),
        ]
        if kind == "dax" or claim.attr("align") is not None:
            steps.append(("set_align", "align", f"{parsed.align}\n"))
        steps.append(("set_namespace", "namespace", ns.devname))
        for what, attr, text in steps:
            rc = lib.write(f"{claim.path}/{attr}", text)
            if not self._try(what, claim.devname, rc):
                return rc
        rc = lib.claim_enable(claim)
        if rc and self.params.autorecover:
            lib.write(claim.path + "/namespace", "\n")
        return rc

    def _check_dax_align(self, ns: NdNamespace) -> int:
        resource = ns.resource
        if resource == ULLONG_MAX:
            self.report.warning(f"{ns.devname} unable to validate alignment\n")
            return 0
        if resource % SZ_16M == 0 or self.params.force:
            return 0
        self.report.error(f"{ns.devname} misaligned to 16M, adjust region alignment and retry\n")
        return -errno.EINVAL

    def _print(self, ns: NdNamespace) -> None:
        # A fresh view: the namespace's personality and dax devices are new.
        system = NdSystem(self.root)
        fresh = _find_namespace(system, ns.path) or ns
        flags = JsonFlags(human=self.human, dax=True)
        obj = namespace_json(fresh, flags, system.dax)
        if obj is not None:
            self.show(obj)

    # -- create --------------------------------------------------------------------------------
    def create(self, region: NdRegion) -> int:
        parsed = self.validate(region, None)
        if isinstance(parsed, int):
            return parsed
        if region.read_only:
            return -errno.EAGAIN
        ns = _idle_namespace(region)
        if ns is None or not ns.configuration_idle:
            return -errno.EAGAIN
        rc = self.setup(region, ns, parsed)
        if rc and self.params.autorecover:
            self.lib.set_enforce_mode(ns, "raw")
            self.lib.namespace_delete(ns)
        return rc

    # -- destroy and reconfigure ------------------------------------------------------------------
    def prep_reconfig(self, region: NdRegion, ns: NdNamespace) -> int:
        lib = self.lib
        if region.read_only:
            self.report.error(f"{ns.devname}: read-only, re-configuration disabled\n")
            return -errno.ENXIO
        if ns.active and not self.params.force:
            self.report.error(f"{ns.devname} is active, specify --force for re-configuration\n")
            return -errno.EBUSY
        rc = lib.namespace_disable_safe(ns)
        if rc:
            return rc
        lib.set_enforce_mode(ns, "raw")
        rc = self.zero_info_block(ns)
        if rc < 0:
            return rc
        if ns.nstype in (3, 5):
            return 2
        return 0 if rc == 0 else 1

    def zero_info_block(self, ns: NdNamespace) -> int:
        """<0 error, 0 zeroed, >0 skipped."""
        lib = self.lib
        lib.set_raw_mode(ns, True)
        rc = lib.namespace_enable(ns)
        if rc < 0:
            self.report.err(f"{ns.devname} failed to enable for zeroing, continuing\n")
            rc = 1
        else:
            bdev = ns.block_device
            err, was_zero = nd_blockdev.zero_start(self.root, bdev)
            if err:
                node = f"{paths.DEV}/{bdev}"
                self.report.err(f"{ns.devname}: failed to open {node} to zero info block\n")
            rc = 1 if was_zero else 0
        lib.set_raw_mode(ns, False)
        lib.namespace_disable_invalidate(ns)
        return rc

    def destroy(self, region: NdRegion, ns: NdNamespace) -> int:
        rc = self.prep_reconfig(region, ns)
        if rc < 0:
            return rc
        if rc == 2:
            return self.lib.namespace_delete(ns)
        return rc

    def reconfig(self, region: NdRegion, ns: NdNamespace) -> int:
        parsed = self.validate(region, ns)
        if isinstance(parsed, int):
            return parsed
        rc = self.prep_reconfig(region, ns)
        if rc < 0:
            return rc
        return self.setup(region, ns, parsed)


def _ns_mode(ns: NdNamespace) -> str:
    return {"memory": "fsdax", "dax": "devdax", "raw": "raw", "safe": "sector"}.get(
        ns.mode or "", "unknown"
    )


def _setup_pfn(ns: NdNamespace | None, mode: str, loc: str) -> bool:
    """do_setup_pfn: fsdax needs a pfn device unless it already is one with a RAM memmap."""
    if mode != "fsdax":
        return False
    return ns is None or _ns_mode(ns) != "fsdax" or loc == "dev"


def _idle_namespace(region: NdRegion) -> NdNamespace | None:
    """The region's namespace to configure: its first if idle, else its seed."""
    for ns in region.namespaces:
        if ns.id == 0 and ns.configuration_idle:
            return ns
    return region.namespace_seed()


def _find_namespace(system: NdSystem, path: str) -> NdNamespace | None:
    for bus in system.buses:
        for region in bus.regions:
            for ns in region.namespaces:
                if ns.path == path:
                    return ns
    return None


# -- the walk over buses and regions ----------------------------------------------------------
@dataclass
class Outcome:
    rc: int
    processed: int


def run_action(ops: NamespaceOps, action: str, namespace: str | None) -> Outcome:
    """do_xaction_namespace: `action` (create, destroy, enable, disable) over the regions."""
    params = ops.params
    rc = 0 if namespace == "all" else -errno.ENXIO
    processed = 0
    saved = 0
    if namespace is None and action != "create":
        return Outcome(rc, 0)
    system = NdSystem(ops.root)
    for bus in system.buses:
        if not bus_matches(bus, params.bus):
            continue
        for region in bus.regions:
            if not region_matches(region, params.region):
                continue
            if params.type is not None and region.type_name != params.type:
                continue
            if action == "create" and namespace is None:
                rc = ops.create(region)
                if rc == -errno.EAGAIN:
                    continue
                if rc == 0:
                    processed += 1
                    if params.greedy:
                        continue
                elif params.greedy and params.force:
                    saved = rc
                    continue
                return Outcome(saved or rc, processed)
            for ns in list(region.namespaces):
                if namespace == "all":
                    if ns.size == 0 and not ns.uuid:
                        continue
                elif namespace != ns.devname:
                    continue
                if action == "disable":
                    rc = ops.lib.namespace_disable_safe(ns)
                    processed += rc == 0
                elif action == "enable":
                    rc = ops.lib.namespace_enable(ns)
                    if rc >= 0:
                        processed += 1
                        rc = 0
                elif action == "destroy":
                    rc = ops.destroy(region, ns)
                    processed += rc == 0
                    rc = min(rc, 0)
                elif action == "create":
                    rc = ops.reconfig(region, ns)
                    return Outcome(rc, 1 if rc == 0 else 0)
    if action == "create" and rc == -errno.EAGAIN:
        rc = 0 if params.greedy and processed > 0 else -errno.ENOSPC
    return Outcome(saved or rc, processed)


def summary(action: str, count: int) -> str:
    """The line ndctl prints last: `destroyed 1 namespace`, `enabled 0 namespaces`."""
    done = {"enable": "enabled", "disable": "disabled", "destroy": "destroyed"}[action]
    return f"{done} {count} namespace{'' if count == 1 else 's'}\n"
