"""``tapegrad.utils.checkpoint`` against ``torch.utils.checkpoint``: outputs, gradients of
inputs and parameters, dropout masks replayed, warnings and errors, and the peak memory
of a deep MLP cut by checkpointing."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint
from conftest import assert_same_error

import tapegrad
import tapegrad.utils.checkpoint as tg_checkpoint


def _ckpt(L):
    return torch.utils.checkpoint if L is torch else tg_checkpoint


def _net(L, dropout=True):
    L.manual_seed(0)
    return L.nn.Sequential(
        L.nn.Linear(5, 16),
        L.nn.Tanh(),
        L.nn.Dropout(0.5) if dropout else L.nn.Identity(),
        L.nn.Linear(16, 16),
        L.nn.Tanh(),
        L.nn.Dropout(0.3) if dropout else L.nn.Identity(),
        L.nn.Linear(16, 3),
    ).double()


X = np.random.default_rng(0).standard_normal((4, 5))


def _run(L, reentrant, x_requires_grad=True, checkpointed=True, segments=None):
    """Output, input grad, parameter grads and the next random draw after backward."""
    net = _net(L)
    x = L.tensor(X.copy(), requires_grad=x_requires_grad)
    L.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not checkpointed:
            y = net(x)
        elif segments:
            y = _ckpt(L).checkpoint_sequential(net, segments, x, use_reentrant=reentrant)
        else:
            y = _ckpt(L).checkpoint(net, x, use_reentrant=reentrant)
    if y.requires_grad:
        (y * L.tensor(np.linspace(-1, 1, 12).reshape(4, 3))).sum().backward()
    grads = [None if p.grad is None else p.grad.numpy().copy() for p in net.parameters()]
    xg = None if x.grad is None else x.grad.numpy().copy()
    return y.detach().numpy().copy(), xg, grads, L.rand(3, dtype=L.float64).numpy()


def _assert_runs_equal(a, b):
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-12)
    assert (a[1] is None) == (b[1] is None)
    if a[1] is not None:
        np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-12)
    for ga, gb in zip(a[2], b[2]):
        assert (ga is None) == (gb is None)
        if ga is not None:
            np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(a[3], b[3])


@pytest.mark.parametrize("reentrant", [True, False])
@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_checkpoint_matches_torch(reentrant, x_requires_grad):
    _assert_runs_equal(
        _run(tapegrad, reentrant, x_requires_grad), _run(torch, reentrant, x_requires_grad)
    )


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_equals_plain_computation(reentrant):
    # same dropout masks in the recomputation: gradients equal the uncheckpointed ones
    _assert_runs_equal(_run(tapegrad, reentrant), _run(tapegrad, reentrant, checkpointed=False))


@pytest.mark.parametrize("reentrant", [True, False])
@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_matches_torch(reentrant, segments):
    a = _run(tapegrad, reentrant, segments=segments)
    _assert_runs_equal(a, _run(torch, reentrant, segments=segments))
    _assert_runs_equal(a, _run(tapegrad, reentrant, checkpointed=False))


def _multi(L, reentrant):
    """Several tensor and non-tensor arguments and outputs; a closure-captured weight."""
    w = L.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    a = L.tensor(np.arange(6.0).reshape(3, 2) / 5, requires_grad=True)
    b = L.tensor(np.ones((2, 2)))

    def fn(p, scale, q):
        return (p @ w).sin() * scale, (q.exp() + p.sum()), 7

    y1, y2, seven = _ckpt(L).checkpoint(fn, a, 2.0, b, use_reentrant=reentrant)
    (y1.sum() + (y2 * y2).sum()).backward()
    return y1, y2, seven, a.grad, w.grad


@pytest.mark.parametrize("reentrant", [True, False])
def test_several_arguments_and_outputs(reentrant):
    t = _multi(torch, reentrant)
    g = _multi(tapegrad, reentrant)
    assert g[2] == t[2] == 7
    for tv, gv in zip(t[:2] + t[3:], g[:2] + g[3:]):
        np.testing.assert_allclose(gv.detach().numpy(), tv.detach().numpy(), rtol=1e-12)


def test_non_reentrant_kwargs_and_autograd_grad():
    def fn(L):
        w = L.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=L.float64, requires_grad=True)
        x = L.tensor([[1.0, 2.0]], dtype=L.float64, requires_grad=True)

        def f(x, power=1):
            return (x @ w).tanh() ** power

        y = _ckpt(L).checkpoint(f, x, power=3, use_reentrant=False)
        return L.autograd.grad(y.sum(), (x, w))

    for tg, tt in zip(fn(tapegrad), fn(torch)):
        np.testing.assert_allclose(tg.numpy(), tt.numpy(), rtol=1e-12)


def test_non_reentrant_captured_non_leaf():
    # the function closes over a tensor of the outer graph that is not an argument
    def fn(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        h = L.tensor([0.5, -1.0, 2.0], dtype=L.float64, requires_grad=True)
        a = (x * 2).sin()
        y = _ckpt(L).checkpoint(lambda t: (t * a).exp(), h, use_reentrant=False)
        ((a * a).sum() + y.sum()).backward()
        return x.grad, h.grad

    for tg, tt in zip(fn(tapegrad), fn(torch)):
        np.testing.assert_allclose(tg.numpy(), tt.numpy(), rtol=1e-12)


def test_non_reentrant_double_backward():
    def fn(L):
        x = L.tensor([0.3, -0.7, 1.1], dtype=L.float64, requires_grad=True)
        y = _ckpt(L).checkpoint(lambda t: (t**3).sin(), x, use_reentrant=False)
        (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), x)
        return g.detach(), gg

    for tg, tt in zip(fn(tapegrad), fn(torch)):
        np.testing.assert_allclose(tg.numpy(), tt.numpy(), rtol=1e-12)


def _warnings(L, call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(L)
    return [(w.category.__name__, str(w.message)) for w in caught]


@pytest.mark.parametrize(
    "call",
    [
        lambda L: _ckpt(L).checkpoint(lambda t: t * 2, L.ones(2, requires_grad=True)),
        lambda L: _ckpt(L).checkpoint(lambda t: t * 2, L.ones(2), use_reentrant=True),
        lambda L: _ckpt(L).checkpoint(lambda t: t * 2, L.ones(2), use_reentrant=False),
        lambda L: _ckpt(L).checkpoint_sequential(
            [L.nn.Identity(), L.nn.Identity()], 2, L.ones(2, requires_grad=True)
        ),
    ],
    ids=["default", "reentrant_no_grad_input", "non_reentrant", "sequential_default"],
)
def test_warnings_match_torch(call):
    assert _warnings(tapegrad, call) == _warnings(torch, call)


@pytest.mark.parametrize(
    "call",
    [
        lambda L: _ckpt(L).checkpoint(lambda t, k: t, L.ones(1), k=1, use_reentrant=True),
        lambda L: _ckpt(L).checkpoint_sequential(
            [L.nn.Identity()], 1, L.ones(1), use_reentrant=True, foo=1
        ),
    ],
)
def test_errors_match_torch(call):
    t_err, g_err = assert_same_error(call)
    assert str(g_err) == str(t_err)


def test_reentrant_output_without_grad_input_does_not_require_grad():
    net = _net(tapegrad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = tg_checkpoint.checkpoint(net, tapegrad.ones(2, 5, dtype=tapegrad.float64))
    assert not y.requires_grad
    z = tg_checkpoint.checkpoint(
        net, tapegrad.ones(2, 5, dtype=tapegrad.float64), use_reentrant=False
    )
    assert z.requires_grad


def _peak_bytes(checkpointed, reentrant=False):
    """Peak traced memory of one forward and backward of a 48-layer MLP."""
    tapegrad.manual_seed(0)
    layers = []
    for _ in range(48):
        layers += [tapegrad.nn.Linear(128, 128), tapegrad.nn.Tanh()]
    net = tapegrad.nn.Sequential(*layers)
    x = tapegrad.randn(512, 128, requires_grad=True)
    tracemalloc.start()
    try:
        if checkpointed:
            y = tg_checkpoint.checkpoint_sequential(net, 8, x, use_reentrant=reentrant)
        else:
            y = net(x)
        y.square().mean().backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpointing_cuts_peak_memory(reentrant):
    plain = _peak_bytes(False)
    cut = _peak_bytes(True, reentrant)
    # measured: about 16.6 MB plain, 9.2 MB in 8 checkpointed segments (3 MB of it
    # the parameters' gradients, the same in both)
    assert cut < 0.7 * plain, (plain, cut)
