"""Attach the ops to ``Tensor`` as methods, operators and in-place ``_`` forms."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from . import _dtype as D
from ._tensor import Tensor
from .autograd import grad_mode
from .ops import complex as CX
from .ops import elementwise as E
from .ops import index as I
from .ops import linalg as L
from .ops import random as RND
from .ops import reduce as R
from .ops import shape as S
from .ops import special as SP

_METHODS = {
    # elementwise
    **{
        n: getattr(E, n)
        for n in (
            "add",
            "sub",
            "subtract",
            "mul",
            "multiply",
            "div",
            "divide",
            "true_divide",
            "floor_divide",
            "remainder",
            "fmod",
            "pow",
            "float_power",
            "maximum",
            "minimum",
            "fmax",
            "fmin",
            "atan2",
            "arctan2",
            "hypot",
            "logaddexp",
            "addcmul",
            "addcdiv",
            "logit",
            "sinc",
            "heaviside",
            "logaddexp2",
            "ldexp",
            "positive",
            "isreal",
            "xlogy",
            "sgn",
            "deg2rad",
            "rad2deg",
            "copysign",
            "lerp",
            "clamp",
            "clip",
            "clamp_min",
            "clamp_max",
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "greater",
            "greater_equal",
            "less",
            "less_equal",
            "not_equal",
            "logical_and",
            "logical_or",
            "logical_xor",
            "logical_not",
            "bitwise_and",
            "bitwise_or",
            "bitwise_xor",
            "bitwise_not",
            "isnan",
            "isinf",
            "isfinite",
            "isposinf",
            "isneginf",
            "isclose",
            "allclose",
            "equal",
            "nan_to_num",
            "neg",
            "negative",
            "abs",
            "absolute",
            "sign",
            "exp",
            "exp2",
            "expm1",
            "log",
            "log2",
            "log10",
            "log1p",
            "sqrt",
            "rsqrt",
            "square",
            "reciprocal",
            "sin",
            "cos",
            "tan",
            "asin",
            "acos",
            "atan",
            "arcsin",
            "arccos",
            "arctan",
            "sinh",
            "cosh",
            "tanh",
            "asinh",
            "acosh",
            "atanh",
            "arcsinh",
            "arccosh",
            "arctanh",
            "sigmoid",
            "relu",
            "erf",
            "erfc",
            "erfinv",
            "floor",
            "ceil",
            "trunc",
            "fix",
            "frac",
            "round",
            "signbit",
        )
    },
    # reductions
    **{
        n: getattr(R, n)
        for n in (
            "sum",
            "nansum",
            "mean",
            "nanmean",
            "prod",
            "var",
            "std",
            "norm",
            "dist",
            "max",
            "min",
            "amax",
            "amin",
            "aminmax",
            "argmax",
            "argmin",
            "logsumexp",
            "softmax",
            "log_softmax",
            "cumsum",
            "cumprod",
            "cummax",
            "cummin",
            "logcumsumexp",
            "any",
            "all",
            "count_nonzero",
            "sort",
            "argsort",
            "msort",
            "topk",
            "kthvalue",
            "median",
            "nanmedian",
            "quantile",
            "mode",
            "unique",
            "unique_consecutive",
            "bincount",
            "histc",
        )
    },
    # shape
    **{
        n: getattr(S, n)
        for n in (
            "clone",
            "contiguous",
            "view",
            "view_as",
            "reshape",
            "reshape_as",
            "flatten",
            "ravel",
            "unflatten",
            "transpose",
            "swapaxes",
            "swapdims",
            "t",
            "permute",
            "movedim",
            "moveaxis",
            "adjoint",
            "expand",
            "expand_as",
            "broadcast_to",
            "squeeze",
            "unsqueeze",
            "diagonal",
            "diag_embed",
            "diag",
            "diagflat",
            "split",
            "split_with_sizes",
            "chunk",
            "tensor_split",
            "unbind",
            "flip",
            "fliplr",
            "flipud",
            "roll",
            "rot90",
            "repeat",
            "tile",
            "repeat_interleave",
            "tril",
            "triu",
            "narrow",
            "unfold",
        )
    },
    # indexing
    **{
        n: getattr(I, n)
        for n in (
            "select",
            "index_select",
            "gather",
            "take_along_dim",
            "scatter",
            "scatter_add",
            "scatter_reduce",
            "index_add",
            "index_copy",
            "index_fill",
            "masked_fill",
            "masked_select",
            "masked_scatter",
            "nonzero",
            "argwhere",
            "take",
            "index_put",
        )
    },
    # linear algebra
    **{
        n: getattr(L, n)
        for n in (
            "matmul",
            "mm",
            "mv",
            "bmm",
            "dot",
            "vdot",
            "inner",
            "outer",
            "ger",
            "addmm",
            "addmv",
            "baddbmm",
            "addbmm",
            "addr",
            "kron",
            "cross",
            "trace",
            "det",
            "logdet",
            "slogdet",
            "matrix_exp",
            "geqrf",
            "inverse",
            "pinverse",
            "cholesky",
        )
        if hasattr(L, n)
    },
    "inverse": L.inv,
    "orgqr": L.householder_product,
    "pinverse": L.pinverse,
    "cholesky": L.cholesky,
    "svd": L.old_svd,
    "lstsq": L.lstsq,
    "bernoulli": RND.bernoulli,
    "multinomial": RND.multinomial,
    "where": lambda self, condition, other: E.where(condition, self, other),
    # special functions
    "lgamma": SP.lgamma,
    "digamma": SP.digamma,
    "polygamma": lambda self, n: SP.polygamma(n, self),
    "mvlgamma": SP.mvlgamma,
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)


# -- properties --------------------------------------------------------------


# PyTorch warns once per process about each deprecated use of .T.
_T_WARNED = {"0-d": False, "n-d": False}


def _T(self):
    kind = "0-d" if self.ndim == 0 else None if self.ndim == 2 else "n-d"
    if kind is not None and not _T_WARNED[kind]:
        _T_WARNED[kind] = True
        warnings.warn(
            "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases."
            if kind == "0-d"
            else "The use of `x.T` on tensors of dimension other than 2 to reverse their shape "
            "is deprecated and it will throw an error in a future release. Consider `x.mT` to "
            "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` "
            "to reverse the dimensions of a tensor.",
            UserWarning,
            stacklevel=2,
        )
    return S.permute(self, *reversed(range(self.ndim)))


Tensor.T = property(_T)


def _mT(self):
    if self.ndim < 2:
        raise RuntimeError(
            "tensor.mT is only supported on matrices or batches of matrices. Got "
            f"{self.ndim}-D tensor."
        )
    return S.transpose(self, -2, -1)


Tensor.mT = property(_mT)
# the conjugate transposes (the conjugate is the tensor itself when real)
Tensor.H = property(lambda self: CX.conj(S.t(self)))
Tensor.mH = property(lambda self: CX.conj(S.transpose(self, -2, -1)))


# the real and imaginary parts are views of a complex tensor's storage, as in PyTorch
Tensor.real = property(CX.real)
Tensor.imag = property(CX.imag)
Tensor.angle = CX.angle


# -- indexing ----------------------------------------------------------------

Tensor.__getitem__ = I.getitem
Tensor.__setitem__ = I.setitem


# -- operators ---------------------------------------------------------------


# Operand types of the arithmetic operators; the concrete types come first because
# isinstance against the numbers.Number ABC is slow and these checks run on every op.
_OPERAND_TYPES = (Tensor, float, int, numbers.Number, np.ndarray, np.generic)
# the dtypes whose number operands ``_direct`` takes from the shared-constant cache
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _r(fn):
    def rop(self, other):
        if not isinstance(other, _OPERAND_TYPES):
            return NotImplemented
        return fn(other if isinstance(other, Tensor) else _lift(other, self), self)

    return rop


def _lift(x, like):
    # A reflected scalar keeps its Python type so that promotion treats it as a scalar.
    return x.item() if isinstance(x, np.generic) else x


def _op(fn):
    def op(self, other):
        # like PyTorch, a list is not an operand (tensor + [1, 2] is a TypeError)
        if not isinstance(other, _OPERAND_TYPES):
            return NotImplemented
        if isinstance(other, np.generic):
            other = other.item()
        return fn(self, other)

    return op


def _direct(fn_cls, fn, tensors: bool = True):
    """An operator that sends a number operand and a plain Tensor one (when ``tensors``, or
    when neither is a bool tensor) straight to the primitive ``fn_cls``, skipping
    ``fn``'s argument handling, which is the identity for them; anything else takes
    ``fn``. (Operators run once per op, and each Python call level costs about as much
    as a small tensor's arithmetic.)"""
    slow = _op(fn)
    apply = fn_cls.apply

    def op(self, other):
        t = type(other)
        # The two commonest cases reach the primitive without E._binary's calls, with
        # the operands it would pick: a number the shared-constant cache already holds
        # for a float32/float64 tensor, and a Tensor of the same dtype.
        if t is float or t is int:
            dt = self._data.dtype
            if dt is _F32 or dt is _F64:
                c = E._CONSTS.get((other, dt))  # read each time: the table may be replaced
                if c is not None:
                    return apply(self, c)
        elif t is Tensor:
            dt = self._data.dtype
            if other._data.dtype is dt and (tensors or dt.kind != "b"):
                try:
                    return apply(self, other)
                except ValueError:
                    err = E._broadcast_error(self, other)
                    if err is not None:
                        raise err from None
                    raise
        if tensors:
            if t is float or t is int or t is Tensor:
                return E._binary(fn_cls, self, other)
        # (``tensors`` False: subtraction, whose checks concern bool tensors only)
        elif self._data.dtype.kind != "b" and (
            t is float or t is int or (t is Tensor and other._data.dtype.kind != "b")
        ):
            return E._binary(fn_cls, self, other)
        return slow(self, other)

    return op


_matmul_checked = _op(L.matmul)


def _matmul(self, other):
    """``self @ other``: a plain Tensor goes straight to ``matmul`` (its own fast path for
    two matrices), skipping the operand-type checks for other kinds of operands."""
    if type(other) is Tensor:
        return L.matmul(self, other)
    return _matmul_checked(self, other)


Tensor.__add__ = _direct(E.Add, E.add)
Tensor.__radd__ = _r(E.add)
# a bool tensor raises in E.sub
Tensor.__sub__ = _direct(E.Sub, E.sub, tensors=False)
Tensor.__rsub__ = _r(lambda other, self: E.rsub(self, other))
Tensor.__mul__ = _direct(E.Mul, E.mul)
Tensor.__rmul__ = _r(E.mul)
Tensor.__truediv__ = _op(E.div)
Tensor.__rtruediv__ = _r(E.div)
Tensor.__floordiv__ = _op(E.floor_divide)
Tensor.__rfloordiv__ = _r(E.floor_divide)
Tensor.__mod__ = _op(E.remainder)
Tensor.__rmod__ = _r(E.remainder)
Tensor.__pow__ = _op(E.pow)
Tensor.__rpow__ = _r(E.pow)
Tensor.__matmul__ = _matmul
Tensor.__rmatmul__ = _r(L.matmul)
Tensor.__neg__ = E.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = E.abs


def _invert(self):
    if self.dtype.is_floating_point:
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
        )
    return E.bitwise_not(self)


Tensor.__invert__ = _invert
Tensor.__and__ = _op(E.bitwise_and)
Tensor.__rand__ = _r(E.bitwise_and)
Tensor.__or__ = _op(E.bitwise_or)
Tensor.__ror__ = _r(E.bitwise_or)
Tensor.__xor__ = _op(E.bitwise_xor)
Tensor.__rxor__ = _r(E.bitwise_xor)
Tensor.__lshift__ = _op(E.bitwise_left_shift)
Tensor.__rshift__ = _op(E.bitwise_right_shift)
Tensor.__eq__ = _op(E.eq)
Tensor.__ne__ = _op(E.ne)
Tensor.__lt__ = _op(E.lt)
Tensor.__le__ = _op(E.le)
Tensor.__gt__ = _op(E.gt)
Tensor.__ge__ = _op(E.ge)
Tensor.__hash__ = lambda self: id(self)


# -- in-place forms ----------------------------------------------------------

# Fast path when autograd is not recording: a ufunc writing straight into the
# tensor's storage, no temporary (optimizer updates, normalisation in place).
_UFUNC_INPLACE = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}


def _make_inplace(name, fn):
    ufunc = _UFUNC_INPLACE.get(name)

    def method(self, *args, **kwargs):
        if (
            ufunc is not None
            and not (
                grad_mode._enabled.enabled
                and (
                    self._requires_grad
                    or (args and isinstance(args[0], Tensor) and args[0]._requires_grad)
                )
            )
            and len(args) == 1
            and (not kwargs or set(kwargs) <= {"alpha"})
        ):
            other = args[0]
            alpha = kwargs.get("alpha", 1)
            o = other._data if isinstance(other, Tensor) else other
            dt = E._promote(self, other)
            if dt is self.dtype or (name == "div" and not self.dtype.is_floating_point and False):
                if name == "div" and not dt.is_floating_point:
                    pass
                else:
                    if alpha != 1:
                        o = np.multiply(o, alpha)
                    if isinstance(o, np.ndarray) and o.dtype != self._data.dtype:
                        o = o.astype(self._data.dtype)
                    try:
                        ufunc(self._data, o, out=self._data, casting="unsafe")
                    except ValueError:
                        return self._inplace(fn, *args, **kwargs)
                    self._version_counter.v += 1
                    return self
        return self._inplace(fn, *args, **kwargs)

    method.__name__ = name + "_"
    method.__doc__ = f"In-place ``{name}`` (``Tensor.{name}_``)."
    return method


_INPLACE = [
    "lgamma",
    "digamma",
    "polygamma",
    "mvlgamma",
    "logit",
    "sinc",
    "ldexp",
    "heaviside",
    "addcmul",
    "addcdiv",
    "xlogy",
    "sgn",
    "deg2rad",
    "rad2deg",
    "copysign",
    "add",
    "sub",
    "subtract",
    "mul",
    "multiply",
    "div",
    "divide",
    "true_divide",
    "floor_divide",
    "remainder",
    "fmod",
    "pow",
    "float_power",
    "atan2",
    "hypot",
    "lerp",
    "clamp",
    "clip",
    "clamp_min",
    "clamp_max",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "nan_to_num",
    "neg",
    "negative",
    "abs",
    "absolute",
    "sign",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sqrt",
    "rsqrt",
    "square",
    "reciprocal",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "sigmoid",
    "relu",
    "erf",
    "erfc",
    "erfinv",
    "floor",
    "ceil",
    "trunc",
    "fix",
    "frac",
    "round",
    "cumsum",
    "cumprod",
    "tril",
    "triu",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "index_add",
    "index_copy",
    "index_fill",
    "masked_fill",
    "masked_scatter",
    "index_put",
    "squeeze",
    "unsqueeze",
    "transpose",
    "t",
    "addmm",
    "baddbmm",
    "addbmm",
    "addr",
    "addmv",
    "where",
]
_SHAPE_INPLACE = {"squeeze", "unsqueeze", "transpose", "t"}

for _name in _INPLACE:
    if _name in _SHAPE_INPLACE:
        continue
    setattr(Tensor, _name + "_", _make_inplace(_name, _METHODS[_name]))


def _fill_diagonal_(self, fill_value, wrap: bool = False):
    """Write ``fill_value`` on the main diagonal in place (``Tensor.fill_diagonal_``)."""
    shape = self.shape
    if self.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.ndim > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    n = min(shape)
    if self.ndim == 2 and wrap and shape[0] > shape[1] + 1:
        # tall matrices restart the diagonal every ncols + 1 rows
        flat = np.arange(0, shape[0] * shape[1], shape[1] + 1)
        idx = np.unravel_index(flat, shape)
    else:
        idx = (np.arange(n),) * self.ndim
    from .ops.creation import tensor as _tensor

    I.setitem(self, tuple(_tensor(i) for i in idx), fill_value)
    return self


Tensor.fill_diagonal_ = _fill_diagonal_


def _shape_inplace(name):
    fn = _METHODS[name]

    def method(self, *args, **kwargs):
        r = fn(self, *args, **kwargs)
        self._data = r._data
        if r.grad_fn is not None:
            self.grad_fn = r.grad_fn
            self._output_nr = r._output_nr
        return self

    method.__name__ = name + "_"
    return method


for _name in _SHAPE_INPLACE:
    setattr(Tensor, _name + "_", _shape_inplace(_name))

Tensor.__iadd__ = lambda self, other: Tensor.add_(self, other)
Tensor.__isub__ = lambda self, other: Tensor.sub_(self, other)
Tensor.__imul__ = lambda self, other: Tensor.mul_(self, other)
Tensor.__itruediv__ = lambda self, other: Tensor.div_(self, other)
Tensor.__ifloordiv__ = lambda self, other: Tensor.floor_divide_(self, other)
Tensor.__imod__ = lambda self, other: Tensor.remainder_(self, other)
Tensor.__ipow__ = lambda self, other: Tensor.pow_(self, other)
Tensor.__iand__ = lambda self, other: Tensor.bitwise_and_(self, other)
Tensor.__ior__ = lambda self, other: Tensor.bitwise_or_(self, other)
Tensor.__ixor__ = lambda self, other: Tensor.bitwise_xor_(self, other)


def _imatmul(self, other):
    return self.copy_(L.matmul(self, other))


Tensor.__imatmul__ = _imatmul


def copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast, cast) into this tensor (``Tensor.copy_``)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    return self._inplace(lambda s, x: S.CopyFrom.apply(s, x), src)


def fill_(self, value):
    """Fill with ``value`` (``Tensor.fill_``)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        if grad_mode._enabled.enabled and (self._requires_grad or value._requires_grad):
            return self._inplace(lambda s, v: S.CopyFrom.apply(s, v), value)
        value = value.item()
    self._check_inplace()
    if grad_mode._enabled.enabled and self._requires_grad:
        return self._inplace(
            lambda s: S.CopyFrom.apply(s, Tensor._make(np.asarray(value, s._data.dtype)))
        )
    try:
        self._data.fill(value)
    except OverflowError:
        from .ops._util import overflow_error

        raise overflow_error(self.dtype) from None
    self._version_counter.v += 1
    return self


def zero_(self):
    """Fill with zeros (``Tensor.zero_``)."""
    return fill_(self, 0)


def _new(kind):
    from .ops import creation as C

    def method(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        dt = dtype or self.dtype
        if kind == "full":
            shape, value = size
            return C.full(shape, value, dtype=dt, requires_grad=requires_grad)
        return getattr(C, kind)(*size, dtype=dt, requires_grad=requires_grad)

    return method


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    from .ops import creation as C

    if isinstance(data, Tensor):
        warnings.warn(C._COPY_CONSTRUCT.format("tensor.new_tensor"), UserWarning, stacklevel=2)
        data = data.detach()  # copied below, without the warning of torch.tensor
        return C.tensor(data.numpy(), dtype=dtype or data.dtype, requires_grad=requires_grad)
    return C.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def resize_(self, *size):
    from .ops._util import size_args

    shape = size_args(size)
    n = int(np.prod(shape)) if shape else 1
    flat = self._data.reshape(-1)
    new = np.zeros(n, self._data.dtype)
    k = min(n, flat.size)
    new[:k] = flat[:k]
    self._data = new.reshape(shape)
    return self


def resize_as_(self, other):
    return resize_(self, *other.shape)


def apply_(self, fn):
    flat = self._data.reshape(-1)
    for i, v in enumerate(flat.tolist()):
        flat[i] = fn(v)
    return self


Tensor.copy_ = copy_
Tensor.fill_ = fill_
Tensor.zero_ = zero_
Tensor.new_zeros = _new("zeros")
Tensor.new_ones = _new("ones")
Tensor.new_empty = _new("empty")
Tensor.new_full = _new("full")
Tensor.new_tensor = new_tensor
Tensor.resize_ = resize_
Tensor.resize_as_ = resize_as_
Tensor.apply_ = apply_
Tensor.uniform_ = RND.uniform_
Tensor.normal_ = RND.normal_
Tensor.random_ = RND.random_
Tensor.bernoulli_ = RND.bernoulli_
Tensor.exponential_ = RND.exponential_
Tensor.geometric_ = RND.geometric_
Tensor.cauchy_ = RND.cauchy_
Tensor.log_normal_ = RND.log_normal_
Tensor.dim_order = lambda self: tuple(range(self.ndim))
Tensor.is_set_to = lambda self, other: self._data is other._data
Tensor.sum_to_size = lambda self, *size: (
    Tensor._make(self._data) if False else _sum_to_size(self, *size)
)


def _sum_to_size(self, *size):
    from .ops._util import size_args

    shape = size_args(size)
    lead = self.ndim - len(shape)
    dims = list(range(lead)) + [
        lead + i for i, s in enumerate(shape) if s == 1 and self.shape[lead + i] != 1
    ]
    r = R.sum(self, dims, keepdim=True) if dims else self
    return S.reshape(r, *shape)


Tensor.is_floating_point = lambda self: self.dtype.is_floating_point
Tensor.element_size = lambda self: self._data.itemsize
Tensor.__array_ufunc__ = None
del D


# -- more methods and aliases --------------------------------------------------

Tensor.diff = R.diff
Tensor.cov = R.cov
Tensor.corrcoef = R.corrcoef
Tensor.hsplit = S.hsplit
Tensor.vsplit = S.vsplit
Tensor.dsplit = S.dsplit
Tensor.matrix_power = L.matrix_power
Tensor.qr = L.qr
Tensor.swapaxes_ = Tensor.transpose_
Tensor.swapdims_ = Tensor.transpose_
for _alias, _target in (
    ("arccosh_", "acosh_"),
    ("arcsinh_", "asinh_"),
    ("arctanh_", "atanh_"),
    ("arctan2_", "atan2_"),
    ("greater_", "gt_"),
    ("greater_equal_", "ge_"),
    ("less_", "lt_"),
    ("less_equal_", "le_"),
    ("not_equal_", "ne_"),
):
    if hasattr(Tensor, _target):
        setattr(Tensor, _alias, getattr(Tensor, _target))


def _identity(self):
    # the negation bit is never set: tapegrad negates eagerly
    return self


Tensor.conj = CX.conj
Tensor.resolve_conj = CX.resolve_conj
Tensor.resolve_neg = _identity
Tensor.conj_physical = CX.conj_physical
Tensor.is_conj = CX.is_conj
Tensor.is_neg = lambda self: False
Tensor.is_inference = lambda self: False


def _is_nonzero(self) -> bool:
    """The truth of a one-element tensor (``Tensor.is_nonzero``)."""
    if self._data.size == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if self._data.size != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(self._data.reshape(()).item() != 0)


Tensor.is_nonzero = _is_nonzero
Tensor.is_same_size = lambda self, other: self.shape == other.shape


def _put_(self, index, source, accumulate: bool = False):
    """Write ``source`` at flat ``index`` positions, in place (``Tensor.put_``)."""
    n = self.numel()
    idx = index._data.reshape(-1)
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(
            f"out of range: tried to access index {int(idx.max())} on a tensor of {n} elements."
        )
    flat = np.unravel_index(np.where(idx < 0, idx + n, idx), self.shape)
    from .ops.creation import tensor as _tensor

    pos = tuple(_tensor(c.astype(np.int64)) for c in flat)
    return I.index_put_(self, pos, source.reshape(-1), accumulate)


def _put(self, index, source, accumulate: bool = False):
    """``put_`` on a copy (``Tensor.put``)."""
    return _put_(self.clone(), index, source, accumulate)


Tensor.put_ = _put_
Tensor.put = _put
