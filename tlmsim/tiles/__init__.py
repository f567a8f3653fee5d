"""Compute tiles: neuro-cores for spiking networks, MAC arrays and the other units platforms
name in their parameters (see `tlmsim.registry.tile`)."""
