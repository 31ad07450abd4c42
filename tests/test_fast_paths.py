"""Fast paths against their reference paths.

Covered: binary-op promotion, the batch-norm backward and AccumulateGrad's
copy-free .grad. Each fast path must give the same values, dtypes and
aliasing as the general code it short-cuts.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.ops import elementwise as E
from tapegrad.ops import nn_ops as N


def _slow_binary(fn_cls, a, b):
    dt = E._promote(a, b)
    return fn_cls.apply(E._operand(a, dt), E._operand(b, dt))


@pytest.mark.parametrize("dtype", [tapegrad.float32, tapegrad.float64, tapegrad.float16])
@pytest.mark.parametrize("other", [2, 0.5, -3, 1e30, True, "tensor", "int_tensor"])
@pytest.mark.parametrize("fn_cls", [E.Add, E.Mul, E.Sub, E.Div])
def test_binary_fast_path_matches_promotion(dtype, other, fn_cls):
    a = tapegrad.tensor([1.5, -2.0, 3.0], dtype=dtype)
    if other == "tensor":
        other = tapegrad.tensor([0.5, 2.0, -1.0], dtype=dtype)
    elif other == "int_tensor":
        other = tapegrad.tensor([1, 2, 3])
    fast = E._binary(fn_cls, a, other)
    slow = _slow_binary(fn_cls, a, other)
    assert fast.dtype is slow.dtype
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())


def _generic_normalize_grads(g, xhat, rstd, w, axes):
    # The general formula, used by layer/group norm, as the reference.
    gxhat = g * w if w is not None else g
    m1 = gxhat.mean(axis=axes, keepdims=True)
    m2 = (gxhat * xhat).mean(axis=axes, keepdims=True)
    return (gxhat - m1 - xhat * m2) * rstd


@pytest.mark.parametrize("shape", [(8, 4, 5, 5), (6, 3), (4, 3, 7)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_backward_fast_path_matches_general_formula(shape, affine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    nd = len(shape)
    axes = (0,) + tuple(range(2, nd))
    cshape = (1, shape[1]) + (1,) * (nd - 2)
    w = rng.standard_normal(cshape) if affine else None
    b = rng.standard_normal(cshape) if affine else None
    tx = tapegrad.tensor(x, requires_grad=True)
    tw = None if w is None else tapegrad.tensor(w, requires_grad=True)
    tb = None if b is None else tapegrad.tensor(b, requires_grad=True)
    y, _, _ = N.Normalize.apply(tx, tw, tb, axes=axes, eps=1e-5)
    y.backward(tapegrad.tensor(g))
    mean = x.mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    xhat = (x - mean) * rstd
    np.testing.assert_allclose(
        tx.grad.numpy(), _generic_normalize_grads(g, xhat, rstd, w, axes), rtol=1e-10, atol=1e-12
    )
    if affine:
        np.testing.assert_allclose(
            tw.grad.numpy(), (g * xhat).sum(axis=axes, keepdims=True), rtol=1e-10
        )
        np.testing.assert_allclose(tb.grad.numpy(), g.sum(axis=axes, keepdims=True), rtol=1e-10)


def test_batch_norm2d_grads_match_pytorch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 4, 6, 6)).astype(np.float32)
    g = rng.standard_normal((16, 4, 6, 6)).astype(np.float32)
    grads = []
    for lib in (torch, tapegrad):
        bn = lib.nn.BatchNorm2d(4)
        with lib.no_grad():
            bn.weight.copy_(lib.linspace(0.5, 2.0, 4))
            bn.bias.copy_(lib.linspace(-1.0, 1.0, 4))
        tx = lib.tensor(x, requires_grad=True)
        bn(tx).backward(lib.tensor(g))
        grads.append([t.grad.numpy() for t in (tx, bn.weight, bn.bias)])
    for ref, got in zip(*grads):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_accumulate_takes_unshared_gradient_without_aliasing():
    # Add hands the same array to both leaves: their .grad must not share memory.
    a = tapegrad.ones(3, requires_grad=True)
    b = tapegrad.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad += 5
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    # a gradient a hook kept stays as the hook saw it
    kept = []
    c = tapegrad.ones(3, requires_grad=True)
    c.register_hook(lambda g: kept.append(g))
    (c * 2).sum().backward()
    c.grad += 1
    assert kept[0].tolist() == [2.0, 2.0, 2.0]
    # a user's gradient for a leaf root is copied, not adopted
    d = tapegrad.ones(3, requires_grad=True)
    seed = tapegrad.full((3,), 3.0)
    d.backward(seed)
    d.grad += 1
    assert seed.tolist() == [3.0, 3.0, 3.0]
    # a retained non-leaf grad and the leaf's grad are separate
    f = tapegrad.ones(3, requires_grad=True)
    h = f * 1.0
    h.retain_grad()
    h.sum().backward()
    f.grad += 1
    assert h.grad.tolist() == [1.0, 1.0, 1.0]


def test_accumulate_repeated_backward_adds():
    lin = tapegrad.nn.Linear(3, 2)
    x = tapegrad.randn(4, 3)
    lin(x).sum().backward()
    first = lin.weight.grad.clone()
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), 2 * first.numpy(), rtol=1e-6)
