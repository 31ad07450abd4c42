"""Attention without gradients, computed in chunks of batch elements whose scores stay in cache.

The graph path of ``multi_head_attention_forward`` makes the (N, H, L, S) scores, adds
the mask (a second array), runs softmax's three passes over it (a third) and the product
with the values: a 2 MB array at (32 x 4) heads of 64 x 64, read and written cold several
times. Without a graph nothing keeps these arrays, so here each chunk of batch elements
has its scores made, exponentiated, normalised, averaged over the heads and multiplied
by the values while it is still in L2, in one reused buffer (measured with one thread:
the attention of ``MultiheadAttention(128, 4)`` on (32, 64, 128) 10% faster, of
``MultiheadAttention(256, 8)`` on (16, 128, 256) 20%). Every number is computed by the
same operations as on the graph path (same BLAS calls per head, the same softmax and
the same fallback for rows that overflow or are fully masked), so both give the same
values.
"""

from __future__ import annotations

import numpy as np

from ..ops.conv import _parallel_for
from ..ops.reduce import _ROW_SUM_FLOOR, _softmax_shifted

# Bytes of scores per chunk: the chunk's scores, queries and mask together stay within
# a core's L2 (512 KB here); measured 64 KB-1 MB all within noise of each other, 2 MB
# (the whole array at once) 10-20% slower.
_CHUNK_BYTES = 256 * 1024


def attention_chunked(q, k, v, scale, mask, out, weights=None, average=True, dead_zero=False):
    """softmax(q k^T * scale + mask) v, chunk by chunk of the batch dim, into ``out``.

    Args:
        q: Queries (N, H, L, E), any strides.
        k: Keys (N, H, S, E).
        v: Values (N, H, S, Ev).
        scale: The queries' factor (applied to q first, as PyTorch does).
        mask: None, or an additive mask of the scores' dtype, 3-d (1, L, S) or 4-d with a
            first dim of 1 or N, broadcastable to (N, H, L, S).
        out: (N, H, L, Ev), any strides: receives the result.
        weights: None, or an array that receives the attention weights: (N, L, S), their
            sum over the heads, with ``average``; else (N, H, L, S).
        average: See ``weights``.
        dead_zero: Fully masked rows (all scores -inf) get zero weights (PyTorch's
            ``scaled_dot_product_attention``) instead of NaN (its multi-head attention).
    """
    n, h, lq, e = q.shape
    s_len = k.shape[2]
    dt = out.dtype
    per = h * lq * s_len * dt.itemsize
    nb = max(1, min(n, _CHUNK_BYTES // max(per, 1)))
    scale = dt.type(scale)
    kt = k.swapaxes(-1, -2)
    ones = np.ones(s_len, dt)

    def part(lo: int, hi: int) -> None:
        buf = np.empty((min(nb, hi - lo), h, lq, s_len), dt)
        qb = np.empty((min(nb, hi - lo), h, lq, e), dt)
        for b0 in range(lo, hi, nb):
            b1 = min(hi, b0 + nb)
            c = b1 - b0
            sc, qc = buf[:c], qb[:c]
            np.multiply(q[b0:b1], scale, out=qc)
            np.matmul(qc, kt[b0:b1], out=sc)
            m = None
            if mask is not None:
                m = mask[b0:b1] if mask.shape[0] != 1 else mask
                sc += m
            with np.errstate(over="ignore"):
                np.exp(sc, out=sc)
            rows = sc.reshape(-1, s_len) @ ones
            bad = ~((rows >= _ROW_SUM_FLOOR) & (rows < np.inf))  # NaN sums are bad too
            if bad.any():
                # the rows that overflow or underflow (rare), again from their scores, by
                # softmax's own exact path (fully masked rows: NaN, as on the graph path)
                x = np.matmul(qc, kt[b0:b1])
                if m is not None:
                    x += m
                xb = x.reshape(-1, s_len)[bad]
                yb = _softmax_shifted(xb)
                if dead_zero:
                    yb[np.max(xb, axis=-1) == -np.inf] = 0
                sc.reshape(-1, s_len)[bad] = yb
                rows[bad] = 1
            np.reciprocal(rows, out=rows)
            sc *= rows.reshape(c, h, lq, 1)
            np.matmul(sc, v[b0:b1], out=out[b0:b1])
            if weights is not None and average:
                np.sum(sc, axis=1, out=weights[b0:b1])
            elif weights is not None:
                weights[b0:b1] = sc

    _parallel_for(part, n, n * h * lq * s_len)
