"""torch.distributions against PyTorch: densities, moments, shapes, samples, errors, KL."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tapegrad
from tests.conftest import assert_same, compare, to_numpy

R = np.random.default_rng(1234)


def _pos(*shape, lo=0.5, hi=3.0):
    return R.uniform(lo, hi, shape)


def _prob(*shape):
    return R.uniform(0.1, 0.9, shape)


def _simplex(*shape):
    p = R.uniform(0.1, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


def _spd(n, batch=()):
    a = R.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _tril(n, batch=()):
    return np.linalg.cholesky(_spd(n, batch))


# name -> (constructor(lib, *params), params, a value in the support)
CASES = {
    "Normal": (lambda D, m, s: D.Normal(m, s), [R.normal(size=(2, 3)), _pos(2, 3)], R.normal(size=(2, 3))),
    "Bernoulli_probs": (lambda D, p: D.Bernoulli(probs=p), [_prob(4)], np.array([0.0, 1.0, 1.0, 0.0])),
    "Bernoulli_logits": (lambda D, l: D.Bernoulli(logits=l), [R.normal(size=(4,))], np.array([0.0, 1.0, 1.0, 0.0])),
    "Categorical_probs": (lambda D, p: D.Categorical(probs=p), [_simplex(3, 4)], np.array([0.0, 3.0, 1.0])),
    "Categorical_logits": (lambda D, l: D.Categorical(logits=l), [R.normal(size=(3, 4))], np.array([2.0, 0.0, 1.0])),
    "OneHotCategorical": (lambda D, p: D.OneHotCategorical(probs=p), [_simplex(2, 3)], np.eye(3)[[0, 2]]),
    "Uniform": (lambda D, a, b: D.Uniform(a, a + b), [R.normal(size=(3,)), _pos(3)], None),
    "Beta": (lambda D, a, b: D.Beta(a, b), [_pos(3), _pos(3)], _prob(3)),
    "Gamma": (lambda D, a, b: D.Gamma(a, b), [_pos(3), _pos(3)], _pos(3)),
    "Dirichlet": (lambda D, c: D.Dirichlet(c), [_pos(2, 3)], _simplex(2, 3)),
    "Exponential": (lambda D, r: D.Exponential(r), [_pos(3)], _pos(3)),
    "Laplace": (lambda D, m, s: D.Laplace(m, s), [R.normal(size=(3,)), _pos(3)], R.normal(size=(3,))),
    "Poisson": (lambda D, r: D.Poisson(r), [_pos(3)], np.array([0.0, 2.0, 5.0])),
    "Binomial": (lambda D, p: D.Binomial(10, probs=p), [_prob(3)], np.array([0.0, 4.0, 10.0])),
    "Binomial_logits": (lambda D, l: D.Binomial(7, logits=l), [R.normal(size=(3,))], np.array([1.0, 4.0, 7.0])),
    "MVN_cov": (lambda D, m, c: D.MultivariateNormal(m, covariance_matrix=c), [R.normal(size=(2, 3)), _spd(3)], R.normal(size=(2, 3))),
    "MVN_prec": (lambda D, m, c: D.MultivariateNormal(m, precision_matrix=c), [R.normal(size=(3,)), _spd(3)], R.normal(size=(3,))),
    "MVN_tril": (lambda D, m, c: D.MultivariateNormal(m, scale_tril=c), [R.normal(size=(3,)), _tril(3, (2,))], R.normal(size=(2, 3))),
    "Independent": (lambda D, m, s: D.Independent(D.Normal(m, s), 1), [R.normal(size=(2, 3)), _pos(2, 3)], R.normal(size=(2, 3))),
    "LogNormal": (lambda D, m, s: D.LogNormal(m, s), [R.normal(size=(3,)), _pos(3)], _pos(3)),
    "Chi2": (lambda D, k: D.Chi2(k), [_pos(3)], _pos(3)),
    "StudentT": (lambda D, df, m, s: D.StudentT(df, m, s), [_pos(3, lo=2.5, hi=5), R.normal(size=(3,)), _pos(3)], R.normal(size=(3,))),
    "Cauchy": (lambda D, m, s: D.Cauchy(m, s), [R.normal(size=(3,)), _pos(3)], R.normal(size=(3,))),
    "Geometric": (lambda D, p: D.Geometric(p), [_prob(3)], np.array([0.0, 3.0, 1.0])),
    "Gumbel": (lambda D, m, s: D.Gumbel(m, s), [R.normal(size=(3,)), _pos(3)], R.normal(size=(3,))),
    "HalfNormal": (lambda D, s: D.HalfNormal(s), [_pos(3)], _pos(3)),
    "RelaxedBernoulli": (lambda D, t, p: D.RelaxedBernoulli(t, probs=p), [_pos(1), _prob(3)], _prob(3)),
    "LogisticNormal": (lambda D, m, s: D.LogisticNormal(m, s), [R.normal(size=(3,)), _pos(3)], _simplex(4)),
    "Transformed": (
        lambda D, m, s: D.TransformedDistribution(
            D.Normal(m, s), [D.transforms.AffineTransform(1.0, 2.0), D.transforms.ExpTransform()]
        ),
        [R.normal(size=(3,)), _pos(3)],
        _pos(3),
    ),
}
for _k, (_c, _p, _v) in list(CASES.items()):
    if _k == "Uniform":
        CASES[_k] = (_c, _p, _p[0] + 0.5 * _p[1])


def _value(name, lib):
    v = CASES[name][2]
    return lib.tensor(v)


def _call(name, lib, attr, *params, value=None):
    dist = CASES[name][0](lib.distributions, *params)
    out = getattr(dist, attr)
    if value is not None:
        return out(lib.tensor(value))
    return out() if callable(out) else out


def _defined(name, attr, *args):
    ctor, params, _ = CASES[name]
    d = ctor(torch.distributions, *[torch.tensor(p) for p in params])
    try:
        out = getattr(d, attr)
        if callable(out):
            out(*[torch.tensor(a) for a in args])
    except NotImplementedError:
        return False
    return True


@pytest.mark.parametrize("name", CASES)
def test_log_prob(name):
    ctor, params, value = CASES[name]
    compare(lambda lib, *p: _call(name, lib, "log_prob", *p, value=value), params)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("attr", ["mean", "variance", "stddev", "mode", "entropy", "perplexity"])
def test_moments(name, attr):
    if not _defined(name, attr):
        with pytest.raises(NotImplementedError):
            _call(name, tapegrad, attr, *[tapegrad.tensor(p) for p in CASES[name][1]])
        return
    compare(lambda lib, *p: _call(name, lib, attr, *p), CASES[name][1])
