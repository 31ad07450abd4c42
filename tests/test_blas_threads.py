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


def test_set_num_threads_makes_openblas_single_threaded():
    # tapegrad's own threads split the kernels; a multi-threaded BLAS beneath them would
    # oversubscribe the cores.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2")
    code = (
        "import tapegrad; from tapegrad.backend.blas import get_blas_threads; "
        "a = get_blas_threads(); tapegrad.set_num_threads(2); "
        "print(a, get_blas_threads(), tapegrad.get_num_threads())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["2", "1", "2"], out.stderr


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize(
    "sa,sb",
    [
        ((256, 300), (300, 200)),  # by rows
        ((7, 300), (300, 1100)),  # few rows: by columns
        ((7, 300), (300, 20)),  # neither: whole
        ((6, 20, 30), (30, 40)),  # leading dims flattened into rows
        ((6, 20, 30), (6, 30, 40)),  # by batch
        ((3, 2, 20, 30), (3, 2, 30, 40)),
        ((3, 20, 30), (1, 30, 40)),  # broadcast batch: whole
        ((30,), (30, 40)),  # a vector: whole
    ],
)
def test_matmul_split_over_threads(threads, sa, sb, monkeypatch):
    """Split products equal NumPy's whole product (to rounding: OpenBLAS's kernels
    depend on the block shape) at every thread count, on every path, with and
    without ``out``; here every product is large enough to split."""
    import numpy as np

    import tapegrad
    from tapegrad.ops import linalg
    from tapegrad.ops.linalg import matmul_split

    monkeypatch.setattr(linalg, "_SPLIT_MIN_MACS", 1)
    monkeypatch.setattr(linalg, "_MIN_ROWS_PER_THREAD", 16)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    before = tapegrad.get_num_threads()
    tapegrad.set_num_threads(threads)
    try:
        for x, y in (
            (a, b),
            (a.astype(np.float32), b.astype(np.float32)),
            (np.asfortranarray(a), np.asfortranarray(b)),
        ):
            want = x @ y
            got = matmul_split(x, y)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
            out = np.empty_like(want)
            assert matmul_split(x, y, out=out) is out
            np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-4)
    finally:
        tapegrad.set_num_threads(before)


@pytest.mark.parametrize("threads", [2, 4])
def test_linear_and_mm_over_threads_match_one_thread(threads):
    import numpy as np

    import tapegrad

    rng = np.random.default_rng(1)
    xs = rng.standard_normal((300, 784))
    ws = rng.standard_normal((512, 784)) * 0.03
    results = []
    for nt in (1, threads):
        tapegrad.set_num_threads(nt)
        try:
            x = tapegrad.tensor(xs, requires_grad=True)
            w = tapegrad.tensor(ws, requires_grad=True)
            y = tapegrad.nn.functional.linear(x, w) + tapegrad.mm(x, w.T)
            (y * y).sum().backward()
            results.append([y.detach().numpy(), x.grad.numpy(), w.grad.numpy()])
        finally:
            tapegrad.set_num_threads(1)
    for one, many in zip(*results):
        np.testing.assert_allclose(many, one, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("threads", [2, 4])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN", "bmm"])
def test_split_products_in_recurrences_and_bmm_match_one_thread(threads, kind):
    """The fused recurrences' step products and batched matmuls split over threads give
    one thread's values and gradients (to float64 rounding)."""
    import numpy as np

    import tapegrad

    rng = np.random.default_rng(2)
    if kind == "bmm":
        arrays = [rng.standard_normal((8, 64, 96)), rng.standard_normal((8, 96, 64))]
    else:
        # batch 32, hidden 256: each step's product has 32 x 256 x 4*256 multiply-adds
        arrays = [rng.standard_normal((5, 32, 16))]
    results = []
    for nt in (1, threads):
        tapegrad.set_num_threads(nt)
        try:
            tapegrad.manual_seed(0)
            ts = [tapegrad.tensor(a, requires_grad=True) for a in arrays]
            if kind == "bmm":
                y = tapegrad.bmm(*ts)
                params = []
            else:
                layer = getattr(tapegrad.nn, kind)(16, 256, num_layers=1).double()
                y = layer(ts[0])[0]
                params = list(layer.parameters())
            (y * y).sum().backward()
            results.append([y.detach().numpy()] + [t.grad.numpy() for t in ts + params])
        finally:
            tapegrad.set_num_threads(1)
    for one, many in zip(*results):
        np.testing.assert_allclose(many, one, rtol=1e-10, atol=1e-10)
