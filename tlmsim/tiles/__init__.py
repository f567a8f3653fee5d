"""Compute tiles: the units platforms name in their parameters (see `tlmsim.registry.tile`)."""
