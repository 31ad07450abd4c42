"""Zero-copy tensor exchange through DLPack (mirrors ``torch.utils.dlpack``).

``from_dlpack(x)`` makes a tapegrad tensor that shares memory with ``x`` (a NumPy array,
a PyTorch tensor, anything with ``__dlpack__``, or a DLPack capsule); ``np.from_dlpack(t)``
and ``torch.from_dlpack(t)`` do the reverse through ``Tensor.__dlpack__``. Writes through
one are seen through the other. The protocol work is NumPy's (or CuPy's, for GPU
tensors): tapegrad only checks PyTorch's rules (no export of tensors that require grad).

Example:

    >>> import numpy as np, tapegrad as torch
    >>> a = np.arange(4.0)
    >>> t = torch.from_dlpack(a)
    >>> t[0] = 7.0
    >>> a[0]
    np.float64(7.0)
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from .. import _device
from .. import _dtype as D

__all__ = ["from_dlpack", "to_dlpack"]

_KDL_CPU = 1
_KDL_CUDA = 2


class _Capsule:
    """Lends a bare DLPack capsule the ``__dlpack__`` protocol NumPy's consumer expects."""

    def __init__(self, capsule: Any):
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (_KDL_CPU, 0)


def _is_capsule(obj: Any) -> bool:
    return type(obj).__name__ == "PyCapsule"


def _is_legacy_capsule(capsule: Any) -> bool:
    """An unconsumed pre-1.0 capsule (``"dltensor"``), as ``to_dlpack`` functions make."""
    is_valid = ctypes.pythonapi.PyCapsule_IsValid
    is_valid.restype, is_valid.argtypes = ctypes.c_int, [ctypes.py_object, ctypes.c_char_p]
    return bool(is_valid(capsule, b"dltensor"))


class _WritableAlias:
    """The memory of a read-only array, offered writable through ``__array_interface__``.

    NumPy imports pre-1.0 capsules read-only because that version of DLPack cannot say
    whether memory is writable; PyTorch treats them as writable, and so does tapegrad.
    The alias keeps the imported array (which owns the capsule's memory) alive.
    """

    def __init__(self, arr: np.ndarray):
        self.owner = arr
        self.__array_interface__ = {
            "data": (arr.ctypes.data, False),
            "shape": arr.shape,
            "strides": arr.strides,
            "typestr": arr.dtype.str,
            "version": 3,
        }


def from_dlpack(ext_tensor: Any, *, device=None, copy: bool | None = None):
    """A tensor sharing memory with ``ext_tensor`` (``torch.from_dlpack``).

    ``ext_tensor`` is an object with ``__dlpack__`` (a NumPy array, a PyTorch or CuPy
    tensor, ...) or a DLPack capsule from ``to_dlpack`` (which can be consumed once).
    ``copy=True`` copies; ``device`` moves the result there.

    Args:
        ext_tensor: An object with ``__dlpack__``, or a DLPack capsule.
        device: If given, the result is moved there.
        copy: ``True``: copy; ``False``: share or fail; ``None``: share when possible.

    Returns:
        A tensor.
    """
    if hasattr(ext_tensor, "__dlpack__"):
        kind = int(ext_tensor.__dlpack_device__()[0])
        if kind == _KDL_CUDA:
            from .. import backend

            if not backend.cupy_available():
                raise RuntimeError(
                    "from_dlpack got a CUDA tensor, but tapegrad's GPU backend needs CuPy and "
                    "an NVIDIA GPU; copy it to the CPU first"
                )
            import cupy

            arr = cupy.from_dlpack(ext_tensor)
            if copy:
                arr = arr.copy()
        else:
            arr = np.from_dlpack(ext_tensor, copy=copy)
        result = _wrap(arr)
    elif _is_capsule(ext_tensor):
        legacy = _is_legacy_capsule(ext_tensor)
        arr = np.from_dlpack(_Capsule(ext_tensor), copy=copy)
        if legacy and not arr.flags.writeable:
            arr = np.asarray(_WritableAlias(arr))
        result = _wrap(arr)
    else:
        raise RuntimeError(
            "from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
            "consumed only once, so you might have already constructed a tensor from it once."
        )
    if device is not None and _device.to_device(device) != result.device:
        result = result.to(device)
    return result


def _wrap(arr):
    from .._tensor import Tensor

    D.from_numpy_dtype(arr.dtype)  # TypeError for dtypes tapegrad has no tensor for
    return Tensor._make(arr)


def to_dlpack(tensor) -> Any:
    """A DLPack capsule sharing ``tensor``'s memory (``torch.utils.dlpack.to_dlpack``).

    The capsule is for one consumer (``from_dlpack`` here, in PyTorch or in NumPy).

    Args:
        tensor: The tensor to export.

    Returns:
        A DLPack capsule.
    """
    from .._tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(
            "_to_dlpack(): argument 'data' (position 1) must be Tensor, not "
            f"{type(tensor).__name__}"
        )
    return tensor._data.__dlpack__()


def export(tensor, stream, max_version, dl_device, copy) -> Any:
    """``Tensor.__dlpack__``: PyTorch's checks, then the array library's own export."""
    if tensor.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if stream is not None and type(stream) is not int:
        raise TypeError("stream must be ``int`` or ``none``")
    kwargs: dict[str, Any] = {}
    if max_version is not None:
        kwargs["max_version"] = max_version
    if dl_device is not None:
        kwargs["dl_device"] = dl_device
    if copy is not None:
        kwargs["copy"] = copy
    if type(tensor._data) is np.ndarray:
        if stream not in (None, -1):
            raise AssertionError("stream should be None on cpu.")
    elif stream not in (None, -1):
        kwargs["stream"] = stream
    return tensor._data.__dlpack__(**kwargs)
