"""single_threaded_blas: one BLAS thread inside batch-parallel regions, restored after."""

import threading

import pytest

from tapegrad.backend import blas

pytestmark = pytest.mark.skipif(blas.get_blas_threads() is None, reason="no OpenBLAS found")


def _with_blas_threads(n):
    _, set_ = blas._blas_funcs()
    set_(n)


def test_region_sets_one_thread_and_restores():
    before = blas.get_blas_threads()
    try:
        _with_blas_threads(2)
        with blas.single_threaded_blas():
            assert blas.get_blas_threads() == 1
            with blas.single_threaded_blas():
                assert blas.get_blas_threads() == 1
            assert blas.get_blas_threads() == 1
        assert blas.get_blas_threads() == 2
    finally:
        _with_blas_threads(before)


def test_regions_entered_from_several_threads_restore_once_all_end():
    before = blas.get_blas_threads()
    inside, release = threading.Barrier(3), threading.Event()
    seen = []

    def worker():
        with blas.single_threaded_blas():
            inside.wait(5)
            release.wait(5)
            seen.append(blas.get_blas_threads())

    try:
        _with_blas_threads(2)
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        inside.wait(5)
        assert blas.get_blas_threads() == 1
        release.set()
        for t in threads:
            t.join()
        assert seen == [1, 1]
        assert blas.get_blas_threads() == 2
    finally:
        _with_blas_threads(before)
