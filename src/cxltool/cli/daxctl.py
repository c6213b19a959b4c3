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
        "migrate-device-model": "cxltool.cli.daxctl_migrate_device_model",
        "create-device": "cxltool.cli.daxctl_create_device",
        "destroy-device": "cxltool.cli.daxctl_destroy_device",
        "reconfigure-device": "cxltool.cli.daxctl_reconfigure_device",
        "online-memory": "cxltool.cli.daxctl_online_memory",
        "offline-memory": "cxltool.cli.daxctl_offline_memory",
        "disable-device": "cxltool.cli.daxctl_disable_device",
        "enable-device": "cxltool.cli.daxctl_enable_device",
    },
)
