"""The emulated kernel's dax area: importing it registers every dax store.

- dax_bus: the device_dax and kmem drivers' bind, unbind, new_id, remove_id
  (kmem.py: memory hot-add and removal; memplan.py: blocks, zones, nodes);
- dax_device: a device's size, align, mapping, memmap_on_memory (dax_alloc.py);
- dax_region: a region's create and delete.
Memory block and auto-online stores are in memory.py.
"""

from cxltool.sim.kernel import dax_bus, dax_device, dax_region

__all__ = ["dax_bus", "dax_device", "dax_region"]
