"""Max pooling's backward scatter and its gather (second order) against a direct loop.

The scatter writes ``gy`` to each window's argmax position in one indexed store (windows
that share no input element) or adds it tap by tap (overlapping windows); both run in
blocks of planes over 1, 2 and 4 threads. Every case here is checked against
``_reference_max_pool``'s flat indices: the gradient is ``gy`` added at those indices,
the gradient of the gradient gathers the upstream gradient there.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import to_numpy

import tapegrad
from tapegrad.ops import conv as CV
from tapegrad.ops import pool as P

R = np.random.default_rng(13)

# (input shape, kernel, stride, padding, dilation, ceil_mode)
GEOMS = [
    ((6, 5, 24, 24), 3, None, 0, 1, False),  # the seed CNN's: disjoint, covering the input
    ((6, 5, 4, 4), 2, None, 0, 1, False),
    ((4, 3, 7, 8), 2, None, 0, 1, False),  # disjoint, the last row/column in no window
    ((4, 3, 7, 7), 2, None, 0, 1, True),  # disjoint, ceil_mode windows past the edge
    ((4, 3, 9, 9), 3, 3, 1, 1, False),  # disjoint, padded
    ((4, 3, 11, 12), 2, 4, 0, 2, False),  # disjoint, dilated
    ((4, 3, 9, 10), (3, 2), (3, 2), 0, 1, False),
    ((4, 3, 9, 9), 3, 2, 1, 1, False),  # overlapping windows: the tap-by-tap path
]


def _data(shape):
    # ties inside windows (small integers) plus distinct values: PyTorch's first maximum
    x = R.integers(0, 3, shape).astype(np.float32)
    return x + R.standard_normal(shape).astype(np.float32) * (R.random(shape) < 0.4)


def _reference_grad(x, gy, k, s, p, d, ceil):
    g = P._pool_geom("max_pool2d", tapegrad.tensor(x), 2, k, s, p, d, ceil)
    _, idx = P._reference_max_pool(x, g.k, g.s, g.p, g.d, g.out)
    n, c, h, w = x.shape
    gx = np.zeros((n * c, h * w), gy.dtype)
    flat = idx.reshape(n * c, -1)
    for plane in range(n * c):
        np.add.at(gx[plane], flat[plane], gy.reshape(n * c, -1)[plane])
    return gx.reshape(x.shape), idx


def _split(monkeypatch, threads):
    """Small blocks on ``threads`` threads, even beside a threaded BLAS."""
    monkeypatch.setattr(CV, "get_blas_threads", lambda: 1)
    monkeypatch.setattr(CV, "_PARALLEL_MIN_ELEMS", 1)
    monkeypatch.setattr(P, "_BLOCK_BYTES", 3 * 24 * 24 * 4)
    tapegrad.set_num_threads(threads)


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("shape,k,s,p,d,ceil", GEOMS)
def test_scatter_and_gather_against_reference(shape, k, s, p, d, ceil, threads, monkeypatch):
    x = _data(shape)
    _split(monkeypatch, threads)
    try:
        a = tapegrad.tensor(x, requires_grad=True)
        y = tapegrad.nn.functional.max_pool2d(a, k, s, p, d, ceil)
        gy_np = R.standard_normal(tuple(y.shape)).astype(np.float32)
        gy = tapegrad.tensor(gy_np, requires_grad=True)
        (gx,) = tapegrad.autograd.grad(y, a, gy, create_graph=True)
        v = R.standard_normal(shape).astype(np.float32)
        (ggy,) = tapegrad.autograd.grad(gx, gy, tapegrad.tensor(v))
    finally:
        tapegrad.set_num_threads(1)
    ref, idx = _reference_grad(x, gy_np, k, s, p, d, ceil)
    if P._pool_geom("max_pool2d", a, 2, k, s, p, d, ceil).disjoint:
        np.testing.assert_array_equal(to_numpy(gx), ref)
    else:  # overlapping windows add in tap order, the reference in window order
        np.testing.assert_allclose(to_numpy(gx), ref, rtol=1e-6, atol=1e-6)
    n, c = shape[:2]
    gathered = np.take_along_axis(v.reshape(n, c, -1), idx.reshape(n, c, -1), axis=2)
    np.testing.assert_array_equal(to_numpy(ggy), gathered.reshape(idx.shape))


@pytest.mark.parametrize("threads", [1, 2])
def test_nan_and_inf_gradient_land_at_their_tap_only(threads, monkeypatch):
    # the indexed store copies gy, so a non-finite upstream gradient does not spread
    # over the window (0 * inf would be NaN)
    shape = (3, 2, 6, 6)
    x = _data(shape)
    gy_np = R.standard_normal((3, 2, 3, 3)).astype(np.float32)
    gy_np[0, 0, 0, 0], gy_np[1, 1, 2, 1], gy_np[2, 0, 1, 2] = np.nan, np.inf, -np.inf
    _split(monkeypatch, threads)
    try:
        a = tapegrad.tensor(x, requires_grad=True)
        tapegrad.nn.functional.max_pool2d(a, 2).backward(tapegrad.tensor(gy_np))
    finally:
        tapegrad.set_num_threads(1)
    ref, _ = _reference_grad(x, gy_np, 2, None, 0, 1, False)
    np.testing.assert_array_equal(to_numpy(a.grad), ref)
    assert np.isnan(to_numpy(a.grad)).sum() == 1


def test_scatter_into_a_strided_out_falls_back_to_a_fresh_array():
    # the indexed store addresses a C-contiguous array; a strided ``out`` must not
    # receive a silently discarded copy
    x = _data((2, 3, 6, 6))
    g = P._pool_geom("max_pool2d", tapegrad.tensor(x), 2, 2, None, 0, 1, False)
    _, idx = P._max_pool(x, g, True)
    gy = R.standard_normal(idx.shape).astype(np.float32)
    out = np.empty((6, 6, 2, 3), np.float32).transpose(2, 3, 0, 1)
    r = P._max_pool_backward(gy, idx, g, x.shape, out=out)
    np.testing.assert_array_equal(r, _reference_grad(x, gy, 2, None, 0, 1, False)[0])
