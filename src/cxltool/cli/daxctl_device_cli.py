"""What the daxctl device commands share: options, argument checks, output.

Argument rules (daxctl's parse_device_options): one device word (its basename
is used, so `/dev/dax0.0` works) except for create-device, which takes none;
a missing device prints `specify a device to <action>, or "all"`, each extra
word `unknown extra parameter "<word>"`, then the usage (exit 129).
reconfigure-device needs `-a`, `-m` or `-s`; `-s`/`-a` make it ignore `-m`;
`-N` does not go with `-m devdax` or `-m famfs`. Sizes take a K/M/G/T suffix
and are ignored when they do not parse (as daxctl's size parser leaves them).

After the command: the JSON of the devices it reports (one object unwrapped
under `-u`), `error <doing> devices: <reason>` when it failed, and the count.
Memory onlining and offlining show a progress bar when stderr is a terminal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cxltool.cli import jsonc, ndopts
from cxltool.cli.ndopts import Opt
from cxltool.objects import cparse
from cxltool.ops import daxctl_config
from cxltool.ops.daxctl_device import CREATE, RECONFIGURE, DeviceCommands, DeviceParams

MODES = ("system-ram", "devdax", "famfs")

BASE_OPTIONS = [
    Opt("r", "region", "str", "filter by region", "region-id"),
    Opt("u", "human", "bool", "use human friendly number formats"),
    Opt("v", "verbose", "bool", "emit more debug messages"),
]
CREATE_OPTIONS = [
    Opt("s", "size", "str", "size to switch the device to", "size"),
    Opt("a", "align", "str", "alignment to switch the device to", "align"),
    Opt(None, "input", "str", "input device JSON file", "input"),
]
RECONFIG_OPTIONS = [
    Opt("m", "mode", "str", "mode to switch the device to", "mode"),
    Opt("N", "no-online", "bool", "don't auto-online memory sections"),
    Opt("f", "force", "bool", "attempt to offline memory sections before reconfiguration"),
    Opt("C", "check-config", "bool", "use config files to determine parameters for the operation"),
]
ZONE_OPTIONS = [Opt(None, "no-movable", "bool", "online memory in ZONE_NORMAL")]
DESTROY_OPTIONS = [Opt("f", "force", "bool", "attempt to disable before destroying device")]


@dataclass(frozen=True)
class Spec:
    """One device command: its action, the word its messages use, its summary."""

    action: str
    what: str  # "specify a device to <what>"
    failing: str  # "error <failing>: <reason>"
    summary: str  # "<summary> N device(s)"


def command(usage: str, options: list[Opt]) -> ndopts.Command:
    return ndopts.Command(usage=[usage], options=options)


def parse_size64(text: str) -> int:
    """daxctl's size parser: a number with an optional K/M/G/T suffix; -1 when it fails."""
    value, end = cparse.strtoull_end(text)
    if value == cparse.ULLONG_MAX:
        return -1
    rest = text[end:]
    shift = {"k": 10, "m": 20, "g": 30, "t": 40}.get(rest[:1].lower(), 0)
    if shift:
        rest = rest[1:]
    scaled = value << shift
    if scaled >= 1 << 64 or rest:
        return -1
    return scaled - (1 << 64) if scaled >= 1 << 63 else scaled  # a long long


def _usage_exit(cmd: ndopts.Command, text: str = "") -> ndopts.UsageExit:
    return ndopts.UsageExit(ndopts.USAGE_EXIT, text + cmd.full_usage())


def device_params(parsed: ndopts.Parsed, cmd: ndopts.Command, spec: Spec, ctx) -> DeviceParams:
    """The command's parameters, or a UsageExit carrying daxctl's complaint."""
    args = parsed.args
    device = args[0].rsplit("/", 1)[-1] if args else None
    text = ""
    if not args and spec.action != CREATE:
        text += f'specify a device to {spec.what}, or "all"\n'
    first_extra = 0 if spec.action == CREATE else 1
    for word in args[first_extra:]:
        text += f'unknown extra parameter "{word}"\n'
    if text:
        raise _usage_exit(cmd, text)
    get = parsed.get
    p = DeviceParams(
        device=device,
        region=get("region"),
        human=bool(get("human")),
        verbose=bool(get("verbose")),
        no_online=bool(get("no_online")),
        no_movable=bool(get("no_movable")),
        force=bool(get("force")),
    )
    mode = get("mode")
    if device and get("check_config"):
        if mode or p.no_online or p.no_movable:
            ctx.err.write(
                f"{device}: -C cannot be used with --mode, --(no-)movable, or --(no-)online\n"
            )
            raise _usage_exit(cmd)
        found = daxctl_config.reconfigure_config(ctx.root, device, lambda s: ctx.err.write(s))
        if found.error:
            ctx.err.write(f"error parsing config file: {os.strerror(-found.error)}\n")
            # daxctl carries on without a device name, which then matches every
            # device, and without a mode.
            p.device = None
            return p
        mode = found.mode
        if found.online is not None:
            p.no_online = not found.online
        if found.movable is not None:
            p.no_movable = not found.movable
        if not mode and not p.no_online and not p.no_movable:
            ctx.err.write(f"{device}: missing or malformed config section\n")
            # Most devices have no section: daxctl calls that a success.
            raise ndopts.UsageExit(0)
    size, align = get("size"), get("align")
    if spec.action == RECONFIGURE:
        if size is None and align is None and mode is None:
            raise _usage_exit(cmd, "error: a 'align', 'mode' or 'size' option is required\n")
        if size is not None or align is not None:
            p.size = parse_size64(size) if size is not None else -1
            p.align = parse_size64(align) if align is not None else -1
        elif mode in MODES:
            p.mode = mode
            if mode != "system-ram" and p.no_online:
                raise _usage_exit(cmd, f"--no-online is incompatible with --mode={mode}\n")
    elif spec.action == CREATE:
        if get("input"):
            try:
                size, align = _read_device_file(get("input"), p)
            except ValueError:
                raise _usage_exit(
                    cmd, f"error: failed to parse device file: {os.strerror(22)}\n"
                ) from None
        p.size = parse_size64(size) if size is not None else -1
        p.align = parse_size64(align) if align is not None else -1
    return p


def _read_device_file(name: str, p: DeviceParams) -> tuple[str, str]:
    """create-device --input: a device object as `daxctl list -M` prints it."""
    try:
        with open(name) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        raise ValueError(name) from None
    if not isinstance(doc, dict) or not all(k in doc for k in ("align", "size", "chardev")):
        raise ValueError(name)
    pair = cparse.scan_int_pair(str(doc["chardev"]), "dax")
    if pair is None or "mappings" not in doc or not isinstance(doc["mappings"], list):
        raise ValueError(name)
    p.region = str(pair[0])
    maps = []
    for m in doc["mappings"]:
        if not isinstance(m, dict) or not all(k in m for k in ("start", "end", "page_offset")):
            raise ValueError(name)
        maps.append((_json_int(m["page_offset"]), _json_int(m["start"]), _json_int(m["end"])))
    p.mappings = [(start, end) for _, start, end in sorted(maps)]
    return str(doc["size"]), str(doc["align"])


def _json_int(value: object) -> int:
    # json-c reads a string as a decimal number (so "0x..." gives 0).
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return cparse.strtol(value, 10)
    return 0


def run(ctx, parsed: ndopts.Parsed, cmd: ndopts.Command, spec: Spec) -> int:
    params = device_params(parsed, cmd, spec, ctx)
    progress = None
    bars = None
    if _is_terminal(ctx.err):
        from cxltool.cli.progress import BlockProgress

        bars = BlockProgress()
        progress = bars.track
    cmds = DeviceCommands(ctx.root, params, lambda line: ctx.err.write(line + "\n"), progress)
    try:
        out = cmds.on_regions() if spec.action == CREATE else cmds.on_devices(spec.action)
    finally:
        if bars is not None:
            bars.close()
    if out.devices is not None:
        shown = out.devices[0] if params.human and len(out.devices) == 1 else out.devices
        ctx.out.write(jsonc.dumps(shown))
    if out.rc < 0:
        ctx.err.write(f"error {spec.failing}: {os.strerror(-out.rc)}\n")
    ctx.err.write(f"{spec.summary} {out.processed} device{'' if out.processed == 1 else 's'}\n")
    return out.rc


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
