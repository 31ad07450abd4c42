"""Convolution temporaries at batch 128: the cropping batch-last copy of col2im, buffers
shared by size across layers of other shapes, and the padded input shared by a strided
and a stride-1 layer (values against PyTorch, in float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import to_numpy

import tapegrad
from tapegrad.ops import conv as CV

R = np.random.default_rng(7)


@pytest.mark.parametrize("block", [1, 7, 1 << 13])
@pytest.mark.parametrize("threads", [1, 2, 4])
def test_copy_from_batch_last_crop(block, threads, monkeypatch):
    monkeypatch.setattr(CV, "_CROP_BLOCK_ELEMS", block)
    monkeypatch.setattr(CV, "_PARALLEL_MIN_ELEMS", 0)
    monkeypatch.setattr(CV, "get_blas_threads", lambda: 1)
    src = R.standard_normal((5, 11, 9, 6))
    inner = src[:, 1:10, 2:9]
    dst = np.empty((6, 5, 9, 7))
    tapegrad.set_num_threads(threads)
    try:
        CV._copy_from_batch_last_crop(dst, inner)
    finally:
        tapegrad.set_num_threads(1)
    np.testing.assert_array_equal(dst, inner.transpose(3, 0, 1, 2))


def _resnet_pair(lib, x, w1, w2, w3):
    # a strided layer, a stride-1 layer on the same input size and one on the next size:
    # the padded input, the columns and col2im's buffer are shared between them
    f = lib.nn.functional
    a = f.conv2d(x, w1, stride=2, padding=1)
    b = f.conv2d(x, w2, padding=1)
    c = f.conv2d(a, w3, padding=1)
    return (a * a).sum() + (b * c.mean()).sum() + c.sum()


def test_layers_sharing_temporaries_match_pytorch():
    x = R.standard_normal((8, 4, 12, 12))
    ws = [R.standard_normal(s) for s in ((6, 4, 3, 3), (5, 4, 3, 3), (6, 6, 3, 3))]
    grads = []
    for lib in (torch, tapegrad):
        ts = [lib.tensor(a, requires_grad=True) for a in [x] + ws]
        for _ in range(2):  # the second pass reuses every temporary of the first
            for t in ts:
                t.grad = None
            _resnet_pair(lib, *ts).backward()
        grads.append([to_numpy(t.grad) for t in ts])
    for a, b in zip(*grads):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)


def test_buffers_shared_by_size_keep_their_shapes():
    a = CV._scratch(np, "t_size", (4, 6), np.float32)
    b = CV._scratch(np, "t_size", (3, 8), np.float32)
    assert b.shape == (3, 8) and np.shares_memory(a, b)
    z1 = CV._scratch(np, "t_zero", (4, 6), np.float32, zeros=True)
    z2 = CV._scratch(np, "t_zero", (3, 8), np.float32, zeros=True)
    assert not np.shares_memory(z1, z2)  # a zeroed buffer's shape fixes its zero border
