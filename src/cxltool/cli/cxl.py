"""The `cxl` tool: ndctl v85's command table."""

from cxltool.cli.tool import Tool

# Order is ndctl's `--list-cmds` order; None marks a command cxltool lacks so far.
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
        "disable-memdev": None,
        "enable-memdev": None,
        "reserve-dpa": None,
        "free-dpa": None,
        "update-firmware": None,
        "set-alert-config": None,
        "wait-sanitize": None,
        "disable-port": None,
        "enable-port": None,
        "set-partition": None,
        "disable-bus": None,
        "create-region": None,
        "enable-region": None,
        "disable-region": None,
        "destroy-region": None,
        "monitor": None,
        "inject-protocol-error": None,
        "inject-media-poison": None,
        "clear-media-poison": None,
    },
)
