"""The fast paths of attention: softmax without the per-row shift, with BLAS row sums
(``tapegrad.ops.reduce._softmax_last``), and multi-head attention on strided head views
(also split over threads), against PyTorch in float64 and against the reference (per-row
shifted) softmax."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_same_error, compare, to_numpy

import tapegrad
from tapegrad.autograd import gradcheck, gradgradcheck
from tapegrad.ops import reduce as R

RNG = np.random.default_rng(77)


def _reference_softmax(x: np.ndarray) -> np.ndarray:
    """PyTorch's softmax in float64 (its rounding does not depend on the CPU path)."""
    return torch.softmax(torch.from_numpy(x.astype(np.float64)), -1).numpy()


def _hard_scores(dtype) -> np.ndarray:
    """Scores large enough for the fast path, with rows the shared shift cannot serve:
    a wide range, rows far below the array's max, -inf (some and all of a row), NaN, inf."""
    x = (RNG.standard_normal((40, 24, 32)) * 3).astype(dtype)
    x[1] *= 40  # rows spanning hundreds
    x[2, :5] -= 200  # whole rows far below the max
    x[3, 0] += 300  # one row far above everything else
    x[4, 1, 5:] = -np.inf
    x[4, 2] = -np.inf  # fully masked: NaN, as PyTorch
    x[5, 3, 7] = np.nan
    x[6, 4, 1] = np.inf
    x[7, 5] = np.linspace(-80, 0, 32)  # probabilities down to e**-80 keep their digits
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_fast_path_values(dtype):
    x = _hard_scores(dtype)
    assert x.size >= R._SOFTMAX_FAST_MIN
    got = to_numpy(tapegrad.softmax(tapegrad.tensor(x), -1))
    assert got.dtype == dtype
    want = _reference_softmax(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, want, rtol=tol * 4, atol=1e-35, equal_nan=True)


def test_softmax_fast_path_matches_reference_path(monkeypatch):
    """The fast path and the per-row path give the same numbers (up to rounding), also on
    non-contiguous inputs and on a dim other than the last (which takes the per-row path)."""
    x = _hard_scores(np.float32)
    views = [x, x[:, ::2], x.transpose(1, 0, 2), np.asfortranarray(x)]
    fast = [to_numpy(tapegrad.softmax(tapegrad.tensor(v), -1)) for v in views]
    monkeypatch.setattr(R, "_SOFTMAX_FAST_MIN", 1 << 62)
    slow = [to_numpy(tapegrad.softmax(tapegrad.tensor(v), -1)) for v in views]
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=4e-6, atol=1e-35, equal_nan=True)
    np.testing.assert_allclose(
        to_numpy(tapegrad.softmax(tapegrad.tensor(x), 1)),
        _reference_softmax(x.transpose(0, 2, 1)).transpose(0, 2, 1),
        rtol=4e-6,
        atol=1e-35,
        equal_nan=True,
    )


def test_softmax_fast_path_parity_and_gradient():
    x = (RNG.standard_normal((8, 4, 32, 32)) * 2).astype(np.float32)
    tol = dict(rtol=1e-5, atol=1e-7, grad_rtol=1e-4, grad_atol=1e-6)
    compare(lambda L, a: L.softmax(a, -1), [x], **tol)
    compare(lambda L, a: L.softmax(a.double(), -1), [x], rtol=1e-12, atol=1e-15)


def test_softmax_fast_path_first_and_second_order(monkeypatch):
    """gradcheck and gradgradcheck in float64, with the fast path forced on small inputs."""
    monkeypatch.setattr(R, "_SOFTMAX_FAST_MIN", 1)
    x = tapegrad.tensor(RNG.standard_normal((3, 4, 5)), requires_grad=True)
    assert gradcheck(lambda a: tapegrad.softmax(a, -1), (x,))
    assert gradgradcheck(lambda a: tapegrad.softmax(a, -1), (x,))
    # a row far below the rest goes through the per-row recomputation
    y = x.detach().clone()
    y[0, 1] -= 500
    y.requires_grad_(True)
    assert gradcheck(lambda a: tapegrad.softmax(a, -1), (y,))
    assert gradgradcheck(lambda a: tapegrad.softmax(a, -1), (y,))


def _mha_pair(**kw):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(**kw).double()
    tapegrad.manual_seed(0)
    gm = tapegrad.nn.MultiheadAttention(**kw).double()
    gm.load_state_dict({k: tapegrad.tensor(to_numpy(v)) for k, v in tm.state_dict().items()})
    return tm, gm


MASKS = {
    "none": {},
    "causal_kpm": {"attn_mask": "causal", "key_padding_mask": "kpm"},
    "float3d": {"attn_mask": "float3d"},
    "no_average": {"average_attn_weights": False},
}


@pytest.mark.parametrize("masks", list(MASKS))
def test_multihead_attention_large_parity(masks):
    """Large enough that the attention scores take the fast softmax; float64 on both sides."""
    e, h, n, length = 16, 4, 6, 30
    tm, gm = _mha_pair(embed_dim=e, num_heads=h)
    assert n * h * length * length >= R._SOFTMAX_FAST_MIN
    x = RNG.standard_normal((length, n, e))
    kpm = np.zeros((n, length), bool)
    kpm[0, -7:] = True
    arrays = {
        "causal": np.triu(np.ones((length, length), bool), 1),
        "kpm": kpm,
        "float3d": RNG.standard_normal((n * h, length, length)),
    }

    def fn(lib, q):
        extra = {k: lib.tensor(arrays[v]) if isinstance(v, str) else v
                 for k, v in MASKS[masks].items()}  # fmt: skip
        return (tm if lib is torch else gm)(q, q, q, **extra)

    compare(fn, [x], rtol=1e-10, atol=1e-12, grad_rtol=1e-9, grad_atol=1e-11)
    for lib in (torch, tapegrad):
        out, w = fn(lib, lib.tensor(x))
        (out.sum() + w.square().sum()).backward()
    for (name, p), q in zip(tm.named_parameters(), gm.parameters()):
        np.testing.assert_allclose(to_numpy(q.grad), p.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)  # fmt: skip


def test_multihead_attention_cross_and_static_kv():
    """Encoder-decoder attention (packed key/value projection) and static keys/values."""
    e, h, n = 8, 2, 3
    tm, gm = _mha_pair(embed_dim=e, num_heads=h)
    q, kv = RNG.standard_normal((5, n, e)), RNG.standard_normal((7, n, e))
    compare(lambda lib, a, b: (tm if lib is torch else gm)(a, b, b), [q, kv], rtol=1e-10,
            atol=1e-12, grad_rtol=1e-9, grad_atol=1e-11)  # fmt: skip
    sk, sv = RNG.standard_normal((n * h, 7, e // h)), RNG.standard_normal((n * h, 7, e // h))

    def static(lib, a, b, c, d):
        f = lib.nn.functional.multi_head_attention_forward
        m = tm if lib is torch else gm
        return f(a, b, b, e, h, m.in_proj_weight, m.in_proj_bias, None, None, False, 0.0,
                 m.out_proj.weight, m.out_proj.bias, static_k=c, static_v=d)  # fmt: skip

    compare(static, [q, kv, sk, sv], rtol=1e-10, atol=1e-12, grad_rtol=1e-9, grad_atol=1e-11)
    bad = RNG.standard_normal((n * h + 1, 7, e // h))
    for args in ((bad, sv), (sk, bad)):
        assert_same_error(lambda lib, a=args: static(lib, *(lib.tensor(x) for x in (q, kv, *a))))


def test_multihead_attention_second_order():
    tapegrad.manual_seed(0)
    m = tapegrad.nn.MultiheadAttention(4, 2).double()
    q = tapegrad.tensor(RNG.standard_normal((3, 2, 4)), requires_grad=True)
    kv = tapegrad.tensor(RNG.standard_normal((5, 2, 4)), requires_grad=True)
    assert gradgradcheck(lambda a, b: m(a, b, b)[0], (q, kv))
    assert gradgradcheck(lambda a: m(a, a, a, need_weights=False)[0], (q,))


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_strided_head_products_over_threads(threads, monkeypatch):
    """Batched products of strided head views (as multi-head attention takes them) split
    over threads by the leading dim equal NumPy's whole product, and attention output
    does not depend on the thread count."""
    from tapegrad.ops import linalg
    from tapegrad.ops.linalg import matmul_split

    monkeypatch.setattr(linalg, "_SPLIT_MIN_MACS", 1)
    qkv = RNG.standard_normal((20, 5, 3 * 24)).astype(np.float32)
    heads = [qkv[..., i * 24 : (i + 1) * 24].reshape(20, 5, 3, 8).transpose(1, 2, 0, 3)
             for i in range(3)]  # fmt: skip
    q, k, v = heads
    before = tapegrad.get_num_threads()
    tapegrad.set_num_threads(threads)
    try:
        s = matmul_split(q, k.swapaxes(-1, -2))
        np.testing.assert_allclose(s, np.matmul(q, k.swapaxes(-1, -2)), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(matmul_split(s, v), np.matmul(s, v), rtol=1e-5, atol=1e-4)
        tm, gm = _mha_pair(embed_dim=24, num_heads=3)
        x = RNG.standard_normal((20, 5, 24))
        out, w = gm(*(tapegrad.tensor(x),) * 3)
        want, want_w = tm(*(torch.tensor(x),) * 3)
        np.testing.assert_allclose(to_numpy(out), want.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(to_numpy(w), want_w.detach().numpy(), rtol=1e-10, atol=1e-12)
    finally:
        tapegrad.set_num_threads(before)


def test_scaled_dot_product_attention_large_with_dead_rows():
    """Large enough for the fast softmax; a fully masked row gives zeros, as PyTorch's CPU
    kernel, and a row partly masked keeps its numbers."""
    q, k, v = (RNG.standard_normal((4, 8, 40, 16)) for _ in range(3))
    mask = RNG.random((40, 40)) < 0.8
    mask[3] = False
    mask[5, 1:] = False

    def fn(lib, a, b, c):
        return lib.nn.functional.scaled_dot_product_attention(a, b, c, lib.tensor(mask))

    compare(fn, [q, k, v], rtol=1e-10, atol=1e-12, grad_rtol=1e-9, grad_atol=1e-11)
    compare(lambda lib, a, b, c: lib.nn.functional.scaled_dot_product_attention(a, b, c),
            [q, k, v], rtol=1e-10, atol=1e-12, grad_rtol=1e-9, grad_atol=1e-11)  # fmt: skip


def test_softmax_fast_path_one_dim():
    """A single long row: the fast path, the overflow fallback, and a fully masked row."""
    n = R._SOFTMAX_FAST_MIN + 3
    for x in (RNG.standard_normal(n), np.linspace(-300, 200, n), np.full(n, -np.inf)):
        x = x.astype(np.float32)
        got = to_numpy(tapegrad.softmax(tapegrad.tensor(x), 0))
        np.testing.assert_allclose(got, _reference_softmax(x), rtol=4e-6, atol=1e-35,
                                   equal_nan=True)  # fmt: skip


def test_self_attention_packed_heads_match_separate_inputs():
    """Self-attention (query is key is value) takes its heads from the packed projection
    in one view; the same inputs as three tensors take the per-tensor path. Values, both
    outputs' gradients and second order agree; batch_first too."""
    for batch_first in (False, True):
        tapegrad.manual_seed(0)
        m = tapegrad.nn.MultiheadAttention(12, 3, batch_first=batch_first).double()
        x = RNG.standard_normal((7, 4, 12))
        a = tapegrad.tensor(x, requires_grad=True)
        b = tapegrad.tensor(x, requires_grad=True)
        out_a, w_a = m(a, a, a)
        out_b, w_b = m(b, b.clone(), b.clone())
        np.testing.assert_allclose(to_numpy(out_a), to_numpy(out_b), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(to_numpy(w_a), to_numpy(w_b), rtol=1e-12, atol=1e-14)
        up, upw = RNG.standard_normal(out_a.shape), RNG.standard_normal(w_a.shape)
        ga = tapegrad.autograd.grad(
            (out_a * tapegrad.tensor(up)).sum() + (w_a * tapegrad.tensor(upw)).sum(),
            [a, m.in_proj_weight, m.in_proj_bias],
        )
        gb = tapegrad.autograd.grad(
            (out_b * tapegrad.tensor(up)).sum() + (w_b * tapegrad.tensor(upw)).sum(),
            [b, m.in_proj_weight, m.in_proj_bias],
        )
        for u, w in zip(ga, gb):
            np.testing.assert_allclose(to_numpy(u), to_numpy(w), rtol=1e-10, atol=1e-12)
    small = tapegrad.nn.MultiheadAttention(4, 2, bias=False).double()
    q = tapegrad.tensor(RNG.standard_normal((3, 2, 4)), requires_grad=True)
    assert gradcheck(lambda t: small(t, t, t)[1], (q,))
    assert gradgradcheck(lambda t: small(t, t, t)[0], (q,))


def test_softmax_backward_float32_parity():
    """Large float32 scores through the fast softmax and its backward against PyTorch
    (float32 on both sides; the gradient's tolerance is a few float32 roundings of the
    upstream gradient (~1), as g - sum(g * y) cancels)."""
    x = (RNG.standard_normal((16, 4, 64, 64)) * 3).astype(np.float32)
    compare(lambda L, a: L.softmax(a, -1), [x], rtol=2e-6, atol=1e-8, grad_rtol=1e-5,
            grad_atol=1e-6)  # fmt: skip
