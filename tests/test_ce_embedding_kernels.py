"""The fast kernels of cross-entropy (unshifted exp over large 2-d inputs, with an exact
shifted fallback per row) and of the embedding backward (sorted passes instead of
``np.add.at``), each against the general path it replaces, and against PyTorch:
values and gradients, first and second order, rows that take the fallback."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import compare

import tapegrad
import tapegrad.ops.nn_ops as N

R = np.random.default_rng(13)
REDUCTIONS = ("none", "mean", "sum")


def _logits(n, c, dtype):
    x = (R.standard_normal((n, c)) * 3).astype(dtype)
    # rows that the unshifted exp cannot take: they must use the exact fallback
    x[1] += 1e4  # overflow
    x[2] -= 1e3  # every exp underflows
    x[3, ::2] = -np.inf  # masked classes (the row stays finite)
    x[4, 7] = 500.0  # one huge logit
    x[6] = -np.inf  # a fully masked row: NaN, as PyTorch
    x[7, 3] = np.nan
    x[8, 5] = np.inf
    return x


def _ce(x, t, w, reduction, ignore_index, *, general):
    """Loss and input gradient of tapegrad's cross_entropy on (N, C); ``general`` runs
    it as (N, C, 1), which takes the general (shifted log_softmax) path."""
    xt = tapegrad.tensor(x, requires_grad=True)
    wt = None if w is None else tapegrad.tensor(w)
    tt = tapegrad.tensor(t)
    if general:
        loss = tapegrad.nn.functional.cross_entropy(
            xt[:, :, None], tt[:, None], weight=wt, reduction=reduction, ignore_index=ignore_index
        )
        loss = loss[:, 0] if reduction == "none" else loss
    else:
        loss = tapegrad.nn.functional.cross_entropy(
            xt, tt, weight=wt, reduction=reduction, ignore_index=ignore_index
        )
    g = np.linspace(0.5, 1.5, loss.numel()).reshape(loss.shape).astype(x.dtype)
    loss.backward(tapegrad.tensor(g))
    return loss.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_fast_path_matches_general_path(dtype, reduction, weighted, ignore):
    n, c = 64, 100
    x = _logits(n, c, dtype)
    t = R.integers(0, c, n)
    t[3] = 1  # a finite logit of the row with -inf at the even classes
    if ignore:
        t[[0, 6, 7, 20]] = -100
    w = R.uniform(0.5, 2.0, c).astype(dtype) if weighted else None
    fast = _ce(x, t, w, reduction, -100, general=False)
    slow = _ce(x, t, w, reduction, -100, general=True)
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, equal_nan=True, **tol)


def test_cross_entropy_every_target_ignored_is_exact_zero_gradient():
    x = R.standard_normal((64, 100)).astype(np.float32)
    t = np.full(64, -100)
    for general in (False, True):
        loss, gx = _ce(x, t, None, "mean", -100, general=general)
        assert np.isnan(loss)
        assert not gx.any()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_large_matches_torch(reduction):
    # the LSTM language model's shape in float32; weights and an ignored index
    x = R.standard_normal((1120, 1000)).astype(np.float32)
    t = R.integers(0, 1000, 1120)
    t[::17] = 5
    w = R.uniform(0.5, 2.0, 1000).astype(np.float32)
    compare(
        lambda lib, x: lib.nn.functional.cross_entropy(
            x, lib.tensor(t), weight=lib.tensor(w), ignore_index=5, reduction=reduction
        ),
        [x],
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("shape", [(2048, 10), (100, 10), (300, 64)])
def test_cross_entropy_float64_matches_torch_with_fallback_rows(shape):
    n, c = shape
    x = R.standard_normal(shape) * 4
    x[0] += 800.0
    x[1] -= 800.0
    x[2, :3] = -np.inf
    t = R.integers(3, c, n)
    compare(
        lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor(t)),
        [x],
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cross_entropy_low_precision_fast_path(dtype):
    x = R.standard_normal((256, 64)).astype(np.float32)
    t = R.integers(0, 64, 256)
    compare(
        lambda lib, x: lib.nn.functional.cross_entropy(
            x.to(getattr(lib, dtype)), lib.tensor(t), reduction="none"
        ).float(),
        [x],
        rtol=1e-2,
        atol=1e-3,
        # one rounding of a float16/bfloat16 gradient (PyTorch rounds the same float32
        # values in a different order): up to an ulp of the largest entries
        grad_rtol=1e-2,
        grad_atol=2e-3,
    )


def test_cross_entropy_fast_path_second_order_matches_general_and_gradgradcheck():
    n, c = 40, 120
    x = R.standard_normal((n, c))
    t = R.integers(0, c, n)
    t[3] = -100
    w = R.uniform(0.5, 2.0, c)

    def f(lib, x):
        return lib.nn.functional.cross_entropy(
            x, lib.tensor(t), weight=lib.tensor(w), reduction="sum"
        )

    results = []
    for lib in (torch, tapegrad):
        xt = lib.tensor(x, requires_grad=True)
        (gx,) = lib.autograd.grad(f(lib, xt), xt, create_graph=True)
        v = lib.tensor(np.cos(np.arange(n * c)).reshape(n, c))
        (ggx,) = lib.autograd.grad((gx * v).sum(), xt)
        results.append((gx.detach().numpy(), ggx.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    xt = tapegrad.tensor(x[:, :], requires_grad=True)
    assert tapegrad.autograd.gradgradcheck(lambda x: f(tapegrad, x), (xt,))


def _add_at(out_shape, flat, rows):
    out = np.zeros(out_shape, rows.dtype)
    np.add.at(out, flat, rows)
    return out


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(
    "n, vocab, dim, zipf",
    [(1120, 1000, 64, False), (1120, 1000, 64, True), (5000, 30, 8, False), (63, 10, 3, False)],
)
def test_add_rows_at_has_the_bits_of_add_at(dtype, n, vocab, dim, zipf):
    flat = np.minimum(R.zipf(1.3, n) - 1, vocab - 1) if zipf else R.integers(0, vocab, n)
    rows = (R.standard_normal((n, dim)) * 100).astype(dtype)
    rows[::7] = -0.0
    out = np.zeros((vocab, dim), dtype)
    N._add_rows_at(out, flat, rows)
    ref = _add_at((vocab, dim), flat, rows)
    assert np.array_equal(out.view(np.uint8), ref.view(np.uint8))


def test_add_rows_at_empty():
    out = np.zeros((4, 3), np.float32)
    N._add_rows_at(out, np.zeros(0, np.int64), np.zeros((0, 3), np.float32))
    assert not out.any()


@pytest.mark.parametrize("padding_idx", [None, 0, 7])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_embedding_backward_matches_torch(padding_idx, scale_grad_by_freq):
    idx = R.integers(0, 100, (35, 32))
    idx[0, :5] = 7
    w = R.standard_normal((100, 16)).astype(np.float32)
    compare(
        lambda lib, w: lib.nn.functional.embedding(
            lib.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq
        ),
        [w],
        rtol=1e-6,
        atol=1e-6,
    )


def test_embedding_backward_second_order_matches_torch():
    idx = R.integers(0, 50, (20, 10))
    w0 = R.standard_normal((50, 4))
    results = []
    for lib in (torch, tapegrad):
        w = lib.tensor(w0, requires_grad=True)
        out = lib.nn.functional.embedding(lib.tensor(idx), w, padding_idx=3)
        g = lib.tensor(np.sin(np.arange(out.numel())).reshape(out.shape), requires_grad=True)
        (gw,) = lib.autograd.grad(out, w, g, create_graph=True)
        (gg,) = lib.autograd.grad((gw * lib.tensor(np.cos(w0))).sum(), g)
        results.append((gw.detach().numpy(), gg.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
