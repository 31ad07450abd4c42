"""Special functions (lgamma, digamma, polygamma, mvlgamma, torch.special) and the
triangular linear algebra the distributions need (Cholesky derivative,
solve_triangular, cholesky_inverse), against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.autograd import gradcheck, gradgradcheck
from tests.conftest import assert_same, assert_same_error, compare

R = np.random.default_rng(99)
# positive and negative arguments, away from the poles
GRID = np.concatenate(
    [np.linspace(0.05, 30.0, 200), np.linspace(-7.9, -0.1, 80) + 0.013, [1e-8, 1.0, 2.0, 10.0, 1e5]]
)

UNARY = {
    "lgamma": lambda lib, x: lib.lgamma(x),
    "digamma": lambda lib, x: lib.digamma(x),
    "polygamma1": lambda lib, x: lib.polygamma(1, x),
    "polygamma2": lambda lib, x: lib.polygamma(2, x),
    "polygamma3": lambda lib, x: lib.polygamma(3, x),
    "polygamma4": lambda lib, x: lib.polygamma(4, x),
    "mvlgamma": lambda lib, x: lib.mvlgamma(x.abs() + 2.5, 4),
    "special.gammaln": lambda lib, x: lib.special.gammaln(x),
    "special.psi": lambda lib, x: lib.special.psi(x),
    "special.multigammaln": lambda lib, x: lib.special.multigammaln(x.abs() + 1, 2),
    "special.entr": lambda lib, x: lib.special.entr(x),
    "special.ndtr": lambda lib, x: lib.special.ndtr(x),
    "special.expit": lambda lib, x: lib.special.expit(x),
    "method.lgamma": lambda lib, x: x.lgamma(),
    "method.digamma": lambda lib, x: x.digamma(),
    "method.polygamma": lambda lib, x: x.polygamma(2),
    "method.mvlgamma": lambda lib, x: (x.abs() + 2).mvlgamma(3),
}


@pytest.mark.parametrize("name", UNARY)
def test_values_and_gradients_float64(name):
    compare(UNARY[name], [GRID], rtol=1e-12, atol=1e-12, grad_rtol=1e-10, grad_atol=1e-10)


@pytest.mark.parametrize("name", UNARY)
def test_values_float32(name):
    x = np.linspace(0.05, 30.0, 300).astype(np.float32)  # float32 math near the poles differs
    compare(UNARY[name], [x], rtol=2e-5, atol=1e-5, grad_rtol=2e-4, grad_atol=1e-4)


@pytest.mark.parametrize(
    "name", ["lgamma", "digamma", "polygamma1", "polygamma3", "mvlgamma", "special.entr"]
)
def test_gradgrad(name):
    x = tapegrad.tensor(
        np.array([0.3, 1.7, 4.2, -1.3, 12.5])
        if name != "special.entr"
        else np.array([0.3, 1.7, 4.2]),
        requires_grad=True,
    )
    fn = UNARY[name]
    assert gradcheck(lambda t: fn(tapegrad, t), (x,))
    assert gradgradcheck(lambda t: fn(tapegrad, t), (x,))
    # the second derivative equals PyTorch's
    compare(
        lambda lib, t: lib.autograd.grad(fn(lib, t).sum(), t, create_graph=True)[0],
        [x.detach().numpy()],
        rtol=1e-10,
        atol=1e-12,
    )


def test_special_values_at_poles_and_infinities():
    x = np.array([0.0, -0.0, -1.0, -2.0, np.inf, -np.inf, np.nan, 1e-300, 1e300])
    for f in (
        lambda lib, t: lib.lgamma(t),
        lambda lib, t: lib.digamma(t),
        lambda lib, t: lib.polygamma(1, t[4:]),
        lambda lib, t: lib.polygamma(3, t[4:]),
    ):
        compare(f, [x], grad=False, rtol=1e-12, atol=0)


def test_integer_inputs_promote_and_inplace():
    compare(lambda lib, x: lib.lgamma(x), [np.array([1, 2, 5])], grad=False)
    compare(lambda lib, x: lib.digamma(x), [np.array([1, 2, 5])], grad=False)
    compare(lambda lib, x: lib.special.xlog1py(x, 3), [np.array([0, 2, 5])], grad=False)
    compare(lambda lib, x: lib.special.entr(x), [np.array([0, 1, 5])], grad=False)
    compare(lambda lib, x: x.clone().lgamma_(), [R.uniform(0.5, 4, 5)], grad=False)
    compare(lambda lib, x: x.clone().digamma_(), [R.uniform(0.5, 4, 5)], grad=False)
    compare(lambda lib, x: x.clone().polygamma_(2), [R.uniform(0.5, 4, 5)], grad=False)
    compare(lambda lib, x: x.clone().mvlgamma_(2), [R.uniform(1.5, 4, 5)], grad=False)
    compare(
        lambda lib, x: lib.lgamma(x, out=lib.empty(5, dtype=lib.float64)),
        [R.uniform(0.5, 4, 5)],
        grad=False,
    )


def test_xlog1py_and_entr():
    x = np.array([0.0, 1.5, -2.0, 3.0, 0.0])
    y = np.array([np.nan, 0.5, 1.0, -0.5, 2.0])
    compare(lambda lib, a, b: lib.special.xlog1py(a, b), [x, y], rtol=1e-12, atol=1e-14)
    compare(
        lambda lib, a: lib.special.entr(a),
        [np.array([0.5, 1.0, 2.5, -1.0, 0.0, np.nan])],
        grad=False,
    )
    compare(
        lambda lib, a: lib.special.ndtri(a),
        [np.array([0.0, 0.1, 0.5, 0.975, 1.0])],
        grad=False,
        rtol=1e-10,
        atol=1e-12,
    )


def test_errors():
    assert_same_error(
        lambda lib: lib.polygamma(-1, lib.ones(2)), match="does not support negative n"
    )
    assert_same_error(
        lambda lib: lib.mvlgamma(lib.ones(2), 0), match="p has to be greater than or equal to 1"
    )


# ---------------------------------------------------------------------------
# triangular linear algebra


def _spd(n, batch=()):
    a = R.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [False, True])
def test_solve_triangular(upper, left, unitriangular):
    A = R.normal(size=(2, 4, 4)) + 4 * np.eye(4)
    B = R.normal(size=(4, 3)) if left else R.normal(size=(3, 4))
    compare(
        lambda lib, a, b: lib.linalg.solve_triangular(
            a, b, upper=upper, left=left, unitriangular=unitriangular
        ),
        [A, B],
        rtol=1e-10,
        atol=1e-12,
        grad_rtol=1e-9,
        grad_atol=1e-11,
    )
    a = tapegrad.tensor(A, requires_grad=True)
    b = tapegrad.tensor(B, requires_grad=True)
    assert gradgradcheck(
        lambda a, b: tapegrad.linalg.solve_triangular(
            a, b, upper=upper, left=left, unitriangular=unitriangular
        ),
        (a, b),
    )


def test_solve_triangular_errors():
    assert_same_error(
        lambda lib: lib.linalg.solve_triangular(lib.ones(2, 3), lib.ones(2, 1), upper=False),
        match="square",
    )
    assert_same_error(
        lambda lib: lib.linalg.solve_triangular(lib.eye(2), lib.ones(3, 1), upper=False),
        match="Incompatible shapes",
    )
    assert_same_error(
        lambda lib: lib.linalg.solve_triangular(lib.ones(2), lib.ones(2, 1), upper=False),
        match="at least 2 dimensions",
    )
    compare(
        lambda lib, a, b: lib.linalg.solve_triangular(a, b.float(), upper=False),
        [np.eye(2) * 2, np.ones((2, 1))],
        grad=False,
    )


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_gradients(upper):
    compare(
        lambda lib, a: lib.linalg.cholesky(a @ a.mT + 3 * lib.eye(3, dtype=a.dtype), upper=upper),
        [R.normal(size=(2, 3, 3))],
        rtol=1e-10,
        atol=1e-12,
        grad_rtol=1e-9,
        grad_atol=1e-11,
    )
    compare(
        lambda lib, a: lib.linalg.cholesky(a, upper=upper),
        [_spd(3)],
        rtol=1e-10,
        atol=1e-12,
        grad_rtol=1e-9,
        grad_atol=1e-11,
    )
    a = tapegrad.tensor(R.normal(size=(3, 3)), requires_grad=True)
    assert gradgradcheck(
        lambda a: tapegrad.linalg.cholesky(
            a @ a.mT + 3 * tapegrad.eye(3, dtype=a.dtype), upper=upper
        ),
        (a,),
    )


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_inverse(upper):
    L = np.linalg.cholesky(_spd(3, (2,)))
    if upper:
        L = np.swapaxes(L, -1, -2)
    compare(
        lambda lib, l: lib.cholesky_inverse(l, upper=upper),
        [L],
        rtol=1e-10,
        atol=1e-12,
        grad_rtol=1e-9,
        grad_atol=1e-11,
    )
    assert_same(
        torch.cholesky_inverse(torch.tensor(L[0]), upper=upper),
        tapegrad.cholesky_inverse(tapegrad.tensor(L[0]), upper=upper),
        rtol=1e-10,
        atol=1e-12,
    )


def test_gammainc_gammaincc_and_gamma_cdf_match_pytorch():
    a = np.array([0.5, 1, 2, 5, 30, 0.1, 200, 3.0])
    x = np.array([0.1, 1, 3, 2, 40, 5, 180, 0.0])
    for name in ("gammainc", "gammaincc"):
        want = getattr(torch.special, name)(torch.tensor(a), torch.tensor(x)).numpy()
        got = getattr(tapegrad.special, name)(tapegrad.tensor(a), tapegrad.tensor(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(
        tapegrad.igamma(tapegrad.tensor(a), tapegrad.tensor(x)).numpy(),
        tapegrad.special.gammainc(tapegrad.tensor(a), tapegrad.tensor(x)).numpy(),
    )
    res = []
    for L in (torch, tapegrad):
        rate = L.tensor([3.0, 1.2], dtype=L.float64, requires_grad=True)
        d = L.distributions.Gamma(L.tensor([2.0, 0.7], dtype=L.float64), rate)
        y = d.cdf(L.tensor([0.5, 2.0], dtype=L.float64))
        y.sum().backward()
        res.append((y.detach().numpy(), rate.grad.numpy()))
    for x_, y_ in zip(*res):
        np.testing.assert_allclose(y_, x_, rtol=1e-12)
    with pytest.raises(RuntimeError, match="derivative for aten::igamma"):
        a_ = tapegrad.tensor([2.0], requires_grad=True)
        tapegrad.special.gammainc(a_, tapegrad.tensor([1.0])).sum().backward()
