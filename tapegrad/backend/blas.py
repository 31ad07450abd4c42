"""The thread count of the BLAS NumPy uses, read from and set in OpenBLAS itself.

tapegrad splits kernels (convolution, pooling, large matrix products) across
``get_num_threads()`` Python threads. Beside a multi-threaded OpenBLAS that only
oversubscribes the cores (its idle threads spin between calls), so
``tapegrad.set_num_threads`` makes OpenBLAS single-threaded and the kernels ask
``get_blas_threads()`` before they split. Both talk to OpenBLAS (the BLAS bundled with
NumPy's wheels) through ctypes; where none is found the getter returns None and the
setter does nothing.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

# OpenBLAS's thread-count getter, under the names NumPy's bundled build exports first.
_GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_getter: list = [None, False]  # (function or None, looked up yet)
_setter: list = [None, False]


def _candidate_libraries() -> list[str]:
    """Paths of the OpenBLAS libraries NumPy may have loaded, best guesses first."""
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            paths = [line.split()[-1] for line in maps if "openblas" in line.lower()]
    except OSError:
        pass
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    paths += glob.glob(os.path.join(libs_dir, "*openblas*"))
    return list(dict.fromkeys(p for p in paths if os.path.isfile(p)))


def _find(names, argtypes, restype):
    for path in _candidate_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes, fn.restype = argtypes, restype
                return fn
    return None


def get_blas_threads() -> int | None:
    """OpenBLAS's thread count, or None when no OpenBLAS is found."""
    if not _getter[1]:
        _getter[0], _getter[1] = _find(_GETTERS, [], ctypes.c_int), True
    return None if _getter[0] is None else _getter[0]()


def set_blas_threads(n: int) -> bool:
    """Set OpenBLAS's thread count; False (and nothing changed) when no OpenBLAS is found."""
    if not _setter[1]:
        _setter[0], _setter[1] = _find(_SETTERS, [ctypes.c_int], None), True
    if _setter[0] is None:
        return False
    _setter[0](int(n))
    return True
