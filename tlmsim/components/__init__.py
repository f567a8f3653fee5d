"""TLM components platforms are assembled from: interconnect (mesh NoC, multicast router)."""

from tlmsim.components.noc import Flow, MeshNoc, MeshParams, xy_link_loads, xy_links
from tlmsim.components.router import (LOCAL, MulticastRouter, RouterParams, RoutingTable,
                                      check_fits, compress_table, route_bits)

__all__ = ["Flow", "MeshNoc", "MeshParams", "xy_link_loads", "xy_links", "LOCAL",
           "MulticastRouter", "RouterParams", "RoutingTable", "check_fits", "compress_table",
           "route_bits"]
