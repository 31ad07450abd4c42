"""Second derivatives of convolutions, pooling and unfold/fold against PyTorch's (issue 9).

Each case runs ``grad(out, inputs, u, create_graph=True)`` then ``grad(sum(g * v), ...)``
in both libraries on the same float64 data with the same random ``u`` and ``v`` (the
registry's ``_double_backward``); convolutions also on transposed (non-contiguous)
inputs. Ops that are linear in their input (pooling, unfold, fold) are squared, so that
the first gradient depends on the input and the second one runs the backward of the
backward kernel (the gather of max pooling's scatter, the pooling of average pooling's
spread, ...). A few small cases also pass ``gradgradcheck``; modules with every
``padding_mode`` and the Hessian-vector product of the seed CNN's loss are compared
with PyTorch's too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_ops import Op, _check_double_backward, sample
from test_seed_cnn_parity import seed_sequential

import tapegrad


def _F(L):
    return L.nn.functional


def _sq(f):
    """``f``'s output squared: the gradient of a linear op then depends on its input."""

    def g(L, *xs):
        out = f(L, *xs)
        return out * out

    return g


def _conv(name, **kw):
    return lambda L, x, w, b=None: getattr(_F(L), name)(x, w, b, **kw)


def _pad_conv(mode, pads, **kw):
    """What ``nn.Conv2d(padding_mode=mode)`` computes: an explicit pad, then a convolution."""
    return lambda L, x, w, b: _F(L).conv2d(_F(L).pad(x, pads, mode=mode), w, b, **kw)


def _unpool(nd, k, s=None, p=0):
    """Max-unpooling of ``x`` at the indices of a fixed max pooling (constants)."""

    def f(L, x):
        base = L.tensor(np.random.default_rng(7).standard_normal(_unpool_src_shape[nd]))
        pool = getattr(_F(L), f"max_pool{nd}d")
        _, idx = pool(base, k, s, p, return_indices=True)
        return getattr(_F(L), f"max_unpool{nd}d")(x * x, idx, k, s, p)

    return f


_unpool_src_shape = {1: (2, 3, 9), 2: (2, 3, 6, 6), 3: (1, 2, 4, 5, 4)}


CONV_CASES = [
    Op("conv1d", _conv("conv1d", stride=2, padding=1), [((2, 3, 9), (4, 3, 3), (4,))]),
    Op(
        "conv1d_dil_groups",
        _conv("conv1d", dilation=2, groups=2),
        [((2, 4, 9), (6, 2, 3))],
    ),
    Op("conv1d_same", _conv("conv1d", padding="same"), [((2, 3, 7), (2, 3, 4), (2,))]),
    Op("conv1d_unbatched", _conv("conv1d", padding=1), [((3, 6), (2, 3, 3), (2,))]),
    Op(
        "conv2d",
        _conv("conv2d", stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
        [((2, 4, 7, 8), (6, 2, 3, 2), (6,))],
    ),
    # 12x12 output pixels per sample: the batch-major column layout (also the flat shift)
    Op("conv2d_batch_major", _conv("conv2d", padding=1), [((2, 2, 12, 12), (3, 2, 3, 3), (3,))]),
    Op(
        "conv2d_same_dil",
        _conv("conv2d", padding="same", dilation=2),
        [((2, 3, 6, 5), (2, 3, 2, 3))],
    ),
    Op("conv2d_1x1_stride", _conv("conv2d", stride=2), [((2, 3, 5, 5), (4, 3, 1, 1), (4,))]),
    Op("conv2d_unbatched", _conv("conv2d", padding="valid"), [((2, 5, 5), (3, 2, 3, 3), (3,))]),
    Op(
        "conv2d_reflect",
        _pad_conv("reflect", (1, 1, 2, 2), stride=2),
        [((2, 3, 6, 6), (4, 3, 3, 3), (4,))],
    ),
    Op(
        "conv2d_circular",
        _pad_conv("circular", (1, 1, 1, 1)),
        [((2, 3, 5, 5), (4, 3, 3, 3), (4,))],
    ),
    Op(
        "conv3d",
        _conv("conv3d", stride=(1, 2, 1), padding=1, dilation=(2, 1, 1), groups=2),
        [((2, 4, 5, 5, 4), (4, 2, 2, 3, 2), (4,))],
    ),
    Op("conv3d_same", _conv("conv3d", padding="same"), [((1, 2, 4, 4, 3), (3, 2, 2, 3, 2))]),
    Op(
        "conv_transpose1d",
        _conv("conv_transpose1d", stride=2, padding=1, output_padding=1, groups=2, dilation=2),
        [((2, 4, 5), (4, 3, 3), (6,))],
    ),
    Op(
        "conv_transpose2d",
        _conv("conv_transpose2d", stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
        [((2, 3, 4, 3), (3, 2, 3, 3), (2,))],
    ),
    Op(
        "conv_transpose2d_groups_dil",
        _conv("conv_transpose2d", padding=1, groups=2, dilation=(2, 1)),
        [((2, 4, 4, 5), (4, 1, 3, 2))],
    ),
    Op(
        "conv_transpose3d",
        _conv("conv_transpose3d", stride=2, padding=(1, 0, 0), output_padding=(1, 0, 1)),
        [((1, 2, 2, 3, 2), (2, 3, 2, 2, 2), (3,))],
    ),
]

POOL_CASES = [
    Op("max_pool1d", _sq(lambda L, x: _F(L).max_pool1d(x, 3, 2, 1)), [((2, 3, 9),)]),
    Op("max_pool2d", _sq(lambda L, x: _F(L).max_pool2d(x, 3, 2, 1)), [((2, 3, 7, 8),)]),
    Op("max_pool2d_disjoint", _sq(lambda L, x: _F(L).max_pool2d(x, 2)), [((2, 3, 6, 8),)]),
    Op(
        "max_pool2d_dil_ceil",
        _sq(lambda L, x: _F(L).max_pool2d(x, (2, 3), (1, 2), 1, dilation=(2, 1), ceil_mode=True)),
        [((2, 3, 7, 8),)],
    ),
    Op(
        "max_pool2d_indices",
        _sq(lambda L, x: _F(L).max_pool2d(x, 2, return_indices=True)[0]),
        [((3, 5, 6),)],
    ),
    Op("max_pool3d", _sq(lambda L, x: _F(L).max_pool3d(x, 2, 1, 1)), [((2, 2, 4, 5, 4),)]),
    Op("avg_pool1d", _sq(lambda L, x: _F(L).avg_pool1d(x, 3, 2, 1)), [((2, 3, 9),)]),
    Op(
        "avg_pool2d_ceil_nopad",
        _sq(lambda L, x: _F(L).avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
        [((2, 3, 7, 8),)],
    ),
    Op(
        "avg_pool2d_divisor",
        _sq(lambda L, x: _F(L).avg_pool2d(x, 2, divisor_override=3)),
        [((2, 3, 6, 8),)],
    ),
    Op(
        "avg_pool3d",
        _sq(lambda L, x: _F(L).avg_pool3d(x, 2, 1, 1, count_include_pad=False)),
        [((2, 2, 4, 5, 4),)],
    ),
    Op(
        "adaptive_avg_pool2d",  # uneven windows: matrix products
        _sq(lambda L, x: _F(L).adaptive_avg_pool2d(x, (3, 5))),
        [((2, 3, 7, 8),)],
    ),
    Op(
        "adaptive_avg_pool2d_even",
        _sq(lambda L, x: _F(L).adaptive_avg_pool2d(x, (3, 4))),
        [((2, 3, 6, 8),)],
    ),
    Op(
        "adaptive_avg_pool2d_one",
        _sq(lambda L, x: _F(L).adaptive_avg_pool2d(x, 1)),
        [((2, 3, 5, 4),)],
    ),
    Op("adaptive_avg_pool1d", _sq(lambda L, x: _F(L).adaptive_avg_pool1d(x, 4)), [((2, 3, 7),)]),
    Op(
        "adaptive_avg_pool3d",
        _sq(lambda L, x: _F(L).adaptive_avg_pool3d(x, (3, 2, 3))),
        [((2, 2, 4, 5, 4),)],
    ),
    Op("adaptive_max_pool1d", _sq(lambda L, x: _F(L).adaptive_max_pool1d(x, 4)), [((2, 3, 7),)]),
    Op(
        "adaptive_max_pool2d",
        _sq(lambda L, x: _F(L).adaptive_max_pool2d(x, (3, 5))),
        [((2, 3, 7, 8),)],
    ),
    Op(
        "adaptive_max_pool3d",
        _sq(lambda L, x: _F(L).adaptive_max_pool3d(x, (3, 2, 3))),
        [((2, 2, 4, 5, 4),)],
    ),
    Op("lp_pool1d", lambda L, x: _F(L).lp_pool1d(x, 2, 3, 2), [((2, 3, 9),)], "pos"),
    Op(
        "lp_pool2d",
        lambda L, x: _F(L).lp_pool2d(x, 3, (2, 3), 2, ceil_mode=True),
        [((2, 3, 7, 8),)],
        "pos",
    ),
    Op("max_unpool1d", _unpool(1, 3, 2, 1), [((2, 3, 5),)]),
    Op("max_unpool2d", _unpool(2, 2), [((2, 3, 3, 3),)]),
    Op("max_unpool3d", _unpool(3, 2, 1), [((1, 2, 3, 4, 3),)]),
    Op(
        "unfold",
        _sq(lambda L, x: _F(L).unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))),
        [((2, 3, 6, 7),)],
    ),
    Op("fold", _sq(lambda L, x: _F(L).fold(x, (5, 6), (2, 2), stride=1)), [((2, 8, 20),)]),
    Op(
        "fold_strided",
        _sq(lambda L, x: _F(L).fold(x, (5, 7), 3, padding=1, stride=2)),
        [((9, 12),)],
    ),
]


def _arrays(op):
    rng = np.random.default_rng(0)
    return [sample(s, op.domain, rng, "float64") for s in op.shapes[0]]


@pytest.mark.parametrize("op", CONV_CASES, ids=lambda o: o.name)
def test_conv_double_backward_matches_pytorch(op):
    """Contiguous inputs, then transposed views (strided x, w and upstream gradients)."""
    arrays = _arrays(op)
    assert not _check_double_backward(op, arrays, seed=0)
    base = [np.ascontiguousarray(np.swapaxes(a, -1, -2)) if a.ndim >= 2 else a for a in arrays]
    _check_double_backward(op, base, seed=1, transpose=True)


@pytest.mark.parametrize("op", POOL_CASES, ids=lambda o: o.name)
def test_pool_double_backward_matches_pytorch(op):
    assert not _check_double_backward(op, _arrays(op), seed=0)


# gradgradcheck: finite differences of the gradient, on inputs small enough to be quick
GRADGRADCHECK_CASES = [
    Op(
        "conv2d",
        _conv("conv2d", stride=(2, 1), padding=1, groups=2),
        [((1, 2, 4, 3), (2, 1, 2, 2), (2,))],
    ),
    Op("conv1d_nlast", _conv("conv1d", dilation=2), [((2, 2, 5), (2, 2, 2))]),
    Op(
        "conv_transpose1d",
        _conv("conv_transpose1d", stride=2, output_padding=1),
        [((1, 2, 3), (2, 1, 2), (1,))],
    ),
    Op("max_pool2d", _sq(lambda L, x: _F(L).max_pool2d(x, 2, 1)), [((1, 2, 3, 3),)]),
    Op("avg_pool2d", _sq(lambda L, x: _F(L).avg_pool2d(x, 2, 1, 1)), [((1, 1, 3, 3),)]),
    Op("adaptive_max_pool1d", _sq(lambda L, x: _F(L).adaptive_max_pool1d(x, 3)), [((1, 2, 5),)]),
    Op("adaptive_avg_pool1d", _sq(lambda L, x: _F(L).adaptive_avg_pool1d(x, 3)), [((1, 2, 5),)]),
    Op("unfold", _sq(lambda L, x: _F(L).unfold(x, 2, padding=1, stride=2)), [((1, 1, 3, 3),)]),
]


@pytest.mark.parametrize("op", GRADGRADCHECK_CASES, ids=lambda o: o.name)
def test_gradgradcheck(op):
    rng = np.random.default_rng(3)
    inputs = [
        tapegrad.tensor(sample(s, op.domain, rng, "float64"), requires_grad=True)
        for s in op.shapes[0]
    ]
    f = lambda *xs: op.fn(tapegrad, *xs)  # noqa: E731
    assert tapegrad.autograd.gradgradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_third_order_convolution():
    """The backward of a convolution's backward is differentiable again (third order)."""
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in ((2, 2, 5, 5), (3, 2, 3, 3))]
    results = []
    for L in (torch, tapegrad):
        x, w = (L.tensor(a, requires_grad=True) for a in arrays)
        y = _F(L).conv2d(x, w, stride=2, padding=1)
        (gx,) = L.autograd.grad((y * y).sum(), x, create_graph=True)
        (gw,) = L.autograd.grad((gx * gx).sum(), w, create_graph=True)
        results.append(L.autograd.grad((gw * gw).sum(), (x, w)))
    for t, g in zip(*results):
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-9, atol=1e-9)


THIRD_ORDER_POOLS = {
    "max_pool2d": lambda F, x: F.max_pool2d(x, 3, 2, 1),
    "avg_pool2d": lambda F, x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    "adaptive_max_pool2d": lambda F, x: F.adaptive_max_pool2d(x, (4, 3)),
    "unfold": lambda F, x: F.unfold(x, 2, stride=2, padding=1),
}


@pytest.mark.parametrize("name", list(THIRD_ORDER_POOLS))
def test_third_order_pooling(name):
    """Scatter and gather kernels are each other's derivatives, to any order."""
    a = np.random.default_rng(5).standard_normal((2, 2, 6, 6))
    results = []
    for L in (torch, tapegrad):
        x = L.tensor(a, requires_grad=True)
        y = THIRD_ORDER_POOLS[name](_F(L), x)
        (g1,) = L.autograd.grad((y * y * y).sum(), x, create_graph=True)
        (g2,) = L.autograd.grad((g1 * g1 * g1).sum(), x, create_graph=True)
        results.append(L.autograd.grad((g2 * g2).sum(), x)[0].numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-9, atol=1e-9)


GRAD_FN_CASES = {
    "conv2d": lambda F, x: F.conv2d(x, x.new_ones((3, 2, 3, 3))),
    "conv_transpose2d": lambda F, x: F.conv_transpose2d(x, x.new_ones((2, 3, 3, 3))),
    "max_pool2d": lambda F, x: F.max_pool2d(x, 2),
    "max_pool3d": lambda F, x: F.max_pool3d(x, 2),
    "avg_pool2d": lambda F, x: F.avg_pool2d(x, 2),
    "adaptive_avg_pool2d": lambda F, x: F.adaptive_avg_pool2d(x, (2, 3)),
    "adaptive_avg_pool2d_even": lambda F, x: F.adaptive_avg_pool2d(x, 2),
    "adaptive_max_pool2d": lambda F, x: F.adaptive_max_pool2d(x, 3),
    "unfold": lambda F, x: F.unfold(x, 2),
}


@pytest.mark.parametrize("name", list(GRAD_FN_CASES))
def test_gradient_grad_fn_names(name):
    """A gradient taken with create_graph has PyTorch's grad_fn name."""
    a = np.random.default_rng(0).standard_normal((2, 2, 4, 4))
    names = []
    for L in (torch, tapegrad):
        x = L.tensor(a, requires_grad=True)
        y = GRAD_FN_CASES[name](_F(L), x)
        u = L.ones(tuple(y.shape), dtype=y.dtype, requires_grad=True)
        (g,) = L.autograd.grad(y, x, u, create_graph=True)
        names.append(type(g.grad_fn).__name__ if L is torch else g.grad_fn.name())
    assert names[1] == names[0]


# ---------------------------------------------------------------------------
# modules: every padding_mode, transposed convolutions


def _module_double_backward(L, make, params, x_arr, seed):
    """Gradients and second derivatives of a module w.r.t. its input, parameters and ``u``."""
    m = make(L).double()
    with L.no_grad():
        for p, a in zip(m.parameters(), params):
            p.copy_(L.tensor(a))
    x = L.tensor(x_arr, requires_grad=True)
    out = m(x)
    rng = np.random.default_rng(seed)
    u = L.tensor(rng.standard_normal(tuple(out.shape)), requires_grad=True)
    wrt = [x, *m.parameters()]
    gs = L.autograd.grad(out, wrt, u, create_graph=True)
    vs = [L.tensor(rng.standard_normal(tuple(g.shape))) for g in gs]
    ggs = L.autograd.grad(sum((g * v).sum() for g, v in zip(gs, vs)), wrt + [u], allow_unused=True)
    return [g.detach().numpy() for g in gs], [
        None if g is None else g.detach().numpy() for g in ggs
    ]


MODULES = [
    (
        "Conv1d_reflect",
        lambda L: L.nn.Conv1d(3, 4, 3, padding=2, padding_mode="reflect"),
        (2, 3, 6),
    ),
    (
        "Conv2d_circular",
        lambda L: L.nn.Conv2d(
            4, 4, (3, 2), stride=2, padding=(1, 2), groups=2, padding_mode="circular"
        ),
        (2, 4, 5, 6),
    ),
    (
        "Conv2d_replicate_same",
        lambda L: L.nn.Conv2d(2, 3, 3, padding="same", dilation=2, padding_mode="replicate"),
        (2, 2, 5, 5),
    ),
    (
        "Conv3d_reflect",
        lambda L: L.nn.Conv3d(2, 2, 2, padding=1, bias=False, padding_mode="reflect"),
        (1, 2, 3, 4, 3),
    ),
    (
        "ConvTranspose1d",
        lambda L: L.nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1, groups=2, dilation=2),
        (2, 4, 4),
    ),
    (
        "ConvTranspose2d",
        lambda L: L.nn.ConvTranspose2d(
            2, 3, (2, 3), stride=(2, 1), padding=1, output_padding=(1, 0)
        ),
        (2, 2, 3, 4),
    ),
]


@pytest.mark.parametrize("name,make,shape", MODULES, ids=[m[0] for m in MODULES])
def test_module_double_backward(name, make, shape):
    rng = np.random.default_rng(1)
    params = [rng.standard_normal(tuple(p.shape)) for p in make(torch).parameters()]
    x = rng.standard_normal(shape)
    t_gs, t_ggs = _module_double_backward(torch, make, params, x, seed=2)
    g_gs, g_ggs = _module_double_backward(tapegrad, make, params, x, seed=2)
    for t, g in zip(t_gs, g_gs):
        np.testing.assert_allclose(g, t, rtol=1e-7, atol=1e-9)
    for k, (t, g) in enumerate(zip(t_ggs, g_ggs)):
        t = 0.0 if t is None else t
        g = 0.0 if g is None else g
        np.testing.assert_allclose(g, t, rtol=1e-7, atol=1e-9, err_msg=f"{name}: d2 #{k}")


# ---------------------------------------------------------------------------
# the seed CNN: Hessian-vector product of its loss


def _loss_hvp(L, model, x, y, vs):
    """(gradient, H @ v) of the cross-entropy loss w.r.t. the model's parameters."""
    params = list(model.parameters())
    loss = _F(L).cross_entropy(model(L.tensor(x)), L.tensor(y))
    gs = L.autograd.grad(loss, params, create_graph=True)
    dot = sum((g * L.tensor(v)).sum() for g, v in zip(gs, vs))
    hv = L.autograd.grad(dot, params)
    return [g.detach().numpy() for g in gs], [h.numpy() for h in hv]


def test_seed_cnn_hessian_vector_product():
    """hvp of the seed CNN's loss (tapegrad.models) equals PyTorch's with the same weights."""
    from tapegrad.models import seed_cnn

    torch.manual_seed(0)
    t_model = seed_sequential(torch).double()
    g_model = seed_cnn().double()
    with tapegrad.no_grad():
        for p, q in zip(g_model.parameters(), t_model.parameters()):
            p.copy_(tapegrad.tensor(q.detach().numpy()))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 28, 28))
    y = rng.integers(0, 10, size=4)
    vs = [rng.standard_normal(tuple(p.shape)) for p in t_model.parameters()]
    t_g, t_hv = _loss_hvp(torch, t_model, x, y, vs)
    g_g, g_hv = _loss_hvp(tapegrad, g_model, x, y, vs)
    for t, g in zip(t_g, g_g):
        np.testing.assert_allclose(g, t, rtol=1e-8, atol=1e-10)
    for t, g in zip(t_hv, g_hv):
        np.testing.assert_allclose(g, t, rtol=1e-7, atol=1e-9)
