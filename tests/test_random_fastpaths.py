"""The random streams' fast paths against their simple references: ``_u32`` through NumPy's
``Generator.integers`` is MT19937's raw output, and Bernoulli with a Python ``p`` compared
as integers equals the float comparison of the double uniforms (ties included)."""

from __future__ import annotations

import numpy as np
import pytest

from tapegrad._random import Generator


def test_u32_is_the_raw_stream():
    g = Generator().manual_seed(5)
    bg = np.random.MT19937()
    bg._legacy_seeding(5)
    for n in (1, 7, 624, 1000, 3):
        np.testing.assert_array_equal(g._u32(n), bg.random_raw(n).astype(np.uint32))


def _reference(g, shape, p):
    # the double uniforms (53 bits of two draws) compared as floats
    n = int(np.prod(shape))
    u = g._unit(n, np.float64)
    return (u < p).astype(np.float32).reshape(shape)


@pytest.mark.parametrize("p", [0.0, 1e-17, 0.1, 0.5, 0.9, 1.0 - 2**-53, 1.0])
@pytest.mark.parametrize("shape", [(0,), (7,), (33, 5)])
def test_bernoulli_scalar_equals_the_float_comparison(p, shape):
    a = _reference(Generator().manual_seed(3), shape, p)
    b = Generator().manual_seed(3).bernoulli_scalar(shape, p, np.float32)
    np.testing.assert_array_equal(a, b)


def test_bernoulli_scalar_ties_on_the_high_word():
    # p whose threshold's high 21 bits are 123: about 2 of 2**22 draws tie there
    p = (123 * 2**32 + 2**31) / 2**53
    n = 1 << 22
    g = Generator().manual_seed(9)
    hi = g._u32(2 * n)[0::2] & ((1 << 21) - 1)
    assert (hi == 123).any()
    a = _reference(Generator().manual_seed(9), (n,), p)
    b = Generator().manual_seed(9).bernoulli_scalar((n,), p, np.float32)
    np.testing.assert_array_equal(a, b)
