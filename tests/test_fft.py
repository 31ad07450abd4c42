"""torch.fft against PyTorch: values, dtypes, shapes, errors, gradients (complex autograd).

Float32 results are compared with a tolerance that covers FFT rounding: pocketfft's
error is O(eps * log n * sum|x|), about 1e-6 for these sizes, whichever kernel (NumPy's
or PyTorch's SIMD path) computed it; float64 results agree to ~1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad

ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_D = ["fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn"]
TWO_D = ["fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2"]
NORMS = [None, "backward", "forward", "ortho"]


def _data(kind: str, shape=(5, 6), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    re = rng.standard_normal(shape)
    if kind in ("complex64", "complex128"):
        return (re + 1j * rng.standard_normal(shape)).astype(kind)
    if kind in ("int64", "bool"):
        return (re * 3).astype(kind)
    return re.astype(kind)


def _tol(dtype_name: str) -> float:
    return 1e-4 if dtype_name in ("float32", "complex64") else 1e-10


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().resolve_conj().numpy()
    return np.array(t.detach().numpy())


def _op(name: str, **kwargs):
    """``lambda lib, x: lib.fft.<name>(x, **kwargs)`` with the arguments bound now."""
    return lambda lib, x: getattr(lib.fft, name)(x, **kwargs)


def check(fn, arr: np.ndarray) -> None:
    """``fn(lib, x)`` gives the same dtype, shape and values, or the same error, in both."""
    try:
        expected = fn(torch, torch.from_numpy(arr.copy()))
    except Exception as exc:  # noqa: BLE001 - any error must be mirrored
        with pytest.raises(Exception) as info:
            fn(tapegrad, tapegrad.from_numpy(arr.copy()))
        assert isinstance(info.value, type(exc)), f"{info.value!r} vs torch {exc!r}"
        assert str(info.value) == str(exc)
        return
    got = fn(tapegrad, tapegrad.from_numpy(arr.copy()))
    assert str(got.dtype) == str(expected.dtype)
    assert tuple(got.shape) == tuple(expected.shape)
    tol = _tol(str(expected.dtype).replace("torch.", ""))
    np.testing.assert_allclose(_np(got), _np(expected), rtol=tol, atol=tol)


# ---------------------------------------------------------------------------
# values, dtypes and shapes


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("kind", ["float32", "float64", "complex64", "complex128", "int64"])
def test_one_dimensional(name, kind):
    arr = _data(kind)
    f = name
    for norm in NORMS:
        for n in (None, 1, 4, 9):
            for dim in (-1, 0):
                check(_op(f, n=n, dim=dim, norm=norm), arr)


@pytest.mark.parametrize("name", N_D + TWO_D)
@pytest.mark.parametrize("kind", ["float32", "float64", "complex64", "complex128"])
def test_multi_dimensional(name, kind):
    arr = _data(kind, (3, 4, 5))
    f = name
    cases = [
        (None, (0, 1)),
        (None, (2, 0)),
        ((3, 4), None),
        ((-1, 7), (1, 2)),
        ((6,), (0,)),
        ((2, 3, 4), (2, 0, 1)),
        ((3, 4), (0, 1, 2)),  # an error: lengths differ
        ((2, 2), (1, -2)),  # an error: repeated dims
    ]
    if not name.endswith("2"):
        cases.append((None, None))
    for norm in (None, "ortho"):  # every norm is covered by the 1-d tests
        for s, dim in cases:
            kw = {} if dim is None else {"dim": dim}
            check(_op(f, s=s, norm=norm, **kw), arr)


@pytest.mark.parametrize("name", N_D)
def test_nd_defaults_and_empty_dims(name):
    f = name
    for arr in (_data("float64", (3, 4, 5)), _data("complex128", (3, 4, 5)), _data("float32", ())):
        check(lambda L, x: getattr(L.fft, f)(x), arr)
        check(lambda L, x: getattr(L.fft, f)(x, dim=()), arr)
        check(lambda L, x: getattr(L.fft, f)(x, dim=-1), arr)
        check(lambda L, x: getattr(L.fft, f)(x, s=3, dim=1), arr)


@pytest.mark.parametrize("kind", ["int64", "bool", "float32", "float64", "complex64"])
def test_dtype_rules(kind):
    arr = _data(kind, (4,))
    for name in ONE_D + ["fftn", "rfftn"]:
        check(_op(name), arr)


def test_integer_input_follows_the_default_dtype():
    x = tapegrad.arange(6)
    prev = tapegrad.get_default_dtype()
    tapegrad.set_default_dtype(tapegrad.float64)
    try:
        assert tapegrad.fft.fft(x).dtype is tapegrad.complex128
        assert tapegrad.fft.irfft(x).dtype is tapegrad.float64
    finally:
        tapegrad.set_default_dtype(prev)
    assert tapegrad.fft.rfft(x).dtype is tapegrad.complex64


def test_round_trips():
    x = tapegrad.randn(4, 7, dtype=tapegrad.float64)
    np.testing.assert_allclose(tapegrad.fft.irfft(tapegrad.fft.rfft(x), n=7).numpy(), x.numpy())
    y = tapegrad.fft.ifftn(tapegrad.fft.fftn(x, norm="ortho"), norm="ortho")
    np.testing.assert_allclose(y.real.numpy(), x.numpy(), atol=1e-12)
    z = tapegrad.fft.hfft(tapegrad.fft.ihfft(x), n=7)
    np.testing.assert_allclose(z.numpy(), x.numpy(), atol=1e-12)


def test_float32_precision_is_kept():
    x = tapegrad.randn(64)
    assert tapegrad.fft.rfft(x)._data.dtype == np.complex64
    assert tapegrad.fft.irfft(tapegrad.fft.rfft(x))._data.dtype == np.float32


# ---------------------------------------------------------------------------
# errors


ERRORS = [
    ("half", lambda L, x: L.fft.fft(x.half())),
    ("rfft complex", lambda L, x: L.fft.rfft(x.to(L.complex64))),
    ("rfft complex128", lambda L, x: L.fft.rfft(x.to(L.complex128))),
    ("ihfft complex", lambda L, x: L.fft.ihfft(x.to(L.complex64))),
    ("rfftn complex", lambda L, x: L.fft.rfftn(x.to(L.complex64))),
    ("rfft2 complex", lambda L, x: L.fft.rfft2(x.to(L.complex64))),
    ("ihfftn complex", lambda L, x: L.fft.ihfftn(x.to(L.complex64))),
    ("ihfft2 complex", lambda L, x: L.fft.ihfft2(x.to(L.complex64))),
    ("n=0", lambda L, x: L.fft.fft(x, n=0)),
    ("n=-1", lambda L, x: L.fft.rfft(x, n=-1)),
    ("irfft n=0", lambda L, x: L.fft.irfft(x, n=0)),
    ("irfft of length 1", lambda L, x: L.fft.irfft(x[:, :1])),
    ("hfft of length 1", lambda L, x: L.fft.hfft(x[:, :1])),
    ("dim too big", lambda L, x: L.fft.fft(x, dim=5)),
    ("dim too small", lambda L, x: L.fft.ifft(x, dim=-3)),
    ("0-d input", lambda L, x: L.fft.fft(x[0, 0])),
    ("empty signal", lambda L, x: L.fft.fft(x[:, :0])),
    ("repeated dims", lambda L, x: L.fft.fftn(x, dim=(0, 0))),
    ("repeated negative dims", lambda L, x: L.fft.rfftn(x, dim=(1, -1))),
    ("s and dim lengths", lambda L, x: L.fft.fftn(x, s=(3,), dim=(0, 1))),
    ("s too long", lambda L, x: L.fft.fftn(x, s=(3, 3, 3))),
    ("s zero", lambda L, x: L.fft.fftn(x, s=(0, 3))),
    ("s negative", lambda L, x: L.fft.irfftn(x, s=(-2, 3))),
    ("fftn dim out of range", lambda L, x: L.fft.fftn(x, dim=(5,))),
    ("rfftn no dims", lambda L, x: L.fft.rfftn(x, dim=())),
    ("irfftn no dims", lambda L, x: L.fft.irfftn(x, dim=())),
    ("hfftn no dims", lambda L, x: L.fft.hfftn(x, dim=())),
    ("rfftn 0-d", lambda L, x: L.fft.rfftn(x[0, 0])),
    ("fft2 of 1-d", lambda L, x: L.fft.fft2(x[0])),
    ("bad norm", lambda L, x: L.fft.fft(x, norm="bad")),
    ("bad norm n-d", lambda L, x: L.fft.irfftn(x, norm="sum")),
    ("real out", lambda L, x: L.fft.fft(x, out=L.empty(0))),
    ("complex out of irfft", lambda L, x: L.fft.irfft(x, out=L.empty(0, dtype=L.complex64))),
    ("fftfreq integer dtype", lambda L, x: L.fft.fftfreq(5, dtype=L.int64)),
    ("fftfreq negative n", lambda L, x: L.fft.fftfreq(-1)),
    ("rfftfreq integer dtype", lambda L, x: L.fft.rfftfreq(5, dtype=L.int32)),
]


@pytest.mark.parametrize("fn", [e[1] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(fn):
    with pytest.raises(Exception) as t_exc:
        fn(torch, torch.from_numpy(_data("float32", (4, 6))))
    with pytest.raises(type(t_exc.value)) as g_exc:
        fn(tapegrad, tapegrad.from_numpy(_data("float32", (4, 6))))
    assert str(g_exc.value) == str(t_exc.value)


# ---------------------------------------------------------------------------
# out=


@pytest.mark.parametrize(
    "name,out_dtype", [("fft", "complex64"), ("fft", "complex128"), ("irfft", "float64")]
)
def test_out(name, out_dtype):
    arr = _data("float32", (3, 4))
    t_out = torch.empty(0, dtype=getattr(torch, out_dtype))
    g_out = tapegrad.empty(0, dtype=getattr(tapegrad, out_dtype))
    t_res = getattr(torch.fft, name)(torch.from_numpy(arr), out=t_out)
    g_res = getattr(tapegrad.fft, name)(tapegrad.from_numpy(arr.copy()), out=g_out)
    assert g_res is g_out
    assert str(g_out.dtype) == str(t_out.dtype) and tuple(g_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(_np(g_out), _np(t_res), rtol=1e-5, atol=1e-5)


def test_out_nd():
    arr = _data("float64", (3, 4))
    t_out, g_out = (
        torch.empty(0, dtype=torch.complex128),
        tapegrad.empty(0, dtype=tapegrad.complex128),
    )
    torch.fft.rfftn(torch.from_numpy(arr), s=(3, 6), out=t_out)
    tapegrad.fft.rfftn(tapegrad.from_numpy(arr.copy()), s=(3, 6), out=g_out)
    np.testing.assert_allclose(_np(g_out), _np(t_out), atol=1e-12)


# ---------------------------------------------------------------------------
# helpers: frequencies and shifts


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("d", [1.0, 0.5, 3])
def test_fftfreq_rfftfreq(n, d):
    for name in ("fftfreq", "rfftfreq"):
        for dt in (None, "float64", "float32"):
            kw = {} if dt is None else {"dtype": getattr(torch, dt)}
            t = getattr(torch.fft, name)(n, d, **kw)
            kw = {} if dt is None else {"dtype": getattr(tapegrad, dt)}
            g = getattr(tapegrad.fft, name)(n, d, **kw)
            assert str(g.dtype) == str(t.dtype) and tuple(g.shape) == tuple(t.shape)
            np.testing.assert_allclose(_np(g), _np(t), rtol=1e-6, equal_nan=True)


def test_fftfreq_keywords():
    g = tapegrad.fft.fftfreq(4, requires_grad=True, dtype=tapegrad.float64)
    assert g.requires_grad and g.is_leaf and g.dtype is tapegrad.float64
    out = tapegrad.empty(0, dtype=tapegrad.float64)
    assert tapegrad.fft.rfftfreq(6, 2.0, out=out) is out
    np.testing.assert_allclose(out.numpy(), torch.fft.rfftfreq(6, 2.0, dtype=torch.float64))
    with pytest.raises(NotImplementedError):
        tapegrad.fft.fftfreq(5, dtype=tapegrad.complex64)


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
def test_shifts(name):
    f = name
    for arr in (
        np.arange(5),
        np.arange(6.0),
        np.arange(30).reshape(5, 6),
        _data("complex64", (3, 4, 5)),
    ):
        check(lambda L, x: getattr(L.fft, f)(x), arr)
        for dim in (0, -1, (0,), (-1, 0)):
            check(_op(f, dim=dim), arr)
    check(lambda L, x: getattr(L.fft, f)(x), np.asarray(3.0))  # torch.roll: `shifts` required
    check(lambda L, x: getattr(L.fft, f)(x, dim=()), np.arange(4.0))


def test_shift_is_differentiable_and_inverse():
    x = tapegrad.randn(5, 6, requires_grad=True)
    y = tapegrad.fft.ifftshift(tapegrad.fft.fftshift(x))
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
    (y * tapegrad.arange(30.0).reshape(5, 6)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(30.0).reshape(5, 6))


# ---------------------------------------------------------------------------
# gradients against PyTorch (complex autograd through real losses)


def _grads(lib, fn, arrays, seed=5):
    leaves = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(lib, *leaves)
    if out.dtype.is_complex:
        out = lib.view_as_real(out.resolve_conj())
    up = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    up = lib.tensor(up.astype(np.float64 if "64" in str(out.dtype) else np.float32))
    return out, lib.autograd.grad(out, leaves, up)


def check_grads(fn, arrays, tol=1e-9):
    """Values and gradients of ``fn(lib, *leaves)`` agree (complex outputs via view_as_real)."""
    t_out, t_grads = _grads(torch, fn, arrays)
    g_out, g_grads = _grads(tapegrad, fn, arrays)
    np.testing.assert_allclose(_np(g_out), _np(t_out), rtol=tol, atol=tol)
    for t, g in zip(t_grads, g_grads):
        assert str(g.dtype) == str(t.dtype)
        np.testing.assert_allclose(_np(g), _np(t), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("kind", ["float64", "complex128"])
def test_grad_one_dimensional(name, kind):
    if kind == "complex128" and name in ("rfft", "ihfft"):
        pytest.skip("real-input transform")
    arr = _data(kind, (4, 6))
    f = name
    for norm in (None, "forward", "ortho"):
        for n in (None, 3, 8):
            for dim in (-1, 0):
                check_grads(_op(f, n=n, dim=dim, norm=norm), [arr])


@pytest.mark.parametrize("name", N_D + TWO_D)
@pytest.mark.parametrize("kind", ["float64", "complex128"])
def test_grad_multi_dimensional(name, kind):
    if kind == "complex128" and name.startswith(("rfft", "ihfft")):
        pytest.skip("real-input transform")
    arr = _data(kind, (3, 4, 5))
    f = name
    for norm in (None, "ortho"):
        for s, dim in ((None, (0, 1)), ((3, 4), (1, 2)), ((-1, 7), (2, 0)), ((2, 6, 3), None)):
            if name.endswith("2") and dim is None:
                continue
            kw = {} if dim is None else {"dim": dim}
            check_grads(_op(f, s=s, norm=norm, **kw), [arr])


def test_grad_float32_has_input_dtype():
    check_grads(lambda L, x: L.fft.rfft(x).abs(), [_data("float32", (3, 8))], tol=1e-4)
    check_grads(lambda L, x: L.fft.irfft(x, n=7), [_data("complex64", (3, 4))], tol=1e-4)


LOSSES = {
    "abs": lambda L, y: y.abs(),
    "abs squared": lambda L, y: y.abs() ** 2,
    "real": lambda L, y: y.real,
    "imag": lambda L, y: y.imag * 2,
    "angle": lambda L, y: y.angle(),
    "view_as_real": lambda L, y: L.view_as_real(y) ** 2,
    "conj mul": lambda L, y: y * y.conj(),
    "complex mul": lambda L, y: y * y * (1 - 2j),
    "complex add": lambda L, y: y + y.conj() + 3j,
    "div": lambda L, y: y / (y.abs() + 1),
    "sum": lambda L, y: y.sum(0),
    "exp": lambda L, y: (y * 0.1).exp(),
}


@pytest.mark.parametrize("loss", list(LOSSES))
def test_complex_ops_after_fft(loss):
    f = LOSSES[loss]
    check_grads(lambda L, x: f(L, L.fft.rfft(x, norm="ortho")), [_data("float64", (3, 8))])
    check_grads(lambda L, x: f(L, L.fft.fft(x)), [_data("complex128", (3, 5))])


def test_spectral_filter_and_complex_constructors():
    a, b = _data("float64", (3, 8)), _data("float64", (3, 8), seed=1)
    check_grads(lambda L, x, w: L.fft.irfft(L.fft.rfft(x) * L.fft.rfft(w), n=8), [a, b])
    check_grads(lambda L, x, w: L.fft.ifft(L.complex(x, w)), [a, b])
    check_grads(lambda L, r, t: L.fft.fft(L.polar(r.abs(), t)), [a, b])
    check_grads(lambda L, x: L.fft.irfft(L.view_as_complex(x)), [_data("float64", (3, 5, 2))])
    check_grads(lambda L, x, w: L.fft.fft(x) * w, [a, b])  # real times complex


_W = _data("complex128", (4, 2), seed=2)

COMPLEX_OPS = {
    "matmul": lambda L, a: a @ L.tensor(_W),
    "mm": lambda L, a: L.mm(a, L.tensor(_W)),
    "einsum": lambda L, a: L.einsum("ij,jk->ik", a, L.tensor(_W)),
    "mH": lambda L, a: a.mH @ a,
    "T": lambda L, a: a.T @ a,
    "mean": lambda L, a: a.mean(1),
    "cumsum": lambda L, a: a.cumsum(1),
    "sqrt": lambda L, a: a.sqrt(),
    "log": lambda L, a: a.log(),
    "sin": lambda L, a: a.sin(),
    "tanh": lambda L, a: a.tanh(),
    "reciprocal": lambda L, a: a.reciprocal(),
    "square": lambda L, a: a.square(),
    "pow": lambda L, a: a**3,
    "pow tensor": lambda L, a: a ** (a * 0.5),
    "scalar pow": lambda L, a: 2**a,
    "sub": lambda L, a: 1 - a,
    "index": lambda L, a: a[1:, ::2] * a[:2, 1::2],
    "cat": lambda L, a: L.cat([a, a * 1j]),
    "where": lambda L, a: L.where(a.real > 0, a, a * 2),
    "to complex64": lambda L, a: a.to(L.complex64).abs(),
    "real to complex": lambda L, a: a.real.to(L.complex128) * (1 + 2j),
    "phase": lambda L, a: L.exp(1j * a.real),
    "sgn": lambda L, a: a.sgn() * L.sgn(a * 2j),
}


@pytest.mark.parametrize("op", list(COMPLEX_OPS))
def test_complex_autograd_of_common_ops(op):
    tol = 1e-5 if op == "to complex64" else 1e-8  # float32 rounding in that one
    check_grads(COMPLEX_OPS[op], [_data("complex128", (3, 4))], tol=tol)


def test_complex_parts_and_views():
    z = tapegrad.tensor([1 + 2j, 3 - 4j])
    assert z.real._data.base is not None and z.imag._data.base is not None
    r = tapegrad.view_as_real(z)
    assert tuple(r.shape) == (2, 2) and r.dtype is tapegrad.float32
    r[0, 1] = 5.0  # a view: writes reach the complex tensor
    assert z[0].item() == 1 + 5j
    back = tapegrad.view_as_complex(r)
    assert back.dtype is tapegrad.complex64 and back.tolist() == z.tolist()
    x = tapegrad.tensor([1.0, -2.0])
    assert x.real is x and x.conj() is x
    assert tapegrad.angle(tapegrad.tensor([-1, 2])).tolist() == pytest.approx([np.pi, 0.0])


COMPLEX_ERRORS = [
    ("imag of real", lambda L: L.tensor([1.0]).imag),
    ("view_as_real of real", lambda L: L.view_as_real(L.ones(2))),
    ("view_as_complex last dim", lambda L: L.view_as_complex(L.ones(3))),
    ("view_as_complex int", lambda L: L.view_as_complex(L.ones(3, 2, dtype=L.int64))),
    ("view_as_complex stride", lambda L: L.view_as_complex(L.ones(2, 4)[:, ::2])),
    ("view_as_complex odd stride", lambda L: L.view_as_complex(L.ones(3, 3)[:, :2])),
    ("complex dtypes", lambda L: L.complex(L.ones(2), L.ones(2, dtype=L.float64))),
    ("complex ints", lambda L: L.complex(L.ones(2, dtype=L.int64), L.ones(2, dtype=L.int64))),
    ("polar dtypes", lambda L: L.polar(L.ones(2), L.ones(2, dtype=L.float64))),
]


@pytest.mark.parametrize("fn", [e[1] for e in COMPLEX_ERRORS], ids=[e[0] for e in COMPLEX_ERRORS])
def test_complex_errors(fn):
    with pytest.raises(Exception) as t_exc:
        fn(torch)
    with pytest.raises(type(t_exc.value)) as g_exc:
        fn(tapegrad)
    assert str(g_exc.value) == str(t_exc.value)


# ---------------------------------------------------------------------------
# finite differences and double backward


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: tapegrad.view_as_real(tapegrad.fft.rfft(x, n=7, norm="ortho")),
        lambda x: tapegrad.fft.irfft(tapegrad.view_as_complex(x), n=9),
        lambda x: tapegrad.fft.hfft(tapegrad.view_as_complex(x), norm="forward"),
        lambda x: tapegrad.view_as_real(tapegrad.fft.ifft2(tapegrad.view_as_complex(x), s=(3, 5))),
        lambda x: tapegrad.view_as_real(tapegrad.fft.ihfftn(x)),
        lambda x: tapegrad.fft.irfftn(tapegrad.view_as_complex(x), s=(2, 6)),
        lambda x: tapegrad.fft.rfft(x).abs(),
    ],
    ids=["rfft", "irfft", "hfft", "ifft2", "ihfftn", "irfftn", "rfft-abs"],
)
def test_gradcheck(fn):
    rng = np.random.default_rng(3)
    shape = (4, 6, 2) if "view_as_complex" in fn.__code__.co_names else (4, 6)
    x = tapegrad.tensor(rng.standard_normal(shape), requires_grad=True)
    assert tapegrad.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-6)


def _double(lib, fn, arr):
    x = lib.tensor(arr.copy(), requires_grad=True)
    y = fn(lib, x)
    if y.dtype.is_complex:
        y = lib.view_as_real(y.resolve_conj())
    (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
    loss = (g.abs() ** 2).sum() if g.dtype.is_complex else (g * g * g).sum()
    (h,) = lib.autograd.grad(loss, x)
    return g.detach(), h


@pytest.mark.parametrize(
    "fn,kind",
    [
        (lambda L, x: L.fft.rfft(x, n=7, norm="ortho"), "float64"),
        (lambda L, x: L.fft.irfft(x, n=9), "complex128"),
        (lambda L, x: L.fft.fft(x, dim=0, norm="forward"), "complex128"),
        (lambda L, x: L.fft.fft2(x), "float64"),
        (lambda L, x: L.fft.hfft(x), "complex128"),
        (lambda L, x: L.fft.ihfftn(x), "float64"),
        (lambda L, x: L.fft.fft(x).abs(), "float64"),
        (lambda L, x: L.fft.fft(x).angle(), "float64"),
    ],
    ids=["rfft", "irfft", "fft", "fft2", "hfft", "ihfftn", "abs", "angle"],
)
def test_double_backward(fn, kind):
    arr = _data(kind, (3, 6))
    for t, g in zip(_double(torch, fn, arr), _double(tapegrad, fn, arr)):
        np.testing.assert_allclose(_np(g), _np(t), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("which", ["real", "imag", "view_as_real"])
def test_inplace_on_real_views_of_complex(which):
    def run(lib):
        z = lib.tensor(np.array([1 + 2j, 3 - 4j, 0.5j]), requires_grad=True)
        y = z * 1
        if which == "real":
            y.real.mul_(3)
        elif which == "imag":
            y.imag.add_(y.real.detach() * 2)
        else:
            lib.view_as_real(y)[0, 1] = 7.0
        (g,) = lib.autograd.grad((y.abs() ** 2).sum(), z)
        return y.detach(), g

    for t, g in zip(run(torch), run(tapegrad)):
        np.testing.assert_allclose(_np(g), _np(t), rtol=1e-12)
