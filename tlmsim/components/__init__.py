"""TLM components platforms are assembled from: interconnect (mesh NoC, multicast router)."""

from tlmsim.components.noc import (Flow, MeshNoc, MeshParams, xy_flow_links, xy_link_loads,
                                   xy_links, xy_segments)
from tlmsim.components.router import (LOCAL, MulticastRouter, RouterParams, RoutingTable,
                                      check_fits, compress_table, route_bits)

__all__ = ["Flow", "MeshNoc", "MeshParams", "xy_flow_links", "xy_link_loads", "xy_links",
           "xy_segments", "LOCAL", "MulticastRouter", "RouterParams", "RoutingTable",
           "check_fits", "compress_table", "route_bits"]
