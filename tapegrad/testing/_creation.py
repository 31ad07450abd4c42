"""``make_tensor``: random test tensors drawn as PyTorch draws them.

Mirrors ``torch.testing.make_tensor``: the same default ranges and the same calls on
the random stream (``randint`` for integers and bool, ``uniform_`` for floating and
complex), so a seeded tensor equals PyTorch's.
"""

from __future__ import annotations

import collections.abc
import math
import warnings

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..ops import creation as C
from ..ops import random as R

_INTEGRAL = (_dtype.uint8, _dtype.int8, _dtype.int16, _dtype.int32, _dtype.int64)
_FLOATING = (_dtype.float16, _dtype.float32, _dtype.float64)
_COMPLEX = (_dtype.complex64, _dtype.complex128)
_COMPLEX_PART = {_dtype.complex64: _dtype.float32, _dtype.complex128: _dtype.float64}


def _uniform(shape, dtype, low: float, high: float) -> Tensor:
    t = C.empty(shape, dtype=dtype)
    # a range wider than the dtype's max would overflow: draw half of it, then double
    if high - low >= float(np.finfo(dtype.np).max):
        return t.uniform_(low / 2, high / 2).mul_(2)
    return t.uniform_(low, high)


def make_tensor(
    *shape,
    dtype: _dtype.dtype,
    device=None,
    low: float | None = None,
    high: float | None = None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
    memory_format=None,
) -> Tensor:
    """A tensor of ``shape`` filled with random values in ``[low, high)``
    (``torch.testing.make_tensor``); defaults ``[-9, 9)`` for floating and complex
    dtypes, ``[-9, 10)`` for integers (clamped to the dtype's range), ``{False, True}``
    for bool.

    >>> make_tensor(2, 3, dtype=tapegrad.float32, device="cpu", low=0.0, high=1.0)

    Args:
        *shape: The shape, as ints or one sequence.
        dtype: The dtype.
        device: The device.
        low: Lower bound of the values.
        high: Upper bound (excluded).
        requires_grad: Make it require grad (floating dtypes only).
        noncontiguous: Return a non-contiguous view.
        exclude_zero: Replace zeros by a small non-zero value.
        memory_format: Accepted for PyTorch's signature.

    Returns:
        The tensor.
    """

    def modify_low_high(
        low, high, *, lowest_inclusive, highest_exclusive, default_low, default_high
    ):
        low = low if low is not None else default_low
        high = high if high is not None else default_high
        if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
            raise ValueError(f"`low` and `high` cannot be NaN, but got {low=} and {high=}")
        elif low == high and dtype in _FLOATING + _COMPLEX:
            warnings.warn(
                "Passing `low==high` to `torch.testing.make_tensor` for floating or complex "
                "types is deprecated since 2.1 and will be removed in 2.3. "
                "Use `torch.full(...)` instead.",
                FutureWarning,
                stacklevel=3,
            )
        elif low >= high:
            raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
        elif high < lowest_inclusive or low >= highest_exclusive:
            raise ValueError(
                f"The value interval specified by `low` and `high` is [{low}, {high}), "
                f"but {dtype} only supports [{lowest_inclusive}, {highest_exclusive})"
            )
        low = min(max(low, lowest_inclusive), highest_exclusive)
        high = min(max(high, lowest_inclusive), highest_exclusive)
        if dtype is _dtype.bool_ or dtype in _INTEGRAL:
            return math.ceil(low), math.ceil(high)
        return low, high

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(
            "The parameters `noncontiguous` and `memory_format` are mutually exclusive, "
            f"but got {noncontiguous=} and {memory_format=}"
        )
    integral = dtype is _dtype.bool_ or dtype in _INTEGRAL
    if requires_grad and integral:
        raise ValueError(
            "`requires_grad=True` is not supported for boolean and integral dtypes, "
            f"but got {dtype=}"
        )
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])
    if dtype is _dtype.bool_:
        low, high = modify_low_high(
            low, high, lowest_inclusive=0, highest_exclusive=2, default_low=0, default_high=2
        )
        result = R.randint(low, high, shape, dtype=dtype)
    elif dtype in _INTEGRAL:
        info = np.iinfo(dtype.np)
        low, high = modify_low_high(
            low,
            high,
            lowest_inclusive=int(info.min),
            highest_exclusive=int(info.max) + (1 if dtype is not _dtype.int64 else 0),
            default_low=-9,
            default_high=10,
        )
        result = R.randint(low, high, shape, dtype=dtype)
    elif dtype in _FLOATING + _COMPLEX:
        part = _COMPLEX_PART.get(dtype, dtype)
        info = np.finfo(part.np)
        low, high = modify_low_high(
            low,
            high,
            lowest_inclusive=float(info.min),
            highest_exclusive=float(info.max),
            default_low=-9,
            default_high=9,
        )
        if dtype in _COMPLEX:
            # PyTorch fills the real view (..., 2) of the complex tensor
            pairs = _uniform((*shape, 2), part, low, high)
            result = C.tensor(np.ascontiguousarray(pairs.numpy()).view(dtype.np)[..., 0])
        else:
            result = _uniform(shape, dtype, low, high)
    else:
        raise TypeError(
            f"The requested dtype '{dtype}' is not supported by torch.testing.make_tensor()."
            " To request support, file an issue at: https://github.com/pytorch/pytorch/issues"
        )
    if noncontiguous:
        # offset by one so that offset handling is exercised too
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = (
            1 if integral else float(np.finfo(_COMPLEX_PART.get(dtype, dtype).np).tiny)
        )
    if dtype in _FLOATING + _COMPLEX:
        result.requires_grad = requires_grad
    return result
