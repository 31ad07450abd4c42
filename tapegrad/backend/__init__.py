"""Array-module selection: the only place that imports the array libraries.

Every op asks ``array_module(a)`` for the module of the arrays it received
(NumPy on the CPU; CuPy, when installed, for arrays that live on a GPU), so that
one code path serves both.
"""

from __future__ import annotations

import numpy as np

try:  # CuPy is optional: a GPU backend, never required.
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

numpy = np


class _CudaMissing(RuntimeError, AssertionError):
    """No GPU backend: PyTorch raises AssertionError here; a RuntimeError is kept for callers."""


def array_module(*arrays):
    """NumPy, unless one of ``arrays`` is a CuPy array."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def cupy_available() -> bool:
    """Whether a CUDA device can be used through CuPy."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover - depends on the machine
        return False


def get_cupy():
    """The CuPy module; RuntimeError when it is missing."""
    if not cupy_available():
        raise _CudaMissing(
            "Torch not compiled with CUDA enabled: tapegrad needs CuPy and an NVIDIA GPU "
            "for device 'cuda' (pip install cupy-cuda12x); use device 'cpu' otherwise"
        )
    return _cupy
