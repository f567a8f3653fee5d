"""Replay: driving a platform model from an activity trace."""
