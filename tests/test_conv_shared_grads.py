"""The stride-1 convolution backward that takes dx and dw from one set of columns of dy
(``conv._conv_grads_shared``): float64 values against PyTorch and the einsum reference,
the path actually taken, chunks in several blocks, 1/2/4 threads identical, and second
order (``create_graph`` records the separate products instead)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import compare, to_numpy

import tapegrad
from tapegrad.ops import conv as CV

R = np.random.default_rng(5)

# (input shape, out channels, kernel, padding, dilation): stride 1, one group, flat-shift
# columns for the flipped convolution (32- and 16-wide maps as ResNet's, 'same' with an
# even kernel padding one more on the right, dilation, a 1-D convolution)
CASES = [
    ((3, 4, 32, 32), 4, 3, 1, 1),
    ((2, 6, 16, 16), 5, 3, 1, 1),
    ((2, 3, 17, 24), 4, (3, 2), "same", 1),
    ((2, 3, 18, 40), 2, 3, 2, 2),
    ((2, 3, 9, 40), 3, (1, 3), (0, 1), 1),
    ((3, 5, 40), 4, 3, 1, 1),
]


def _conv(lib, x, w, p, d):
    fn = lib.nn.functional.conv1d if x.ndim == 3 else lib.nn.functional.conv2d
    return fn(x, w, None, 1, p, d)


def _inputs(case, dtype=np.float64):
    shape, cout, k, p, d = case
    k = (k,) * (len(shape) - 2) if isinstance(k, int) else k
    x = R.standard_normal(shape).astype(dtype)
    w = R.standard_normal((cout, shape[1]) + k).astype(dtype)
    return x, w, p, d


def _expect_shared(monkeypatch, nlast=False):
    """Count the calls of the shared-columns backward; fail on the separate dw rebuild."""
    calls = []
    shared = CV._conv_grads_shared

    def counted(*args):
        calls.append(1)
        return shared(*args)

    def boom(*args):
        raise AssertionError("the shared-columns backward was not taken")

    # small test layers would keep their columns or take the batch-last layout
    monkeypatch.setattr(CV, "_KEEP_COLS_MAX_ELEMS", -1)
    monkeypatch.setattr(CV, "_NLAST_MAX_PIXELS", 10**9 if nlast else -1)
    monkeypatch.setattr(CV, "_conv_grads_shared", counted)
    monkeypatch.setattr(CV, "_conv_grad_weight_recompute", boom)
    return calls


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("nlast", [False, True])
def test_shared_columns_backward_matches_pytorch(case, nlast, monkeypatch):
    calls = _expect_shared(monkeypatch, nlast)
    x, w, p, d = _inputs(case)
    compare(lambda lib, x, w: _conv(lib, x, w, p, d), [x, w], atol=1e-10, grad_atol=1e-10)
    assert calls


@pytest.mark.parametrize("nlast", [False, True])
def test_shared_columns_backward_against_reference(nlast, monkeypatch):
    # dx and dw as derivatives of the einsum reference (float64); batch-major in blocks
    # of chunks of one sample each
    calls = _expect_shared(monkeypatch, nlast)
    monkeypatch.setattr(CV, "_REBUILD_CHUNK_ELEMS", 1)
    monkeypatch.setattr(CV, "_WGRAD_CHUNK_ELEMS", 1)
    x, w, p, _ = _inputs(((5, 3, 16, 16), 4, 3, 1, 1))
    gy = R.standard_normal((5, 4, 16, 16))
    xs, ws = tapegrad.tensor(x, requires_grad=True), tapegrad.tensor(w, requires_grad=True)
    _conv(tapegrad, xs, ws, p, 1).backward(tapegrad.tensor(gy))
    pads = (1, 1, 1, 1)
    # the reference is linear in each argument: its gradient against x is the sum over the
    # basis of gy * conv(e_i, w), checked instead through the adjoint identity
    # <gy, conv(x, w)> = <dx, x> = <dw, w> for random directions
    for _ in range(2):
        dxr = R.standard_normal(x.shape)
        dwr = R.standard_normal(w.shape)
        lhs_x = np.sum(gy * CV._reference_conv2d(dxr, w, pads=pads))
        lhs_w = np.sum(gy * CV._reference_conv2d(x, dwr, pads=pads))
        np.testing.assert_allclose(np.sum(to_numpy(xs.grad) * dxr), lhs_x, rtol=1e-10)
        np.testing.assert_allclose(np.sum(to_numpy(ws.grad) * dwr), lhs_w, rtol=1e-10)
    assert calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nlast", [False, True])
def test_shared_columns_threads_identical(dtype, nlast, monkeypatch):
    # batch-major: whole chunks per thread, three samples per chunk and a shorter last
    # chunk, so every thread count computes each element by the same operations;
    # batch-last: products split by rows, which OpenBLAS rounds per block shape
    calls = _expect_shared(monkeypatch, nlast)
    monkeypatch.setattr(CV, "get_blas_threads", lambda: 1)
    monkeypatch.setattr(CV, "_FLAT_MIN_OW_PER_WASTED", 0)  # flat columns on 12-wide maps
    monkeypatch.setattr(CV, "_REBUILD_CHUNK_ELEMS", 3 * 8 * 9 * 12 * 14)
    x, w = R.standard_normal((16, 6, 12, 12)).astype(dtype), R.standard_normal((8, 6, 3, 3))
    w = w.astype(dtype)
    outs = []
    for n in (1, 2, 4):
        tapegrad.set_num_threads(n)
        try:
            xs, ws = tapegrad.tensor(x, requires_grad=True), tapegrad.tensor(w, requires_grad=True)
            y = _conv(tapegrad, xs, ws, 1, 1)
            y.backward(tapegrad.tensor(np.cos(np.arange(y.numel())).reshape(y.shape).astype(dtype)))
            outs.append((to_numpy(xs.grad), to_numpy(ws.grad)))
        finally:
            tapegrad.set_num_threads(1)
    assert len(calls) == 3
    for run in outs[1:]:
        for a, b in zip(outs[0], run):
            if nlast:
                tol = 1e-5 if dtype == np.float32 else 1e-12
                np.testing.assert_allclose(b, a, rtol=tol, atol=tol * float(np.abs(a).max()))
            else:
                np.testing.assert_array_equal(b, a)


def test_second_order_through_create_graph():
    # under create_graph the backward records the separate products: gradients of the
    # gradients match PyTorch's
    x, w, p, d = _inputs(CASES[1])
    res = []
    for lib in (torch, tapegrad):
        xs, ws = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = _conv(lib, xs, ws, p, d)
        gx, gw = lib.autograd.grad((y * y).sum(), (xs, ws), create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum()).backward()
        res.append([to_numpy(t) for t in (gx, gw, xs.grad, ws.grad)])
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)


def test_mixed_dtypes_take_the_general_backward(monkeypatch):
    # float16 data computes in float32 with float16 saved inputs: the separate products
    x, w, p, d = _inputs(CASES[1], np.float16)
    compare(lambda lib, x, w: _conv(lib, x, w, p, d), [x, w], atol=2e-2, grad_atol=5e-2)
