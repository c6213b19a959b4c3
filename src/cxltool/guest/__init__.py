"""Running cxltool on a real Linux kernel in a QEMU guest.

The guest boots a distribution kernel with emulated CXL devices; its root file
system is the host's own root, shared read-only, so the guest runs the same
Python and the same cxltool as the host. A scenario (a list of commands) runs
on the guest's real sysfs, and its results come back as a JSON file plus a
capture of the tree after each state change.
"""
