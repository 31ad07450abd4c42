"""``nn.utils.rnn`` packing and packed input to RNN/LSTM/GRU, against PyTorch: fields,
values and gradients (float64), and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn
from conftest import assert_same_error

import tapegrad
import tapegrad.nn.utils.rnn as grnn

RNG = np.random.default_rng(0)
LENGTHS = [3, 5, 1, 5, 2]  # unsorted, with a tie
SEQS = [RNG.standard_normal((n, 4)) for n in LENGTHS]


def _mod(L):
    return trnn if L is torch else grnn


def _np(x):
    return None if x is None else np.asarray(x.detach().numpy())


def _leaves(L, seqs=SEQS):
    return [L.tensor(s.copy(), requires_grad=True) for s in seqs]


def _check(fn, rtol=1e-12, atol=1e-12):
    """fn(L, leaves) -> tensors; equal values and equal gradients of a weighted sum."""
    outs, grads = {}, {}
    for L in (torch, tapegrad):
        leaves = _leaves(L)
        res = [r for r in fn(L, leaves) if r is not None]
        outs[L] = [_np(r) for r in res]
        loss = sum(
            (r * L.tensor(np.linspace(-1, 1, r.numel()).reshape(tuple(r.shape)))).sum()
            for r in res
            if r.dtype in (L.float64, L.float32) and r.requires_grad
        )
        if not isinstance(loss, int):
            loss.backward()
        grads[L] = [_np(leaf.grad) for leaf in leaves]
    for a, b in zip(outs[tapegrad], outs[torch]):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    for a, b in zip(grads[tapegrad], grads[torch]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _fields(p):
    return [p.data, p.batch_sizes, p.sorted_indices, p.unsorted_indices]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    _check(lambda L, s: [_mod(L).pad_sequence(s, batch_first, -1.5, side)])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_pack_padded_sequence_unsorted(batch_first, as_tensor):
    def fn(L, s):
        padded = _mod(L).pad_sequence(s, batch_first)
        lengths = L.tensor(LENGTHS) if as_tensor else LENGTHS
        return _fields(
            _mod(L).pack_padded_sequence(padded, lengths, batch_first, enforce_sorted=False)
        )

    _check(fn)


def test_pack_padded_sequence_sorted():
    order = np.argsort(LENGTHS, kind="stable")[::-1]
    seqs = [SEQS[i] for i in order]

    def fn(L, s):
        s = [s[i] for i in order]
        p = _mod(L).pack_padded_sequence(_mod(L).pad_sequence(s), [len(x) for x in seqs])
        assert p.sorted_indices is None and p.unsorted_indices is None
        return [p.data, p.batch_sizes]

    _check(fn)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("total_length", [None, 7])
def test_pad_packed_sequence_roundtrip(batch_first, total_length):
    def fn(L, s):
        p = _mod(L).pack_sequence(s, enforce_sorted=False)
        out, lengths = _mod(L).pad_packed_sequence(p, batch_first, 2.5, total_length)
        return [out, lengths]

    _check(fn)


def test_unpack_and_unpad():
    def fn(L, s):
        m = _mod(L)
        back = m.unpack_sequence(m.pack_sequence(s, enforce_sorted=False))
        padded = m.pad_sequence(s, batch_first=True)
        return back + m.unpad_sequence(padded, L.tensor(LENGTHS), batch_first=True)

    _check(fn)


def test_packed_sequence_is_a_tuple_with_fields():
    p = grnn.pack_sequence([tapegrad.ones(2, 1), tapegrad.ones(3, 1)], enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert p._fields == trnn.PackedSequence._fields
    assert batch_sizes.tolist() == [2, 2, 1] and batch_sizes.dtype == tapegrad.int64
    assert sorted_indices.tolist() == [1, 0] and unsorted_indices.tolist() == [1, 0]
    assert p.double().data.dtype == tapegrad.float64


@pytest.mark.parametrize(
    "call",
    [
        lambda L: _mod(L).pack_padded_sequence(L.zeros(3, 2), [1, 2]),
        lambda L: _mod(L).pack_padded_sequence(L.zeros(3, 2), [3, 0]),
        lambda L: _mod(L).pack_padded_sequence(L.zeros(3, 2), [3, 2, 1]),
        lambda L: _mod(L).pack_padded_sequence(L.zeros(3, 2), L.tensor([[3, 2]])),
        lambda L: _mod(L).pad_sequence([L.zeros(3), L.zeros(2)], padding_side="middle"),
        lambda L: _mod(L).pad_sequence([]),
        lambda L: _mod(L).pad_packed_sequence(
            _mod(L).pack_sequence([L.ones(3, 1), L.ones(2, 1)]), total_length=2
        ),
    ],
    ids=["unsorted", "zero_length", "batch_mismatch", "lengths_2d", "side", "empty", "total"],
)
def test_errors_match_torch(call):
    t_err, g_err = assert_same_error(call)
    assert str(g_err) == str(t_err)


def _copy_weights(tm, gm):
    for name, p in tm.state_dict().items():
        getattr(gm, name).data = tapegrad.tensor(p.numpy().copy())


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_hx", [False, True])
def test_recurrent_layers_take_packed_input(mode, bidirectional, with_hx):
    kw = dict(input_size=4, hidden_size=3, num_layers=2, bidirectional=bidirectional)
    tm = getattr(torch.nn, mode)(**kw).double()
    gm = getattr(tapegrad.nn, mode)(**kw).double()
    _copy_weights(tm, gm)
    dirs = 2 if bidirectional else 1
    h0 = RNG.standard_normal((2 * dirs, len(SEQS), 3))
    c0 = RNG.standard_normal((2 * dirs, len(SEQS), 3))

    def fn(L, s):
        m = tm if L is torch else gm
        packed = _mod(L).pack_sequence(s, enforce_sorted=False)
        hx = None
        if with_hx:
            hx = L.tensor(h0.copy())
            hx = (hx, L.tensor(c0.copy())) if mode == "LSTM" else hx
        out, state = m(packed, hx)
        assert isinstance(out, _mod(L).PackedSequence)
        padded, lengths = _mod(L).pad_packed_sequence(out, batch_first=True)
        states = list(state) if mode == "LSTM" else [state]
        return [out.data, out.batch_sizes, padded, lengths, *states]

    _check(fn, rtol=1e-10, atol=1e-12)
    # parameter gradients as well
    for L, m in ((torch, tm), (tapegrad, gm)):
        m.zero_grad()
        out, _ = m(_mod(L).pack_sequence([L.tensor(x) for x in SEQS], enforce_sorted=False))
        (out.data**2).sum().backward()
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(
            _np(getattr(gm, name).grad), p.grad.numpy(), rtol=1e-10, atol=1e-12
        )


def test_batch_first_and_sorted_packed_input():
    tm = torch.nn.GRU(4, 3, batch_first=True).double()
    gm = tapegrad.nn.GRU(4, 3, batch_first=True).double()
    _copy_weights(tm, gm)
    order = np.argsort(LENGTHS, kind="stable")[::-1]

    def fn(L, s):
        m = tm if L is torch else gm
        s = [s[i] for i in order]
        padded = _mod(L).pad_sequence(s, batch_first=True)
        packed = _mod(L).pack_padded_sequence(padded, [len(x) for x in s], batch_first=True)
        out, h = m(packed)
        return [_mod(L).pad_packed_sequence(out, batch_first=True)[0], h]

    _check(fn, rtol=1e-10, atol=1e-12)
