"""Branch-free kernels behind the activations: ``ops._util.select`` (np.where as a bitwise
blend), LeakyReLU as a max, sigmoid as PyTorch's 1 / (1 + exp(-x)); each against the
simple reference, bit for bit where it promises that, and against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.ops import _util as U

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3.0, -3.0, 1e30, -1e30]


def _data(dtype, n=4099, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    x[: len(SPECIAL)] = SPECIAL
    return x


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_select_is_where_bit_for_bit(dtype):
    a, b = _data(dtype, seed=1), _data(dtype, seed=2)
    mask = _data(dtype, seed=3) > 0
    got = U.select(mask, a, b)
    want = np.where(mask, a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))  # -0, NaN bits


def test_select_falls_back_to_where():
    a = np.arange(12.0).reshape(3, 4)
    b = -a
    mask = a % 3 == 0
    # transposed (not C-contiguous), broadcast, mixed dtypes, integers: np.where's results
    np.testing.assert_array_equal(U.select(mask.T, a.T, b.T), np.where(mask.T, a.T, b.T))
    np.testing.assert_array_equal(U.select(mask, a, 0.5), np.where(mask, a, 0.5))
    np.testing.assert_array_equal(
        U.select(mask, a, b.astype(np.float32)), np.where(mask, a, b.astype(np.float32))
    )
    ints = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(U.select(mask, ints, -ints), np.where(mask, ints, -ints))


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0, 0.0, 2.0, -0.5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leaky_relu_against_where_and_pytorch(slope, dtype):
    x = _data(dtype)
    t = tapegrad.tensor(x, requires_grad=True)
    y = tapegrad.nn.functional.leaky_relu(t, slope)
    g = _data(dtype, seed=5)
    y.backward(tapegrad.tensor(g))
    ref = np.where(x > 0, x, x * dtype(slope))
    np.testing.assert_array_equal(y.detach().numpy().view(np.uint8), ref.view(np.uint8))
    np.testing.assert_array_equal(t.grad.numpy(), np.where(x > 0, g, g * dtype(slope)))
    r = torch.tensor(x, requires_grad=True)
    ry = torch.nn.functional.leaky_relu(r, slope)
    ry.backward(torch.tensor(g))
    np.testing.assert_array_equal(y.detach().numpy(), ry.detach().numpy())
    np.testing.assert_array_equal(t.grad.numpy(), r.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_pytorchs_formula(dtype):
    x = _data(dtype)
    got = tapegrad.sigmoid(tapegrad.tensor(x)).numpy()
    with np.errstate(over="ignore"):
        want = (1 / (1 + np.exp(-x))).astype(dtype)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == dtype
    # against PyTorch in float64 (independent of its CPU code path)
    ref = torch.sigmoid(torch.tensor(x.astype(np.float64))).numpy()
    np.testing.assert_allclose(got, ref, rtol=4 * np.finfo(dtype).eps, atol=1e-37)
    zero_d = tapegrad.sigmoid(tapegrad.tensor(dtype(0.5)))
    assert zero_d.shape == () and abs(float(zero_d) - 0.6224593312018546) < 1e-7


def test_activations_keep_create_graph():
    # the backward formulas still go through the graph namespace (no bitwise blend)
    x = tapegrad.tensor([-1.5, -0.2, 0.3, 2.0], dtype=tapegrad.float64, requires_grad=True)
    F = tapegrad.nn.functional
    for f in (
        lambda v: F.leaky_relu(v, 0.1),
        lambda v: F.elu(v),
        lambda v: F.softplus(v, beta=2.0, threshold=1.0),
        lambda v: F.prelu(v, tapegrad.tensor([0.25], dtype=tapegrad.float64)),
        lambda v: F.silu(v),
    ):
        assert tapegrad.autograd.gradgradcheck(f, (x,))
