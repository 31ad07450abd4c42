"""Third derivatives of pointwise ops and reductions agree with PyTorch's.

The registry (tests/test_ops.py) checks second derivatives of every op; here the
backward of a backward is itself recorded (``create_graph=True`` twice), which
exercises the formulas the graph namespace runs a second time.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad

CASES = {
    "tanh": lambda L, x: L.tanh(x),
    "sigmoid": lambda L, x: L.sigmoid(x),
    "sinc": lambda L, x: L.sinc(x),
    "pow": lambda L, x: x.abs() ** x,
    "pow_scalar": lambda L, x: x.abs() ** 2.5,
    "hypot": lambda L, x: L.hypot(x, x * 2 + 1),
    "logaddexp": lambda L, x: L.logaddexp(x, x.sin()),
    "div": lambda L, x: x.sin() / (x * x + 1),
    "softmax": lambda L, x: L.softmax(x, 1),
    "log_softmax": lambda L, x: L.log_softmax(x, 0),
    "logsumexp": lambda L, x: L.logsumexp(x, 1),
    "prod": lambda L, x: x.prod(1),
    "std": lambda L, x: x.std(1),
    "var": lambda L, x: x.exp().var(0, correction=2),
    "norm3": lambda L, x: L.linalg.vector_norm(x, 3, dim=1),
    "norm2": lambda L, x: L.linalg.vector_norm(x),
}


def _third(L, fn, a):
    x = L.tensor(a, requires_grad=True)
    (g1,) = L.autograd.grad(fn(L, x).sum(), x, create_graph=True)
    (g2,) = L.autograd.grad((g1 * L.tensor(np.cos(a))).sum(), x, create_graph=True)
    (g3,) = L.autograd.grad((g2 * L.tensor(np.sin(a))).sum(), x)
    return g3.detach().numpy()


@pytest.mark.parametrize("name", list(CASES))
def test_third_derivative_matches_torch(name):
    a = np.random.default_rng(0).standard_normal((3, 4))
    fn = CASES[name]
    np.testing.assert_allclose(_third(tapegrad, fn, a), _third(torch, fn, a), rtol=1e-6, atol=1e-10)
