"""Behaviours that once differed from PyTorch, against PyTorch: NaN in ``median`` and
``nanmedian``, ``nanmean(dtype=)``, ``diag_embed``'s ``dim1``/``dim2``,
``unique_consecutive(dim=)``, a factory's ``out=`` with a different ``dtype``, ``x[i]`` of
a vector as a 0-d view, and in-place ops through one view seen by the base's other views
(values and gradients)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_same_error

import tapegrad

NAN = float("nan")


def _same(fn):
    a, b = fn(torch), fn(tapegrad)
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert str(x.dtype) == str(y.dtype)
        np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())


@pytest.mark.parametrize(
    "data",
    [[1.0, NAN, 3, 2], [[1.0, NAN, 3], [2, 1, 0]], [[1.0, NAN, NAN, 3]], [[NAN, NAN], [1, 2]],
     [[4, 1, 3], [2, 1, 0]], [[5.0, 1, 3, 2], [2, 9, 0, 1]]],
)  # fmt: skip
@pytest.mark.parametrize("op", ["median", "nanmedian"])
def test_median_with_nan(op, data):
    _same(lambda L: getattr(L, op)(L.tensor(data)))
    _same(lambda L: getattr(L, op)(L.tensor(data), -1))
    _same(lambda L: getattr(L, op)(L.tensor(data), 0, keepdim=True))


def test_median_gradient_reaches_the_median_entry():
    def run(L):
        x = L.tensor([[1.0, 5, 3], [2, 1, 0]], requires_grad=True)
        L.median(x, 1).values.sum().backward()
        return x.grad

    _same(run)


def test_nanmean_dtype():
    _same(lambda L: L.nanmean(L.tensor([1.0, NAN, 3]), dtype=L.float64))


@pytest.mark.parametrize("args", [(0, -2, -1), (1, 0, 2), (-1, 0, 1), (0, 2, 0), (2, 1, 0)])
def test_diag_embed_dims(args):
    _same(lambda L: L.diag_embed(L.arange(6.0).reshape(2, 3), *args))
    assert_same_error(
        lambda L: L.diag_embed(L.ones(2), 0, 1, -1), match="diagonal dimensions cannot be identical"
    )


@pytest.mark.parametrize(
    "kw",
    [{"dim": 0}, {"dim": 1}, {"dim": 0, "return_inverse": True, "return_counts": True},
     {"dim": -1, "return_inverse": True, "return_counts": True},
     {"return_inverse": True, "return_counts": True}],
)  # fmt: skip
def test_unique_consecutive_dim(kw):
    x = [[1, 1], [1, 1], [2, 3], [1, 1]]
    _same(lambda L: L.unique_consecutive(L.tensor(x), **kw))


def test_factory_out_dtype_mismatch():
    for make in (
        lambda L: L.zeros(2, dtype=L.float64, out=L.empty(2)),
        lambda L: L.eye(2, dtype=L.float64, out=L.empty(2)),
        lambda L: L.full((2,), 1.0, dtype=L.int64, out=L.empty(2)),
    ):
        assert_same_error(make, match="does not match dtype of out parameter")
    _same(lambda L: L.full((2,), 1.5, out=L.empty(2, dtype=L.int64)))
    _same(lambda L: L.linspace(0, 1, 3, out=L.empty(3, dtype=L.int64)))


def test_integer_index_of_a_vector_is_a_view():
    def run(L):
        x = L.zeros(3)
        x[1].fill_(5)
        x[2].add_(1)
        return x

    _same(run)


def test_in_place_through_one_view_reaches_the_other_views():
    def one(L):
        z = L.tensor([1.0, 2, 3], requires_grad=True)
        r = (z * 2)[:]
        r[:2].mul_(3)
        (r * r).sum().backward()
        return z.grad

    def two(L):
        z = L.tensor([1.0, 2, 3, 4], requires_grad=True)
        b = z * 1
        v1, v2 = b[1:], b.view(2, 2)
        v1[0].add_(10)
        ((v2 * v2).sum() + (v1 * 3).sum()).backward()
        return z.grad, v2.detach()

    _same(one)
    _same(two)


def test_isreal_of_complex_and_randint_like_requires_grad():
    _same(lambda L: L.isreal(L.tensor([1 + 0j, 1 + 1j, 2.5 + 0j])))
    assert tapegrad.randint_like(tapegrad.zeros(2), 5, requires_grad=True).requires_grad
