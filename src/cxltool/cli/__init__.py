"""Command-line front ends: `cxltool cxl`, `cxltool daxctl`, `cxltool sim`."""
