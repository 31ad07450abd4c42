"""F.group_norm is one node, PyTorch's NativeGroupNormBackward0, with PyTorch's values and
gradients, second derivatives, vmap, the profiler's event name and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad

CASES = [((2, 4, 3, 3), 2), ((3, 6, 5), 3), ((2, 4), 4), ((2, 6, 2, 2, 2), 1), ((1, 8, 7), 8)]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,groups", CASES)
def test_group_norm_matches_pytorch(shape, groups, dtype, affine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    params = [rng.standard_normal(shape[1]).astype(dtype) for _ in range(2)] if affine else []
    gy = np.cos(np.arange(x.size)).reshape(shape).astype(dtype)
    outs = []
    for lib in (torch, tapegrad):
        ts = [lib.tensor(v, requires_grad=True) for v in [x, *params]]
        y = lib.nn.functional.group_norm(ts[0], groups, *ts[1:], eps=1e-5)
        y.backward(lib.tensor(gy))
        outs.append((y.grad_fn.name(), y.detach().numpy(), *(t.grad.numpy() for t in ts)))
    assert outs[1][0] == outs[0][0] == "NativeGroupNormBackward0"
    tol = 1e-4 if dtype == np.float32 else 1e-9
    for want, got in zip(outs[0][1:], outs[1][1:]):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_second_derivatives_by_finite_differences(affine):
    rng = np.random.default_rng(1)
    x = tapegrad.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    args = [x]
    if affine:
        args += [tapegrad.tensor(rng.standard_normal(4), requires_grad=True) for _ in range(2)]

    def f(x, *wb):
        return tapegrad.nn.functional.group_norm(x, 2, *wb).sin()

    assert tapegrad.autograd.gradcheck(f, tuple(args))
    assert tapegrad.autograd.gradgradcheck(f, tuple(args))


def test_group_norm_under_vmap_matches_torch_func():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 2, 4, 3)).astype(np.float32)
    w, b = (rng.standard_normal(4).astype(np.float32) for _ in range(2))
    outs = []
    for lib in (torch, tapegrad):
        W, B = lib.tensor(w), lib.tensor(b)

        def f(xi, W=W, B=B, lib=lib):
            return lib.nn.functional.group_norm(xi, 2, W, B).square().sum()

        outs.append(lib.func.vmap(lib.func.grad(f))(lib.tensor(x)).numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-4, atol=1e-5)


def test_group_norm_profiler_event():
    x = tapegrad.randn(2, 4, 3)
    with tapegrad.profiler.profile() as p:
        tapegrad.nn.GroupNorm(2, 4)(x)
    assert "aten::group_norm" in {e.key for e in p.key_averages()}


def test_group_norm_errors_match_pytorch():
    for shape, groups, wshape in [((2, 4, 3), 3, 4), ((2, 4, 3), 2, 3), ((4,), 2, 4)]:
        types = []
        for lib in (torch, tapegrad):
            with pytest.raises(RuntimeError) as e:
                lib.nn.functional.group_norm(lib.zeros(shape), groups, lib.ones(wshape))
            types.append(type(e.value))
        assert types[0] is types[1]
