"""Optimizers with ``differentiable=True`` record their step in the graph, as PyTorch's:
the parameters after a step are differentiable with respect to the parameters, the
gradients and the state before it (meta-learning through an update)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "dampening": 0.3}),
    ("Adam", {"lr": 0.1}),
    ("Adam", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.1, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.1}),
    ("NAdam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.1}),
    ("RAdam", {"lr": 0.1, "weight_decay": 0.1}),
    ("Rprop", {"lr": 0.1}),
    ("ASGD", {"lr": 0.1, "t0": 1}),
]


def _steps(L, name, kwargs, p0, g0, n=3):
    p = p0.clone()
    opt = getattr(L.optim, name)([p], differentiable=True, **kwargs)
    for k in range(n):
        p.grad = g0 * (1.0 + 0.5 * k)  # a different gradient each step
        opt.step()
    return p


@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda c: str(c))
def test_differentiable_step_matches_pytorch(name, kwargs):
    rng = np.random.default_rng(0)
    p_np, g_np, w_np = rng.standard_normal((3, 6))
    res = {}
    for L in (torch, tapegrad):
        p0 = L.tensor(p_np, requires_grad=True)
        g0 = L.tensor(g_np, requires_grad=True)
        # PyTorch's Rprop cannot backward through two steps (its step sizes are updated in
        # place after being saved); one step is compared
        p = _steps(L, name, kwargs, p0, g0, 1 if name == "Rprop" else 3)
        assert p.requires_grad and p.grad_fn is not None
        loss = (p * L.tensor(w_np)).sum()
        try:
            dp, dg = L.autograd.grad(loss, [p0, g0], allow_unused=True, materialize_grads=True)
        except RuntimeError as e:
            # e.g. AMSGrad's maximum saved a state that the next step changed in place
            res[L.__name__] = [p.detach().numpy(), type(e)]
            continue
        res[L.__name__] = [p.detach().numpy(), dp.numpy(), dg.numpy()]
    if len(res["torch"]) == 2:
        assert res["tapegrad"][1] is res["torch"][1], res
        np.testing.assert_allclose(res["tapegrad"][0], res["torch"][0], rtol=1e-6, atol=1e-9)
        return
    # PyTorch's differentiable branches compute their scalar coefficients (bias
    # corrections, step sizes) from float32 step tensors, in float32; tapegrad follows
    # those roundings where they matter, up to about one float32 ulp of a coefficient.
    for a, b in zip(res["torch"], res["tapegrad"]):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)


# Optimizers whose state starts at zero: the update is then a smooth function of the
# parameters and of every gradient (a momentum buffer that starts as a detached copy of
# the first gradient, as PyTorch's, is not differentiated through).
GRADCHECK = [CASES[0], CASES[4], CASES[7], CASES[9], CASES[12]]


@pytest.mark.parametrize("name,kwargs", GRADCHECK, ids=lambda c: str(c))
def test_differentiable_step_gradcheck(name, kwargs):
    rng = np.random.default_rng(1)
    p0 = tapegrad.tensor(rng.standard_normal(4), requires_grad=True)
    g0 = tapegrad.tensor(rng.standard_normal(4), requires_grad=True)
    assert tapegrad.autograd.gradcheck(
        lambda p, g: _steps(tapegrad, name, kwargs, p, g, 2), (p0, g0)
    )


def test_default_step_records_nothing_and_matches_the_differentiable_one():
    rng = np.random.default_rng(2)
    p_np, g_np = rng.standard_normal((2, 5))
    for name, kwargs in CASES:
        a = tapegrad.nn.Parameter(tapegrad.tensor(p_np))
        b = tapegrad.tensor(p_np, requires_grad=True).clone()
        opt_a = getattr(tapegrad.optim, name)([a], **kwargs)
        opt_b = getattr(tapegrad.optim, name)([b], differentiable=True, **kwargs)
        for k in range(3):
            a.grad = tapegrad.tensor(g_np * (1 + k))
            b.grad = tapegrad.tensor(g_np * (1 + k))
            opt_a.step()
            opt_b.step()
        assert a.grad_fn is None
        # the same rule; Adam's differentiable branch rounds its coefficients to float32
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-7)
