"""Linear algebra against PyTorch: decompositions, solvers, norms, their gradients, and the
course's least-squares programs (linear regression, polynomial fitting)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error, compare

import tapegrad

LIBS = [torch, tapegrad]


def both(fn):
    return fn(torch), fn(tapegrad)


def _mat(rng, *shape, cond=3.0, dtype="float64"):
    a = rng.standard_normal(shape)
    if shape[-1] == shape[-2]:
        a = a + cond * np.eye(shape[-1])
    return a.astype(dtype)


def _spd(rng, n, batch=()):
    m = rng.standard_normal(batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_solvers_values_and_grads(dtype):
    rng = np.random.default_rng(0)
    A = _mat(rng, 4, 4, dtype=dtype)
    Ab = _mat(rng, 2, 3, 3, dtype=dtype)
    B = rng.standard_normal((4, 2)).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else {}
    compare(lambda L, a, b: L.linalg.solve(a, b), [A, B], **tol, grad_rtol=1e-3, grad_atol=1e-4)
    compare(lambda L, a, b: L.linalg.solve(a, b[:, 0]), [A, B], grad_rtol=1e-3, grad_atol=1e-4)
    compare(lambda L, a: L.linalg.inv(a), [Ab], grad_rtol=1e-3, grad_atol=1e-4)
    compare(lambda L, a: L.inverse(a) @ a, [A], grad_rtol=1e-3, grad_atol=1e-4)
    compare(lambda L, a: [L.linalg.det(a), L.det(a)], [Ab], grad_rtol=1e-3, grad_atol=1e-4)
    compare(lambda L, a: list(L.linalg.slogdet(a)) + [L.logdet(a @ a.mT)], [A], grad_rtol=1e-3)


def test_decompositions():
    rng = np.random.default_rng(1)
    S = _spd(rng, 4)
    M = rng.standard_normal((5, 3))

    def eigh(L, s):
        w, v = L.linalg.eigh(s)
        return [w, v.abs(), (v * w) @ v.mT]

    compare(eigh, [S], grad=False)
    compare(lambda L, s: L.linalg.eigvalsh(s), [S])

    def svd(L, m):
        U, s, Vh = L.linalg.svd(m, full_matrices=False)
        return [s, U.abs(), Vh.abs(), (U * s) @ Vh, L.linalg.svdvals(m)]

    compare(svd, [M], grad=False)

    def qr(L, m):
        Q, R = L.linalg.qr(m)
        return [Q.abs(), R.abs(), Q @ R, L.linalg.qr(m, mode="complete").Q.shape]

    compare(qr, [M], grad=False)
    compare(lambda L, s: L.linalg.cholesky(s), [S], grad=False)

    def eig(L, s):
        w, v = L.linalg.eig(s)
        order = L.argsort(w.real)
        return [w.real[order], L.linalg.eigvals(s).real.sort().values]

    compare(eig, [S], grad=False)


def test_eigh_gradient():
    rng = np.random.default_rng(2)
    S = _spd(rng, 3)

    def fn(L, s):
        s = (s + s.mT) / 2
        w, v = L.linalg.eigh(s)
        return [w, (v * v).sum(0), (v[:, 0] * v[:, 1]).abs()]

    compare(fn, [S], grad_rtol=1e-5, grad_atol=1e-7)


def test_norms():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))

    def fn(L, x):
        return [
            L.linalg.norm(x),
            L.linalg.norm(x, dim=1),
            L.linalg.norm(x, ord=1, dim=0),
            L.linalg.norm(x, "fro"),
            L.linalg.norm(x, float("inf"), dim=1),
            L.linalg.vector_norm(x, 3),
            L.linalg.vector_norm(x, dim=(0, 1), keepdim=True),
            L.linalg.matrix_norm(x),
            L.linalg.norm(x, "nuc"),
            L.linalg.norm(x, 2),
            x.norm(p=2, dim=1, keepdim=True),
            L.norm(x, dim=0),
            L.dist(x[0], x[1], 3),
        ]

    compare(fn, [x])


def test_lstsq():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((6, 3))
    B = rng.standard_normal((6, 2))

    def fn(L, a, b):
        r = L.linalg.lstsq(a, b)
        return [r.solution, r.residuals, r.rank, L.linalg.lstsq(a, b[:, 0]).solution]

    compare(fn, [A, B], grad=False)
    compare(
        lambda L, a, b: L.linalg.lstsq(a, b, driver="gelsd").singular_values, [A, B], grad=False
    )
    Ab = rng.standard_normal((2, 5, 3))
    Bb = rng.standard_normal((2, 5, 1))
    compare(lambda L, a, b: L.linalg.lstsq(a, b).solution, [Ab, Bb], grad=False)


def test_lstsq_gradient():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((6, 3))
    B = rng.standard_normal((6, 2))
    compare(lambda L, a, b: L.linalg.lstsq(a, b).solution, [A, B])


def test_gels_matches_lstsq():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((5, 3))
    Y = rng.standard_normal((5, 1))
    X, _ = tapegrad.gels(tapegrad.tensor(Y), tapegrad.tensor(A))
    ref = torch.linalg.lstsq(torch.tensor(A), torch.tensor(Y)).solution
    np.testing.assert_allclose(X[:3].numpy(), ref.numpy(), rtol=1e-10)
    assert tuple(X.shape) == (5, 1)  # (max(m, n), k) like the old torch.gels


def test_matmul_family_batched():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((2, 3, 4)).astype("float32")
    b = rng.standard_normal((4, 5)).astype("float32")
    v = rng.standard_normal((4,)).astype("float32")
    compare(
        lambda L, a, b, v: [a @ b, L.matmul(a, v), L.einsum("bij,jk->bik", a, b), a.matmul(b)],
        [a, b, v],
    )
    compare(
        lambda L, a, b, v: [L.outer(v, v), L.dot(v, v), L.mv(b.t(), v), L.addmm(b[:1], a[0], b)],
        [a, b, v],
    )
    compare(lambda L, a, b, v: L.tensordot(a, b, dims=([2], [0])), [a, b, v])
    compare(lambda L, a, b, v: L.einsum("...ij,j->...i", a, v), [a, b, v])
    compare(lambda L, a, b, v: L.einsum("i,i->", v, v), [a, b, v])
    compare(lambda L, a, b, v: L.linalg.matrix_power(b[:, :4], 3), [a, b, v])


def test_int_matmul():
    compare(
        lambda L, a, b: [a @ b, L.mm(a, b)],
        [np.arange(6).reshape(2, 3), np.arange(6).reshape(3, 2)],
    )


LINALG_ERRORS = [
    lambda L: L.linalg.solve(L.ones(2, 3), L.ones(2)),
    lambda L: L.linalg.solve(L.zeros(3, 3), L.ones(3, 1)),
    lambda L: L.linalg.inv(L.ones(3)),
    lambda L: L.linalg.det(L.ones(3)),
    lambda L: L.linalg.eigh(L.ones(2, 3)),
    lambda L: L.linalg.cholesky(-L.eye(2)),
    lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(4, 1)),
    lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(3, 1, dtype=L.float64)),
    lambda L: L.linalg.inv(L.ones(2, 2, dtype=L.int64)),
    lambda L: L.einsum("ij,jk->ik", L.ones(2, 3), L.ones(4, 2)),
    lambda L: L.outer(L.ones(2, 2), L.ones(2)),
    lambda L: L.bmm(L.ones(2, 3, 4), L.ones(3, 4, 5)),
]


@pytest.mark.parametrize("k", range(len(LINALG_ERRORS)))
def test_linalg_error_parity(k):
    assert_same_error(LINALG_ERRORS[k])


def test_svd_singular_values_backward_equals_pytorch():
    x = tapegrad.randn(4, 3, dtype=tapegrad.float64, requires_grad=True)
    tapegrad.linalg.svd(x, full_matrices=False).S.sum().backward()
    ref = torch.tensor(x.detach().numpy(), requires_grad=True)
    torch.linalg.svd(ref, full_matrices=False).S.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    "name,fn",
    [
        ("linalg_svd", lambda x: tapegrad.linalg.svd(x, full_matrices=False).U),
        ("linalg_qr", lambda x: tapegrad.linalg.qr(x).Q),
    ],
)
def test_unsupported_backward_is_clear(name, fn):
    # The singular vectors' and QR's derivatives are not implemented: backward must say so.
    x = tapegrad.randn(4, 3, dtype=tapegrad.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"derivative for '{name}' is not implemented"):
        fn(x).sum().backward()
    assert x.grad is None


# ---------------------------------------------------------------------------
# the course's least-squares programs


AGES = [39, 47, 45, 47, 65, 46, 67, 42, 67, 56, 64, 56, 59, 34, 42, 48, 45, 17, 20, 19]
PRESSURE = [
    144,
    220,
    138,
    145,
    162,
    142,
    170,
    124,
    158,
    154,
    162,
    150,
    140,
    110,
    128,
    130,
    135,
    114,
    116,
    124,
]


def prog_linear_regression(L):
    data = L.tensor(np.array([AGES, PRESSURE], dtype=np.float64).T)
    nb_samples = data.size(0)
    x, y = L.empty(nb_samples, 2), L.empty(nb_samples, 1)
    x[:, 0] = data[:, 0]
    x[:, 1] = 1
    y[:, 0] = data[:, 1]
    alpha = L.linalg.lstsq(x, y).solution
    a, b = alpha[0, 0].item(), alpha[1, 0].item()
    # the normal equations with the inverse, as an alternative in the course
    alpha2 = L.inverse(x.t() @ x) @ x.t() @ y
    return [alpha, a, b, alpha2, (x @ alpha - y).pow(2).mean()]


def fit_polynomial(L, D, x, y):
    X = L.empty(x.size(0), D + 1)
    for d in range(D + 1):
        X[:, d] = x.pow(d)
    Y = y.view(-1, 1)
    alpha = L.linalg.lstsq(X, Y).solution
    return alpha[: D + 1, 0]


def prog_polynomial_fit(L):
    D, N = 4, 100
    x = L.linspace(-math.pi, math.pi, N)
    y = x.sin()
    alpha = fit_polynomial(L, D, x, y)
    X = L.empty(N, D + 1)
    for d in range(D + 1):
        X[:, d] = x.pow(d)
    yhat = X.mv(alpha)
    return [alpha, yhat, (yhat - y).abs().max()]


def prog_solve_and_eig(L):
    L.manual_seed(0)
    y = L.empty(3).normal_()
    m = L.empty(3, 3).normal_()
    q = L.linalg.lstsq(m, y.view(-1, 1)).solution
    sym = m @ m.t()
    return [y, m, L.mm(m, q), L.linalg.solve(m, y), L.linalg.eigvalsh(sym), L.linalg.det(m)]


@pytest.mark.parametrize(
    "prog",
    [prog_linear_regression, prog_polynomial_fit, prog_solve_and_eig],
    ids=lambda p: p.__name__,
)
def test_least_squares_programs(prog):
    t, g = both(prog)
    assert_same(t, g, rtol=2e-4, atol=1e-4)


def test_gradcheck_linalg_extras():
    """Central differences agree for lstsq, singular values, spectral/nuclear norms, cdist, cov."""
    rng = np.random.default_rng(8)
    A = tapegrad.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    B = tapegrad.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    gc = tapegrad.autograd.gradcheck
    assert gc(lambda a, b: tapegrad.linalg.lstsq(a, b).solution, (A, B))
    assert gc(lambda a: tapegrad.linalg.svdvals(a), (A,))
    assert gc(lambda a: tapegrad.linalg.svd(a, full_matrices=False).S, (A,))
    assert gc(lambda a: [tapegrad.linalg.norm(a, "nuc"), tapegrad.linalg.norm(a, 2)], (A,))
    assert gc(lambda a, b: tapegrad.cdist(a, b), (A[:, :2].detach().requires_grad_(), B))
    assert gc(lambda a: [tapegrad.cov(a.t()), tapegrad.corrcoef(a.t())], (A,))


# ---------------------------------------------------------------------------
# second derivatives (create_graph=True) against PyTorch's double backward


def _sym(x):
    return (x + x.mT) / 2


DOUBLE_BACKWARD = [
    ("svdvals_wide", lambda L, a: L.linalg.svdvals(a), [(3, 4)], "real"),
    ("svdvals_tall_batched", lambda L, a: L.linalg.svd(a).S, [(2, 5, 3)], "real"),
    ("lstsq", lambda L, a, b: L.linalg.lstsq(a, b).solution, [(5, 3), (5, 2)], "real"),
    ("lstsq_vec", lambda L, a, b: L.linalg.lstsq(a, b).solution, [(5, 3), (5,)], "real"),
    ("det_batched", lambda L, a: L.linalg.det(a), [(2, 3, 3)], "wellcond"),
    ("slogdet_batched", lambda L, a: L.linalg.slogdet(a).logabsdet, [(2, 3, 3)], "wellcond"),
    ("inv_batched", lambda L, a: L.linalg.inv(a) @ a.sin(), [(2, 3, 3)], "wellcond"),
    ("solve_vec", lambda L, a, b: L.linalg.solve(a, b), [(3, 3), (3,)], "wellcond"),
    ("solve_right", lambda L, a, b: L.linalg.solve(a, b, left=False), [(3, 3), (2, 3)], "wellcond"),
    (
        "eigh_both",
        lambda L, a: [L.linalg.eigh(_sym(a)).eigenvalues, _eigh_squares(L, a)],
        [(3, 3)],
        "spd",
    ),
    (
        "einsum_diag",
        lambda L, a: L.einsum("bii->bi", a) * L.einsum("...ij->...", a)[:, None],
        [(2, 3, 3)],
        "real",
    ),
    (
        "einsum_ellipsis",
        lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b),
        [(2, 3, 4), (4, 2)],
        "real",
    ),
    ("einsum_three", lambda L, a, b: L.einsum("ij,jk,ki->i", a, b, a.mT), [(3, 4), (4, 4)], "real"),
    ("matrix_power", lambda L, a: L.linalg.matrix_power(a, -2), [(3, 3)], "wellcond"),
]


def _eigh_squares(L, a):
    # the eigenvectors' signs are arbitrary: their squares are not
    return L.linalg.eigh(_sym(a)).eigenvectors ** 2


@pytest.mark.parametrize(
    "name,fn,shapes,domain", DOUBLE_BACKWARD, ids=[c[0] for c in DOUBLE_BACKWARD]
)
def test_double_backward(name, fn, shapes, domain):
    from test_ops import Op, _check_double_backward, sample

    rng = np.random.default_rng(11)
    arrays = [sample(s, domain if k == 0 else "real", rng, "float64") for k, s in enumerate(shapes)]
    assert not _check_double_backward(Op(name, fn, [shapes]), arrays, seed=0)
    xs = [tapegrad.tensor(a, requires_grad=True) for a in arrays]

    def f(*inputs):
        out = fn(tapegrad, *inputs)
        return tuple(out) if isinstance(out, list) else out

    assert tapegrad.autograd.gradgradcheck(f, xs, eps=1e-6, atol=1e-5, rtol=1e-4)


def _det_grad_grad(L, a):
    x = L.tensor(a, dtype=L.float64, requires_grad=True)
    (g,) = L.autograd.grad(L.linalg.det(x), x, create_graph=True)
    w = L.arange(x.numel(), dtype=L.float64).reshape(x.shape)
    (h,) = L.autograd.grad((g * w).sum(), x)
    return [g, h]


def test_det_double_backward_at_singular_matrices():
    """At a singular matrix the gradient of det is the cofactor matrix, still differentiable."""
    a = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]]
    t, g = both(lambda L: _det_grad_grad(L, a))
    assert_same(t, g, rtol=1e-9, atol=1e-9)
    # rank 0: det = ad - bc has the constant Hessian [[d, -c], [-b, a]] applied to w, where
    # PyTorch's SVD-based formula gives NaN
    g, h = _det_grad_grad(tapegrad, [[0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(h.numpy(), [[3.0, -2.0], [-1.0, 0.0]])


def test_third_order_inv_and_det():
    def run(L):
        x = L.tensor(_mat(np.random.default_rng(12), 3, 3), requires_grad=True)
        y = L.linalg.det(x) * L.linalg.inv(x).sum()
        (g,) = L.autograd.grad(y, x, create_graph=True)
        (h,) = L.autograd.grad(g.sin().sum(), x, create_graph=True)
        (k,) = L.autograd.grad((h * h).sum(), x)
        return k

    t, g = both(run)
    assert_same(t, g, rtol=1e-8, atol=1e-10)


def test_cdist_double_backward_like_pytorch():
    """cdist's kernel is once differentiable in PyTorch; its matrix-product path (p=2, more
    than 25 rows) is not a kernel and differentiates twice."""
    from test_ops import Op, _check_double_backward

    rng = np.random.default_rng(13)
    small = [rng.standard_normal((3, 4)), rng.standard_normal((5, 4))]
    for p in (2.0, 1.0):
        op = Op("cdist", lambda L, a, b, p=p: L.cdist(a, b, p=p), [])
        assert _check_double_backward(op, small, seed=0)  # both raise NotImplementedError
    big = [rng.standard_normal((30, 3)), rng.standard_normal((4, 3))]
    assert not _check_double_backward(Op("cdist_mm", lambda L, a, b: L.cdist(a, b), []), big, 0)
