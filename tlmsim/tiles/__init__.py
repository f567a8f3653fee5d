"""Compute tiles: neuro-cores for spiking networks (and, in their issues, MAC arrays)."""
