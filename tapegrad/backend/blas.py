"""The thread count of the BLAS NumPy uses, read from OpenBLAS itself.

tapegrad splits some kernels (convolution, pooling) across ``get_num_threads()`` Python
threads. Beside a multi-threaded OpenBLAS that only oversubscribes the cores (its idle
threads spin between calls), so the kernels ask ``get_blas_threads()`` first. It reads
OpenBLAS (the BLAS bundled with NumPy's wheels) through ctypes; None where none is found.
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
_getter: list = [None, False]  # (function or None, looked up yet)


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


def _find_getter():
    for path in _candidate_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _GETTERS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes, fn.restype = [], ctypes.c_int
                return fn
    return None


def get_blas_threads() -> int | None:
    """OpenBLAS's thread count, or None when no OpenBLAS is found."""
    if not _getter[1]:
        _getter[0], _getter[1] = _find_getter(), True
    return None if _getter[0] is None else _getter[0]()
