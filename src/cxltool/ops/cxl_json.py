"""CXL objects as the JSON objects ndctl v85 prints for them.

Key order, which keys appear when, and number formats (sizes and hex fields
change with -u) follow ndctl; dicts keep insertion order, which is the order
json-c prints. A key set twice keeps its first position (json-c replaces values
in place), which is how a dport's `alias` ends up naming the firmware node.
"""

from __future__ import annotations

from cxltool.objects.cparse import INT_MAX, UINT_MAX, ULLONG_MAX
from cxltool.objects.cxl import QOS_CLASS_NONE, Decoder, Downstream, Memdev, Port, Region
from cxltool.ops.numbers import hexnum, size

# Mailbox objects whose members are sizes (printed with -u like other sizes).
_SIZE_KEYS = {
    "partition_info": None,  # every member
    "firmware": {"remaining_size"},
}


class JsonFlags:
    """What to include and how to print numbers (ndctl's UTIL_JSON_* flags)."""

    def __init__(
        self,
        human: bool = False,
        targets: bool = False,
        idle: bool = False,
        health: bool = False,
        partition: bool = False,
        firmware: bool = False,
        alert_config: bool = False,
        dax: bool = False,
        media_errors: bool = False,
    ) -> None:
        self.human = human
        self.targets = targets
        self.idle = idle
        self.health = health
        self.partition = partition
        self.firmware = firmware
        self.alert_config = alert_config
        self.dax = dax
        self.media_errors = media_errors


def _mailbox(memdev: Memdev, key: str, flags: JsonFlags) -> dict | None:
    # Asked anew each time, as ndctl sends the command for each object it prints.
    data = memdev.mailbox.answer(key)
    if data is None:
        return None
    sizes = _SIZE_KEYS.get(key, set())
    out = {}
    for k, v in data.items():
        is_size = sizes is None or k in sizes
        if is_size and isinstance(v, int) and not isinstance(v, bool):
            v = size(v, flags.human)
        out[k] = v
    return out


def memdev_json(m: Memdev, flags: JsonFlags) -> dict:
    human = flags.human
    j: dict = {"memdev": m.name}
    if m.pmem_size:
        j["pmem_size"] = size(m.pmem_size, human)
        if m.pmem_qos_class != QOS_CLASS_NONE:
            j["pmem_qos_class"] = m.pmem_qos_class
    if m.ram_size:
        j["ram_size"] = size(m.ram_size, human)
        if m.ram_qos_class != QOS_CLASS_NONE:
            j["ram_qos_class"] = m.ram_qos_class
    if flags.health:
        health = _mailbox(m, "health", flags)
        if health is not None:
            j["health"] = health
    if flags.alert_config:
        alert = _mailbox(m, "alert_config", flags)
        if alert is not None:
            j["alert_config"] = alert
    if m.serial < ULLONG_MAX:
        j["serial"] = hexnum(m.serial, human)
    if m.numa_node >= 0:
        j["numa_node"] = m.numa_node
    j["host"] = m.host
    if m.firmware_version is not None:
        j["firmware_version"] = m.firmware_version
    if not m.enabled:
        j["state"] = "disabled"
    if m.poison_injectable is not None:
        j["poison_injectable"] = m.poison_injectable
    if flags.partition:
        part = _mailbox(m, "partition_info", flags)
        if part is not None:
            j["partition_info"] = part
    if flags.firmware:
        fw = _mailbox(m, "firmware", flags)
        if fw is not None:
            j["firmware"] = fw
    # -L: media errors come from poison-list trace events (tracefs), which
    # cxltool does not collect; the key is left out as when there are none.
    return j


def _link_json(j: dict, link: Downstream) -> None:
    phys = link.physical_node
    if phys is not None:
        j["alias"] = phys
    fw = link.firmware_node
    if fw is not None:
        j["alias"] = fw


def port_json(port: Port, key: str) -> dict:
    """A port (`key` "port") or endpoint (`key` "endpoint") object, without children."""
    j: dict = {key: port.name, "host": port.host}
    parent_dport = port.parent_dport
    if parent_dport is not None:
        j["parent_dport"] = parent_dport.name
    j["depth"] = port.depth
    if not port.enabled:
        j["state"] = "disabled"
    j["decoders_committed"] = port.decoders_committed
    return j


def bus_json(bus, protocol_errors: list[str] | None) -> dict:
    j: dict = {"bus": bus.name, "provider": bus.provider}
    if protocol_errors is not None:
        j["injectable_protocol_errors"] = list(protocol_errors)
    return j


def append_dports(j: dict, port: Port, keep, flags: JsonFlags) -> None:
    """-T: `nr_dports` and the dports that `keep` lets through."""
    dports = port.dports
    if not dports or not flags.targets:
        return
    j["nr_dports"] = len(dports)
    out = []
    for d in dports:
        if not keep(d):
            continue
        jd: dict = {"dport": d.name}
        _link_json(jd, d)
        jd["id"] = hexnum(d.id, flags.human)
        if d.protocol_injectable is not None:
            jd["protocol_injectable"] = d.protocol_injectable
        out.append(jd)
    j["dports"] = out


def decoder_json(d: Decoder, flags: JsonFlags) -> dict:
    human = flags.human
    port = d.port
    j: dict = {"decoder": d.name}
    dsize = d.size
    if dsize and d.start < ULLONG_MAX:
        j["resource"] = hexnum(d.start, human)
    if dsize and dsize < ULLONG_MAX:
        j["size"] = size(dsize, human)
    ways = d.interleave_ways
    if ways < UINT_MAX:
        j["interleave_ways"] = ways
        if ways > 1 and d.interleave_granularity < UINT_MAX:
            j["interleave_granularity"] = d.interleave_granularity
    region = d.region
    if region is not None:
        j["region"] = region.name
    if dsize == 0:
        j["state"] = "disabled"
    if port.is_endpoint:
        dpa_size = d.dpa_size
        if dpa_size and d.dpa_resource < ULLONG_MAX:
            j["dpa_resource"] = hexnum(d.dpa_resource, human)
        if dpa_size and dpa_size < ULLONG_MAX:
            j["dpa_size"] = size(dpa_size, human)
        if d.mode is not None:
            j["mode"] = d.mode
    if port.is_root:
        if d.mem_capable:
            extent = d.max_available_extent
            if extent < ULLONG_MAX:
                j["max_available_extent"] = size(extent, human)
            if d.pmem_capable:
                j["pmem_capable"] = True
            if d.volatile_capable:
                j["volatile_capable"] = True
        if d.accelmem_capable:
            j["accelmem_capable"] = True
        if d.qos_class != QOS_CLASS_NONE:
            j["qos_class"] = d.qos_class
    return j


def append_targets(j: dict, d: Decoder, keep, flags: JsonFlags) -> None:
    """`nr_targets` of a root/switch decoder and, with -T, its targets `keep` lets through."""
    if d.port.is_endpoint:
        return
    targets = d.targets
    j["nr_targets"] = len(targets)
    if not flags.targets or not targets:
        return
    out = []
    for t in targets:
        if not keep(t):
            continue
        jt: dict = {"target": t.name}
        _link_json(jt, t)
        jt["position"] = t.position
        jt["id"] = hexnum(t.id, flags.human)
        out.append(jt)
    j["targets"] = out


def region_json(r: Region, flags: JsonFlags) -> dict:
    human = flags.human
    j: dict = {"region": r.name, "resource": hexnum(r.start, human)}
    if r.size < ULLONG_MAX:
        j["size"] = size(r.size, human)
    if r.extended_linear_cache_size > 0:
        j["extended_linear_cache_size"] = size(r.extended_linear_cache_size, human)
    if r.mode is not None:
        j["type"] = r.mode
    ways = r.interleave_ways
    if ways < INT_MAX:
        j["interleave_ways"] = ways
    if r.interleave_granularity < INT_MAX:
        j["interleave_granularity"] = r.interleave_granularity
    j["decode_state"] = "commit" if r.committed else "reset"
    if not r.enabled:
        j["state"] = "disabled"
    if r.locked is not None:
        j["locked"] = r.locked
    if ways and ways != UINT_MAX and flags.targets:
        mappings = []
        for mapping in r.mappings:
            jm: dict = {"position": mapping.position}
            memdev = mapping.decoder.memdev
            if memdev is not None:
                jm["memdev"] = memdev.name
            jm["decoder"] = mapping.decoder.name
            mappings.append(jm)
        j["mappings"] = mappings
    if flags.dax:
        dax = _dax_region(r, flags)
        if dax is not None:
            j["daxregion"] = dax
    if r.qos_class_mismatch:
        j["qos_class_mismatch"] = True
    return j


def _dax_region(r: Region, flags: JsonFlags) -> dict | None:
    # Imported here: only -X needs the dax side.
    from cxltool.ops import dax_list

    system = r.system
    return dax_list.region_json(
        system.root, r.path, flags.human, idle=flags.idle, system=system.dax
    )
