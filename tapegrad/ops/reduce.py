"""Reductions with ``dim`` (int or tuple) and ``keepdim``; scans; sorting; softmax."""

from __future__ import annotations

import builtins
import collections
import math

import numpy as np

from .. import _dtype as D
from ..amp import autocast_mode as _ac
from ..autograd.function import Function
from . import _util as U


def _rt(name, fields=("values", "indices")):
    cls = collections.namedtuple(name, fields)
    cls.__repr__ = lambda self: (
        f"torch.return_types.{name}(\n"
        + ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        + ")"
    )
    return cls


class return_types:  # noqa: N801 - mirrors torch.return_types
    """The named tuples that ops returning two tensors give (``torch.return_types``): ``max``,
    ``min``, ``sort``, ``topk``, ``kthvalue``, ``median``, ``mode``, ``cummax``, ``cummin`` have
    fields ``values`` and ``indices``; ``aminmax`` has ``min`` and ``max``."""

    max = _rt("max")
    min = _rt("min")
    sort = _rt("sort")
    topk = _rt("topk")
    kthvalue = _rt("kthvalue")
    median = _rt("median")
    nanmedian = _rt("nanmedian")
    mode = _rt("mode")
    cummax = _rt("cummax")
    cummin = _rt("cummin")
    aminmax = _rt("aminmax", ("min", "max"))


def _expand_grad(xp, g, shape, dims, keepdim):
    """Broadcast a reduced gradient back over the reduced dims (read-only view; a small
    one is filled in instead, which costs a fraction of NumPy's Python-level helpers)."""
    if xp is np and type(g) is np.ndarray:
        if not keepdim and dims:
            g = g.reshape(tuple(1 if i in dims else s for i, s in enumerate(shape)))
        if math.prod(shape) <= _SMALL:
            out = np.empty(shape, g.dtype)
            out[...] = g
            return out
        return np.broadcast_to(g, shape)
    if not keepdim and dims:
        g = xp.expand_dims(g, dims)
    return xp.broadcast_to(g, shape)


_SMALL = 4096  # elements up to which a broadcast gradient is materialised


def _dims(dim, ndim):
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    return U.canon_dims(dim, ndim)


# ---------------------------------------------------------------------------
# sum / mean / prod


class Sum(Function):
    """The autograd node of ``torch.sum`` over all dims (grad_fn ``SumBackward0``): the gradient
    broadcast back."""

    # slots, not the node's instance dict (one object less per op for the GC)
    __slots__ = ("shape", "dims", "keepdim")

    def forward(ctx, x, dims=(), keepdim=False, dtype=None):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if x.dtype in U._LOW_PRECISION_NP:  # accumulate in float32, round once
            return np.asarray(np.sum(x, axis=dims, keepdims=keepdim, dtype=np.float32)).astype(
                x.dtype
            )
        # np.sum's own reduction, without its Python-level wrapper
        return np.asarray(np.add.reduce(x, axis=dims, dtype=dtype, keepdims=keepdim))

    def backward(ctx, g):
        return _expand_grad(ctx.xp, g, ctx.shape, ctx.dims, ctx.keepdim)


class Mean(Function):
    """The autograd node of ``torch.mean`` over all dims (grad_fn ``MeanBackward0``)."""

    def forward(ctx, x, dims=(), keepdim=False):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        n = 1
        for d in dims:
            n *= x.shape[d]
        ctx.n = n
        if x.dtype in U._LOW_PRECISION_NP:  # accumulate in float32, round once
            m = np.mean(x, axis=dims, keepdims=keepdim, dtype=np.float32)
            return np.asarray(m).astype(x.dtype)
        return np.asarray(np.mean(x, axis=dims, keepdims=keepdim))

    def backward(ctx, g):
        return _expand_grad(ctx.xp, g / ctx.n if ctx.n else g, ctx.shape, ctx.dims, ctx.keepdim)


class SumDim(Sum):
    """``Sum`` over given dims (grad_fn ``SumBackward1``)."""

    backward_name = "SumBackward1"  # PyTorch's sum.dim_IntList


class MeanDim(Mean):
    """``Mean`` over given dims (grad_fn ``MeanBackward1``)."""

    backward_name = "MeanBackward1"


def _sum_dtype(t, dtype):
    if dtype is not None:
        return D.to_dtype(dtype)
    return t.dtype if t.dtype.is_floating_point or t.dtype.is_complex else D.int64


def sum(input, dim=None, keepdim: bool = False, *, dtype=None, out=None):  # noqa: A001
    """Sum over ``dim`` (all dims by default) (``torch.sum``); ints sum as int64.

    Args:
        input: the tensor to sum.
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        keepdim: keep the reduced dims with size 1.
        dtype: the dtype to cast ``input`` to before summing (default: int64 for integer and bool
            inputs, else ``input``'s dtype).
        out: a tensor to write the result into.
    """
    if dtype is None and out is None and isinstance(input, U.Tensor):
        # a floating tensor sums in its own dtype; all dims or one valid int dim need no
        # further checks (they cost more than a small sum)
        kind = input._data.dtype.kind
        if kind == "f" or kind == "V":
            nd = input._data.ndim
            if dim is None:
                return Sum.apply(input, dims=tuple(range(nd)), keepdim=keepdim)
            if type(dim) is int and -nd <= dim < nd:
                return SumDim.apply(input, dims=(dim % nd,), keepdim=keepdim)
    dims = _dims(dim, input.ndim)
    dt = _sum_dtype(input, dtype)
    x = input if input.dtype is dt else input.to(dt)
    res = (Sum if dim is None else SumDim).apply(x, dims=dims, keepdim=keepdim)
    return _out(res, out)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum treating NaNs as zero (``torch.nansum``).

    Args:
        input: the tensor to sum.
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        keepdim: keep the reduced dims with size 1.
        dtype: the dtype of the sum, as in ``sum``.
    """
    from .index import _masked_replace

    x = _masked_replace(input, np.isnan(input._data), np.zeros((), input._data.dtype))
    return sum(x, dim, keepdim, dtype=dtype)


def _out(res, out):
    if out is None:
        return res
    from .shape import copy_into_out

    return copy_into_out(out, res)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None, out=None):
    """Mean over ``dim`` (``torch.mean``); integer inputs need a floating ``dtype``.

    Args:
        input: the tensor to average (floating point or complex, unless ``dtype`` is).
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        keepdim: keep the reduced dims with size 1.
        dtype: the dtype to cast ``input`` to first.
        out: a tensor to write the result into.

    Raises:
        RuntimeError: ``input`` (after ``dtype``) is neither floating point nor complex.
    """
    if dtype is not None:
        input = input.to(dtype)
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_long(input.dtype)}"
        )
    cls = Mean if dim is None else MeanDim
    return _out(cls.apply(input, dims=_dims(dim, input.ndim), keepdim=keepdim), out)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of the non-NaN elements (``torch.nanmean``).

    Args:
        input: the floating-point tensor to average.
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        keepdim: keep the reduced dims with size 1.
        dtype: the dtype to compute and return in; by default ``input``'s.
    """
    if dtype is not None:
        input = input.to(dtype)
    mask = ~np.isnan(input._data)
    cnt = U.Tensor._make(
        np.asarray(mask.sum(axis=_dims(dim, input.ndim), keepdims=keepdim)).astype(
            input._data.dtype
        )
    )
    return nansum(input, dim, keepdim) / cnt


def _long(dt) -> str:
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


def _exclusive_prod(xp, x, axis):
    """prod of all other entries along ``axis``, robust to zeros (PyTorch's
    prod_safe_zeros_backward: exclusive cumulative products from both ends)."""
    n = x.shape[axis]
    head = (slice(None),) * axis
    ones = xp.ones(x.shape[:axis] + (1,) + x.shape[axis + 1 :], x.dtype)
    left = xp.cumprod(xp.concatenate([ones, x[head + (slice(0, n - 1),)]], axis=axis), axis=axis)
    rest = xp.flip(x[head + (slice(1, n),)], axis)
    right = xp.flip(xp.cumprod(xp.concatenate([ones, rest], axis=axis), axis=axis), axis)
    return left * right


class Prod(Function):
    """The autograd node of ``torch.prod`` over all elements (grad_fn ``ProdBackward0``)."""

    @U.float32_compute
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        y = np.asarray(np.prod(x, axis=dim, keepdims=keepdim))
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        if x.ndim == 0:
            return g
        dims = tuple(range(x.ndim)) if ctx.dim is None else (ctx.dim,)
        gexp = _expand_grad(xp, g, ctx.shape, dims, ctx.keepdim)
        if xp.size(x) == 0:
            return xp.zeros(ctx.shape, g.dtype)
        if not xp.any(x == 0):
            # PyTorch's prod_backward without zeros: grad * result / input
            return gexp * (_expand_grad(xp, y, ctx.shape, dims, ctx.keepdim) / x)
        if ctx.dim is None:
            return gexp * _exclusive_prod(xp, x.reshape(-1), 0).reshape(ctx.shape)
        return gexp * _exclusive_prod(xp, x, ctx.dim)


class ProdDim(Prod):
    """``Prod`` along one dim (grad_fn ``ProdBackward1``)."""

    backward_name = "ProdBackward1"


def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Product over one dim or all (``torch.prod``).

    Args:
        input: the tensor to multiply out.
        dim: the one dim to reduce; ``None`` multiplies all elements.
        keepdim: keep the reduced dim with size 1.
        dtype: the dtype to cast ``input`` to first (default: int64 for integer and bool inputs).
    """
    if _ac.state.active:
        return _ac.autocast_call("prod", prod, input, dim, keepdim, dtype=dtype)
    dt = _sum_dtype(input, dtype)
    x = input if input.dtype is dt else input.to(dt)
    d = None if dim is None else U.canon_dim(dim, x.ndim)
    if x.ndim == 0:
        d = None
    return (Prod if dim is None else ProdDim).apply(x, dim=d, keepdim=keepdim)


# ---------------------------------------------------------------------------
# var / std


class Var(Function):
    """The autograd node of ``torch.var`` (and, with ``take_sqrt``, of ``torch.std``)."""

    @U.float32_compute
    def forward(ctx, x, dims=(), correction=1, keepdim=False, take_sqrt=False):
        n = 1
        for d in dims:
            n *= x.shape[d]
        m = np.mean(x, axis=dims, keepdims=True)
        diff = x - m
        if n - correction <= 0:
            import warnings

            warnings.warn(
                f"{'std' if take_sqrt else 'var'}(): degrees of freedom is <= 0. Correction "
                "should be strictly less than the reduction factor (input numel divided by "
                "output numel).",
                UserWarning,
                stacklevel=4,
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.sum(diff * diff, axis=dims, keepdims=keepdim) / builtins.max(n - correction, 0)
        v = np.asarray(v, dtype=x.dtype)
        y = np.sqrt(v) if take_sqrt else v
        ctx.dims, ctx.keepdim, ctx.denom, ctx.sqrt = (
            dims,
            keepdim,
            builtins.max(n - correction, 0),
            take_sqrt,
        )
        ctx.shape = x.shape
        if type(y) is not np.ndarray:
            y = np.asarray(y)  # sqrt of a 0-dim array is a scalar; the saved output is an array
        # diff is kept for the fast first-order backward; create_graph recomputes it from x
        ctx.save_for_backward(x, diff, y)
        return y

    def backward(ctx, g):
        x, diff, y = ctx.saved_tensors
        xp = ctx.xp
        if xp is not np:
            diff = x - xp.mean(x, axis=ctx.dims, keepdims=True)
        if ctx.sqrt:
            g = g / (y + (y == 0))
            g = xp.where(y == 0, 0, g)
            scale = 1.0
        else:
            scale = 2.0
        gexp = _expand_grad(xp, g, ctx.shape, ctx.dims, ctx.keepdim)
        return gexp * diff * xp.asarray(scale / ctx.denom if ctx.denom else math.inf, diff.dtype)


class Std(Var):
    """The autograd node of ``torch.std``: ``Var`` with the square root taken."""

    pass


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def _var_args(dim, unbiased, keepdim):
    # var(x, True) means unbiased=True (the old positional signature).
    if isinstance(dim, bool):
        return None, dim, keepdim
    return dim, unbiased, keepdim


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with Bessel's correction by default (``torch.var``).

    Args:
        input: the floating-point tensor.
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        unbiased: the old spelling of ``correction``: ``True`` is 1, ``False`` is 0.
        keepdim: keep the reduced dims with size 1.
        correction: the difference between the sample size and the divisor (default 1, Bessel's
            correction).
    """
    dim, unbiased, keepdim = _var_args(dim, unbiased, keepdim)
    _need_float(input, "var")
    return Var.apply(
        input,
        dims=_dims(dim, input.ndim),
        correction=_correction(unbiased, correction),
        keepdim=keepdim,
    )


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation with Bessel's correction by default (``torch.std``).

    Args:
        input: the floating-point tensor.
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        unbiased: the old spelling of ``correction``: ``True`` is 1, ``False`` is 0.
        keepdim: keep the reduced dims with size 1.
        correction: the difference between the sample size and the divisor (default 1, Bessel's
            correction).
    """
    dim, unbiased, keepdim = _var_args(dim, unbiased, keepdim)
    _need_float(input, "std")
    return Std.apply(
        input,
        dims=_dims(dim, input.ndim),
        correction=_correction(unbiased, correction),
        keepdim=keepdim,
        take_sqrt=True,
    )


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """The variance and the mean over the same dims (``torch.var_mean``).

    Args:
        input: the floating-point tensor.
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        unbiased: the old spelling of ``correction``: ``True`` is 1, ``False`` is 0.
        keepdim: keep the reduced dims with size 1.
        correction: the difference between the sample size and the variance's divisor (default 1).

    Returns:
        ``(var, mean)``.
    """
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """The standard deviation and the mean over the same dims (``torch.std_mean``).

    Args:
        input: the floating-point tensor.
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        unbiased: the old spelling of ``correction``: ``True`` is 1, ``False`` is 0.
        keepdim: keep the reduced dims with size 1.
        correction: the difference between the sample size and the variance's divisor (default 1).

    Returns:
        ``(std, mean)``.
    """
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def _need_float(t, name):
    if not t.dtype.is_floating_point:
        raise RuntimeError(
            f"{name}(): input dtype should be either floating point or complex dtypes. Got "
            f"{_long(t.dtype)} instead."
        )


# ---------------------------------------------------------------------------
# norms


class VectorNorm(Function):
    """The autograd node of ``torch.linalg.vector_norm`` (grad_fn ``LinalgVectorNormBackward0``)."""

    backward_name = "LinalgVectorNormBackward0"

    @U.float32_compute
    def forward(ctx, x, ord=2.0, dims=(), keepdim=False):
        a = np.abs(x)
        if ord == 2:
            y = np.sqrt(np.sum(a * a, axis=dims, keepdims=keepdim))
        elif ord == 1:
            y = np.sum(a, axis=dims, keepdims=keepdim)
        elif ord == math.inf:
            y = np.max(a, axis=dims, keepdims=keepdim) if a.size else np.zeros(())
        elif ord == -math.inf:
            y = np.min(a, axis=dims, keepdims=keepdim)
        elif ord == 0:
            y = np.sum(a != 0, axis=dims, keepdims=keepdim).astype(x.dtype)
        else:
            y = np.power(np.sum(np.power(a, ord), axis=dims, keepdims=keepdim), 1.0 / ord)
        y = np.asarray(y, dtype=x.dtype)
        ctx.ord, ctx.dims, ctx.keepdim, ctx.shape = ord, dims, keepdim, x.shape
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        p = ctx.ord
        xp = ctx.xp
        ye = _expand_grad(xp, y, ctx.shape, ctx.dims, ctx.keepdim)
        ge = _expand_grad(xp, g, ctx.shape, ctx.dims, ctx.keepdim)
        if p == 2:
            with xp.errstate(divide="ignore", invalid="ignore"):
                return xp.where(ye == 0, 0, ge * x / ye)
        if p == 1:
            return ge * xp.sign(x)
        if p in (math.inf, -math.inf):
            mask = xp.abs(x) == ye
            cnt = xp.sum(mask, axis=ctx.dims, keepdims=True)
            return ge * xp.sign(x) * mask / cnt
        if p == 0:
            return xp.zeros_like(x)
        with xp.errstate(divide="ignore", invalid="ignore"):
            r = ge * xp.sign(x) * xp.power(xp.abs(x), p - 1) / xp.power(ye, p - 1)
            return xp.where(ye == 0, 0, r)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector p-norm over ``dim`` (``torch.linalg.vector_norm``).

    Args:
        x: the floating-point tensor.
        ord: the order p of the norm: a number, ``inf`` (max of ``abs``), ``-inf`` (min) or 0 (count
            of non-zeros).
        dim: a dim or tuple of dims to reduce; ``None`` takes the norm of all elements.
        keepdim: keep the reduced dims with size 1.
        dtype: the dtype to cast ``x`` to first.
    """
    if dtype is not None:
        x = x.to(dtype)
    _need_float(x, "linalg.vector_norm")
    return VectorNorm.apply(x, ord=float(ord), dims=_dims(dim, x.ndim), keepdim=keepdim)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None, out=None):
    """Norm of a tensor (``torch.norm``): 'fro'/p-norms over dims, 'nuc' for matrices.

    Args:
        input: the tensor.
        p: ``"fro"`` (or ``None``, the 2-norm of the elements), ``"nuc"`` (the nuclear norm of the
            matrices in the last two dims or in ``dim``) or a number p.
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        keepdim: keep the reduced dims with size 1.
        dtype: the dtype to cast ``input`` to first.
        out: a tensor to write the result into.
    """
    if dtype is not None:
        input = input.to(dtype)
    if p == "nuc":
        from .linalg import matrix_norm

        return matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else dim, keepdim=keepdim)
    if p == "fro" or p is None:
        p = 2
    if isinstance(dim, int):
        dim = (dim,)
    return _out(vector_norm(input, p, dim, keepdim), out)


def dist(input, other, p=2):
    """The p-norm of input - other (``torch.dist``).

    Args:
        input: the first tensor.
        other: the second tensor, broadcast with ``input``.
        p: the order of the norm.
    """
    return vector_norm(input - other, p)


# ---------------------------------------------------------------------------
# max / min / argmax


class AmaxAmin(Function):
    """The shared node of ``amax``/``amin`` and the full ``max``/``min``: ties share the gradient
    equally."""

    def forward(ctx, x, dims=(), keepdim=False, is_max=True):
        if x.size == 0:
            name = "max" if is_max else "min"
            if len(dims) == x.ndim:
                raise RuntimeError(
                    f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument."
                )
            for d in dims:
                if x.shape[d] == 0:
                    raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
        y = np.asarray((np.max if is_max else np.min)(x, axis=dims, keepdims=keepdim))
        ctx.dims, ctx.keepdim, ctx.shape = dims, keepdim, x.shape
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        ye = _expand_grad(xp, y, ctx.shape, ctx.dims, ctx.keepdim)
        ge = _expand_grad(xp, g, ctx.shape, ctx.dims, ctx.keepdim)
        mask = x == ye
        cnt = xp.sum(mask, axis=ctx.dims, keepdims=True)
        return ge * mask / cnt


class Amax(AmaxAmin):
    """The autograd node of ``torch.amax`` (grad_fn ``AmaxBackward0``)."""

    pass


class Amin(AmaxAmin):
    """The autograd node of ``torch.amin`` (grad_fn ``AminBackward0``)."""

    pass


class MaxBackwardFull(AmaxAmin):
    """The autograd node of ``torch.max(input)`` without a dim (grad_fn ``MaxBackward1``)."""

    backward_name = "MaxBackward1"


class MinBackwardFull(AmaxAmin):
    """The autograd node of ``torch.min(input)`` without a dim (grad_fn ``MinBackward1``)."""

    backward_name = "MinBackward1"


class MaxDim(Function):
    """max/min along a dim: values and indices."""

    backward_name = "MaxBackward0"
    num_outputs = 2
    non_differentiable = (1,)

    def forward(ctx, x, dim=0, keepdim=False, is_max=True):
        if x.shape[dim] == 0 if x.ndim else False:
            raise IndexError(
                f"{'max' if is_max else 'min'}(): Expected reduction dim {dim} "
                "to have non-zero size."
            )
        idx = (
            (np.argmax if is_max else np.argmin)(x, axis=dim, keepdims=True)
            if x.ndim
            else np.zeros((), np.int64)
        )
        vals = np.take_along_axis(x, idx, axis=dim) if x.ndim else x.copy()
        if not keepdim and x.ndim:
            idx = np.squeeze(idx, dim)
            vals = np.squeeze(vals, dim)
        ctx.dim, ctx.keepdim, ctx.shape = dim, keepdim, x.shape
        ctx.save_for_backward(idx)
        return vals, idx.astype(np.int64)

    def backward(ctx, g, _gi):
        (idx,) = ctx.saved_tensors
        if len(ctx.shape) == 0:
            return g
        xp = ctx.xp
        z = xp.zeros(ctx.shape, g.dtype)
        if not ctx.keepdim:
            idx = xp.expand_dims(idx, ctx.dim)
            g = xp.expand_dims(g, ctx.dim)
        xp.put_along_axis(z, idx, g, axis=ctx.dim)
        return z


class MinDim(MaxDim):
    """The autograd node of ``torch.min`` along a dim: values and indices (grad_fn
    ``MinBackward0``)."""

    backward_name = "MinBackward0"


def _max_min(input, dim, keepdim, other, is_max):
    name = "max" if is_max else "min"
    if other is not None or isinstance(dim, U.Tensor):
        from .elementwise import maximum, minimum

        o = other if other is not None else dim
        return maximum(input, o) if is_max else minimum(input, o)
    if dim is None:
        cls = MaxBackwardFull if is_max else MinBackwardFull
        return cls.apply(input, dims=tuple(range(input.ndim)), keepdim=False, is_max=is_max)
    d = U.canon_dim(dim, input.ndim)
    if input.dtype is D.bool_:
        input = input.to(D.uint8)
        v, i = (MaxDim if is_max else MinDim).apply(input, dim=d, keepdim=keepdim, is_max=is_max)
        v = v.to(D.bool_)
    else:
        v, i = (MaxDim if is_max else MinDim).apply(input, dim=d, keepdim=keepdim, is_max=is_max)
    return getattr(return_types, name)(v, i)


def max(input, dim=None, keepdim: bool = False, *, other=None, out=None):  # noqa: A001
    """The maximum; with ``dim``, (values, indices) (``torch.max``); with a tensor, elementwise.

    Args:
        input: the tensor.
        dim: the dim to reduce, or a tensor to compare with elementwise (``torch.max(a, b)``);
            ``None`` gives the maximum of all elements (a 0-d tensor).
        keepdim: keep the reduced dim with size 1.
        other: a tensor to compare with elementwise (``torch.max(a, b)``, i.e. ``maximum``).
        out: a tensor, or a ``(values, indices)`` pair with ``dim``, to write the result into.

    Returns:
        A tensor, or with ``dim`` a ``(values, indices)`` named tuple.
    """
    return _values_indices_out(_max_min(input, dim, keepdim, other, True), out)


def min(input, dim=None, keepdim: bool = False, *, other=None, out=None):  # noqa: A001
    """The minimum; with ``dim``, (values, indices) (``torch.min``); with a tensor, elementwise.

    Args:
        input: the tensor.
        dim: the dim to reduce, or a tensor to compare with elementwise (``torch.min(a, b)``);
            ``None`` gives the minimum of all elements (a 0-d tensor).
        keepdim: keep the reduced dim with size 1.
        other: a tensor to compare with elementwise (``torch.min(a, b)``, i.e. ``minimum``).
        out: a tensor, or a ``(values, indices)`` pair with ``dim``, to write the result into.

    Returns:
        A tensor, or with ``dim`` a ``(values, indices)`` named tuple.
    """
    return _values_indices_out(_max_min(input, dim, keepdim, other, False), out)


def _values_indices_out(res, out):
    """Copy a (values, indices) result into an ``out=(values, indices)`` pair."""
    if out is None:
        return res
    from .shape import copy_into_out

    if isinstance(out, U.Tensor):
        return copy_into_out(out, res)
    copy_into_out(out[0], res[0])
    copy_into_out(out[1], res[1])
    return type(res)(out[0], out[1])


def amax(input, dim=(), keepdim: bool = False):
    """Maximum over dims; ties share the gradient (``torch.amax``).

    Args:
        input: the tensor.
        dim: a dim or tuple of dims to reduce; ``()`` (the default) reduces all of them.
        keepdim: keep the reduced dims with size 1.
    """
    return Amax.apply(input, dims=_dims(dim, input.ndim), keepdim=keepdim, is_max=True)


def amin(input, dim=(), keepdim: bool = False):
    """Minimum over dims; ties share the gradient (``torch.amin``).

    Args:
        input: the tensor.
        dim: a dim or tuple of dims to reduce; ``()`` (the default) reduces all of them.
        keepdim: keep the reduced dims with size 1.
    """
    return Amin.apply(input, dims=_dims(dim, input.ndim), keepdim=keepdim, is_max=False)


def aminmax(input, *, dim=None, keepdim=False):
    """The minimum and the maximum in one call (``torch.aminmax``).

    Args:
        input: the tensor.
        dim: the dim to reduce; ``None`` reduces all of them.
        keepdim: keep the reduced dim with size 1.

    Returns:
        A ``(min, max)`` named tuple.
    """
    return return_types.aminmax(
        amin(input, dim if dim is not None else (), keepdim),
        amax(input, dim if dim is not None else (), keepdim),
    )


def _arg(input, dim, keepdim, fn, name):
    a = input._data
    if a.size == 0 and (dim is None or a.shape[U.canon_dim(dim, a.ndim)] == 0):
        raise IndexError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
        )
    if dim is None:
        r = np.asarray(fn(a.reshape(-1)))
        if keepdim:
            r = r.reshape((1,) * a.ndim)
        return U.Tensor._make(r.astype(np.int64))
    d = U.canon_dim(dim, input.ndim)
    if a.ndim == 0:
        return U.Tensor._make(np.zeros((), np.int64))
    return U.Tensor._make(np.asarray(fn(a, axis=d, keepdims=keepdim)).astype(np.int64))


def argmax(input, dim=None, keepdim: bool = False):
    """Index of the maximum (first one on ties) (``torch.argmax``).

    Args:
        input: the tensor.
        dim: the dim to reduce; ``None`` gives the index into the flattened tensor.
        keepdim: keep the reduced dim with size 1.

    Returns:
        An int64 tensor of indices.
    """
    return _arg(input, dim, keepdim, np.argmax, "argmax")


def argmin(input, dim=None, keepdim: bool = False):
    """Index of the minimum (first one on ties) (``torch.argmin``).

    Args:
        input: the tensor.
        dim: the dim to reduce; ``None`` gives the index into the flattened tensor.
        keepdim: keep the reduced dim with size 1.

    Returns:
        An int64 tensor of indices.
    """
    return _arg(input, dim, keepdim, np.argmin, "argmin")


# ---------------------------------------------------------------------------
# logsumexp, softmax


class LogSumExp(Function):
    """The autograd node of ``torch.logsumexp`` (grad_fn ``LogsumexpBackward0``)."""

    backward_name = "LogsumexpBackward0"

    @U.float32_compute
    def forward(ctx, x, dims=(), keepdim=False):
        m = np.max(x, axis=dims, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        s = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
        y = s if keepdim else np.squeeze(s, axis=dims) if dims else s.reshape(())
        y = np.asarray(y, dtype=x.dtype)  # the very array the output holds (saved below)
        ctx.dims, ctx.keepdim, ctx.shape = dims, keepdim, x.shape
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        ye = _expand_grad(xp, y, ctx.shape, ctx.dims, ctx.keepdim)
        return _expand_grad(xp, g, ctx.shape, ctx.dims, ctx.keepdim) * xp.exp(x - ye)


def logsumexp(input, dim, keepdim: bool = False):
    """log(sum(exp(x))) over dims, computed stably (``torch.logsumexp``).

    Args:
        input: the tensor (integers are cast to the default floating dtype).
        dim: a dim or tuple of dims to reduce.
        keepdim: keep the reduced dims with size 1.
    """
    x = input if input.dtype.is_floating_point else input.to(D.get_default_dtype())
    return LogSumExp.apply(x, dims=_dims(dim, x.ndim), keepdim=keepdim)


# Arrays from this many elements take the softmax fast path below (smaller ones gain
# less than its few extra NumPy calls cost).
_SOFTMAX_FAST_MIN = 1 << 14
# A row whose sum of exp(x) lies between e**-18 and the largest float has its max
# between -18 - ln(n) and ~88 (float32): every probability above ~1e-28 is then still
# a normal float without the shift by the row's max, and nothing overflowed.
_ROW_SUM_FLOOR = math.exp(-18.0)


def _row_sums(a):
    """Sums of a float array over its last axis, shape ``a.shape[:-1]``.

    One BLAS matrix-vector product with a vector of ones: NumPy's reduction over short
    contiguous rows runs row by row, several times slower (64-long rows: 0.3 ms against
    0.05 ms for 512k float32 elements).
    """
    n = a.shape[-1]
    return (a.reshape(-1, n) @ np.ones(n, a.dtype)).reshape(a.shape[:-1])


def _softmax_shifted(rows):
    """Softmax of the rows of a 2-d array with each row shifted by its max first: the
    exact path for the rows the unshifted fast path cannot take (overflow, underflow,
    fully masked rows: NaN, as PyTorch)."""
    y = np.subtract(rows, np.max(rows, axis=-1, keepdims=True))
    np.exp(y, out=y)
    y *= np.reciprocal(np.sum(y, axis=-1, keepdims=True))
    return y


def _softmax_last(x):
    """Softmax of a float32/float64 array along its last axis, as a new array.

    Softmax does not change when a row is shifted, and the shift by each row's max
    (a strided reduction over short rows plus a subtraction, together slower than the
    exp itself) only guards against overflow and underflow: rows whose sum of exp(x)
    is a normal, finite number are exact without it (up to rounding). The other rows
    (scores above ~88 or all far below zero, fully masked with -inf, NaN, inf) are
    recomputed with their own max.
    """
    with np.errstate(over="ignore"):
        y = np.exp(x)
    s = _row_sums(y)
    bad = ~((s >= _ROW_SUM_FLOOR) & (s < np.inf))  # NaN sums are bad too
    if bad.any():
        y[bad] = _softmax_shifted(x[bad])
        s[bad] = 1
    # times the reciprocal of the row sum, as PyTorch's kernel computes it (its rounding;
    # and a broadcast multiplication runs ~1.5x as fast as the division)
    np.reciprocal(s, out=s)
    y *= s[..., None]
    return y


class Softmax(Function):
    """The autograd node of ``torch.softmax`` along ``dim`` (grad_fn ``SoftmaxBackward0``)."""

    def forward(ctx, x, dim=-1):
        low = x.dtype if x.dtype in U._LOW_PRECISION_NP else None
        if low is not None:  # computed in float32 and rounded once (y kept in float32)
            x = x.astype(np.float32)
        if x.size >= _SOFTMAX_FAST_MIN and dim in (-1, x.ndim - 1) and x.dtype.kind == "f":
            y = _softmax_last(x)
        else:
            # one new array, exponentiated and normalised in place
            y = np.subtract(x, np.max(x, axis=dim, keepdims=True))
            np.exp(y, out=y)
            y /= np.sum(y, axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y if low is None else y.astype(low)

    def backward(ctx, g):
        g = U.float32_grad(g)
        (y,) = ctx.saved_tensors
        xp = ctx.xp
        # (g - sum(g * y)) * y, in PyTorch's order of operations (its rounding)
        gy = g * y
        if xp is np:
            last = ctx.dim in (-1, y.ndim - 1) and gy.size >= _SOFTMAX_FAST_MIN
            if last and gy.flags.c_contiguous and gy.dtype.kind == "f":
                s = _row_sums(gy)[..., None]
            else:
                s = np.sum(gy, axis=ctx.dim, keepdims=True)
            if gy.shape == g.shape:  # the product's array takes the result (no new one)
                np.subtract(g, s, out=gy)
                gy *= y
                return gy
            return (g - s) * y
        return (g - xp.sum(gy, axis=ctx.dim, keepdims=True)) * y


class LogSoftmax(Function):
    """The autograd node of ``torch.log_softmax`` along ``dim`` (grad_fn
    ``LogSoftmaxBackward0``)."""

    def forward(ctx, x, dim=-1):
        low = x.dtype if x.dtype in U._LOW_PRECISION_NP else None
        if low is not None:  # computed in float32 and rounded once (y kept in float32)
            x = x.astype(np.float32)
        m = np.max(x, axis=dim, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        s = x - m
        y = s - np.log(np.sum(np.exp(s), axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y if low is None else y.astype(low)

    def backward(ctx, g):
        g = U.float32_grad(g)
        (y,) = ctx.saved_tensors
        xp = ctx.xp
        return g - xp.exp(y) * xp.sum(g, axis=ctx.dim, keepdims=True)


def _softmax_dim(dim, ndim, name):
    if dim is None:
        import warnings

        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to "
            "include dim=X as an argument.",
            UserWarning,
            stacklevel=3,
        )
        dim = 0 if ndim in (0, 1, 3) else 1
    return U.canon_dim(dim, ndim)


def softmax(input, dim=None, dtype=None, *, _stacklevel=3):
    """exp(x) / sum(exp(x)) along ``dim`` (``torch.softmax``).

    Args:
        input: the floating-point tensor (any dtype when ``dtype`` is given).
        dim: the dim the probabilities sum to 1 along; ``None`` picks PyTorch's legacy default (0
            for 0-, 1- and 3-D inputs, else 1).
        dtype: the dtype to cast ``input`` to first.

    Raises:
        NotImplementedError: ``input`` is not floating point and no ``dtype`` is given.
    """
    if dtype is not None:
        input = input.to(dtype)
    elif not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"softmax_lastdim_kernel_impl\" not implemented for '{_long(input.dtype)}'"
        )
    d = _softmax_dim(dim, input.ndim, "softmax")
    if input.ndim == 0:
        return Softmax.apply(input.reshape(1), dim=0).reshape(())
    return Softmax.apply(input, dim=d)


def log_softmax(input, dim=None, dtype=None, *, _stacklevel=3):
    """log(softmax(x)) along ``dim``, computed stably (``torch.log_softmax``).

    Args:
        input: the floating-point tensor (any dtype when ``dtype`` is given).
        dim: the dim to normalise along; ``None`` picks PyTorch's legacy default (0 for 0-, 1- and
            3-D inputs, else 1).
        dtype: the dtype to cast ``input`` to first.

    Raises:
        NotImplementedError: ``input`` is not floating point and no ``dtype`` is given.
    """
    if dtype is not None:
        input = input.to(dtype)
    elif not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"log_softmax_lastdim_kernel_impl\" not implemented for '{_long(input.dtype)}'"
        )
    d = _softmax_dim(dim, input.ndim, "log_softmax")
    if input.ndim == 0:
        return LogSoftmax.apply(input.reshape(1), dim=0).reshape(())
    return LogSoftmax.apply(input, dim=d)


# ---------------------------------------------------------------------------
# scans


class Cumsum(Function):
    """The autograd node of ``torch.cumsum`` (grad_fn ``CumsumBackward0``)."""

    @U.float32_compute
    def forward(ctx, x, dim=0):
        ctx.dim = dim
        return np.cumsum(x, axis=dim, dtype=x.dtype)

    def backward(ctx, g):
        xp, d = ctx.xp, ctx.dim
        return xp.flip(xp.cumsum(xp.flip(g, d), axis=d), d)


class Cumprod(Function):
    """The autograd node of ``torch.cumprod`` (grad_fn ``CumprodBackward0``)."""

    def forward(ctx, x, dim=0):
        ctx.dim = dim
        y = np.cumprod(x, axis=dim, dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        d = ctx.dim
        xp = ctx.xp
        if not xp.any(x == 0):
            return xp.flip(xp.cumsum(xp.flip(g * y, d), axis=d), d) / x
        # With zeros: dy_j/dx_i = prod_{k<=j, k!=i} x_k, computed for each i (a polynomial
        # in x, so differentiating it again gives the second derivative, as PyTorch's
        # O(n^2) formula under grad mode does).
        n = x.shape[d]
        xm = xp.moveaxis(x, d, 0)
        gm = xp.moveaxis(g, d, 0)
        one = xp.ones((1,) + tuple(xm.shape[1:]), x.dtype)
        out = []
        for i in range(n):
            cp = xp.cumprod(xp.concatenate([xm[:i], one, xm[i + 1 :]], axis=0), axis=0)
            out.append(xp.sum(gm[i:] * cp[i:], axis=0))
        return xp.moveaxis(xp.stack(out, axis=0), 0, d)


def cumsum(input, dim, *, dtype=None, out=None):
    """Cumulative sum along ``dim`` (``torch.cumsum``); ints accumulate as int64.

    Args:
        input: the tensor.
        dim: the dim to accumulate along.
        dtype: the dtype to cast ``input`` to first (default: int64 for integer and bool inputs).
        out: a tensor to write the result into.
    """
    dt = _sum_dtype(input, dtype)
    x = input if input.dtype is dt else input.to(dt)
    if x.ndim == 0:
        return x.clone()
    return _out(Cumsum.apply(x, dim=U.canon_dim(dim, x.ndim)), out)


def cumprod(input, dim, *, dtype=None, out=None):
    """Cumulative product along ``dim`` (``torch.cumprod``).

    Args:
        input: the tensor.
        dim: the dim to accumulate along.
        dtype: the dtype to cast ``input`` to first (default: int64 for integer and bool inputs).
        out: a tensor to write the result into.
    """
    dt = _sum_dtype(input, dtype)
    x = input if input.dtype is dt else input.to(dt)
    if x.ndim == 0:
        return x.clone()
    return _out(Cumprod.apply(x, dim=U.canon_dim(dim, x.ndim)), out)


def _cum_ext(input, dim, is_max):
    d = U.canon_dim(dim, input.ndim)
    a = np.moveaxis(input._data, d, 0)
    vals = (np.maximum if is_max else np.minimum).accumulate(a, axis=0)
    n = a.shape[0]
    idx = np.zeros(a.shape, np.int64)
    cur = np.zeros(a.shape[1:], np.int64)
    for i in range(n):
        hit = a[i] == vals[i]
        cur = np.where(hit, i, cur)
        idx[i] = cur
    vt = np.moveaxis(vals, 0, d)
    it = U.Tensor._make(np.ascontiguousarray(np.moveaxis(idx, 0, d)))
    from .index import gather

    v = gather(input, d, it)
    del vt
    return (return_types.cummax if is_max else return_types.cummin)(v, it)


def cummax(input, dim):
    """Running maximum along ``dim`` and the index where it was reached (``torch.cummax``).

    Args:
        input: the tensor.
        dim: the dim to scan along.

    Returns:
        A ``(values, indices)`` named tuple.
    """
    return _cum_ext(input, dim, True)


def cummin(input, dim):
    """Running minimum along ``dim`` and the index where it was reached (``torch.cummin``).

    Args:
        input: the tensor.
        dim: the dim to scan along.

    Returns:
        A ``(values, indices)`` named tuple.
    """
    return _cum_ext(input, dim, False)


def logcumsumexp(input, dim):
    """``log(cumsum(exp(x)))`` along ``dim``, computed stably (``torch.logcumsumexp``).

    Args:
        input: the floating-point tensor.
        dim: the dim to accumulate along.
    """
    d = U.canon_dim(dim, input.ndim)
    m = amax(input.detach(), d, keepdim=True)
    from .elementwise import exp, log

    return log(cumsum(exp(input - m), d)) + m


# ---------------------------------------------------------------------------
# boolean reductions


def any(input, dim=None, keepdim: bool = False):  # noqa: A001
    """Whether any element is true (``torch.any``).

    Args:
        input: the tensor (non-zero elements count as true).
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        keepdim: keep the reduced dims with size 1.

    Returns:
        A bool tensor.
    """
    a = input._data
    axis = None if dim is None else _dims(dim, input.ndim)
    return U.Tensor._make(np.asarray(np.any(a, axis=axis, keepdims=keepdim)))


def all(input, dim=None, keepdim: bool = False):  # noqa: A001
    """Whether all elements are true (``torch.all``).

    Args:
        input: the tensor (non-zero elements count as true).
        dim: a dim or tuple of dims to reduce; ``None`` reduces all of them.
        keepdim: keep the reduced dims with size 1.

    Returns:
        A bool tensor.
    """
    a = input._data
    axis = None if dim is None else _dims(dim, input.ndim)
    return U.Tensor._make(np.asarray(np.all(a, axis=axis, keepdims=keepdim)))


def count_nonzero(input, dim=None):
    """The number of non-zero elements over ``dim`` (``torch.count_nonzero``).

    Args:
        input: the tensor.
        dim: a dim or tuple of dims to count over; ``None`` counts all elements.

    Returns:
        An int64 tensor.
    """
    axis = None if dim is None else _dims(dim, input.ndim)
    return U.Tensor._make(np.asarray(np.count_nonzero(input._data, axis=axis)).astype(np.int64))


# ---------------------------------------------------------------------------
# sorting and order statistics


def _gather_values(input, idx, d):
    from .index import gather

    return gather(input, d, U.Tensor._make(idx))


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sorted values and their indices along ``dim`` (``torch.sort``).

    Args:
        input: the tensor to sort.
        dim: the dim to sort along.
        descending: largest first.
        stable: keep equal elements in their original order.

    Returns:
        A ``(values, indices)`` named tuple; ``indices`` (int64) are positions along ``dim``.
    """
    if input.ndim == 0:
        return return_types.sort(input.clone(), U.Tensor._make(np.zeros((), np.int64)))
    d = U.canon_dim(dim, input.ndim)
    a = input._data
    if descending:
        # Stable descending order: sort the reversed array ascending, then reverse.
        n = a.shape[d]
        idx = n - 1 - np.flip(np.argsort(np.flip(a, d), axis=d, kind="stable"), d)
    else:
        idx = np.argsort(a, axis=d, kind="stable")
    idx = idx.astype(np.int64)
    # PyTorch radix-sorts (stably) long 1-D integer tensors in ascending order
    radix = a.ndim == 1 and a.size >= 32768 and a.dtype.kind in "iu" and not descending
    if not stable and not radix and a.shape[d] > 16 and a.size <= _STD_SORT_LIMIT:
        idx = _unstable_ties(a, idx, d, descending)
    return return_types.sort(_gather_values(input, idx, d), U.Tensor._make(idx))


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """Indices that sort ``input`` along ``dim`` (``torch.argsort``).

    Args:
        input: the tensor.
        dim: the dim to sort along.
        descending: largest first.
        stable: keep equal elements in their original order.

    Returns:
        An int64 tensor of positions along ``dim``.
    """
    return sort(input, dim, descending, stable).indices


def msort(input):
    """``input`` sorted along dim 0, ascending (``torch.msort``).

    Args:
        input: the tensor to sort.
    """
    return sort(input, 0).values


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The k largest (or smallest) entries and their indices (``torch.topk``).

    Args:
        input: the tensor.
        k: how many entries to return, ``0 <= k <= input.size(dim)``.
        dim: the dim to search along.
        largest: the k largest (else the k smallest).
        sorted: accepted for PyTorch's signature; the entries always come in sorted order.

    Returns:
        A ``(values, indices)`` named tuple.

    Raises:
        RuntimeError: ``k`` is out of range.
    """
    d = U.canon_dim(dim, input.ndim) if input.ndim else 0
    n = input.shape[d] if input.ndim else 1
    if k < 0 or k > n:
        raise RuntimeError("selected index k out of range")
    s = sort(input, d, descending=largest, stable=True)
    from .shape import narrow

    if input.ndim == 0:
        return return_types.topk(s.values, s.indices)
    return return_types.topk(
        narrow(s.values, d, 0, k),
        U.Tensor._make(np.ascontiguousarray(np.take(s.indices._data, np.arange(k), axis=d))),
    )


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """The k-th smallest entry and its index (``torch.kthvalue``).

    Args:
        input: the tensor.
        k: the rank, from 1 (the smallest) to ``input.size(dim)``.
        dim: the dim to search along.
        keepdim: keep the reduced dim with size 1.

    Returns:
        A ``(values, indices)`` named tuple.

    Raises:
        RuntimeError: ``k`` is out of range.
    """
    d = U.canon_dim(dim, input.ndim)
    n = input.shape[d]
    if k < 1 or k > n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    s = sort(input, d, stable=True)
    idx = np.take(s.indices._data, [k - 1], axis=d)
    vals = _gather_values(input, idx, d)
    if not keepdim:
        idx = np.squeeze(idx, d)
        vals = vals.squeeze(d)
    return return_types.kthvalue(vals, U.Tensor._make(idx))


def _median(input, dim, keepdim: bool, skip_nan: bool, rt):
    """The lower median along ``dim`` and its index; a NaN wins (``median``) or is skipped
    (``nanmedian``: the median of the other entries, NaN where all are NaN)."""
    if dim is None:
        return _median(input.reshape(-1), 0, False, skip_nan, rt).values
    d = U.canon_dim(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    s = sort(input, d, stable=True)  # NaNs sort last, in their original order
    a = input._data if input.ndim else input._data.reshape(1)
    if a.dtype.kind in "fc":
        nans = np.isnan(a).sum(axis=d if input.ndim else 0, keepdims=True)
    else:
        nans = np.zeros((1,) * builtins.max(input.ndim, 1), np.int64)
    if skip_nan:
        pos = np.maximum((n - nans - 1) // 2, 0)  # all NaN: position 0, a NaN
    else:
        pos = np.where(nans > 0, n - nans, (n - 1) // 2)  # the first NaN, else the median
    sidx = s.indices._data if input.ndim else s.indices._data.reshape(1)
    shape = list(sidx.shape)
    shape[d if input.ndim else 0] = 1
    idx = np.take_along_axis(sidx, np.broadcast_to(pos, shape).astype(np.int64), axis=d)
    if not input.ndim:
        idx = idx.reshape(())
        return rt(input.clone(), U.Tensor._make(idx))
    vals = _gather_values(input, idx, d)
    if not keepdim:
        idx = np.squeeze(idx, d)
        vals = vals.squeeze(d)
    return rt(vals, U.Tensor._make(idx))


def median(input, dim=None, keepdim: bool = False):
    """The lower median; with ``dim``, (values, indices) (``torch.median``). A NaN makes
    the median NaN (its index is the first NaN's), as in PyTorch.

    Args:
        input: the tensor.
        dim: the dim to reduce; ``None`` gives the median of all elements (a 0-d tensor, no index).
        keepdim: keep the reduced dim with size 1.

    Returns:
        A tensor, or with ``dim`` a ``(values, indices)`` named tuple.
    """
    if dim is None and input.numel() == 0:
        return U.Tensor._make(np.asarray(np.nan, input._data.dtype))
    return _median(input, dim, keepdim, False, return_types.median)


def nanmedian(input, dim=None, keepdim=False):
    """The lower median of the non-NaN entries (``torch.nanmedian``); NaN where all are NaN.

    Args:
        input: the tensor.
        dim: the dim to reduce; ``None`` gives the median of all elements.
        keepdim: keep the reduced dim with size 1.

    Returns:
        A tensor, or with ``dim`` a ``(values, indices)`` named tuple.
    """
    if dim is None and input.numel() == 0:
        return U.Tensor._make(np.asarray(np.nan, input._data.dtype))
    return _median(input, dim, keepdim, True, return_types.nanmedian)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-th quantiles along ``dim`` (``torch.quantile``).

    Args:
        input: the floating-point tensor.
        q: a number or 1-D tensor of probabilities in [0, 1].
        dim: the dim to reduce; ``None`` uses the flattened tensor.
        keepdim: keep the reduced dim with size 1.
        interpolation: between the two nearest data points: ``"linear"``, ``"lower"``, ``"higher"``,
            ``"nearest"`` or ``"midpoint"``.

    Returns:
        A tensor; a 1-D ``q`` adds a leading dim, one entry per probability.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "quantile", quantile, input, q, dim, keepdim, interpolation=interpolation
        )
    qa = q._data if isinstance(q, U.Tensor) else np.asarray(q)
    x = input if dim is not None else input.reshape(-1)
    d = 0 if dim is None else U.canon_dim(dim, x.ndim)
    s = sort(x, d).values
    n = s.shape[d]
    # ranks and weights in the input's dtype, as PyTorch computes them
    dt = input._data.dtype
    pos = qa.astype(dt) * dt.type(n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(np.ceil(pos).astype(np.int64), n - 1)
    frac = (pos - lo.astype(dt)).astype(dt)
    from .index import index_select

    lo_v = index_select(s, d, U.Tensor._make(np.atleast_1d(lo)))
    hi_v = index_select(s, d, U.Tensor._make(np.atleast_1d(hi)))
    fr = U.Tensor._make(np.atleast_1d(frac).reshape([-1 if i == d else 1 for i in range(s.ndim)]))
    if interpolation == "lower":
        r = lo_v
    elif interpolation == "higher":
        r = hi_v
    elif interpolation == "nearest":
        r = index_select(s, d, U.Tensor._make(np.atleast_1d(np.round(pos).astype(np.int64))))
    elif interpolation == "midpoint":
        from .elementwise import lerp

        r = lerp(lo_v, hi_v, 0.5)
    else:
        from .elementwise import lerp

        r = lerp(lo_v, hi_v, fr)  # PyTorch interpolates with lerp
    r = r.movedim(d, 0)
    if np.ndim(qa) == 0:
        r = r.squeeze(0)
    if keepdim and dim is not None:
        r = r.unsqueeze(d + (0 if np.ndim(qa) == 0 else 1))
    return r


def mode(input, dim: int = -1, keepdim: bool = False):
    """The most frequent value (smallest on ties) and an index of it (``torch.mode``).

    Args:
        input: the tensor.
        dim: the dim to reduce.
        keepdim: keep the reduced dim with size 1.

    Returns:
        A ``(values, indices)`` named tuple; the index is the last occurrence of the value.
    """
    d = U.canon_dim(dim, input.ndim)
    a = np.moveaxis(input._data, d, -1)
    flat = a.reshape(-1, a.shape[-1])
    vals = np.empty(flat.shape[0], a.dtype)
    idxs = np.empty(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        u, c = np.unique(row, return_counts=True)
        v = u[np.argmax(c)]
        vals[r] = v
        idxs[r] = np.nonzero(row == v)[0][-1]
    shp = a.shape[:-1]
    vals, idxs = vals.reshape(shp), idxs.reshape(shp)
    if keepdim:
        vals, idxs = np.expand_dims(vals, d), np.expand_dims(idxs, d)
    return return_types.mode(U.Tensor._make(vals), U.Tensor._make(idxs))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct values, sorted (``torch.unique``).

    Args:
        input: the tensor.
        sorted: accepted for PyTorch's signature; the values always come sorted.
        return_inverse: also return, for each element, its position in the unique values.
        return_counts: also return how often each unique value occurs.
        dim: the dim along which to take unique slices; ``None`` flattens ``input``.

    Returns:
        The unique values, or a tuple ``(values, inverse?, counts?)`` with the requested extras.
    """
    a = input._data
    if dim is None:
        res = np.unique(a, return_inverse=return_inverse, return_counts=return_counts)
    else:
        res = np.unique(
            a,
            return_inverse=return_inverse,
            return_counts=return_counts,
            axis=U.canon_dim(dim, input.ndim),
        )
    if not (return_inverse or return_counts):
        return U.Tensor._make(res)
    out = [U.Tensor._make(res[0])]
    k = 1
    if return_inverse:
        out.append(U.Tensor._make(res[k].reshape(a.shape if dim is None else -1).astype(np.int64)))
        k += 1
    if return_counts:
        out.append(U.Tensor._make(res[k].astype(np.int64)))
    return tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The flattened ``input`` with each run of equal elements reduced to one
    (``torch.unique_consecutive``).

    Args:
        input: the tensor.
        return_inverse: also return, for each element, the index of its run (shaped like ``input``).
        return_counts: also return each run's length.
        dim: collapse runs of equal slices along this dim instead (``None``: flatten).

    Returns:
        The values, or a tuple ``(values, inverse?, counts?)`` with the requested extras.
    """
    if dim is None:
        a = input._data.reshape(-1)
        if a.size == 0:
            return U.Tensor._make(a.copy())
        keep = np.concatenate([[True], a[1:] != a[:-1]])
        vals = a[keep]
        inv_shape = input.shape
    else:
        d = U.canon_dim(dim, input.ndim)
        moved = np.moveaxis(input._data, d, 0)
        rows = moved.reshape(moved.shape[0], -1)
        keep = np.ones(rows.shape[0], bool)
        keep[1:] = (rows[1:] != rows[:-1]).any(axis=1)
        vals = np.ascontiguousarray(np.moveaxis(moved[keep], 0, d))
        inv_shape = (rows.shape[0],)
    out = [U.Tensor._make(vals)]
    if return_inverse:
        out.append(U.Tensor._make((np.cumsum(keep) - 1).reshape(inv_shape).astype(np.int64)))
    if return_counts:
        starts = np.nonzero(keep)[0]
        out.append(U.Tensor._make(np.diff(np.append(starts, keep.size)).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input, weights=None, minlength: int = 0):
    """Counts of each non-negative integer (``torch.bincount``).

    Args:
        input: a 1-D tensor of non-negative integers.
        weights: a tensor of ``input``'s shape: each occurrence counts its weight instead of 1.
        minlength: the least length of the result.

    Returns:
        int64 counts, or the sums of the weights (float64 for non-floating weights).

    Raises:
        RuntimeError: ``input`` is not 1-D, not integral, or has negative values.
    """
    a = input._data
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if a.size and a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    w = None if weights is None else weights._data
    r = np.bincount(a, w, minlength)
    return U.Tensor._make(
        r.astype(np.int64)
        if w is None
        else r.astype(w.dtype if w.dtype.kind == "f" else np.float64)
    )


def histc(input, bins: int = 100, min: float = 0, max: float = 0):  # noqa: A002
    """A histogram with equal-width bins (``torch.histc``).

    Args:
        input: the tensor.
        bins: the number of bins.
        min: the lower end of the range.
        max: the upper end of the range; ``min == max`` uses the data's minimum and maximum.

    Returns:
        The counts, in ``input``'s dtype; elements outside the range are not counted.
    """
    a = input._data
    lo, hi = (float(a.min()), float(a.max())) if min == max and a.size else (min, max)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    h, _ = np.histogram(a, bins=bins, range=(lo, hi))
    return U.Tensor._make(h.astype(a.dtype))


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None, sorter=None):
    """Where ``values`` would go in ``sorted_sequence`` to keep it sorted
    (``torch.searchsorted``).

    Args:
        sorted_sequence: a tensor sorted along its last dim (1-D, or with leading dims matching
            ``values``).
        values: a tensor or scalar of values to place.
        out_int32: return int32 indices instead of int64.
        right: return the last suitable index (after equal elements) instead of the first.
        side: ``"left"`` or ``"right"``, the same as ``right``; wins over it when given.
        sorter: accepted for PyTorch's signature; ``sorted_sequence`` must already be sorted.

    Returns:
        An index tensor of ``values``' shape.
    """
    s = sorted_sequence._data
    v = values._data if isinstance(values, U.Tensor) else np.asarray(values)
    side = side or ("right" if right else "left")
    if s.ndim == 1:
        r = np.searchsorted(s, v, side=side)
    else:
        r = np.stack(
            [
                np.searchsorted(si, vi, side=side)
                for si, vi in zip(s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1]))
            ]
        ).reshape(v.shape)
    return U.Tensor._make(np.asarray(r).astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The index of the bucket of each element of ``input`` (``torch.bucketize``).

    Args:
        input: the values to place.
        boundaries: a 1-D tensor of increasing bucket boundaries.
        out_int32: return int32 indices instead of int64.
        right: with ``False``, ``boundaries[i-1] < x <= boundaries[i]``; with ``True``,
            ``boundaries[i-1] <= x < boundaries[i]``.

    Returns:
        An index tensor of ``input``'s shape.
    """
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ---------------------------------------------------------------------------
# differences, integrals and statistics built from the primitives above


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """n-th forward difference along ``dim`` (``torch.diff``); xor for bool.

    Args:
        input: the tensor.
        n: how many times to take differences.
        dim: the dim to take them along.
        prepend: values (a tensor, or a 0-d tensor broadcast) put before ``input`` along ``dim``
            first.
        append: values put after ``input`` along ``dim`` first.
    """
    from .shape import cat

    d = U.canon_dim(dim, input.ndim)
    x = input
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, input, append) if p is not None]
        x = cat([p if p.ndim else p.expand(*x.shape[:d], 1, *x.shape[d + 1 :]) for p in parts], d)
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        a, b = x.narrow(d, 1, m - 1), x.narrow(d, 0, m - 1)
        x = a ^ b if x.dtype is D.bool_ else a - b
    return x


def trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """Integral of y by the trapezoidal rule along ``dim`` (``torch.trapezoid``).

    Args:
        y: the values of the function.
        x: the sample points (1-D, or shaped like ``y``); ``None`` uses a constant spacing.
        dx: the constant spacing when ``x`` is not given (default 1).
        dim: the dim to integrate along.
    """
    d = U.canon_dim(dim, y.ndim)
    m = y.shape[d]
    if m == 0:
        return sum(y, d)
    avg = (y.narrow(d, 1, m - 1) + y.narrow(d, 0, m - 1)) / 2
    if x is not None:
        avg = avg * diff(x, dim=dim if x.ndim > 1 else -1).reshape(
            [-1 if k == d else 1 for k in range(y.ndim)] if x.ndim == 1 else x.shape[:-1] + (-1,)
        )
        return sum(avg, d)
    return sum(avg, d) * (1 if dx is None else dx)


trapz = trapezoid


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """Running trapezoidal integral along ``dim`` (``torch.cumulative_trapezoid``).

    Args:
        y: the values of the function.
        x: the 1-D sample points; ``None`` uses a constant spacing.
        dx: the constant spacing when ``x`` is not given (default 1).
        dim: the dim to integrate along.

    Returns:
        One fewer element than ``y`` along ``dim``.
    """
    d = U.canon_dim(dim, y.ndim)
    m = y.shape[d]
    avg = (y.narrow(d, 1, m - 1) + y.narrow(d, 0, m - 1)) / 2
    if x is not None:
        avg = avg * diff(x).reshape([-1 if k == d else 1 for k in range(y.ndim)])
    elif dx is not None:
        avg = avg * dx
    return cumsum(avg, d)


def cov(input, *, correction: int = 1, fweights=None, aweights=None):
    """Covariance of the rows (variables) over the columns (``torch.cov``).

    Args:
        input: a 2-D tensor, one variable per row and one observation per column (or a 1-D tensor, a
            single variable).
        correction: the difference between the sum of the weights and the divisor (1, Bessel's
            correction; 0 for the population covariance).
        fweights: a 1-D integer tensor of observation frequencies.
        aweights: a 1-D tensor of observation weights.

    Raises:
        ValueError: ``input`` has more than two dims.
    """
    from .linalg import matmul

    if input.ndim > 2:
        raise ValueError(
            "cov(): expected input to have two or fewer dimensions but got an input with "
            f"{input.ndim} dimensions"
        )
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if not x.dtype.is_floating_point:
        x = x.to(D.get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        avg = mean(x, 1, keepdim=True)
        norm = n - correction
        xc = x - avg
        c = matmul(xc, xc.t()) / builtins.max(norm, 0)
    else:
        w_sum = sum(w)
        avg = sum(x * w, 1, keepdim=True) / w_sum
        if aweights is None or correction == 0:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * sum(w * aweights.to(x.dtype)) / w_sum
        xc = x - avg
        c = matmul(xc * w, xc.t()) / norm.clamp(min=0)
    return c.reshape(()) if input.ndim < 2 else c


def corrcoef(input):
    """Pearson correlation coefficients of the rows (``torch.corrcoef``).

    Args:
        input: a 2-D tensor, one variable per row and one observation per column (or a 1-D tensor).

    Returns:
        The correlation matrix, clamped to [-1, 1].
    """
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    c = c / d.sqrt()[:, None] / d.sqrt()[None, :]
    return c.clamp(-1, 1)


# ---------------------------------------------------------------------------
# PyTorch's unstable sort order for ties


def _unstable_ties(a, idx, d, descending):
    """Reorder equal values like PyTorch's unstable sort (rows with ties only)."""
    srt = np.take_along_axis(a, idx, d)
    same = srt[..., 1:] == srt[..., :-1] if d == a.ndim - 1 else None
    if same is None:
        same = np.moveaxis(srt, d, -1)
        same = same[..., 1:] == same[..., :-1]
    if a.dtype.kind == "f":
        same = same | np.isnan(np.moveaxis(srt, d, -1)[..., 1:])
    rows_with_ties = np.moveaxis(same, -1, -1).reshape(-1, same.shape[-1]).any(1)
    if not rows_with_ties.any():
        return idx
    rows = np.moveaxis(a, d, -1).reshape(-1, a.shape[d])
    out = np.moveaxis(idx, d, -1).reshape(-1, a.shape[d]).copy()
    for r in np.nonzero(rows_with_ties)[0]:
        out[r] = _std_sort_indices(rows[r].tolist(), descending)
    shape = np.moveaxis(a, d, -1).shape
    return np.moveaxis(out.reshape(shape), -1, d)


# Above this many elements the pure-Python emulation is too slow; a stable sort is used
# (the same values; only the order of equal values can differ from PyTorch).
_STD_SORT_LIMIT = 200_000


def _std_sort_indices(vals, descending=False):
    """The order PyTorch's CPU ``sort`` (``stable=False``) gives: libstdc++'s ``std::sort``.

    An introsort (median-of-three quicksort down to runs of 16, a heapsort fallback,
    then insertion sort) over (value, index) pairs that compares values only, with NaN
    sorted last (first when descending). Only the order of equal values depends on it.
    """
    n = len(vals)
    v = list(vals)
    idx = list(range(n))

    def less(a, b):
        if descending:
            return (a != a and b == b) or a > b
        return (a == a and b != b) or a < b

    def lt(i, j):
        return less(v[i], v[j])

    def swap(i, j):
        v[i], v[j] = v[j], v[i]
        idx[i], idx[j] = idx[j], idx[i]

    def put(dst, src):
        v[dst] = v[src]
        idx[dst] = idx[src]

    def median_to_first(result, a, b, c):
        if lt(a, b):
            if lt(b, c):
                swap(result, b)
            elif lt(a, c):
                swap(result, c)
            else:
                swap(result, a)
        elif lt(a, c):
            swap(result, a)
        elif lt(b, c):
            swap(result, c)
        else:
            swap(result, b)

    def partition(first, last, pivot):
        while True:
            while lt(first, pivot):
                first += 1
            last -= 1
            while lt(pivot, last):
                last -= 1
            if not first < last:
                return first
            swap(first, last)
            first += 1

    def adjust_heap(first, hole, length, val, vi):
        top = second = hole
        while second < (length - 1) // 2:
            second = 2 * (second + 1)
            if less(v[first + second], v[first + second - 1]):
                second -= 1
            put(first + hole, first + second)
            hole = second
        if (length & 1) == 0 and second == (length - 2) // 2:
            second = 2 * (second + 1)
            put(first + hole, first + second - 1)
            hole = second - 1
        parent = (hole - 1) // 2
        while hole > top and less(v[first + parent], val):
            put(first + hole, first + parent)
            hole = parent
            parent = (hole - 1) // 2
        v[first + hole] = val
        idx[first + hole] = vi

    def heap_sort(first, last):
        length = last - first
        parent = (length - 2) // 2
        while length >= 2:
            adjust_heap(first, parent, length, v[first + parent], idx[first + parent])
            if parent == 0:
                break
            parent -= 1
        while last - first > 1:
            last -= 1
            val, vi = v[last], idx[last]
            put(last, first)
            adjust_heap(first, 0, last - first, val, vi)

    def introsort(first, last, depth):
        while last - first > 16:
            if depth == 0:
                heap_sort(first, last)
                return
            depth -= 1
            median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
            cut = partition(first + 1, last, first)
            introsort(cut, last, depth)
            last = cut

    def linear_insert(last):
        val, vi = v[last], idx[last]
        nxt = last - 1
        while less(val, v[nxt]):
            put(last, nxt)
            last = nxt
            nxt -= 1
        v[last] = val
        idx[last] = vi

    def insertion_sort(first, last):
        for i in range(first + 1, last):
            if lt(i, first):
                val, vi = v[i], idx[i]
                v[first + 1 : i + 1] = v[first:i]
                idx[first + 1 : i + 1] = idx[first:i]
                v[first] = val
                idx[first] = vi
            else:
                linear_insert(i)

    if n > 1:
        introsort(0, n, 2 * int(math.floor(math.log2(n))))
        insertion_sort(0, builtins.min(n, 16))
        for i in range(16, n):
            linear_insert(i)
    return idx
