"""The emulated kernel's region area: importing it registers every region store.

- region_lifecycle: root decoders' create_*_region / delete_region, and the
  cxl_region driver's bind / unbind (region_driver: what binding creates);
- region_config: a region's uuid, interleave_ways, interleave_granularity,
  size, target<N> (region_attach) and commit (region_commit).
Endpoint decoders' mode and dpa_size are in decoder.py (dpa.py, hdm.py).
"""

from cxltool.sim.kernel import region_config, region_lifecycle

__all__ = ["region_config", "region_lifecycle"]
