"""Where the kernel puts things. Every system path the project uses starts here."""

SYS = "/sys"
DEV = "/dev"
SYS_DEVICES = "/sys/devices"
SYS_DEV_CHAR = "/sys/dev/char"
CLASS_DAX = "/sys/class/dax"

CXL_BUS = "/sys/bus/cxl"
CXL_DEVICES = CXL_BUS + "/devices"
CXL_DRIVERS = CXL_BUS + "/drivers"
CXL_FLUSH = CXL_BUS + "/flush"

DAX_BUS = "/sys/bus/dax"
DAX_DEVICES = DAX_BUS + "/devices"
DAX_DRIVERS = DAX_BUS + "/drivers"

ND_BUS = "/sys/bus/nd"
ND_DEVICES = ND_BUS + "/devices"

MEMORY = "/sys/devices/system/memory"
NODE = "/sys/devices/system/node"

DEV_CXL = "/dev/cxl"

# What a capture of a system records (see sim/capture.py).
CAPTURE_BUSES = (CXL_BUS, DAX_BUS, ND_BUS)


def join(*parts: str) -> str:
    return "/".join(p.rstrip("/") for p in parts[:-1]) + "/" + parts[-1].lstrip("/")


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def dirname(path: str) -> str:
    head = path.rsplit("/", 1)[0]
    return head or "/"


def strip_devices(path: str) -> str:
    """A device path without the leading /sys/devices (daxctl's region `path`)."""
    return path[len(SYS_DEVICES) :] if path.startswith(SYS_DEVICES + "/") else path


# Mount table, read to find where debugfs (and with it the CXL debugfs dir) is.
PROC_MOUNTS = "/proc/mounts"

# libdaxctl reads a dax device's start here when `resource` is unreadable.
PROC_IOMEM = "/proc/iomem"

# daxctl's configuration: reconfigure-device -C reads DAXCTL_CONF_DIR/*.conf;
# migrate-device-model links the modprobe policy it ships into modprobe.d.
DAXCTL_CONF_DIR = "/etc/daxctl.conf.d"
DAXCTL_MODPROBE_INSTALL = "/etc/modprobe.d/daxctl.conf"
DAXCTL_MODPROBE_DATA = "/usr/share/daxctl/daxctl.conf"
SYS_DEV_BLOCK = "/sys/dev/block"
# A device's `major:minor` attribute (not the /dev directory).
DEVNUM = "/dev"
CLASS_BLOCK = "/sys/class/block"

# udevd's control socket exists while it runs; its queue file exists while it
# still has events to process (what libudev's "queue is empty" test looks at).
UDEV_CONTROL = "/run/udev/control"
UDEV_QUEUE = "/run/udev/queue"
