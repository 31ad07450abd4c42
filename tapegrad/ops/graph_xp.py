"""The array namespace of a backward that is itself recorded (``create_graph=True``).

Backward formulas are written once, against ``xp = ctx.xp``: in an ordinary backward
``xp`` is the backend's array module (NumPy) and the formula runs on raw arrays at
full speed; under ``create_graph`` the engine hands the same formula this module,
whose functions have NumPy's names and signatures but compute with differentiable
tapegrad ops on tensors, so the gradient it returns can be differentiated again
(HIPS/autograd's and Chainer's way to higher-order gradients).

Arguments may be tensors, raw arrays (constants: masks, indices, saved statistics)
or Python scalars. Integer and boolean results (``arange``, ``argsort``, masks) are
constants and stay raw arrays where NumPy's functions already give them.
"""

from __future__ import annotations

import builtins
import math
import numbers

import tapegrad as _tg

from .. import _dtype as D
from ..backend import numpy as np
from . import _util as U

# constants and integer helpers: no gradient flows through them
float16 = np.float16
float32 = np.float32
float64 = np.float64
int64 = np.int64
bool_ = np.bool_
inf = math.inf
nan = math.nan
pi = math.pi
newaxis = None
errstate = np.errstate
arange = np.arange
indices = np.indices
bincount = np.bincount
argsort = np.argsort
ndim = np.ndim
result_type = np.result_type


def iscomplexobj(x) -> bool:
    return x.dtype.is_complex if _is_tensor(x) else np.iscomplexobj(x)


def _dt(dtype):
    """A tapegrad dtype from a NumPy or tapegrad dtype (or a Python type)."""
    if dtype is None or isinstance(dtype, D.dtype):
        return dtype
    return D.from_numpy_dtype(np.dtype(dtype))


def _is_tensor(x) -> bool:
    return isinstance(x, U.Tensor)


def asarray(x, dtype=None):
    """``x`` as a tensor: tensors pass (cast to ``dtype``), arrays and scalars are constants."""
    dt = _dt(dtype)
    if _is_tensor(x):
        return x if dt is None or x.dtype is dt else x.to(dt)
    if dt is not None:
        return U.Tensor._make(np.asarray(x, dtype=dt.np))
    return U.Tensor._make(np.asarray(x))


def _operand(x, like):
    """A scalar/array operand for an op with the tensor ``like``: scalars take its dtype."""
    if _is_tensor(x):
        return x
    if isinstance(x, numbers.Number) and like is not None:
        return U.Tensor._make(np.asarray(x, dtype=like._data.dtype))
    return asarray(x)


def astype(x, dtype, copy=True):
    return asarray(x).to(_dt(dtype))


def copy(x):
    return asarray(x).clone()


def size(x) -> int:
    return x.numel() if _is_tensor(x) else np.size(x)


# ---------------------------------------------------------------------------
# creation


def zeros(shape, dtype=float):
    return _tg.zeros(_shape(shape), dtype=_dt(dtype))


def ones(shape, dtype=float):
    return _tg.ones(_shape(shape), dtype=_dt(dtype))


def full(shape, fill_value, dtype=None):
    if dtype is None and _is_tensor(fill_value):
        return broadcast_to(fill_value, _shape(shape)).clone()
    return _tg.full(_shape(shape), fill_value, dtype=_dt(dtype))


empty = zeros


def zeros_like(a, dtype=None):
    a = asarray(a)
    return _tg.zeros(tuple(a.shape), dtype=_dt(dtype) or a.dtype)


def ones_like(a, dtype=None):
    a = asarray(a)
    return _tg.ones(tuple(a.shape), dtype=_dt(dtype) or a.dtype)


def full_like(a, fill_value, dtype=None):
    a = asarray(a)
    return _tg.full(tuple(a.shape), fill_value, dtype=_dt(dtype) or a.dtype)


empty_like = zeros_like


def eye(n, m=None, k=0, dtype=float):
    return asarray(np.eye(n, m, k, dtype=_dt(dtype).np))


def _shape(s):
    return (s,) if isinstance(s, numbers.Integral) else tuple(s)


# ---------------------------------------------------------------------------
# pointwise


def where(condition, x, y):
    like = x if _is_tensor(x) else y if _is_tensor(y) else None
    return _tg.where(asarray(condition), _operand(x, like), _operand(y, like))


def _unary(fn):
    def f(x):
        return fn(asarray(x))

    f.__name__ = fn.__name__
    return f


abs = _unary(_tg.abs)  # noqa: A001
absolute = abs
sign = _unary(_tg.sign)
negative = _unary(_tg.neg)
exp = _unary(_tg.exp)
exp2 = _unary(_tg.exp2)
expm1 = _unary(_tg.expm1)
log = _unary(_tg.log)
log1p = _unary(_tg.log1p)
log2 = _unary(_tg.log2)
log10 = _unary(_tg.log10)
sqrt = _unary(_tg.sqrt)
square = _unary(_tg.square)
reciprocal = _unary(_tg.reciprocal)
sin = _unary(_tg.sin)
cos = _unary(_tg.cos)
tan = _unary(_tg.tan)
arcsin = _unary(_tg.asin)
arccos = _unary(_tg.acos)
arctan = _unary(_tg.atan)
sinh = _unary(_tg.sinh)
cosh = _unary(_tg.cosh)
tanh = _unary(_tg.tanh)
arcsinh = _unary(_tg.asinh)
arccosh = _unary(_tg.acosh)
arctanh = _unary(_tg.atanh)
floor = _unary(_tg.floor)
ceil = _unary(_tg.ceil)
trunc = _unary(_tg.trunc)
isnan = _unary(_tg.isnan)
isinf = _unary(_tg.isinf)
isfinite = _unary(_tg.isfinite)
logical_not = _unary(_tg.logical_not)
real = _unary(_tg.real)
imag = _unary(_tg.imag)
conj = _unary(_tg.conj)
conjugate = conj
angle = _unary(_tg.angle)


def _binary(fn):
    def f(a, b):
        like = a if _is_tensor(a) else b if _is_tensor(b) else None
        return fn(_operand(a, like), _operand(b, like))

    f.__name__ = fn.__name__
    return f


multiply = _binary(_tg.mul)
divide = _binary(_tg.div)
true_divide = divide
subtract = _binary(_tg.sub)
power = _binary(_tg.pow)
maximum = _binary(_tg.maximum)
minimum = _binary(_tg.minimum)
logaddexp = _binary(_tg.logaddexp)
arctan2 = _binary(_tg.atan2)
logical_and = _binary(_tg.logical_and)
logical_or = _binary(_tg.logical_or)
greater = _binary(_tg.gt)
less = _binary(_tg.lt)
equal = _binary(_tg.eq)


class _Add:
    """``xp.add(a, b)`` and NumPy's unbuffered ``xp.add.at(a, indices, values)``."""

    __name__ = "add"

    def __call__(self, a, b):
        like = a if _is_tensor(a) else b if _is_tensor(b) else None
        return _tg.add(_operand(a, like), _operand(b, like))

    @staticmethod
    def at(a, indices, values) -> None:
        """Add ``values`` into ``a[indices]`` in place, repeated indices accumulating."""
        if not isinstance(indices, tuple):
            indices = (indices,)
        idx = tuple(i if i is None or isinstance(i, slice) else asarray(i) for i in indices)
        if builtins.all(_is_tensor(i) and i.dtype.is_floating_point is False for i in idx) and (
            len(idx) <= a.ndim
        ):
            a.index_put_(idx, _operand(values, a), accumulate=True)
            return
        # slices mixed with arrays: a dense scatter of the broadcast values
        src = zeros_like(a)
        src[indices] = _operand(values, a)
        a.add_(src)


add = _Add()


def clip(a, a_min, a_max):
    return _tg.clamp(asarray(a), a_min, a_max)


# ---------------------------------------------------------------------------
# reductions


def _axis(axis, nd):
    if axis is None:
        return None
    if isinstance(axis, numbers.Integral):
        return (int(axis),)
    return tuple(axis)


def sum(a, axis=None, keepdims=False, dtype=None):  # noqa: A001
    a = asarray(a)
    ax = _axis(axis, a.ndim)
    if ax == ():
        return a if dtype is None else astype(a, dtype)
    return _tg.sum(a, ax, keepdim=keepdims, dtype=_dt(dtype))


def mean(a, axis=None, keepdims=False, dtype=None):
    a = asarray(a)
    ax = _axis(axis, a.ndim)
    if ax == ():
        return a
    return _tg.mean(a, ax, keepdim=keepdims, dtype=_dt(dtype))


def prod(a, axis=None, keepdims=False):
    a = asarray(a)
    if axis is None:
        out = _tg.prod(a)
        return out.reshape((1,) * a.ndim) if keepdims else out
    for ax in sorted((x % a.ndim for x in _axis(axis, a.ndim)), reverse=True):
        a = _tg.prod(a, ax, keepdim=keepdims)
    return a


def amax(a, axis=None, keepdims=False):
    a = asarray(a)
    return _tg.amax(a, () if axis is None else _axis(axis, a.ndim), keepdim=keepdims)


def amin(a, axis=None, keepdims=False):
    a = asarray(a)
    return _tg.amin(a, () if axis is None else _axis(axis, a.ndim), keepdim=keepdims)


max = amax  # noqa: A001
min = amin  # noqa: A001


def cumsum(a, axis=None):
    a = asarray(a)
    if axis is None:
        return _tg.cumsum(a.reshape(-1), 0)
    return _tg.cumsum(a, axis)


def cumprod(a, axis=None):
    a = asarray(a)
    if axis is None:
        return _tg.cumprod(a.reshape(-1), 0)
    return _tg.cumprod(a, axis)


def any(a, axis=None, keepdims=False):  # noqa: A001
    return np.any(_raw(a), axis=axis, keepdims=keepdims)


def all(a, axis=None, keepdims=False):  # noqa: A001
    return np.all(_raw(a), axis=axis, keepdims=keepdims)


def _raw(a):
    return a._data if _is_tensor(a) else a


# ---------------------------------------------------------------------------
# shapes


def reshape(a, newshape):
    return asarray(a).reshape(_shape(newshape))


def transpose(a, axes=None):
    a = asarray(a)
    if axes is None:
        axes = tuple(range(a.ndim - 1, -1, -1))
    return _tg.permute(a, tuple(axes))


def swapaxes(a, axis1, axis2):
    return _tg.transpose(asarray(a), axis1, axis2)


def moveaxis(a, source, destination):
    return _tg.movedim(asarray(a), source, destination)


def expand_dims(a, axis):
    a = asarray(a)
    axes = _axis(axis, a.ndim)
    nd = a.ndim + len(axes)
    for ax in sorted(x % nd for x in axes):
        a = _tg.unsqueeze(a, ax)
    return a


def squeeze(a, axis=None):
    a = asarray(a)
    if axis is None:
        return _tg.squeeze(a)
    return _tg.squeeze(a, _axis(axis, a.ndim))


def broadcast_to(a, shape_):
    return _tg.broadcast_to(asarray(a), _shape(shape_))


def flip(a, axis=None):
    a = asarray(a)
    return _tg.flip(a, tuple(range(a.ndim)) if axis is None else _axis(axis, a.ndim))


def roll(a, shift, axis=None):
    return _tg.roll(asarray(a), shift, axis)


def repeat(a, repeats, axis=None):
    return _tg.repeat_interleave(asarray(a), repeats, dim=axis)


def tile(a, reps):
    return _tg.tile(asarray(a), _shape(reps))


def concatenate(arrays, axis=0):
    return _tg.cat([asarray(a) for a in arrays], axis)


def stack(arrays, axis=0):
    return _tg.stack([asarray(a) for a in arrays], axis)


def split(a, indices_or_sections, axis=0):
    a = asarray(a)
    n = a.shape[axis]
    if isinstance(indices_or_sections, numbers.Integral):
        return list(_tg.chunk(a, int(indices_or_sections), axis))
    bounds = [0, *indices_or_sections, n]
    sizes = [
        builtins.max(0, builtins.min(e, n) - builtins.min(s, n)) for s, e in zip(bounds, bounds[1:])
    ]
    return list(_tg.split(a, sizes, axis))


def diagonal(a, offset=0, axis1=0, axis2=1):
    return _tg.diagonal(asarray(a), offset, axis1, axis2)


def tril(a, k=0):
    return _tg.tril(asarray(a), k)


def triu(a, k=0):
    return _tg.triu(asarray(a), k)


def pad(a, pad_width, mode="constant", constant_values=0):
    """NumPy's ``pad`` (constant mode) by slicing the input into a zero tensor."""
    if mode != "constant":
        raise ValueError(f"graph_xp.pad supports mode='constant' only, got {mode!r}")
    a = asarray(a)
    widths = [tuple(w) for w in np.broadcast_to(np.asarray(pad_width), (a.ndim, 2))]
    out = full(tuple(s + lo + hi for s, (lo, hi) in zip(a.shape, widths)), constant_values, a.dtype)
    out[tuple(slice(lo, lo + s) for s, (lo, _) in zip(a.shape, widths))] = a
    return out


def take_along_axis(arr, indices, axis):
    arr = asarray(arr)
    idx = asarray(np.broadcast_to(_raw(indices), _broadcast_idx_shape(arr, indices, axis)))
    return _tg.gather(arr, axis, idx)


def _broadcast_idx_shape(arr, indices, axis):
    ishape = list(np.shape(_raw(indices)))
    ashape = list(arr.shape)
    ax = axis % len(ashape)
    return tuple(
        i if k == ax else builtins.max(i, s) for k, (i, s) in enumerate(zip(ishape, ashape))
    )


def put_along_axis(arr, indices, values, axis) -> None:
    """Write ``values`` at ``indices`` along ``axis`` into ``arr``, in place (NumPy's)."""
    idx = asarray(np.broadcast_to(_raw(indices), _broadcast_idx_shape(arr, indices, axis)))
    vals = broadcast_to(_operand(values, arr), tuple(idx.shape))
    arr.scatter_(axis, idx, vals)


# ---------------------------------------------------------------------------
# products


def matmul(a, b):
    return _tg.matmul(asarray(a), asarray(b))


def dot(a, b):
    return matmul(a, b)


def einsum(subscripts, *operands, **kwargs):
    return _tg.einsum(subscripts, *[asarray(o) for o in operands])


def tensordot(a, b, axes=2):
    return _tg.tensordot(asarray(a), asarray(b), axes)


def outer(a, b):
    return _tg.outer(asarray(a).reshape(-1), asarray(b).reshape(-1))


class linalg:  # noqa: N801 - mirrors ``numpy.linalg``
    """The differentiable counterparts of ``numpy.linalg`` used by backward formulas."""

    @staticmethod
    def inv(a):
        return _tg.linalg.inv(asarray(a))

    @staticmethod
    def solve(a, b):
        return _tg.linalg.solve(asarray(a), asarray(b))

    @staticmethod
    def det(a):
        return _tg.linalg.det(asarray(a))

    @staticmethod
    def pinv(a):
        return _tg.linalg.pinv(asarray(a))


# ---------------------------------------------------------------------------
# xp-nn: special functions the activation backwards use (not in NumPy's namespace,
# so an ordinary backward keeps its own NumPy formula for them).

sigmoid = _unary(_tg.sigmoid)
erf = _unary(_tg.erf)
lgamma = _unary(_tg.lgamma)
digamma = _unary(_tg.digamma)


def polygamma(n, x):
    return _tg.polygamma(n, asarray(x))
