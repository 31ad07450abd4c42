"""``kl_divergence`` between different families (and Binomial-Binomial) against
PyTorch's registered pairs: values (finite and infinite), shapes, a gradient, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as TD

import tapegrad
import tapegrad.distributions as GD


def _make(L, D, name):
    def t(v):
        return L.tensor(v, dtype=L.float64, requires_grad=True)

    return {
        "Normal": lambda: D.Normal(t([0.3, -1.0]), t([1.5, 0.7])),
        "Beta": lambda: D.Beta(t([2.0, 0.7]), t([3.0, 1.2])),
        "Gamma": lambda: D.Gamma(t([2.0, 0.7]), t([3.0, 1.2])),
        "Exponential": lambda: D.Exponential(t([2.0, 0.7])),
        "Laplace": lambda: D.Laplace(t([0.3, -1.0]), t([1.5, 0.7])),
        "Uniform": lambda: D.Uniform(t([0.1, -0.5]), t([0.9, 2.0])),
        "Uniform01": lambda: D.Uniform(t([0.1, 0.0]), t([0.9, 0.6])),
        "UniformWide": lambda: D.Uniform(t([-0.1, 0.0]), t([1.2, 1.6])),
        "Bernoulli": lambda: D.Bernoulli(t([0.3, 0.0])),
        "Poisson": lambda: D.Poisson(t([2.0, 0.7])),
        "Binomial": lambda: D.Binomial(L.tensor([5.0, 5.0]), t([0.3, 0.6])),
        "BinomialFewer": lambda: D.Binomial(L.tensor([5.0, 4.0]), t([0.2, 0.5])),
    }[name]()


PAIRS = [
    ("Beta", "Normal"), ("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "UniformWide"),
    ("Beta", "Uniform01"), ("Exponential", "Gamma"), ("Exponential", "Normal"),
    ("Gamma", "Exponential"), ("Gamma", "Normal"), ("Laplace", "Normal"), ("Normal", "Laplace"),
    ("Uniform", "Normal"), ("Uniform", "Exponential"), ("Uniform01", "Exponential"),
    ("Uniform", "Gamma"), ("Uniform01", "Gamma"), ("Uniform01", "Beta"), ("Uniform", "Beta"),
    ("Bernoulli", "Poisson"), ("Binomial", "Binomial"), ("Binomial", "BinomialFewer"),
    ("Exponential", "Beta"), ("Exponential", "Uniform"), ("Gamma", "Beta"), ("Gamma", "Uniform"),
    ("Laplace", "Beta"), ("Laplace", "Exponential"), ("Laplace", "Gamma"), ("Laplace", "Uniform"),
    ("Normal", "Beta"), ("Normal", "Exponential"), ("Normal", "Gamma"), ("Normal", "Uniform"),
    ("Poisson", "Bernoulli"), ("Poisson", "Binomial"),
]  # fmt: skip


@pytest.mark.parametrize("p,q", PAIRS)
def test_cross_family_kl_matches_pytorch(p, q):
    a = TD.kl_divergence(_make(torch, TD, p), _make(torch, TD, q))
    b = GD.kl_divergence(_make(tapegrad, GD, p), _make(tapegrad, GD, q))
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda D, a, b, c, d: (D.Beta(a, b), D.Gamma(c, d)),
        lambda D, a, b, c, d: (D.Normal(a, b), D.Laplace(c, d)),
        lambda D, a, b, c, d: (D.Uniform(a * 0.1, a * 0.2 + 0.5), D.Beta(c, d)),
    ],
)
def test_cross_family_kl_gradients_match_pytorch(make):
    grads = []
    for L, D in ((torch, TD), (tapegrad, GD)):
        leaves = [L.tensor(v, dtype=L.float64, requires_grad=True) for v in (1.3, 0.8, 2.1, 1.7)]
        D.kl_divergence(*make(D, *leaves)).backward()
        grads.append([None if t.grad is None else t.grad.numpy() for t in leaves])
    for x, y in zip(*grads):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(y, x, rtol=1e-9)


def test_binomial_with_more_trials_in_q_is_not_implemented():
    for L, D in ((torch, TD), (tapegrad, GD)):
        with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
            D.kl_divergence(D.Binomial(3, L.tensor(0.3)), D.Binomial(5, L.tensor(0.3)))
