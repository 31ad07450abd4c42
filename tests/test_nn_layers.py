"""Layer parity with PyTorch: the same module in both libraries, weights copied through
state_dict; outputs, input and parameter gradients, buffers, gradcheck and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error, compare, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad
from tapegrad.autograd import gradcheck

R = np.random.default_rng(1234)


def _randn(*shape, dtype=np.float32):
    return R.standard_normal(shape).astype(dtype)


def build_pair(ctor, dtype=np.float32, randomize=True):
    """``ctor(nn)`` in both libraries, tapegrad loaded from torch's (randomised) state_dict."""
    tm = ctor(torch.nn)
    gm = ctor(tapegrad.nn)
    if dtype == np.float64:
        tm.double()
        gm.double()
    if randomize:
        with torch.no_grad():
            for p in tm.parameters():
                p.copy_(torch.tensor(R.uniform(0.5, 1.5, tuple(p.shape)).astype(dtype)))
    sd = {k: tapegrad.tensor(to_numpy(v)) for k, v in tm.state_dict().items()}
    res = gm.load_state_dict(sd)
    assert not res.missing_keys and not res.unexpected_keys
    assert list(gm.state_dict().keys()) == list(tm.state_dict().keys())
    return tm, gm


def check_layer(ctor, *inputs, train=True, steps=1, rtol=None, atol=None, grad=True, dtype=None):
    """Forward/backward parity of a module on NumPy ``inputs`` (float inputs get grads)."""
    dt = dtype or (inputs[0].dtype if inputs[0].dtype.kind == "f" else np.float32)
    tm, gm = build_pair(ctor, dt)
    tm.train(train)
    gm.train(train)
    for step in range(steps):
        t_in, g_in = [], []
        for a in inputs:
            a = a * (step + 1) if a.dtype.kind == "f" else a
            t, g = torch.tensor(a.copy()), tapegrad.tensor(a.copy())
            if grad and a.dtype.kind == "f":
                t.requires_grad_(True)
                g.requires_grad_(True)
            t_in.append(t)
            g_in.append(g)
        to, go = tm(*t_in), gm(*g_in)
        assert_same(to, go, rtol, atol)
        for k, v in tm.state_dict().items():
            assert_same(v, gm.state_dict()[k], rtol, atol, where=f"buffer {k}")
        if not grad or not to.requires_grad:
            continue
        up = R.standard_normal(tuple(to.shape)).astype(to_numpy(to).dtype)
        to.backward(torch.tensor(up))
        go.backward(tapegrad.tensor(up))
        for i, (t, g) in enumerate(zip(t_in, g_in)):
            if t.requires_grad:
                assert_same(t.grad, g.grad, rtol, atol, where=f"input grad {i}")
        gp = dict(gm.named_parameters())
        for name, p in tm.named_parameters():
            if p.grad is None:
                assert gp[name].grad is None or not gp[name].grad.numpy().any(), name
            else:
                assert_same(p.grad, gp[name].grad, rtol, atol, where=f"grad of {name}")
            p.grad = None
            gp[name].grad = None
    return tm, gm


def check_gradcheck(ctor, *shapes, train=True, positive=False):
    """gradcheck in float64 of the module's output w.r.t. its inputs and parameters."""
    _, gm = build_pair(ctor, np.float64)
    gm.train(train)
    xs = []
    for s in shapes:
        a = R.uniform(0.5, 2.0, s) if positive else R.standard_normal(s)
        xs.append(tapegrad.tensor(a, dtype=tapegrad.float64, requires_grad=True))
    params = [p for p in gm.parameters() if p.requires_grad]

    def fn(*args):
        return gm(*args[: len(xs)])

    assert gradcheck(fn, (*xs, *params), eps=1e-6, atol=1e-5, rtol=1e-3)


# ---------------------------------------------------------------------------
# Linear family and shape layers


@pytest.mark.parametrize(
    "ctor,shapes",
    [
        (lambda nn: nn.Linear(5, 3), [(4, 5)]),
        (lambda nn: nn.Linear(5, 3, bias=False), [(2, 3, 5)]),
        (lambda nn: nn.Linear(1, 2), [(1,)]),
        (lambda nn: nn.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
        (lambda nn: nn.Bilinear(2, 3, 4, bias=False), [(2, 6, 2), (2, 6, 3)]),
        (lambda nn: nn.Identity(3, unused="x"), [(2, 3)]),
        (lambda nn: nn.Flatten(), [(2, 3, 4)]),
        (lambda nn: nn.Flatten(0, 1), [(2, 3, 4)]),
        (lambda nn: nn.Unflatten(1, (2, 3)), [(4, 6)]),
    ],
)
def test_linear_and_shape_layers(ctor, shapes):
    check_layer(ctor, *[_randn(*s) for s in shapes])
    check_gradcheck(ctor, *shapes)


def test_linear_default_init_is_pytorch_bit_for_bit():
    for seed in (0, 7):
        torch.manual_seed(seed)
        tl = torch.nn.Linear(13, 9)
        tb = torch.nn.Bilinear(3, 4, 2)
        tapegrad.manual_seed(seed)
        gl = tapegrad.nn.Linear(13, 9)
        gb = tapegrad.nn.Bilinear(3, 4, 2)
        for t, g in ((tl, gl), (tb, gb)):
            for (k, a), b in zip(t.state_dict().items(), g.state_dict().values()):
                np.testing.assert_array_equal(to_numpy(b), to_numpy(a), err_msg=k)


def test_linear_errors():
    assert_same_error(lambda lib: lib.nn.Linear(3, 2)(lib.ones(4, 5)))
    assert_same_error(lambda lib: lib.nn.Linear(3, 2)(lib.ones(4, 3, dtype=lib.float64)))
    assert_same_error(lambda lib: lib.nn.Bilinear(3, 4, 2)(lib.ones(2, 3), lib.ones(3, 4)))


# ---------------------------------------------------------------------------
# activations

ACTIVATIONS = [
    lambda nn: nn.ReLU(),
    lambda nn: nn.ReLU6(),
    lambda nn: nn.LeakyReLU(),
    lambda nn: nn.LeakyReLU(0.2),
    lambda nn: nn.PReLU(),
    lambda nn: nn.PReLU(4, init=0.1),
    lambda nn: nn.ELU(),
    lambda nn: nn.ELU(alpha=0.5),
    lambda nn: nn.CELU(1.5),
    lambda nn: nn.SELU(),
    lambda nn: nn.GELU(),
    lambda nn: nn.GELU(approximate="tanh"),
    lambda nn: nn.SiLU(),
    lambda nn: nn.Mish(),
    lambda nn: nn.Softplus(),
    lambda nn: nn.Softplus(beta=2.0, threshold=1.0),
    lambda nn: nn.Tanh(),
    lambda nn: nn.Sigmoid(),
    lambda nn: nn.Hardtanh(),
    lambda nn: nn.Hardtanh(-2.0, 0.5),
    lambda nn: nn.Hardsigmoid(),
    lambda nn: nn.Hardswish(),
    lambda nn: nn.LogSigmoid(),
    lambda nn: nn.Softsign(),
    lambda nn: nn.Tanhshrink(),
    lambda nn: nn.Softshrink(),
    lambda nn: nn.Hardshrink(0.3),
    lambda nn: nn.Threshold(0.1, 20.0),
    lambda nn: nn.GLU(),
    lambda nn: nn.GLU(dim=1),
    lambda nn: nn.Softmax(dim=1),
    lambda nn: nn.Softmax(dim=-1),
    lambda nn: nn.Softmin(dim=0),
    lambda nn: nn.LogSoftmax(dim=1),
    lambda nn: nn.Softmax2d(),
]


def _away_from_kinks(shape):
    # Keep inputs off the activations' kinks (0, +-0.3, +-0.5, +-1, +-3, 0.1, 6) so that
    # central differences see a smooth function.
    x = R.uniform(-4, 4, shape)
    kinks = np.array([0.0, 0.1, 0.3, -0.3, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 0.5, -2.0])
    for k in kinks:
        close = np.abs(x - k) < 0.05
        x[close] += 0.1
    return x


@pytest.mark.parametrize("i", range(len(ACTIVATIONS)))
def test_activation_parity(i):
    ctor = ACTIVATIONS[i]
    x = _away_from_kinks((2, 4, 3, 2)).astype(np.float32)
    check_layer(ctor, x)
    check_layer(ctor, x.astype(np.float64))
    _, gm = build_pair(ctor, np.float64)
    xs = tapegrad.tensor(_away_from_kinks((2, 4, 1, 2)), requires_grad=True)
    params = [p for p in gm.parameters()]
    assert gradcheck(lambda *a: gm(a[0]), (xs, *params))
    assert repr(ctor(tapegrad.nn)) == repr(ctor(torch.nn))


@pytest.mark.parametrize(
    "ctor", [lambda nn: nn.ReLU(inplace=True), lambda nn: nn.LeakyReLU(0.1, inplace=True),
             lambda nn: nn.ELU(inplace=True), lambda nn: nn.Hardtanh(inplace=True),
             lambda nn: nn.SiLU(inplace=True), lambda nn: nn.Hardswish(inplace=True)],
)  # fmt: skip
def test_inplace_activations(ctor):
    x = _away_from_kinks((3, 4)).astype(np.float32)

    def fn(lib, a):
        y = a * 1.0
        out = ctor(lib.nn)(y)
        assert out is y
        return out

    compare(fn, [x])


def test_rrelu_train_bounds_and_eval():
    x = tapegrad.tensor(_randn(1000))
    m = tapegrad.nn.RReLU(0.1, 0.3)
    y = m(x).numpy()
    xn = x.numpy()
    neg = xn < 0
    ratio = y[neg] / xn[neg]
    assert ratio.min() >= 0.1 - 1e-6 and ratio.max() <= 0.3 + 1e-6
    np.testing.assert_array_equal(y[~neg], xn[~neg])
    m.eval()
    compare(lambda lib, a: lib.nn.RReLU(0.1, 0.3).eval()(a), [x.numpy()])
    assert repr(m) == repr(torch.nn.RReLU(0.1, 0.3))


# f(-inf), f(+inf) of each activation. +inf and the finite limits are the math's; where the
# formula is x * g(x) with g(-inf) = 0 (gelu, silu, mish, hardswish), -inf * 0 is nan in
# PyTorch on every code path, and tapegrad keeps PyTorch's nan. PyTorch's own gelu(+inf)
# is nan with its AVX-512 kernels, so these values are pinned here, not read from it.
SPECIAL_VALUES = {
    ("gelu", "none"): (np.nan, np.inf),
    ("gelu", "tanh"): (np.nan, np.inf),
    ("silu", None): (np.nan, np.inf),
    ("mish", None): (np.nan, np.inf),
    ("softplus", None): (0.0, np.inf),
    ("logsigmoid", None): (-np.inf, 0.0),
    ("elu", None): (-1.0, np.inf),
    ("selu", None): (-1.0507009873554805 * 1.6732632423543772, np.inf),
    ("hardswish", None): (np.nan, np.inf),
    ("sigmoid", None): (0.0, 1.0),
    ("tanh", None): (-1.0, 1.0),
}


@pytest.mark.parametrize("name,approximate", list(SPECIAL_VALUES))
def test_activation_special_values(name, approximate):
    kw = {} if approximate is None else {"approximate": approximate}
    f = getattr(tapegrad.nn.functional, name)
    special = f(tapegrad.tensor([-np.inf, np.inf, np.nan], dtype=tapegrad.float32), **kw)
    expected = np.array([*SPECIAL_VALUES[name, approximate], np.nan], np.float32)
    np.testing.assert_array_equal(special.numpy(), expected)
    # Large, tiny and ordinary finite values against PyTorch's float64 result (which does
    # not depend on its CPU code path): a few ulp relative, plus float32's epsilon times
    # |x| absolute, since 1 + erf(x) and the like cancel in the tails (gelu(-8) = -5e-15
    # is -0 in float32, in PyTorch too).
    x = np.array([0.0, -40.0, 40.0, 1.0, -1.0, 8.0, -8.0, 3e-8, -3e-8], np.float32)
    got = f(tapegrad.tensor(x), **kw)
    ref = getattr(torch.nn.functional, name)(torch.tensor(x, dtype=torch.float64), **kw).numpy()
    assert got.dtype == tapegrad.float32
    error = np.abs(got.numpy() - ref)
    bound = 5e-7 * np.abs(ref) + np.finfo(np.float32).eps * np.abs(x)
    assert (error <= bound).all(), (x[error > bound], got.numpy()[error > bound])


def test_functional_extras():
    x = _randn(3, 5)
    for dim in (0, 1, -1):
        compare(lambda lib, a, d=dim: lib.nn.functional.softmax(a, dim=d), [x])
        compare(lambda lib, a, d=dim: lib.nn.functional.log_softmax(a, dim=d), [x])
        compare(lambda lib, a, d=dim: lib.nn.functional.softmin(a, dim=d), [x])
    compare(lambda lib, a: lib.nn.functional.log_softmax(a, 1, dtype=lib.float64), [x])
    big = (x * 1e4).astype(np.float32)
    t_out, g_out = compare(lambda lib, a: lib.nn.functional.log_softmax(a, dim=1), [big])
    assert np.isfinite(to_numpy(g_out)).all()
    compare(lambda lib, a, w, b: lib.nn.functional.linear(a, w, b), [x, _randn(2, 5), _randn(2)])
    compare(lambda lib, a, w: lib.nn.functional.linear(a, w), [_randn(2, 3, 5), _randn(4, 5)])
    for p, dim in ((2.0, 1), (1.0, 0), (3.0, -1)):
        compare(lambda lib, a, p=p, d=dim: lib.nn.functional.normalize(a, p=p, dim=d), [x])
    compare(lambda lib, a: lib.nn.functional.normalize(a), [np.zeros((2, 3), np.float32)])
    idx = np.array([[0, 2], [4, 1]], dtype=np.int64)
    compare(lambda lib, t: lib.nn.functional.one_hot(t), [idx])
    compare(lambda lib, t: lib.nn.functional.one_hot(t, num_classes=7), [idx])
    assert_same_error(lambda lib: lib.nn.functional.one_hot(lib.tensor([0, 3]), 2))
    assert_same_error(lambda lib: lib.nn.functional.one_hot(lib.tensor([0.0, 1.0])))


PADS = [
    ((1, 2), "constant", 0.0, (2, 3, 4)),
    ((1, 2, 0, 3), "constant", 1.5, (2, 3, 4)),
    ((-1, 2), "constant", 0.0, (2, 3, 4)),
    ((1, 1, 2, 2, 1, 0), "constant", 0.0, (2, 3, 4)),
    ((2, 1), "reflect", None, (2, 3, 4)),
    ((1, 2, 2, 1), "reflect", None, (1, 2, 3, 4)),
    ((2, 3), "replicate", None, (2, 3, 4)),
    ((1, 0, 2, 1), "replicate", None, (1, 2, 3, 4)),
    ((1, 2), "circular", None, (2, 3, 4)),
    ((1, 2, 2, 1), "circular", None, (1, 2, 3, 4)),
    ((-1, 2), "circular", None, (1, 2, 5)),
    ((3, -2, 1, -1), "circular", None, (1, 2, 3, 5)),
    ((-1, 2, 2, -1), "reflect", None, (1, 2, 4, 5)),
    ((-2, 1), "replicate", None, (1, 2, 5)),
]


@pytest.mark.parametrize("pad,mode,value,shape", PADS)
def test_functional_pad(pad, mode, value, shape):
    x = _randn(*shape)
    compare(lambda lib, a: lib.nn.functional.pad(a, pad, mode=mode, value=value), [x])
    xs = tapegrad.tensor(R.standard_normal(shape), requires_grad=True)
    assert gradcheck(lambda a: tapegrad.nn.functional.pad(a, pad, mode=mode, value=value), (xs,))


def test_functional_pad_errors():
    assert_same_error(lambda lib: lib.nn.functional.pad(lib.ones(2, 3), (1,)))
    assert_same_error(lambda lib: lib.nn.functional.pad(lib.ones(1, 2, 3), (3, 3), "reflect"))


# ---------------------------------------------------------------------------
# dropout


@pytest.mark.parametrize(
    "name,shape,feature",
    [("Dropout", (40, 50), False), ("Dropout1d", (8, 30, 6), True),
     ("Dropout2d", (8, 30, 3, 3), True), ("Dropout3d", (4, 30, 2, 2, 2), True)],
)  # fmt: skip
def test_dropout_train_eval(name, shape, feature):
    p = 0.3
    m = getattr(tapegrad.nn, name)(p)
    assert repr(m) == repr(getattr(torch.nn, name)(p))
    x = tapegrad.tensor(R.uniform(1, 2, shape).astype(np.float32), requires_grad=True)
    tapegrad.manual_seed(0)
    y = m(x)
    yn, xn = y.detach().numpy(), x.detach().numpy()
    kept = yn != 0
    np.testing.assert_allclose(yn[kept], xn[kept] / (1 - p), rtol=1e-6)
    assert 0.55 < kept.mean() < 0.85
    if feature:
        per_channel = kept.reshape(shape[0], shape[1], -1)
        assert (per_channel.all(-1) | ~per_channel.any(-1)).all()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p), rtol=1e-6)
    m.eval()
    assert m(x) is x
    for q in (0.0, 1.0):
        out = getattr(tapegrad.nn, name)(q)(x).detach().numpy()
        np.testing.assert_array_equal(out, xn * (1 - q))


def test_dropout_inplace_and_functional():
    x = tapegrad.ones(100)
    y = tapegrad.nn.Dropout(0.5, inplace=True)(x)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    out = tapegrad.nn.functional.dropout(tapegrad.ones(5), 0.5, training=False)
    np.testing.assert_array_equal(out.numpy(), np.ones(5))
    for name in ("Dropout", "Dropout2d", "AlphaDropout"):
        assert_same_error(lambda lib, n=name: getattr(lib.nn, n)(1.5))
    assert_same_error(lambda lib: lib.nn.Dropout1d()(lib.ones(2, 3, 4, 5)))


def test_alpha_dropout_keeps_mean_and_variance():
    tapegrad.manual_seed(0)
    x = tapegrad.tensor(_randn(200000))
    for cls in (tapegrad.nn.AlphaDropout, tapegrad.nn.FeatureAlphaDropout):
        inp = x if cls is tapegrad.nn.AlphaDropout else x.reshape(2000, 100, 1)
        y = cls(0.2)(inp).numpy()
        assert abs(y.mean()) < 0.05 and abs(y.std() - 1) < 0.05
        assert cls(0.2).eval()(inp) is inp


# ---------------------------------------------------------------------------
# normalisation

BN_CASES = [
    (lambda nn: nn.BatchNorm1d(4), (6, 4)),
    (lambda nn: nn.BatchNorm1d(3, momentum=0.3), (5, 3, 7)),
    (lambda nn: nn.BatchNorm1d(3, momentum=None), (5, 3)),
    (lambda nn: nn.BatchNorm2d(3), (4, 3, 5, 2)),
    (lambda nn: nn.BatchNorm2d(3, eps=1e-3, affine=False), (2, 3, 3, 3)),
    (lambda nn: nn.BatchNorm2d(3, track_running_stats=False), (4, 3, 2, 3)),
    (lambda nn: nn.BatchNorm2d(2, momentum=None, bias=False), (3, 2, 2, 2)),
    (lambda nn: nn.BatchNorm3d(2), (2, 2, 3, 2, 2)),
]


@pytest.mark.parametrize("ctor,shape", BN_CASES)
def test_batchnorm_train_then_eval(ctor, shape):
    x = _randn(*shape) + 0.5
    tm, gm = check_layer(ctor, x, train=True, steps=3)
    assert repr(gm) == repr(tm)
    if tm.track_running_stats:
        assert int(gm.num_batches_tracked) == 3
    check_layer(lambda nn: _loaded(nn, tm), x, train=False)
    check_gradcheck(ctor, (shape[0] + 1,) + shape[1:], train=True)
    check_gradcheck(lambda nn: _loaded(nn, tm), shape, train=False)


def _loaded(nn, tm):
    """A copy of the trained torch module ``tm`` in library ``nn``."""
    m = type(tm).__name__
    kw = dict(eps=tm.eps, momentum=tm.momentum, affine=tm.affine)
    kw["track_running_stats"] = tm.track_running_stats
    kw["bias"] = tm.bias is not None or not tm.affine
    mod = getattr(nn, m)(tm.num_features, **kw)
    if nn is torch.nn:
        mod.load_state_dict(tm.state_dict())
    else:
        mod.load_state_dict({k: tapegrad.tensor(to_numpy(v)) for k, v in tm.state_dict().items()})
    return mod


def test_batchnorm_state_dict_and_errors():
    g, t = tapegrad.nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    assert list(g.state_dict()) == list(t.state_dict())
    assert list(g.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"
    ]  # fmt: skip
    assert g.state_dict()["num_batches_tracked"].dtype == tapegrad.int64
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(tapegrad.nn.BatchNorm1d(2, track_running_stats=False).state_dict()) == [
        "weight", "bias"
    ]  # fmt: skip
    assert list(tapegrad.nn.BatchNorm1d(2, affine=False).state_dict()) == [
        "running_mean", "running_var", "num_batches_tracked"
    ]  # fmt: skip
    # A checkpoint without num_batches_tracked (version < 2) still loads strictly.
    sd = {k: v for k, v in g.state_dict().items() if k != "num_batches_tracked"}
    g.load_state_dict(sd)
    assert_same_error(lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(2, 3, 4)))
    assert_same_error(lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(2, 3, 4, 5)))
    assert_same_error(lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(1, 3)))
    assert_same_error(lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(4, 5)))
    # eval mode with a single sample is fine
    compare(lambda lib, a: lib.nn.BatchNorm1d(3).eval()(a), [_randn(1, 3)])


def test_batchnorm_reset_and_momentum_none_average():
    x1, x2 = _randn(8, 3), _randn(8, 3) * 3 + 1
    g = tapegrad.nn.BatchNorm1d(3, momentum=None)
    g(tapegrad.tensor(x1))
    g(tapegrad.tensor(x2))
    mean = (x1.mean(0) + x2.mean(0)) / 2
    np.testing.assert_allclose(g.running_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    var = (x1.var(0, ddof=1) + x2.var(0, ddof=1)) / 2
    np.testing.assert_allclose(g.running_var.numpy(), var, rtol=1e-5)
    g.reset_running_stats()
    np.testing.assert_array_equal(g.running_var.numpy(), np.ones(3))
    assert int(g.num_batches_tracked) == 0


NORM_CASES = [
    (lambda nn: nn.InstanceNorm1d(3), (2, 3, 5)),
    (lambda nn: nn.InstanceNorm1d(3, affine=True), (3, 5)),
    (lambda nn: nn.InstanceNorm2d(2, affine=True, track_running_stats=True), (3, 2, 3, 4)),
    (lambda nn: nn.InstanceNorm3d(2), (2, 2, 2, 3, 2)),
    # running mean and (unbiased) variance, with other momenta and an unbatched input
    (lambda nn: nn.InstanceNorm1d(3, momentum=0.3, track_running_stats=True), (2, 3, 5)),
    (lambda nn: nn.InstanceNorm1d(3, momentum=None, track_running_stats=True), (3, 4)),
    (lambda nn: nn.InstanceNorm3d(2, affine=True, track_running_stats=True), (2, 2, 2, 3, 2)),
    (lambda nn: nn.LayerNorm(5), (3, 5)),
    (lambda nn: nn.LayerNorm([3, 4], eps=1e-3), (2, 3, 4)),
    (lambda nn: nn.LayerNorm(4, elementwise_affine=False), (2, 3, 4)),
    (lambda nn: nn.LayerNorm(4, bias=False), (2, 4)),
    (lambda nn: nn.GroupNorm(2, 4), (3, 4, 5)),
    (lambda nn: nn.GroupNorm(3, 6, affine=False), (2, 6, 2, 2)),
    (lambda nn: nn.GroupNorm(1, 3, eps=1e-2), (2, 3)),
    (lambda nn: nn.RMSNorm(4), (3, 4)),
    (lambda nn: nn.RMSNorm([2, 3], eps=1e-4, elementwise_affine=False), (4, 2, 3)),
    (lambda nn: nn.LocalResponseNorm(2), (2, 5, 3)),
    (lambda nn: nn.LocalResponseNorm(3, alpha=0.1, beta=0.5, k=2.0), (2, 6, 3, 2)),
]


@pytest.mark.parametrize("ctor,shape", NORM_CASES)
def test_normalisation_layers(ctor, shape):
    x = _randn(*shape) * 2 + 0.3
    tm, gm = check_layer(ctor, x, steps=2)
    assert repr(gm) == repr(tm)
    tm.eval()
    gm.eval()
    assert_same(tm(torch.tensor(x)), gm(tapegrad.tensor(x)))
    check_gradcheck(ctor, shape)


def test_normalisation_errors():
    assert_same_error(lambda lib: lib.nn.GroupNorm(3, 4))
    assert_same_error(lambda lib: lib.nn.LayerNorm(4)(lib.ones(2, 5)))
    assert_same_error(lambda lib: lib.nn.GroupNorm(2, 4)(lib.ones(2, 6, 3)))
    assert_same_error(lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 4, 5)))
    assert_same_error(lambda lib: lib.nn.InstanceNorm1d(3, affine=True)(lib.ones(2, 4, 5)))
    assert_same_error(lambda lib: lib.nn.LocalResponseNorm(2)(lib.ones(2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda lib, a: lib.nn.InstanceNorm1d(3)(a), [_randn(2, 4, 5)])


# ---------------------------------------------------------------------------
# embedding


def test_embedding_parity():
    idx = np.array([[1, 2, 0, 4], [4, 3, 2, 9]], dtype=np.int64)
    for kw in ({}, {"padding_idx": 0}, {"padding_idx": -1}, {"scale_grad_by_freq": True}):
        tm, gm = check_layer(lambda nn, kw=kw: nn.Embedding(10, 3, **kw), idx, dtype=np.float32)
        assert repr(gm) == repr(tm)
    # max_norm renormalises the looked-up rows in place, in both libraries
    tm, gm = build_pair(lambda nn: nn.Embedding(10, 3, max_norm=1.0), randomize=True)
    assert_same(tm(torch.tensor(idx)), gm(tapegrad.tensor(idx)))
    assert_same(tm.weight, gm.weight)
    _, gm = build_pair(lambda nn: nn.Embedding(6, 2), np.float64)
    x = tapegrad.tensor([[1, 2], [5, 1]])
    assert gradcheck(lambda w: tapegrad.nn.functional.embedding(x, w), gm.weight)


def test_embedding_init_padding_and_errors():
    g = tapegrad.nn.Embedding(5, 3, padding_idx=2)
    assert not g.weight[2].detach().numpy().any()
    assert g.weight.requires_grad
    w = tapegrad.tensor(_randn(4, 2))
    e = tapegrad.nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(tapegrad.tensor([3])).numpy(), w.numpy()[[3]])
    assert_same_error(lambda lib: lib.nn.Embedding(5, 3, padding_idx=5))
    assert_same_error(lambda lib: lib.nn.Embedding(5, 3)(lib.tensor([5])))
    assert_same_error(lambda lib: lib.nn.Embedding(5, 3)(lib.tensor([1.0])))
    assert_same_error(lambda lib: lib.nn.Embedding.from_pretrained(lib.ones(3)))


def test_embedding_bag_parity():
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9], dtype=np.int64)
    offsets = np.array([0, 4], dtype=np.int64)
    for mode in ("sum", "mean", "max"):
        tm, gm = build_pair(lambda nn, m=mode: nn.EmbeddingBag(10, 3, mode=m))
        assert repr(gm) == repr(tm)
        to = tm(torch.tensor(idx), torch.tensor(offsets))
        go = gm(tapegrad.tensor(idx), tapegrad.tensor(offsets))
        assert_same(to, go)
        up = _randn(*to.shape)
        to.backward(torch.tensor(up))
        go.backward(tapegrad.tensor(up))
        assert_same(tm.weight.grad, gm.weight.grad)
        to = tm(torch.tensor(idx.reshape(2, 4)))
        assert_same(to, gm(tapegrad.tensor(idx.reshape(2, 4))))


# ---------------------------------------------------------------------------
# padding, distance, resizing

PAD_LAYERS = [
    (lambda nn: nn.ZeroPad1d(2), (2, 3, 4)),
    (lambda nn: nn.ZeroPad2d((1, 0, 2, 1)), (1, 2, 3, 4)),
    (lambda nn: nn.ZeroPad3d(1), (1, 1, 2, 2, 2)),
    (lambda nn: nn.ConstantPad1d((1, 2), 3.5), (2, 4)),
    (lambda nn: nn.ConstantPad2d(1, -1.0), (2, 3, 3)),
    (lambda nn: nn.ConstantPad3d((1, 0, 0, 1, 1, 0), 2.0), (1, 2, 2, 2, 2)),
    (lambda nn: nn.ReflectionPad1d(2), (2, 3, 4)),
    (lambda nn: nn.ReflectionPad2d((1, 2, 2, 0)), (1, 2, 3, 4)),
    (lambda nn: nn.ReflectionPad3d(1), (1, 1, 2, 3, 2)),
    (lambda nn: nn.ReplicationPad1d((3, 1)), (2, 3, 4)),
    (lambda nn: nn.ReplicationPad2d(2), (2, 3, 3)),
    (lambda nn: nn.ReplicationPad3d(1), (1, 1, 2, 2, 2)),
    (lambda nn: nn.CircularPad1d(2), (2, 3, 4)),
    (lambda nn: nn.CircularPad2d((1, 2, 0, 1)), (1, 2, 3, 4)),
    (lambda nn: nn.CircularPad3d(1), (1, 1, 2, 2, 2)),
]


@pytest.mark.parametrize("ctor,shape", PAD_LAYERS)
def test_padding_layers(ctor, shape):
    tm, gm = check_layer(ctor, _randn(*shape))
    assert repr(gm) == repr(tm)
    check_gradcheck(ctor, shape)


def test_padding_errors():
    assert_same_error(lambda lib: lib.nn.CircularPad2d(1)(lib.ones(3, 4)))
    assert_same_error(lambda lib: lib.nn.ReflectionPad1d(4)(lib.ones(1, 2, 3)))


MISC_LAYERS = [
    (lambda nn: nn.CosineSimilarity(), [(4, 5), (4, 5)]),
    (lambda nn: nn.CosineSimilarity(dim=0, eps=1e-3), [(3, 2), (3, 1)]),
    (lambda nn: nn.PairwiseDistance(), [(4, 5), (4, 5)]),
    (lambda nn: nn.PairwiseDistance(p=1.0, keepdim=True), [(3, 2), (3, 2)]),
    (lambda nn: nn.PairwiseDistance(p=3.0, eps=1e-3), [(5,), (5,)]),
    (lambda nn: nn.Upsample(scale_factor=2), [(1, 2, 3, 3)]),
    (lambda nn: nn.Upsample(size=(5, 4), mode="bilinear"), [(2, 1, 3, 2)]),
    (lambda nn: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), [(1, 2, 2, 3)]),
    (lambda nn: nn.Upsample(size=7, mode="linear"), [(1, 2, 4)]),
    (lambda nn: nn.Upsample(scale_factor=2, mode="bicubic"), [(1, 2, 3, 4)]),
    (lambda nn: nn.Upsample(size=(5, 2), mode="bicubic", align_corners=True), [(2, 1, 3, 3)]),
    (lambda nn: nn.Upsample(scale_factor=(1.5, 0.6), mode="bicubic"), [(1, 1, 4, 5)]),
    (lambda nn: nn.UpsamplingNearest2d(size=5), [(1, 1, 2, 3)]),
    (lambda nn: nn.UpsamplingBilinear2d(scale_factor=3), [(1, 1, 2, 2)]),
    (lambda nn: nn.PixelShuffle(2), [(2, 8, 3, 2)]),
    (lambda nn: nn.PixelUnshuffle(2), [(1, 2, 4, 6)]),
    (lambda nn: nn.ChannelShuffle(3), [(2, 6, 2)]),
    (lambda nn: nn.Unfold(2, padding=1, stride=(1, 2)), [(2, 3, 4, 5)]),
    (lambda nn: nn.Unfold((2, 3), dilation=(2, 1)), [(1, 2, 5, 4)]),
    (lambda nn: nn.Fold((4, 5), 2), [(2, 12, 12)]),
    (lambda nn: nn.Fold(5, 3, padding=1, stride=2), [(1, 9, 9)]),
    (lambda nn: nn.ChannelShuffle(2), [(1, 4, 2, 3)]),
]


@pytest.mark.parametrize("ctor,shapes", MISC_LAYERS)
def test_distance_and_resizing_layers(ctor, shapes):
    tm, gm = check_layer(ctor, *[_randn(*s) for s in shapes])
    assert repr(gm) == repr(tm)
    check_gradcheck(ctor, *shapes)


# ---------------------------------------------------------------------------
# the seed networks, end to end


def test_mlp_training_steps_follow_pytorch():
    """A small MLP with BatchNorm, Dropout(p=0) and CrossEntropyLoss, 5 SGD steps by hand."""

    def net(nn):
        return nn.Sequential(
            nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.0),
            nn.Linear(8, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 3),
        )  # fmt: skip

    tm, gm = build_pair(net)
    x, y = _randn(10, 6), R.integers(0, 3, 10)
    for _ in range(5):
        lt = torch.nn.CrossEntropyLoss()(tm(torch.tensor(x)), torch.tensor(y))
        lg = tapegrad.nn.CrossEntropyLoss()(gm(tapegrad.tensor(x)), tapegrad.tensor(y))
        assert_same(lt, lg, rtol=1e-5)
        lt.backward()
        lg.backward()
        with torch.no_grad():
            for p in tm.parameters():
                p -= 0.1 * p.grad
                p.grad = None
        with tapegrad.no_grad():
            for p in gm.parameters():
                p -= 0.1 * p.grad
                p.grad = None
    for k, v in tm.state_dict().items():
        assert_same(v, gm.state_dict()[k], rtol=1e-4, atol=1e-5, where=k)


def test_bernoulli_stream_equals_pytorch():
    # The dropout parity tests rely on this stream; a regression must fail, not skip.
    torch.manual_seed(0)
    t = torch.empty(50).bernoulli_(0.3).numpy()
    tapegrad.manual_seed(0)
    np.testing.assert_array_equal(tapegrad.empty(50).bernoulli_(0.3).numpy(), t)


@pytest.mark.parametrize(
    "name,shape",
    [("dropout", (64, 30)), ("dropout1d", (8, 30, 5)), ("dropout2d", (16, 30, 3, 3)),
     ("dropout3d", (4, 6, 2, 2, 2)), ("alpha_dropout", (50, 40)),
     ("feature_alpha_dropout", (20, 10, 3))],
)  # fmt: skip
def test_dropout_masks_equal_pytorch_with_the_same_seed(name, shape):
    x = _randn(*shape)
    for seed in (0, 5):
        torch.manual_seed(seed)
        tapegrad.manual_seed(seed)
        compare(lambda lib, a: getattr(lib.nn.functional, name)(a, 0.3, True), [x])


def _long(lib):
    return lib.ones(2, 3, dtype=lib.int64)


DTYPE_ERRORS = [
    lambda lib: lib.nn.BatchNorm1d(3)(_long(lib)),
    lambda lib: lib.nn.LayerNorm(3)(_long(lib)),
    lambda lib: lib.nn.GroupNorm(1, 2)(lib.ones(2, 2, 3, dtype=lib.int64)),
    lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 4, dtype=lib.int64)),
    lambda lib: lib.nn.RMSNorm(3)(_long(lib)),
    lambda lib: lib.nn.functional.layer_norm(lib.ones(2, 3), (3,), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.nn.functional.group_norm(lib.ones(2, 4), 2, lib.ones(4, dtype=lib.float64)),
    lambda lib: lib.nn.functional.batch_norm(
        lib.ones(2, 4), lib.zeros(4, dtype=lib.float64), lib.ones(4), training=True
    ),
    lambda lib: lib.nn.functional.softmax(_long(lib), 1),
    lambda lib: lib.nn.functional.softmax(_long(lib), 0),
    lambda lib: lib.nn.functional.log_softmax(_long(lib), 1),
    lambda lib: lib.nn.Softmin(1)(_long(lib)),
    lambda lib: lib.nn.functional.relu(lib.ones(2, dtype=lib.bool)),
    lambda lib: lib.nn.functional.hardtanh(lib.ones(2, dtype=lib.bool)),
    lambda lib: lib.nn.functional.threshold(lib.ones(2, dtype=lib.bool), 0.5, 1.0),
    lambda lib: lib.nn.ELU()(_long(lib)),
    lambda lib: lib.nn.SELU()(_long(lib)),
    lambda lib: lib.nn.CELU()(_long(lib)),
    lambda lib: lib.nn.LeakyReLU()(_long(lib)),
    lambda lib: lib.nn.RReLU()(_long(lib)),
    lambda lib: lib.nn.GELU()(_long(lib)),
    lambda lib: lib.nn.SiLU()(_long(lib)),
    lambda lib: lib.nn.Mish()(_long(lib)),
    lambda lib: lib.nn.Softplus()(_long(lib)),
    lambda lib: lib.nn.Hardsigmoid()(_long(lib)),
    lambda lib: lib.nn.Hardswish()(_long(lib)),
    lambda lib: lib.nn.LogSigmoid()(_long(lib)),
    lambda lib: lib.nn.Softshrink()(_long(lib)),
    lambda lib: lib.nn.Hardshrink()(_long(lib)),
    lambda lib: lib.nn.GLU(0)(_long(lib)),
    lambda lib: lib.nn.GLU()(lib.ones(2, 3)),
    lambda lib: lib.nn.PReLU(3)(lib.ones(2, 4)),
    lambda lib: lib.nn.functional.embedding(lib.tensor([1]), lib.ones(3)),
    lambda lib: lib.nn.EmbeddingBag(3, 2, mode="prod")(lib.tensor([[1]])),
    lambda lib: lib.nn.PixelShuffle(2)(lib.ones(1, 3, 2, 2)),
    lambda lib: lib.nn.PixelShuffle(2)(lib.ones(4, 2)),
    lambda lib: lib.nn.PixelUnshuffle(2)(lib.ones(4, 2)),
    lambda lib: lib.nn.CosineSimilarity()(lib.ones(2, 3), lib.ones(2, 4)),
    lambda lib: lib.nn.Flatten(3)(lib.ones(2, 3)),
    lambda lib: lib.nn.Unflatten(1, (2, 2))(lib.ones(2, 3)),
    lambda lib: lib.nn.Unflatten(1, (2.0, 3)),
    lambda lib: lib.nn.Unflatten(1, 6),
    lambda lib: lib.nn.Flatten()(lib.ones(3)),
    lambda lib: lib.nn.Hardtanh(1.0, -1.0),
    lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 2, 2), size=3, scale_factor=2),
    lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 2, 2)),
    lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 2), scale_factor=2, mode="bilinear"),
    lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 2), 4, align_corners=True),
    lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 2), scale_factor=2, mode="bicubic"),
    lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 2), scale_factor=2, mode="cubic"),
    lambda lib: lib.nn.ChannelShuffle(4)(lib.ones(1, 6, 2)),
    lambda lib: lib.nn.ChannelShuffle(0)(lib.ones(1, 6, 2)),
    lambda lib: lib.nn.ChannelShuffle(2)(lib.ones(6)),
]


def test_functional_aliases():
    x = _randn(1, 2, 3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda lib, a: lib.nn.functional.upsample_nearest(a, scale_factor=2), [x])
        compare(lambda lib, a: lib.nn.functional.upsample_bilinear(a, size=(4, 5)), [x])
        compare(lambda lib, a: lib.nn.functional.upsample(a, scale_factor=2, mode="bilinear"), [x])
    for name in ("selu_", "celu_", "elu_", "leaky_relu_", "relu_", "hardtanh_"):
        compare(lambda lib, a, n=name: getattr(lib.nn.functional, n)(a * 1.0), [x])
    compare(lambda lib, a: lib.nn.functional.rrelu_(a * 1.0), [x])


@pytest.mark.parametrize("i", range(len(DTYPE_ERRORS)))
def test_layer_error_types(i):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error(DTYPE_ERRORS[i])


@pytest.mark.parametrize(
    "name,shape",
    [("dropout", (3, 4)), ("dropout1d", (2, 3, 2)), ("dropout2d", (2, 3, 2, 1)),
     ("alpha_dropout", (3, 4)), ("feature_alpha_dropout", (2, 3, 2))],
)  # fmt: skip
def test_dropout_gradcheck_with_a_fixed_mask(name, shape):
    fn = getattr(tapegrad.nn.functional, name)

    def seeded(a):
        tapegrad.manual_seed(3)  # the same mask on every call
        return fn(a, 0.4, True)

    x = tapegrad.tensor(R.standard_normal(shape), requires_grad=True)
    assert gradcheck(seeded, (x,))


def test_rrelu_training_gradcheck_and_embedding_bag_gradcheck():
    def seeded(a):
        tapegrad.manual_seed(1)
        return tapegrad.nn.functional.rrelu(a, 0.1, 0.4, training=True)

    x = tapegrad.tensor(_away_from_kinks((3, 4)), requires_grad=True)
    assert gradcheck(seeded, (x,))
    w = tapegrad.tensor(R.standard_normal((6, 3)), requires_grad=True)
    idx = tapegrad.tensor([0, 2, 5, 1, 2])
    offsets = tapegrad.tensor([0, 2])
    for mode in ("sum", "mean", "max"):
        assert gradcheck(
            lambda ww, m=mode: tapegrad.nn.functional.embedding_bag(idx, ww, offsets, mode=m),
            (w,),
        )
    psw = tapegrad.tensor(R.uniform(0.5, 2, 5), requires_grad=True)
    assert gradcheck(
        lambda ww, p: tapegrad.nn.functional.embedding_bag(
            idx, ww, offsets, mode="sum", per_sample_weights=p
        ),
        (w, psw),
    )


def test_rrelu_training_equals_pytorch_with_the_same_seed():
    x = _randn(6, 7)
    torch.manual_seed(2)
    tapegrad.manual_seed(2)
    compare(lambda lib, a: lib.nn.functional.rrelu(a, 0.1, 0.3, training=True), [x])


@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    n=st.integers(2, 4),
    c=st.integers(1, 4),
    spatial=st.lists(st.integers(1, 3), max_size=3),
    momentum=st.sampled_from([0.1, 0.5, None]),
    affine=st.booleans(),
    track=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_batchnorm_random_configurations(n, c, spatial, momentum, affine, track, seed):
    cls = {0: "BatchNorm1d", 1: "BatchNorm1d", 2: "BatchNorm2d", 3: "BatchNorm3d"}[len(spatial)]
    x = np.random.default_rng(seed).standard_normal((n, c, *spatial)).astype(np.float32) * 3 + 1

    def ctor(nn):
        return getattr(nn, cls)(c, momentum=momentum, affine=affine, track_running_stats=track)

    tm, gm = check_layer(ctor, x, steps=2, rtol=1e-4, atol=1e-5)
    check_layer(lambda nn: _loaded(nn, tm), x, train=False)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    lead=st.lists(st.integers(1, 3), min_size=1, max_size=2),
    groups=st.integers(1, 3),
    per_group=st.integers(1, 3),
    k=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_layer_and_group_norm_random_configurations(lead, groups, per_group, k, seed):
    rng = np.random.default_rng(seed)
    c = groups * per_group
    x = rng.standard_normal((*lead, c, 2, 3)).astype(np.float32) * 2
    check_layer(lambda nn: nn.LayerNorm(list(x.shape[-k:])), x)
    check_layer(lambda nn: nn.GroupNorm(groups, c), x.reshape(-1, c, 2, 3))


def _classic_mnist_net(lib):
    """The MNIST network of seeds 000/001 (PyTorch's classic example), verbatim."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(320, 50)
            self.fc2 = nn.Linear(50, 10)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 320)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def test_seed_mnist_example_with_dropout_trains_like_pytorch():
    torch.manual_seed(1)
    tm = _classic_mnist_net(torch)
    tapegrad.manual_seed(1)
    gm = _classic_mnist_net(tapegrad)
    for (k, a), b in zip(tm.state_dict().items(), gm.state_dict().values()):
        np.testing.assert_array_equal(to_numpy(b), to_numpy(a), err_msg=k)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.random((8, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, 8)
        lt = torch.nn.functional.nll_loss(tm(torch.tensor(x)), torch.tensor(y))
        lg = tapegrad.nn.functional.nll_loss(gm(tapegrad.tensor(x)), tapegrad.tensor(y))
        assert_same(lt, lg, rtol=1e-5)
        lt.backward()
        lg.backward()
        for lib, m in ((torch, tm), (tapegrad, gm)):
            with lib.no_grad():
                for p in m.parameters():
                    p -= 0.05 * p.grad
                    p.grad = None
    tm.eval()
    gm.eval()
    x = rng.random((4, 1, 28, 28)).astype(np.float32)
    assert_same(tm(torch.tensor(x)), gm(tapegrad.tensor(x)), rtol=1e-4, atol=1e-5)


def _params(fn):
    import inspect

    def default(v):  # functions (activation=F.relu) compare by name
        return v.__name__ if callable(v) and hasattr(v, "__name__") else v

    return [(p.name, default(p.default), p.kind) for p in inspect.signature(fn).parameters.values()]


def test_signatures_match_pytorch():
    import inspect

    checked = 0
    for name in dir(tapegrad.nn):
        g, t = getattr(tapegrad.nn, name), getattr(torch.nn, name, None)
        if not (isinstance(g, type) and issubclass(g, tapegrad.nn.Module) and t is not None):
            continue
        if not g.__module__.startswith("tapegrad.nn.modules.") or g.__module__.endswith(
            (".conv", ".pooling")
        ):
            continue  # conv and pooling layers are tested with their ops
        if str(inspect.signature(t.__init__)) == "(self, *args, **kwargs)":
            continue  # PyTorch parses RNN/LSTM/GRU arguments by hand
        assert _params(g.__init__) == _params(t.__init__), name
        checked += 1
    gf = tapegrad.nn.functional
    for name in dir(gf):
        g, t = getattr(gf, name), getattr(torch.nn.functional, name, None)
        if name.startswith("_") or not inspect.isfunction(g) or not inspect.isfunction(t):
            continue
        if g.__module__ != "tapegrad.nn.functional":
            continue  # conv and pool come from their own op families
        if str(inspect.signature(t)) == "(*args, **kwargs)":
            continue  # PyTorch's boolean dispatch wrappers
        assert _params(g) == _params(t), name
        checked += 1
    assert checked > 150
    with pytest.raises(AttributeError, match="tapegrad.nn.functional"):
        gf.no_such_function  # noqa: B018


def test_scaled_dot_product_attention():
    q, k, v = _randn(2, 3, 5, 4), _randn(2, 3, 6, 4), _randn(2, 3, 6, 2)
    sdpa = "scaled_dot_product_attention"

    def attn(**kw):
        return lambda lib, a, b, c: getattr(lib.nn.functional, sdpa)(a, b, c, **kw)

    mask = R.random((5, 6)) < 0.7
    mask[1] = False  # a fully masked row gives zeros, as PyTorch's CPU kernel
    compare(attn(), [q, k, v])
    compare(attn(scale=0.3), [q, k, v])
    compare(attn(is_causal=True), [_randn(2, 3, 6, 4), k, v])
    compare(lambda lib, a, b, c: getattr(lib.nn.functional, sdpa)(a, b, c, lib.tensor(mask)),
            [q, k, v])  # fmt: skip
    fmask = _randn(5, 6)
    compare(lambda lib, a, b, c: getattr(lib.nn.functional, sdpa)(a, b, c, lib.tensor(fmask)),
            [q, k, v])  # fmt: skip
    compare(attn(enable_gqa=True), [q, _randn(2, 1, 6, 4), _randn(2, 1, 6, 2)])
    xs = [tapegrad.tensor(R.standard_normal(s), requires_grad=True)
          for s in ((1, 3, 2), (1, 4, 2), (1, 4, 3))]  # fmt: skip
    assert gradcheck(lambda a, b, c: tapegrad.nn.functional.scaled_dot_product_attention(
        a, b, c, is_causal=True), xs)  # fmt: skip
    assert_same_error(
        lambda lib: getattr(lib.nn.functional, sdpa)(
            lib.ones(1, 2, 2), lib.ones(1, 2, 2), lib.ones(1, 2, 2),
            attn_mask=lib.ones(2, 2, dtype=lib.bool), is_causal=True,
        )
    )  # fmt: skip


MHA_CASES = [
    ({}, [(5, 3, 8)] * 3, {}),
    ({"batch_first": True}, [(3, 5, 8), (3, 6, 8), (3, 6, 8)], {}),
    ({"num_heads": 4, "kdim": 3, "vdim": 5}, [(5, 2, 8), (6, 2, 3), (6, 2, 5)], {}),
    ({"bias": False}, [(5, 2, 8)] * 3, {"need_weights": False}),
    ({}, [(5, 2, 8), (6, 2, 8), (6, 2, 8)], {"average_attn_weights": False}),
    ({}, [(5, 2, 8), (6, 2, 8), (6, 2, 8)], {"attn_mask": "bool"}),
    ({}, [(5, 2, 8), (6, 2, 8), (6, 2, 8)], {"attn_mask": "float", "key_padding_mask": "kpm"}),
    ({"add_bias_kv": True, "add_zero_attn": True}, [(5, 2, 8), (6, 2, 8), (6, 2, 8)],
     {"key_padding_mask": "kpm"}),
    ({}, [(5, 8), (6, 8), (6, 8)], {}),
    ({}, [(5, 2, 8)] * 3, {"attn_mask": "causal", "is_causal": True}),
]  # fmt: skip


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("kw,shapes,call", MHA_CASES)
@pytest.mark.parametrize("train", [False, True])
def test_multihead_attention_parity(kw, shapes, call, train):
    kw = {"embed_dim": 8, "num_heads": 2, **kw, "dropout": 0.3 if train else 0.0}
    masks = {
        "bool": R.random((5, 6)) < 0.3,
        "float": _randn(5, 6),
        "kpm": np.array([[False] * 4 + [True] * 2, [False] * 6]),
        "causal": np.triu(np.ones((5, 5), bool), 1),
    }
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(**kw)
    tapegrad.manual_seed(0)
    gm = tapegrad.nn.MultiheadAttention(**kw)
    assert repr(gm) == repr(tm) and list(gm.state_dict()) == list(tm.state_dict())
    for (k, a), b in zip(tm.state_dict().items(), gm.state_dict().values()):
        np.testing.assert_array_equal(to_numpy(b), to_numpy(a), err_msg=k)  # PyTorch's init
    tm.train(train)
    gm.train(train)
    xs = [_randn(*s) for s in shapes]
    if train and not call.get("need_weights", True):
        pytest.skip("PyTorch's fused attention draws its dropout mask differently")

    def fn(lib, q, k, v):
        extra = {n: (lib.tensor(masks[m]) if isinstance(m, str) and m in masks else m)
                 for n, m in call.items()}  # fmt: skip
        lib.manual_seed(3)
        return (tm if lib is torch else gm)(q, k, v, **extra)

    compare(fn, xs, rtol=1e-4, atol=1e-5, grad_rtol=1e-4, grad_atol=1e-5)
    for (name, p), q in zip(tm.named_parameters(), gm.parameters()):
        if p.grad is not None:
            assert_same(p.grad, q.grad, rtol=1e-4, atol=1e-5, where=name)


def test_multihead_attention_gradcheck_and_errors():
    tapegrad.manual_seed(0)
    m = tapegrad.nn.MultiheadAttention(4, 2, kdim=3, vdim=2, add_bias_kv=True).double()
    q = tapegrad.tensor(R.standard_normal((3, 2, 4)), requires_grad=True)
    k = tapegrad.tensor(R.standard_normal((4, 2, 3)), requires_grad=True)
    v = tapegrad.tensor(R.standard_normal((4, 2, 2)), requires_grad=True)
    assert gradcheck(lambda a, b, c, *ps: m(a, b, c)[0], (q, k, v, *m.parameters()))
    assert_same_error(lambda lib: lib.nn.MultiheadAttention(8, 3))
    assert_same_error(lambda lib: lib.nn.MultiheadAttention(0, 1))
    x = lambda lib: lib.ones(5, 2, 8)  # noqa: E731
    assert_same_error(
        lambda lib: lib.nn.MultiheadAttention(8, 2)(x(lib), x(lib), x(lib), is_causal=True)
    )
    assert_same_error(
        lambda lib: lib.nn.MultiheadAttention(8, 2)(
            x(lib), x(lib), x(lib), attn_mask=lib.ones(4, 5)
        )
    )


def _transformer_pair(build):
    torch.manual_seed(0)
    tm = build(torch.nn)
    tapegrad.manual_seed(0)
    gm = build(tapegrad.nn)
    assert repr(gm) == repr(tm) and list(gm.state_dict()) == list(tm.state_dict())
    for (k, a), b in zip(tm.state_dict().items(), gm.state_dict().values()):
        np.testing.assert_array_equal(to_numpy(b), to_numpy(a), err_msg=k)  # PyTorch's init
    return tm, gm


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_parity(norm_first, batch_first):
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16, dropout=0.0, norm_first=norm_first,
              batch_first=batch_first, activation="gelu")  # fmt: skip
    tm, gm = _transformer_pair(lambda nn: nn.Transformer(**kw))
    src = _randn(2, 5, 8) if batch_first else _randn(5, 2, 8)
    tgt = _randn(2, 4, 8) if batch_first else _randn(4, 2, 8)
    kpm = np.array([[False] * 4 + [True], [False] * 5])

    def fn(lib, s, t):
        m = tm if lib is torch else gm
        mask = lib.nn.Transformer.generate_square_subsequent_mask(4)
        return m(s, t, tgt_mask=mask, src_key_padding_mask=lib.tensor(kpm),
                 memory_key_padding_mask=lib.tensor(kpm))  # fmt: skip

    compare(fn, [src, tgt], rtol=1e-4, atol=1e-5, grad_rtol=1e-4, grad_atol=1e-5)
    for (name, p), q in zip(tm.named_parameters(), gm.parameters()):
        assert_same(p.grad, q.grad, rtol=1e-3, atol=1e-5, where=name)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_transformer_encoder_eval_and_errors():
    def build(nn):
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.1)
        return nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))

    tm, gm = _transformer_pair(build)
    tm.eval()
    gm.eval()
    x = _randn(6, 3, 8)
    mask = np.triu(np.ones((6, 6), bool), 1)
    compare(lambda lib, a: (tm if lib is torch else gm)(a, mask=lib.tensor(mask)), [x],
            rtol=1e-4, atol=1e-5, grad_rtol=1e-4, grad_atol=1e-5)  # fmt: skip
    assert_same_error(lambda lib: lib.nn.TransformerEncoderLayer(8, 2, activation="tanh"))
    assert_same_error(
        lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16)(lib.ones(5, 2, 8), lib.ones(4, 3, 8))
    )
    assert_same_error(
        lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16)(lib.ones(5, 2, 8), lib.ones(4, 2, 6))
    )


RNN_CASES = [
    (lambda nn: nn.RNN(3, 4), [(5, 2, 3)]),
    (lambda nn: nn.RNN(3, 4, 2, "relu", bidirectional=True, batch_first=True),
     [(2, 5, 3), (4, 2, 4)]),
    (lambda nn: nn.LSTM(3, 4), [(5, 2, 3)]),
    (lambda nn: nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2),
     [(5, 2, 3), (4, 2, 2), (4, 2, 4)]),
    (lambda nn: nn.LSTM(3, 4, batch_first=True, bias=False), [(2, 5, 3)]),
    (lambda nn: nn.LSTM(3, 4), [(5, 3)]),
    (lambda nn: nn.GRU(3, 4, num_layers=3, dropout=0.3), [(5, 2, 3), (3, 2, 4)]),
    (lambda nn: nn.GRU(3, 4, bidirectional=True), [(5, 3), (2, 4)]),
    (lambda nn: nn.RNNCell(3, 4, nonlinearity="relu"), [(2, 3), (2, 4)]),
    (lambda nn: nn.LSTMCell(3, 4), [(2, 3), (2, 4), (2, 4)]),
    (lambda nn: nn.LSTMCell(3, 4), [(3,)]),
    (lambda nn: nn.GRUCell(3, 4, bias=False), [(2, 3)]),
    (lambda nn: nn.GRUCell(3, 4), [(3,), (4,)]),
]  # fmt: skip


@pytest.mark.filterwarnings("ignore:dropout option adds dropout")
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("build,shapes", RNN_CASES)
def test_recurrent_layers_parity(build, shapes):
    torch.manual_seed(0)
    tm = build(torch.nn)
    tapegrad.manual_seed(0)
    gm = build(tapegrad.nn)
    assert repr(gm) == repr(tm) and list(gm.state_dict()) == list(tm.state_dict())
    for (k, a), b in zip(tm.state_dict().items(), gm.state_dict().values()):
        np.testing.assert_array_equal(to_numpy(b), to_numpy(a), err_msg=k)  # PyTorch's init

    def fn(lib, x, *h):
        lib.manual_seed(1)  # the same dropout masks between layers
        m = tm if lib is torch else gm
        if not h:
            return m(x)
        return m(x, tuple(h) if len(h) == 2 else h[0])

    compare(fn, [_randn(*s) for s in shapes], rtol=1e-4, atol=1e-5, grad_rtol=1e-4,
            grad_atol=1e-5)  # fmt: skip
    for (name, p), q in zip(tm.named_parameters(), gm.parameters()):
        assert_same(p.grad, q.grad, rtol=1e-4, atol=1e-5, where=name)


def test_recurrent_gradcheck_and_errors():
    tapegrad.manual_seed(0)
    lstm = tapegrad.nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=1).double()
    x = tapegrad.tensor(R.standard_normal((3, 2, 2)), requires_grad=True)
    assert gradcheck(lambda a, *ps: lstm(a)[0], (x, *lstm.parameters()))
    gru = tapegrad.nn.GRUCell(2, 3).double()
    h = tapegrad.tensor(R.standard_normal((2, 3)), requires_grad=True)
    assert gradcheck(lambda a, b, *ps: gru(a, b), (x[0], h, *gru.parameters()))
    errors = [
        lambda lib: lib.nn.LSTM(3, 4)(lib.ones(5, 2, 4)),
        lambda lib: lib.nn.LSTM(3, 4)(lib.ones(5, 2, 2, 3)),
        lambda lib: lib.nn.GRU(3, 4)(lib.ones(5, 2, 3), lib.ones(2, 2, 4)),
        lambda lib: lib.nn.RNN(3, 4)(lib.ones(5, 2, 3), lib.ones(2, 4)),
        lambda lib: lib.nn.RNN(3, 4, nonlinearity="sigmoid"),
        lambda lib: lib.nn.LSTM(3, 4, proj_size=4),
        lambda lib: lib.nn.LSTM(3, 4, dropout=1.5),
        lambda lib: lib.nn.GRU(3, 0),
        lambda lib: lib.nn.GRU(3, 4, num_layers=0),
        lambda lib: lib.nn.LSTMCell(3, 4)(lib.ones(2, 2, 3)),
    ]
    for fn in errors:
        assert_same_error(fn)
