"""The only gateway to the system: a Root and the kernel's paths."""

from cxltool.sysfs import paths
from cxltool.sysfs.errors import NeedsRoot, RootError, SysfsError
from cxltool.sysfs.root import Root, SimulatedRoot, open_root

__all__ = ["NeedsRoot", "Root", "RootError", "SimulatedRoot", "SysfsError", "open_root", "paths"]
