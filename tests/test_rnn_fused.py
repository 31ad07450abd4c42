"""The fused recurrences of ``tapegrad.ops.rnn`` (one node per layer and direction)
against the simple reference (the same steps built from differentiable ops): values,
gradients of every input, reverse time, missing biases, double backward; and the layers
that use them against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.ops import rnn as R

RNG = np.random.default_rng(0)
T, B, H = 5, 3, 4


def _t(*shape, scale=0.7):
    return tapegrad.tensor(RNG.standard_normal(shape) * scale, requires_grad=True)


def _cases():
    xg4, xg3, xg1 = _t(T, B, 4 * H), _t(T, B, 3 * H), _t(T, B, H)
    h0, c0 = _t(B, H), _t(B, H)
    w4, w3, w1 = _t(4 * H, H), _t(3 * H, H), _t(H, H)
    b3 = _t(3 * H)
    return {
        "lstm": (R.lstm_sequence, (xg4, h0, c0, w4), {}),
        "gru": (R.gru_sequence, (xg3, h0, w3, b3), {}),
        "gru_nobias": (R.gru_sequence, (xg3, h0, w3, None), {}),
        "rnn_tanh": (R.rnn_sequence, (xg1, h0, w1), {}),
        "rnn_relu": (R.rnn_sequence, (xg1, h0, w1), {"relu": True}),
    }


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("case", list(_cases()))
def test_fused_equals_reference(case, reverse):
    fn, inputs, kw = _cases()[case]
    res = {}
    for fused in (True, False):
        for t in inputs:
            if t is not None:
                t.grad = None
        outs = fn(*inputs, reverse=reverse, fused=fused, **kw)
        weights = [
            tapegrad.tensor(np.linspace(-1, 1, o.numel()).reshape(tuple(o.shape))) for o in outs
        ]
        sum((o * w).sum() for o, w in zip(outs, weights)).backward()
        res[fused] = [o.detach().numpy() for o in outs] + [
            t.grad.numpy() for t in inputs if t is not None
        ]
    for a, b in zip(res[True], res[False]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ["lstm", "gru", "rnn_tanh"])
def test_fused_gradcheck_and_gradgradcheck(case):
    # tiny sizes: gradgradcheck differentiates numerically through a nested backward
    h = 2
    gates = {"lstm": 4, "gru": 3, "rnn_tanh": 1}[case]
    xg, h0, w = _t(2, 1, gates * h), _t(1, h), _t(gates * h, h)
    c0 = _t(1, h).detach()
    fn = {
        "lstm": lambda xg, h0, w: R.lstm_sequence(xg, h0, c0, w),
        "gru": lambda xg, h0, w: R.gru_sequence(xg, h0, w, None),
        "rnn_tanh": lambda xg, h0, w: R.rnn_sequence(xg, h0, w),
    }[case]
    assert tapegrad.autograd.gradcheck(fn, (xg, h0, w))
    assert tapegrad.autograd.gradgradcheck(fn, (xg, h0, w))


@pytest.mark.parametrize("reverse", [False, True])
def test_no_grad_forward_equals_recorded_forward(reverse):
    fn, inputs, kw = _cases()["lstm"]
    with tapegrad.no_grad():
        a = fn(*inputs, reverse=reverse)
    b = fn(*inputs, reverse=reverse)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.detach().numpy())


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_layers_match_pytorch(mode, bidirectional, bias):
    res = {}
    for L in (torch, tapegrad):
        L.manual_seed(0)
        m = getattr(L.nn, mode)(4, 6, num_layers=2, bidirectional=bidirectional, bias=bias,
                                batch_first=True).double()  # fmt: skip
        x = L.tensor(RNG.standard_normal((3, 5, 4)) if L is torch else res["x"], requires_grad=True)
        res.setdefault("x", x.detach().numpy())
        out, hn = m(x)
        hs = hn if isinstance(hn, tuple) else (hn,)
        loss = (out * out).sum() + sum((h * h).sum() for h in hs)
        loss.backward()
        res[L] = [out.detach().numpy(), *[h.detach().numpy() for h in hs], x.grad.numpy()] + [
            p.grad.numpy() for p in m.parameters()
        ]
    for a, b in zip(res[torch], res[tapegrad]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("block", [1, 5, 64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_backward_blocks_equal_reference(monkeypatch, block, reverse, dtype):
    # the LSTM backward computes its factors a block of steps at a time: 12 steps in
    # blocks of 1, 5 (5 + 5 + 2, the last one short) and one block; every output's
    # gradient non-zero, so each step's incoming gradient is exercised
    monkeypatch.setattr(R, "_LSTM_BLOCK", block)
    rng = np.random.default_rng(1)
    steps, b, h = 12, 3, 4
    arrays = [rng.standard_normal(s) * 0.7 for s in ((steps, b, 4 * h), (b, h), (b, h), (4 * h, h))]
    weights = [rng.standard_normal(s) for s in ((steps, b, h), (b, h), (b, h))]
    res = {}
    for fused in (True, False):
        inputs = [tapegrad.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        outs = R.lstm_sequence(*inputs, reverse=reverse, fused=fused)
        sum((o * tapegrad.tensor(w.astype(dtype))).sum() for o, w in zip(outs, weights)).backward()
        res[fused] = [o.detach().numpy() for o in outs] + [t.grad.numpy() for t in inputs]
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for a, b_ in zip(res[True], res[False]):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b_, rtol=tol, atol=tol)


def test_lstm_backward_twice_with_retain_graph():
    # the factors recorded by the forward are read, not overwritten, by a backward
    fn, inputs, _ = _cases()["lstm"]
    outs = fn(*inputs)
    loss = sum((o * o).sum() for o in outs)
    first = tapegrad.autograd.grad(loss, inputs, retain_graph=True)
    second = tapegrad.autograd.grad(loss, inputs)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
