"""``nn.utils.parametrize``, ``nn.utils.parametrizations`` (weight_norm, spectral_norm,
orthogonal) and the hook-based ``nn.utils.weight_norm``/``spectral_norm``, against PyTorch:
values, gradients, state dict keys, module structure, RNG streams and errors. Also the
linear algebra they need: ``matrix_exp``, ``geqrf``, ``householder_product``."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
import torch.nn.utils.parametrizations as tpz
import torch.nn.utils.parametrize as tP
from conftest import assert_same_error

import tapegrad
import tapegrad.nn.utils.parametrizations as gpz
import tapegrad.nn.utils.parametrize as gP

LIBS = (torch, tapegrad)


def _pz(L):
    return tpz if L is torch else gpz


def _P(L):
    return tP if L is torch else gP


def _np(t):
    return t.detach().numpy()


def _both(fn):
    """fn(L) -> list of arrays/values for torch and tapegrad."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(torch), fn(tapegrad)


def _close(a, b, rtol=1e-5, atol=1e-6):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, np.ndarray):
            np.testing.assert_allclose(y, x, rtol=rtol, atol=atol)
        else:
            assert x == y


# ---------------------------------------------------------------------------------------
# register_parametrization


class _Symmetric:
    @staticmethod
    def make(L):
        class Symmetric(L.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(-1, -2)

        return Symmetric()


class _Scale:
    @staticmethod
    def make(L, k=2.0):
        class Scale(L.nn.Module):
            def forward(self, X):
                return X * k

            def right_inverse(self, Y):
                return Y / k

        return Scale()


def test_register_parametrization_values_grads_and_structure():
    def run(L):
        L.manual_seed(0)
        m = L.nn.Linear(3, 3).double()
        _P(L).register_parametrization(m, "weight", _Symmetric.make(L))
        x = L.tensor(np.linspace(-1, 1, 6).reshape(2, 3))
        y = m(x)
        (y * y).sum().backward()
        orig = m.parametrizations.weight.original
        return [
            _np(y),
            _np(m.weight),
            _np(orig.grad),
            type(m).__name__,
            sorted(m.state_dict()),
            sorted(n for n, _ in m.named_parameters()),
            _P(L).is_parametrized(m),
            _P(L).is_parametrized(m, "weight"),
            _P(L).is_parametrized(m, "bias"),
            _P(L).type_before_parametrizations(m).__name__,
            repr(m).replace("Symmetric", "S"),
        ]

    a, b = _both(run)
    _close(a, b, rtol=1e-12, atol=1e-12)


def test_assignment_uses_right_inverse_and_chains():
    def run(L):
        L.manual_seed(0)
        m = L.nn.Linear(2, 2).double()
        P = _P(L)
        P.register_parametrization(m, "weight", _Scale.make(L, 2.0))
        P.register_parametrization(m, "weight", _Scale.make(L, 3.0))
        orig = m.parametrizations.weight.original
        ident = id(orig)
        w = L.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=L.float64)
        m.weight = w
        return [
            _np(m.weight),
            _np(m.parametrizations.weight.original),
            id(m.parametrizations.weight.original) == ident,
            len(m.parametrizations.weight),
        ]

    a, b = _both(run)
    _close(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations(leave):
    def run(L):
        L.manual_seed(0)
        m = L.nn.Linear(3, 2).double()
        P = _P(L)
        P.register_parametrization(m, "weight", _Scale.make(L, 2.0))
        P.register_parametrization(m, "bias", _Scale.make(L, 5.0))
        P.remove_parametrizations(m, "weight", leave_parametrized=leave)
        mid = [type(m).__name__, sorted(m.state_dict())]
        P.remove_parametrizations(m, "bias", leave_parametrized=leave)
        return mid + [
            type(m).__name__,
            _np(m.weight),
            _np(m.bias),
            sorted(m.state_dict()),
            hasattr(m, "parametrizations"),
            isinstance(m.weight, L.nn.Parameter),
        ]

    a, b = _both(run)
    _close(a, b, rtol=1e-12, atol=0)


def test_cached_computes_once():
    calls = {}

    def run(L):
        calls[L] = 0

        class Count(L.nn.Module):
            def forward(self, X):
                calls[L] += 1
                return X + 1

        m = L.nn.Linear(2, 2)
        _P(L).register_parametrization(m, "weight", Count())
        calls[L] = 0
        with _P(L).cached():
            _ = m.weight
            _ = m.weight
        _ = m.weight
        return [calls[L]]

    a, b = _both(run)
    assert a == b == [2]


def test_parametrized_module_state_dict_round_trip_and_deepcopy():
    def run(L):
        L.manual_seed(0)
        m = L.nn.Linear(3, 2)
        _pz(L).weight_norm(m)
        m2 = L.nn.Linear(3, 2)
        _pz(L).weight_norm(m2)
        m2.load_state_dict(m.state_dict())
        m3 = copy.deepcopy(m)
        return [_np(m2.weight), _np(m3.weight), type(m3).__name__]

    a, b = _both(run)
    _close(a, b)


def test_pickling_a_parametrized_module_is_refused():
    def run(L):
        m = L.nn.Linear(2, 2)
        _pz(L).weight_norm(m)
        pickle.dumps(m)

    assert_same_error(run, match="Serialization of parametrized modules is only")


def test_register_errors():
    def unknown(L):
        _P(L).register_parametrization(L.nn.Linear(2, 2), "nope", _Scale.make(L))

    assert_same_error(unknown, match="does not have a parameter, a buffer, or a parametrized")

    def bad_shape(L):
        class Flat(L.nn.Module):
            def forward(self, X):
                return X.flatten()

        _P(L).register_parametrization(L.nn.Linear(2, 2), "weight", Flat())

    assert_same_error(bad_shape, match="may not change the shape")

    def bad_dtype(L):
        class ToDouble(L.nn.Module):
            def forward(self, X):
                return X.double()

        _P(L).register_parametrization(L.nn.Linear(2, 2), "weight", ToDouble())

    assert_same_error(bad_dtype, match="may not change the dtype")

    def not_parametrized(L):
        _P(L).remove_parametrizations(L.nn.Linear(2, 2), "weight")

    assert_same_error(not_parametrized, match="does not have a parametrization on weight")

    def no_right_inverse(L):
        m = L.nn.Linear(2, 2)
        _P(L).register_parametrization(m, "weight", _Symmetric.make(L))
        m.weight = L.zeros(2, 2)

    assert_same_error(no_right_inverse, match="does not implement right_inverse")


def test_transfer_parametrizations_and_params():
    def run(L):
        L.manual_seed(0)
        src = L.nn.Linear(3, 2)
        _P(L).register_parametrization(src, "weight", _Scale.make(L, 2.0))
        dst = L.nn.Linear(3, 2)
        _P(L).transfer_parametrizations_and_params(src, dst)
        return [
            _np(dst.weight),
            dst.parametrizations.weight.original is src.parametrizations.weight.original,
            type(dst).__name__,
        ]

    a, b = _both(run)
    _close(a, b)


# ---------------------------------------------------------------------------------------
# parametrizations


@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_weight_norm(dim):
    def run(L):
        L.manual_seed(0)
        m = L.nn.Conv2d(3, 4, 3)
        _pz(L).weight_norm(m, dim=dim)
        x = L.randn(2, 3, 5, 5)
        y = m(x)
        y.square().sum().backward()
        pl = m.parametrizations.weight
        return [
            _np(y),
            _np(pl.original0),
            _np(pl.original1),
            _np(pl.original0.grad),
            _np(pl.original1.grad),
            sorted(m.state_dict()),
        ]

    a, b = _both(run)
    _close(a, b, rtol=2e-5, atol=2e-5)


def test_weight_norm_loads_old_style_checkpoints():
    def run(L):
        L.manual_seed(0)
        old = L.nn.utils.weight_norm(L.nn.Linear(3, 2))
        sd = old.state_dict()
        new = _pz(L).weight_norm(L.nn.Linear(3, 2))
        new.load_state_dict(sd)
        return [sorted(sd), _np(new.weight), _np(old.weight)]

    a, b = _both(run)
    _close(a, b)
    np.testing.assert_allclose(b[1], b[2], rtol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.nn.Linear(5, 4),
        lambda L: L.nn.Conv2d(2, 3, 3),
        lambda L: L.nn.ConvTranspose2d(2, 3, 3),
    ],
)
def test_spectral_norm(make):
    def run(L):
        L.manual_seed(0)
        m = _pz(L).spectral_norm(make(L), n_power_iterations=2)
        shape = (2, 5) if isinstance(m, L.nn.Linear) else (2, 2, 5, 5)
        x = L.randn(*shape)
        y1 = m(x)
        y1.sum().backward()
        m.eval()
        y2 = m(x)
        pl = m.parametrizations.weight
        return [
            _np(y1),
            _np(y2),
            _np(pl[0]._u),
            _np(pl[0]._v),
            _np(pl.original.grad),
            sorted(m.state_dict()),
        ]

    a, b = _both(run)
    _close(a, b, rtol=1e-4, atol=1e-5)


def test_spectral_norm_errors():
    assert_same_error(
        lambda L: _pz(L).spectral_norm(L.nn.Linear(2, 2), n_power_iterations=0),
        match="Expected n_power_iterations to be positive",
    )
    assert_same_error(
        lambda L: _pz(L).spectral_norm(L.nn.Linear(2, 2), dim=2), match="Dimension out of range"
    )
    assert_same_error(
        lambda L: _pz(L).spectral_norm(L.nn.Linear(2, 2), name="w"),
        match="has no parameter or buffer with name 'w'",
    )


@pytest.mark.parametrize("omap", [None, "matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("triv", [True, False])
def test_orthogonal(omap, shape, triv):
    def run(L):
        L.manual_seed(0)
        m = L.nn.Linear(shape[1], shape[0]).double()
        _pz(L).orthogonal(m, orthogonal_map=omap, use_trivialization=triv)
        x = L.randn(2, shape[1], dtype=L.float64)
        y = m(x)
        (y * y).sum().backward()
        W = m.weight
        eye = W @ W.mT if shape[0] < shape[1] else W.mT @ W
        return [
            _np(y),
            _np(m.parametrizations.weight.original.grad),
            _np(eye),
            sorted(m.state_dict()),
        ]

    a, b = _both(run)
    _close(a, b, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(b[2], np.eye(min(shape)), atol=1e-12)


def test_orthogonal_errors():
    assert_same_error(
        lambda L: _pz(L).orthogonal(L.nn.Linear(3, 3), orthogonal_map="qr"),
        match="orthogonal_map has to be one of",
    )
    assert_same_error(
        lambda L: _pz(L).orthogonal(L.nn.BatchNorm1d(3)), match="Expected a matrix or batch"
    )


# ---------------------------------------------------------------------------------------
# the hook-based forms


def test_old_weight_norm_and_remove():
    def run(L):
        L.manual_seed(0)
        with pytest.warns(FutureWarning, match="deprecated in favor of"):
            m = L.nn.utils.weight_norm(L.nn.Linear(4, 3), dim=0)
        x = L.randn(2, 4)
        y = m(x)
        y.sum().backward()
        out = [_np(y), _np(m.weight_g.grad), _np(m.weight_v.grad), sorted(m.state_dict())]
        L.nn.utils.remove_weight_norm(m)
        return out + [sorted(m.state_dict()), _np(m.weight)]

    a, b = run(torch), run(tapegrad)
    _close(a, b)
    assert_same_error(
        lambda L: L.nn.utils.remove_weight_norm(L.nn.Linear(2, 2)), match="weight_norm of"
    )


def test_old_spectral_norm_and_remove():
    def run(L):
        L.manual_seed(0)
        m = L.nn.utils.spectral_norm(L.nn.Conv2d(2, 3, 3))
        x = L.randn(2, 2, 5, 5)
        y = m(x)
        y.sum().backward()
        m(x)
        out = [
            _np(y),
            _np(m.weight_orig.grad),
            _np(m.weight_u),
            _np(m.weight_v),
            sorted(m.state_dict()),
        ]
        L.nn.utils.remove_spectral_norm(m)
        return out + [sorted(m.state_dict()), _np(m.weight)]

    a, b = run(torch), run(tapegrad)
    _close(a, b, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------
# linear algebra


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
@pytest.mark.parametrize("scale", [0.1, 1.0, 20.0])
def test_matrix_exp_values_and_grads(shape, scale):
    a = np.random.default_rng(1).standard_normal(shape) * scale
    g = np.random.default_rng(2).standard_normal(shape)
    res = {}
    for L in LIBS:
        A = L.tensor(a, requires_grad=True)
        E = L.linalg.matrix_exp(A)
        E.backward(L.tensor(g))
        res[L] = (_np(E), _np(A.grad), _np(L.matrix_exp(A)))
    for x, y in zip(res[torch], res[tapegrad]):
        np.testing.assert_allclose(y, x, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(x).max()))


def test_matrix_exp_gradcheck_and_gradgradcheck():
    A = tapegrad.tensor(np.random.default_rng(3).standard_normal((3, 3)), requires_grad=True)
    assert tapegrad.autograd.gradcheck(tapegrad.linalg.matrix_exp, (A,))
    assert tapegrad.autograd.gradgradcheck(tapegrad.linalg.matrix_exp, (A,))


def test_matrix_exp_errors():
    assert_same_error(lambda L: L.linalg.matrix_exp(L.ones(2, 3)), match="square")
    assert_same_error(lambda L: L.linalg.matrix_exp(L.ones(3)), match="at least 2 dimensions")


@pytest.mark.parametrize("shape", [(5, 3), (4, 4), (2, 6, 2)])
def test_geqrf_and_householder_product(shape):
    a = np.random.default_rng(4).standard_normal(shape)
    res = {}
    for L in LIBS:
        X, tau = L.geqrf(L.tensor(a))
        A = X.clone().requires_grad_()
        T = tau.clone().requires_grad_()
        Q = L.linalg.householder_product(A, T)
        (Q * L.tensor(np.linspace(-1, 1, Q.numel()).reshape(tuple(Q.shape)))).sum().backward()
        res[L] = (_np(X), _np(tau), _np(Q), _np(A.grad), _np(T.grad), _np(L.orgqr(X, tau)))
    for x, y in zip(res[torch], res[tapegrad]):
        np.testing.assert_allclose(y, x, rtol=1e-10, atol=1e-12)
    A = tapegrad.tensor(a, requires_grad=True)
    T = tapegrad.tensor(np.abs(res[torch][1]), requires_grad=True)
    assert tapegrad.autograd.gradcheck(tapegrad.linalg.householder_product, (A, T))


def test_householder_product_errors():
    assert_same_error(
        lambda L: L.linalg.householder_product(L.ones(2, 3), L.ones(2)),
        match="greater than or equal to input.shape[-1]",
    )
    assert_same_error(
        lambda L: L.linalg.householder_product(L.ones(3, 2), L.ones(3)),
        match="input.shape[-1] must be greater than or equal to tau.shape[-1]",
    )
