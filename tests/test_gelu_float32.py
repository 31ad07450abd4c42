"""float32 GELU through the A&S 7.1.26 erf that PyTorch's CPU GELU kernels use
(``tapegrad/ops/nn_ops.py::_erf_float32``): against the double-precision formula and
PyTorch, forward and backward, with the special values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.ops.nn_ops import _erf_float32

# A&S 7.1.26's own bound plus float32 rounding of its few steps
ERF_BOUND = 1.5e-7 + 4 * np.finfo(np.float32).eps


def _x(n=200_000, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    special = [0.0, -0.0, 1e-30, -1e-30, 3e-8, -3e-8, 9.3, -9.3, 40.0, -40.0, 1.0, -1.0]
    x[: min(n, 12)] = special[:n]
    return x


def test_erf_float32_against_math_erf():
    z = _x()
    got = _erf_float32(z.copy())
    assert got.dtype == np.float32
    exact = np.array([math.erf(v) for v in z.astype(np.float64)])
    assert np.max(np.abs(got - exact)) <= ERF_BOUND
    np.testing.assert_array_equal(np.signbit(got), np.signbit(z))  # odd, -0 stays -0
    special = _erf_float32(np.array([np.inf, -np.inf, np.nan], np.float32))
    np.testing.assert_array_equal(special, [1.0, -1.0, np.nan])


@pytest.mark.parametrize("shape", [(7,), (64, 512), (3, 5, 33)])
def test_gelu_float32_forward_backward(shape):
    x = _x(math.prod(shape), seed=len(shape)).reshape(shape)
    g = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    t = tapegrad.tensor(x, requires_grad=True)
    y = tapegrad.nn.functional.gelu(t)
    y.backward(tapegrad.tensor(g))
    assert y.dtype == tapegrad.float32 and t.grad.dtype == tapegrad.float32
    # PyTorch in float64 does not depend on its CPU code path
    r = torch.tensor(x.astype(np.float64), requires_grad=True)
    ref = torch.nn.functional.gelu(r)
    ref.backward(torch.tensor(g.astype(np.float64)))
    x64 = np.abs(x.astype(np.float64))
    # y = x * (1 + erf) / 2: erf's error scaled by |x| / 2, plus y's own rounding
    bound = 0.5 * ERF_BOUND * x64 + 2 * np.finfo(np.float32).eps * np.abs(ref.detach().numpy())
    assert (np.abs(y.detach().numpy() - ref.detach().numpy()) <= bound + 1e-45).all()
    # dy/dx = cdf + x pdf: the cdf's error plus the pdf term's rounding, times |g|
    gbound = (0.5 * ERF_BOUND + 4 * np.finfo(np.float32).eps * (1 + x64)) * np.abs(g)
    assert (np.abs(t.grad.numpy() - r.grad.numpy()) <= gbound + 1e-45).all()


def test_gelu_float32_close_to_pytorch_float32():
    # PyTorch's float32 GELU uses the same approximation: within a few float32 steps of
    # it (fused multiply-adds round differently), where the exact erf was up to 4e-7 off
    x = _x()
    got = tapegrad.nn.functional.gelu(tapegrad.tensor(x)).numpy()
    ref = torch.nn.functional.gelu(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_gelu_float64_and_half_keep_their_paths():
    x = _x(5000)
    for dt in (np.float64, np.float16):
        got = tapegrad.nn.functional.gelu(tapegrad.tensor(x.astype(dt))).numpy()
        ref = torch.nn.functional.gelu(torch.tensor(x.astype(dt))).numpy()
        assert got.dtype == dt
        tol = 1e-12 if dt == np.float64 else 2e-3
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
