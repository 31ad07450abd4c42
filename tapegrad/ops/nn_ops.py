"""Neural-network primitives on raw arrays: linear, activations, normalisation,
the fused losses, embedding and padding.

Each class is a ``Function`` (``forward``/``backward`` on backend arrays); the
public wrappers with PyTorch's signatures live in ``tapegrad.nn.functional``.
Fused primitives exist where they buy numerical stability (log-softmax with
the negative log-likelihood) or avoid large temporaries (normalisation).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.engine import sum_to
from ..autograd.function import Function
from ..backend import array_module
from . import _util as U
from .elementwise import _sigmoid as _sigmoid_kernel
from .linalg import matmul_split
from .reduce import _ROW_SUM_FLOOR, _row_sums

# ---------------------------------------------------------------------------
# helpers


def _acc_dtype(dt):
    """The accumulation dtype for reductions: float64 for the small floats."""
    return np.float64 if dt.itemsize <= 4 else dt


# Cephes' rational approximations of erf / erfc (double precision), evaluated
# with array arithmetic so that GELU is as fast as any other activation.
_ERF_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_ERF_U = (
    1.0,
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)
_ERFC_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_ERFC_Q = (
    1.0,
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
_ERFC_R = (
    5.64189583547755073984e-1,
    1.27536670759978104416e0,
    5.01905042251180477414e0,
    6.16021097993053585195e0,
    7.40974269950448939160e0,
    2.97886665372100240670e0,
)
_ERFC_S = (
    1.0,
    2.26052863220117276590e0,
    9.39603524938001434673e0,
    1.20489539808096656605e1,
    1.70814450747565897222e1,
    9.60896809063285878198e0,
    3.36907645100081516050e0,
)


def _polyval(coeffs, x):
    r = np.full_like(x, coeffs[0])
    for c in coeffs[1:]:
        r *= x
        r += c
    return r


def erf(x):
    """The error function of an array, to double precision, in ``x``'s dtype."""
    xp = array_module(x)
    z = x.astype(np.float64)
    a = xp.abs(z)
    out = xp.empty_like(z)
    # Each rational approximation is evaluated only where it applies.
    small = a <= 1.0
    zs = z[small]
    sq = zs * zs
    out[small] = zs * _polyval(_ERF_T, sq) / _polyval(_ERF_U, sq)
    big = ~small
    ab = a[big]
    near = ab < 8.0
    ratio = xp.empty_like(ab)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        an = ab[near]
        ratio[near] = _polyval(_ERFC_P, an) / _polyval(_ERFC_Q, an)
        af = ab[~near]
        ratio[~near] = _polyval(_ERFC_R, af) / _polyval(_ERFC_S, af)
        erfc = xp.exp(-(ab * ab)) * ratio
    erfc[xp.isinf(ab)] = 0.0  # the rational form is inf/inf there
    out[big] = xp.copysign(1.0 - erfc, z[big])
    return out.astype(x.dtype, copy=False)


# ---------------------------------------------------------------------------
# linear


class Linear(Function):
    """y = x @ W.T + b as one matrix product (``torch.nn.functional.linear``)."""

    backward_name = "AddmmBackward0"

    def forward(ctx, x, w, b=None):
        xp = array_module(x, w)
        ctx.save_for_backward(x, w)
        low = x.dtype if x.dtype in U._LOW_PRECISION_NP else None
        if low is not None:  # accumulate in float32 (BLAS), round once
            x, w = x.astype(np.float32), w.astype(np.float32)
            b = None if b is None else b.astype(np.float32)
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = matmul_split(x2, w.T, xp)
        if b is not None:
            y += b
        if x.ndim != 2:
            y = y.reshape(*x.shape[:-1], w.shape[0])
        return y if low is None else y.astype(low)

    def backward(ctx, g):
        g = U.float32_grad(g)
        x, w = ctx.saved_tensors
        xp = ctx.xp
        x, w = U.cj(xp, x), U.cj(xp, w)  # complex operands: the conjugates' products
        nx, nw, nb = ctx.needs_input_grad
        g2 = g.reshape(-1, w.shape[0]) if g.ndim != 2 else g
        gx = gw = gb = None
        if nx:
            gx = matmul_split(g2, w, xp)
            if x.ndim != 2:
                gx = gx.reshape(x.shape)
        if nw:
            x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            gw = matmul_split(g2.T, x2, xp)
        if nb:
            gb = xp.sum(g2, axis=0)
        return gx, gw, gb


# ---------------------------------------------------------------------------
# activations


class Threshold(Function):
    """y = x if x > threshold else value (``torch.nn.functional.threshold``)."""

    def forward(ctx, x, threshold=0.0, value=0.0):
        xp = array_module(x)
        mask = x > threshold
        ctx.save_for_backward(mask)
        return xp.where(mask, x, U.scalar(value, x.dtype))

    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask


class Hardtanh(Function):
    """Clamp to [min_val, max_val]; zero gradient outside (``hardtanh``)."""

    @U.float32_compute
    def forward(ctx, x, min_val=-1.0, max_val=1.0):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = min_val, max_val
        return xp.clip(x, U.scalar(min_val, x.dtype), U.scalar(max_val, x.dtype))

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ((x > ctx.lo) & (x < ctx.hi))


class LeakyRelu(Function):
    """x if x > 0 else slope * x (``leaky_relu``)."""

    @U.float32_compute
    def forward(ctx, x, negative_slope=0.01):
        xp = array_module(x)
        ctx.slope = negative_slope
        ctx.save_for_backward(x)
        scaled = x * U.scalar(negative_slope, x.dtype)
        if xp is np and 0 < negative_slope <= 1:
            # x and slope * x have one sign, and the larger is x exactly where x > 0
            # (inf and NaN too): a max, not a per-element branch
            return np.maximum(x, scaled, out=scaled)
        return U.select(x > 0, x, scaled, xp)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return U.select(x > 0, g, g * U.scalar(ctx.slope, g.dtype), ctx.xp)


class Prelu(Function):
    """x if x > 0 else w * x, ``w`` broadcast over the channel dim (``prelu``)."""

    def forward(ctx, x, w):
        xp = array_module(x)
        ctx.save_for_backward(x, w)
        return U.select(x > 0, x, w * x, xp)

    def backward(ctx, g):
        x, w = ctx.saved_tensors
        xp = ctx.xp
        nx, nw = ctx.needs_input_grad
        pos = x > 0
        gx = U.select(pos, g, g * w, xp) if nx else None
        gw = sum_to(xp.where(pos, 0, g * x), tuple(w.shape), xp) if nw else None
        return gx, gw


class Elu(Function):
    """scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)) (``elu``/``selu``/``celu``)."""

    @U.float32_compute
    def forward(ctx, x, alpha=1.0, scale=1.0, input_scale=1.0):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.args = (alpha, scale, input_scale)
        dt = x.dtype
        neg = xp.expm1(xp.minimum(x, 0) * U.scalar(input_scale, dt)) * U.scalar(alpha * scale, dt)
        return U.select(x > 0, x * U.scalar(scale, dt), neg, xp)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        alpha, scale, input_scale = ctx.args
        dt = g.dtype
        neg = g * (
            xp.exp(xp.minimum(x, 0) * U.scalar(input_scale, dt))
            * U.scalar(input_scale * alpha * scale, dt)
        )
        return U.select(x > 0, g * U.scalar(scale, dt), neg, xp)


_SQRT1_2 = math.sqrt(0.5)
_GELU_BETA = math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5
_GELU_KAPPA = 0.044715
_GELU_ALPHA = (2.0 / math.sqrt(math.pi)) * _SQRT1_2 * 0.5


# Abramowitz & Stegun 7.1.26: erf(z) = 1 - t (a1 + a2 t + ... + a5 t^4) exp(-z^2) with
# t = 1 / (1 + p z) for z >= 0, |error| <= 1.5e-7. PyTorch's vectorised float32 erf, the
# one its CPU GELU kernels call (torch.erf itself is more accurate): float32 GELU here
# computes it the same way, ~3x faster than the double-precision erf above and equal to
# PyTorch's GELU bit for bit on most elements (the rest: its fused multiply-adds).
_AS_P = np.float32(0.3275911)
_AS_A = tuple(
    np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
)
# exp(-z^2) underflows past z^2 = 87 (and runs slowly on subnormal results): there
# 1 - t r exp(-z^2) is 1 in float32 either way.
_AS_MAX_SQUARE = np.float32(87.0)


def _erf_float32(z):
    """erf of a float32 NumPy array by A&S 7.1.26, as PyTorch's float32 GELU computes it."""
    one = np.float32(1.0)
    t = np.abs(z)
    t *= _AS_P
    t += one
    np.reciprocal(t, out=t)
    r = t * _AS_A[0]
    for a in _AS_A[1:]:
        r += a
        r *= t
    e = np.square(z)
    np.minimum(e, _AS_MAX_SQUARE, out=e)  # NaN stays NaN
    np.negative(e, out=e)
    np.exp(e, out=e)
    e *= r  # t * r * exp(-z^2) = erfc(|z|)
    np.subtract(one, e, out=e)
    return np.copysign(e, z, out=e)


class Gelu(Function):
    """x * Phi(x), exact (erf) or the tanh approximation (``gelu``)."""

    @U.float32_compute
    def forward(ctx, x, approximate="none"):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        dt = x.dtype
        if approximate == "tanh":
            inner = U.scalar(_GELU_BETA, dt) * (x + U.scalar(_GELU_KAPPA, dt) * x * x * x)
            return U.scalar(0.5, dt) * x * (1 + xp.tanh(inner))
        if dt == np.float32 and xp is np:
            cdf = _erf_float32(x * np.float32(_SQRT1_2))
            cdf += np.float32(1.0)
            cdf *= np.float32(0.5)
        else:
            cdf = U.scalar(0.5, dt) * (1 + erf(x * U.scalar(_SQRT1_2, dt)))
        ctx.cdf = cdf  # kept for backward: erf is the expensive part
        return x * cdf

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        dt = x.dtype
        if ctx.approximate == "tanh":
            x2 = x * x
            inner = U.scalar(_GELU_BETA, dt) * (x + U.scalar(_GELU_KAPPA, dt) * x2 * x)
            th = xp.tanh(inner)
            left = U.scalar(0.5, dt) * x
            right = 1 + th
            d_right = (
                left
                * (1 - th * th)
                * U.scalar(_GELU_BETA, dt)
                * (1 + U.scalar(3 * _GELU_KAPPA, dt) * x2)
            )
            return g * (U.scalar(0.5, dt) * right + d_right)
        # Under create_graph the saved cdf is a constant: rebuild it from x in the graph.
        cdf = ctx.cdf if xp is np else 0.5 * (1 + xp.erf(x * _SQRT1_2))
        pdf = U.scalar(_GELU_ALPHA, dt) * xp.exp(U.scalar(-0.5, dt) * x * x)
        return g * (cdf + x * pdf)


def _sigmoid(x, xp=np):
    """1 / (1 + exp(-x)) (``elementwise._sigmoid``); ``xp`` is a backward's array namespace."""
    if xp is not np:
        return xp.sigmoid(x)
    return _sigmoid_kernel(x)


def _softplus(x, xp=np):
    """log(1 + exp(x)) without overflow (its derivative is exact at 0 too: 1/2)."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class Silu(Function):
    """x * sigmoid(x) (``silu``)."""

    @U.float32_compute
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * _sigmoid(x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = _sigmoid(x, ctx.xp)
        return g * s * (1 + x * (1 - s))


class Mish(Function):
    """x * tanh(softplus(x)) (``mish``)."""

    @U.float32_compute
    def forward(ctx, x):
        xp = array_module(x)
        ctx.save_for_backward(x)
        return x * xp.tanh(_softplus(x))

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        t = xp.tanh(_softplus(x, xp))
        return g * (t + x * _sigmoid(x, xp) * (1 - t * t))


class Softplus(Function):
    """log(1 + exp(beta * x)) / beta, linear above ``threshold`` (``softplus``)."""

    @U.float32_compute
    def forward(ctx, x, beta=1.0, threshold=20.0):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * U.scalar(beta, x.dtype)
        soft = xp.log1p(xp.exp(xp.minimum(bx, threshold))) / U.scalar(beta, x.dtype)
        return U.select(bx > threshold, x, soft, xp)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        bx = x * U.scalar(ctx.beta, x.dtype)
        z = xp.exp(xp.minimum(bx, ctx.threshold))
        return U.select(bx > ctx.threshold, g, g * z / (z + 1), xp)


class Hardsigmoid(Function):
    """relu6(x + 3) / 6 (``hardsigmoid``)."""

    @U.float32_compute
    def forward(ctx, x):
        xp = array_module(x)
        ctx.save_for_backward(x)
        return xp.clip(x + 3, 0, 6) / U.scalar(6, x.dtype)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.op(HardsigmoidBackward, g, x)


class HardsigmoidBackward(Function):
    """The gradient of ``hardsigmoid`` as a primitive: PyTorch has no derivative for it,
    so differentiating it (after ``create_graph=True``) raises PyTorch's error."""

    def forward(ctx, g, x):
        # PyTorch multiplies by the float constant 1.0f / 6.0f, even for doubles.
        return g * ((x > -3) & (x < 3)) * U.scalar(np.float32(1.0 / 6.0), g.dtype)

    def backward(ctx, gg):
        raise RuntimeError("derivative for aten::hardsigmoid_backward is not implemented")


class Hardswish(Function):
    """x * relu6(x + 3) / 6 (``hardswish``)."""

    @U.float32_compute
    def forward(ctx, x):
        xp = array_module(x)
        ctx.save_for_backward(x)
        return x * xp.clip(x + 3, 0, 6) / U.scalar(6, x.dtype)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        mid = g * (x / U.scalar(3, x.dtype) + U.scalar(0.5, x.dtype))
        return xp.astype(xp.where(x < -3, 0, xp.where(x <= 3, mid, g)), g.dtype, copy=False)


class LogSigmoid(Function):
    """log(sigmoid(x)) computed stably (``logsigmoid``)."""

    @U.float32_compute
    def forward(ctx, x):
        xp = array_module(x)
        ctx.save_for_backward(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _sigmoid(-x, ctx.xp)


class Softshrink(Function):
    """x - lambd, x + lambd or 0 (``softshrink``)."""

    def forward(ctx, x, lambd=0.5):
        xp = array_module(x)
        mask = xp.abs(x) > lambd
        ctx.save_for_backward(mask)
        lam = U.scalar(lambd, x.dtype)
        return xp.where(x > lam, x - lam, xp.where(x < -lam, x + lam, 0)).astype(
            x.dtype, copy=False
        )

    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask


class Hardshrink(Function):
    """x where |x| > lambd, else 0 (``hardshrink``)."""

    def forward(ctx, x, lambd=0.5):
        xp = array_module(x)
        mask = (x > lambd) | (x < -lambd)
        ctx.save_for_backward(mask)
        return xp.where(mask, x, 0).astype(x.dtype, copy=False)

    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask


# ---------------------------------------------------------------------------
# normalisation

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _sum_prod(a, b, shape):
    """``sum_to(a * b, shape)`` (or of ``a`` alone) in one einsum pass, no full-size product."""
    nd = a.ndim
    off = nd - len(shape)
    if nd > len(_LETTERS) or off < 0:
        return sum_to(a if b is None else a * b, shape)
    sub = _LETTERS[:nd]
    out = "".join(sub[i] for i in range(off, nd) if shape[i - off] != 1)
    xp = array_module(a)
    if b is None:
        r = xp.einsum(f"{sub}->{out}", a)
    else:
        r = xp.einsum(f"{sub},{sub}->{out}", a, b)
    return xp.asarray(r).reshape(shape)


def _constant_along(w, ndim: int, axes) -> bool:
    """Whether ``w`` (broadcast against an ``ndim``-d array) is constant along ``axes``."""
    off = ndim - w.ndim
    return all(w.shape[i - off] == 1 for i in axes if i >= off)


def _channel_row(xp, v, reps: int, dtype):
    """A per-channel vector as a row of ``c * reps`` values for an ``(n, c * reps)`` view.

    NumPy broadcasts a ``(1, c, 1, 1)`` array with one inner-loop call per (sample,
    channel), which costs more than the arithmetic on 8x8 to 32x32 maps; against the
    repeated row each sample is one contiguous loop.
    """
    return xp.repeat(xp.asarray(v, dtype=dtype).reshape(-1), reps)


# samples summed in x's dtype before the sums go to the accumulation dtype: a float32
# sum of this many values keeps about 1e-7 relative precision
_SAMPLE_BLOCK = 64


def _sample_blocks(n: int):
    """Slices of at most ``_SAMPLE_BLOCK`` samples covering ``range(n)``."""
    return [slice(i, min(i + _SAMPLE_BLOCK, n)) for i in range(0, n, _SAMPLE_BLOCK)]


def _channel_sum(xp, a2, c: int, reps: int, acc):
    """Per-channel sums of an ``(n, c * reps)`` view: BLAS over blocks of samples, in
    ``a2``'s dtype (as PyTorch's kernels), then ``acc`` over blocks and positions."""
    ones = xp.ones(min(a2.shape[0], _SAMPLE_BLOCK), dtype=a2.dtype)
    s = sum(
        (ones[: blk.stop - blk.start] @ a2[blk]).astype(acc) for blk in _sample_blocks(a2.shape[0])
    )
    return s.reshape(c, reps).sum(axis=1)


def _channel_dot(xp, a2, b2, c: int, reps: int, acc):
    """Per-channel sums of ``a2 * b2`` (``(n, c * reps)`` views) without the full product,
    in blocks of samples as :func:`_channel_sum`."""
    s = sum(
        xp.einsum("nk,nk->k", a2[blk], b2[blk]).astype(acc) for blk in _sample_blocks(a2.shape[0])
    )
    return s.reshape(c, reps).sum(axis=1)


def _batch_norm_layout(x, w, b, axes) -> bool:
    """Whether ``x`` is normalised per channel (dim 1) over every other dim, with
    per-channel ``w`` and ``b`` of x's dtype (or none): batch norm's fast path."""
    if not (x.size and x.ndim >= 2 and axes == (0,) + tuple(range(2, x.ndim))):
        return False
    c = x.shape[1]
    return all(t is None or (t.dtype == x.dtype and t.size == c) for t in (w, b))


def _rowwise_f32(xp, x, axes) -> bool:
    """Whether ``x`` is float32 NumPy data normalised over its trailing ``axes`` (layer norm)."""
    return (
        xp is np
        and x.dtype == np.float32
        and x.size > 0
        and len(axes) > 0
        and tuple(axes) == tuple(range(x.ndim - len(axes), x.ndim))
    )


# |mean| / std up to which batch norm sums x * x (forward) and g * x (backward) rather
# than the centred products: the float32 sums then lose at most a small factor of
# relative precision (measured: variance within 1e-6 of float64 at 2 std), and x - mean
# need not be built (one pass over the data fewer). Beyond, the data is centred first.
_UNCENTRED_VAR_MAX = 2.0
_UNCENTRED_MAX = 4.0


def _batch_norm_forward(xp, x, w, b, eps, acc):
    """Batch norm's ``y``, mean, biased variance and rstd, in four passes over ``x``.

    The data is seen as ``(n, c * spatial)``: per-channel sums go through BLAS over the
    samples and per-channel scales broadcast as repeated rows (see :func:`_channel_row`).
    y = x * scale + shift with scale = rstd * w and shift = b - mean * scale, unless a
    channel's mean is far from zero (then five passes, centred).
    """
    n, c = x.shape[0], x.shape[1]
    reps = x.size // (n * c)
    cnt = n * reps
    dt = x.dtype
    x2 = x.reshape(n, c * reps)
    mean = _channel_sum(xp, x2, c, reps, acc) / cnt
    var = _channel_dot(xp, x2, x2, c, reps, acc) / cnt - mean * mean
    if (mean * mean <= (_UNCENTRED_VAR_MAX**2) * var).all():
        rstd = 1.0 / xp.sqrt(var + eps)
        scale = rstd if w is None else rstd * w.reshape(-1)
        shift = -mean * scale if b is None else b.reshape(-1) - mean * scale
        y = x2 * _channel_row(xp, scale, reps, dt)
        y += _channel_row(xp, shift, reps, dt)
    else:
        # a channel far from zero (or a cancelled variance): centre the data first, which
        # also keeps a constant channel's output exactly b
        xc = x2 - _channel_row(xp, mean, reps, dt)
        var = _channel_dot(xp, xc, xc, c, reps, acc) / cnt
        rstd = 1.0 / xp.sqrt(var + eps)
        y = xc  # a buffer of ours
        y *= _channel_row(xp, rstd if w is None else rstd * w.reshape(-1), reps, dt)
        if b is not None:
            y += _channel_row(xp, b, reps, dt)
    kshape = (1, c) + (1,) * (x.ndim - 2)
    return (
        y.reshape(x.shape),
        mean.astype(dt).reshape(kshape),
        var.astype(dt).reshape(kshape),
        rstd.astype(dt).reshape(kshape),
    )


def _batch_norm_backward(xp, g, x, mean, rstd, w, needs, shapes):
    """Batch norm's gradients (x, w, b) from two sums over the channels and four passes.

    gx = w * rstd * (g - mean(g) - xhat * mean(g * xhat)), xhat = (x - mean) * rstd,
    that is a * (g - x * k1 - (k2 - mean * k1)) with per-channel a, k1, k2.
    """
    nx, nw, nb = needs
    n, c = x.shape[0], x.shape[1]
    reps = x.size // (n * c)
    cnt = n * reps
    dt = x.dtype
    acc = _acc_dtype(dt)
    g2 = g.reshape(n, c * reps)
    x2 = x.reshape(n, c * reps)
    mean_c = mean.reshape(-1).astype(acc)
    rstd_c = rstd.reshape(-1).astype(acc)
    gx = gw = gb = None
    sg = _channel_sum(xp, g2, c, reps, acc) if nx or nb or nw else None
    if nb:
        gb = sg.astype(dt).reshape(shapes[1])
    if not (nx or nw):
        return gx, gw, gb
    centre = bool((xp.abs(mean_c) * rstd_c > _UNCENTRED_MAX).any())
    if centre:
        xc = x2 - _channel_row(xp, mean_c, reps, dt)
        sgx = _channel_dot(xp, g2, xc, c, reps, acc)
    else:
        sgx = _channel_dot(xp, g2, x2, c, reps, acc) - mean_c * sg
    sgxhat = sgx * rstd_c  # sum(g * xhat)
    if nw:
        gw = sgxhat.astype(dt).reshape(shapes[0])
    if not nx:
        return gx, gw, gb
    k1 = rstd_c * sgxhat / cnt
    k2 = sg / cnt
    a = rstd_c if w is None else rstd_c * w.reshape(-1)
    if centre:
        gx = xc  # a buffer of ours
        gx *= _channel_row(xp, k1, reps, dt)
        gx += _channel_row(xp, k2, reps, dt)
    else:
        gx = x2 * _channel_row(xp, k1, reps, dt)
        gx += _channel_row(xp, k2 - mean_c * k1, reps, dt)
    xp.subtract(g2, gx, out=gx)
    gx *= _channel_row(xp, a, reps, dt)
    return gx.reshape(x.shape), gw, gb


def _layer_norm_stats(xp, rows):
    """Row means, ``rows - mean`` (a new array) and variances of float32 ``(m, d)`` rows.

    float32 sums, as PyTorch's CPU kernel accumulates float: the mean by a BLAS
    matrix-vector product, the squares by a dot product per row.
    """
    d = rows.shape[1]
    mean = rows @ xp.full(d, 1.0 / d, dtype=rows.dtype)
    xc = rows - mean[:, None]
    var = xp.einsum("md,md->m", xc, xc) / d
    return mean, xc, var


def _layer_norm_backward(xp, g, x, mean, rstd, w, needs, b_shape):
    """Layer norm's gradients over the trailing dims of float32 data, sums through BLAS.

    With xc = x - mean, xhat = xc * rstd and gxhat = g * w:
    gx = rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)),
    where sum_d(gxhat) = g @ w and sum_d(gxhat * xhat) = rstd * ((g * xc) @ w).
    """
    nx, nw, nb = needs
    d = x.size // rstd.size
    g2 = g.reshape(-1, d)
    r = rstd.reshape(-1)
    gx = gw = gb = None
    if nb:
        gb = (xp.ones(g2.shape[0], dtype=g2.dtype) @ g2).reshape(b_shape)
    if not (nx or nw):
        return gx, gw, gb
    xc = x.reshape(-1, d) - mean.reshape(-1, 1)
    gxc = g2 * xc
    if nw:
        gw = (r @ gxc).reshape(w.shape)  # sum over rows of g * xhat
    if not nx:
        return gx, gw, gb
    wv = xp.ones(d, dtype=g2.dtype) if w is None else w.reshape(-1)
    m1 = (g2 @ wv) / d
    m2 = (gxc @ wv) * r / d
    # gx = rstd * gxhat - (rstd * m1 + xc * rstd^2 * m2), built in the buffers of g * xc
    # and xc (no third full-size array)
    gx = gxc
    xp.multiply(g2, wv, out=gx)
    gx *= r[:, None]
    xc *= (r * r * m2)[:, None]
    xc += (r * m1)[:, None]
    gx -= xc
    return gx.reshape(x.shape), gw, gb


class Normalize(Function):
    """(x - mean) / sqrt(var + eps) * w + b with statistics over ``axes``.

    The one primitive behind batch, layer, group and instance norm: ``w`` and
    ``b`` come already shaped to broadcast against ``x``. Also returns the batch
    mean and the biased variance (keepdim shapes) for running statistics.
    """

    num_outputs = 3
    non_differentiable = (1, 2)
    backward_name = "NativeBatchNormBackward0"

    @U.float32_compute
    def forward(ctx, x, w, b, axes=(), eps=1e-5):
        xp = array_module(x)
        acc = _acc_dtype(x.dtype)
        ctx.axes, ctx.eps = axes, eps
        ctx.b_shape = None if b is None else b.shape
        # the kernel the backward takes: "bn" (per channel), "ln" (float32 rows with
        # the weight along them) or the general formula
        ctx.kernel = None
        if _batch_norm_layout(x, w, b, axes):
            ctx.kernel = "bn"
            y, mean, var, rstd = _batch_norm_forward(xp, x, w, b, eps, acc)
            # x rather than xhat (as PyTorch): the backward rebuilds x - mean in one pass,
            # and under create_graph the statistics themselves, in the graph, from x.
            ctx.save_for_backward(x, mean, rstd, w)
            return y, mean, var
        if _rowwise_f32(xp, x, axes):
            # Layer norm over trailing dims: float32 sums per row, as PyTorch's CPU kernel.
            # With w and b of the normalised shape (or none) the backward has its own
            # kernel too; broadcast parameters take the general backward.
            if all(
                t is None or (t.dtype == x.dtype and t.shape == x.shape[x.ndim - len(axes) :])
                for t in (w, b)
            ):
                ctx.kernel = "ln"
            rows = x.reshape(-1, math.prod(x.shape[i] for i in axes))
            kshape = x.shape[: x.ndim - len(axes)] + (1,) * len(axes)
            mean, xc, var = _layer_norm_stats(xp, rows)
            mean, var, xc = mean.reshape(kshape), var.reshape(kshape), xc.reshape(x.shape)
        else:
            mean = xp.mean(x, axis=axes, keepdims=True, dtype=acc)
            xc = x - mean.astype(x.dtype)
            var = xp.mean(xc * xc, axis=axes, keepdims=True, dtype=acc)
        rstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype)
        # y = (x - mean) * rstd * w + b, in the buffer of x - mean (a temporary of ours)
        y = xc
        if all(t is None or (t.dtype == x.dtype and t.ndim <= x.ndim) for t in (w, b)):
            if w is not None and _constant_along(w, x.ndim, axes):
                y *= rstd * w  # one pass: the scale is per channel
            else:
                y *= rstd
                if w is not None:
                    y *= w
            if b is not None:
                y += b
        else:
            y = y * rstd
            if w is not None:
                y = y * w
            if b is not None:
                y = y + b
        mean = mean.astype(x.dtype)
        ctx.save_for_backward(x, mean, rstd, w)
        return y, mean, var.astype(x.dtype)

    @U.float32_compute
    def backward(ctx, g, _gm=None, _gv=None):
        x, mean, rstd, w = ctx.saved_tensors
        return ctx._grads(g, x, mean, rstd, w)

    def _grads(ctx, g, x, mean, rstd, w):
        """The backward's body on explicit saved tensors (GroupNormalize regroups them)."""
        xp = ctx.xp
        nx, nw, nb = ctx.needs_input_grad
        axes = ctx.axes
        gx = gw = gb = None
        if xp is not np:
            # Under create_graph the saved statistics are constants: rebuild them from x in
            # the graph, then take the general formula below.
            mean = xp.mean(x, axis=axes, keepdims=True)
            xc = x - mean
            rstd = 1 / xp.sqrt(xp.mean(xc * xc, axis=axes, keepdims=True) + ctx.eps)
        elif ctx.kernel == "bn":
            shapes = (None if w is None else w.shape, ctx.b_shape)
            return _batch_norm_backward(xp, g, x, mean, rstd, w, (nx, nw, nb), shapes)
        elif ctx.kernel == "ln" and g.dtype == x.dtype:
            return _layer_norm_backward(xp, g, x, mean, rstd, w, (nx, nw, nb), ctx.b_shape)
        else:
            xc = x - mean
        if xp is np and nx and (w is None or _constant_along(w, g.ndim, axes)):
            # The weight is constant along the normalised axes (batch and instance norm):
            # gx = w * rstd * (g - mean(g) - xhat * mean(g * xhat)), xhat = xc * rstd. The
            # two sums are one pass each and also give gw and gb.
            kshape = rstd.shape
            n = g.size // max(rstd.size, 1) if g.size else 1
            sg = _sum_prod(g, None, kshape)
            sgx = _sum_prod(g, xc, kshape) * rstd  # sum(g * xhat)
            if nw:
                gw = sgx.reshape(w.shape) if w.shape == kshape else sum_to(sgx, w.shape)
            if nb:
                b_shape = ctx.b_shape
                gb = sg.reshape(b_shape) if b_shape == kshape else sum_to(sg, b_shape)
            # gx = a * (g - (xc * rstd * mean(g * xhat) + mean(g))), a = w * rstd, built in
            # the buffer of xc (no second full-size array)
            a = rstd if w is None else rstd * w
            gx = xc
            gx *= rstd * (sgx / n)
            gx += sg / n
            xp.subtract(g, gx, out=gx)
            gx *= a
            return gx, gw, gb
        if xp is np:
            # Layer and group norm: the weight varies along the normalised axes. The sums
            # are einsum passes without full-size products; gx is built in place.
            xhat = xc
            xhat *= rstd
            if nw:
                gw = _sum_prod(g, xhat, tuple(w.shape))
            if nb:
                gb = _sum_prod(g, None, ctx.b_shape)
            if nx:
                n = g.size // max(rstd.size, 1) if g.size else 1
                gx = g * w if w is not None else g.copy()
                m1 = _sum_prod(gx, None, rstd.shape) / n
                xhat *= _sum_prod(gx, xhat, rstd.shape) / n  # xhat * mean(gxhat * xhat)
                gx -= m1
                gx -= xhat
                gx *= rstd
            return gx, gw, gb
        xhat = xc * rstd
        if nw:
            gw = sum_to(g * xhat, tuple(w.shape), xp)
        if nb:
            gb = sum_to(g, ctx.b_shape, xp)
        if nx:
            gxhat = g * w if w is not None else g
            m1 = xp.mean(gxhat, axis=axes, keepdims=True)
            m2 = xp.mean(gxhat * xhat, axis=axes, keepdims=True)
            gx = (gxhat - m1 - xhat * m2) * rstd
        return gx, gw, gb


class LayerNormalize(Normalize):
    """:class:`Normalize` over the trailing dimensions, as ``F.layer_norm`` calls it:
    the same kernels, under PyTorch's node name for layer norm."""

    backward_name = "NativeLayerNormBackward0"


class GroupNormalize(Normalize):
    """``F.group_norm`` as one node (PyTorch's ``NativeGroupNormBackward0``): x (N, C, *)
    with per-channel ``w`` and ``b`` of shape (C,), normalised over each group of C / groups
    channels by :class:`Normalize`'s kernels on the grouped view (N, groups, C / groups, -1).

    Returns y (x's shape), and the mean and variance per sample and group, (N, groups).
    """

    backward_name = "NativeGroupNormBackward0"

    def forward(ctx, x, w, b, groups=1, eps=1e-5):
        n, c = x.shape[0], x.shape[1]
        ctx.groups = groups
        per_channel = (1, groups, c // groups, 1)
        wg = None if w is None else w.reshape(per_channel)
        bg = None if b is None else b.reshape(per_channel)
        xg = x.reshape(n, groups, c // groups, -1)
        y, mean, var = Normalize.forward(ctx, xg, wg, bg, axes=(2, 3), eps=eps)
        # keep the inputs themselves (not their grouped views): under create_graph the
        # backward must find them as the node's inputs, so that the second derivative
        # reaches x and w through the statistics it rebuilds from them
        if ctx._saved is not None:  # (None when no graph is recorded)
            _, mean_k, rstd_k, _ = ctx._saved
            ctx.save_for_backward(x, mean_k, rstd_k, w)
        return y.reshape(x.shape), mean.reshape(n, groups), var.reshape(n, groups)

    @U.float32_compute
    def backward(ctx, g, _gm=None, _gv=None):
        x, mean, rstd, w = ctx.saved_tensors
        shape = tuple(x.shape)
        n, c, groups = shape[0], shape[1], ctx.groups
        grouped = (n, groups, c // groups, -1)
        wg = None if w is None else w.reshape(1, groups, c // groups, 1)
        gx, gw, gb = ctx._grads(g.reshape(grouped), x.reshape(grouped), mean, rstd, wg)
        return (
            None if gx is None else gx.reshape(shape),
            None if gw is None else gw.reshape(c),
            None if gb is None else gb.reshape(c),
        )


# ---------------------------------------------------------------------------
# losses over classes (dim 1 is the class dim)


def _log_softmax(x, axis=1, xp=np):
    """log_softmax over ``axis``, shifted by the max; ``xp`` is a backward's namespace."""
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    s = x - m
    lse = xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))
    if xp is not np:
        return s - lse
    s -= lse  # in place: no second full-size temporary
    return s


def _exp_rows(x):
    """For the fused cross-entropy of a 2-d float32/float64 NumPy array: ``(y, rs, lse,
    bad)`` with ``y * rs[:, None]`` the softmax of each row and ``lse`` its logsumexp.

    As ``reduce._softmax_last``: the shift by each row's max only guards against
    overflow and underflow, so rows whose sum of exp(x) is a normal finite number use
    the unshifted exp (one pass; the row sums as one BLAS product) and the
    normalisation is left to the backward, which scales each row anyway. The other
    rows (huge logits, all far below zero, -inf, NaN, inf) take the exact shifted
    ``_log_softmax``: ``bad`` is None, or (the mask of those rows, their
    log-probabilities); there ``y`` is already the softmax, ``rs`` is 1 and ``lse``
    is 0 (not their logsumexp: the caller reads their log-probabilities instead).
    """
    with np.errstate(over="ignore"):
        y = np.exp(x)
    s = _row_sums(y)
    bad = ~((s >= _ROW_SUM_FLOOR) & (s < np.inf))  # NaN sums are bad too
    if bad.any():
        s[bad] = 1
        lse = np.log(s)
        logp = _log_softmax(x[bad])
        y[bad] = np.exp(logp)
        return y, np.reciprocal(s), lse, (bad, logp)
    return y, np.reciprocal(s), np.log(s), None


def _class_view(w, ndim):
    """A per-class weight (C,) reshaped to broadcast along dim 1 of an ndim array."""
    return w.reshape((1, -1) + (1,) * (ndim - 2))


def _target_weights(target, valid, w, dtype):
    """The weight of each target (0 where ignored)."""
    xp = array_module(target)
    if w is None:
        return valid.astype(dtype)
    safe = xp.where(valid, target, 0)
    return w[safe] * valid


def _reduce_weighted(loss, reduction, denom):
    if reduction == "none":
        return loss
    total = loss.sum(dtype=_acc_dtype(loss.dtype))
    if reduction == "sum":
        return np.asarray(total, dtype=loss.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / denom, dtype=loss.dtype)


class NllLoss(Function):
    """Negative log-likelihood of class indices (``nll_loss``); input (N, C, *)."""

    backward_name = "NllLossBackward0"

    @U.float32_compute
    def forward(ctx, x, w, target=None, ignore_index=-100, reduction="mean"):
        xp = array_module(x)
        valid = target != ignore_index
        safe = xp.where(valid, target, 0)
        wt = _target_weights(target, valid, w, x.dtype)
        picked = xp.take_along_axis(x, safe[:, None], axis=1)[:, 0]
        loss = -(picked * wt)
        denom = wt.sum(dtype=_acc_dtype(x.dtype))
        ctx.state = (safe, valid, wt, denom, reduction, x.shape)
        return _reduce_weighted(loss, reduction, denom)

    def backward(ctx, g):
        safe, valid, wt, denom, reduction, shape = ctx.state
        xp = ctx.xp
        if not ctx.needs_input_grad[0]:
            return None, None
        coef = _loss_coef(xp, g, reduction, denom, wt.dtype)
        # Ignored targets get exactly zero, even when every target is ignored (coef = g/0).
        with np.errstate(invalid="ignore"):
            gt = xp.astype(xp.where(valid, -(wt * coef), 0), g.dtype, copy=False)
        gx = xp.zeros(shape, dtype=g.dtype)
        xp.put_along_axis(gx, safe[:, None], gt[:, None], axis=1)
        return gx, None


def _loss_coef(xp, g, reduction, denom, dt):
    """The upstream gradient of each per-element loss term."""
    if reduction == "none":
        return g
    if reduction == "sum":
        return g
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.astype(g / U.scalar(denom, dt), dt)


class CrossEntropy(Function):
    """log_softmax over dim 1 fused with the NLL of class indices and label
    smoothing (``cross_entropy``); stable for any logit magnitude."""

    backward_name = "NllLossBackward0"

    @U.float32_compute
    def forward(ctx, x, w, target=None, ignore_index=-100, reduction="mean", smoothing=0.0):
        xp = array_module(x)
        n_classes = x.shape[1]
        valid = target != ignore_index
        safe = xp.where(valid, target, 0)
        wt = _target_weights(target, valid, w, x.dtype)
        # (N, C) without label smoothing (the common case) takes the fast path; it is
        # faster from (100, 10) up, by ~40% of the whole op at (1120, 1000)
        if (
            xp is np
            and smoothing == 0
            and x.ndim == 2
            and x.size > 0
            and x.dtype in (np.float32, np.float64)
        ):
            return CrossEntropy._forward_rows(ctx, x, w, safe, valid, wt, reduction)
        logp = _log_softmax(x)
        picked = xp.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
        loss = -(picked * wt)
        if smoothing > 0:
            wl = logp if w is None else logp * _class_view(w, logp.ndim)
            smooth = xp.where(valid, -wl.sum(axis=1), 0).astype(x.dtype, copy=False)
            loss = loss * U.scalar(1 - smoothing, x.dtype) + smooth * U.scalar(
                smoothing / n_classes, x.dtype
            )
        denom = wt.sum(dtype=_acc_dtype(x.dtype))
        w_all = float(n_classes) if w is None else w.sum(dtype=_acc_dtype(x.dtype))
        # x itself too: under create_graph logp is rebuilt from it in the graph.
        ctx.save_for_backward(logp, w, x)
        ctx.state = (safe, valid, wt, denom, reduction, smoothing, w_all, None)
        return _reduce_weighted(loss, reduction, denom)

    @staticmethod
    def _forward_rows(ctx, x, w, safe, valid, wt, reduction):
        """The forward of an (N, C) float32/float64 input without label smoothing:
        log p[target] = x[target] - logsumexp(row), from ``_exp_rows``."""
        y, rs, lse, fallback = _exp_rows(x)
        rows = np.arange(x.shape[0])
        picked = x[rows, safe] - lse
        if fallback is not None:
            bad, logp = fallback
            picked[bad] = logp[np.arange(logp.shape[0]), safe[bad]]
        loss = -(picked * wt)
        denom = wt.sum(dtype=_acc_dtype(x.dtype))
        # x too: under create_graph the backward rebuilds log_softmax from it in the graph.
        ctx.save_for_backward(y, w, x)
        ctx.state = (safe, valid, wt, denom, reduction, 0.0, None, rs)
        return _reduce_weighted(loss, reduction, denom)

    @U.float32_compute
    def backward(ctx, g):
        logp, w, x = ctx.saved_tensors
        safe, valid, wt, denom, reduction, ls, w_all, rs = ctx.state
        xp = ctx.xp
        if not ctx.needs_input_grad[0]:
            return None, None
        if rs is not None and xp is np:
            # (softmax * w[t] - w[t] at the target) * coef, with the softmax's row
            # normalisation folded into the per-row factor: one pass over the saved exp
            coef = _loss_coef(xp, g, reduction, denom, logp.dtype)
            with np.errstate(invalid="ignore"):
                wc = wt * coef
                gx = logp * (wc * rs)[:, None]
                gx[np.arange(gx.shape[0]), safe] -= wc
            if reduction == "mean" and not valid.all():
                # Ignored targets get exactly zero, even when every target is ignored.
                gx[~valid] = 0
            return gx, None
        if xp is not np:  # create_graph (either forward): log_softmax rebuilt from x
            logp = _log_softmax(x, xp=xp)
        dt = logp.dtype
        c = logp.shape[1]
        p = xp.exp(logp)
        if ls > 0:
            scale = wt * U.scalar(1 - ls, dt) + valid * U.scalar(ls / c * w_all, dt)
        else:
            scale = wt
        if xp is np:
            gx = p
            gx *= scale[:, None]  # in place: p is a temporary
        else:
            gx = p * scale[:, None]  # exp saved p for its own backward: no in-place
        hit = xp.take_along_axis(gx, safe[:, None], axis=1)
        off = (wt if ls == 0 else wt * U.scalar(1 - ls, dt))[:, None]
        xp.put_along_axis(gx, safe[:, None], hit - off, axis=1)
        if ls > 0:
            wc = U.scalar(ls / c, dt)
            if w is not None:
                wc = _class_view(w, gx.ndim) * wc
            gx -= wc * valid[:, None]
        coef = _loss_coef(xp, g, reduction, denom, dt)
        with np.errstate(invalid="ignore"):
            gx *= coef[:, None] if reduction == "none" else coef
        if reduction == "mean" and not valid.all():
            # Ignored targets get exactly zero, even when every target is ignored (coef = g/0).
            gx = xp.where(valid[:, None], gx, U.scalar(0, dt))
        return gx, None


class CrossEntropyProbs(Function):
    """log_softmax over dim 1 fused with the cross-entropy of class
    probabilities (``cross_entropy`` with a float target)."""

    backward_name = "SumBackward1"

    @U.float32_compute
    def forward(ctx, x, target, w, reduction="mean", smoothing=0.0):
        n_classes = x.shape[1]
        logp = _log_softmax(x)
        t = target
        if smoothing > 0:
            t = t * U.scalar(1 - smoothing, x.dtype) + U.scalar(smoothing / n_classes, x.dtype)
        wt = t if w is None else t * _class_view(w, x.ndim)
        loss = -(logp * wt).sum(axis=1)
        denom = x.size / n_classes if x.size else math.nan
        # x and the target too: under create_graph logp and wt are rebuilt from them.
        ctx.save_for_backward(logp, wt, w, x, target)
        ctx.state = (reduction, denom, smoothing)
        return _reduce_weighted(loss, reduction, denom)

    @U.float32_compute
    def backward(ctx, g):
        logp, wt, w, x, t = ctx.saved_tensors
        reduction, denom, ls = ctx.state
        xp = ctx.xp
        nx, nt, _ = ctx.needs_input_grad
        if xp is not np:
            logp = _log_softmax(x, xp=xp)
            n_classes = logp.shape[1]
            if ls > 0:
                t = t * U.scalar(1 - ls, t.dtype) + U.scalar(ls / n_classes, t.dtype)
            wt = t if w is None else t * _class_view(w, logp.ndim)
        coef = _loss_coef(xp, g, reduction, denom, logp.dtype)
        coef = coef[:, None] if reduction == "none" else coef
        gx = gt = None
        if nx:
            gx = xp.exp(logp) * xp.sum(wt, axis=1, keepdims=True) - wt
            gx *= coef
        if nt:
            gt = -logp if w is None else -logp * _class_view(w, logp.ndim)
            gt = gt * coef * U.scalar(1 - ls, logp.dtype)
        return gx, gt, None


class BinaryCrossEntropy(Function):
    """-w (t log x + (1 - t) log(1 - x)), logs clamped at -100 (``binary_cross_entropy``)."""

    backward_name = "BinaryCrossEntropyBackward0"

    def forward(ctx, x, t, w=None):
        xp = array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        loss = -(t * (log_x - log_1mx) + log_1mx)
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, t, w)
        return loss

    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        xp = ctx.xp
        nx, nt, _ = ctx.needs_input_grad
        gw = g if w is None else g * w
        gx = gt = None
        if nx:
            gx = gw * (x - t) / xp.maximum((1 - x) * x, U.scalar(1e-12, x.dtype))
        if nt:
            with np.errstate(divide="ignore", invalid="ignore"):
                gt = gw * (xp.maximum(xp.log1p(-x), -100) - xp.maximum(xp.log(x), -100))
        return gx, gt, None


# ---------------------------------------------------------------------------
# embedding and padding


class Embedding(Function):
    """Rows of ``weight`` picked by integer ``indices`` (``embedding``)."""

    backward_name = "EmbeddingBackward0"

    def forward(ctx, w, indices=None, padding_idx=None, scale_grad_by_freq=False):
        xp = array_module(w)
        ctx.state = (indices, padding_idx, scale_grad_by_freq, w.shape)
        return xp.take(w, indices, axis=0)

    def backward(ctx, g):
        indices, padding_idx, by_freq, shape = ctx.state
        return ctx.op(
            EmbeddingDenseBackward,
            g,
            indices=indices,
            padding_idx=padding_idx,
            scale_grad_by_freq=by_freq,
            num_weights=shape[0],
        )


# The passes of ``_add_rows_at`` go on while at least this many indices take part
# (one fancy-indexed pass costs about what this many rows cost ``np.add.at``).
_ADD_PASS_MIN = 24


def _add_rows_at(out, flat, rows):
    """``np.add.at(out, flat, rows)`` for a 2-d ``out`` and ``rows``, with its bits.

    ``np.add.at`` handles one row at a time (~1 us each). Here the indices are sorted
    (stably: each index keeps its rows' order) and pass k adds the k-th row of every
    index that has one, as one fancy-indexed ``+=`` (the indices in a pass are
    distinct). Every output row thus sums its rows in add.at's order, from zero. The
    few rows of indices repeated more often than that are left to ``np.add.at``, in
    the sorted order (the same order per index).
    """
    n = flat.size
    if n < 64:  # a few rows: the sort costs more than it saves
        np.add.at(out, flat, rows)
        return
    order = np.argsort(flat, kind="stable")
    sf = flat[order]
    if sf[0] < 0:  # a negative index (add.at wraps it) could meet its wrapped twin in a pass
        np.add.at(out, flat, rows)
        return
    head = np.empty(n, dtype=bool)
    head[0] = True
    np.not_equal(sf[1:], sf[:-1], out=head[1:])
    starts = np.flatnonzero(head)
    counts = np.diff(starts, append=n)
    k = 0
    active = starts
    while active.size >= _ADD_PASS_MIN:
        at = active + k
        out[sf[at]] += rows[order[at]]
        k += 1
        active = starts[counts > k]
    if active.size:
        rest = np.arange(n) - np.repeat(starts, counts) >= k  # the rank of each row >= k
        np.add.at(out, sf[rest], rows[order[rest]])


class EmbeddingDenseBackward(Function):
    """The weight gradient of ``embedding``: rows of ``g`` summed into their indices' rows
    (``torch.embedding_dense_backward``), as a primitive so that it is differentiable."""

    backward_name = "EmbeddingDenseBackwardBackward0"

    def forward(ctx, g, indices=None, padding_idx=None, scale_grad_by_freq=False, num_weights=0):
        xp = array_module(g)
        flat = indices.reshape(-1)
        rows = g.reshape(-1, g.shape[-1])
        if scale_grad_by_freq:
            counts = xp.bincount(flat, minlength=num_weights)
            rows = rows / counts[flat][:, None].astype(g.dtype)
        if padding_idx is not None:
            keep = flat != padding_idx
            flat, rows = flat[keep], rows[keep]
        gw = xp.zeros((num_weights, g.shape[-1]), dtype=g.dtype)
        if xp is np:
            _add_rows_at(gw, flat, rows)
        else:
            xp.add.at(gw, flat, rows)
        ctx.state = (indices, padding_idx)
        return gw

    def backward(ctx, gg):
        # PyTorch's embedding_dense_double_backward: the rows of gg picked by the indices,
        # zero at padding_idx, and no frequency scaling (the first backward applied it).
        indices, padding_idx = ctx.state
        rows = ctx.op(Embedding, gg, indices=indices)
        if padding_idx is not None:
            rows = rows * (indices != padding_idx)[..., None]
        return rows


class ConstantPad(Function):
    """Pad (or crop, for negative amounts) with a constant (``pad`` mode='constant').

    ``pads`` holds one (before, after) pair per dim, first dim first.
    """

    backward_name = "ConstantPadNdBackward0"

    def forward(ctx, x, pads=(), value=0.0):
        xp = array_module(x)
        out_shape = tuple(s + a + b for s, (a, b) in zip(x.shape, pads))
        if any(s < 0 for s in out_shape):
            raise RuntimeError(
                f"The input size {list(x.shape)}, plus negative padding {list(pads)} resulted in "
                f"a negative output size, which is invalid. Check dimension of your input."
            )
        y = xp.full(out_shape, value, dtype=x.dtype)
        src, dst = _pad_slices(x.shape, pads)
        y[dst] = x[src]
        ctx.state = (x.shape, pads)
        return y

    def backward(ctx, g):
        # The adjoint of padding is the opposite padding (cropping what was added, zeros
        # where the forward cropped), itself a ConstantPad: differentiable to any order.
        _, pads = ctx.state
        return ctx.op(ConstantPad, g, pads=tuple((-a, -b) for a, b in pads), value=0.0)


def _pad_slices(shape, pads):
    """Slices of the input and of the padded output that hold the same values."""
    src, dst = [], []
    for s, (a, b) in zip(shape, pads):
        src.append(slice(max(-a, 0), s - max(-b, 0)))
        dst.append(slice(max(a, 0), max(a, 0) + s - max(-a, 0) - max(-b, 0)))
    return tuple(src), tuple(dst)


class IndexPad(Function):
    """Gather along several dims with index arrays (reflect/replicate/circular ``pad``)."""

    backward_name = "ReflectionPadBackward0"

    def forward(ctx, x, index=()):
        xp = array_module(x)
        y = x
        for dim, idx in index:
            y = xp.take(y, idx, axis=dim)
        ctx.state = (x.shape, index)
        return y

    def backward(ctx, g):
        shape, index = ctx.state
        return ctx.op(IndexPadBackward, g, shape=shape, index=index)


class IndexPadBackward(Function):
    """The input gradient of ``IndexPad``: each gathered element's gradient added back to
    its source (``reflection_pad*_backward``), as a primitive whose backward is IndexPad."""

    backward_name = "ReflectionPadBackwardBackward0"

    def forward(ctx, g, shape=(), index=()):
        xp = array_module(g)
        for dim, idx in reversed(index):
            moved = xp.moveaxis(g, dim, 0)
            acc = xp.zeros((shape[dim],) + moved.shape[1:], dtype=g.dtype)
            xp.add.at(acc, idx, moved)
            g = xp.moveaxis(acc, 0, dim)
        ctx.state = index
        return g

    def backward(ctx, gg):
        return ctx.op(IndexPad, gg, index=ctx.state)


# ---------------------------------------------------------------------------
# composites that PyTorch computes with a fused kernel of no double backward


class OnceDifferentiable(Function):
    """The identity on ``x``, put in front of a loss that tapegrad composes from
    differentiable ops where PyTorch runs a fused kernel without a double backward
    (``multi_margin_loss``...): under ``create_graph`` the gradient passing through is
    recorded, and differentiating it raises PyTorch's error for ``aten::<name>``.

    The output shares ``x``'s memory; it is only ever consumed inside the loss.
    """

    backward_name = "OnceDifferentiableBackward0"

    def forward(ctx, x, name=""):
        ctx.name = name
        ctx.save_for_backward(x)
        return x.view()

    def backward(ctx, g):
        if ctx.xp is np:
            return g
        (x,) = ctx.saved_tensors
        return ctx.op(NotDifferentiable, g, x, name=ctx.name)


class NotDifferentiable(Function):
    """``g`` unchanged, tied to ``x``'s graph so that it requires grad whenever ``x`` does
    (as PyTorch's gradient does); its derivative raises PyTorch's error."""

    backward_name = "NotImplemented"

    def forward(ctx, g, x, name=""):
        ctx.name = name
        return g.view()

    def backward(ctx, gg):
        raise RuntimeError(f"derivative for aten::{ctx.name} is not implemented")
