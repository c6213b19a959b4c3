"""The `daxctl` tool: daxctl v85's command table."""

from cxltool.cli.tool import Tool

DAXCTL = Tool(
    name="daxctl",
    version="85",
    commands={
        "version": None,
        "list": "cxltool.cli.daxctl_list",
        "help": None,
        "split-acpi": None,
        "migrate-device-model": None,
        "create-device": None,
        "destroy-device": None,
        "reconfigure-device": None,
        "online-memory": None,
        "offline-memory": None,
        "disable-device": None,
        "enable-device": None,
    },
)
