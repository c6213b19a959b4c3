"""The emulated kernel's libnvdimm area: importing it registers every nd store.

- nd_region: regions of CXL pmem regions (registered from region_driver.py),
  nd_seeds: their seeds and capacity;
- nd_namespace: a namespace's size, uuid, alt_name, sector_size, holder_class,
  force_raw;
- nd_claim: the btt, pfn and dax devices' namespace, uuid, mode, align;
- nd_drivers: nd_pmem, dax_pmem and nd_region bind and unbind (probes in
  nd_probe.py, the data layout in nd_layout.py);
- nd_media: info blocks on the media, and writes to a pmem disk.
"""

from cxltool.sim.kernel import nd_claim, nd_drivers, nd_media, nd_namespace

__all__ = ["nd_claim", "nd_drivers", "nd_media", "nd_namespace"]
