"""`tlmsim.shapes.pair`: the one reader of window sizes (kernel, stride, padding) that the
trace converters, the datapath's layers and the GEMM lowering share."""

import numpy as np
import pytest

from tlmsim.errors import ParameterError
from tlmsim.replay.gemm import conv_gemm
from tlmsim.shapes import pair
from tlmsim.tiles.datapath import conv2d_layer


@pytest.mark.parametrize("value, want", [
    (3, (3, 3)), (np.int64(2), (2, 2)), ((1, 2), (1, 2)), ([4], (4, 4)),
    (np.array([1, 2]), (1, 2)), (np.array(5), (5, 5)), (2.0, (2, 2)), ((2.0, 3), (2, 3)),
])
def test_pair_reads_an_integer_or_a_pair(value, want):
    got = pair(value, "kernel")
    assert got == want and all(type(v) is int for v in got)


@pytest.mark.parametrize("value", [True, (1, 2, 3), (), "same", 2.5, None, ((1, 1), (2, 2))])
def test_pair_refuses_anything_else_naming_the_parameter(value):
    with pytest.raises(ParameterError, match="stride must be an integer or a pair of integers"):
        pair(value, "stride")


def test_its_users_share_it():
    """The datapath and the GEMM lowering give the same window geometry for the same
    layer, and refuse the same malformed kernel with the same message."""
    spec = conv2d_layer((3, 8, 8), 4, kernel=(3, 3), stride=2, padding=[1])
    g = conv_gemm(1, (8, 8), 3, 4, (3, 3), 2, 1)
    assert spec.out_shape == (4, 4, 4) and g.m == 16 and g.k == 27
    assert conv_gemm(1, 8, 3, 4, 3, 2, ((1, 1), (1, 1))).m == g.m
    for build in (lambda: conv2d_layer((3, 8, 8), 4, kernel=(3, 3, 3)),
                  lambda: conv_gemm(1, (8, 8), 3, 4, (3, 3, 3))):
        with pytest.raises(ParameterError, match="kernel must be an integer or a pair"):
            build()
