"""dtypes and PyTorch's type-promotion rules (mirrors ``torch.dtype``)."""

from __future__ import annotations

import builtins

import numpy as np

try:  # bfloat16 arrays need ml_dtypes (the `bfloat16` extra); the dtype object exists without it
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - exercised only where the extra is not installed
    _ml_dtypes = None

_builtin_float, _builtin_int, _builtin_bool = builtins.float, builtins.int, builtins.bool


class dtype:  # noqa: N801 - the name mirrors torch.dtype
    """A tensor element type, like ``torch.float32``; ``.np`` is the NumPy dtype.

    Args:
        name: the PyTorch name, such as ``'float32'``.
        np_dtype: the NumPy dtype that stores the elements.
        rank: the position in the promotion order within the dtype's category.

    Note:
        the dtypes are module constants (``torch.float32`` and so on); user code does not construct
            new ones.
    """

    __slots__ = ("name", "np", "is_floating_point", "is_complex", "is_signed", "itemsize", "_rank")

    def __init__(self, name: str, np_dtype, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_complex = self.np.kind == "c"
        self.is_signed = self.np.kind in "fic"
        self.itemsize = self.np.itemsize
        self._rank = rank

    def _init_bfloat16(self, np_dtype) -> None:
        # ml_dtypes' bfloat16 is a NumPy user dtype of kind "V": set the flags by hand
        self.name, self.np, self._rank = "bfloat16", np_dtype, 6
        self.is_floating_point, self.is_complex, self.is_signed = True, False, True
        self.itemsize = 2

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self) -> dtype:
        return self

    @property
    def category(self) -> int:
        """0 bool, 1 integer, 2 floating point, 3 complex."""
        if self.is_floating_point:
            return 2
        if self.np.kind == "b":
            return 0
        if self.np.kind in "iu":
            return 1
        if self.is_complex:
            return 3
        return 2


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 2)
int16 = dtype("int16", np.int16, 3)
int32 = dtype("int32", np.int32, 4)
int64 = dtype("int64", np.int64, 5)
float16 = dtype("float16", np.float16, 6)
float32 = dtype("float32", np.float32, 7)
float64 = dtype("float64", np.float64, 8)
complex64 = dtype("complex64", np.complex64, 9)
complex128 = dtype("complex128", np.complex128, 10)


class _BFloat16(dtype):
    """``torch.bfloat16``: stored as ``ml_dtypes.bfloat16`` (the ``bfloat16`` extra).

    Without ml_dtypes the dtype object still exists (promotion, ``finfo``, printing),
    and ``.np`` raises an ImportError that names the extra.
    """

    __slots__ = ()

    def __init__(self):
        self._init_bfloat16(None)

    def __getattribute__(self, name):
        if name == "np":
            arr_dtype = object.__getattribute__(self, "np")
            if arr_dtype is None:
                raise ImportError(
                    'bfloat16 tensors need the ml_dtypes package: pip install "tapegrad[bfloat16]"'
                )
            return arr_dtype
        return object.__getattribute__(self, name)


bfloat16 = _BFloat16()
if _ml_dtypes is not None:
    bfloat16.np = np.dtype(_ml_dtypes.bfloat16)

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64, complex64, complex128)
_NP_TO_DTYPE = {d.np: d for d in ALL}
if _ml_dtypes is not None:
    _NP_TO_DTYPE[bfloat16.np] = bfloat16
_NAME_TO_DTYPE = {d.name: d for d in ALL}
_NAME_TO_DTYPE["bfloat16"] = bfloat16
# the reduced-precision floats whose arithmetic PyTorch's CPU kernels do in float32
LOW_PRECISION = (float16, bfloat16)


def _by_name(name: str) -> dtype:
    return _NAME_TO_DTYPE[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The tapegrad dtype of a NumPy dtype; TypeError for types PyTorch has no tensor for."""
    try:
        return _NP_TO_DTYPE[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types are: "
            "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
            "uint8, and bool."
        ) from None


_default_float = float32


def get_default_dtype() -> dtype:
    """The default floating point dtype (``torch.get_default_dtype``)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the default floating point dtype (``torch.set_default_dtype``).

    Args:
        d: a floating dtype, the new default for float tensors created from Python numbers and
            factories.

    Raises:
        TypeError: ``d`` is not a floating dtype.
    """
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both can be cast to (``torch.promote_types``).

    Args:
        a: the first dtype.
        b: the second dtype.
    """
    if a is b:
        return a
    ca, cb = a.category, b.category
    if ca != cb:
        hi, lo = (a, b) if ca > cb else (b, a)
        if hi.is_complex and lo.is_floating_point:
            return complex128 if lo is float64 or hi is complex128 else hi
        return hi
    if ca == 2 or ca == 3:
        if a._rank == b._rank:  # float16 with bfloat16: neither holds the other
            return float32
        return a if a._rank > b._rank else b
    return _NP_TO_DTYPE[np.promote_types(a.np, b.np)]


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    # Mirrors c10's combine_categories: a higher-priority group wins unless the
    # lower one is of a higher category (e.g. an int tensor times a float scalar).
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.category >= 2 and higher.category >= lower.category:
        return higher
    if higher is bool_ or lower.category > higher.category:
        return promote_types(higher, lower)
    return higher


def scalar_dtype(x) -> dtype:
    """The dtype a Python scalar takes part in promotion as (a 'wrapped number')."""
    if isinstance(x, (_builtin_bool, np.bool_)):
        return bool_
    if isinstance(x, (_builtin_int, np.integer)):
        return int64
    if isinstance(x, complex):
        return complex64 if _default_float is float32 else complex128
    return _default_float


def result_type(*operands) -> dtype:
    """PyTorch's result type of tensors and scalars (``torch.result_type``).

    Tensors with dimensions outrank zero-dim tensors, which outrank Python
    scalars, unless a lower group is of a higher category (bool < int < float).
    """
    dim_res = zero_res = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim > 0:
                dim_res = d if dim_res is None else promote_types(dim_res, d)
            else:
                zero_res = d if zero_res is None else promote_types(zero_res, d)
        elif x is not None:
            s = scalar_dtype(x)
            wrapped = s if wrapped is None else promote_types(wrapped, s)
    return _combine(dim_res, _combine(zero_res, wrapped))


def to_dtype(d) -> dtype:
    """Accept a tapegrad dtype, a NumPy dtype or a Python type (float, int, bool)."""
    if isinstance(d, dtype):
        return d
    if d is None:
        return _default_float
    if d is _builtin_float:
        return float64
    if d is _builtin_int:
        return int64
    if d is _builtin_bool:
        return bool_
    try:
        return from_numpy_dtype(d)
    except TypeError:
        raise TypeError(f"expected a dtype (e.g. torch.float32), got {d!r}") from None


class finfo:  # noqa: N801 - mirrors torch.finfo
    """Machine limits of a floating dtype (``torch.finfo``).

    Args:
        type: a floating dtype; ``None`` means the default dtype.
    """

    def __init__(self, type: dtype | None = None):  # noqa: A002
        t = get_default_dtype() if type is None else to_dtype(type)
        if not t.is_floating_point:
            raise TypeError(f"torch.finfo() requires a floating point input type, got {t}")
        self.dtype = str(t).replace("torch.", "")
        if t is bfloat16:
            # 8 exponent bits and 7 mantissa bits: float32's range, 2 decimal digits
            # (fixed numbers, so finfo works without ml_dtypes)
            self.bits, self.eps, self.resolution = 16, 2.0**-7, 0.01
            self.max = (2.0 - 2.0**-7) * 2.0**127
            self.min = -self.max
            self.tiny = self.smallest_normal = 2.0**-126
            return
        fi = np.finfo(t.np)
        self.bits = fi.bits
        self.eps = builtins.float(fi.eps)
        self.max = builtins.float(fi.max)
        self.min = builtins.float(fi.min)
        self.tiny = self.smallest_normal = builtins.float(fi.tiny)
        self.resolution = 10.0**-fi.precision

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo:  # noqa: N801 - mirrors torch.iinfo
    """Limits of an integer dtype (``torch.iinfo``).

    Args:
        type: an integer (or bool) dtype.
    """

    def __init__(self, type: dtype):  # noqa: A002
        t = to_dtype(type)
        if t.is_floating_point or t.is_complex:
            raise TypeError(f"torch.iinfo() requires an integer input type, got {t}")
        ii = np.iinfo(t.np) if t is not bool_ else None
        self.dtype = str(t).replace("torch.", "")
        self.bits = 8 * t.itemsize
        self.max = 1 if ii is None else builtins.int(ii.max)
        self.min = 0 if ii is None else builtins.int(ii.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
