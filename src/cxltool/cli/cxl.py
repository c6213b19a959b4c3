"""The `cxl` tool: ndctl v85's command table."""

from cxltool.cli.tool import Tool

# Order is ndctl's `--list-cmds` order. None, or a module not written yet, marks a
# command cxltool lacks so far.
CXL = Tool(
    name="cxl",
    version="85",
    commands={
        "version": None,
        "list": "cxltool.cli.cxl_list",
        "help": None,
        "zero-labels": None,
        "read-labels": None,
        "write-labels": None,
        "disable-memdev": "cxltool.cli.cxl_disable_memdev",
        "enable-memdev": "cxltool.cli.cxl_enable_memdev",
        "reserve-dpa": "cxltool.cli.cxl_reserve_dpa",
        "free-dpa": "cxltool.cli.cxl_free_dpa",
        "update-firmware": None,
        "set-alert-config": None,
        "wait-sanitize": None,
        "disable-port": "cxltool.cli.cxl_disable_port",
        "enable-port": "cxltool.cli.cxl_enable_port",
        "set-partition": "cxltool.cli.cxl_set_partition",
        "disable-bus": "cxltool.cli.cxl_disable_bus",
        "create-region": "cxltool.cli.cxl_create_region",
        "enable-region": "cxltool.cli.cxl_enable_region",
        "disable-region": "cxltool.cli.cxl_disable_region",
        "destroy-region": "cxltool.cli.cxl_destroy_region",
        "monitor": None,
        "inject-protocol-error": None,
        "inject-media-poison": None,
        "clear-media-poison": None,
    },
)
