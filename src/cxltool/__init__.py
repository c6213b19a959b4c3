"""cxltool: manage CXL memory like ndctl's cxl and daxctl, on a real or simulated system."""

__version__ = "0.1.0"
