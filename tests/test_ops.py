"""The op registry: every op runs in PyTorch and tapegrad on the same data.

Each entry names an op, a function ``fn(lib, *tensors)`` and the shapes of its
sample inputs. The tests compare values, dtypes and shapes, then gradients under a
random upstream gradient, on contiguous and non-contiguous inputs, and run
``gradcheck`` in float64. Adding an op to ``OPS`` tests it everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from conftest import assert_same, compare
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import tapegrad


@dataclass
class Op:
    """One registry entry: ``fn(lib, *inputs)`` on samples of ``shapes`` from ``domain``."""

    name: str
    fn: object
    shapes: list  # a list of samples; each sample is a tuple of input shapes
    domain: str = "real"
    grad: bool = True
    gradcheck: bool = True
    dtype: str = "float32"
    rtol: float | None = None
    atol: float | None = None
    noncontig: bool = True  # false for view(), which rejects non-contiguous input like PyTorch


def sample(shape, domain, rng, dtype="float32"):
    """Sample data for an input, kept off the op's kinks and poles."""
    if domain == "int":
        return rng.integers(-5, 6, size=shape).astype(np.int64)
    if domain == "bool":
        return rng.random(shape) > 0.5
    if domain == "pos":
        a = rng.uniform(0.5, 2.0, size=shape)
    elif domain == "unit":
        a = rng.uniform(-0.9, 0.9, size=shape)
    elif domain == "nonzero":
        a = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    elif domain == "offint":
        a = rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.4, size=shape)
        a = a * rng.choice([-1.0, 1.0], size=shape)
    elif domain == "spd":
        m = rng.standard_normal(shape)
        a = m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])
    elif domain == "wellcond":
        a = rng.standard_normal(shape) + 3 * np.eye(shape[-1])
    else:
        a = rng.standard_normal(size=shape)
    return np.asarray(a, dtype=dtype)


def _bin(name, op, domain="real", shapes=None, **kw):
    shapes = shapes or [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3))]
    return Op(name, op, shapes, domain, **kw)


INPLACE_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 4), (3, 1)), ((2, 3), ())]


def _inp(name, op, domain="real", **kw):
    return Op(name, op, INPLACE_SHAPES, domain, **kw)


def _un(name, op, domain="real", **kw):
    return Op(name, op, [((3, 4),), ((2, 3, 4),), ((),)], domain, **kw)


def _idx(L, v):
    return L.tensor(v)


S34 = [((3, 4),), ((2, 3, 4),)]
SQ = [((3, 3),), ((2, 3, 3),)]

OPS: list[Op] = [
    # pointwise binary operators, reflected forms and functions
    _bin("add", lambda L, a, b: a + b),
    _bin("add_alpha", lambda L, a, b: L.add(a, b, alpha=2.5)),
    _bin("radd", lambda L, a, b: 2 + a),
    _bin("sub", lambda L, a, b: a - b),
    _bin("rsub", lambda L, a, b: 1.5 - a),
    _bin("mul", lambda L, a, b: a * b),
    _bin("rmul", lambda L, a, b: 3 * b),
    _bin("div", lambda L, a, b: a / b, "nonzero"),
    _bin("rdiv", lambda L, a, b: 2 / b, "nonzero"),
    _bin("floordiv", lambda L, a, b: a // b, "nonzero", grad=False),
    _bin("rfloordiv", lambda L, a, b: 5 // b, "nonzero", grad=False),
    _bin("mod", lambda L, a, b: a % b, "nonzero", grad=False),
    _bin("rmod", lambda L, a, b: 5.0 % b, "nonzero", grad=False),
    _bin("pow", lambda L, a, b: a**b, "pos"),
    _bin("pow_scalar", lambda L, a, b: a**2 + b**3),
    _bin("rpow", lambda L, a, b: 2**a, "pos"),
    _bin("maximum", lambda L, a, b: L.maximum(a, b)),
    _bin("minimum", lambda L, a, b: L.minimum(a, b)),
    _bin("lerp", lambda L, a, b: L.lerp(a, b, 0.3)),
    _bin("lerp_tensor", lambda L, a, b: L.lerp(a, b, b.sigmoid())),
    _bin("atan2", lambda L, a, b: L.atan2(a, b), "nonzero"),
    _bin("where", lambda L, a, b: L.where(a > 0, a, b)),
    _bin("where_scalar", lambda L, a, b: L.where(a > b, a, 0.0) + L.where(a > 0, 1.0, b)),
    _bin("eq", lambda L, a, b: a == b.round(), "offint", grad=False),
    _bin("ne", lambda L, a, b: a != b, grad=False),
    _bin("lt", lambda L, a, b: a < b, grad=False),
    _bin("le", lambda L, a, b: a <= b, grad=False),
    _bin("gt", lambda L, a, b: a > b, grad=False),
    _bin("ge", lambda L, a, b: a >= b, grad=False),
    _bin("gt_scalar", lambda L, a, b: (a > 0.5) & (0 < b), grad=False),
    _bin("logical_and", lambda L, a, b: L.logical_and(a > 0, b), grad=False),
    _bin("logical_or", lambda L, a, b: L.logical_or(a, b < 0), grad=False),
    _bin("logical_xor", lambda L, a, b: L.logical_xor(a > 0, b > 0), grad=False),
    _bin("bool_ops", lambda L, a, b: ((a > 0) | (b > 0)) ^ ~(a < b), grad=False),
    _bin("int_ops", lambda L, a, b: [a + b, a * 2, a // 2, a % 3, a / 2, -a], "int", grad=False),
    _bin("int_float", lambda L, a, b: [a + 1.5, a * 0.5, a**2, (a > 0) + 1], "int", grad=False),
    _bin("bitwise", lambda L, a, b: [a & b, a | b, a ^ b, ~a], "int", grad=False),
    _bin("fmod", lambda L, a, b: L.fmod(a, b), "nonzero", grad=False),
    _bin("remainder", lambda L, a, b: L.remainder(a, b), "nonzero", grad=False),
    _bin("hypot", lambda L, a, b: L.hypot(a, b), "nonzero"),
    _bin("addcmul", lambda L, a, b: L.addcmul(a, a, b, value=0.5)),
    _bin("addcdiv", lambda L, a, b: L.addcdiv(b, a, b, value=2), "nonzero"),
    _bin("xlogy", lambda L, a, b: L.xlogy(a, b), "pos"),
    _bin("copysign", lambda L, a, b: L.copysign(a, b), "nonzero"),
    _inp("addcmul_", lambda L, a, b: a.clone().addcmul_(a, b, value=2)),
    _inp("addcdiv_", lambda L, a, b: a.clone().addcdiv_(a, b), "nonzero"),
    # in-place forms (on a non-leaf clone so that autograd records them)
    _inp("add_", lambda L, a, b: a.clone().add_(b)),
    _inp("iadd", lambda L, a, b: _iop(a, b, "__iadd__")),
    _inp("isub", lambda L, a, b: _iop(a, b, "__isub__")),
    _inp("imul", lambda L, a, b: _iop(a, b, "__imul__")),
    _inp("itruediv", lambda L, a, b: _iop(a, b, "__itruediv__"), "nonzero"),
    _inp("sub_", lambda L, a, b: a.clone().sub_(b, alpha=2)),
    _inp("mul_", lambda L, a, b: a.clone().mul_(b)),
    _inp("div_", lambda L, a, b: a.clone().div_(b), "nonzero"),
    _inp("pow_", lambda L, a, b: a.clone().pow_(2)),
    _inp("clamp_", lambda L, a, b: a.clone().clamp_(-0.5, 0.5)),
    _inp("lerp_", lambda L, a, b: a.clone().lerp_(b, 0.25)),
    _bin("maximum_scalar", lambda L, a, b: L.clamp(a, min=b)),
    # tensor bounds, including lo > hi (the output is hi: only hi gets a gradient)
    _bin(
        "clamp_tensor",
        lambda L, a, b: [L.clamp(a, b, b + 0.5), L.clamp(a, max=b), L.clamp(a, b + 0.5, b)],
    ),
    _un("pow_scalars", lambda L, x: [x**0.5, x**-1.5, x**1, x**0, L.pow(x, 2.5)], "pos"),
    # unary pointwise
    _un("neg", lambda L, x: -x),
    _un("pos", lambda L, x: +x),
    _un("abs", lambda L, x: L.abs(x), "nonzero"),
    _un("sign", lambda L, x: L.sign(x), "nonzero"),
    _un("exp", lambda L, x: L.exp(x)),
    _un("log", lambda L, x: L.log(x), "pos"),
    _un("log2", lambda L, x: L.log2(x), "pos"),
    _un("log10", lambda L, x: L.log10(x), "pos"),
    _un("log1p", lambda L, x: L.log1p(x), "pos"),
    _un("expm1", lambda L, x: L.expm1(x)),
    _un("sqrt", lambda L, x: L.sqrt(x), "pos"),
    _un("rsqrt", lambda L, x: L.rsqrt(x), "pos"),
    _un("sin", lambda L, x: L.sin(x)),
    _un("cos", lambda L, x: L.cos(x)),
    _un("tan", lambda L, x: L.tan(x), "unit"),
    _un("tanh", lambda L, x: L.tanh(x)),
    _un("sigmoid", lambda L, x: L.sigmoid(x)),
    _un("relu", lambda L, x: L.relu(x), "nonzero"),
    _un("asin", lambda L, x: L.asin(x), "unit"),
    _un("acos", lambda L, x: L.acos(x), "unit"),
    _un("atan", lambda L, x: L.atan(x)),
    _un("sinh", lambda L, x: L.sinh(x)),
    _un("cosh", lambda L, x: L.cosh(x)),
    _un("atanh", lambda L, x: L.atanh(x), "unit"),
    _un("erf", lambda L, x: L.erf(x)),
    _un("erfc", lambda L, x: L.erfc(x)),
    _un("erfinv", lambda L, x: L.erfinv(x), "unit"),
    _un("exp2", lambda L, x: L.exp2(x)),
    _un("asinh", lambda L, x: L.asinh(x)),
    _un("acosh", lambda L, x: L.acosh(x + 1), "pos"),
    _un("reciprocal", lambda L, x: L.reciprocal(x), "nonzero"),
    _un("square", lambda L, x: L.square(x)),
    _un("clamp", lambda L, x: L.clamp(x, -0.5, 0.7), "nonzero"),
    _un("clamp_min", lambda L, x: x.clamp(min=0.3)),
    _un("clamp_max", lambda L, x: x.clamp(max=-0.3)),
    _un("clip", lambda L, x: L.clip(x, -1.0, 1.0)),
    _un("floor", lambda L, x: L.floor(x), "offint"),
    _un("ceil", lambda L, x: L.ceil(x), "offint"),
    _un("round", lambda L, x: L.round(x), "offint"),
    _un("round_half", lambda L, x: L.round(x * 0 + L.arange(-2.5, 3.5)[:1]), grad=False),
    _un("round_decimals", lambda L, x: L.round(x * 10, decimals=1), "offint", grad=False),
    _un("trunc", lambda L, x: L.trunc(x), "offint"),
    _un("frac", lambda L, x: L.frac(x), "offint"),
    _un("isnan", lambda L, x: L.isnan(L.log(x)), grad=False),
    _un("isinf", lambda L, x: L.isinf(1 / (x * 0)), grad=False),
    _un("isfinite", lambda L, x: L.isfinite(L.log(x)), grad=False),
    _un("logical_not", lambda L, x: L.logical_not(x > 0), grad=False),
    _un("nan_to_num", lambda L, x: L.nan_to_num(L.log(x)), grad=False),
    _un("exp_", lambda L, x: x.clone().exp_()),
    _un("neg_", lambda L, x: x.clone().neg_()),
    _un("abs_", lambda L, x: x.clone().abs_(), "nonzero"),
    _un("sqrt_", lambda L, x: x.clone().sqrt_(), "pos"),
    _un("log_", lambda L, x: x.clone().log_(), "pos"),
    _un("sigmoid_", lambda L, x: x.clone().sigmoid_()),
    _un("tanh_", lambda L, x: x.clone().tanh_()),
    _un("relu_", lambda L, x: x.clone().relu_(), "nonzero"),
    _un("floor_", lambda L, x: x.clone().floor_(), "offint"),
    _un("sin_", lambda L, x: x.clone().sin_()),
    _un("fill_", lambda L, x: x.clone().fill_(2.0)),
    _un("zero_", lambda L, x: x.clone().zero_()),
    _un("deg2rad", lambda L, x: [L.deg2rad(x), x.rad2deg(), x.sgn()]),
    _un("sinc", lambda L, x: [L.sinc(x), x.sinc()]),
    # at 0 PyTorch's second derivative is 0/0 = NaN (matched), which gradgradcheck rejects
    _un("sinc_zero", lambda L, x: L.sinc(x * 0), gradcheck=False),
    _un("logit", lambda L, x: [L.logit(x.sigmoid()), x.sigmoid().logit(1e-3)]),
    _un("heaviside", lambda L, x: L.heaviside(x, x * 0 + 0.5), "nonzero", grad=False),
    _bin("logaddexp2", lambda L, a, b: L.logaddexp2(a, b)),
    _bin("fmax_nan", lambda L, a, b: [L.fmax(a, b.log()), L.fmin(a.log(), b), L.fmax(a, a)]),
    Op("fill_diagonal_", lambda L, x: x.clone().fill_diagonal_(2.5), [((3, 3),), ((5, 2),)]),
    _un("int_unary", lambda L, x: [x.abs(), x.sign(), -x, x.neg()], "int", grad=False),
    _un(
        "int_float_fn", lambda L, x: [x.sqrt(), x.exp(), x.sigmoid(), x.float()], "int", grad=False
    ),
    # reductions
    Op("sum", lambda L, x: x.sum(), S34 + [((),)]),
    Op("sum_dim", lambda L, x: [x.sum(0), x.sum(-1, keepdim=True), x.sum((0, 1))], S34),
    Op("sum_int", lambda L, x: [x.sum(), x.sum(0), (x > 0).sum(1)], S34, "int", grad=False),
    Op("mean", lambda L, x: [x.mean(), x.mean(1), x.mean((0, -1), keepdim=True)], S34),
    Op("prod", lambda L, x: [x.prod(), x.prod(1), x.prod(0, keepdim=True)], S34, "nonzero"),
    # exact zeros (one or more per row) take the exclusive-product path
    Op("prod_zeros", lambda L, x: [_zeroed(x).prod(), _zeroed(x).prod(1)], S34),
    Op(
        "var",
        lambda L, x: [x.var(), x.var(0), x.var(1, unbiased=False), x.var((0, 1), keepdim=True)],
        S34,
    ),
    Op("std", lambda L, x: [x.std(), x.std(-1), x.std(0, correction=0), L.std(x, 1, True)], S34),
    Op(
        "var_correction",
        lambda L, x: [x.var(1, correction=2), x.std(correction=2), L.var(x, (0, 1), correction=0)],
        S34,
    ),
    Op("norm", lambda L, x: [x.norm(), x.norm(dim=1), x.norm(p=1, dim=0), L.norm(x, 3)], S34),
    Op("dist", lambda L, a, b: [L.dist(a, b), L.dist(a, b, 1)], [((3, 4), (3, 4)), ((3, 4), (4,))]),
    Op(
        "vector_norm",
        lambda L, x: [
            L.linalg.vector_norm(x, 1, dim=1),
            L.linalg.vector_norm(x, 2, dim=(0, 1), keepdim=True),
            L.linalg.vector_norm(x, float("inf"), dim=0),
            L.linalg.vector_norm(x, float("-inf")),
            L.linalg.vector_norm(x, 0.5, dim=-1),
        ],
        S34,
    ),
    Op("max_all", lambda L, x: [x.max(), x.min()], S34),
    Op("max_dim", lambda L, x: list(x.max(1)) + list(x.min(0, keepdim=True)), S34),
    Op("max_binary", lambda L, a, b: [L.max(a, b), L.min(a, b)], [((3, 4), (4,))]),
    Op(
        "argmax", lambda L, x: [x.argmax(), x.argmax(1), x.argmin(0, keepdim=True)], S34, grad=False
    ),
    Op("amax", lambda L, x: [x.amax(), x.amax(1), x.amin((0, 1), keepdim=True)], S34),
    # exact ties (two copies along a new leading dim) share the gradient
    Op(
        "amax_ties",
        lambda L, x: [
            _twice(L, x).amax(0),
            _twice(L, x).max(),
            L.linalg.vector_norm(_twice(L, x), float("inf"), dim=0),
        ],
        S34,
    ),
    Op("logsumexp", lambda L, x: [L.logsumexp(x, 1), x.logsumexp((0, 1), keepdim=True)], S34),
    Op("cumsum", lambda L, x: [x.cumsum(0), L.cumsum(x, dim=-1)], S34),
    Op("cumprod", lambda L, x: [x.cumprod(1)], S34, "nonzero"),
    Op("cumprod_zeros", lambda L, x: [_zeroed(x).cumprod(1), _zeroed(x).cumprod(0)], S34),
    Op(
        "any_all",
        lambda L, x: [(x > 0).any(), (x > 0).all(1), L.any(x > 1, 0, True)],
        S34,
        grad=False,
    ),
    Op("softmax", lambda L, x: [L.softmax(x, 1), L.log_softmax(x, -1)], S34),
    Op(
        "softmax_dims",
        lambda L, x: [L.softmax(x, 0), x.log_softmax(0), L.softmax(x, -2), L.log_softmax(x, 1)],
        S34,
    ),
    Op("sort", lambda L, x: list(L.sort(x, 1)) + list(x.sort(0, descending=True)), S34),
    Op("topk", lambda L, x: list(L.topk(x, 2, 1)), S34),
    Op("cummax", lambda L, x: list(L.cummax(x, 1)), S34),
    Op("median", lambda L, x: list(x.median(1)), [((3, 5),)]),
    Op("var_mean", lambda L, x: list(L.var_mean(x, 1)), S34),
    Op("aminmax", lambda L, x: list(L.aminmax(x)), S34, grad=False),
    # shape and view ops
    Op("view", lambda L, x: x.view(4, 3) * 1, [((3, 4),)], noncontig=False),
    Op("view_neg", lambda L, x: x.view(-1, 2) * 1, [((3, 4),)], noncontig=False),
    Op("reshape", lambda L, x: L.reshape(x, (2, -1)), S34),
    Op("narrow", lambda L, x: x.narrow(1, 1, 2), S34),
    Op("transpose", lambda L, x: [x.transpose(0, 1), L.transpose(x, -1, -2)], S34),
    Op("t", lambda L, x: [x.t(), x.T, L.t(x)], [((3, 4),)]),
    Op("mT", lambda L, x: x.mT, S34),
    Op("permute", lambda L, x: [x.permute(2, 0, 1), L.permute(x, (1, 2, 0))], [((2, 3, 4),)]),
    Op("expand", lambda L, x: [x.expand(2, 3, 4), x.expand(-1, 4)], [((3, 1),)]),
    Op("expand_as", lambda L, a, b: a.expand_as(b), [((3, 1), (2, 3, 4))]),
    Op("repeat", lambda L, x: [x.repeat(2, 1), x.repeat(2, 1, 3)], [((3, 4),)]),
    Op("squeeze", lambda L, x: [x.squeeze(), x.squeeze(1), x.squeeze((0, 1))], [((1, 1, 4),)]),
    Op("unsqueeze", lambda L, x: [x.unsqueeze(0), L.unsqueeze(x, -1)], S34),
    Op("flatten", lambda L, x: [x.flatten(), L.flatten(x, 1), x.flatten(0, 1)], [((2, 3, 4),)]),
    Op("unflatten", lambda L, x: x.unflatten(1, (2, 2)), [((3, 4),)]),
    Op("contiguous", lambda L, x: x.t().contiguous(), [((3, 4),)]),
    Op("flip", lambda L, x: [x.flip(0), L.flip(x, (0, 1))], S34),
    Op("roll", lambda L, x: [L.roll(x, 1, 0), x.roll((1, -1), (0, 1))], S34),
    Op("cat", lambda L, a, b: [L.cat([a, b]), L.cat((a, b), dim=1)], [((3, 4), (3, 4))]),
    Op("cat_mixed", lambda L, a, b: L.cat([a, b], 0), [((2, 4), (3, 4))]),
    Op("stack", lambda L, a, b: [L.stack([a, b]), L.stack((a, b), dim=-1)], [((3, 4), (3, 4))]),
    Op("chunk", lambda L, x: list(x.chunk(2, 1)) + list(L.chunk(x, 3, 0)), [((3, 5),)]),
    Op("split", lambda L, x: list(x.split(2, 1)) + list(L.split(x, [1, 2], 0)), [((3, 5),)]),
    Op("unbind", lambda L, x: list(x.unbind(1)), [((3, 4),)]),
    Op("tril", lambda L, x: [x.tril(), L.tril(x, -1), L.triu(x, 1), x.triu()], S34),
    Op("diag", lambda L, x: [L.diag(x), L.diag(x[0]), x.diagonal()], [((4, 4),)]),
    Op("movedim", lambda L, x: L.movedim(x, 0, -1), [((2, 3, 4),)]),
    Op("tile", lambda L, x: L.tile(x, (2, 1)), S34),
    Op("broadcast_to", lambda L, x: L.broadcast_to(x, (2, 3, 4)), [((3, 1),)]),
    Op(
        "unfold",
        lambda L, x: [x.unfold(1, 2, 1), x.unfold(0, 2, 2), x.unfold(-1, 3, 2)],
        [((3, 5),)],
    ),
    Op(
        "repeat_interleave",
        lambda L, x: [x.repeat_interleave(2, 0), L.repeat_interleave(x, _idx(L, [1, 0, 2]), dim=0)],
        [((3, 4),)],
    ),
    Op("diag_embed", lambda L, x: [L.diag_embed(x), L.diag_embed(x, 1), L.diagflat(x[0])], S34),
    # indexing
    Op("index_basic", lambda L, x: [x[0], x[:, 1:3], x[..., -1], x[None, 1], x[1, ::2]], S34),
    Op("index_neg_step_free", lambda L, x: [x[-1, 1:], x[:, None, 2], x[1:2, ...]], S34),
    Op("index_int_tensor", lambda L, x: [x[_idx(L, [0, 1, 0])], x[..., _idx(L, [3, 1])]], S34),
    Op("index_adv2", lambda L, x: x[_idx(L, [0, 1, 2]), _idx(L, [3, 2, 1])], [((3, 4),)]),
    Op("index_list", lambda L, x: [x[[0, 2]], x[[[0], [1]], [1, 2]]], [((3, 4),)]),
    Op("index_mask", lambda L, x: [x[x > 0], x[(x > 0).all(1)]], [((3, 4),)], "nonzero"),
    Op(
        "setitem_slice",
        lambda L, a, b: _set(a, (slice(None), slice(1, 3)), -1.0),
        [((3, 4), (3, 4))],
    ),
    Op("setitem_tensor", lambda L, a, b: _set(a, (0,), b[1] * 2), [((3, 4), (3, 4))]),
    Op("setitem_mask", lambda L, a, b: _set(a, a > 0, 0.0), [((3, 4), (3, 4))], "nonzero"),
    Op("setitem_idx", lambda L, a, b: _set(a, _idx(L, [2, 0]), b[:2]), [((3, 4), (3, 4))]),
    Op("index_select", lambda L, x: [L.index_select(x, -1, _idx(L, [0, 3, 3]))], S34),
    Op("gather", lambda L, x: L.gather(x, 1, _idx(L, [[0, 1], [3, 3], [2, 0]])), [((3, 4),)]),
    Op(
        "scatter",
        lambda L, x, s: L.scatter(x, 1, _idx(L, [[0, 1], [3, 2], [2, 0]]), s[:, :2]),
        [((3, 4), (3, 4))],
    ),
    Op(
        "scatter_add",
        lambda L, x, s: x.scatter_add(1, _idx(L, [[0, 0], [3, 2], [2, 2]]), s[:, :2]),
        [((3, 4), (3, 4))],
    ),
    Op("scatter_value", lambda L, x: x.scatter(0, _idx(L, [[1, 0, 2, 0]]), 5.0), [((3, 4),)]),
    Op("masked_fill", lambda L, x: [x.masked_fill(x > 0, 0.5), L.masked_fill(x, x < 0, 1)], S34),
    Op("masked_select", lambda L, x: L.masked_select(x, x > 0), S34, "nonzero"),
    Op("take_along_dim", lambda L, x: L.take_along_dim(x, x.argsort(1), 1), [((3, 4),)]),
    Op("index_add", lambda L, x, s: x.index_add(0, _idx(L, [0, 2, 0]), s), [((3, 4), (3, 4))]),
    Op("nonzero", lambda L, x: [L.nonzero(x > 0), (x > 0).nonzero()], S34, grad=False),
    Op(
        "index_put",
        lambda L, x, v: [
            L.index_put(x, (_idx(L, [2, 0]),), v[:2]),
            x.index_put((_idx(L, [0, 2, 0]),), v, accumulate=True),
        ],
        [((3, 4), (3, 4))],
    ),
    Op("take", lambda L, x: L.take(x, _idx(L, [[0, 5], [5, 11]])), S34),
    # linear algebra
    Op("matmul", lambda L, a, b: a @ b, [((3, 4), (4, 5)), ((2, 3, 4), (4, 2)), ((4,), (4,))]),
    Op(
        "matmul_bcast",
        lambda L, a, b: L.matmul(a, b),
        [((2, 1, 3, 4), (3, 4, 2)), ((4,), (2, 4, 3))],
    ),
    Op("matmul_vec", lambda L, a, b: L.matmul(a, b), [((2, 3, 4), (4,)), ((3, 4), (4,))]),
    Op("mm", lambda L, a, b: L.mm(a, b), [((3, 4), (4, 2))]),
    Op("mv", lambda L, a, b: L.mv(a, b), [((3, 4), (4,))]),
    Op("bmm", lambda L, a, b: L.bmm(a, b), [((2, 3, 4), (2, 4, 5))]),
    Op("dot", lambda L, a, b: L.dot(a, b), [((5,), (5,))]),
    Op("outer", lambda L, a, b: L.outer(a, b), [((3,), (4,))]),
    Op("einsum", lambda L, a, b: L.einsum("ij,jk->ik", a, b), [((3, 4), (4, 2))]),
    Op("einsum_batch", lambda L, a, b: L.einsum("bij,bkj->bik", a, b), [((2, 3, 4), (2, 5, 4))]),
    Op(
        "einsum_trace",
        lambda L, a, b: [L.einsum("ii", a), L.einsum("ij->j", b)],
        [((3, 3), (3, 3))],
    ),
    Op("inv", lambda L, x: [L.linalg.inv(x), L.inverse(x)], SQ, "wellcond"),
    Op("det", lambda L, x: L.linalg.det(x), SQ, "wellcond"),
    Op(
        "solve",
        lambda L, a, b: L.linalg.solve(a, b),
        [((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1))],
        "wellcond",
    ),
    Op("eigh", lambda L, x: L.linalg.eigh(_sym(x)).eigenvalues, SQ, "spd"),
    Op("eigh_vec", lambda L, x: L.linalg.eigh(_sym(x)).eigenvectors.abs(), [((3, 3),)], "spd"),
    Op("lstsq", lambda L, a, b: L.linalg.lstsq(a, b).solution, [((5, 3), (5, 2))], grad=False),
    Op("linalg_norm", lambda L, x: [L.linalg.norm(x), L.linalg.norm(x, dim=1)], S34),
    Op(
        "matrix_norm",
        lambda L, x: [L.linalg.norm(x, "fro"), L.linalg.norm(x, 2, dim=0)],
        [((3, 4),)],
    ),
    Op("svdvals", lambda L, x: L.linalg.svd(x).S, [((3, 4),)], grad=False),
    Op("qr_r", lambda L, x: L.linalg.qr(x).R.abs(), [((4, 3),)], grad=False),
    Op("trace", lambda L, x: L.trace(x), [((3, 4),)]),
    Op("cdist", lambda L, a, b: [L.cdist(a, b), L.cdist(a, b, p=1)], [((3, 4), (5, 4))]),
    Op("vander", lambda L, x: [L.vander(x), L.vander(x, 4, True)], [((3,),)], grad=False),
    Op("cov", lambda L, x: [L.cov(x), L.corrcoef(x), L.cov(x[0], correction=0)], [((3, 6),)]),
    Op("diff", lambda L, x: [L.diff(x), L.diff(x, 2, 0), L.diff(x, prepend=x[..., :1])], S34),
    Op("trapezoid", lambda L, x: [L.trapezoid(x), L.trapz(x, dx=0.5, dim=0)], S34),
    Op("cumulative_trapezoid", lambda L, x: L.cumulative_trapezoid(x), S34),
    Op("splits", lambda L, x: list(L.hsplit(x, 2)) + list(L.vsplit(x, [1])), [((3, 4),)]),
    Op("block_diag", lambda L, a, b: L.block_diag(a, b[0], b[0, 0]), [((2, 3), (3, 4))]),
    Op("combinations", lambda L, x: L.combinations(x[0], 2), [((3, 4),)]),
    Op("slogdet", lambda L, x: list(L.linalg.slogdet(x)), SQ, "wellcond"),
    # Fourier transforms: complex results through real views, complex inputs built from pairs
    Op(
        "fft_rfft",
        lambda L, x: [L.view_as_real(L.fft.rfft(x)), L.fft.rfft(x, n=7, norm="ortho").abs()],
        [((3, 4),), ((2, 3, 5),)],
    ),
    Op("fft_fft2", lambda L, x: L.view_as_real(L.fft.fft2(x, s=(4, 3))), [((3, 4),), ((2, 3, 4),)]),
    Op(
        "fft_irfft",
        lambda L, a, b: [L.fft.irfft(L.complex(a, b), n=5), L.fft.hfft(L.complex(a, b))],
        [((3, 4), (3, 4))],
    ),
    Op(
        "fft_ifftn",
        lambda L, a, b: L.view_as_real(L.fft.ifftn(L.complex(a, b), dim=(0, -1))),
        [((3, 4), (3, 4)), ((2, 3, 4), (4,))],
    ),
]


def _zeroed(x):
    # exact zeros where |x| < 0.5: some rows hold one zero, some several
    return x * (x.abs() > 0.5)


def _twice(L, x):
    # two exact copies of x stacked along a new leading dim, by broadcasting
    return x * L.ones((2,) + (1,) * x.ndim, dtype=x.dtype)


def _sym(x):
    # eigh reads one triangle; a symmetric function of x keeps finite differences honest
    return (x + x.mT) / 2


def _iop(a, b, name):
    c = a * 1
    r = getattr(c, name)(b)
    return r if r is not c else c


def _set(a, index, value):
    c = a.clone()
    c[index] = value
    return c


OPS_BY_NAME = {op.name: op for op in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in the registry"


def _inputs(op, sample_shapes, seed, dtype=None):
    rng = np.random.default_rng(seed)
    return [sample(s, op.domain, rng, dtype or op.dtype) for s in sample_shapes]


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_op_matches_torch(op):
    for k, shapes in enumerate(op.shapes):
        if op.domain in ("spd", "wellcond") and len(shapes) == 2:
            rng = np.random.default_rng(k)
            arrays = [sample(shapes[0], op.domain, rng), sample(shapes[1], "real", rng)]
        else:
            arrays = _inputs(op, shapes, k)
        compare(
            op.fn,
            arrays,
            grad=op.grad,
            rtol=op.rtol,
            atol=op.atol,
            grad_rtol=op.rtol,
            grad_atol=op.atol,
            seed=k,
        )


@pytest.mark.parametrize(
    "op", [o for o in OPS if o.noncontig and o.domain not in ("int", "bool")], ids=lambda o: o.name
)
def test_op_noncontiguous(op):
    """The same op on transposed (non-contiguous) views of leaves."""
    shapes = op.shapes[0]
    rng = np.random.default_rng(7)
    # Structured matrices (symmetric positive definite, well-conditioned) come first; the
    # views below see exactly them, so the conditioning is the sampled one; other inputs
    # (the right-hand side of solve) are plain.
    domains = [op.domain] + [
        "real" if op.domain in ("spd", "wellcond") else op.domain for _ in shapes[1:]
    ]
    arrays = [sample(s, d, rng) for s, d in zip(shapes, domains)]

    def fn(L, *xs):
        views = [x.transpose(-1, -2) if x.ndim >= 2 else x for x in xs]
        return op.fn(L, *views)

    # the leaves hold the transposed data so that the views see the sampled arrays
    base = [np.ascontiguousarray(np.swapaxes(a, -1, -2)) if a.ndim >= 2 else a for a in arrays]
    compare(
        fn, base, grad=op.grad, rtol=op.rtol, atol=op.atol, grad_rtol=op.rtol, grad_atol=op.atol
    )


@pytest.mark.parametrize(
    "op",
    [o for o in OPS if o.grad and o.gradcheck and o.domain not in ("int", "bool")],
    ids=lambda o: o.name,
)
def test_op_gradcheck(op):
    """Central differences in float64 agree with the analytical gradient."""
    shapes = op.shapes[0]
    rng = np.random.default_rng(3)
    if op.domain in ("spd", "wellcond") and len(shapes) == 2:
        arrays = [
            sample(shapes[0], op.domain, rng, "float64"),
            sample(shapes[1], "real", rng, "float64"),
        ]
    else:
        arrays = [sample(s, op.domain, rng, "float64") for s in shapes]
    inputs = [tapegrad.tensor(a, requires_grad=True) for a in arrays]

    def f(*xs):
        out = op.fn(tapegrad, *xs)
        return tuple(out) if isinstance(out, list) else out

    assert tapegrad.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def _double_backward(L, op, arrays, seed, transpose=False):
    """First and second derivatives of ``op`` under random upstream vectors.

    ``grad(out, xs, u, create_graph=True)``, then ``grad(sum(g * v), xs)``: the same
    random ``u`` and ``v`` for both libraries. Returns ``(grads, grad_grads)`` with
    None where a gradient is undefined, or the exception type PyTorch-style ops raise.
    """
    xs = [L.tensor(a, requires_grad=True) for a in arrays]
    views = [x.transpose(-1, -2) if transpose and x.ndim >= 2 else x for x in xs]
    out = op.fn(L, *views)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    outs = [o for o in outs if isinstance(o, L.Tensor) and o.requires_grad]
    rng = np.random.default_rng(seed)
    us = [L.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
    gs = L.autograd.grad(outs, xs, us, create_graph=True, allow_unused=True)
    vs = [None if g is None else L.tensor(rng.standard_normal(tuple(g.shape))) for g in gs]
    terms = [(g * v).sum() for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    if not terms:
        return gs, [None] * len(xs)
    try:
        ggs = L.autograd.grad(sum(terms), xs, allow_unused=True)
    except RuntimeError as e:
        return gs, type(e)
    return gs, ggs


def _check_double_backward(op, arrays, seed, transpose=False):
    t_gs, t_ggs = _double_backward(torch, op, arrays, seed, transpose)
    g_gs, g_ggs = _double_backward(tapegrad, op, arrays, seed, transpose)
    if isinstance(t_ggs, type):
        assert g_ggs is t_ggs, f"{op.name}: PyTorch raises {t_ggs.__name__}, tapegrad gave {g_ggs}"
        return True
    assert not isinstance(g_ggs, type), f"{op.name}: tapegrad raised {g_ggs}, PyTorch did not"
    for k, (ta, ga, a) in enumerate(zip(t_ggs, g_ggs, arrays)):
        # force: PyTorch's zero second derivatives (abs, relu) can be ZeroTensors
        t = np.zeros(a.shape) if ta is None else ta.detach().numpy(force=True)
        g = np.zeros(a.shape) if ga is None else ga.detach().numpy()
        np.testing.assert_allclose(g, t, rtol=1e-6, atol=1e-8, err_msg=f"{op.name}: d2/dx{k}")
    for ta, ga in zip(t_gs, g_gs):
        if ta is not None and ga is not None:
            np.testing.assert_allclose(
                ga.detach().numpy(), ta.detach().numpy(), rtol=1e-6, atol=1e-8
            )
    return False


GRADGRAD_OPS = [o for o in OPS if o.grad and o.gradcheck and o.domain not in ("int", "bool")]


@pytest.mark.parametrize("op", GRADGRAD_OPS, ids=lambda o: o.name)
def test_op_gradgrad(op):
    """Double backward matches PyTorch's (every sample, and transposed inputs) and
    passes gradgradcheck in float64 (unless PyTorch itself has no double backward)."""
    unsupported = False
    for k, shapes in enumerate(op.shapes):
        rng = np.random.default_rng(k)
        if op.domain in ("spd", "wellcond") and len(shapes) == 2:
            arrays = [
                sample(shapes[0], op.domain, rng, "float64"),
                sample(shapes[1], "real", rng, "float64"),
            ]
        else:
            arrays = [sample(s, op.domain, rng, "float64") for s in shapes]
        unsupported |= _check_double_backward(op, arrays, seed=k)
        if k == 0 and op.noncontig and op.domain not in ("spd", "wellcond"):
            base = [
                np.ascontiguousarray(np.swapaxes(a, -1, -2)) if a.ndim >= 2 else a for a in arrays
            ]
            _check_double_backward(op, base, seed=k, transpose=True)
    if unsupported:
        return  # no second derivative in PyTorch: tapegrad raised the same error
    rng = np.random.default_rng(3)
    shapes = op.shapes[0]
    if op.domain in ("spd", "wellcond") and len(shapes) == 2:
        arrays = [
            sample(shapes[0], op.domain, rng, "float64"),
            sample(shapes[1], "real", rng, "float64"),
        ]
    else:
        arrays = [sample(s, op.domain, rng, "float64") for s in shapes]
    inputs = [tapegrad.tensor(a, requires_grad=True) for a in arrays]

    def f(*xs):
        out = op.fn(tapegrad, *xs)
        return tuple(out) if isinstance(out, list) else out

    assert tapegrad.autograd.gradgradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------------------
# broadcasting shapes drawn by hypothesis

BROADCAST_OPS = [
    o
    for o in OPS
    if len(o.shapes[0]) == 2 and o.shapes == _bin("x", None).shapes and o.domain != "int"
]


@pytest.mark.parametrize("op", BROADCAST_OPS, ids=lambda o: o.name)
@settings(max_examples=4, deadline=None, derandomize=True)
@given(data=st.data())
def test_op_broadcasting(op, data):
    shapes = data.draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    if op.name.endswith("_") or op.name.startswith("i") and op.name != "int_ops":
        # in-place: the result has the first input's shape, so it must be the broadcast one
        shapes = (shapes.result_shape, shapes.input_shapes[1])
    else:
        shapes = shapes.input_shapes
    arrays = [sample(s, op.domain, np.random.default_rng(1)) for s in shapes]
    compare(
        op.fn,
        arrays,
        grad=op.grad,
        rtol=op.rtol,
        atol=op.atol,
        grad_rtol=op.rtol,
        grad_atol=op.atol,
    )


REDUCTIONS = {
    "sum": lambda L, x, d, k: x.sum(d, keepdim=k),
    "mean": lambda L, x, d, k: x.mean(d, keepdim=k),
    "var": lambda L, x, d, k: x.var(d, keepdim=k, correction=0),
    "std": lambda L, x, d, k: L.std(x, d, keepdim=k),
    "norm": lambda L, x, d, k: x.norm(2, dim=d, keepdim=k),
    "amax": lambda L, x, d, k: x.amax(d, keepdim=k),
    "amin": lambda L, x, d, k: L.amin(x, d, k),
    "logsumexp": lambda L, x, d, k: x.logsumexp(d, keepdim=k),
    "any": lambda L, x, d, k: (x > 0).any(d, keepdim=k),
    "all": lambda L, x, d, k: (x > -1).all(d, keepdim=k),
    "vector_norm": lambda L, x, d, k: L.linalg.vector_norm(x, 3, d, k),
    "nansum": lambda L, x, d, k: x.nansum(d, keepdim=k),
}
ONE_DIM_REDUCTIONS = {
    "max": lambda L, x, d, k: list(x.max(d, keepdim=k)),
    "min": lambda L, x, d, k: list(x.min(d, k)),
    "argmax": lambda L, x, d, k: x.argmax(d, keepdim=k),
    "prod": lambda L, x, d, k: x.prod(d, keepdim=k),
    "cumsum": lambda L, x, d, k: x.cumsum(d),
    "cumprod": lambda L, x, d, k: x.cumprod(d),
    "softmax": lambda L, x, d, k: x.softmax(d),
    "log_softmax": lambda L, x, d, k: x.log_softmax(d),
    "median": lambda L, x, d, k: list(x.median(d, keepdim=k)),
    "sort": lambda L, x, d, k: list(x.sort(d, descending=k)),
    "argsort": lambda L, x, d, k: x.argsort(d),
    "cummax": lambda L, x, d, k: list(x.cummax(d)),
    "logcumsumexp": lambda L, x, d, k: x.logcumsumexp(d),
}


@st.composite
def _shape_and_dims(draw, single):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple))
    nd = len(shape)
    if single:
        dims = draw(st.integers(-nd, nd - 1))
    else:
        picked = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
        dims = tuple(d - nd if draw(st.booleans()) else d for d in picked)
    return shape, dims, draw(st.booleans())


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@settings(max_examples=6, deadline=None, derandomize=True)
@given(case=_shape_and_dims(False))
def test_reduction_dims(name, case):
    """dim tuples (negative too) and keepdim, for values and gradients."""
    shape, dims, keep = case
    x = sample(shape, "nonzero", np.random.default_rng(len(shape)))
    fn = REDUCTIONS[name]
    compare(lambda L, x: fn(L, x, dims, keep), [x])


@pytest.mark.parametrize("name", sorted(ONE_DIM_REDUCTIONS))
@settings(max_examples=5, deadline=None, derandomize=True)
@given(case=_shape_and_dims(True))
def test_reduction_one_dim(name, case):
    shape, dim, keep = case
    rng = np.random.default_rng(len(shape))
    # distinct values: ties in max/sort/median would pick arbitrary but valid indices
    x = (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 + 0.5).astype("float32")
    fn = ONE_DIM_REDUCTIONS[name]
    compare(lambda L, x: fn(L, x, dim, keep), [x])


@st.composite
def _index(draw):
    """A shape and an index into it: ints, slices, None, one Ellipsis, int lists, masks."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple))
    items, dim, used_ellipsis, adv = [], 0, False, 0
    while dim < len(shape) and draw(st.booleans()):
        n = shape[dim]
        kind = draw(st.sampled_from(["int", "slice", "none", "ellipsis", "list", "mask"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            a = draw(st.none() | st.integers(-n, n))
            b = draw(st.none() | st.integers(-n, n))
            items.append(slice(a, b, draw(st.none() | st.integers(1, 3))))
        elif kind == "none":
            items.append(None)
            continue
        elif kind == "ellipsis" and not used_ellipsis:
            used_ellipsis = True
            items.append(Ellipsis)
            dim = len(shape) - sum(1 for i in items if i is not None and i is not Ellipsis)
            continue
        elif kind == "list" and adv < 2:
            adv += 1
            items.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
        elif kind == "mask" and adv == 0:
            adv += 1
            items.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        else:
            items.append(slice(None))
        dim += 1
    return shape, tuple(items)


def _lib_index(L, idx):
    out = []
    for i in idx:
        if isinstance(i, np.ndarray):
            out.append(L.tensor(i))
        elif isinstance(i, list):
            out.append(L.tensor(i))
        else:
            out.append(i)
    return tuple(out)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(case=_index())
def test_indexing_random(case):
    """Random mixes of basic and advanced indices: values, grads, and assignment."""
    shape, idx = case
    x = sample(shape, "real", np.random.default_rng(0))

    def get(L, x):
        return x[_lib_index(L, idx)] * 1

    try:
        get(torch, torch.tensor(x))
    except IndexError:
        # several advanced indices that do not broadcast: the same error in both
        from conftest import assert_same_error

        assert_same_error(lambda L: get(L, L.tensor(x)))
        return
    compare(get, [x])

    def put(L, x):
        y = x * 2
        y[_lib_index(L, idx)] = -1.5
        return y

    compare(put, [x])


@pytest.mark.parametrize("n", [5, 17, 40, 300])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_sort_ties_order(n, dtype):
    """Equal values come out in PyTorch's order (its unstable sort), NaN last."""
    rng = np.random.default_rng(n)
    a = rng.integers(0, 4, size=(3, n)).astype(dtype)
    if dtype == "float32":
        a[0, : n // 3] = np.nan

    def fn(L, x):
        out = []
        for dim in (-1, 0):
            for desc in (False, True):
                r = x.sort(dim, descending=desc)
                out += [r.values, r.indices, x.argsort(dim, descending=desc)]
        return out + [x.sort(stable=True).indices]

    compare(fn, [a], grad=False)


@pytest.mark.parametrize("n", [1, 9, 23, 40])
def test_quantile_median_lerp_bitwise(n):
    """quantile ranks in the input dtype and lerp's two-sided FMA formula, bit for bit."""
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype("float32")
    b = rng.standard_normal(n).astype("float32")

    def fn(L, x, y):
        out = [x.quantile(L.tensor([0.0, 0.2, 0.5, 0.9, 1.0])), x.median(), x.median(0)[1]]
        for mode in ("linear", "lower", "higher", "nearest", "midpoint"):
            out.append(x.quantile(0.45, interpolation=mode))
        return out + [L.lerp(x, y, 0.7), L.lerp(x, y, 0.3), L.lerp(x, y, (x.abs() % 1))]

    compare(fn, [a, b], grad=False, rtol=0, atol=0)


def test_sort_long_integer_vector_is_stable():
    a = np.random.default_rng(0).integers(0, 10, size=40000)
    compare(lambda L, x: [x.sort().indices, x.sort(descending=True).indices], [a], grad=False)


INT_AND_ARRAY_INDICES = [
    (0, slice(None), [1, 2]),
    (None, [0, 1], None, 2),
    ([0, 1], slice(None), 2),
    (Ellipsis, 0, [1, 2]),
    (1, Ellipsis, [0, 3]),
    (-1, slice(None), np.array([True, False, True, False, True])),
    ([0, 2], 1, [1, 3]),
]


@pytest.mark.parametrize("idx", INT_AND_ARRAY_INDICES, ids=str)
def test_int_with_advanced_index(idx):
    """PyTorch applies integers as selects first; NumPy would move the dims."""
    x = sample((3, 4, 5), "real", np.random.default_rng(0))
    compare(lambda L, x: x[_lib_index(L, idx)] * 1, [x])

    def put(L, x):
        y = x * 2
        y[_lib_index(L, idx)] = -1.5
        return y

    compare(put, [x])


@pytest.mark.parametrize("dtype", ["float64", "float16", "int32", "int8", "uint8", "int16"])
@pytest.mark.parametrize("name", ["add", "mul", "sub", "where", "maximum", "gt"])
def test_op_other_dtypes(name, dtype):
    op = OPS_BY_NAME[name]
    rng = np.random.default_rng(0)
    arrays = [(rng.standard_normal((3, 4)) * 4).astype(dtype) for _ in range(2)]
    compare(op.fn, arrays, grad=dtype.startswith("float") and dtype != "float16")


# ---------------------------------------------------------------------------
# views share storage with their base like PyTorch's


VIEWS = {
    "view": lambda x: x.view(12),
    "reshape": lambda x: x.reshape(2, 6),
    "transpose": lambda x: x.transpose(0, 1),
    "t": lambda x: x.t(),
    "permute": lambda x: x.permute(1, 0),
    "narrow": lambda x: x.narrow(0, 1, 2),
    "slice": lambda x: x[1:, ::2],
    "int_index": lambda x: x[1],
    "expand": lambda x: x[:1].expand(3, 4),
    "squeeze": lambda x: x[:1].squeeze(0),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "chunk": lambda x: x.chunk(2, 1)[1],
    "split": lambda x: x.split(1, 0)[2],
    "unbind": lambda x: x.unbind(0)[1],
    "diagonal": lambda x: x.diagonal(),
    "detach": lambda x: x.detach(),
    "T": lambda x: x.T,
    "select": lambda x: x.select(1, 2),
}

COPIES = {
    "flip": lambda x: x.flip(0),
    "repeat": lambda x: x.repeat(1, 1),
    "adv_index": lambda x: x[[0, 1]],
    "mask_index": lambda x: x[x > 0],
    "clone": lambda x: x.clone(),
    "contiguous_t": lambda x: x.t().contiguous(),
    "reshape_t": lambda x: x.t().reshape(12),
    "roll": lambda x: x.flatten().roll(1),
    "cat": lambda x: tapegrad.cat([x, x]),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_shares_storage(name):
    fn = VIEWS[name]
    results = []
    for lib in (torch, tapegrad):
        x = lib.arange(12.0).reshape(3, 4)
        v = fn(x)
        x.mul_(-1)  # a write to the base shows through the view
        seen = v.clone()
        if name != "expand":  # writing through an expanded view is an error in both
            v.add_(100)  # and a write through the view shows in the base
        results.append((seen, x.clone(), v._version - x._version))
    (t_seen, t_x, t_dv), (g_seen, g_x, g_dv) = results
    assert_same(t_seen, g_seen)
    assert_same(t_x, g_x)
    assert t_dv == g_dv == 0


@pytest.mark.parametrize("name", sorted(COPIES))
def test_copy_does_not_share(name):
    fn = COPIES[name]
    x = tapegrad.arange(12.0).reshape(3, 4)
    v = fn(x)
    v.fill_(100)
    assert (x == 100).sum().item() == 0


def test_view_version_counter_shared():
    for lib in (torch, tapegrad):
        x = lib.zeros(3, 4)
        v = x[1]
        before = x._version
        v.add_(1)
        assert x._version == v._version == before + 1
        assert x.sum().item() == 4


def test_view_of_requires_grad_inplace_grad():
    """x = a * 1; x[:, 1:3] = -1 style edits flow gradients like PyTorch (CopySlices)."""

    def fn(L, a, b):
        x = a * 2
        x[:, 1:3] = b[:, :2] * 3
        x[0] += 1
        v = x.view(-1)
        v[2:5].mul_(b[0, :3])
        return x.sum(0) * x[1]

    arrays = [np.random.default_rng(0).standard_normal((3, 4)).astype("float32") for _ in range(2)]
    compare(fn, arrays)


def test_grad_fn_of_inplace_view():
    for lib in (torch, tapegrad):
        a = lib.ones(3, 4, requires_grad=True)
        x = a * 1
        x[0, 0] = 5
        assert x.grad_fn.name().endswith("CopySlices"), lib.__name__


# ---------------------------------------------------------------------------
# exception parity: same type as PyTorch, message naming the shapes


ERRORS = [
    ("add_shape", lambda L: L.ones(2, 3) + L.ones(4), "3"),
    ("mul_shape", lambda L: L.ones(2, 3) * L.ones(2, 4), "4"),
    ("matmul_shape", lambda L: L.ones(2, 3) @ L.ones(4, 5), "2x3"),
    ("mm_shape", lambda L: L.mm(L.ones(2, 3), L.ones(2, 3)), "2x3"),
    ("mm_dim", lambda L: L.mm(L.ones(2, 3, 4), L.ones(4, 3)), None),
    ("bmm_dim", lambda L: L.bmm(L.ones(2, 3), L.ones(3, 2)), None),
    ("mv_shape", lambda L: L.mv(L.ones(2, 3), L.ones(4)), None),
    ("dot_shape", lambda L: L.dot(L.ones(3), L.ones(4)), None),
    ("dot_dtype", lambda L: L.dot(L.ones(3), L.ones(3, dtype=L.float64)), None),
    ("matmul_dtype", lambda L: L.ones(2, 2) @ L.ones(2, 2, dtype=L.float64), None),
    ("matmul_0d", lambda L: L.matmul(L.tensor(1.0), L.ones(2)), None),
    ("view_size", lambda L: L.ones(2, 3).view(4, 2), "[4, 2]"),
    ("view_noncontig", lambda L: L.ones(2, 3).t().view(6), None),
    ("reshape_size", lambda L: L.ones(2, 3).reshape(5), "[5]"),
    ("bad_dim_sum", lambda L: L.ones(2, 3).sum(2), "[-2, 1]"),
    ("bad_dim_transpose", lambda L: L.ones(2, 3).transpose(0, 3), None),
    ("bad_dim_softmax", lambda L: L.softmax(L.ones(2, 3), 5), None),
    ("bad_dim_cat", lambda L: L.cat([L.ones(2, 3), L.ones(2, 3)], 2), None),
    ("cat_shape", lambda L: L.cat([L.ones(2, 3), L.ones(2, 4)]), None),
    ("cat_empty", lambda L: L.cat([]), None),
    ("stack_shape", lambda L: L.stack([L.ones(2, 3), L.ones(3, 2)]), None),
    ("index_oob", lambda L: L.ones(2, 3)[5], None),
    ("index_too_many", lambda L: L.ones(2, 3)[0, 0, 0], None),
    ("index_float", lambda L: L.ones(2, 3)[L.tensor([0.0])], None),
    ("gather_dims", lambda L: L.gather(L.ones(2, 3), 1, L.tensor([0, 1])), None),
    ("gather_dtype", lambda L: L.gather(L.ones(2, 3), 1, L.tensor([[0.0]])), None),
    ("expand_bad", lambda L: L.ones(2, 3).expand(3, 3), None),
    ("permute_bad", lambda L: L.ones(2, 3).permute(0, 0), None),
    ("squeeze_bad", lambda L: L.ones(2, 3).squeeze(4), None),
    ("narrow_bad", lambda L: L.ones(2, 3).narrow(1, 2, 3), None),
    ("item_many", lambda L: L.ones(2).item(), None),
    ("bool_many", lambda L: bool(L.ones(2)), None),
    ("inplace_leaf", lambda L: L.ones(2, requires_grad=True).add_(1), None),
    ("inplace_bcast", lambda L: L.ones(3).add_(L.ones(2, 3)), None),
    ("inplace_dtype", lambda L: L.ones(3, dtype=L.long).add_(1.5), None),
    ("int_requires_grad", lambda L: L.ones(3, dtype=L.long).requires_grad_(), None),
    ("backward_nonscalar", lambda L: (L.ones(3, requires_grad=True) * 2).backward(), None),
    ("backward_no_grad", lambda L: L.ones(3).sum().backward(), None),
    ("inv_nonsquare", lambda L: L.linalg.inv(L.ones(2, 3)), None),
    ("inv_singular", lambda L: L.linalg.inv(L.zeros(2, 2)), None),
    ("solve_shape", lambda L: L.linalg.solve(L.eye(3), L.ones(2, 1)), None),
    ("det_nonsquare", lambda L: L.linalg.det(L.ones(2, 3)), None),
    ("arange_bad", lambda L: L.arange(0, 5, -1), None),
    ("zeros_negative", lambda L: L.zeros(-1), None),
    ("where_shape", lambda L: L.where(L.ones(2, 3) > 0, L.ones(2, 3), L.ones(4)), None),
    ("masked_fill_shape", lambda L: L.ones(2, 3).masked_fill(L.ones(3, 3) > 0, 0), None),
    ("masked_fill_float_mask", lambda L: L.ones(2, 3).masked_fill(L.ones(2, 3), 0), None),
    ("index_select_dim", lambda L: L.index_select(L.ones(2, 3), 2, L.tensor([0])), None),
    ("chunk_zero", lambda L: L.ones(2, 3).chunk(0), None),
    ("split_bad", lambda L: L.ones(4).split([1, 2]), None),
    ("mean_int", lambda L: L.arange(4).mean(), None),
    ("repeat_fewer", lambda L: L.ones(2, 3).repeat(2), None),
    ("unflatten_bad", lambda L: L.ones(2, 6).unflatten(1, (4, 2)), None),
    ("tril_1d", lambda L: L.tril(L.ones(3)), None),
    ("eye_negative", lambda L: L.eye(-1), None),
    ("tensor_ragged", lambda L: L.tensor([[1, 2], [3]]), None),
    ("len_0d", lambda L: len(L.tensor(1.0)), None),
    ("grad_unused", lambda L: _grad_unused(L), None),
    ("max_empty", lambda L: L.ones(0).max(), None),
    ("max_empty_dim", lambda L: L.ones(0, 3).max(0), None),
    ("argmax_empty", lambda L: L.ones(0).argmax(), None),
    ("add_list", lambda L: L.zeros(2, 3) + [1, 2, 3], None),
    ("normal_neg_std", lambda L: L.ones(2).normal_(0, -1), None),
    ("uniform_bad_range", lambda L: L.ones(2).uniform_(1, 0), None),
    ("softmax_int", lambda L: L.ones(2, dtype=L.int64).softmax(0), None),
    ("clamp_shape", lambda L: L.clamp(L.ones(2), L.ones(3)), "(3)"),
    ("norm_fro_dim", lambda L: L.linalg.norm(L.ones(2, 3), ord="fro", dim=0), None),
    ("einsum_out", lambda L: L.einsum("ij->k", L.ones(2, 3)), None),
    ("float_many", lambda L: float(L.ones(2)), None),
    ("mT_1d", lambda L: L.ones(2).mT, None),
    ("invert_float", lambda L: ~L.ones(2), None),
    ("bitwise_float", lambda L: L.ones(2) & L.ones(2), None),
    (
        "scatter_dtype",
        lambda L: L.ones(2, 3).scatter(1, L.tensor([[0]]), L.ones(1, 1, dtype=L.float64)),
        None,
    ),
]


def _grad_unused(L):
    a = L.ones(2, requires_grad=True)
    b = L.ones(2, requires_grad=True)
    return L.autograd.grad((a * 2).sum(), [a, b])


@pytest.mark.parametrize("name,fn,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_parity(name, fn, match):
    from conftest import assert_same_error

    assert_same_error(fn, match=match)


def test_error_message_names_shapes():
    with pytest.raises(RuntimeError, match=r"\(2x3 and 4x5\)"):
        tapegrad.ones(2, 3) @ tapegrad.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match .* \(4\)"):
        tapegrad.ones(2, 3) + tapegrad.ones(4)
    with pytest.raises(RuntimeError, match=r"shape '\[4, 2\]' is invalid for input of size 6"):
        tapegrad.ones(2, 3).view(4, 2)
