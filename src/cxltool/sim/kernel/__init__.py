"""The emulated kernel: attribute stores that act as the kernel's drivers do."""
