"""`cxl create-region`: ndctl v85's option checks, defaults, sysfs writes and messages.

The memdevs are those `cxl list -M -d <decoder> -m <targets>` finds, put in
the order the targets were typed. Ways default to the number of targets (or
memdevs found), granularity to the root decoder's, type to what the root
decoder can do (pmem when both), size to the smallest memdev capacity of that
type times ways, clamped to the largest free extent of the window. Then the
writes of ndctl's sequence: create the region, granularity, ways, (uuid), size,
for each position the endpoint decoder's mode, DPA and target, commit, bind.

On failure ndctl deletes the region but leaves the DPA it allocated; cxltool
also gives that DPA back (docs/compat.md, "Regions").
"""

from __future__ import annotations

import errno
import re
import uuid as uuidlib
from dataclasses import dataclass, field

from cxltool.objects.cparse import ULLONG_MAX, strtoull_end
from cxltool.objects.cxl import QOS_CLASS_NONE, CxlSystem, Decoder, Memdev, Region
from cxltool.ops.attr_write import c_hex, write_attr
from cxltool.ops.cxl_filter import Filters, split_words
from cxltool.ops.cxl_json import JsonFlags, region_json
from cxltool.ops.cxl_list import ListParams, list_topology
from cxltool.ops.memdev_action import Log
from cxltool.ops.region_action import _Filter, region_delete, region_enable, root_decoders
from cxltool.ops.region_action import strerror as _strerror
from cxltool.sysfs.root import stop_if_refused_read

INT_MAX = 0x7FFFFFFF
SZ_256M = 256 << 20
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass
class CreateParams:
    """The create-region options as given (None / INT_MAX where not given)."""

    targets: list[str]
    bus: str | None = None
    decoder: str | None = None
    size: str | None = None
    ways: int | None = None
    granularity: int | None = None
    type: str | None = None
    uuid: str | None = None
    memdevs: bool = False
    enforce_qos: bool = False


@dataclass
class _Plan:
    memdevs: list[Memdev] = field(default_factory=list)
    count: int = 0
    mode: str = "pmem"
    size: int = 0
    ways: int = 0
    granularity: int = 0
    uuid: str | None = None
    root_decoder: Decoder | None = None
    ep_min_size: int = 0


class CreateFailed(Exception):
    """create-region stopped; `rc` is ndctl's negative errno."""

    def __init__(self, rc: int) -> None:
        super().__init__(rc)
        self.rc = rc


def parse_size64(text: str) -> int:
    """ndctl's parse_size64(): a number with one optional K/M/G/T; ULLONG_MAX if bad."""
    value, end = strtoull_end(text)
    if value == ULLONG_MAX:
        return value
    rest = text[end:]
    check = value
    if rest[:1].lower() in _UNITS:
        value = (value * _UNITS[rest[0].lower()]) & ULLONG_MAX
        rest = rest[1:]
    if value < check or rest:
        return ULLONG_MAX
    return value


def to_csv(args: list[str]) -> tuple[str | None, int]:
    """ndctl's to_csv(): all target words joined by commas, and how many there are."""
    if not args:
        return None, 0
    words = [(i, w) for i, arg in enumerate(args) for w in split_words(arg)]
    count = len(words)
    # A comma follows each word while its argument's index is short of the word
    # count: one argument holding two words gets a trailing comma, as in ndctl.
    csv = "".join(w + ("," if i + 1 < count else "") for i, w in words)
    return csv, count


def _mode_from_ident(text: str) -> str | None:
    return {"ram": "ram", "volatile": "ram", "pmem": "pmem"}.get(text)


# -- option checks -------------------------------------------------------------------------
def _collect_memdevs(system: CxlSystem, decoder: str, args: list[str], log: Log,
                     plan: _Plan) -> None:
    csv, plan.count = to_csv(args)
    params = ListParams(memdevs=True, decoder_filter=decoder, memdev_filter=csv)
    found = [system.memdev_named(j["memdev"]) for j in list_topology(system, params)]
    memdevs = [m for m in found if m is not None]
    if not memdevs:
        log("collect_memdevs",
            f"no active memdevs found: decoder: {decoder} filter: {csv if csv else 'none'}")
        raise CreateFailed(-errno.ENXIO)
    if csv:
        words = split_words(csv)

        def position(m: Memdev) -> int:
            for pos, word in enumerate(words):
                if Filters(system, _Filter(memdev_filter=word)).memdev(m):
                    return pos
            return len(words)

        memdevs.sort(key=position)
    plan.memdevs = memdevs


def _validate_ways(plan: _Plan, count: int, log: Log) -> None:
    found = len(plan.memdevs)
    if plan.ways > found or (count and plan.ways != found):
        more = "greater" if plan.ways > found else "less"
        which = "specified" if count else "found"
        log("validate_ways",
            f"Interleave ways {plan.ways} is {more} than number of memdevs {which}: {found}")
        raise CreateFailed(-errno.EINVAL)


def parse_create_options(system: CxlSystem, p: CreateParams, log: Log) -> _Plan:
    plan = _Plan()
    if not p.decoder:
        log("parse_create_options", "no root decoder specified")
        raise CreateFailed(-errno.EINVAL)
    memdevs = p.memdevs or not p.targets
    if not memdevs:
        log("parse_create_options", "must specify option for target object types (-m)")
        raise CreateFailed(-errno.EINVAL)
    _collect_memdevs(system, p.decoder, p.targets, log, plan)
    count = plan.count
    if p.type is not None:
        mode = _mode_from_ident(p.type)
        if mode == "ram" and p.uuid:
            # ndctl's message has no newline: the next line continues it.
            log.raw("cxl region: parse_create_options: can't set UUID for ram / volatile regions")
            raise CreateFailed(-errno.EINVAL)
        if mode is None:
            log("parse_create_options", f"unsupported type: {p.type}")
            raise CreateFailed(-errno.EINVAL)
        plan.mode = mode
    if p.size is not None:
        plan.size = parse_size64(p.size)
        if plan.size == ULLONG_MAX:
            log("parse_create_options", f"Invalid size: {p.size}")
            raise CreateFailed(-errno.EINVAL)
    ways = INT_MAX if p.ways is None else p.ways
    if ways <= 0:
        log("parse_create_options", f"Invalid interleave ways: {ways}")
        raise CreateFailed(-errno.EINVAL)
    if ways < INT_MAX:
        plan.ways = ways
        _validate_ways(plan, count, log)
    elif count:
        plan.ways = count
        _validate_ways(plan, count, log)
    else:
        plan.ways = len(plan.memdevs)
    if p.granularity is not None and p.granularity < INT_MAX:
        if p.granularity <= 0:
            log("parse_create_options", f"Invalid interleave granularity: {p.granularity}")
            raise CreateFailed(-errno.EINVAL)
        plan.granularity = p.granularity
    if plan.size and plan.ways and plan.size % plan.ways:
        log("parse_create_options",
            f"size ({plan.size}) is not an integral multiple of interleave-ways ({plan.ways})")
        raise CreateFailed(-errno.EINVAL)
    if p.uuid:
        plan.uuid = p.uuid.lower() if _UUID.match(p.uuid) else None
        if plan.uuid is None:
            log.raw(f"  Error: failed to parse uuid: '{p.uuid}'\n\n")
            raise CreateFailed(-errno.EINVAL)
    return plan


# -- the region ------------------------------------------------------------------------------
def _validate_config(system: CxlSystem, p: CreateParams, plan: _Plan, log: Log) -> None:
    found = root_decoders(system, p.bus, p.decoder)
    decoder = next((d for d in found if d.port.is_root), None)
    if decoder is None:
        log("create_region_validate_config", f"{p.decoder} not found in CXL topology")
        raise CreateFailed(-errno.ENXIO)
    plan.root_decoder = decoder
    if p.type is None:
        if decoder.volatile_capable:
            plan.mode = "ram"
        if decoder.pmem_capable:
            plan.mode = "pmem"
    if plan.mode == "ram" and not decoder.volatile_capable:
        log("validate_decoder", f"{decoder.name} is not volatile capable")
        raise CreateFailed(-errno.EINVAL)
    if plan.mode == "pmem" and not decoder.pmem_capable:
        log("validate_decoder", f"{decoder.name} is not pmem capable")
        raise CreateFailed(-errno.EINVAL)
    if p.enforce_qos and decoder.qos_class != QOS_CLASS_NONE:
        for memdev in plan.memdevs[: plan.ways]:
            qos = memdev.ram_qos_class if plan.mode == "ram" else memdev.pmem_qos_class
            if qos == QOS_CLASS_NONE:
                break
            if qos != decoder.qos_class:
                log("create_region_validate_qos_class",
                    f"{decoder.name} qos_class mismatch {memdev.name}")
                raise CreateFailed(-errno.ENXIO)
    sizes = [m.ram_size if plan.mode == "ram" else m.pmem_size for m in plan.memdevs[: plan.ways]]
    plan.ep_min_size = min(sizes) if sizes else 0


def _create(system: CxlSystem, decoder: Decoder, mode: str, log: Log) -> str | None:
    """cxl_decoder_create_region(): read the offered name, write it back."""
    root = system.root
    path = f"{decoder.path}/create_{mode}_region"
    try:
        name = root.read(path)
    except Exception as e:  # noqa: BLE001 - SysfsError
        log.lib("cxl_decoder_create_region",
                f"failed to read new region name: {_strerror(getattr(e, 'errno', errno.EIO))}")
        return None
    rc = write_attr(root, path, name)
    if rc:
        log.lib("cxl_decoder_create_region", f"failed to write new region name: {_strerror(rc)}")
        return None
    new = f"{decoder.path}/{name}"
    if not root.isdir(new) or root.read_opt(new + "/uuid") is None:
        log.lib("cxl_decoder_create_region", "failed to add new region to libcxl")
        write_attr(root, decoder.path + "/delete_region", name)
        return None
    return name


def _granularity(plan: _Plan, region: str, log: Log) -> int:
    decoder = plan.root_decoder
    assert decoder is not None
    granularity = decoder.interleave_granularity
    if granularity in (0, 0xFFFFFFFF):
        log("cxl_region_determine_granularity",
            f"{region}: unable to determine root decoder granularity")
        raise CreateFailed(-errno.ENXIO)
    if not plan.granularity:
        return granularity
    ways = decoder.interleave_ways
    if ways in (0, 0xFFFFFFFF):
        log("cxl_region_determine_granularity", f"{region}: unable to determine root decoder ways")
        raise CreateFailed(-errno.ENXIO)
    if ways == 1 or plan.granularity == granularity:
        return plan.granularity
    log("cxl_region_determine_granularity",
        f"{region}: For an x{ways} root, only root decoder granularity ({granularity}) permitted")
    raise CreateFailed(-errno.EINVAL)


class _Writer:
    """The writes of one create-region, with ndctl's try() messages."""

    def __init__(self, system: CxlSystem, log: Log) -> None:
        self.system = system
        self.root = system.root
        self.log = log
        # Endpoint decoders whose DPA this run changed: (decoder, mode, dpa size) before.
        self.touched: list[tuple[Decoder, str | None, int]] = []

    def attr(self, devname: str, op: str, path: str, text: str) -> None:
        rc = write_attr(self.root, path, text)
        if rc:
            self.log("create_region", f"{devname}: {op} failed: {_strerror(rc)}")
            raise CreateFailed(rc)

    def endpoint(self, dec: Decoder, mode: str, size: int) -> None:
        if not any(d is dec for d, _, _ in self.touched):
            self.touched.append((dec, dec.mode, dec.dpa_size))
        if dec.mode != mode:
            self.attr(dec.name, "set_dpa_size", dec.path + "/dpa_size", c_hex(0) + "\n")
            self.attr(dec.name, "set_mode", dec.path + "/mode", mode)
        self.attr(dec.name, "set_dpa_size", dec.path + "/dpa_size", c_hex(size) + "\n")

    def give_back_dpa(self) -> None:
        """Put the touched endpoint decoders' DPA back as it was (newest first)."""
        root = self.root
        for dec, mode, size in reversed(self.touched):
            now = int(root.read_opt(dec.path + "/dpa_size") or "0", 16)
            if now == size:
                continue
            write_attr(root, dec.path + "/dpa_size", "0\n")
            if size:
                if mode in ("ram", "pmem"):
                    write_attr(root, dec.path + "/mode", mode)
                write_attr(root, dec.path + "/dpa_size", c_hex(size) + "\n")


def _free_decoder(memdev: Memdev, system: CxlSystem, log: Log) -> Decoder | None:
    """cxl_memdev_find_decoder(): the endpoint's first decoder with no HPA range."""
    endpoint = system.endpoint_of(memdev)
    if endpoint is None:
        log("cxl_memdev_find_decoder", f"could not get an endpoint for {memdev.name}")
        return None
    for dec in endpoint.decoders:
        if dec.size == 0:
            return dec
    log("cxl_memdev_find_decoder", f"could not get a free decoder for {memdev.name}")
    return None


def create_region(system: CxlSystem, p: CreateParams, log: Log,
                  human: bool) -> tuple[int, dict | None]:
    """Run create-region; (ndctl's rc, the created region's JSON or None)."""
    try:
        plan = parse_create_options(system, p, log)
        _validate_config(system, p, plan, log)
    except CreateFailed as e:
        return e.rc, None
    decoder = plan.root_decoder
    assert decoder is not None
    if plan.size:
        size, default_size = plan.size, False
    elif plan.ep_min_size:
        size, default_size = plan.ep_min_size * plan.ways, True
    else:
        log("create_region", "unable to determine region size")
        return -errno.ENXIO, None
    extent = decoder.max_available_extent
    if extent == ULLONG_MAX:
        # The extent comes from the decoder's start, which only root may read:
        # a user should hear that rather than ndctl's line.
        stop_if_refused_read(system.root, decoder.path + "/start")
        log("create_region", f"{decoder.name}: unable to determine max extent")
        return -errno.EINVAL, None
    if not default_size and size > extent:
        log("create_region", f"{decoder.name}: region size {c_hex(size)} exceeds max "
            f"available space ({c_hex(extent)})")
        return -errno.ENOSPC, None
    if size > extent:
        # v81+: a default size larger than the free space is cut to fit.
        size = extent - extent % (SZ_256M * plan.ways)
    name = _create(system, decoder, plan.mode, log)
    if name is None:
        log("create_region", f"failed to create region under {p.decoder}")
        return -errno.ENXIO, None
    writer = _Writer(system, log)
    region_path = f"{decoder.path}/{name}"
    try:
        _configure(system, plan, name, region_path, size, writer, log)
    except CreateFailed as e:
        region = _region(system, decoder, name)
        if region is not None:
            region_delete(system.root, region, log)
        writer.give_back_dpa()
        return e.rc, None
    fresh = CxlSystem(system.root)
    region = _region(fresh, decoder, name)
    body = region_json(region, JsonFlags(targets=True, human=human)) if region else None
    return 0, body


def _region(system: CxlSystem, decoder: Decoder, name: str) -> Region | None:
    """The region as a fresh enumeration of the system finds it (libcxl rescans)."""
    for bus in CxlSystem(system.root).buses:
        for d in bus.decoders:
            if d.path == decoder.path:
                return next((r for r in d.regions if r.name == name), None)
    return None


def _configure(system: CxlSystem, plan: _Plan, name: str, path: str, size: int,
               writer: _Writer, log: Log) -> None:
    granularity = _granularity(plan, name, log)
    writer.attr(name, "set_interleave_granularity", path + "/interleave_granularity",
                f"{granularity}\n")
    writer.attr(name, "set_interleave_ways", path + "/interleave_ways", f"{plan.ways}\n")
    if plan.mode == "pmem":
        writer.attr(name, "set_uuid", path + "/uuid", plan.uuid or str(uuidlib.uuid4()))
    writer.attr(name, "set_size", path + "/size", c_hex(size) + "\n")
    for pos in range(plan.ways):
        memdev = plan.memdevs[pos]
        dec = _free_decoder(memdev, system, log)
        if dec is None:
            raise CreateFailed(-errno.ENXIO)
        writer.endpoint(dec, plan.mode, size // plan.ways)
        rc = write_attr(system.root, f"{path}/target{pos}", dec.name)
        if rc:
            log("create_region", f"{name}: failed to set target{pos} to {memdev.name}")
            raise CreateFailed(rc)
    rc = write_attr(system.root, path + "/commit", "1\n")
    if rc:
        log("create_region", f"{name}: failed to commit decode: {_strerror(rc)}")
        raise CreateFailed(rc)
    region = _region(system, plan.root_decoder, name)
    rc = region_enable(system.root, region, log) if region else -errno.ENXIO
    if rc:
        log("create_region", f"{name}: failed to enable: {_strerror(rc)}")
        raise CreateFailed(rc)
