"""Double (and triple) backward through in-place ops on views and index kernels, vs PyTorch.

An in-place op on a view rewrites its base's history (``CopySlices``) and the view's
(``ViewOfBase``); under ``create_graph`` both backwards are recorded, so gradients of
gradients flow through them as in PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_ops import Op, _check_double_backward

import tapegrad


def _setitem_row(L, x, y):
    b = x.sin()
    b[0] = y[0] * 2  # x[0] = y * 2 on a non-view: the overwritten row gets no gradient
    return b * b * b


def _mul_on_view(L, x, y):
    b = x * 1
    v = b[1]
    v.mul_(y[1])  # CopySlices on b, ViewOfBase on v
    return [b.exp(), v.sin()]


def _column_of_transpose(L, x, y):
    b = x.clone()
    b.t()[0].mul_(y[:, 0].tanh())
    return b**2


def _diagonal_view(L, x, y):
    b = x * 1
    b.diagonal().mul_(y.diagonal())
    return b @ b


def _view_chain(L, x, y):
    b = x * 1
    v = b.view(2, 6)[:, 1:4]
    v.add_(y.view(2, 6)[:, :3] ** 2)
    return [b.tanh(), v * v]


def _narrow_copy(L, x, y):
    b = x * 1
    b.narrow(1, 1, 2).copy_(y[:, :2].sin())
    return b * b


def _twice_on_views(L, x, y):
    b = x.sin()
    b[:, 0].mul_(y[:, 1])
    b[1:].add_(b[:2].sum(0) * y[1:])
    return b.cos()


CASES = [
    Op("setitem_row", _setitem_row, [((3, 4), (3, 4))]),
    Op("mul_on_view", _mul_on_view, [((3, 4), (3, 4))]),
    Op("column_of_transpose", _column_of_transpose, [((3, 4), (3, 4))]),
    Op("diagonal_view", _diagonal_view, [((3, 3), (3, 3))]),
    Op("view_chain", _view_chain, [((3, 4), (3, 4))]),
    Op("narrow_copy", _narrow_copy, [((3, 4), (3, 4))]),
    Op("twice_on_views", _twice_on_views, [((3, 4), (3, 4))]),
]


def _arrays(case, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in case.shapes[0]]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_double_backward_matches_torch(case):
    unsupported = _check_double_backward(case, _arrays(case), seed=0)
    assert not unsupported


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradgradcheck(case):
    xs = [tapegrad.tensor(a, requires_grad=True) for a in _arrays(case, 1)]

    def f(*inputs):
        out = case.fn(tapegrad, *inputs)
        return tuple(out) if isinstance(out, list) else out

    assert tapegrad.autograd.gradgradcheck(f, xs, eps=1e-6, atol=1e-5, rtol=1e-4)


def _third_order(L, case, arrays):
    xs = [L.tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(L, *xs)
    outs = list(out) if isinstance(out, list) else [out]
    rng = np.random.default_rng(5)
    grads = [L.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
    for _ in range(3):
        gs = L.autograd.grad(outs, xs, grads, create_graph=True)
        outs = [sum((g * L.tensor(rng.standard_normal(tuple(g.shape)))).sum() for g in gs)]
        grads = None
    return [g.detach().numpy() for g in gs]


@pytest.mark.parametrize("name", ["mul_on_view", "diagonal_view", "twice_on_views"])
def test_third_order(name):
    case = next(c for c in CASES if c.name == name)
    arrays = _arrays(case, 2)
    for t, g in zip(_third_order(torch, case, arrays), _third_order(tapegrad, case, arrays)):
        np.testing.assert_allclose(g, t, rtol=1e-6, atol=1e-8)


def _hessian(L, f, y):
    """The Hessian of ``f`` at ``y``, row by row from a gradient taken with create_graph."""
    y = L.tensor(y, requires_grad=True)
    (g,) = L.autograd.grad(f(y), y, create_graph=True)
    rows = [L.autograd.grad(g[i], y, retain_graph=True)[0] for i in range(g.shape[0])]
    return L.stack(rows).detach().numpy()


def test_hessian_through_setitem():
    """x[0] = y * 2 and an in-place op on a view of x: the Hessian of a loss in y."""

    def loss(L):
        def f(y):
            x = L.ones(3, 4, dtype=L.float64)
            x[0] = y * 2
            x[1:, 1:3].mul_(y[:2])
            return (x.sin() * x.sin()).sum()

        return f

    y = np.linspace(-1, 1, 4)
    t = torch.autograd.functional.hessian(loss(torch), torch.tensor(y)).numpy()
    np.testing.assert_allclose(_hessian(tapegrad, loss(tapegrad), y), t, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(_hessian(torch, loss(torch), y), t, rtol=1e-9, atol=1e-12)


def _index_kernels(L, x, y):
    # each backward here is a kernel Function whose own backward is the forward op
    # (SliceBackward, IndexBackward, UnfoldBackward, DiagonalBackward)
    idx = L.tensor([[0, 2, 1, 0], [1, 1, 0, 2], [2, 0, 0, 1]])
    a = x.sin().gather(0, idx) * y
    b = a.unfold(1, 2, 1).sin().sum(-1)
    c = L.index_select(b, 0, L.tensor([2, 0, 2])) * b[:, 1:2].cos()
    d = L.diagonal(c[:, :3].sin() * x[:, :3]).sum()
    return c.tanh() * d


def test_third_order_index_kernels():
    case = Op("index_kernels", _index_kernels, [((3, 4), (3, 4))])
    arrays = _arrays(case, 3)
    assert not _check_double_backward(case, arrays, seed=3)
    for t, g in zip(_third_order(torch, case, arrays), _third_order(tapegrad, case, arrays)):
        np.testing.assert_allclose(g, t, rtol=1e-6, atol=1e-8)
