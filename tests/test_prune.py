"""``nn.utils.prune`` against PyTorch: masks (including the random ones, whose streams
match), combined pruning, global pruning, the forward pre-hook, gradients, state dict keys,
``remove`` and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as tprune
from conftest import assert_same_error

import tapegrad
import tapegrad.nn.utils.prune as gprune


def _pr(L):
    return tprune if L is torch else gprune


def _np(t):
    return t.detach().numpy()


def _net(L):
    L.manual_seed(0)
    return L.nn.Sequential(
        L.nn.Conv2d(3, 6, 3), L.nn.ReLU(), L.nn.Flatten(), L.nn.Linear(6 * 3 * 3, 4)
    )


def _compare(run, rtol=1e-6, atol=1e-7):
    a, b = run(torch), run(tapegrad)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, np.ndarray):
            np.testing.assert_allclose(y, x, rtol=rtol, atol=atol)
        else:
            assert x == y


@pytest.mark.parametrize(
    "prune",
    [
        lambda P, m: P.l1_unstructured(m[0], "weight", amount=0.3),
        lambda P, m: P.l1_unstructured(m[3], "weight", amount=17),
        lambda P, m: P.random_unstructured(m[0], "weight", amount=0.5),
        lambda P, m: P.random_structured(m[0], "weight", amount=2, dim=0),
        lambda P, m: P.ln_structured(m[0], "weight", amount=0.5, n=2, dim=0),
        lambda P, m: P.ln_structured(m[3], "weight", amount=0.25, n=1, dim=1),
        lambda P, m: P.ln_structured(m[0], "weight", amount=1, n=float("inf"), dim=-1),
        lambda P, m: P.identity(m[0], "bias"),
        lambda P, m: P.custom_from_mask(m[0], "bias", mask=m[0].bias.detach() > 0),
    ],
)
def test_single_pruning(prune):
    def run(L):
        m = _net(L)
        P = _pr(L)
        prune(P, m)
        x = L.randn(2, 3, 5, 5)
        y = m(x)
        y.sum().backward()
        masks = [_np(b) for n, b in m.named_buffers() if n.endswith("_mask")]
        grads = [_np(p.grad) for n, p in m.named_parameters() if n.endswith("_orig")]
        return [_np(y), *masks, *grads, sorted(m.state_dict()), P.is_pruned(m)]

    _compare(run)


def test_iterative_pruning_combines_masks_and_remove():
    def run(L):
        m = _net(L)
        P = _pr(L)
        P.l1_unstructured(m[0], "weight", amount=0.3)
        P.random_unstructured(m[0], "weight", amount=5)
        P.ln_structured(m[0], "weight", amount=0.5, n=2, dim=0)
        hook = next(iter(m[0]._forward_pre_hooks.values()))
        info = [type(hook).__name__, len(hook), [type(h).__name__ for h in hook]]
        x = L.randn(2, 3, 5, 5)
        y = m(x)
        y.sum().backward()
        out = [_np(y), _np(m[0].weight_mask), _np(m[0].weight_orig.grad), *info]
        P.remove(m[0], "weight")
        return out + [
            sorted(m.state_dict()),
            _np(m[0].weight),
            P.is_pruned(m),
            isinstance(m[0].weight, L.nn.Parameter),
        ]

    _compare(run)


def test_global_unstructured():
    def run(L):
        m = _net(L)
        P = _pr(L)
        P.l1_unstructured(m[0], "bias", amount=1)
        P.global_unstructured(
            [(m[0], "weight"), (m[0], "bias"), (m[3], "weight")],
            pruning_method=P.L1Unstructured,
            amount=0.4,
        )
        total = sum(int((b == 0).sum()) for n, b in m.named_buffers() if n.endswith("_mask"))
        return [_np(m[0].weight_mask), _np(m[0].bias_mask), _np(m[3].weight_mask), total]

    _compare(run)


def test_importance_scores_and_prune_method():
    def run(L):
        m = _net(L)
        P = _pr(L)
        scores = L.arange(m[3].weight.numel(), dtype=L.float32).reshape(m[3].weight.shape)
        P.l1_unstructured(m[3], "weight", amount=10, importance_scores=scores)
        t = L.tensor([[3.0, -1.5, 2.0], [0.5, -4.0, 1.0]])  # no ties: topk order is free
        pruned = P.L1Unstructured(amount=2).prune(t)
        return [_np(m[3].weight_mask), _np(pruned)]

    _compare(run)


def test_the_hook_recomputes_after_an_optimizer_step():
    def run(L):
        m = _net(L)
        _pr(L).l1_unstructured(m[3], "weight", amount=0.5)
        opt = L.optim.SGD(m.parameters(), lr=0.1)
        x = L.randn(2, 3, 5, 5)
        m(x).sum().backward()
        opt.step()
        y = m(x)
        return [_np(y), _np(m[3].weight), bool((m[3].weight[m[3].weight_mask == 0] == 0).all())]

    _compare(run)


def test_errors():
    assert_same_error(
        lambda L: _pr(L).l1_unstructured(_net(L)[0], "weight", amount=1.5),
        match="should either be a float in the range [0, 1] or a non-negative integer",
    )
    assert_same_error(
        lambda L: _pr(L).l1_unstructured(_net(L)[0], "weight", amount="a"),
        match="Invalid type for amount",
    )
    assert_same_error(
        lambda L: _pr(L).l1_unstructured(_net(L)[0], "bias", amount=10),
        match="should be smaller than the number of parameters to prune",
    )
    assert_same_error(
        lambda L: _pr(L).ln_structured(_net(L)[0], "bias", amount=1, n=2, dim=0),
        match="Structured pruning can only be applied to multidimensional tensors",
    )
    assert_same_error(
        lambda L: _pr(L).random_structured(_net(L)[0], "weight", amount=1, dim=4),
        match="Invalid index 4",
    )
    assert_same_error(
        lambda L: _pr(L).remove(_net(L)[0], "weight"), match="has to be pruned before pruning"
    )
    assert_same_error(
        lambda L: _pr(L).global_unstructured(
            [(_net(L)[0], "weight")], pruning_method=_pr(L).LnStructured, amount=1, n=2
        ),
        match='Only "unstructured" PRUNING_TYPE supported',
    )
    assert_same_error(
        lambda L: _pr(L).global_unstructured(3, pruning_method=_pr(L).L1Unstructured, amount=1),
        match="parameters is not an Iterable",
    )

    def failed_prune_restores(L):
        m = _net(L)
        try:
            _pr(L).l1_unstructured(m[0], "bias", amount=100)
        except ValueError:
            pass
        return sorted(m.state_dict())

    assert failed_prune_restores(torch) == failed_prune_restores(tapegrad)
