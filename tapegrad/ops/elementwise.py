"""Pointwise math with broadcasting: arithmetic, unary functions, comparisons.

Each differentiable primitive is a ``Function`` on raw arrays. The public
functions handle PyTorch's type promotion (``_dtype.result_type``), turn Python
scalars into 0-dim arrays of the result dtype, and translate NumPy's broadcast
errors into PyTorch's message.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _dtype as D
from ..autograd import function as _fn
from ..autograd.function import Function
from . import _util as U

# ---------------------------------------------------------------------------
# promotion helpers


def _promote(a, b) -> D.dtype:
    ta, tb = U.is_tensor(a), U.is_tensor(b)
    if ta and tb:
        if a.dtype is b.dtype:
            return a.dtype
    elif ta and isinstance(b, float) and a.dtype.is_floating_point:
        return a.dtype
    elif tb and isinstance(a, float) and b.dtype.is_floating_point:
        return b.dtype
    if not ta and not isinstance(a, numbers.Number):
        a = U.as_tensor_arg(a)
    if not tb and not isinstance(b, numbers.Number):
        b = U.as_tensor_arg(b)
    return D.result_type(a, b)


def _operand(x, dt: D.dtype):
    """``x`` as a tensor of dtype ``dt`` (scalars become 0-dim arrays)."""
    if U.is_tensor(x):
        return x if x.dtype is dt else x.to(dt)
    if isinstance(x, numbers.Number):
        if type(x) is int and dt.np.kind in "iu":
            info = np.iinfo(dt.np)
            if not info.min <= x <= info.max:
                # arithmetic wraps an out-of-range Python int, like PyTorch's cast
                return U.Tensor._make(np.asarray(x & 0xFFFFFFFFFFFFFFFF, np.uint64).astype(dt.np))
        return U.scalar_to_tensor(x, dt)
    return U.as_tensor_arg(x).to(dt)


def _broadcast_error(a, b):
    sa, sb = tuple(a.shape), tuple(b.shape)
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            return RuntimeError(
                f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) "
                f"at non-singleton dimension {i}"
            )
    return None


def _binary(fn_cls, a, b, dt: D.dtype | None = None, compute: D.dtype | None = None, **attrs):
    """Promote ``a`` and ``b`` and apply a binary primitive."""
    ta = tb = None
    if dt is None and compute is None and isinstance(a, U.Tensor):
        # Fast path for the common cases that need no promotion: two tensors of one
        # dtype, or a floating tensor and a Python float/int (the scalar takes its dtype).
        ad = a._data.dtype
        if isinstance(b, U.Tensor):
            if b._data.dtype is ad:
                ta, tb = a, b
        elif (type(b) is float or type(b) is int) and (ad.kind == "f" or ad.kind == "V"):
            if fn_cls is Mul and ad in U._LOW_PRECISION_NP:
                # PyTorch multiplies a float16/bfloat16 tensor by a float32 scalar (not
                # one rounded to the tensor's precision) and rounds the product once
                return _MulLowPrecision.apply(a, U.Tensor._make(np.asarray(b, np.float32)))
            ta, tb = a, _const(b, ad)
    elif dt is None and compute is None and (type(a) is float or type(a) is int):
        # the mirror case, a number first (2 * x, 1 - x); low precision takes the general
        # path, as it always has
        if isinstance(b, U.Tensor):
            bd = b._data.dtype
            if (bd.kind == "f" or bd.kind == "V") and bd not in U._LOW_PRECISION_NP:
                ta, tb = _const(a, bd), b
    if ta is None:
        if dt is None:
            dt = _promote(a, b)
        cdt = compute or dt
        ta, tb = _operand(a, cdt), _operand(b, cdt)
        # an operand made here from a scalar or a sequence is this op's own
        if not isinstance(a, U.Tensor):
            ta._version_counter = _fn._CONST_VERSION
        if not isinstance(b, U.Tensor):
            tb._version_counter = _fn._CONST_VERSION
    try:
        return fn_cls.apply(ta, tb, **attrs)
    except ValueError:
        err = _broadcast_error(ta, tb)
        if err is not None:
            raise err from None
        raise


# The operands made from Python numbers by the fast path of ``_binary``, by (number,
# NumPy dtype): a loop's ``y * 0.5`` makes its 0-d array and tensor once. Their arrays
# are read-only, so that nothing can change an operand another op shares.
_CONSTS: dict = {}
_CONSTS_LIMIT = 256


def _const(value, np_dtype):
    """``U.const_operand(np.asarray(value, np_dtype))``, shared between calls."""
    if not value:
        # 0.0 == -0.0 as keys, but x * -0.0 and x + -0.0 differ from x * 0.0 and x + 0.0
        return U.const_operand(np.asarray(value, dtype=np_dtype))
    key = (value, np_dtype)
    t = _CONSTS.get(key)
    if t is None:
        arr = np.asarray(value, dtype=np_dtype)
        arr.flags.writeable = False
        if len(_CONSTS) >= _CONSTS_LIMIT:  # a program of ever new numbers: start over
            _CONSTS.clear()
        t = _CONSTS[key] = U.const_operand(arr)
    return t


def _check_same_device(*ts):
    return ts


# ---------------------------------------------------------------------------
# arithmetic primitives


class Add(Function):
    # the class default: a node stores alpha only when it is not 1 (an attribute set on
    # a node makes its instance dict, one more object per op for the allocator and the GC)
    alpha = 1

    def forward(ctx, a, b, alpha=1):
        if alpha != 1:
            ctx.alpha = alpha
            if b.dtype in U._LOW_PRECISION_NP:  # PyTorch scales in float32, rounds once
                return (a + b * np.float32(alpha)).astype(b.dtype)
            return a + b * np.asarray(alpha, dtype=b.dtype)
        return a + b

    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        gb = None
        if nb:
            gb = g if ctx.alpha == 1 else g * ctx.alpha
        return g if na else None, gb


class Sub(Function):
    alpha = 1  # set on a node only when not 1, as in Add

    def forward(ctx, a, b, alpha=1):
        if alpha != 1:
            ctx.alpha = alpha
            if b.dtype in U._LOW_PRECISION_NP:
                return (a - b * np.float32(alpha)).astype(b.dtype)
            return a - b * np.asarray(alpha, dtype=b.dtype)
        return a - b

    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (g if na else None), (-g if ctx.alpha == 1 else -g * ctx.alpha) if nb else None


class Mul(Function):
    def forward(ctx, a, b):
        if ctx._recording:
            # each input's gradient needs only the other one (PyTorch saves the same):
            # x * 2 then x.add_(1) stays legal
            na, nb = ctx.needs_input_grad
            ctx._saved = (a if nb else None, b if na else None)  # save_for_backward's store
        return a * b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        return (g * U.cj(xp, b) if na else None), (g * U.cj(xp, a) if nb else None)


class _MulLowPrecision(Mul):
    """``Mul`` of a float16/bfloat16 tensor and a float32 scalar, rounded once."""

    backward_name = "MulBackward0"
    forward = U.float32_compute(Mul.forward)


class Div(Function):
    def forward(ctx, a, b):
        if ctx._recording:
            ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        if b.ndim == 0 and b.dtype.kind == "f":
            v = float(b)
            if v != 0.0 and v - v == 0.0:
                # a finite nonzero divisor raises no divide/invalid flag: skip errstate,
                # which costs more than the division of a small tensor
                return a / b
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        b = U.cj(xp, b)
        ga = g / b if na else None
        gb = -g * U.cj(xp, a) / (b * b) if nb else None
        return ga, gb


class _NoGradBinary(Function):
    def backward(ctx, g):
        xp = ctx.xp
        return tuple(xp.zeros_like(g) if n else None for n in ctx.needs_input_grad)


class DivRounded(_NoGradBinary):
    backward_name = "DivBackward1"

    def forward(ctx, a, b, mode="floor"):
        if a.dtype.kind in "iu":
            if np.any(b == 0):
                raise RuntimeError("ZeroDivisionError")
            q = np.floor_divide(a, b)
            if mode == "trunc":
                r = a - q * b
                q = q + ((r != 0) & ((a < 0) != (b < 0)))
            return q
        q = a / b
        return np.floor(q) if mode == "floor" else np.trunc(q)


class Remainder(Function):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if a.dtype.kind in "iu" and np.any(b == 0):
            raise RuntimeError("ZeroDivisionError")
        return np.mod(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g if na else None), (-g * ctx.xp.floor(a / b) if nb else None)


class Fmod(Function):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if a.dtype.kind in "iu" and np.any(b == 0):
            raise RuntimeError("ZeroDivisionError")
        return np.fmod(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g if na else None), (-g * ctx.xp.trunc(a / b) if nb else None)


class Pow(Function):
    def forward(ctx, a, b):
        if a.dtype.kind in "iu" and np.any(b < 0):
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.asarray(np.power(a, b))  # an array even for 0-dim inputs: saved as the output
        ctx.save_for_backward(a, b, y)
        return y

    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        ga = gb = None
        with xp.errstate(divide="ignore", invalid="ignore"):
            if na:
                # b * a**(b-1), with 0 where b == 0 (PyTorch's convention).
                ga = g * U.cj(xp, xp.where(b == 0, 0, b * xp.power(a, b - 1)))
            if nb:
                gb = g * U.cj(xp, xp.where((a == 0) & (b >= 0), 0, y * xp.log(a)))
        return ga, gb


Pow.backward_name = "PowBackward1"  # pow(Tensor, Tensor)


class PowScalarBase(Pow):
    backward_name = "PowBackward2"  # pow(Scalar, Tensor)


class PowScalar(Function):
    """x ** e for a Python number e (PyTorch's pow(Tensor, Scalar))."""

    backward_name = "PowBackward0"

    def forward(ctx, a, exponent=2.0):
        ctx.e = exponent
        ctx.save_for_backward(a)
        if exponent == 2:
            return a * a
        if exponent == 0.5:
            return np.sqrt(a)
        return np.power(a, np.asarray(exponent, dtype=a.dtype))

    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        e = ctx.e
        xp = ctx.xp
        if e == 0:
            return xp.zeros_like(g)
        if e == 2:
            return g * U.cj(xp, a + a)
        if e == 1:
            return g
        with xp.errstate(divide="ignore", invalid="ignore"):
            return g * U.cj(xp, e * xp.power(a, xp.asarray(e - 1, a.dtype)))


class Maximum(Function):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        half = xp.where(a == b, g / 2, g)
        return (xp.where(a < b, 0, half) if na else None), (
            xp.where(a > b, 0, half) if nb else None
        )


class Minimum(Function):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        half = xp.where(a == b, g / 2, g)
        return (xp.where(a > b, 0, half) if na else None), (
            xp.where(a < b, 0, half) if nb else None
        )


class Atan2(Function):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        d = a * a + b * b
        na, nb = ctx.needs_input_grad
        return (g * b / d if na else None), (-g * a / d if nb else None)


class Hypot(Function):
    def forward(ctx, a, b):
        y = np.asarray(np.hypot(a, b))  # saved as the output: an array even for 0-dim
        ctx.save_for_backward(a, b, y)
        return y

    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g * a / y if na else None), (g * b / y if nb else None)


class LogAddExp(Function):
    def forward(ctx, a, b):
        y = np.asarray(np.logaddexp(a, b))  # saved as the output: an array even for 0-dim
        ctx.save_for_backward(a, b, y)
        return y

    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        return (g * xp.exp(a - y) if na else None), (g * xp.exp(b - y) if nb else None)


class Lerp(Function):
    def forward(ctx, a, b, w):
        if ctx._recording:
            nw = ctx.needs_input_grad[2]
            ctx.save_for_backward(a if nw else None, b if nw else None, w)
        # PyTorch's formula: from the nearer end, with fused multiply-adds on the CPU
        d = b - a
        if a.dtype == np.float32:
            d64, w64 = d.astype(np.float64), w.astype(np.float64)
            small = a.astype(np.float64) + w64 * d64
            large = b.astype(np.float64) - d64 * (1 - w).astype(np.float64)
            return np.where(np.abs(w) < 0.5, small, large).astype(np.float32)
        return np.where(np.abs(w) < 0.5, a + w * d, b - d * (1 - w))

    def backward(ctx, g):
        a, b, w = ctx.saved_tensors
        na, nb, nw = ctx.needs_input_grad
        return (
            g * (1 - w) if na else None,
            g * w if nb else None,
            g * (b - a) if nw else None,
        )


class Where(Function):
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        _, na, nb = ctx.needs_input_grad
        xp = ctx.xp
        zero = xp.zeros((), g.dtype)
        return (
            None,
            (xp.where(cond, g, zero) if na else None),
            (xp.where(cond, zero, g) if nb else None),
        )


def _clamp_inside(x, lo, hi):
    """Where clamp passes x through: PyTorch's clamp_backward mask (False for NaN)."""
    if lo is None:
        return x <= hi
    if hi is None:
        return x >= lo
    return (x >= lo) & (x <= hi)


class Clamp(Function):
    backward_name = "ClampBackward1"  # PyTorch's clamp(Tensor, Scalar?, Scalar?)

    def forward(ctx, x, lo=None, hi=None):
        y = x
        if lo is not None:
            y = np.maximum(y, np.asarray(lo, dtype=x.dtype))
        if hi is not None:
            y = np.minimum(y, np.asarray(hi, dtype=x.dtype))
        if y is x:
            y = x.copy()
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(x)
        return y

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        return xp.where(_clamp_inside(x, ctx.lo, ctx.hi), g, xp.zeros((), g.dtype))


class ClampTensor(Function):
    backward_name = "ClampBackward0"

    def forward(ctx, x, lo, hi):
        y = x
        if lo is not None:
            y = np.maximum(y, lo)
        if hi is not None:
            y = np.minimum(y, hi)
        ctx.save_for_backward(x, lo, hi)
        return y if y is not x else x.copy()

    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        nx, nlo, nhi = ctx.needs_input_grad
        xp = ctx.xp
        zero = xp.zeros((), g.dtype)
        gx = glo = ghi = None
        # PyTorch's clamp_backward and clamp_backward_min_max: with lo > hi the output is
        # hi everywhere, so only hi gets a gradient
        if nx:
            gx = xp.where(_clamp_inside(x, lo, hi), g, zero)
        if nlo:
            below = x < lo
            glo = xp.where(below if hi is None else below & (lo < hi), g, zero)
        if nhi:
            above = x > hi
            ghi = xp.where(above if lo is None else above | (hi < lo), g, zero)
        return gx, glo, ghi


# ---------------------------------------------------------------------------
# unary primitives


def _unary(name, fwd, bwd, uses="x", pyname=None):
    """Make a unary Function class from a forward and a backward formula.

    ``bwd(xp, g, x, y)`` gets the array namespace, the upstream gradient, the input and
    the output; only the one named by ``uses`` ('x', 'y' or 'xy') is kept for backward.
    """

    def forward(ctx, x):
        y = fwd(x)
        if uses == "x":
            if ctx._recording:  # save_for_backward's own test, without its call
                ctx._saved = (x,)
        elif uses:
            # a ufunc on a 0-dim array gives a scalar; the saved output must be the very
            # array the output tensor holds (create_graph connects it to this node)
            if type(y) is not np.ndarray:
                y = np.asarray(y)
            if ctx._recording:
                ctx._saved = (y,) if uses == "y" else (x, y)
        return y

    def backward(ctx, g):
        xp = ctx.xp
        # U.is_complex's NumPy case inlined: this runs once per unary node in backward
        if g.dtype.kind == "c" if type(g) is np.ndarray else U.is_complex(xp, g):
            # a complex result: the formulas are holomorphic derivatives f'(z), and
            # PyTorch's gradient is g * conj(f'(z)) = conj(conj(g) * f'(z))
            return xp.conj(_backward(ctx, xp.conj(g)))
        # _backward's one-saved-array cases inlined (one call less per node)
        if uses == "y":
            return bwd(xp, g, None, ctx.saved_tensors[0])
        if uses == "x":
            return bwd(xp, g, ctx.saved_tensors[0], None)
        return _backward(ctx, g)

    def _backward(ctx, g):
        saved = ctx.saved_tensors if uses else ()
        xp = ctx.xp
        if uses == "x":
            return bwd(xp, g, saved[0], None)
        if uses == "y":
            return bwd(xp, g, None, saved[0])
        if uses == "xy":
            return bwd(xp, g, saved[0], saved[1])
        return bwd(xp, g, None, None)

    return type(name, (Function,), {"forward": forward, "backward": backward, "__doc__": pyname})


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """In place: a <- 1 / (1 + exp(-a)), as PyTorch's CPU kernel computes it. Below about
    -88 (float32) exp(-a) is inf and the result exactly 0, its limit: no branch per
    element (the fused recurrences run it on their gate arrays)."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1
    np.reciprocal(a, out=a)
    return a


def _sigmoid(x):
    """1 / (1 + exp(-x)) of a float array, in a new array (``_sigmoid_``)."""
    return _sigmoid_(np.array(x, copy=True))


_SQRT_PI = math.sqrt(math.pi)
_erf_vec = np.vectorize(math.erf, otypes=[np.float64])
_erfc_vec = np.vectorize(math.erfc, otypes=[np.float64])


def _erf(x):
    return _erf_vec(x).astype(x.dtype, copy=False) if x.size else x.copy()


def _erfc(x):
    return _erfc_vec(x).astype(x.dtype, copy=False) if x.size else x.copy()


def _erfinv(y):
    # Newton iterations on erf from a good starting point (Giles' approximation).
    y64 = y.astype(np.float64)
    w = -np.log(np.clip((1.0 - y64) * (1.0 + y64), 1e-300, None))
    x = (
        np.where(
            w < 5.0,
            _poly(
                w - 2.5,
                [
                    2.81022636e-08,
                    3.43273939e-07,
                    -3.5233877e-06,
                    -4.39150654e-06,
                    0.00021858087,
                    -0.00125372503,
                    -0.00417768164,
                    0.246640727,
                    1.50140941,
                ],
            ),
            _poly(
                np.sqrt(w) - 3.0,
                [
                    -0.000200214257,
                    0.000100950558,
                    0.00134934322,
                    -0.00367342844,
                    0.00573950773,
                    -0.0076224613,
                    0.00943887047,
                    1.00167406,
                    2.83297682,
                ],
            ),
        )
        * y64
    )
    for _ in range(3):
        err = _erf_vec(x) - y64 if x.size else x
        x = x - err / (2 / _SQRT_PI * np.exp(-x * x))
    x = np.where(np.abs(y64) == 1, np.sign(y64) * np.inf, x)
    x = np.where(np.abs(y64) > 1, np.nan, x)
    return x.astype(y.dtype, copy=False)


def _poly(t, coeffs):
    r = np.zeros_like(t) + coeffs[0]
    for c in coeffs[1:]:
        r = r * t + c
    return r


def _zero_grad(xp, g, x, y):
    return xp.zeros_like(g)


def _quiet(f):
    """``f`` without NumPy's warnings outside its domain: PyTorch returns nan/inf silently."""

    def g(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return f(x)

    return g


Neg = _unary("Neg", np.negative, lambda xp, g, x, y: -g, uses=None)


def _abs_grad(xp, g, x, y):
    if xp.iscomplexobj(x):
        # sgn(z) = z / |z| spelled out, so that it is differentiable again
        m = xp.abs(x)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return g * xp.where(m == 0, xp.zeros((), x.dtype), x / m)
    return g * xp.sign(x)


Abs = _unary("Abs", np.abs, _abs_grad)
Sign = _unary("Sign", np.sign, _zero_grad, uses=None)
Exp = _unary("Exp", np.exp, lambda xp, g, x, y: g * y, uses="y")
Exp2 = _unary(
    "Exp2", np.exp2, lambda xp, g, x, y: g * y * xp.asarray(math.log(2), y.dtype), uses="y"
)
Expm1 = _unary("Expm1", np.expm1, lambda xp, g, x, y: g * (y + 1), uses="y")
Log = _unary("Log", _quiet(np.log), lambda xp, g, x, y: g / x)
Log2 = _unary(
    "Log2", _quiet(np.log2), lambda xp, g, x, y: g / (x * xp.asarray(math.log(2), x.dtype))
)
Log10 = _unary(
    "Log10", _quiet(np.log10), lambda xp, g, x, y: g / (x * xp.asarray(math.log(10), x.dtype))
)
Log1p = _unary("Log1p", _quiet(np.log1p), lambda xp, g, x, y: g / (x + 1))
Sqrt = _unary("Sqrt", _quiet(np.sqrt), lambda xp, g, x, y: g / (2 * y), uses="y")
Rsqrt = _unary(
    "Rsqrt",
    U.in_float32(_quiet(lambda x: 1 / np.sqrt(x))),
    lambda xp, g, x, y: -0.5 * g * y * y * y,
    uses="y",
)
Square = _unary("Square", np.square, lambda xp, g, x, y: 2 * g * x)
Square.backward_name = "PowBackward0"  # PyTorch computes square as pow(x, 2)
Reciprocal = _unary("Reciprocal", _quiet(np.reciprocal), lambda xp, g, x, y: -g * y * y, uses="y")
Sin = _unary("Sin", np.sin, lambda xp, g, x, y: g * xp.cos(x))
Cos = _unary("Cos", np.cos, lambda xp, g, x, y: -g * xp.sin(x))
Tan = _unary("Tan", np.tan, lambda xp, g, x, y: g * (1 + y * y), uses="y")
Asin = _unary("Asin", _quiet(np.arcsin), lambda xp, g, x, y: g / xp.sqrt(1 - x * x))
Acos = _unary("Acos", _quiet(np.arccos), lambda xp, g, x, y: -g / xp.sqrt(1 - x * x))
Atan = _unary("Atan", np.arctan, lambda xp, g, x, y: g / (1 + x * x))
Sinh = _unary("Sinh", np.sinh, lambda xp, g, x, y: g * xp.cosh(x))
Cosh = _unary("Cosh", np.cosh, lambda xp, g, x, y: g * xp.sinh(x))
Tanh = _unary("Tanh", np.tanh, lambda xp, g, x, y: g * (1 - y * y), uses="y")
Asinh = _unary("Asinh", np.arcsinh, lambda xp, g, x, y: g / xp.sqrt(x * x + 1))
Acosh = _unary("Acosh", _quiet(np.arccosh), lambda xp, g, x, y: g / xp.sqrt(x * x - 1))
Atanh = _unary("Atanh", _quiet(np.arctanh), lambda xp, g, x, y: g / (1 - x * x))
Sigmoid = _unary("Sigmoid", U.in_float32(_sigmoid), lambda xp, g, x, y: g * y * (1 - y), uses="y")
Relu = _unary(
    "Relu",
    lambda x: np.maximum(x, np.zeros((), x.dtype)),
    lambda xp, g, x, y: g * (y > 0),
    uses="y",
)
Erf = _unary("Erf", _erf, lambda xp, g, x, y: g * (2 / _SQRT_PI) * xp.exp(-x * x))
Erfc = _unary("Erfc", _erfc, lambda xp, g, x, y: -g * (2 / _SQRT_PI) * xp.exp(-x * x))
Erfinv = _unary("Erfinv", _erfinv, lambda xp, g, x, y: g * (_SQRT_PI / 2) * xp.exp(y * y), uses="y")
Floor = _unary("Floor", np.floor, _zero_grad, uses=None)
Ceil = _unary("Ceil", np.ceil, _zero_grad, uses=None)
Trunc = _unary("Trunc", np.trunc, _zero_grad, uses=None)
Frac = _unary("Frac", lambda x: x - np.trunc(x), lambda xp, g, x, y: g, uses=None)
Round = _unary("Round", np.round, _zero_grad, uses=None)


class RoundDecimals(Function):
    backward_name = "RoundBackward1"

    def forward(ctx, x, decimals=0):
        return np.round(x, decimals)

    def backward(ctx, g):
        return ctx.xp.zeros_like(g)


# ---------------------------------------------------------------------------
# public functions

_FLOAT_UNARY = {
    "exp": Exp,
    "exp2": Exp2,
    "expm1": Expm1,
    "log": Log,
    "log2": Log2,
    "log10": Log10,
    "log1p": Log1p,
    "sqrt": Sqrt,
    "rsqrt": Rsqrt,
    "sin": Sin,
    "cos": Cos,
    "tan": Tan,
    "asin": Asin,
    "acos": Acos,
    "atan": Atan,
    "sinh": Sinh,
    "cosh": Cosh,
    "tanh": Tanh,
    "asinh": Asinh,
    "acosh": Acosh,
    "atanh": Atanh,
    "sigmoid": Sigmoid,
    "erf": Erf,
    "erfc": Erfc,
    "erfinv": Erfinv,
    "reciprocal": Reciprocal,
}
# ops that keep integer dtypes
_SAME_UNARY = {
    "neg": Neg,
    "abs": Abs,
    "sign": Sign,
    "square": Square,
    "relu": Relu,
    "floor": Floor,
    "ceil": Ceil,
    "trunc": Trunc,
    "frac": Frac,
}


def _make_float_unary(name, cls):
    def fn(input, *, out=None):
        kind = input._data.dtype.kind  # "V": ml_dtypes' bfloat16, a floating dtype
        x = input if kind == "f" or kind == "V" else input.to(U.float_dtype_of(input))
        res = cls.apply(x)
        return res if out is None else _to_out(res, out)

    fn.__name__ = name
    fn.__doc__ = (
        f"Elementwise {name} (``torch.{name}``); integer inputs give the default float dtype."
        "\n\nArgs:\n    input: the input tensor.\n"
        "    out: optional tensor that receives the result.\n"
    )
    return fn


def _make_same_unary(name, cls):
    def fn(input, *, out=None):
        if input.dtype is D.bool_ and name in ("neg",):
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        if input.dtype.category < 2 and name in ("floor", "ceil", "trunc", "round"):
            return _to_out(input.clone(), out)
        if name == "frac" and not input.dtype.is_floating_point:
            raise NotImplementedError(
                f"\"frac_cpu\" not implemented for '{_long_name(input.dtype)}'"
            )
        return _to_out(cls.apply(input), out)

    fn.__name__ = name
    fn.__doc__ = (
        f"Elementwise {name} (``torch.{name}``)."
        "\n\nArgs:\n    input: the input tensor.\n"
        "    out: optional tensor that receives the result.\n"
    )
    return fn


def _long_name(dt):
    return {
        "int64": "Long",
        "int32": "Int",
        "int16": "Short",
        "int8": "Char",
        "uint8": "Byte",
        "bool": "Bool",
        "float32": "Float",
        "float64": "Double",
        "float16": "Half",
    }[dt.name]


def _to_out(res, out):
    if out is None:
        return res
    from .shape import copy_into_out

    return copy_into_out(out, res)


for _n, _c in _FLOAT_UNARY.items():
    globals()[_n] = _make_float_unary(_n, _c)
for _n, _c in _SAME_UNARY.items():
    globals()[_n] = _make_same_unary(_n, _c)

negative = globals()["neg"]
absolute = globals()["abs"]
arcsin, arccos, arctan = globals()["asin"], globals()["acos"], globals()["atan"]
arcsinh, arccosh, arctanh = globals()["asinh"], globals()["acosh"], globals()["atanh"]
fix = globals()["trunc"]


def round(input, *, decimals: int = 0, out=None):  # noqa: A001
    """Round half to even (``torch.round``), optionally to ``decimals`` places.

    Args:
        input: the input tensor.
        decimals: number of decimal places to round to; negative values round to the left of the
            decimal point.
        out: optional tensor that receives the result.
    """
    if input.dtype.category < 2:
        return _to_out(input.clone(), out)
    if decimals:
        return _to_out(RoundDecimals.apply(input, decimals=decimals), out)
    return _to_out(Round.apply(input), out)


def positive(input):
    """Return ``input`` unchanged (``torch.positive``).

    Args:
        input: the input tensor.
    """
    return input


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, broadcasting (``torch.add``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
        alpha: multiplier applied to ``other`` before adding.
        out: optional tensor that receives the result.
    """
    if alpha != 1:
        dt = _promote(input, other)
        if isinstance(alpha, float) and not dt.is_floating_point:
            raise RuntimeError(
                "For integral input tensors, argument alpha must not be a floating point number."
            )
        return _to_out(_binary(Add, input, other, dt=dt, alpha=alpha), out)
    return _to_out(_binary(Add, input, other), out)


class Rsub(Sub):
    """``scalar - tensor``: PyTorch's ``rsub`` node."""

    backward_name = "RsubBackward1"


def rsub(input, other, *, alpha=1):
    """other - alpha * input (``torch.rsub``); ``2 - x`` calls it.

    Args:
        input: the tensor (or number) that is subtracted.
        other: the tensor or number subtracted from.
        alpha: multiplier applied to ``input`` before subtracting.
    """
    _check_bool_sub(input, other)
    return _binary(Rsub if not U.is_tensor(other) else Sub, other, input, alpha=alpha)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other (``torch.sub``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
        alpha: multiplier applied to ``other`` before subtracting.
        out: optional tensor that receives the result.
    """
    _check_bool_sub(input, other)
    return _to_out(_binary(Sub, input, other, alpha=alpha), out)


def _check_bool_sub(a, b) -> None:
    """PyTorch refuses subtraction with a bool tensor on either side."""
    ba = isinstance(a, U.Tensor) and a._data.dtype.kind == "b"
    bb = isinstance(b, U.Tensor) and b._data.dtype.kind == "b"
    if ba and bb:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
            "`^` or `logical_xor()` operator instead."
        )
    if ba or bb:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


subtract = sub


def mul(input, other, *, out=None):
    """input * other, broadcasting (``torch.mul``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
        out: optional tensor that receives the result.
    """
    return _to_out(_binary(Mul, input, other), out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """input / other (``torch.div``): true division, or 'floor'/'trunc' rounding.

    Args:
        input: the dividend.
        other: the divisor: a tensor or a Python number.
        rounding_mode: ``None`` for true division, ``'trunc'`` to round toward zero, ``'floor'`` to
            round down.
        out: optional tensor that receives the result.
    """
    if rounding_mode is None and out is None and isinstance(input, U.Tensor):
        # a floating tensor by a Python number or a tensor of its dtype: no promotion
        kind = input._data.dtype.kind
        if kind == "f" or kind == "V":
            if type(other) is float or type(other) is int:
                return _binary(Div, input, other)
            if isinstance(other, U.Tensor) and other._data.dtype is input._data.dtype:
                return _binary(Div, input, other)
    dt = _promote(input, other)
    if rounding_mode is None:
        fdt = dt if dt.is_floating_point or dt.is_complex else D.get_default_dtype()
        return _to_out(_binary(Div, input, other, dt=fdt), out)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    return _to_out(_binary(DivRounded, input, other, dt=dt, mode=rounding_mode), out)


divide = true_divide = div


def floor_divide(input, other, *, out=None):
    """Floor division (``torch.floor_divide``, the ``//`` operator).

    Args:
        input: the dividend.
        other: the divisor.
        out: optional tensor that receives the result.
    """
    return div(input, other, rounding_mode="floor", out=out)


def remainder(input, other, *, out=None):
    """Python-style modulus, sign of the divisor (``torch.remainder``, ``%``).

    Args:
        input: the dividend.
        other: the divisor.
        out: optional tensor that receives the result.
    """
    return _to_out(_binary(Remainder, input, other), out)


def fmod(input, other, *, out=None):
    """C-style modulus, sign of the dividend (``torch.fmod``).

    Args:
        input: the dividend.
        other: the divisor.
        out: optional tensor that receives the result.
    """
    return _to_out(_binary(Fmod, input, other), out)


def pow(input, exponent, *, out=None):  # noqa: A001
    """input ** exponent (``torch.pow``); either side may be a Python number.

    Args:
        input: the base: a tensor or a Python number.
        exponent: the exponent: a tensor or a Python number.
        out: optional tensor that receives the result.
    """
    if (
        U.is_tensor(input)
        and isinstance(exponent, numbers.Number)
        and not isinstance(exponent, bool)
    ):
        dt = _promote(input, exponent)
        if not dt.is_floating_point and isinstance(exponent, numbers.Integral) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        x = input if input.dtype is dt else input.to(dt)
        return _to_out(PowScalar.apply(x, exponent=exponent), out)
    cls = Pow if U.is_tensor(input) else PowScalarBase
    return _to_out(_binary(cls, input, exponent), out)


def float_power(input, exponent, *, out=None):
    """pow computed in float64 (``torch.float_power``).

    Args:
        input: the base: a tensor or a Python number.
        exponent: the exponent: a tensor or a Python number.
        out: optional tensor that receives the result.
    """
    return pow(
        _operand(input, D.float64),
        exponent if not U.is_tensor(exponent) else exponent.double(),
        out=out,
    )


def maximum(input, other, *, out=None):
    """Elementwise maximum, NaN-propagating (``torch.maximum``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
        out: optional tensor that receives the result.
    """
    if not U.is_tensor(other):
        raise TypeError("maximum(): argument 'other' must be Tensor, not " + type(other).__name__)
    return _to_out(_binary(Maximum, input, other), out)


def minimum(input, other, *, out=None):
    """Elementwise minimum, NaN-propagating (``torch.minimum``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
        out: optional tensor that receives the result.
    """
    if not U.is_tensor(other):
        raise TypeError("minimum(): argument 'other' must be Tensor, not " + type(other).__name__)
    return _to_out(_binary(Minimum, input, other), out)


class Fmax(Function):
    """max ignoring NaN; ties and NaNs send the gradient where PyTorch sends it."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.fmax(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        to_a = (a >= b) | xp.isnan(b)
        zero = xp.zeros((), g.dtype)
        return (xp.where(to_a, g, zero) if na else None), (xp.where(to_a, zero, g) if nb else None)


class Fmin(Function):
    """min ignoring NaN."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.fmin(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        to_a = (a <= b) | xp.isnan(b)
        zero = xp.zeros((), g.dtype)
        return (xp.where(to_a, g, zero) if na else None), (xp.where(to_a, zero, g) if nb else None)


def fmax(input, other, *, out=None):
    """Elementwise maximum that ignores NaN (``torch.fmax``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
        out: optional tensor that receives the result.
    """
    return _to_out(_binary(Fmax, input, other), out)


def fmin(input, other, *, out=None):
    """Elementwise minimum that ignores NaN (``torch.fmin``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
        out: optional tensor that receives the result.
    """
    return _to_out(_binary(Fmin, input, other), out)


def atan2(input, other, *, out=None):
    """Elementwise atan2(input, other) (``torch.atan2``).

    Args:
        input: the y coordinates.
        other: the x coordinates.
        out: optional tensor that receives the result.
    """
    dt = _promote(input, other)
    dt = dt if dt.is_floating_point else D.get_default_dtype()
    return _to_out(_binary(Atan2, input, other, dt=dt), out)


arctan2 = atan2


def hypot(input, other, *, out=None):
    """sqrt(input**2 + other**2) (``torch.hypot``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
        out: optional tensor that receives the result.
    """
    return _to_out(_binary(Hypot, input, other), out)


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 * tensor2 (``torch.addcmul``).

    Args:
        input: the tensor to add to.
        tensor1: the first factor.
        tensor2: the second factor.
        value: multiplier for ``tensor1 * tensor2``.
        out: optional tensor that receives the result.
    """
    prod = mul(tensor1, tensor2)
    return _to_out(add(input, prod if value == 1 else mul(prod, value)), out)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 / tensor2 (``torch.addcdiv``).

    Args:
        input: the tensor to add to.
        tensor1: the numerator.
        tensor2: the denominator.
        value: multiplier for ``tensor1 / tensor2``.
        out: optional tensor that receives the result.
    """
    if not (tensor1.dtype.is_floating_point or tensor2.dtype.is_floating_point):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2."
        )
    q = div(tensor1, tensor2)
    return _to_out(add(input, q if value == 1 else mul(q, value)), out)


class Xlogy(Function):
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((x == 0) & ~np.isnan(y), np.zeros((), x.dtype), x * np.log(y))

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        xp = ctx.xp
        with xp.errstate(divide="ignore", invalid="ignore"):
            gx = g * xp.where(x != 0, xp.log(y), xp.zeros((), y.dtype)) if nx else None
            gy = g * x / y if ny else None
        return gx, gy


def xlogy(input, other, *, out=None):
    """input * log(other), 0 where input is 0 (``torch.xlogy``).

    Args:
        input: the multiplier ``x``: a tensor or a Python number.
        other: the argument ``y`` of the logarithm.
        out: optional tensor that receives the result.
    """
    dt = _promote(input, other)
    if not dt.is_floating_point:
        dt = D.get_default_dtype()
    return _to_out(_binary(Xlogy, input, other, dt=dt), out)


def sgn(input, *, out=None):
    """The sign (``torch.sgn``): ``z / |z|`` for complex tensors, ``sign`` for real ones.

    Args:
        input: the input tensor.
        out: optional tensor that receives the result.
    """
    if input.dtype.is_complex:
        from .complex import Sgn

        return _to_out(Sgn.apply(input), out)
    return _to_out(input.sign(), out)


def deg2rad(input, *, out=None):
    """Degrees to radians (``torch.deg2rad``).

    Args:
        input: angles in degrees.
        out: optional tensor that receives the result.
    """
    x = input if input.dtype.is_floating_point else input.to(D.get_default_dtype())
    return _to_out(mul(x, math.pi / 180), out)


def rad2deg(input, *, out=None):
    """Radians to degrees (``torch.rad2deg``).

    Args:
        input: angles in radians.
        out: optional tensor that receives the result.
    """
    x = input if input.dtype.is_floating_point else input.to(D.get_default_dtype())
    return _to_out(mul(x, 180 / math.pi), out)


class Copysign(Function):
    def forward(ctx, x, y):
        out = np.asarray(np.copysign(x, y))
        ctx.save_for_backward(x, out)
        return out

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        xp = ctx.xp
        # d/dx is sign(x) * sign(out), 0 at x == 0; the sign source gets a zero gradient
        gx = None
        if nx:
            gx = g * xp.where(x == 0, xp.zeros((), x.dtype), xp.sign(x) * xp.sign(out))
        return gx, (xp.zeros_like(g) if ny else None)


def copysign(input, other, *, out=None):
    """|input| with the sign of other (``torch.copysign``).

    Args:
        input: the magnitudes.
        other: the tensor or number whose signs are used.
        out: optional tensor that receives the result.
    """
    dt = _promote(input, other)
    if not dt.is_floating_point:
        dt = D.get_default_dtype()
    return _to_out(_binary(Copysign, input, other, dt=dt), out)


def logaddexp(input, other, *, out=None):
    """log(exp(input) + exp(other)), computed stably (``torch.logaddexp``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
        out: optional tensor that receives the result.
    """
    return _to_out(_binary(LogAddExp, input, other), out)


class LerpTensor(Lerp):
    backward_name = "LerpBackward1"  # lerp(Tensor, Tensor, Tensor)


def lerp(input, end, weight, *, out=None):
    """input + weight * (end - input) (``torch.lerp``).

    Args:
        input: the start points.
        end: the end points.
        weight: interpolation weight: a number or a tensor broadcast against ``input``.
        out: optional tensor that receives the result.
    """
    dt = input.dtype
    w = _operand(weight, dt)
    try:
        cls = LerpTensor if U.is_tensor(weight) else Lerp
        return _to_out(cls.apply(input, _operand(end, dt), w), out)
    except ValueError:
        raise _broadcast_error(input, end) or RuntimeError(
            "lerp: shapes do not broadcast"
        ) from None


def where(condition, input=None, other=None, *, out=None):
    """Pick from input where condition else other (``torch.where``).

    With only a condition it returns ``condition.nonzero(as_tuple=True)``.

    Args:
        condition: bool tensor choosing ``input`` (True) or ``other`` (False).
        input: values used where ``condition`` is True; a tensor or a number.
        other: values used where ``condition`` is False; a tensor or a number.
        out: optional tensor that receives the result.
    """
    if input is None and other is None:
        from .index import nonzero

        return nonzero(condition, as_tuple=True)
    cond = U.as_tensor_arg(condition)
    if cond.dtype is not D.bool_:
        if cond.dtype is D.uint8:
            cond = cond.to(D.bool_)
        else:
            raise RuntimeError(
                "where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{_long_name(cond.dtype)}"
            )
    dt = _promote(input, other)
    a, b = _operand(input, dt), _operand(other, dt)
    try:
        return _to_out(Where.apply(cond, a, b), out)
    except ValueError:
        raise (
            _broadcast_error(cond, a) or _broadcast_error(a, b) or _broadcast_error(cond, b)
        ) from None


def clamp(input, min=None, max=None, *, out=None):  # noqa: A002
    """Limit values to [min, max] (``torch.clamp`` / ``clip``); bounds may be tensors.

    Args:
        input: the input tensor.
        min: lower bound (number or tensor), or ``None`` for no lower bound.
        max: upper bound (number or tensor), or ``None`` for no upper bound.
        out: optional tensor that receives the result.
    """
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if U.is_tensor(min) or U.is_tensor(max):
        dt = D.result_type(*[v for v in (input, min, max) if v is not None])
        x = _operand(input, dt)
        lo = None if min is None else _operand(min, dt)
        hi = None if max is None else _operand(max, dt)
        try:
            return _to_out(ClampTensor.apply(x, lo, hi), out)
        except ValueError:
            bad = lo if lo is not None and _broadcast_error(x, lo) else hi
            raise _broadcast_error(x, bad) or _broadcast_error(lo, hi) from None
    dt = D.result_type(*[v for v in (input, min, max) if v is not None])
    x = input if input.dtype is dt else input.to(dt)
    if dt.np.kind in "iu":
        for v in (min, max):
            if v is not None:
                U.scalar_to_tensor(v, dt)  # PyTorch's overflow error for out-of-range bounds
    return _to_out(Clamp.apply(x, lo=min, hi=max), out)


clip = clamp


def clamp_min(input, min):  # noqa: A002
    """Limit values from below (``torch.clamp_min``).

    Args:
        input: the input tensor.
        min: lower bound, a number or a tensor.
    """
    return clamp(input, min=min)


def clamp_max(input, max):  # noqa: A002
    """Limit values from above (``torch.clamp_max``).

    Args:
        input: the input tensor.
        max: upper bound, a number or a tensor.
    """
    return clamp(input, max=max)


# ---------------------------------------------------------------------------
# comparisons and logic: no gradient, bool results


class Logic(Function):
    """A comparison, logical or bitwise ufunc (of one tensor when ``b`` is None): no
    gradient. A primitive (not raw NumPy in the public function) so that ``vmap``
    batches it."""

    non_differentiable = (0,)

    def forward(ctx, a, b, ufunc=None):
        return np.asarray(ufunc(a) if b is None else ufunc(a, b))


def _compare(ufunc, name):
    def fn(input, other, *, out=None):
        dt = _promote(input, other)
        a, b = _operand(input, dt), _operand(other, dt)
        try:
            res = Logic.apply(a, b, ufunc=ufunc)
        except ValueError:
            raise _broadcast_error(a, b) from None
        return _to_out(res, out)

    fn.__name__ = name
    fn.__doc__ = (
        f"Elementwise ``{name}`` comparison giving a bool tensor (``torch.{name}``)."
        "\n\nArgs:\n    input: the left-hand tensor.\n"
        "    other: the right-hand side: a tensor or a Python number, broadcast against"
        " ``input``.\n"
        "    out: optional tensor that receives the result.\n"
    )
    return fn


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _logical(ufunc, name):
    def fn(input, other, *, out=None):
        a, b = U.as_tensor_arg(input), U.as_tensor_arg(other)
        return _to_out(Logic.apply(a, b, ufunc=ufunc), out)

    fn.__name__ = name
    fn.__doc__ = (
        f"Elementwise logical ``{name[8:]}``, giving a bool tensor (``torch.{name}``); "
        "nonzero counts as True."
        "\n\nArgs:\n    input: the first tensor.\n"
        "    other: the second tensor or number, broadcast against ``input``.\n"
        "    out: optional tensor that receives the result.\n"
    )
    return fn


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(input, *, out=None):
    """Elementwise not, giving bool (``torch.logical_not``).

    Args:
        input: the input tensor.
        out: optional tensor that receives the result.
    """
    return _to_out(Logic.apply(input, None, ufunc=np.logical_not), out)


def _bitwise(ufunc, name):
    def fn(input, other, *, out=None):
        dt = _promote(input, other)
        if dt.is_floating_point:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_long_name(dt)}'")
        a, b = _operand(input, dt), _operand(other, dt)
        return _to_out(Logic.apply(a, b, ufunc=ufunc), out)

    fn.__name__ = name
    fn.__doc__ = (
        f"Elementwise ``{name}`` of integer or bool tensors (``torch.{name}``)."
        "\n\nArgs:\n    input: the first integer or bool tensor.\n"
        "    other: the second tensor or number, broadcast against ``input``.\n"
        "    out: optional tensor that receives the result.\n"
    )
    return fn


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift")
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift")


def bitwise_not(input, *, out=None):
    """Bitwise not; logical not for bool (``torch.bitwise_not``, ``~``).

    Args:
        input: an integer or bool tensor.
        out: optional tensor that receives the result.
    """
    if input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"bitwise_not_cpu\" not implemented for '{_long_name(input.dtype)}'"
        )
    return _to_out(U.Tensor._make(np.asarray(np.invert(input._data))), out)


def isnan(input):
    """Elementwise NaN test (``torch.isnan``).

    Args:
        input: the input tensor.
    """
    return U.Tensor._make(np.asarray(np.isnan(input._data)))


def isinf(input):
    """Elementwise infinity test (``torch.isinf``).

    Args:
        input: the input tensor.
    """
    return U.Tensor._make(np.asarray(np.isinf(input._data)))


def isposinf(input):
    """Elementwise test for positive infinity (``torch.isposinf``).

    Args:
        input: the input tensor.
    """
    return U.Tensor._make(np.asarray(np.isposinf(input._data)))


def isneginf(input):
    """Elementwise test for negative infinity (``torch.isneginf``).

    Args:
        input: the input tensor.
    """
    return U.Tensor._make(np.asarray(np.isneginf(input._data)))


def isfinite(input):
    """Elementwise finiteness test (``torch.isfinite``).

    Args:
        input: the input tensor.
    """
    return U.Tensor._make(np.asarray(np.isfinite(input._data)))


def isreal(input):
    """Elementwise test for a zero imaginary part (``torch.isreal``); always True for a real
    tensor.

    Args:
        input: the input tensor.
    """
    if np.iscomplexobj(input._data):
        return U.Tensor._make(np.asarray(input._data.imag == 0))
    return U.Tensor._make(np.ones(input.shape, dtype=bool))


def signbit(input):
    """Elementwise test of the sign bit, True for -0.0 (``torch.signbit``).

    Args:
        input: the input tensor.
    """
    return U.Tensor._make(np.asarray(np.signbit(input._data)))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise closeness (``torch.isclose``).

    Args:
        input: the input tensor.
        other: the tensor to compare with.
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: whether two NaNs count as close.

    Returns:
        a bool tensor, True where ``|input - other| <= atol + rtol * |other|``.
    """
    dt = _promote(input, other)
    a, b = _operand(input, dt)._data, _operand(other, dt)._data
    return U.Tensor._make(np.asarray(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether all elements are close (``torch.allclose``).

    Args:
        input: the input tensor.
        other: the tensor to compare with.
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: whether two NaNs count as close.

    Returns:
        a Python bool.
    """
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other) -> bool:
    """Same shape and elements (``torch.equal``).

    Args:
        input: the first tensor.
        other: the second tensor.

    Returns:
        a Python bool, True when shapes and all elements match.
    """
    return input.shape == other.shape and bool(np.array_equal(input._data, other._data))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """Replace NaN and infinities (``torch.nan_to_num``).

    Args:
        input: the input tensor.
        nan: the value that replaces NaN.
        posinf: the value that replaces +inf; ``None`` means the dtype's largest finite value.
        neginf: the value that replaces -inf; ``None`` means the dtype's lowest finite value.
        out: optional tensor that receives the result.
    """
    from .index import _masked_replace

    x = input._data
    if not input.dtype.is_floating_point:
        return _to_out(input.clone(), out)
    finfo = np.finfo(x.dtype)
    posinf = finfo.max if posinf is None else posinf
    neginf = finfo.min if neginf is None else neginf
    mask_val = np.where(np.isnan(x), nan, np.where(x == np.inf, posinf, neginf)).astype(x.dtype)
    return _to_out(_masked_replace(input, ~np.isfinite(x), mask_val), out)


def logit(input, eps=None):
    """log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given (``torch.logit``).

    Args:
        input: probabilities.
        eps: clamp bound for ``input``, or ``None`` for no clamping.
    """
    x = input if input.dtype.is_floating_point else input.to(D.get_default_dtype())
    if eps is not None:
        x = clamp(x, eps, 1 - eps)
    return (x / (1 - x)).log()


class Sinc(Function):
    @U.float32_compute
    def forward(ctx, x):
        ctx.save_for_backward(x)
        # pi in the input's precision, as PyTorch's kernel multiplies
        px = np.where(x == 0, np.ones((), x.dtype), x) * np.asarray(math.pi, x.dtype)
        return np.where(x == 0, np.ones((), x.dtype), np.sin(px) / px)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        # PyTorch's sinc_backward, 0/0 at x == 0 included: its second derivative there is
        # NaN in PyTorch too
        xpi = x * math.pi
        sq = x * x * math.pi
        with xp.errstate(divide="ignore", invalid="ignore"):
            out = g * (xpi * xp.cos(xpi) - xp.sin(xpi)) / sq
        return xp.where(sq == 0, xp.zeros((), g.dtype), out)


def sinc(input):
    """sin(pi x) / (pi x), 1 at 0 (``torch.sinc``).

    Args:
        input: the input tensor.
    """
    x = input if input.dtype.is_floating_point else input.to(D.get_default_dtype())
    return Sinc.apply(x)


def heaviside(input, values):
    """0 below zero, ``values`` at zero, 1 above (``torch.heaviside``); not differentiable.

    Args:
        input: the input tensor.
        values: the values used where ``input`` is zero.
    """
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    out = np.heaviside(input._data, values._data).astype(input._data.dtype, copy=False)
    return U.Tensor._make(np.asarray(out))


def logaddexp2(input, other):
    """log2(2**input + 2**other), computed stably (``torch.logaddexp2``).

    Args:
        input: the input tensor.
        other: the second operand: a tensor or a Python number, broadcast against ``input``.
    """
    ln2 = math.log(2)
    return logaddexp(input * ln2, other * ln2) / ln2


def ldexp(input, other):
    """input * 2**other (``torch.ldexp``).

    Args:
        input: the mantissas.
        other: the exponents of two.
    """
    x = input if input.dtype.is_floating_point else input.to(D.get_default_dtype())
    e = other if U.is_tensor(other) else U.as_tensor_arg(other)
    return mul(x, pow(2.0, e.to(x.dtype)))
