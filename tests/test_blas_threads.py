"""get_blas_threads reads OpenBLAS's own thread count (set here by OPENBLAS_NUM_THREADS)."""

import os
import subprocess
import sys

import pytest

from tapegrad.backend import blas

pytestmark = pytest.mark.skipif(blas.get_blas_threads() is None, reason="no OpenBLAS found")


@pytest.mark.parametrize("threads", [1, 2])
def test_reads_the_thread_count_openblas_started_with(threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    code = "from tapegrad.backend.blas import get_blas_threads; print(get_blas_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == [str(threads)], out.stderr
