"""Tensor creation: from data, filled, ranges, and random (``torch.zeros`` etc.)."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import _device
from .. import _dtype as D
from .._alloc import allocating
from . import _util as U


def _finish(arr, requires_grad=False, device=None):
    if device is not None:
        dev = _device.to_device(device)
        if dev.type != "cpu":
            arr = dev.xp.asarray(arr)
    t = U.Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer(data):
    """A NumPy array from nested data, with PyTorch's dtype inference."""
    Tensor = U.Tensor
    if isinstance(data, Tensor):
        return data._data, True
    if isinstance(data, np.ndarray):
        return data, True
    if isinstance(data, (np.generic,)):
        return np.asarray(data), True
    if (
        isinstance(data, (list, tuple))
        and data
        and any(
            isinstance(x, Tensor) or (isinstance(x, (list, tuple)) and _has_tensor(x)) for x in data
        )
    ):
        parts = [_infer(x)[0] for x in data]
        return np.stack([np.asarray(p) for p in parts]) if parts else np.array([]), False
    if isinstance(data, range):
        data = list(data)
    if isinstance(data, (bool, numbers.Number, list, tuple)):
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(
                f"expected sequence of equal-length lists, got ragged data ({e})"
            ) from None
        if arr.dtype == object:
            raise TypeError(f"Could not infer dtype of {type(data).__name__} elements")
        return arr, False
    if hasattr(data, "__array__"):
        return np.asarray(data), True
    raise TypeError(
        f"Could not infer dtype of {type(data).__name__}: expected a number, a sequence, a "
        "NumPy array or a Tensor"
    )


def _has_tensor(x) -> bool:
    Tensor = U.Tensor
    for v in x:
        if isinstance(v, Tensor):
            return True
        if isinstance(v, (list, tuple)) and _has_tensor(v):
            return True
    return False


def _default_from(arr: np.ndarray, from_numpy_like: bool) -> np.ndarray:
    k = arr.dtype.kind
    if from_numpy_like:
        D.from_numpy_dtype(arr.dtype)
        return arr
    if k == "f":
        return arr.astype(D.get_default_dtype().np)
    if k in "iu":
        return arr.astype(np.int64)
    if k == "c":
        return arr.astype(np.complex64 if D.get_default_dtype() is D.float32 else np.complex128)
    if k == "b":
        return arr
    raise TypeError(f"can't convert data of type {arr.dtype} to a tensor")


_COPY_CONSTRUCT = (
    "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
    "or sourceTensor.detach().clone().requires_grad_(True), rather than {}(sourceTensor)."
)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (``torch.tensor``).

    Args:
        data: a number, a (nested) sequence, a NumPy array or a tensor (copied, with a warning as in
            PyTorch).
        dtype: the dtype; by default inferred (bool, int64, the default floating dtype or complex).
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
        pin_memory: accepted for PyTorch's signature; no effect on the CPU.
    """
    if isinstance(data, U.Tensor):
        warnings.warn(_COPY_CONSTRUCT.format("torch.tensor"), UserWarning, stacklevel=2)
    arr, exact = _infer(data)
    if dtype is not None:
        arr = np.array(arr, dtype=D.to_dtype(dtype).np, copy=True)
    else:
        if exact:
            arr = _default_from(np.asarray(arr), True).copy()
        else:
            arr = _default_from(arr, False)
            if arr.base is not None:
                arr = arr.copy()
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    return _finish(arr, requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """A tensor sharing ``data``'s memory when possible (``torch.as_tensor``).

    Args:
        data: a tensor or NumPy array (shared, unless ``dtype`` forces a conversion) or any other
            ``tensor`` input (copied).
        dtype: the dtype of the result; by default ``data``'s.
        device: the device, for data that is copied.
    """
    if isinstance(data, U.Tensor):
        return data.to(dtype) if dtype is not None else data
    if isinstance(data, np.ndarray):
        t = from_numpy(data)
        return t.to(dtype) if dtype is not None else t
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray):
    """A tensor sharing the NumPy array's memory (``torch.from_numpy``).

    Args:
        ndarray: a NumPy array of a dtype tapegrad supports, in native byte order; writes to either
            are seen by both.

    Raises:
        TypeError: ``ndarray`` is not a NumPy array, or its dtype is not supported.
        ValueError: the array is not in native byte order.
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    D.from_numpy_dtype(ndarray.dtype)
    if not ndarray.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order.")
    return U.Tensor._make(ndarray)


def _dt(dtype, default=None) -> np.dtype:
    if dtype is None:
        return (default or D.get_default_dtype()).np
    return D.to_dtype(dtype).np


def empty(
    *size,
    dtype=None,
    device=None,
    requires_grad=False,
    out=None,
    layout=None,
    pin_memory=False,
    memory_format=None,
):
    """An uninitialised tensor (``torch.empty``); tapegrad fills it with zeros.

    Args:
        size: the shape, as ints or one sequence.
        dtype: the dtype; by default the default floating dtype.
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
        out: the tensor to write the result into (resized; a factory makes its dtype).
        layout: accepted for PyTorch's signature (only strided tensors exist).
        pin_memory: accepted for PyTorch's signature; no effect on the CPU.
        memory_format: accepted for PyTorch's signature; the tensor is C-contiguous.
    """
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """A tensor of zeros (``torch.zeros``).

    Args:
        size: the shape, as ints or one sequence.
        dtype: the dtype; by default the default floating dtype.
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
        out: the tensor to write the result into (resized; a factory makes its dtype).
        layout: accepted for PyTorch's signature (only strided tensors exist).
    """
    shape, dt = U.check_size(U.size_args(size)), _dt(dtype)
    with allocating(shape, dt):
        arr = np.zeros(shape, dtype=dt)
    return _finish(arr, requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """A tensor of ones (``torch.ones``).

    Args:
        size: the shape, as ints or one sequence.
        dtype: the dtype; by default the default floating dtype.
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
        out: the tensor to write the result into (resized; a factory makes its dtype).
        layout: accepted for PyTorch's signature (only strided tensors exist).
    """
    shape, dt = U.check_size(U.size_args(size)), _dt(dtype)
    with allocating(shape, dt):
        arr = np.ones(shape, dtype=dt)
    return _finish(arr, requires_grad, device)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """A tensor filled with ``fill_value`` (``torch.full``); dtype inferred from it.

    Args:
        size: the shape, an int or a sequence.
        fill_value: the value of every element: a number, or a one-element tensor.
        dtype: the dtype; by default the one of ``fill_value`` (bool, int64, the default floating
            dtype or complex).
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
        out: the tensor to write the result into (resized; a factory makes its dtype).
        layout: accepted for PyTorch's signature (only strided tensors exist).

    Raises:
        RuntimeError: ``fill_value`` overflows ``dtype``.
    """
    shape = U.check_size(
        U.size_args((size,) if not isinstance(size, (int, np.integer)) else (size,))
    )
    if dtype is None:
        dtype = (
            D.scalar_dtype(fill_value) if not isinstance(fill_value, U.Tensor) else fill_value.dtype
        )
    if isinstance(fill_value, U.Tensor):
        fill_value = fill_value.item()
    try:
        with allocating(shape, _dt(dtype)):
            arr = np.full(shape, fill_value, dtype=_dt(dtype))
    except OverflowError:
        raise U.overflow_error(D._NP_TO_DTYPE[np.dtype(_dt(dtype))]) from None
    return _finish(arr, requires_grad, device)


def _like(input, dtype):
    return D.to_dtype(dtype) if dtype is not None else input.dtype


def empty_like(
    input, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None
):
    """An uninitialised tensor with ``input``'s shape and dtype (``torch.empty_like``); tapegrad
    fills it with zeros.

    Args:
        input: the tensor whose shape (and dtype) the result takes.
        dtype: the dtype, instead of ``input``'s.
        device: the device to put the tensor on; by default ``input``'s.
        requires_grad: record operations on the tensor for autograd.
        layout: accepted for PyTorch's signature (only strided tensors exist).
        memory_format: accepted for PyTorch's signature; the tensor is C-contiguous.
    """
    return zeros(
        tuple(input.shape), dtype=_like(input, dtype), device=device or input.device,
        requires_grad=requires_grad,
    )  # fmt: skip


def zeros_like(
    input, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None
):
    """Zeros with ``input``'s shape and dtype (``torch.zeros_like``).

    Args:
        input: the tensor whose shape (and dtype) the result takes.
        dtype: the dtype, instead of ``input``'s.
        device: the device to put the tensor on; by default ``input``'s.
        requires_grad: record operations on the tensor for autograd.
        layout: accepted for PyTorch's signature (only strided tensors exist).
        memory_format: accepted for PyTorch's signature; the tensor is C-contiguous.
    """
    return zeros(
        tuple(input.shape), dtype=_like(input, dtype), device=device or input.device,
        requires_grad=requires_grad,
    )  # fmt: skip


def ones_like(
    input, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None
):
    """Ones with ``input``'s shape and dtype (``torch.ones_like``).

    Args:
        input: the tensor whose shape (and dtype) the result takes.
        dtype: the dtype, instead of ``input``'s.
        device: the device to put the tensor on; by default ``input``'s.
        requires_grad: record operations on the tensor for autograd.
        layout: accepted for PyTorch's signature (only strided tensors exist).
        memory_format: accepted for PyTorch's signature; the tensor is C-contiguous.
    """
    return ones(
        tuple(input.shape), dtype=_like(input, dtype), device=device or input.device,
        requires_grad=requires_grad,
    )  # fmt: skip


def full_like(
    input,
    fill_value,
    *,
    dtype=None,
    device=None,
    requires_grad=False,
    layout=None,
    memory_format=None,
):
    """``fill_value`` with ``input``'s shape and dtype (``torch.full_like``).

    Args:
        input: the tensor whose shape (and dtype) the result takes.
        fill_value: the value of every element.
        dtype: the dtype, instead of ``input``'s.
        device: the device to put the tensor on; by default ``input``'s.
        requires_grad: record operations on the tensor for autograd.
        layout: accepted for PyTorch's signature (only strided tensors exist).
        memory_format: accepted for PyTorch's signature; the tensor is C-contiguous.
    """
    return full(
        tuple(input.shape), fill_value, dtype=_like(input, dtype), device=device or input.device,
        requires_grad=requires_grad,
    )  # fmt: skip


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """The identity matrix (``torch.eye``).

    Args:
        n: the number of rows.
        m: the number of columns; by default ``n``.
        dtype: the dtype; by default the default floating dtype.
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
        out: the tensor to write the result into (resized; a factory makes its dtype).
        layout: accepted for PyTorch's signature (only strided tensors exist).

    Raises:
        RuntimeError: ``n`` or ``m`` is negative.
    """
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n if n < 0 else m}")
    with allocating((n, n if m is None else m), _dt(dtype)):
        arr = np.eye(n, m, dtype=_dt(dtype))
    return _finish(arr, requires_grad, device)


def _is_float(*vals) -> bool:
    return any(
        isinstance(v, float) or (isinstance(v, U.Tensor) and v.dtype.is_floating_point)
        for v in vals
    )


def arange(
    start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None, layout=None
):
    """Values from start to end (exclusive) by step (``torch.arange``).

    Args:
        start: the first value, or the end when ``end`` is not given (then the start is 0).
        end: the end of the interval, not included.
        step: the difference between neighbouring values; not 0.
        dtype: the dtype; by default int64, or the default floating dtype when an argument is a
            float.
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
        out: a tensor to write the result into.
        layout: accepted for PyTorch's signature (only strided tensors exist).

    Raises:
        RuntimeError: ``step`` is 0 or has the wrong sign for ``start`` and ``end``.
    """
    if end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, U.Tensor) else v for v in (start, end, step))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0 and end != start:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = D.get_default_dtype() if _is_float(start, end, step) else D.int64
    dt = D.to_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    with allocating((n,), dt.np):
        if dt.is_floating_point:
            # PyTorch computes start + i * step in double precision, then casts.
            arr = (start + np.arange(n, dtype=np.float64) * step).astype(dt.np)
        else:
            arr = (start + np.arange(n, dtype=np.int64) * step).astype(dt.np)
    if out is not None:
        from .shape import copy_into_out

        return copy_into_out(out, U.Tensor._make(arr))
    return _finish(arr, requires_grad, device)


def range_(start, end, step=1, *, dtype=None, device=None, requires_grad=False):
    """Like arange but including ``end`` (deprecated ``torch.range``).

    Args:
        start: the first value.
        end: the last value, included when reached by whole steps.
        step: the difference between neighbouring values.
        dtype: the dtype; by default the default floating dtype.
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
    """
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    n = int(math.floor((end - start) / step)) + 1
    arr = (start + np.arange(n, dtype=np.float64) * step).astype(dt.np)
    return _finish(arr, requires_grad, device)


def linspace(
    start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None, layout=None
):
    """``steps`` evenly spaced values from start to end (``torch.linspace``).

    Args:
        start: the first value (a number or a 0-d tensor).
        end: the last value (a number or a 0-d tensor).
        steps: the number of values, at least 0.
        dtype: the dtype; by default the default floating dtype.
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
        out: the tensor to write the result into (resized; a factory makes its dtype).
        layout: accepted for PyTorch's signature (only strided tensors exist).

    Raises:
        RuntimeError: ``steps`` is negative.
    """
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = (v.item() if isinstance(v, U.Tensor) else v for v in (start, end))
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if steps == 1:
        arr = np.array([start], dtype=np.float64)
    else:
        # PyTorch fills the first half from start and the second half from end.
        step = (end - start) / (steps - 1)
        idx = np.arange(steps, dtype=np.float64)
        half = steps // 2
        arr = np.where(idx < half, start + step * idx, end - step * (steps - 1 - idx))
    if dt.is_floating_point:
        if dt.np == np.float32:
            idx32 = np.arange(steps, dtype=np.float32)
            if steps > 1:
                step32 = (np.float32(end) - np.float32(start)) / np.float32(steps - 1)
                half = steps // 2
                arr = np.where(
                    idx32 < half,
                    np.float32(start) + step32 * idx32,
                    np.float32(end) - step32 * (np.float32(steps - 1) - idx32),
                ).astype(np.float32)
            else:
                arr = arr.astype(np.float32)
        else:
            arr = arr.astype(dt.np)
    else:
        arr = arr.astype(dt.np)
    return _finish(arr, requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    """``base ** linspace(start, end, steps)`` (``torch.logspace``).

    Args:
        start: the exponent of the first value.
        end: the exponent of the last value.
        steps: the number of values.
        base: the base of the powers.
        dtype: the dtype; by default the default floating dtype.
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
    """
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    lin = linspace(start, end, steps, dtype=D.float64)._data
    return _finish(np.power(base, lin).astype(dt.np), requires_grad, device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (row, column) indices of the lower triangle of a ``row`` x ``col`` matrix, as a (2, N)
    tensor (``torch.tril_indices``).

    Args:
        row: the number of rows.
        col: the number of columns.
        offset: the diagonal bounding the triangle: 0 the main one, > 0 above it, < 0 below it.
        dtype: the dtype; by default int64.
        device: the device to put the tensor on.
    """
    r, c = np.tril_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_dt(dtype, D.int64)), False, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (row, column) indices of the upper triangle of a ``row`` x ``col`` matrix, as a (2, N)
    tensor (``torch.triu_indices``).

    Args:
        row: the number of rows.
        col: the number of columns.
        offset: the diagonal bounding the triangle: 0 the main one, > 0 above it, < 0 below it.
        dtype: the dtype; by default int64.
        device: the device to put the tensor on.
    """
    r, c = np.triu_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_dt(dtype, D.int64)), False, device)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    """A 0-d tensor holding the number ``s`` (``torch.scalar_tensor``).

    Args:
        s: the number.
        dtype: the dtype; by default the default floating dtype.
        device: the device to put the tensor on.
        requires_grad: record operations on the tensor for autograd.
    """
    return _finish(np.asarray(s, dtype=_dt(dtype)), requires_grad, device)


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids (``torch.meshgrid``); indexing 'ij' (default) or 'xy'.

    Args:
        tensors: 0- or 1-D tensors, as arguments or one sequence.
        indexing: ``"ij"`` (matrix indexing: dim i runs along ``tensors[i]``) or ``"xy"``
            (Cartesian: the first two dims swapped); ``None`` is ``"ij"``.

    Returns:
        A tuple of expanded views, one per tensor, all of shape ``(len(t0), len(t1), ...)`` (first
        two swapped for ``"xy"``).
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    from .shape import expand, reshape

    n = len(tensors)
    ij = indexing in (None, "ij")
    shape = [t.numel() for t in tensors]
    if not ij and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(tensors):
        view = [1] * n
        pos = i
        if not ij and n >= 2 and i < 2:
            pos = 1 - i
        view[pos] = t.numel()
        out.append(expand(reshape(t, view), shape))
    return tuple(out)


def cartesian_prod(*tensors):
    """The Cartesian product of 1-D tensors, one combination per row (``torch.cartesian_prod``).

    Args:
        tensors: 1-D tensors; a single one is returned as is.

    Returns:
        A (N, len(tensors)) tensor, the last tensor varying fastest.
    """
    grids = meshgrid(*tensors, indexing="ij")
    from .shape import stack

    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in grids], dim=1)


# ``out=`` for the functions above that do not handle it themselves
empty = U.with_out(empty, factory=True)
zeros = U.with_out(zeros, factory=True)
ones = U.with_out(ones, factory=True)
full = U.with_out(full, factory=True)
eye = U.with_out(eye, factory=True)
linspace = U.with_out(linspace, factory=True)
