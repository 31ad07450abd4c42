"""The batch-norm and layer-norm kernels (issue 13) against float64 references.

Batch norm (statistics over every dim but the channels) and layer norm (float32 rows with
a weight of the normalised shape) have kernels of their own in ``Normalize``: sums through
BLAS, per-channel scales as repeated rows, fewer passes in the backward. Each is checked
here against the formulas in float64 NumPy (values, batch statistics, running statistics,
gradients of x, weight and bias, each gradient alone), on the layouts a network hands
them (non-contiguous input, no affine parameters, one sample, (N, C) and (N, C, L)), and
under ``create_graph=True``, where the backward takes the differentiable formula instead:
its first derivatives must equal the kernel's and its second derivatives PyTorch's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.ops import nn_ops as N

EPS = 1e-5


def _ref_norm(x, g, w, b, axes):
    """y, mean, biased var and the gradients of x, w, b (float64, keepdim shapes)."""
    x, g = x.astype(np.float64), g.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + EPS)
    xhat = (x - mean) * rstd
    w64 = np.ones(()) if w is None else w.astype(np.float64)
    y = xhat * w64 + (0 if b is None else b.astype(np.float64))
    gxhat = g * w64
    gx = (
        gxhat
        - gxhat.mean(axis=axes, keepdims=True)
        - xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)
    ) * rstd
    gw = None if w is None else _sum_to(g * xhat, w.shape)
    gb = None if b is None else _sum_to(g, b.shape)
    return y, mean, var, gx, gw, gb


def _sum_to(a, shape):
    off = a.ndim - len(shape)
    red = tuple(i for i in range(a.ndim) if i < off or shape[i - off] == 1)
    return a.sum(axis=red).reshape(shape)


def _close(got, ref, dtype, what):
    # float32 results are compared to the float64 formula relative to the largest value
    tol = 2e-6 if dtype == np.float32 else 1e-12
    got = np.asarray(got, dtype=np.float64)
    scale = max(float(np.max(np.abs(ref))), 1e-30)
    err = float(np.max(np.abs(got - ref))) / scale
    assert err < tol, f"{what}: relative error {err:.2e} (tolerance {tol:.0e})"


def _check(x, g, w, b, axes, needs=(True, True, True), kernel=None):
    """Normalize on tapegrad tensors against the reference, each needed gradient; the
    forward must have chosen ``kernel``."""
    dt = x.dtype
    tx = tapegrad.tensor(x, requires_grad=needs[0])
    tw = None if w is None else tapegrad.tensor(w, requires_grad=needs[1])
    tb = None if b is None else tapegrad.tensor(b, requires_grad=needs[2])
    y, mean, var = N.Normalize.apply(tx, tw, tb, axes=axes, eps=EPS)
    if y.grad_fn is not None:
        assert y.grad_fn.kernel == kernel
    ry, rmean, rvar, rgx, rgw, rgb = _ref_norm(x, g, w, b, axes)
    assert y.dtype == tx.dtype and mean.dtype == tx.dtype and var.dtype == tx.dtype
    assert tuple(mean.shape) == rmean.shape and tuple(var.shape) == rvar.shape
    _close(y.detach().numpy(), ry, dt, "y")
    _close(mean.numpy(), rmean, dt, "mean")
    _close(var.numpy(), rvar, dt, "var")
    if not any(t is not None and t.requires_grad for t in (tx, tw, tb)):
        return
    y.backward(tapegrad.tensor(g))
    for t, ref, name in ((tx, rgx, "grad x"), (tw, rgw, "grad w"), (tb, rgb, "grad b")):
        if t is None:
            continue
        if not t.requires_grad:
            assert t.grad is None
            continue
        assert t.grad.dtype == t.dtype and tuple(t.grad.shape) == tuple(t.shape)
        _close(t.grad.numpy(), ref, dt, name)


def _data(shape, dtype, offset=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = (offset + 2.0 * rng.standard_normal(shape)).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    return rng, x, g


BN_SHAPES = [(64, 16, 8, 8), (8, 3, 5, 4), (7, 5), (4, 3, 6), (1, 3, 4, 4), (2, 2, 3, 2, 2)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("params", ["wb", "w", "b", "none"])
def test_batch_norm_kernel_matches_float64_formula(shape, dtype, params):
    rng, x, g = _data(shape, dtype)
    cshape = (1, shape[1]) + (1,) * (len(shape) - 2)
    w = rng.standard_normal(cshape).astype(dtype) if "w" in params else None
    b = rng.standard_normal(cshape).astype(dtype) if "b" in params else None
    _check(x, g, w, b, (0,) + tuple(range(2, len(shape))), kernel="bn")


@pytest.mark.parametrize("shape", [(4000, 6), (300, 5, 3)])
@pytest.mark.parametrize("offset", [1.0, 12.0])
def test_batch_norm_kernel_large_batches_keep_float32_precision(shape, offset):
    # float32 sums run over blocks of samples, then float64: a large batch (BatchNorm1d)
    # must not lose precision, centred (offset 12 = 6 std) or not
    rng, x, g = _data(shape, np.float32, offset=offset)
    cshape = (1, shape[1]) + (1,) * (len(shape) - 2)
    w = rng.standard_normal(cshape).astype(np.float32)
    b = rng.standard_normal(cshape).astype(np.float32)
    _check(x, g, w, b, (0,) + tuple(range(2, len(shape))), kernel="bn")


@pytest.mark.parametrize(
    "needs",
    [(False, True, True), (True, False, False), (False, True, False), (False, False, True)],
)
def test_batch_norm_kernel_each_gradient_alone(needs):
    # A data batch as input (no gradient of x), frozen weight or bias
    rng, x, g = _data((6, 4, 5, 5), np.float32)
    w = rng.standard_normal((1, 4, 1, 1)).astype(np.float32)
    b = rng.standard_normal((1, 4, 1, 1)).astype(np.float32)
    _check(x, g, w, b, (0, 2, 3), needs, kernel="bn")


@pytest.mark.parametrize("far", [0, 1, 2, 9, 16])
def test_batch_norm_forward_recentres_channels_far_from_zero(far):
    # The variance comes from sum(x * x) - mean^2 while every |mean| <= 2 std; with a
    # channel beyond (or a constant one) the data is centred first
    rng, x, g = _data((16, 16, 5, 5), np.float32)
    offsets = np.zeros(16, np.float32)
    offsets[:far] = np.linspace(40.0, 400.0, 16)[:far]
    x += offsets[:, None, None]
    if far == 16:
        x[:, 15] = 3.0  # a constant channel: variance exactly 0
    w = rng.standard_normal((1, 16, 1, 1)).astype(np.float32)
    b = rng.standard_normal((1, 16, 1, 1)).astype(np.float32)
    tx = tapegrad.tensor(x, requires_grad=True)
    tw = tapegrad.tensor(w, requires_grad=True)
    y, _, var = N.Normalize.apply(tx, tw, tapegrad.tensor(b), axes=(0, 2, 3), eps=EPS)
    y.backward(tapegrad.tensor(g))
    ry, _, rvar, rgx, rgw, _ = _ref_norm(x, g, w, b, (0, 2, 3))
    assert (var.numpy() >= 0).all()
    _close(var.numpy(), rvar, np.float32, "var")
    results = ((y.detach().numpy(), ry), (tx.grad.numpy(), rgx), (tw.grad.numpy(), rgw))
    for got, ref in results if far < 16 else ():
        _close(got[:, far:], ref[:, far:], np.float32, "channels near zero")
    if far:
        # float32 rounding of x itself (|x| ~ offset) bounds any float32 kernel there
        tol = 8 * np.finfo(np.float32).eps * 400.0 / 2.0
        for got, ref in results:
            err = np.abs(got[:, :far] - ref[:, :far]).max() / np.abs(ref[:, :far]).max()
            assert err < tol
    if far == 16:
        assert var.numpy()[0, 15, 0, 0] == 0.0 and (y.detach().numpy()[:, 15] == b[0, 15]).all()


@pytest.mark.parametrize("limit", [0.0, N._UNCENTRED_MAX, float("inf")])
@pytest.mark.parametrize("offset", [0.0, 7.6, 8.4])
def test_batch_norm_backward_centred_and_uncentred_sums(monkeypatch, limit, offset):
    # The backward sums g * x (not g * (x - mean)) while |mean| / std stays under the
    # limit: both ways must hold float32 precision, up to the limit (std is 2 here)
    monkeypatch.setattr(N, "_UNCENTRED_MAX", limit)
    rng, x, g = _data((32, 4, 6, 6), np.float32, offset=offset)
    w = rng.standard_normal((1, 4, 1, 1)).astype(np.float32)
    b = rng.standard_normal((1, 4, 1, 1)).astype(np.float32)
    _check(x, g, w, b, (0, 2, 3), kernel="bn")


def test_batch_norm_kernel_non_contiguous_input_and_gradient():
    rng, x, g = _data((5, 6, 7, 3), np.float32)
    w = rng.standard_normal((1, 3, 1, 1)).astype(np.float32)
    b = rng.standard_normal((1, 3, 1, 1)).astype(np.float32)
    # channels-last data seen as NCHW: x.transpose is a strided view, as is g
    xt, gt = x.transpose(0, 3, 1, 2), g.transpose(0, 3, 1, 2)
    assert not xt.flags.c_contiguous
    tx = tapegrad.tensor(x, requires_grad=True)
    xv = tx.permute(0, 3, 1, 2)
    y, _, _ = N.Normalize.apply(xv, tapegrad.tensor(w), tapegrad.tensor(b), axes=(0, 2, 3), eps=EPS)
    y.backward(tapegrad.tensor(np.ascontiguousarray(gt)).permute(0, 1, 2, 3))
    ry, _, _, rgx, _, _ = _ref_norm(xt, gt, w, b, (0, 2, 3))
    _close(y.detach().numpy(), ry, np.float32, "y")
    _close(tx.grad.numpy(), rgx.transpose(0, 2, 3, 1), np.float32, "grad x")


@pytest.mark.parametrize("offset", [30.0, -500.0])
def test_batch_norm_kernel_keeps_float32_precision_far_from_zero(offset):
    # data whose mean is far larger than its spread: the variance must not cancel
    rng, x, g = _data((16, 4, 6, 6), np.float32, offset=offset)
    x = (offset + (x - offset) * 0.01).astype(np.float32)
    w = rng.standard_normal((1, 4, 1, 1)).astype(np.float32)
    tx = tapegrad.tensor(x, requires_grad=True)
    y, _, var = N.Normalize.apply(tx, tapegrad.tensor(w), None, axes=(0, 2, 3), eps=EPS)
    y.backward(tapegrad.tensor(g))
    ry, _, rvar, rgx, _, _ = _ref_norm(x, g, w, None, (0, 2, 3))
    # float32 rounding of x itself (|x| ~ offset) bounds what any float32 kernel can do
    tol = 4 * abs(offset) * np.finfo(np.float32).eps / 0.02
    assert np.max(np.abs(y.detach().numpy() - ry)) / np.max(np.abs(ry)) < tol
    assert np.max(np.abs(var.numpy() - rvar)) / np.max(rvar) < tol
    assert np.max(np.abs(tx.grad.numpy() - rgx)) / np.max(np.abs(rgx)) < tol


LN_SHAPES = [((64, 32, 128), 1), ((3, 4, 5), 2), ((2, 7), 1), ((5, 9), 2)]


@pytest.mark.parametrize("shape,k", LN_SHAPES)
@pytest.mark.parametrize("params", ["wb", "w", "b", "none"])
def test_layer_norm_kernel_matches_float64_formula(shape, k, params):
    rng, x, g = _data(shape, np.float32, offset=0.5)
    pshape = shape[len(shape) - k :]
    w = rng.standard_normal(pshape).astype(np.float32) if "w" in params else None
    b = rng.standard_normal(pshape).astype(np.float32) if "b" in params else None
    _check(x, g, w, b, tuple(range(len(shape) - k, len(shape))), kernel="ln")


@pytest.mark.parametrize(
    "needs", [(False, True, True), (True, False, False), (False, True, False), (False, False, True)]
)
def test_layer_norm_kernel_each_gradient_alone(needs):
    rng, x, g = _data((6, 10, 16), np.float32)
    w = rng.standard_normal(16).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    _check(x, g, w, b, (2,), needs, kernel="ln")


def test_layer_norm_kernel_non_contiguous_input():
    rng, x, g = _data((16, 6), np.float32)
    w = rng.standard_normal(16).astype(np.float32)
    tx = tapegrad.tensor(x, requires_grad=True)
    y, _, _ = N.Normalize.apply(tx.t(), tapegrad.tensor(w), None, axes=(1,), eps=EPS)
    y.backward(tapegrad.tensor(g.T.copy()))
    ry, _, _, rgx, _, _ = _ref_norm(x.T, g.T, w, None, (1,))
    _close(y.detach().numpy(), ry, np.float32, "y")
    _close(tx.grad.numpy(), rgx.T, np.float32, "grad x")


def _module_pair(kind, shape, double=False):
    mods = []
    for lib in (torch, tapegrad):
        m = lib.nn.BatchNorm2d(shape[1]) if kind == "bn" else lib.nn.LayerNorm(shape[-1])
        m = m.double() if double else m
        n = m.weight.numel()
        with lib.no_grad():
            m.weight.copy_(lib.tensor(np.linspace(0.5, 2.0, n), dtype=m.weight.dtype))
            m.bias.copy_(lib.tensor(np.linspace(-1.0, 1.0, n), dtype=m.bias.dtype))
        mods.append(m)
    return mods


@pytest.mark.parametrize("kind,shape", [("bn", (16, 8, 6, 6)), ("ln", (8, 16, 32))])
def test_create_graph_first_derivatives_equal_the_kernels(kind, shape):
    # float32: the kernel (plain backward) and the differentiable formula (create_graph)
    _, x, g = _data(shape, np.float32)
    m = _module_pair(kind, shape)[1]
    grads = []
    for create_graph in (False, True):
        tx = tapegrad.tensor(x, requires_grad=True)
        params = [tx, m.weight, m.bias]
        grads.append(
            tapegrad.autograd.grad(m(tx), params, tapegrad.tensor(g), create_graph=create_graph)
        )
    for a, b, name in zip(*grads, ("x", "weight", "bias")):
        np.testing.assert_allclose(
            a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=2e-5, err_msg=name
        )


@pytest.mark.parametrize("kind,shape", [("bn", (6, 3, 4, 4)), ("ln", (4, 5, 8))])
def test_second_derivatives_through_the_kernels_match_pytorch(kind, shape):
    rng, x, g = _data(shape, np.float64)
    v = rng.standard_normal(shape)
    out = []
    for lib, m in zip((torch, tapegrad), _module_pair(kind, shape, double=True)):
        tx = lib.tensor(x, requires_grad=True)
        params = [tx, m.weight, m.bias]
        gx, gw, gb = lib.autograd.grad(m(tx), params, lib.tensor(g), create_graph=True)
        loss = (gx * lib.tensor(v)).sum() + gw.sum() * gb.sum()
        second = lib.autograd.grad(loss, params, allow_unused=True)
        second = [
            np.zeros(p.shape) if s is None else s.detach().numpy() for p, s in zip(params, second)
        ]
        out.append([t.detach().numpy() for t in (gx, gw, gb)] + second)
        if lib is tapegrad:
            assert tapegrad.autograd.gradgradcheck(m, (tx,))
    for a, b in zip(*out):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)


def test_batch_norm2d_training_matches_pytorch_with_running_stats():
    # the module over a few steps: outputs, gradients and the running statistics
    shape = (32, 8, 10, 10)
    rng = np.random.default_rng(3)
    mods = _module_pair("bn", shape)
    for step in range(3):
        x = (1.5 + 2.0 * rng.standard_normal(shape)).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        res = []
        for lib, m in zip((torch, tapegrad), mods):
            for p in m.parameters():
                p.grad = None
            tx = lib.tensor(x, requires_grad=True)
            y = m(tx)
            y.backward(lib.tensor(g))
            res.append(
                [y.detach().numpy(), tx.grad.numpy(), m.weight.grad.numpy(), m.bias.grad.numpy()]
                + [m.running_mean.numpy(), m.running_var.numpy()]
            )
        assert int(mods[1].num_batches_tracked) == step + 1
        for a, b in zip(*res):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=2e-5)


def test_running_stats_update_bumps_the_version():
    m = tapegrad.nn.BatchNorm1d(3)
    v0, w0 = m.running_mean._version, m.running_var._version
    m(tapegrad.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3)))
    assert m.running_mean._version == v0 + 1 and m.running_var._version == w0 + 1
    np.testing.assert_allclose(m.running_mean.numpy(), [0.45, 0.55, 0.65], rtol=1e-6)


def test_layer_norm_node_name_as_pytorch():
    # PyTorch names the node NativeLayerNormBackward0 (batch norm: NativeBatchNormBackward0)
    import torch

    for lib in (torch, tapegrad):
        x = lib.randn(3, 8, requires_grad=True)
        assert lib.nn.functional.layer_norm(x, (8,)).grad_fn.name() == "NativeLayerNormBackward0"
        b = lib.randn(3, 4, 5, requires_grad=True)
        assert lib.nn.BatchNorm1d(4)(b).grad_fn.name() == "NativeBatchNormBackward0"
