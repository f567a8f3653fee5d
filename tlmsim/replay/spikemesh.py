"""Spike messages over a mesh of tiles, one time step at a time, as flows.

A flow is the batch of spike messages one core sends another in one step. Every message
pays a tile-local cost (injection and delivery, also for a destination core in the same
tile) plus, per XY-routed hop, an east-west, north-south or inter-chip link cost. In a
step, the network needs the longest route's latency plus the queueing on the busiest
link: ``max route latency + (max link load - 1) x link time per spike``.
"""

from dataclasses import dataclass

import numpy as np

from tlmsim.kernel import Module

ACTIONS = ("spike_local", "hop_ew", "hop_ns", "hop_chip")


@dataclass(frozen=True)
class MeshCosts:
    """Per-message and per-hop energy (pJ) and latency (ps); link time per spike (ps)."""

    local_pj: float
    local_ps: int
    hop_ew_pj: float
    hop_ew_ps: int
    hop_ns_pj: float
    hop_ns_ps: int
    hop_chip_pj: float
    hop_chip_ps: int
    link_spike_ps: int


class SpikeMesh(Module):
    """The spike network between the used cores: route table and per-step accounting."""

    kind = "noc"

    def __init__(self, parent, name, costs, mesh, pair_src, pair_dst):
        super().__init__(parent, name, params=costs)
        self.costs = costs
        self.energy_pj = {"spike_local": costs.local_pj, "hop_ew": costs.hop_ew_pj,
                          "hop_ns": costs.hop_ns_pj, "hop_chip": costs.hop_chip_pj}
        ew, ns, chip = mesh.hops(pair_src, pair_dst)
        self.pair_hops = np.stack([ew, ns, chip], axis=1).astype(np.int64)      # [P, 3]
        self.pair_latency_ps = (costs.local_ps + ew * costs.hop_ew_ps + ns * costs.hop_ns_ps
                                + chip * costs.hop_chip_ps).astype(np.int64)
        route, link = mesh.route_links(pair_src, pair_dst)
        self.used_links, self.link_index = np.unique(link, return_inverse=True)
        self.route_pair = route
        self.n_links_total = mesh.n_links
        self.link_busy_ps = 0

    def window(self, msgs):
        """Accounting of one window. `msgs` [steps, pairs] are messages per flow.

        Returns (per-step network time ps, per-step energy pJ, {action: per-step count}).
        """
        c = self.costs
        s = msgs.shape[0]
        hops = msgs @ self.pair_hops                                   # [S, 3]
        counts = {"spike_local": msgs.sum(axis=1), "hop_ew": hops[:, 0],
                  "hop_ns": hops[:, 1], "hop_chip": hops[:, 2]}
        latency = np.where(msgs > 0, self.pair_latency_ps[None, :], 0).max(axis=1, initial=0)
        n_links = len(self.used_links)
        if n_links and len(self.route_pair):
            key = (np.arange(s, dtype=np.int64)[:, None] * n_links + self.link_index[None, :])
            loads = np.bincount(key.ravel(), weights=msgs[:, self.route_pair].ravel(),
                                minlength=s * n_links).reshape(s, n_links)
            max_load = loads.max(axis=1).astype(np.int64)
            self.link_busy_ps += int(loads.sum()) * c.link_spike_ps
        else:
            max_load = np.zeros(s, dtype=np.int64)
        time_ps = latency + np.maximum(max_load - 1, 0) * c.link_spike_ps
        energy = sum(counts[a] * self.energy_pj[a] for a in ACTIONS)
        return time_ps.astype(np.int64), energy, counts
