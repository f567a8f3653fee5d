"""Compute tiles: the units platforms name in their parameters (see `tlmsim.registry.tile`).

Neuro-cores for spiking networks (`neurocore`), systolic MAC arrays (`systolic`) and a chip
of decoupled units around one (`systolic_chip`, TPU-like), datapaths.
Shared by them: `arithmetic` (integer op energy by width) and `vector_op` (the layers a
systolic chip runs on its activation unit).
"""
