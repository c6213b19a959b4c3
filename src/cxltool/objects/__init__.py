"""Read-only views of kernel objects, reading their attributes lazily through a Root."""
