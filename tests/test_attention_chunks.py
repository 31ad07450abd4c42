"""Multi-head attention without gradients, chunk by chunk
(``tapegrad.nn._attention_chunks``), against the graph path it replaces (the same
numbers: the same BLAS calls per head, the same softmax and overflow fallback) and
against PyTorch in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
import tapegrad.nn.functional as F
from tapegrad.nn import _attention_chunks as AC

RNG = np.random.default_rng(13)


def _graph_path(monkeypatch, fn):
    """``fn()`` with the chunked path switched off (the graph path, under no_grad too)."""
    with monkeypatch.context() as mp:
        mp.setattr(F, "_chunkable", lambda *a: False)
        return fn()


def _same(a, b, dtype):
    """Equal up to a few units of rounding; NaN where the other has NaN."""
    if a is None or b is None:
        assert a is None and b is None
        return
    a, b = a.numpy(), b.numpy()
    assert a.shape == b.shape and a.dtype == b.dtype
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _module(e, h, dtype, batch_first, **kw):
    tapegrad.manual_seed(0)
    m = tapegrad.nn.MultiheadAttention(e, h, batch_first=batch_first, **kw).eval()
    return m.to(tapegrad.float64) if dtype == np.float64 else m


CASES = [
    # name, masks(n, l, s) -> kwargs of the call
    ("none", lambda n, l, s: {}),
    ("bool causal", lambda n, l, s: {"attn_mask": np.triu(np.ones((l, s), bool), 1)}),
    ("float 3d", lambda n, l, s: {"attn_mask": RNG.standard_normal((n * 4, l, s))}),
    ("padding", lambda n, l, s: {"key_padding_mask": RNG.random((n, s)) < 0.3}),
    (
        "both, rows fully masked",
        lambda n, l, s: {
            "attn_mask": np.triu(np.ones((l, s), bool), 1),
            "key_padding_mask": np.eye(n, s, dtype=bool) | (np.arange(s) == 0),
        },
    ),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("chunk_bytes", [AC._CHUNK_BYTES, 3 * 4 * 24 * 24 * 8])
def test_chunked_equals_graph_path(
    monkeypatch, dtype, batch_first, case, need_weights, average, chunk_bytes
):
    monkeypatch.setattr(AC, "_CHUNK_BYTES", chunk_bytes)  # small: uneven chunks
    n, length, e, h = 10, 24, 32, 4
    m = _module(e, h, dtype, batch_first)
    shape = (n, length, e) if batch_first else (length, n, e)
    x = tapegrad.from_numpy(RNG.standard_normal(shape).astype(dtype))
    kw = {}
    for key, val in case[1](n, length, length).items():
        t = tapegrad.from_numpy(val if val.dtype == bool else val.astype(dtype))
        kw[key] = t
    kw.update(need_weights=need_weights, average_attn_weights=average)
    with tapegrad.no_grad():
        got = m(x, x, x, **kw)
        want = _graph_path(monkeypatch, lambda: m(x, x, x, **kw))
    for a, b in zip(got, want):
        _same(a, b, dtype)
    if case[0] == "both, rows fully masked":
        assert np.isnan(got[0].numpy()).any()  # as PyTorch's MHA: NaN rows


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_scores_fall_back_per_row(monkeypatch, dtype):
    """Scores that overflow exp (and rows far below zero) take the per-row shift."""
    m = _module(32, 4, dtype, False)
    x = RNG.standard_normal((24, 10, 32)).astype(dtype)
    x[3, 2] *= 300  # this batch element's rows overflow
    x[5, 7] *= 60
    x = tapegrad.from_numpy(x)
    with tapegrad.no_grad():
        got = m(x, x, x)
        want = _graph_path(monkeypatch, lambda: m(x, x, x))
    assert np.isfinite(got[0].numpy()).all() and np.isfinite(got[1].numpy()).all()
    for a, b in zip(got, want):
        _same(a, b, dtype)


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_threads_same_numbers(monkeypatch, threads):
    monkeypatch.setattr(AC, "_CHUNK_BYTES", 4 * 24 * 24 * 8)
    before = tapegrad.get_num_threads()
    try:
        m = _module(32, 4, np.float32, True)
        x = tapegrad.from_numpy(RNG.standard_normal((16, 24, 32)).astype(np.float32))
        mask = tapegrad.from_numpy(RNG.random((16, 24)) < 0.2)
        tapegrad.set_num_threads(1)
        with tapegrad.no_grad():
            want = _graph_path(monkeypatch, lambda: m(x, x, x, key_padding_mask=mask))
            tapegrad.set_num_threads(threads)
            got = m(x, x, x, key_padding_mask=mask)
    finally:
        tapegrad.set_num_threads(before)
    for a, b in zip(got, want):
        _same(a, b, np.float32)


@pytest.mark.parametrize("batch_first", [False, True])
def test_against_torch_float64(batch_first):
    """Chunked in float64 against PyTorch's MHA (eval, no_grad), masks and padding."""
    n, length, e, h = 6, 40, 32, 4
    rng = np.random.default_rng(5)
    shape = (n, length, e) if batch_first else (length, n, e)
    x = rng.standard_normal(shape)
    attn = np.triu(np.ones((length, length), bool), 1)
    pad = rng.random((n, length)) < 0.25
    pad[:, 0] = False
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(e, h, batch_first=batch_first).double().eval()
    m = tapegrad.nn.MultiheadAttention(e, h, batch_first=batch_first).double().eval()
    with tapegrad.no_grad():  # the same parameters
        for p, q in zip(m.parameters(), ref.parameters()):
            p.copy_(tapegrad.from_numpy(q.detach().numpy().copy()))
    outs = []
    for lib, mod in ((torch, ref), (tapegrad, m)):
        t = lib.from_numpy
        with lib.no_grad():
            o, w = mod(t(x), t(x), t(x), attn_mask=t(attn), key_padding_mask=t(pad))
        outs.append((o.numpy(), w.numpy()))
    for a, b in zip(*outs):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_gradient_keeps_graph_path():
    """With a gradient wanted the graph path runs (the chunked one keeps no graph)."""
    m = _module(32, 4, np.float32, False)
    x = tapegrad.from_numpy(RNG.standard_normal((24, 10, 32)).astype(np.float32))
    o, w = m(x, x, x)
    assert o.grad_fn is not None and w.grad_fn is not None
    o.sum().backward()
    assert m.in_proj_weight.grad is not None
    x.requires_grad_(True)
    with tapegrad.no_grad():
        o, _ = m(x, x, x)
    assert o.grad_fn is None


def test_training_dropout_keeps_graph_path(monkeypatch):
    """Dropout in training is never chunked: the chunked kernel is not called."""
    calls = []
    monkeypatch.setattr(F, "attention_chunked", lambda *a: calls.append(1))
    tapegrad.manual_seed(0)
    m = tapegrad.nn.MultiheadAttention(32, 4, dropout=0.5)
    x = tapegrad.from_numpy(RNG.standard_normal((24, 10, 32)).astype(np.float32))
    with tapegrad.no_grad():
        m(x, x, x)
    assert not calls


@pytest.mark.parametrize(
    "kw", [{}, {"add_bias_kv": True}, {"add_zero_attn": True}, {"kdim": 24, "vdim": 20}]
)
def test_chunked_runs_and_equals_graph_path_other_layouts(monkeypatch, kw):
    """Unbatched input, appended key/value steps, separate projections: the chunked
    kernel runs (spied) and gives the graph path's numbers."""
    calls = []
    real = F.attention_chunked

    def spy(*a):
        calls.append(1)
        return real(*a)

    monkeypatch.setattr(F, "attention_chunked", spy)
    tapegrad.manual_seed(0)
    m = tapegrad.nn.MultiheadAttention(32, 4, **kw).eval()
    kd, vd = kw.get("kdim", 32), kw.get("vdim", 32)
    for batch in ((12,), ()):
        q = tapegrad.from_numpy(RNG.standard_normal((48, *batch, 32)).astype(np.float32))
        k = tapegrad.from_numpy(RNG.standard_normal((40, *batch, kd)).astype(np.float32))
        v = tapegrad.from_numpy(RNG.standard_normal((40, *batch, vd)).astype(np.float32))
        if not batch:  # unbatched: one head group of 48 x 40 scores is below the
            q = tapegrad.cat([q] * 4)  # fast-path size: longer sequences
            k, v = tapegrad.cat([k] * 4), tapegrad.cat([v] * 4)
        calls.clear()
        with tapegrad.no_grad():
            got = m(q, k, v)
            want = _graph_path(monkeypatch, lambda q=q, k=k, v=v: m(q, k, v))
        assert calls
        for a, b in zip(got, want):
            _same(a, b, np.float32)


def test_batch_first_projected_in_its_own_order_gradients():
    """batch_first self-attention is projected on the (N, L, E) array itself (no copy to
    (L, N, E) rows): first and second order gradients by finite differences."""
    from tapegrad.autograd import gradcheck, gradgradcheck

    tapegrad.manual_seed(0)
    small = tapegrad.nn.MultiheadAttention(4, 2, batch_first=True).double()
    q = tapegrad.tensor(RNG.standard_normal((3, 5, 4)), requires_grad=True)
    assert gradcheck(lambda t: small(t, t, t)[0], (q,))
    assert gradcheck(lambda t: small(t, t, t)[1], (q,))
    assert gradgradcheck(lambda t: small(t, t, t)[0], (q,))


@pytest.mark.parametrize("grad", [False, True])
def test_batch_first_against_torch_self_and_cross(grad):
    """batch_first, self-attention (x, x, x) and encoder-decoder (x, mem, mem) with the
    same tensor passed twice, values and input gradients against PyTorch in float64."""
    rng = np.random.default_rng(9)
    x, mem = rng.standard_normal((5, 30, 16)), rng.standard_normal((5, 26, 16))
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(16, 4, batch_first=True).double().eval()
    m = tapegrad.nn.MultiheadAttention(16, 4, batch_first=True).double().eval()
    with tapegrad.no_grad():
        for p, q in zip(m.parameters(), ref.parameters()):
            p.copy_(tapegrad.from_numpy(q.detach().numpy().copy()))
    for lib_args in (lambda t, u: (t, t, t), lambda t, u: (t, u, u)):
        res = []
        for lib, mod in ((torch, ref), (tapegrad, m)):
            t = lib.tensor(x, requires_grad=grad)
            u = lib.tensor(mem, requires_grad=grad)
            o, w = mod(*lib_args(t, u))
            got = [o.detach().numpy(), w.detach().numpy()]
            if grad:
                (o.sum() + (w * w).sum()).backward()
                got += [t.grad.numpy()] + ([u.grad.numpy()] if u.grad is not None else [])
            res.append(got)
        for a, b in zip(*res):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


SDPA_MASKS = {
    "none": lambda b, h, l, s: {},
    "causal": lambda b, h, l, s: {"is_causal": True},
    "bool 2d, dead rows": lambda b, h, l, s: {"attn_mask": np.arange(s) < np.arange(l)[:, None]},
    "bool full": lambda b, h, l, s: {"attn_mask": RNG.random((b, h, l, s)) < 0.7},
    "float per batch": lambda b, h, l, s: {"attn_mask": RNG.standard_normal((b, 1, l, s))},
    "float broadcast": lambda b, h, l, s: {"attn_mask": RNG.standard_normal((1, 1, l, s))},
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask", list(SDPA_MASKS), ids=list(SDPA_MASKS))
@pytest.mark.parametrize("large", [False, True])
def test_sdpa_chunked_equals_graph_path(monkeypatch, dtype, mask, large):
    """F.scaled_dot_product_attention under no_grad, chunked: the graph path's values
    (the queries scaled before the product: a rounding apart), zeros for fully masked
    rows, the per-row fallback for scores that overflow."""
    monkeypatch.setattr(AC, "_CHUNK_BYTES", 3 * 32 * 24 * 8)  # uneven chunks
    b, h, length, s, e = 8, 4, 32, 24, 16
    q, k, v = (RNG.standard_normal((b, h, n, e)).astype(dtype) for n in (length, s, s))
    if large:
        q[1, 2] *= 100
    kw = {
        key: tapegrad.from_numpy(val if val.dtype == bool else val.astype(dtype))
        if isinstance(val, np.ndarray)
        else val
        for key, val in SDPA_MASKS[mask](b, h, length, s).items()
    }
    args = [tapegrad.from_numpy(t) for t in (q, k, v)]
    sdpa = tapegrad.nn.functional.scaled_dot_product_attention
    calls = []
    real = F.attention_chunked
    monkeypatch.setattr(F, "attention_chunked", lambda *a, **k: calls.append(1) or real(*a, **k))
    with tapegrad.no_grad():
        got = sdpa(*args, **kw)
        # a mask broadcast over some batch dims only stays on the graph path
        assert bool(calls) == (mask != "float per batch")
        want = _graph_path(monkeypatch, lambda: sdpa(*args, **kw))
    if mask == "bool 2d, dead rows":
        assert (got.numpy()[:, :, 0] == 0).all()
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=tol, atol=tol)
    # 3-d inputs (one batch dim) take the same path
    with tapegrad.no_grad():
        three = sdpa(*(t.reshape(b * h, *t.shape[2:]) for t in args))
        ref = sdpa(*args)
    np.testing.assert_allclose(three.numpy().reshape(ref.shape), ref.numpy(), rtol=0, atol=0)


def test_sdpa_mask_gradient_keeps_graph_path():
    """A float mask that requires grad (grad enabled) keeps the graph: its gradient."""
    q, k, v = (tapegrad.randn(4, 2, 24, 8) for _ in range(3))
    mask = tapegrad.randn(24, 24, requires_grad=True)
    out = tapegrad.nn.functional.scaled_dot_product_attention(q, k, v, mask)
    assert out.grad_fn is not None
    out.sum().backward()
    assert mask.grad is not None
