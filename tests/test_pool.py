"""Pooling parity with PyTorch: max/avg/adaptive/LP pooling and max-unpooling, functional and
module forms, values, indices and gradients; the fast paths against direct loops; gradcheck
in float64; thread-count independence; PyTorch's exception types for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error, compare, to_numpy

import tapegrad
from tapegrad.autograd import gradcheck
from tapegrad.ops import conv as CV
from tapegrad.ops import pool as P

R = np.random.default_rng(7)


def _randn(*shape, dtype=np.float32):
    return R.standard_normal(shape).astype(dtype)


def _ties(*shape):
    """Small integers as floats: windows full of equal maxima."""
    return R.integers(0, 3, shape).astype(np.float32)


# (input shape, kernel, stride, padding, dilation, ceil_mode)
MAX2D = [
    ((2, 3, 9, 9), 3, None, 0, 1, False),
    ((2, 3, 9, 9), 3, 2, 1, 1, True),
    ((1, 2, 10, 7), (3, 2), (2, 1), (1, 0), 1, False),
    ((2, 2, 11, 11), 3, 2, 1, 2, False),
    ((2, 2, 11, 11), 3, 2, 1, 2, True),
    ((3, 1, 8, 8), 2, None, 0, 1, False),
    ((2, 4, 7, 9), 2, 3, 1, 1, True),
    ((1, 1, 5, 5), 5, 1, 2, 1, False),
    ((2, 3, 6, 6), 1, 2, 0, 1, False),
    ((2, 3, 13, 12), (2, 3), (3, 2), (1, 1), (2, 1), True),
    ((3, 8, 8), 2, None, 0, 1, False),
    ((100, 32, 24, 24), 3, None, 0, 1, False),
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX2D)
@pytest.mark.parametrize("data", [_randn, _ties])
@pytest.mark.parametrize("ri", [False, True])
def test_max_pool2d(shape, k, s, p, d, ceil, data, ri):
    x = data(*shape)
    compare(lambda lib, a: lib.nn.functional.max_pool2d(a, k, s, p, d, ceil, ri), [x])


MAX1D = [
    ((2, 3, 11), 3, None, 0, 1, False),
    ((2, 3, 11), 3, 2, 1, 1, True),
    ((1, 2, 12), 2, 1, 1, 3, False),
    ((3, 10), 4, 3, 2, 1, True),
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX1D)
@pytest.mark.parametrize("ri", [False, True])
def test_max_pool1d(shape, k, s, p, d, ceil, ri):
    x = _randn(*shape)
    t, g = compare(lambda lib, a: lib.nn.functional.max_pool1d(a, k, s, p, d, ceil, ri), [x])
    t0, g0 = (t[0], g[0]) if ri else (t, g)
    assert g0.grad_fn.name() == t0.grad_fn.name() == "SqueezeBackward1"


def test_max_pool_nan_and_inf():
    x = _randn(2, 2, 6, 6)
    x[0, 0, 0, 1] = np.nan
    x[0, 0, 1, 0] = np.nan
    x[1, 1, 2:4, 2:4] = -np.inf
    compare(lambda lib, a: lib.nn.functional.max_pool2d(a, 2, return_indices=True), [x])
    compare(lambda lib, a: lib.nn.functional.max_pool2d(a, 3, 1, 1, return_indices=True), [x])


def test_max_pool_int_dtype_and_grad_fn():
    x = R.integers(-5, 5, (2, 3, 6, 6)).astype(np.int64)
    compare(lambda lib, a: lib.nn.functional.avg_pool2d(a, 3, 2, 1, True, False), [x])
    compare(lambda lib, a: lib.nn.functional.max_pool2d(a, 2, 1, 1, return_indices=True), [x])
    t, g = compare(lambda lib, a: lib.nn.functional.max_pool2d(a, 2), [_randn(1, 1, 4, 4)])
    assert g.grad_fn.name() == t.grad_fn.name() == "MaxPool2DWithIndicesBackward0"


def test_max_pool3d():
    x = _randn(2, 2, 5, 6, 7)
    compare(lambda lib, a: lib.nn.functional.max_pool3d(a, 2, return_indices=True), [x])
    compare(lambda lib, a: lib.nn.functional.max_pool3d(a, (3, 2, 2), 2, 1, 1, True), [x])


# (input shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG2D = [
    ((2, 3, 9, 9), 3, None, 0, False, True, None),
    ((2, 3, 9, 9), 3, 2, 1, True, True, None),
    ((2, 3, 9, 9), 3, 2, 1, True, False, None),
    ((1, 2, 10, 7), (3, 2), (2, 1), (1, 0), False, False, None),
    ((2, 2, 8, 8), 2, None, 0, False, True, 3),
    ((2, 2, 11, 11), 4, 3, 2, True, False, None),
    ((2, 2, 7, 7), 3, 1, 1, False, True, None),
    ((3, 8, 8), 2, None, 0, False, True, None),
    ((2, 3, 7, 9), 2, 3, 1, True, True, 5),
]


@pytest.mark.parametrize("shape,k,s,p,ceil,cip,div", AVG2D)
def test_avg_pool2d(shape, k, s, p, ceil, cip, div):
    x = _randn(*shape)
    compare(lambda lib, a: lib.nn.functional.avg_pool2d(a, k, s, p, ceil, cip, div), [x])


@pytest.mark.parametrize(
    "shape,k,s,p,ceil,cip",
    [
        ((2, 3, 11), 3, None, 0, False, True),
        ((2, 3, 11), 3, 2, 1, True, False),
        ((3, 9), 2, 1, 1, False, True),
    ],
)
def test_avg_pool1d(shape, k, s, p, ceil, cip):
    x = _randn(*shape)
    t, g = compare(lambda lib, a: lib.nn.functional.avg_pool1d(a, k, s, p, ceil, cip), [x])
    assert g.grad_fn.name() == t.grad_fn.name()


def test_avg_pool3d():
    x = _randn(2, 2, 5, 6, 7)
    compare(lambda lib, a: lib.nn.functional.avg_pool3d(a, 2), [x])
    compare(lambda lib, a: lib.nn.functional.avg_pool3d(a, 3, 2, 1, True, False), [x])


@pytest.mark.parametrize(
    "shape,out",
    [
        ((2, 3, 9, 9), 3),
        ((2, 3, 10, 7), (4, 3)),
        ((2, 3, 10, 7), (None, 2)),
        ((1, 2, 5, 5), 1),
        ((2, 2, 4, 6), (4, 6)),
        ((3, 7, 5), (3, 4)),
        ((2, 2, 3, 3), (5, 7)),
    ],
)
def test_adaptive_pool2d(shape, out):
    x = _randn(*shape)
    t, g = compare(lambda lib, a: lib.nn.functional.adaptive_avg_pool2d(a, out), [x])
    assert g.grad_fn.name() == t.grad_fn.name()
    t, g = compare(lambda lib, a: lib.nn.functional.adaptive_max_pool2d(a, out, True), [x])
    assert g[0].grad_fn.name() == t[0].grad_fn.name()
    compare(lambda lib, a: lib.nn.functional.adaptive_max_pool2d(a, out), [_ties(*shape)])


@pytest.mark.parametrize(
    "shape,out", [((2, 3, 11), 4), ((2, 3, 12), 4), ((3, 5), 7), ((2, 2, 6), 1)]
)
def test_adaptive_pool1d(shape, out):
    x = _randn(*shape)
    compare(lambda lib, a: lib.nn.functional.adaptive_avg_pool1d(a, out), [x])
    compare(lambda lib, a: lib.nn.functional.adaptive_max_pool1d(a, out, True), [x])


def test_adaptive_pool3d():
    x = _randn(2, 2, 5, 6, 7)
    compare(lambda lib, a: lib.nn.functional.adaptive_avg_pool3d(a, (2, 3, 4)), [x])
    compare(lambda lib, a: lib.nn.functional.adaptive_max_pool3d(a, (2, 3, 4), True), [x])


@pytest.mark.parametrize(
    "shape,k,s,p,out_size",
    [
        ((2, 3, 8, 8), 2, None, 0, None),
        ((2, 3, 9, 9), 3, 2, 1, None),
        ((2, 3, 9, 9), 3, 2, 1, (9, 9)),
        ((1, 2, 7, 7), 2, None, 0, (1, 2, 7, 7)),
    ],
)
def test_max_unpool2d(shape, k, s, p, out_size):
    x = _randn(*shape)

    def fn(lib, a):
        y, i = lib.nn.functional.max_pool2d(a, k, s, p, return_indices=True)
        return lib.nn.functional.max_unpool2d(y * 2, i, k, s, p, out_size)

    compare(fn, [x])


def test_max_unpool1d():
    x = _randn(2, 3, 10)

    def fn(lib, a):
        y, i = lib.nn.functional.max_pool1d(a, 2, return_indices=True)
        return lib.nn.functional.max_unpool1d(y, i, 2), lib.nn.functional.max_unpool1d(
            y, i, 2, output_size=[11]
        )

    compare(fn, [x])


def test_lp_pool():
    x = np.abs(_randn(2, 3, 9, 9)) + 0.1
    compare(lambda lib, a: lib.nn.functional.lp_pool2d(a, 2, 3, 2), [x])
    compare(lambda lib, a: lib.nn.functional.lp_pool2d(a, 3.0, (2, 3)), [x])
    compare(lambda lib, a: lib.nn.functional.lp_pool1d(a, 2, 3, ceil_mode=True), [x[:, :, 0]])


# ---------------------------------------------------------------------------
# modules


MODULES = [
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 11)),
    ("MaxPool2d", (3,), {}, (2, 3, 9, 9)),
    ("MaxPool2d", (3, 2, 1), {"dilation": 1, "ceil_mode": True}, (2, 3, 10, 9)),
    ("MaxPool2d", (2,), {"return_indices": True}, (2, 3, 8, 8)),
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AvgPool1d", (3,), {"count_include_pad": False, "padding": 1}, (2, 3, 11)),
    ("AvgPool2d", ((3, 2),), {"stride": 2, "ceil_mode": True}, (2, 3, 9, 9)),
    ("AvgPool2d", (2,), {"divisor_override": 3}, (2, 3, 8, 8)),
    ("AvgPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("LPPool1d", (2, 3), {}, (2, 3, 9)),
    ("LPPool2d", (2, 2), {"stride": 1}, (2, 3, 6, 6)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 9, 7)),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 2, 4, 5, 4)),
    ("AdaptiveMaxPool1d", (4,), {"return_indices": True}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", ((3, 2),), {}, (2, 3, 9, 7)),
    ("AdaptiveMaxPool3d", (2,), {}, (1, 2, 4, 5, 4)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", MODULES)
def test_modules(name, args, kwargs, shape):
    x = _randn(*shape)
    if name.startswith("LP"):
        x = np.abs(x) + 0.1
    mt = getattr(torch.nn, name)(*args, **kwargs)
    mg = getattr(tapegrad.nn, name)(*args, **kwargs)
    assert repr(mg) == repr(mt)
    compare(lambda lib, a: (mt if lib is torch else mg)(a), [x])


def test_max_unpool_modules():
    x = _randn(2, 3, 8, 8)
    for lib_name in ("2d", "1d"):
        xs = x if lib_name == "2d" else x[:, :, 0]

        def fn(lib, a, lib_name=lib_name):
            pool = getattr(lib.nn, f"MaxPool{lib_name}")(2, return_indices=True)
            unpool = getattr(lib.nn, f"MaxUnpool{lib_name}")(2)
            y, i = pool(a)
            assert repr(unpool) == repr(getattr(torch.nn, f"MaxUnpool{lib_name}")(2))
            return unpool(y, i)

        compare(fn, [xs])


# ---------------------------------------------------------------------------
# the fast paths against direct loops, gradcheck, threads


@pytest.mark.parametrize("shape,k,s,p,d,ceil", [c for c in MAX2D if len(c[0]) == 4][:10])
def test_max_pool_against_reference(shape, k, s, p, d, ceil):
    x = _ties(*shape) + _randn(*shape) * (R.random(shape) < 0.3)
    y, i = tapegrad.nn.functional.max_pool2d(tapegrad.tensor(x), k, s, p, d, ceil, True)
    g = P._pool_geom("max_pool2d", tapegrad.tensor(x), 2, k, s, p, d, ceil)
    ry, ri = P._reference_max_pool(x, g.k, g.s, g.p, g.d, g.out)
    np.testing.assert_array_equal(y.numpy(), ry.astype(np.float32))
    np.testing.assert_array_equal(i.numpy(), ri)


@pytest.mark.parametrize("shape,k,s,p,ceil,cip,div", [c for c in AVG2D if len(c[0]) == 4])
def test_avg_pool_against_reference(shape, k, s, p, ceil, cip, div):
    x = _randn(*shape).astype(np.float64)
    y = tapegrad.nn.functional.avg_pool2d(tapegrad.tensor(x), k, s, p, ceil, cip, div)
    g = P._pool_geom("avg_pool2d", tapegrad.tensor(x), 2, k, s, p, 1, ceil)
    ry = P._reference_avg_pool(x, g.k, g.s, g.p, g.out, cip, div)
    np.testing.assert_allclose(y.numpy(), ry, rtol=1e-12, atol=1e-12)


GRADCHECK = [
    lambda F, a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True),
    lambda F, a: F.max_pool2d(a, 2, 1, dilation=2),
    lambda F, a: F.max_pool1d(a[:, :, 0], 3, 2, 1),
    lambda F, a: F.avg_pool2d(a, 3, 2, 1, True, False),
    lambda F, a: F.avg_pool2d(a, 2, divisor_override=3),
    lambda F, a: F.avg_pool1d(a[:, :, 0], 2, 1, 1),
    lambda F, a: F.adaptive_avg_pool2d(a, (3, 4)),
    lambda F, a: F.adaptive_max_pool2d(a, (3, 4)),
    lambda F, a: F.lp_pool2d(a.abs() + 0.5, 2, 2),
    lambda F, a: F.max_unpool2d(*F.max_pool2d(a, 2, return_indices=True), 2),
]


@pytest.mark.parametrize("fn", GRADCHECK)
def test_gradcheck(fn):
    # Distinct values spaced well apart keep the max away from ties.
    x = (R.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) * 0.1).astype(np.float64)
    a = tapegrad.tensor(x, requires_grad=True)
    assert gradcheck(lambda t: fn(tapegrad.nn.functional, t), (a,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "fn",
    [
        lambda F, a: F.max_pool2d(a, 3, 2, 1, return_indices=True),
        lambda F, a: F.max_pool2d(a, 3),
        lambda F, a: F.avg_pool2d(a, 3, 2, 1, True, False),
        lambda F, a: F.avg_pool2d(a, 2),
        lambda F, a: F.max_pool2d(a.transpose(2, 3), 3),  # a strided input
        lambda F, a: F.max_pool2d(a, 2, 1, dilation=2, ceil_mode=True),
        lambda F, a: F.max_pool3d(a.unsqueeze(1), 2),
        lambda F, a: F.avg_pool2d(a.transpose(0, 1), 3, 3, 1, True, False),
    ],
)
def test_threads_and_blocks_identical(fn, monkeypatch):
    """Blocked and thread-split pooling equals one block on one thread, bit for bit."""
    monkeypatch.setattr(CV, "get_blas_threads", lambda: 1)  # split even beside a threaded BLAS
    x = _ties(16, 8, 24, 24) + _randn(16, 8, 24, 24) * 0.5
    outs, grads = [], []
    # (threads, block bytes): one block; 3 planes per block (a ragged last block);
    # one plane per block on 2 and 4 threads; the default blocks on 2 and 4 threads.
    plane = 24 * 24 * 4
    for n, block in ((1, 1 << 40), (1, 3 * plane), (2, 1), (4, 1), (2, None), (4, None)):
        tapegrad.set_num_threads(n)
        if block is not None:
            monkeypatch.setattr(P, "_BLOCK_BYTES", block)
        else:
            monkeypatch.undo()
            monkeypatch.setattr(CV, "get_blas_threads", lambda: 1)
        try:
            a = tapegrad.tensor(x, requires_grad=True)
            y = fn(tapegrad.nn.functional, a)
            y0 = y[0] if isinstance(y, tuple) else y
            up = np.cos(np.arange(y0.numel()).reshape(tuple(y0.shape))).astype(np.float32)
            y0.backward(tapegrad.tensor(up))
            outs.append([to_numpy(t) for t in (y if isinstance(y, tuple) else (y,))])
            grads.append(to_numpy(a.grad))
        finally:
            tapegrad.set_num_threads(1)
    for run_outs, run_grad in zip(outs[1:], grads[1:]):
        for o1, o2 in zip(outs[0], run_outs):
            np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(grads[0], run_grad)


@pytest.mark.parametrize(
    "fn",
    [
        lambda F, a: F.max_pool2d(a, 2),
        lambda F, a: F.avg_pool2d(a, 2),
        lambda F, a: F.adaptive_avg_pool2d(a, 3),
        lambda F, a: F.adaptive_max_pool2d(a, 3),
        lambda F, a: F.max_unpool2d(*F.max_pool2d(a, 2, return_indices=True), 2),
    ],
)
def test_second_backward_raises(fn):
    def run(lib, a):
        y = fn(lib.nn.functional, lib.tensor(a, requires_grad=True)).sum()
        y.backward()
        y.backward()

    assert_same_error(run, _randn(1, 2, 4, 4))


def test_first_layer_pool_on_data_needs_no_grad():
    x = tapegrad.tensor(_randn(2, 3, 8, 8))
    y = tapegrad.nn.functional.max_pool2d(x, 2)
    assert y.grad_fn is None and not y.requires_grad
    assert y.dtype == tapegrad.float32


# ---------------------------------------------------------------------------
# errors


ERRORS = [
    lambda F, x: F.max_pool2d(x, 0),
    lambda F, x: F.max_pool2d(x, (2, 2, 2)),
    lambda F, x: F.max_pool2d(x, 2, 0),
    lambda F, x: F.max_pool2d(x, 2, padding=2),
    lambda F, x: F.max_pool2d(x, 2, dilation=0),
    lambda F, x: F.max_pool2d(x, 9),
    lambda F, x: F.max_pool2d(x[0, 0], 2),
    lambda F, x: F.max_pool2d(x, 2.0),
    lambda F, x: F.max_pool2d(x.bool(), 2),
    lambda F, x: F.avg_pool2d(x, 0),
    lambda F, x: F.avg_pool2d(x, 2, padding=2),
    lambda F, x: F.avg_pool2d(x, 9),
    lambda F, x: F.avg_pool2d(x[0, 0], 2),
    lambda F, x: F.avg_pool2d(x, 2, divisor_override=0),
    lambda F, x: F.avg_pool2d(x.int(), 2),
    lambda F, x: F.max_pool1d(x[0], 9),
    lambda F, x: F.max_pool1d(x[0, 0, 0], 2),
    lambda F, x: F.max_pool1d(x[0], 2, padding=2),
    lambda F, x: F.avg_pool1d(x[0], 9),
    lambda F, x: F.avg_pool1d(x[0, 0, 0], 2),
    lambda F, x: F.adaptive_avg_pool2d(x, (2, 2, 2)),
    lambda F, x: F.adaptive_avg_pool2d(x[0, 0], 2),
    lambda F, x: F.adaptive_max_pool2d(x[0, 0], 2),
    lambda F, x: F.adaptive_avg_pool1d(x, 2),
    lambda F, x: F.adaptive_max_pool1d(x, 2),
    lambda F, x: F.max_unpool2d(x[:, :, :2, :2], x[:, :, :2, :2].long() + 100, 2),
    lambda F, x: F.max_unpool2d(x[:, :, :2, :2], x[:, :, :2, :2].long() * 0, 2, output_size=(9, 9)),
    lambda F, x: F.max_unpool2d(x[:, :, :2, :2], x[:, :, :2, :2] * 0, 2),
    lambda F, x: F.max_unpool2d(x[:, :, :2, :2], x[:, :, :2, :3].long() * 0, 2),
]


@pytest.mark.parametrize("fn", ERRORS)
def test_errors(fn):
    x = _randn(2, 3, 8, 8)
    assert_same_error(lambda lib, a: fn(lib.nn.functional, lib.tensor(a)), x)


def test_error_message_names_sizes():
    x = tapegrad.randn(2, 3, 4, 4)
    with pytest.raises(RuntimeError, match=r"Given input size: \(3x4x4\)"):
        tapegrad.nn.functional.max_pool2d(x, 5)


def test_output_size_parity_sweep():
    # Every (size, kernel, stride, padding, dilation, ceil_mode) in a small grid.
    for n in (4, 5, 7):
        for k in (1, 2, 3):
            for s in (1, 2, 3):
                for p in range(k // 2 + 1):
                    for ceil in (False, True):
                        x = _randn(1, 1, n, n + 1)
                        ta = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, 1, ceil, True)
                        ga = tapegrad.nn.functional.max_pool2d(
                            tapegrad.tensor(x), k, s, p, 1, ceil, True
                        )
                        assert_same(ta, ga)
                        tb = torch.nn.functional.avg_pool2d(torch.tensor(x), k, s, p, ceil, False)
                        gb = tapegrad.nn.functional.avg_pool2d(
                            tapegrad.tensor(x), k, s, p, ceil, False
                        )
                        assert_same(tb, gb)
