"""A tile library that lives outside tlmsim, as a researcher's own package would.

`DoubleRateArray` is a weight-stationary array that takes two activation rows per cycle
(twice the input bandwidth of the TPU's matrix unit). It is registered with tlmsim only
through the ``tlmsim.tiles`` entry-point group (see tests/test_plugins.py).
"""

from tlmsim.tiles.systolic import WeightStationaryArray


class DoubleRateArray(WeightStationaryArray):
    """Streams two rows of activations per cycle: a fold of m rows takes ceil(m / 2)."""

    def stream_cycles(self, fold):
        return -(-fold.m // 2)
