"""BLAS thread counts, so that batch-parallel work does not nest BLAS threads.

tapegrad splits some kernels (convolution, pooling) across ``get_num_threads()`` Python
threads. If every one of those threads then calls a BLAS that starts its own
``OPENBLAS_NUM_THREADS`` threads, the cores are oversubscribed and a 2-thread run is
slower than a 1-thread one. ``single_threaded_blas()`` sets OpenBLAS (the BLAS bundled
with NumPy's wheels) to one thread for the duration of such a parallel region and
restores it afterwards; where no OpenBLAS is found it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading

import numpy as np

# OpenBLAS's thread-count functions, under the names NumPy's bundled build exports first.
_NAMES = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)
_funcs: list = [None, False]  # ((get, set) or None, looked up yet)
_lock = threading.Lock()
_depth = [0, 0]  # nesting depth of single_threaded_blas regions, saved thread count


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


def _blas_funcs():
    """OpenBLAS's (get, set) thread-count functions from the loaded library, or None."""
    if not _funcs[1]:
        _funcs[1] = True
        for path in _candidate_libraries():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for get_name, set_name in _NAMES:
                get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
                if get is not None and set_ is not None:
                    get.argtypes, get.restype = [], ctypes.c_int
                    set_.argtypes, set_.restype = [ctypes.c_int], None
                    _funcs[0] = (get, set_)
                    return _funcs[0]
    return _funcs[0]


def get_blas_threads() -> int | None:
    """OpenBLAS's thread count, or None when no OpenBLAS is found."""
    funcs = _blas_funcs()
    return None if funcs is None else funcs[0]()


@contextlib.contextmanager
def single_threaded_blas():
    """Run the block with a one-thread BLAS, restoring the previous count when the
    outermost such block ends (blocks may nest and may be entered from several threads)."""
    funcs = _blas_funcs()
    if funcs is None:
        yield
        return
    with _lock:
        if _depth[0] == 0:
            _depth[1] = funcs[0]()
            if _depth[1] > 1:
                funcs[1](1)
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0 and _depth[1] > 1:
                funcs[1](_depth[1])
