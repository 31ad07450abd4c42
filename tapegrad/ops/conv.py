"""Convolutions as im2col over strided views plus BLAS matrix products.

``conv1d``/``conv2d``/``conv3d``, ``conv_transpose1d``/``2d``/``3d``,
``unfold`` (im2col) and ``fold`` (col2im), mirroring ``torch.nn.functional``.
One primitive, ``Convolution`` (grad_fn ``ConvolutionBackward0``), serves the
direct and the transposed convolution: the transposed forward is the direct
backward-to-input and vice versa. 1-D work runs as 2-D with a unit height;
3-D (direct and transposed) is composed of 2-D convolutions, one per kernel
depth tap.

Two column layouts, picked by the output's size (``_Geom.nlast``):

* batch-major, ``cols[n, c*kh*kw, oh*ow]``: one GEMM per sample straight into
  the NCHW output, run chunk by chunk so that each chunk's columns are still
  in cache for its GEMM; good when each sample has many output pixels. Where
  the columns are not kept (ResNet's 3x3 layers), each chunk's columns are laid
  out ``[c*kh*kw, samples, oh*ow]`` instead (``_chunk_cols``): one GEMM per chunk
  (long N, and a long K for the weight gradient, when a chunk holds several
  samples), chunks small enough to stay in cache between copy and GEMM.
* batch-last, ``cols[c*kh*kw, oh*ow*n]``: the input is transposed to CHWN
  once so that the window copies move ``ow*n`` contiguous values and the
  whole batch is one large GEMM; good for small late-layer feature maps.

Stride-1 batch-major convolutions whose padded width adds few columns use
"flat-shift" columns (``_flat_windows``): over the zero-padded input flattened
per channel, each tap's window is one contiguous run of ``oh*wp`` values, and
the GEMM computes every row over the padded width, dropping the extra columns.

The forward keeps its columns for the weight gradient only while they are
small; otherwise (ResNet's 3x3 layers, either layout) it keeps only the
input, as PyTorch does, and the backward rebuilds them. Temporaries that never
leave a call (padded inputs, columns, chunk buffers) are reused per thread
(``_scratch``) rather than allocated afresh, which cost a page fault per 4 KiB.
The backward runs GEMMs for the weight and the input gradient, each only when
needed (the data batch of a first layer gets no gradient). The input gradient
of a stride-1 convolution is itself a convolution (of dy with the flipped
kernel) where that is cheaper; otherwise a col2im adds strided slices, one per
kernel tap. With ``tapegrad.set_num_threads(n)`` (which makes OpenBLAS
single-threaded) the copies, the per-sample GEMMs, col2im and the rows of the
batch-last products are split across n threads (NumPy releases the GIL). The
batch-major paths compute each element by the same operations whatever n; a
batch-last product split by rows rounds in the last bits as OpenBLAS's kernels
for the smaller blocks do, so results may differ between thread counts there
(each setting is reproducible run to run, as PyTorch's are).
``_reference_conv2d`` is a loop-free einsum convolution used by the tests.

Higher-order gradients: a convolution is bilinear in (x, w), and its three
products -- the convolution, the transposed convolution (its input gradient)
and the weight gradient (``ConvolutionWeightGrad``) -- are each other's
derivatives. Every backward is these kernels called through ``ctx.op``: raw
and as fast as before in an ordinary backward, recorded under
``create_graph``, so gradients are differentiable to any order. ``Im2Col``
and ``Col2Im`` are each other's adjoints in the same way.
"""

from __future__ import annotations

import math
import numbers
import sys
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from ..amp import autocast_mode as _ac
from ..autograd.function import Function
from ..backend import array_module
from ..backend.blas import get_blas_threads
from . import _util as U
from .linalg import matmul_split

if TYPE_CHECKING:
    from .._tensor import Tensor

# Output pixels per sample up to which the batch-last layout wins: its copies
# move ow*n contiguous values where batch-major ones move only ow. Measured on
# the seed CNN (16 px: batch-last), LeNet-5's second conv (100 px: batch-last,
# 25% faster) and ResNet-20's 16x16 maps (256 px: batch-major, ~10% faster).
_NLAST_MAX_PIXELS = 128

_TYPE_NAMES = {
    "float32": "Float",
    "float64": "Double",
    "float16": "Half",
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def _type_name(dt) -> str:
    return _TYPE_NAMES.get(np.dtype(dt).name, str(dt))


# ---------------------------------------------------------------------------
# batch splitting across threads

# Elements of the first array below which splitting costs more than it saves.
_PARALLEL_MIN_ELEMS = 1 << 15
_executor: list = [None, 0]


def _num_threads() -> int:
    return sys.modules["tapegrad"].get_num_threads()


def _batch_threads() -> int:
    """Threads for splitting a batch: 1 when BLAS already runs several threads.

    A multi-threaded OpenBLAS keeps its idle threads spinning for a while after each
    call, so batch threads of our own would compete with them for the cores: measured on
    2 cores, 2 batch threads beside a 2-thread BLAS were slower than either alone.
    """
    nt = _num_threads()
    if nt > 1 and (get_blas_threads() or 1) > 1:
        return 1
    return nt


def _executor_for(workers: int) -> ThreadPoolExecutor:
    if _executor[0] is None or _executor[1] < workers:
        _executor[0] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tapegrad")
        _executor[1] = workers
    return _executor[0]


def _parallel_for(fn, n: int, work: int) -> None:
    """Call ``fn(lo, hi)`` on contiguous ranges covering ``[0, n)``.

    The ranges run concurrently on ``get_num_threads()`` threads when ``work``
    (elements touched) is large enough to pay for it, else ``fn(0, n)`` runs
    once. ``fn`` must write disjoint outputs for disjoint ranges.
    """
    nt = min(_batch_threads(), n)
    if nt < 2 or work < _PARALLEL_MIN_ELEMS:
        fn(0, n)
        return
    ex = _executor_for(nt - 1)
    bounds = [n * i // nt for i in range(nt + 1)]
    futures = [ex.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, nt)]
    fn(bounds[0], bounds[1])
    for f in futures:
        f.result()


def _map_batch(fn, *arrays):
    """``fn(*arrays)``, run on chunks of dim 0 in parallel when ``get_num_threads() > 1``.

    NumPy releases the GIL in its kernels, so the chunks overlap in time. The
    results (an array or a tuple of arrays/None) are concatenated along dim 0.
    Use it only where every output element is computed by the same operations
    whatever the chunking, so that any thread count gives identical numbers.
    """
    nt = _batch_threads()
    n = arrays[0].shape[0] if arrays[0].ndim else 0
    if nt < 2 or n < 2 or arrays[0].size < _PARALLEL_MIN_ELEMS:
        return fn(*arrays)
    nt = min(nt, n)
    ex = _executor_for(nt - 1)
    bounds = [n * i // nt for i in range(nt + 1)]
    parts = [tuple(a[bounds[i] : bounds[i + 1]] for a in arrays) for i in range(nt)]
    futures = [ex.submit(fn, *p) for p in parts[1:]]
    results = [fn(*parts[0])] + [f.result() for f in futures]
    first = results[0]
    xp = array_module(arrays[0])
    if isinstance(first, tuple):
        return tuple(
            None if first[j] is None else xp.concatenate([r[j] for r in results])
            for j in range(len(first))
        )
    return xp.concatenate(results)


# ---------------------------------------------------------------------------
# reusable temporaries

# Bytes of temporaries each thread keeps for reuse (least recently used dropped first).
_SCRATCH_MAX_BYTES = 96 << 20
_scratch_local = threading.local()


def _scratch(xp, tag, shape, dtype, zeros: bool = False):
    """A temporary array of ``shape``, reused by later calls of this thread with the same key.

    Fresh large arrays cost the kernel a page fault per 4 KiB on first touch (and
    ``zeros`` a clearing pass): ~15% of ResNet-20's CPU time went to faulting in the
    padded inputs, columns and chunk buffers of each convolution. Only for values that
    never leave the call that asked for them. With ``zeros`` the array starts zeroed;
    callers then write only the region ``tag`` names (the interior of a padded input),
    so the rest is still zero when it is reused. Other array modules get new arrays.
    """
    if xp is not np:
        return (xp.zeros if zeros else xp.empty)(shape, dtype)
    cache = getattr(_scratch_local, "bufs", None)
    if cache is None:
        cache = _scratch_local.bufs = OrderedDict()
    dtype = np.dtype(dtype)
    # Without zeros only the size matters: layers of other shapes but as many elements
    # (ResNet's strided layers' columns and those of the next stage) share one buffer.
    # A zeroed buffer's shape fixes where its untouched zeros lie.
    shape = tuple(shape)
    key = (tag, shape if zeros else math.prod(shape), dtype.str, zeros)
    buf = cache.get(key)
    if buf is not None:
        cache.move_to_end(key)
        return buf if zeros else buf.reshape(shape)
    buf = (np.zeros if zeros else np.empty)(shape, dtype)
    if buf.nbytes <= _SCRATCH_MAX_BYTES:
        cache[key] = buf
        total = sum(b.nbytes for b in cache.values())
        while total > _SCRATCH_MAX_BYTES:
            total -= cache.popitem(last=False)[1].nbytes
    return buf


# ---------------------------------------------------------------------------
# argument handling


def _conv_tuple(value, n: int, name: str) -> tuple:
    """Expand an int or sequence to ``n`` ints with PyTorch's conv error."""
    if isinstance(value, (bool, np.bool_)):
        value = int(value)
    if isinstance(value, numbers.Integral):
        return (int(value),) * n
    vals = tuple(value)
    for v in vals:
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{name} must be a tuple of ints, but got {type(v).__name__}")
    if len(vals) == 1:
        return (int(vals[0]),) * n
    if len(vals) != n:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {n} values to match the "
            f"convolution dimensions, but got {name}={list(vals)}"
        )
    return tuple(int(v) for v in vals)


def _dims_str(vals) -> str:
    return " x ".join(str(v) for v in vals)


class _Geom:
    """The geometry of one 2-D convolution (1-D runs with a unit height).

    Padding may be asymmetric (``'same'`` with an even kernel pads one more
    on the bottom/right, as PyTorch does). ``h``/``w`` are the sizes of the
    convolution's *input* side, ``oh``/``ow`` of its output side.
    """

    __slots__ = (
        "c",
        "h",
        "w",
        "cout",
        "kh",
        "kw",
        "sh",
        "sw",
        "pt",
        "pb",
        "pl",
        "pr",
        "dh",
        "dw",
        "groups",
        "oh",
        "ow",
        "nlast",
    )

    def __init__(self, c, h, w, cout, kh, kw, stride, pads, dilation, groups, oh=None, ow=None):
        self.c, self.h, self.w, self.cout = c, h, w, cout
        self.kh, self.kw = kh, kw
        self.sh, self.sw = stride
        self.pt, self.pb, self.pl, self.pr = pads
        self.dh, self.dw = dilation
        self.groups = groups
        if oh is None:
            oh = (h + self.pt + self.pb - self.dh * (kh - 1) - 1) // self.sh + 1
            ow = (w + self.pl + self.pr - self.dw * (kw - 1) - 1) // self.sw + 1
        self.oh, self.ow = oh, ow
        self.nlast = False

    def pick_layout(self, n: int) -> None:
        # 1x1 kernels take no window copies for batch-last to speed up, only
        # its transposes (ResNet's strided shortcuts: ~2x faster batch-major)
        self.nlast = n > 1 and self.oh * self.ow <= _NLAST_MAX_PIXELS and self.kh * self.kw > 1

    @property
    def padded(self) -> bool:
        return bool(self.pt or self.pb or self.pl or self.pr)

    @property
    def hp(self) -> int:
        # Rows of the padded input the windows may touch; any extra rows that a
        # transposed convolution's output_padding adds stay beyond them.
        return max(
            self.h + self.pt + self.pb, (self.oh - 1) * self.sh + self.dh * (self.kh - 1) + 1
        )

    @property
    def wp(self) -> int:
        return max(
            self.w + self.pl + self.pr, (self.ow - 1) * self.sw + self.dw * (self.kw - 1) + 1
        )


# ---------------------------------------------------------------------------
# im2col / col2im on raw arrays


def _as_strided(xp, a, shape, strides):
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides, writeable=False)


def _pcopy(dst, src) -> None:
    """``dst[...] = src``, split along dim 0 across threads."""

    def part(lo, hi):
        dst[lo:hi] = src[lo:hi]

    _parallel_for(part, dst.shape[0], dst.size)


def _copy_to_batch_last(dst, x) -> None:
    """``dst[...] = x.transpose(1, 2, 3, 0)`` for ``x`` (N, C, H, W), ``dst`` (C, H, W, N).

    Read straight from ``x``, the N values of each ``dst`` run are C*H*W apart,
    often a multiple of 4 KiB: they fall in one L1 set and evict each other
    (~5x slower). A plain copy into rows padded by one cache line first breaks
    that stride.
    """
    n = x.shape[0]
    m = x[0].size
    if n < 2 or m < 64:
        _pcopy(dst, x.transpose(1, 2, 3, 0))
        return
    buf = _scratch(array_module(x), "rows", (n, m + 16), x.dtype)
    _pcopy(buf[:, :m], x.reshape(n, m))
    _pcopy(dst, buf[:, :m].reshape(x.shape).transpose(1, 2, 3, 0))


# Rows of the (C*H*W, N) source moved per block by ``_copy_from_batch_last``:
# a block's source stays in cache while its N destination runs are written.
_UNTRANSPOSE_BLOCK = 128


def _copy_from_batch_last(dst, src) -> None:
    """``dst[...] = src.transpose(3, 0, 1, 2)``, ``src`` (C, H, W, N) and ``dst`` contiguous.

    One strided copy would read each source cache line once per sample; in
    blocks of rows it is read once (~3x faster).
    """
    n = dst.shape[0]
    m = dst[0].size
    s2 = src.reshape(m, n)
    d2 = dst.reshape(n, m)
    step = _UNTRANSPOSE_BLOCK

    def part(lo, hi):
        for s in range(lo * step, min(hi * step, m), step):
            d2[:, s : s + step] = s2[s : s + step].T

    _parallel_for(part, -(-m // step), dst.size)


# Source elements per block of ``_copy_from_batch_last_crop`` (32 KiB of float32).
_CROP_BLOCK_ELEMS = 1 << 13


def _copy_from_batch_last_crop(dst, src) -> None:
    """``dst[...] = src.transpose(3, 0, 1, 2)`` for a strided (cropped) ``src`` (C, H, W, N).

    In blocks of rows of one channel, each block's source still in cache while its N
    destination runs are written: a whole channel (0.6 MB for a 32x32 map at batch 128)
    is not, and a copy through a contiguous array first is one more pass (~1.6x slower
    measured at batch 128).
    """
    n, c, h, w = dst.shape
    rows = max(1, _CROP_BLOCK_ELEMS // max(w * n, 1))
    nb = -(-h // rows)

    def part(lo, hi):
        for b in range(lo, hi):
            k, r = divmod(b, nb)
            r *= rows
            dst[:, k, r : r + rows] = src[k, r : r + rows].transpose(2, 0, 1)

    _parallel_for(part, c * nb, dst.size)


def _pad_nchw(x, g: _Geom):
    """``x`` (N, C, H, W) zero-padded to (N, C, hp, wp); ``x`` itself when unpadded.

    A view of the flat-shift buffer (:func:`_padded_flat`): a strided and a stride-1
    layer on the same input size share one temporary.
    """
    hp, wp = g.hp, g.wp
    if hp == g.h and wp == g.w and not g.pt and not g.pl:
        return x
    return _padded_flat(x, g)[:, :, : hp * wp].reshape(x.shape[:2] + (hp, wp))


def _padded_flat(x, g: _Geom):
    """``x`` zero-padded to (hp, wp) per channel and flattened: (N, C, hp*wp + slack).

    The slack, (kw-1)*dw zeros, lets the flat-shift windows of the last rows run past
    the padded width (:func:`_flat_windows`).
    """
    n = x.shape[0]
    hp, wp = g.hp, g.wp
    slack = (g.kw - 1) * g.dw
    # the interior only is written: the zero border and slack stay when it is reused (the
    # tag fixes where the interior lies)
    tag = ("flat", g.pt, g.pl, g.h, g.w, hp, wp)
    xf = _scratch(array_module(x), tag, (n, g.c, hp * wp + slack), x.dtype, True)
    inner = xf[:, :, : hp * wp].reshape(n, g.c, hp, wp)
    _pcopy(inner[:, :, g.pt : g.pt + g.h, g.pl : g.pl + g.w], x)
    return xf


def _to_chwn(x, g: _Geom, xt=None):
    """``x`` (N, C, H, W) as a zero-padded batch-last array (C, hp, wp, N).

    ``xt``, when given, is ``x`` already batch-last (C, H*W*N): a plain copy.
    """
    xp = array_module(x)
    n = x.shape[0]
    hp, wp = g.hp, g.wp
    if xt is not None and hp == g.h and wp == g.w:
        return xt.reshape(g.c, hp, wp, n)
    tag = ("chwn", g.pt, g.pl, g.h, g.w)  # the interior only is written, as in _pad_nchw
    out = _scratch(xp, tag, (g.c, hp, wp, n), x.dtype, zeros=hp != g.h or wp != g.w)
    inner = out[:, g.pt : g.pt + g.h, g.pl : g.pl + g.w, :]
    if xt is None:
        _copy_to_batch_last(inner, x)
    else:
        _pcopy(inner, xt.reshape(g.c, g.h, g.w, n))
    return out


def _im2col(x, g: _Geom, xt=None, scratch: bool = False):
    """Columns of ``x`` (N, C, H, W) in ``g``'s layout.

    batch-major: (N, C*kh*kw, oh*ow); batch-last: (C*kh*kw, oh*ow*N). A 1x1,
    stride-1, unpadded convolution gets a view of ``x``, not a copy. ``xt``:
    ``x`` already batch-last (see ``_to_chwn``), used by the batch-last layout.
    ``scratch``: the columns are a temporary of the caller (see ``_scratch``).
    """
    xp = array_module(x)
    alloc = (lambda shape, dt: _scratch(xp, "cols", shape, dt)) if scratch else xp.empty
    n = x.shape[0]
    kk = g.kh * g.kw
    if g.nlast:
        xt = _to_chwn(x, g, xt)
        s0, s1, s2, s3 = xt.strides
        shape = (g.c, g.kh, g.kw, g.oh, g.ow, n)
        win = _as_strided(xp, xt, shape, (s0, s1 * g.dh, s2 * g.dw, s1 * g.sh, s2 * g.sw, s3))
        cols = alloc((g.c * kk, g.oh * g.ow * n), x.dtype)
    else:
        xpd = _pad_nchw(x, g)
        s0, s1, s2, s3 = xpd.strides
        shape = (n, g.c, g.kh, g.kw, g.oh, g.ow)
        win = _as_strided(xp, xpd, shape, (s0, s1, s2 * g.dh, s3 * g.dw, s2 * g.sh, s3 * g.sw))
        if kk == 1 and g.sh == g.sw == 1 and xpd is x:
            return win.reshape(n, g.c, g.oh * g.ow)  # a view
        cols = alloc((n, g.c * kk, g.oh * g.ow), x.dtype)
    _pcopy(cols.reshape(shape), win)
    return cols


def _col2im(cols, g: _Geom, n: int):
    """Sum columns back into an (N, C, H, W) array: the adjoint of ``_im2col``.

    Loops over the kh*kw kernel offsets, adding one strided slice each; the
    channels (batch-last) or samples (batch-major) are split across threads.
    """
    xp = array_module(cols)
    hp, wp = g.hp, g.wp
    he = (g.oh - 1) * g.sh + 1
    we = (g.ow - 1) * g.sw + 1
    out = xp.empty((n, g.c, g.h, g.w), cols.dtype)
    if g.nlast:
        cv = cols.reshape(g.c, g.kh, g.kw, g.oh, g.ow, n)
        acc = _scratch(xp, "col2im", (g.c, hp, wp, n), cols.dtype)

        def part(lo, hi):
            a = acc[lo:hi]
            a[...] = 0
            for i in range(g.kh):
                r = i * g.dh
                for j in range(g.kw):
                    q = j * g.dw
                    a[:, r : r + he : g.sh, q : q + we : g.sw, :] += cv[lo:hi, i, j]

        _parallel_for(part, g.c, acc.size)
        if hp == g.h and wp == g.w:
            _copy_from_batch_last(out, acc)
        else:
            _copy_from_batch_last_crop(out, acc[:, g.pt : g.pt + g.h, g.pl : g.pl + g.w])
        return out
    cv = cols.reshape(n, g.c, g.kh, g.kw, g.oh, g.ow)
    unpadded = hp == g.h and wp == g.w
    acc = out if unpadded else _scratch(xp, "col2im", (n, g.c, hp, wp), cols.dtype)

    def part(lo, hi):
        a = acc[lo:hi]
        a[...] = 0
        for i in range(g.kh):
            r = i * g.dh
            for j in range(g.kw):
                q = j * g.dw
                a[:, :, r : r + he : g.sh, q : q + we : g.sw] += cv[lo:hi, :, i, j]
        if not unpadded:
            out[lo:hi] = a[:, :, g.pt : g.pt + g.h, g.pl : g.pl + g.w]

    _parallel_for(part, n, acc.size)
    return out


# ---------------------------------------------------------------------------
# the three products of a convolution
#
# Batch-last GEMMs are single products whose rows ``matmul_split`` splits across
# threads (the BLAS beneath runs one thread: see ``tapegrad.set_num_threads``);
# batch-major ones are one GEMM per sample, split across threads by sample. Sums
# over the batch run in a fixed order whatever the thread count.

# Largest per-sample weight-gradient temporary of the batch-major layout (in
# elements) before the batch is processed in chunks.
_WGRAD_CHUNK_ELEMS = 1 << 22


def _weight_matrix(w, g: _Geom):
    """``w`` (Cout, C/G, kh, kw) as (G, Cout/G, C/G*kh*kw)."""
    return w.reshape(g.groups, g.cout // g.groups, -1)


def _batched_matmul(a, b, out) -> None:
    """``out[i] = a @ b[i]`` (or ``a[i] @ b[i]``) with the samples split across threads."""
    a_batched = a.ndim == b.ndim

    def part(lo, hi):
        array_module(b).matmul(a[lo:hi] if a_batched else a, b[lo:hi], out=out[lo:hi])

    _parallel_for(part, out.shape[0], out.size)


def _conv_forward(x, w, b, g: _Geom, keep_cols: bool = True, xt=None):
    """y = conv(x, w) + b for x (N, C, H, W); returns (y, cols), cols None unless kept."""
    xp = array_module(x, w)
    n = x.shape[0]
    G = g.groups
    kk = g.kh * g.kw
    if not g.nlast and not (kk == 1 and g.sh == g.sw == 1 and not g.padded):
        return _conv_forward_fused(x, w, b, g, keep_cols)
    cols = _im2col(x, g, xt if g.nlast else None, scratch=g.nlast and not keep_cols)
    wm = _weight_matrix(w, g)
    L = g.oh * g.ow
    y = xp.empty((n, g.cout, g.oh, g.ow), x.dtype)
    if g.nlast:
        yt = _scratch(xp, "yt", (G, g.cout // G, L * n), x.dtype)
        if G == 1:
            matmul_split(wm[0], cols, xp, out=yt[0])
        else:
            xp.matmul(wm, cols.reshape(G, -1, L * n), out=yt)
        if b is not None:
            yt.reshape(g.cout, -1)[...] += b.reshape(g.cout, 1)
        _copy_from_batch_last(y, yt)
        # kept only when asked: the weight gradient rebuilds batch-last columns cheaply
        return y, (cols if keep_cols else None)
    if G == 1:
        _batched_matmul(wm[0], cols, y.reshape(n, g.cout, L))
    else:
        _batched_matmul(wm, cols.reshape(n, G, wm.shape[2], L), y.reshape(n, G, g.cout // G, L))
    if b is not None:
        y += b.reshape(g.cout, 1, 1)
    return y, cols


# Column elements per chunk of samples in the fused batch-major forward: small
# enough for the chunk to stay in cache between its copy and its GEMM.
_FUSED_CHUNK_ELEMS = 1 << 18
# The same for the chunk-batch-last columns (``_chunk_cols``) of the forward without
# kept columns and of the rebuilt weight gradient: one GEMM per chunk. Measured on
# ResNet-20's 3x3 layers (CPU time, 1 thread): 1 << 16 to 1 << 18 within noise of
# each other, 1 << 17 best on the stride-2 layer; 1 << 20 (1-4 MB chunks, out of
# cache between copy and GEMM) 20-40% slower. At 1 << 17 the 32x32 and 16x16
# stride-1 layers take one sample per chunk, the strided 16x16 layer three.
_REBUILD_CHUNK_ELEMS = 1 << 17


def _conv_forward_fused(x, w, b, g: _Geom, keep_cols: bool):
    """``_conv_forward`` for the batch-major layout, one cache-sized chunk of samples at a time.

    Each chunk's columns are copied and multiplied at once, into the returned
    ``cols`` when ``keep_cols`` (the weight gradient needs them), else into a
    small reused buffer: no batch-sized temporary when nothing keeps it.
    """
    if not keep_cols:
        return _conv_forward_chunked(x, w, b, g), None
    xp = array_module(x, w)
    n = x.shape[0]
    G = g.groups
    kk = g.kh * g.kw
    L = g.oh * g.ow
    xpd = _pad_nchw(x, g)
    s0, s1, s2, s3 = xpd.strides
    shape = (n, g.c, g.kh, g.kw, g.oh, g.ow)
    win = _as_strided(xp, xpd, shape, (s0, s1, s2 * g.dh, s3 * g.dw, s2 * g.sh, s3 * g.sw))
    wm = _weight_matrix(w, g)
    y = xp.empty((n, g.cout, g.oh, g.ow), x.dtype)
    y3 = y.reshape(n, G, g.cout // G, L)
    cols = xp.empty((n, g.c * kk, L), x.dtype) if keep_cols else None
    step = max(1, _FUSED_CHUNK_ELEMS // max(g.c * kk * L, 1))
    bb = None if b is None else b.reshape(G, g.cout // G, 1)

    def part(lo, hi):
        m0 = min(step, hi - lo)
        buf = None if keep_cols else _scratch(xp, "chunk", (m0, g.c * kk, L), x.dtype)
        for s in range(lo, hi, step):
            e = min(s + step, hi)
            c = cols[s:e] if keep_cols else buf[: e - s]
            c.reshape((e - s,) + shape[1:])[...] = win[s:e]
            xp.matmul(wm, c.reshape(e - s, G, -1, L), out=y3[s:e])
            if bb is not None:
                y3[s:e] += bb

    _parallel_for(part, n, y.size + n * g.c * kk * L)
    return y, cols


# The flat layout computes each output row over the whole padded width and
# drops the extra wp-ow columns; used while ow is at least this many times
# their count (1/8 extra GEMM work at most: ResNet's 32- and 16-wide maps).
_FLAT_MIN_OW_PER_WASTED = 8


def _flat_ok(g: _Geom) -> bool:
    """Whether ``g`` (batch-major) can use the flat-shift columns of ``_flat_windows``."""
    return g.sh == g.sw == 1 and not g.nlast and (g.wp - g.ow) * _FLAT_MIN_OW_PER_WASTED <= g.ow


def _flat_windows(x, g: _Geom):
    """Stride-1 columns as a view with contiguous rows: (N, C, kh, kw, oh*wp).

    ``x`` is zero-padded into a flat (N, C, hp*wp + slack) buffer; the window of
    tap (i, j) is then one contiguous run starting at ``i*dh*wp + j*dw``, so the
    im2col copy moves runs of oh*wp values instead of ow. Output column
    ``oh_i*wp + ow_j`` is valid for ``ow_j < ow``; the rest are dropped.
    """
    xf = _padded_flat(x, g)
    wp = g.wp
    s0, s1, s2 = xf.strides
    shape = (x.shape[0], g.c, g.kh, g.kw, g.oh * wp)
    return _as_strided(array_module(x), xf, shape, (s0, s1, s2 * g.dh * wp, s2 * g.dw, s2))


def _chunk_windows(x, g: _Geom):
    """The batch-major windows of ``x`` for the chunked paths: ``(win, sp)``.

    ``win`` is a view (N, C, kh, kw) + ``sp``; ``sp`` the per-sample shape of
    one tap's columns: ``(oh*wp,)`` for flat-shift windows (``_flat_ok``), else
    ``(oh, ow)``.
    """
    if _flat_ok(g):
        return _flat_windows(x, g), (g.oh * g.wp,)
    xp = array_module(x)
    xpd = _pad_nchw(x, g)
    s0, s1, s2, s3 = xpd.strides
    shape = (x.shape[0], g.c, g.kh, g.kw, g.oh, g.ow)
    strides = (s0, s1, s2 * g.dh, s3 * g.dw, s2 * g.sh, s3 * g.sw)
    return _as_strided(xp, xpd, shape, strides), (g.oh, g.ow)


def _chunk_cols(xp, win, sp, g: _Geom, step: int, dtype):
    """Fill-in function for chunk-batch-last columns: ``fill(s, e)`` -> (C*kh*kw, (e-s)*L2).

    The columns of samples ``s:e`` go into a reused per-thread buffer laid out
    (C*kh*kw, samples, L2): one GEMM then covers the whole chunk with N =
    samples*L2 (OpenBLAS measured 10-40% faster on one such product than on
    per-sample products, most for the weight gradient, whose K grows too). The
    copy still moves runs of L2 (flat) or ow values.
    """
    ckk = g.c * g.kh * g.kw
    L2 = math.prod(sp)
    buf = _scratch(xp, "chunk_t", (ckk, step, L2), dtype)
    # the views are made once: a 32x32 ResNet layer has one sample per chunk
    src = win.transpose((1, 2, 3, 0) + tuple(range(4, 4 + len(sp))))
    dst = buf.reshape((g.c, g.kh, g.kw, step) + sp)
    full = buf.reshape(ckk, step * L2)

    def fill(s, e):
        m = e - s
        dst[:, :, :, :m] = src[:, :, :, s:e]
        return full if m == step else buf[:, :m].reshape(ckk, m * L2)

    return fill


def _n_chunks(n: int, step: int) -> int:
    return -(-n // step)


def _conv_forward_chunked(x, w, b, g: _Geom):
    """Batch-major ``_conv_forward`` (no columns kept), one chunk of samples per GEMM.

    Chunk boundaries are multiples of ``step`` whatever the thread count (the
    threads take whole chunks), so every output element is computed by the
    same operations at any ``set_num_threads``.
    """
    xp = array_module(x, w)
    n = x.shape[0]
    G = g.groups
    ckk = g.c * g.kh * g.kw
    win, sp = _chunk_windows(x, g)
    L2 = math.prod(sp)
    wm = _weight_matrix(w, g)
    og = g.cout // G
    y = xp.empty((n, g.cout, g.oh, g.ow), x.dtype)
    step = max(1, min(n, _REBUILD_CHUNK_ELEMS // max(ckk * L2, 1)))
    bb = None if b is None else b.reshape(g.cout, 1, 1, 1)

    yt = y.transpose(1, 0, 2, 3)

    def part(lo, hi):
        fill = _chunk_cols(xp, win, sp, g, step, x.dtype)
        yw = _scratch(xp, "chunk_yt", (g.cout, step, L2), x.dtype)
        # (Cout, m, oh, wp or ow) -> (m, Cout, oh, ow): drops the flat layout's extra columns
        ycrop = yw.reshape(g.cout, step, g.oh, -1)[..., : g.ow]
        for ci in range(lo, hi):
            s = ci * step
            e = min(s + step, n)
            m = e - s
            c = fill(s, e)
            xp.matmul(wm, c.reshape(G, -1, m * L2), out=yw[:, :m].reshape(G, og, m * L2))
            if bb is None:
                yt[:, s:e] = ycrop[:, :m]
            else:
                xp.add(ycrop[:, :m], bb, out=yt[:, s:e])

    _parallel_for(part, _n_chunks(n, step), y.size + n * ckk * L2)
    return y


def _grad_t(gy, g: _Geom):
    """The output gradient (N, Cout, oh, ow) in the batch-last layout (Cout, oh*ow*N)."""
    xp = array_module(gy)
    n = gy.shape[0]
    gt = xp.empty((g.cout, g.oh, g.ow, n), gy.dtype)
    _copy_to_batch_last(gt, gy)
    return gt.reshape(g.cout, -1)


def _conv_grad_weight(gy, cols, g: _Geom, gt=None, x=None):
    """dL/dw from the output gradient and the forward's columns (rebuilt from ``x`` if None)."""
    if cols is None:
        if not g.nlast:
            return _conv_grad_weight_recompute(gy, x, g)
        # batch-last: copies of ow*n runs, cheap next to the GEMM
        cols = _im2col(x, g, scratch=True)
    xp = array_module(gy, cols)
    G = g.groups
    og = g.cout // G
    if g.nlast:
        if gt is None:
            gt = _grad_t(gy, g)
        if G == 1:
            gw = matmul_split(gt, cols.T, xp)
        else:
            m = gt.shape[1]
            gw = xp.matmul(gt.reshape(G, og, m), cols.reshape(G, -1, m).transpose(0, 2, 1))
        return gw.reshape(g.cout, g.c // G, g.kh, g.kw)
    n = gy.shape[0]
    L = g.oh * g.ow
    g4 = gy.reshape(n, G, og, L)
    c4 = cols.reshape(n, G, g.c // G * g.kh * g.kw, L)  # no -1: n may be 0
    per = g.cout * c4.shape[2]
    step = max(1, _WGRAD_CHUNK_ELEMS // max(per, 1))
    gw = xp.zeros((G, og, c4.shape[2]), gy.dtype)
    prods = _scratch(xp, "prods", (min(step, n), G, og, c4.shape[2]), gy.dtype)
    for s in range(0, n, step):
        m = min(step, n - s)
        _batched_matmul(g4[s : s + m], c4[s : s + m].transpose(0, 1, 3, 2), prods[:m])
        gw += prods[:m].sum(axis=0)
    return gw.reshape(g.cout, g.c // G, g.kh, g.kw)


# Column elements up to which the forward keeps its columns for the weight
# gradient; larger ones are rebuilt in the backward (batch-major: chunk by
# chunk, measured faster on ResNet-20's 3x3 layers, where keeping them streams
# ~9x the input through memory; batch-last: at once, ~0.5 ms on a 4 ms GEMM),
# for ~4x less working memory. The seed CNN's layers (1.3-1.4M) keep them.
_KEEP_COLS_MAX_ELEMS = 1 << 21


def _keep_cols(g: _Geom, n: int) -> bool:
    """Whether the forward should keep its columns for the weight gradient."""
    return n * g.c * g.kh * g.kw * g.oh * g.ow <= _KEEP_COLS_MAX_ELEMS


def _conv_grad_weight_recompute(gy, x, g: _Geom):
    """Batch-major dL/dw with the columns rebuilt chunk by chunk from ``x``.

    As PyTorch does, the forward keeps only the input: each chunk's columns are
    copied (chunk-batch-last, see ``_chunk_cols``) into a cache-sized buffer
    right before one GEMM whose inner dimension spans the whole chunk. Chunk
    boundaries do not depend on the thread count and the per-chunk products
    are summed in a fixed order, so any thread count gives the same numbers.
    """
    xp = array_module(gy, x)
    n = gy.shape[0]
    G = g.groups
    og = g.cout // G
    kg = g.c // G * g.kh * g.kw
    win, sp = _chunk_windows(x, g)
    flat = len(sp) == 1
    L2 = math.prod(sp)
    step = max(1, min(n, _REBUILD_CHUNK_ELEMS // max(G * kg * L2, 1)))
    nch = _n_chunks(n, step)
    # per-chunk products summed in blocks of chunks, so that they stay bounded (a
    # 512-channel 14x14 layer's products are 9 MB per chunk)
    outer = max(1, _WGRAD_CHUNK_ELEMS // max(g.cout * kg, 1))
    prods = _scratch(xp, "prods_t", (min(outer, nch), G, og, kg), gy.dtype)

    def part(lo, hi, base):
        fill = _chunk_cols(xp, win, sp, g, step, gy.dtype)
        # dy batch-last per chunk; flat: widened to the padded width, the dropped
        # columns ow.. zero (only [..., :ow] is ever written, so they stay zero on reuse)
        gyw = _scratch(xp, ("gyw_t", g.ow), (g.cout, step, g.oh, L2 // g.oh), gy.dtype, flat)
        for ci in range(lo, hi):
            s = ci * step
            e = min(s + step, n)
            m = e - s
            c = fill(s, e)
            gc = gyw[:, :m]
            gc[..., : g.ow] = gy[s:e].transpose(1, 0, 2, 3)
            xp.matmul(
                gc.reshape(G, og, m * L2),
                c.reshape(G, kg, m * L2).transpose(0, 2, 1),
                out=prods[ci - base],
            )

    gw = xp.zeros((G, og, kg), gy.dtype)
    for base in range(0, nch, outer):
        m = min(outer, nch - base)
        work = min(n, m * step) * (G * kg + g.cout) * L2
        _parallel_for(lambda lo, hi, b=base: part(b + lo, b + hi, b), m, work)
        gw += prods[:m].sum(axis=0)
    return gw.reshape(g.cout, g.c // G, g.kh, g.kw)


# Elements of the per-chunk weight-gradient products of ``_conv_grads_shared`` held
# before they are summed (1 MiB of float32).
_SHARED_PRODS_ELEMS = 1 << 18


def _shared_cols_geom(g: _Geom, n: int):
    """The flipped convolution for :func:`_conv_grads_shared`, or None where it does not apply.

    Needs a stride-1, ungrouped ``g`` whose input gradient is a batch-last convolution
    or a batch-major flat-shift one (ResNet's 3x3 layers).
    """
    if g.groups != 1 or n < 1:
        return None
    f = _flipped_geom(g, n)
    if f is None or not (f.nlast or _flat_ok(f)):
        return None
    return f


def _conv_grads_shared(gy, x, w, g: _Geom, f: _Geom):
    """dL/dx and dL/dw of a stride-1 convolution from one set of columns of dy.

    dx is the convolution ``f`` (see :func:`_flipped_geom`) of dy with the flipped
    kernel, over flat-shift columns ``D[(co, i, j), p] = dy_pad[co, p + off(i, j)]``
    (``_chunk_windows``). The weight gradient reads the same columns: with ``p`` over
    x's positions, ``dw[co, c, kh-1-i, kw-1-j] = sum_p D[(co, i, j), p] * x[c, p]``,
    so per chunk one product ``D @ X^T`` with ``X`` the chunk of x in the flat width
    (its extra columns zero). That replaces the copy of x's kh*kw-fold columns and of
    dy that :func:`_conv_grad_weight_recompute` makes by one copy of x. Chunk
    boundaries and the order of the per-chunk sums do not depend on the thread count.
    """
    if f.nlast:
        return _conv_grads_shared_nlast(gy, x, w, g, f)
    xp = array_module(gy, x)
    n = gy.shape[0]
    ckk = f.c * f.kh * f.kw  # (Cout, kh, kw)
    win, sp = _chunk_windows(gy, f)
    L2 = sp[0]
    wpf = L2 // f.oh
    wm = _flipped_weight(w, g).reshape(g.c, ckk)
    gx = xp.empty((n, g.c, g.h, g.w), gy.dtype)
    gxt = gx.transpose(1, 0, 2, 3)
    step = max(1, min(n, _REBUILD_CHUNK_ELEMS // max(ckk * L2, 1)))
    nch = _n_chunks(n, step)
    outer = max(1, _SHARED_PRODS_ELEMS // max(ckk * g.c, 1))
    prods = _scratch(xp, "prods_s", (min(outer, nch), ckk, g.c), gy.dtype)

    def part(lo, hi, base):
        fill = _chunk_cols(xp, win, sp, f, step, gy.dtype)
        yw = _scratch(xp, "chunk_yt", (g.c, step, L2), gy.dtype)
        ycrop = yw.reshape(g.c, step, g.h, wpf)[..., : g.w]
        # x in the flat width; only [..., :w] is ever written, so the rest stays zero
        xw = _scratch(xp, ("xw_s", g.w), (g.c, step, g.h, wpf), gy.dtype, True)
        for ci in range(lo, hi):
            s = ci * step
            e = min(s + step, n)
            m = e - s
            c = fill(s, e)
            xp.matmul(wm, c, out=yw[:, :m].reshape(g.c, m * L2))
            gxt[:, s:e] = ycrop[:, :m]
            xc = xw[:, :m]
            xc[..., : g.w] = x[s:e].transpose(1, 0, 2, 3)
            xp.matmul(c, xc.reshape(g.c, m * L2).T, out=prods[ci - base])

    gwt = xp.zeros((ckk, g.c), gy.dtype)
    for base in range(0, nch, outer):
        m = min(outer, nch - base)
        work = min(n, m * step) * (ckk + 2 * g.c) * L2
        _parallel_for(lambda lo, hi, b=base: part(b + lo, b + hi, b), m, work)
        gwt += prods[:m].sum(axis=0)
    return gx, _unflip_weight_grad(gwt, g)


def _unflip_weight_grad(gwt, g: _Geom):
    """``gwt`` (Cout*kh*kw, C), indexed by the flipped taps, as dw (Cout, C, kh, kw)."""
    gw = gwt.reshape(g.cout, g.kh, g.kw, g.c)[:, ::-1, ::-1].transpose(0, 3, 1, 2)
    return array_module(gwt).ascontiguousarray(gw)


def _conv_grads_shared_nlast(gy, x, w, g: _Geom, f: _Geom):
    """:func:`_conv_grads_shared` in the batch-last layout: one product each over all samples.

    The batch-last columns ``D`` (Cout*kh*kw, H*W*N) of dy give dx = Wf @ D and, with x
    batch-last (C, H*W*N), dw = D @ x^T: the transpose of x replaces its kh*kw-fold
    columns.
    """
    xp = array_module(gy, x)
    n = gy.shape[0]
    d = _im2col(gy, f, scratch=True)
    wm = _flipped_weight(w, g).reshape(g.c, -1)
    yt = _scratch(xp, "yt", (g.c, d.shape[1]), gy.dtype)
    matmul_split(wm, d, xp, out=yt)
    gx = xp.empty((n, g.c, g.h, g.w), gy.dtype)
    _copy_from_batch_last(gx, yt)
    xt = _scratch(xp, "xt_s", (g.c, g.h, g.w, n), gy.dtype)
    _copy_to_batch_last(xt, x)
    gwt = matmul_split(d, xt.reshape(g.c, -1).T, xp)
    return gx, _unflip_weight_grad(gwt, g)


# A stride-1 input gradient is computed as a direct convolution (no col2im)
# while the columns of dy it copies (Cout*H*W per tap) are at most this many
# times the columns col2im would scatter (C*oh*ow per tap, ~3 memory passes).
# Measured on 3x3 'same' layers (ResNet) and the seed CNN's 5x5 valid ones.
_FLIPPED_MAX_RATIO = 3


def _flipped_geom(g: _Geom, n: int):
    """The convolution of dy that yields dx for a stride-1 ``g``, or None.

    dx is the full correlation of dy with the spatially flipped kernel: a
    stride-1 convolution with padding ``d*(k-1) - p`` on each side.
    """
    if g.sh != 1 or g.sw != 1 or g.cout * g.h * g.w > _FLIPPED_MAX_RATIO * g.c * g.oh * g.ow:
        return None
    eh, ew = g.dh * (g.kh - 1), g.dw * (g.kw - 1)
    pads = (eh - g.pt, eh - g.pb, ew - g.pl, ew - g.pr)
    if min(pads) < 0:
        return None
    f = _Geom(g.cout, g.oh, g.ow, g.c, g.kh, g.kw, (1, 1), pads, (g.dh, g.dw), g.groups)
    if (f.oh, f.ow) != (g.h, g.w):  # a transposed convolution's output_padding
        return None
    f.pick_layout(n)
    return f


def _flipped_weight(w, g: _Geom):
    """``w`` (Cout, C/G, kh, kw) as the flipped convolution's weight (C, Cout/G, kh, kw)."""
    G = g.groups
    wf = w.reshape(G, g.cout // G, g.c // G, g.kh, g.kw).transpose(0, 2, 1, 3, 4)
    return (
        array_module(w).ascontiguousarray(wf[..., ::-1, ::-1]).reshape(g.c, g.cout // G, g.kh, g.kw)
    )


def _col2im_layout(g: _Geom, n: int) -> _Geom:
    """``g``, or ``g`` batch-last for a strided kernel larger than 1x1 (the col2im of dx).

    Batch-major, each tap's strided slice adds runs of one element; batch-last, runs
    of n (~2x faster for ResNet's 3x3 stride-2 layer at batch 64). 1x1 kernels have a
    single tap and stay batch-major.
    """
    if g.nlast or n < 2 or g.kh * g.kw == 1 or (g.sh == 1 and g.sw == 1):
        return g
    pads = (g.pt, g.pb, g.pl, g.pr)
    f = _Geom(g.c, g.h, g.w, g.cout, g.kh, g.kw, (g.sh, g.sw), pads, (g.dh, g.dw), g.groups)
    f.oh, f.ow, f.nlast = g.oh, g.ow, True
    return f


def _conv_grad_input(gy, w, g: _Geom, gt=None):
    """dL/dx (N, C, H, W): the transposed convolution of the output gradient."""
    xp = array_module(gy, w)
    n = gy.shape[0]
    f = _flipped_geom(g, n)
    if f is not None:
        # the batch-last dy the weight gradient made, if any, saves a transpose
        return _conv_forward(gy, _flipped_weight(w, g), None, f, False, gt)[0]
    g = _col2im_layout(g, n)
    G = g.groups
    wm = _weight_matrix(w, g)
    wt = wm.transpose(0, 2, 1)
    if g.nlast:
        if gt is None:
            gt = _grad_t(gy, g)
        # the same buffer as the columns of the forward and of the weight gradient: never
        # live at the same time
        gcols = _scratch(xp, "cols", (G, wt.shape[1], gt.shape[1]), gy.dtype)
        if G == 1:
            matmul_split(wt[0], gt, xp, out=gcols[0])
        else:
            xp.matmul(wt, gt.reshape(G, g.cout // G, -1), out=gcols)
    else:
        L = g.oh * g.ow
        ckk = wt.shape[1]
        gcols = _scratch(xp, "gcols", (n, G * ckk, L), gy.dtype)
        if G == 1:
            _batched_matmul(wt[0], gy.reshape(n, g.cout, L), gcols)
        else:
            _batched_matmul(wt, gy.reshape(n, G, g.cout // G, L), gcols.reshape(n, G, ckk, L))
    return _col2im(gcols, g, n)


# ---------------------------------------------------------------------------
# the primitive


def _to4(a, nd):
    return a if nd == 2 else a.reshape(a.shape[:2] + (1,) + a.shape[2:])


def _from4(a, nd):
    return a if nd == 2 else a.reshape(a.shape[:2] + a.shape[3:])


class Convolution(Function):
    """Direct or transposed N-d (N = 1, 2) convolution (``torch.convolution``).

    ``geom`` describes the direct convolution; for ``transposed=True`` its
    input side is this op's output (the roles of x and y swap).

    The convolution is bilinear in (x, w), and its three products are each
    other's derivatives: the input gradient of a direct convolution is the
    transposed convolution of dy with w (and vice versa), the weight gradient
    is ``ConvolutionWeightGrad``. The backward runs them through ``ctx.op``, so
    that under ``create_graph`` it is differentiable again, to any order.

    ``scratch`` (a dict, from a backward only) shares raw intermediates of
    the same values between the two products of one backward: the batch-last
    dy (``"gt"``) and the columns of the direct input side (``"cols"``).
    """

    backward_name = "ConvolutionBackward0"

    @U.float32_compute
    def forward(ctx, x, w, b=None, geom=None, transposed=False, nd=2, scratch=None):
        g = geom
        ctx.geom, ctx.transposed, ctx.nd = g, transposed, nd
        # _recording is False when called through ctx.op in an ordinary backward: then
        # nothing is saved, and columns are kept only for the caller's weight gradient
        need = ctx.needs_input_grad if ctx._recording else None
        x4, w4 = _to4(x, nd), _to4(w, nd)
        if not transposed:
            want = scratch is not None or (need is not None and need[1])
            # a backward's scratch holds batch-last columns only while it runs
            keep = want and (_keep_cols(g, x4.shape[0]) or (scratch is not None and g.nlast))
            y, cols = _conv_forward(x4, w4, b, g, keep_cols=keep)
            if scratch is not None:
                scratch["cols"] = cols
            if need is not None:
                ctx.save_for_backward(x, w, cols if need[1] else None)
            return _from4(y, nd)
        y = _conv_grad_input(x4, w4, g, _shared_grad_t(scratch, x4, g))
        if b is not None:
            y += b.reshape(-1, 1, 1)
        if need is not None:
            ctx.save_for_backward(x, w)
        return _from4(y, nd)

    @U.float32_compute
    def backward(ctx, gy):
        xp = ctx.xp
        g, nd = ctx.geom, ctx.nd
        saved = ctx.saved_tensors
        x, w = saved[0], saved[1]
        nx, nw, nb = ctx.needs_input_grad
        gx = gw = gb = None
        if nb:
            gb = xp.sum(gy, axis=(0, 2, 3) if nd == 2 else (0, 2))
        # direct: dx = conv^T(dy, w), dw = W(x, dy); transposed (y = conv^T(x)): dx =
        # conv(dy, w), dw = W(dy, x), W the weight gradient of the direct convolution
        # (its input side, its output side's gradient)
        t = ctx.transposed
        if nx and nw and not t and xp is np and ctx._saved[2] is None and x.dtype == gy.dtype:
            # an ordinary backward (nothing recorded): both products from one set of columns
            f = _shared_cols_geom(g, x.shape[0]) if w.dtype == gy.dtype else None
            if f is not None:
                gx4, gw4 = _conv_grads_shared(_to4(gy, nd), _to4(x, nd), _to4(w, nd), g, f)
                return _from4(gx4, nd), _from4(gw4, nd), gb
        # raw intermediates the two products share: the forward's columns (constants
        # whatever the namespace) or those of dy made by dx's convolution, dy batch-last
        scratch = {"cols": ctx._saved[2]} if nw and not t else {}
        if nx:
            gx = ctx.op(
                ConvolutionInputGrad,
                gy,
                w,
                None,
                geom=g,
                transposed=not t,
                nd=nd,
                scratch=scratch if nw else None,
            )
        if nw:
            a, b = (gy, x) if t else (x, gy)
            gw = ctx.op(ConvolutionWeightGrad, a, b, geom=g, nd=nd, scratch=scratch)
        return gx, gw, gb


def _shared_grad_t(scratch, gy, g: _Geom):
    """``_grad_t(gy, g)`` for the batch-last layout, made once per backward in ``scratch``."""
    if scratch is None or not g.nlast:
        return None
    gt = scratch.get("gt")
    if gt is None:
        gt = scratch["gt"] = _grad_t(gy, g)
    return gt


class ConvolutionInputGrad(Convolution):
    """A convolution computing another one's input gradient, named as PyTorch names it."""

    backward_name = "ConvolutionBackwardBackward0"


class ConvolutionWeightGrad(Function):
    """The weight gradient of the direct convolution ``geom``, a bilinear kernel.

    ``a`` is the convolution's input side (N, C, H, W), ``b`` the gradient of
    its output side (N, Cout, oh, ow). Its derivatives are convolutions with
    the upstream gradient ``G`` (shaped like the weight): d/da is the
    transposed convolution of ``b`` with ``G``, d/db the direct convolution
    of ``a`` with ``G``.
    """

    backward_name = "ConvolutionBackwardBackward0"

    def forward(ctx, a, b, geom=None, nd=2, scratch=None):
        g = geom
        ctx.geom, ctx.nd = g, nd
        if ctx._recording:
            ctx.save_for_backward(a, b)
        a4, b4 = _to4(a, nd), _to4(b, nd)
        cols = None if scratch is None else scratch.get("cols")
        gt = _shared_grad_t(scratch, b4, g)
        return _from4(_conv_grad_weight(b4, cols, g, gt, a4), nd)

    def backward(ctx, gw):
        g, nd = ctx.geom, ctx.nd
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            ga = ctx.op(Convolution, b, gw, None, geom=g, transposed=True, nd=nd)
        if nb:
            gb = ctx.op(Convolution, a, gw, None, geom=g, transposed=False, nd=nd)
        return ga, gb


# ---------------------------------------------------------------------------
# public functions


def _check_common(name, input, weight, bias, nd):
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
            f"input of size: {list(input.shape)}"
        )
    if weight.ndim != nd + 2:
        sp = weight.ndim - 2
        raise RuntimeError(
            f"expected stride to be a single integer value or a list of {sp} values to match the "
            f"convolution dimensions, but got stride={[1] * nd}"
        )
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(
            f"expected scalar type {_type_name(input._data.dtype)} but found "
            f"{_type_name(weight._data.dtype)}"
        )
    if bias is not None and bias._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"Input type ({_type_name(input._data.dtype).lower()}) and bias type "
            f"({_type_name(bias._data.dtype).lower()}) should be the same"
        )
    from .._tensor import Tensor

    for t in (input, weight, bias):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument must be Tensor, not {type(t).__name__}")
    if input.device != weight.device:
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{input.device} and {weight.device}!"
        )


def _check_groups_bias(weight, bias, groups, out_ch, transposed):
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    ws = list(weight.shape)
    if ws[0] < 1 and not transposed:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but "
            f"got weight of size {ws} instead"
        )
    if ws[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{ws}] instead"
        )
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_ch):
        pre = "Given transposed=1, weight" if transposed else "Given weight"
        raise RuntimeError(
            f"{pre} of size {ws}, expected bias to be 1-dimensional with {out_ch} elements, but "
            f"got bias of size {list(bias.shape)} instead"
        )


def _same_padding(kernel, dilation, stride):
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return pads


def _convnd(name, nd, input, weight, bias, stride, padding, dilation, groups):
    _check_common(name, input, weight, bias, nd)
    batched = input.ndim == nd + 2
    stride = _conv_tuple(stride, nd, "stride")
    dilation = _conv_tuple(dilation, nd, "dilation")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * nd
        elif padding == "same":
            if any(s <= 0 for s in stride):
                raise RuntimeError("non-positive stride is not supported")
            pads = _same_padding(kernel, dilation, stride)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = [(p, p) for p in _conv_tuple(padding, nd, "padding")]
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for pr in pads for p in pr):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    cout = weight.shape[0]
    _check_groups_bias(weight, bias, groups, cout, False)
    x = input if batched else input.unsqueeze(0)
    c = x.shape[1]
    if weight.shape[1] * groups != c:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {weight.shape[1] * groups} channels, but got {c} "
            "channels instead"
        )
    spatial = tuple(x.shape[2:])
    padded = [s + a + b for s, (a, b) in zip(spatial, pads)]
    eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(e > p for e, p in zip(eff, padded)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({_dims_str(padded)}). Kernel size: "
            f"({_dims_str(eff)}). Kernel size can't be greater than actual input size"
        )
    if nd == 3:
        y = _conv3d_by_depth_taps(x, weight, bias, stride, pads, dilation, groups)
        return y if batched else _squeeze0(y)
    if nd == 1:
        h, w = 1, spatial[0]
        kh, kw = 1, kernel[0]
        st, dl = (1, stride[0]), (1, dilation[0])
        pd = (0, 0) + pads[0]
    else:
        (h, w), (kh, kw), st, dl = spatial, kernel, stride, dilation
        pd = pads[0] + pads[1]
    g = _Geom(c, h, w, cout, kh, kw, st, pd, dl, groups)
    g.pick_layout(x.shape[0])
    y = Convolution.apply(x, weight, bias, geom=g, transposed=False, nd=nd)
    return y if batched else _squeeze0(y)


def _conv3d_by_depth_taps(x, weight, bias, stride, pads, dilation, groups):
    """A 3-D convolution composed of differentiable ops: one 2-D convolution per depth tap.

    Every output depth slice of one tap is a 2-D convolution of the input
    slices that tap sees, so folding the output depth into the batch makes the
    whole tap one ``conv2d``; the taps are summed. Autograd comes from the parts.
    """
    from .nn_ops import ConstantPad

    n, c = x.shape[:2]
    sd, sh, sw = stride
    dd, dh, dw = dilation
    kd = weight.shape[2]
    (d0, d1), (h0, h1), (w0, w1) = pads
    hw_pad = (h0, w0)
    if d0 or d1 or h0 != h1 or w0 != w1:
        # Depth padding (and asymmetric 'same' padding) as an explicit zero pad.
        extra = ((h0, h1), (w0, w1)) if (h0 != h1 or w0 != w1) else ((0, 0), (0, 0))
        x = ConstantPad.apply(x, pads=((0, 0), (0, 0), (d0, d1)) + extra, value=0.0)
        if h0 != h1 or w0 != w1:
            hw_pad = (0, 0)
    depth, h, w = x.shape[2:]
    od = (depth - dd * (kd - 1) - 1) // sd + 1
    y = None
    for t in range(kd):
        xs = x[:, :, t * dd : t * dd + (od - 1) * sd + 1 : sd]
        xs = xs.permute(0, 2, 1, 3, 4).reshape(n * od, c, h, w)
        part = conv2d(xs, weight[:, :, t], None, (sh, sw), hw_pad, (dh, dw), groups)
        y = part if y is None else y + part
    cout, oh, ow = y.shape[1:]
    y = y.reshape(n, od, cout, oh, ow).permute(0, 2, 1, 3, 4)
    if bias is not None:
        y = y + bias.reshape(1, cout, 1, 1, 1)
    return y.contiguous()


def _conv_transpose3d_by_depth_taps(x, weight, bias, stride, pads, opad, dilation, groups, od):
    """A 3-D transposed convolution composed of 2-D ones, one per kernel depth tap.

    Tap t sends input depth i to output depth ``i*sd + t*dd - pd``: its 2-D
    transposed convolution over all input depths (folded into the batch) is
    spread ``sd`` apart, shifted by ``t*dd`` and added; the result is cropped
    by the depth padding. Autograd comes from the parts.
    """
    from .nn_ops import ConstantPad

    n, _, depth, h, w = x.shape
    sd, sh, sw = stride
    dd, dh, dw = dilation
    kd = weight.shape[2]
    span = (depth - 1) * sd + 1
    full = span + dd * (kd - 1) + opad[0]
    xs = x.permute(0, 2, 1, 3, 4).reshape(n * depth, x.shape[1], h, w)
    y = None
    for t in range(kd):
        z = conv_transpose2d(
            xs, weight[:, :, t], None, (sh, sw), pads[1:], opad[1:], groups, (dh, dw)
        )
        z = z.reshape((n, depth) + tuple(z.shape[1:]))
        if sd > 1:
            # depth i -> i*sd: a zero slot after every slice, then drop the trailing ones
            z = ConstantPad.apply(
                z.unsqueeze(2), pads=((0, 0), (0, 0), (0, sd - 1)) + ((0, 0),) * 3
            )
            z = z.reshape((n, depth * sd) + tuple(z.shape[3:]))[:, :span]
        z = ConstantPad.apply(z, pads=((0, 0), (t * dd, full - span - t * dd)) + ((0, 0),) * 3)
        y = z if y is None else y + z
    y = y[:, pads[0] : pads[0] + od].permute(0, 2, 1, 3, 4)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1, 1)
    return y.contiguous()


def _squeeze0(t):
    from .shape import View

    return _Squeeze1.apply(t, shape=tuple(t.shape[1:])) if issubclass(_Squeeze1, View) else t


def _make_squeeze1():
    from .shape import View

    class Squeeze1(View):
        """``squeeze(dim)``'s view node, named as PyTorch names it."""

        backward_name = "SqueezeBackward1"

    return Squeeze1


_Squeeze1 = _make_squeeze1()


def conv1d(
    input: Tensor, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """1-D convolution over (N, C, L) or (C, L) (``torch.nn.functional.conv1d``).

    Args:
        input: the input, (N, C_in, L) or (C_in, L).
        weight: the filters, (C_out, C_in / groups, k).
        bias: an optional (C_out,) tensor added to each output channel.
        stride: the step of the kernel, an int or a one-int tuple.
        padding: implicit zeros on both sides of each spatial dim: an int or a one-int tuple,
            ``"valid"`` (none) or ``"same"`` (the output as large as the input; stride 1 only).
        dilation: the spacing between kernel taps, an int or a one-int tuple.
        groups: the number of blocked connections from input to output channels; divides C_in and
            C_out.

    Returns:
        The output, (N, C_out, L_out) (no batch dim if ``input`` has none).

    Raises:
        RuntimeError: the shapes, dtypes or arguments do not fit (PyTorch's messages).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "conv1d", conv1d, input, weight, bias, stride, padding, dilation, groups
        )
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """2-D convolution over (N, C, H, W) or (C, H, W) (``torch.nn.functional.conv2d``).

    ``padding`` is an int, a pair, ``'valid'`` or ``'same'``:

        y = conv2d(x, w, b, stride=1, padding="same")

    Args:
        input: the input, (N, C_in, H, W) or (C_in, H, W).
        weight: the filters, (C_out, C_in / groups, kH, kW).
        bias: an optional (C_out,) tensor added to each output channel.
        stride: the step of the kernel, an int or a tuple of 2 ints.
        padding: implicit zeros on both sides of each spatial dim: an int or a tuple of 2 ints,
            ``"valid"`` (none) or ``"same"`` (the output as large as the input; stride 1 only).
        dilation: the spacing between kernel taps, an int or a tuple of 2 ints.
        groups: the number of blocked connections from input to output channels; divides C_in and
            C_out.

    Returns:
        The output, (N, C_out, H_out, W_out) (no batch dim if ``input`` has none).

    Raises:
        RuntimeError: the shapes, dtypes or arguments do not fit (PyTorch's messages).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "conv2d", conv2d, input, weight, bias, stride, padding, dilation, groups
        )
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) (``torch.nn.functional.conv3d``).

    Built from 2-D convolutions (one per kernel depth tap), so its grad_fn is
    that of the composition, not ``ConvolutionBackward0``.

    Args:
        input: the input, (N, C_in, D, H, W) or (C_in, D, H, W).
        weight: the filters, (C_out, C_in / groups, kD, kH, kW).
        bias: an optional (C_out,) tensor added to each output channel.
        stride: the step of the kernel, an int or a tuple of 3 ints.
        padding: implicit zeros on both sides of each spatial dim: an int or a tuple of 3 ints,
            ``"valid"`` (none) or ``"same"`` (the output as large as the input; stride 1 only).
        dilation: the spacing between kernel taps, an int or a tuple of 3 ints.
        groups: the number of blocked connections from input to output channels; divides C_in and
            C_out.

    Returns:
        The output, (N, C_out, D_out, H_out, W_out) (no batch dim if ``input`` has none).

    Raises:
        RuntimeError: the shapes, dtypes or arguments do not fit (PyTorch's messages).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "conv3d", conv3d, input, weight, bias, stride, padding, dilation, groups
        )
    return _convnd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(
    name, nd, input, weight, bias, stride, padding, output_padding, groups, dilation
):
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    _check_common(name, input, weight, bias, nd)
    batched = input.ndim == nd + 2
    stride = _conv_tuple(stride, nd, "stride")
    pads = _conv_tuple(padding, nd, "padding")
    opad = _conv_tuple(output_padding, nd, "output_padding")
    dilation = _conv_tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in pads):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in opad):
        raise RuntimeError("negative output_padding is not supported")
    if any(d <= 0 for d in dilation):
        if nd == 2:
            raise RuntimeError(
                "dilation should be greater than zero, but got dilation_height: "
                f"{dilation[0]}, dilation_width: {dilation[1]}"
            )
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    kernel = tuple(weight.shape[2:])
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    cout = weight.shape[1] * groups
    _check_groups_bias(weight, bias, groups, cout, True)
    x = input if batched else input.unsqueeze(0)
    cin = x.shape[1]
    if weight.shape[0] != cin:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {weight.shape[0]} channels, but got {cin} channels instead"
        )
    for op, s, d in zip(opad, stride, dilation):
        if op >= s and op >= d:
            if nd == 2:
                raise RuntimeError(
                    "output padding must be smaller than either stride or dilation, but got "
                    f"output_padding_height: {opad[0]} output_padding_width: {opad[1]} "
                    f"stride_height: {stride[0]} stride_width: {stride[1]} dilation_height: "
                    f"{dilation[0]} dilation_width: {dilation[1]}"
                )
            raise RuntimeError(
                "output padding must be smaller than either stride or dilation, but got "
                f"output_padding: {opad[0]} stride: {stride[0]} dilation: {dilation[0]}"
            )
    spatial = tuple(x.shape[2:])
    out = [
        (i - 1) * s - 2 * p + d * (k - 1) + op + 1
        for i, s, p, d, k, op in zip(spatial, stride, pads, dilation, kernel, opad)
    ]
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"Given input size per channel: ({_dims_str(spatial)}). Calculated output size per "
            f"channel: ({_dims_str(out)}). Output size is too small"
        )
    if nd == 3:
        y = _conv_transpose3d_by_depth_taps(
            x, weight, bias, stride, pads, opad, dilation, groups, out[0]
        )
        return y if batched else _squeeze0(y)
    if nd == 1:
        h, w, oh, ow = 1, out[0], 1, spatial[0]
        kh, kw = 1, kernel[0]
        st, dl = (1, stride[0]), (1, dilation[0])
        pd = (0, 0, pads[0], pads[0])
    else:
        (h, w), (oh, ow), (kh, kw), st, dl = out, spatial, kernel, stride, dilation
        pd = (pads[0], pads[0], pads[1], pads[1])
    # The direct convolution this one transposes: cout -> weight.shape[0] channels.
    g = _Geom(cout, h, w, weight.shape[0], kh, kw, st, pd, dl, groups, oh, ow)
    g.pick_layout(x.shape[0])
    y = Convolution.apply(x, weight, bias, geom=g, transposed=True, nd=nd)
    return y if batched else _squeeze0(y)


def conv_transpose1d(
    input: Tensor,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """1-D transposed convolution (``torch.nn.functional.conv_transpose1d``).

    ``weight`` is (C_in, C_out / groups, k).

    Args:
        input: the input, (N, C_in, L) or (C_in, L).
        weight: the filters, (C_in, C_out / groups, k).
        bias: an optional (C_out,) tensor added to each output channel.
        stride: the step of the kernel in the direct convolution this one transposes, an int or a
            one-int tuple.
        padding: ``dilation * (kernel_size - 1) - padding`` zeros are added on both sides of each
            spatial dim of the input (the padding of the direct convolution), an int or a one-int
            tuple.
        output_padding: extra size added on one side of each output dim, to pick among the shapes
            the direct convolution maps to the same size; smaller than ``stride`` or ``dilation``.
        groups: the number of blocked connections from input to output channels; divides C_in and
            C_out.
        dilation: the spacing between kernel taps, an int or a one-int tuple.

    Returns:
        The output; each spatial size is
        ``(in - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``
        (no batch dim if ``input`` has none).

    Raises:
        TypeError: ``padding`` is a string.
        RuntimeError: the shapes, dtypes or arguments do not fit (PyTorch's messages).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "conv_transpose1d",
            conv_transpose1d,
            input,
            weight,
            bias,
            stride,
            padding,
            output_padding,
            groups,
            dilation,
        )
    return _conv_transposend(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """2-D transposed convolution (``torch.nn.functional.conv_transpose2d``).

    ``weight`` is (C_in, C_out / groups, kh, kw); the output has
    ``(H - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1`` rows.

    Args:
        input: the input, (N, C_in, H, W) or (C_in, H, W).
        weight: the filters, (C_in, C_out / groups, kH, kW).
        bias: an optional (C_out,) tensor added to each output channel.
        stride: the step of the kernel in the direct convolution this one transposes, an int or a
            tuple of 2 ints.
        padding: ``dilation * (kernel_size - 1) - padding`` zeros are added on both sides of each
            spatial dim of the input (the padding of the direct convolution), an int or a tuple of 2
            ints.
        output_padding: extra size added on one side of each output dim, to pick among the shapes
            the direct convolution maps to the same size; smaller than ``stride`` or ``dilation``.
        groups: the number of blocked connections from input to output channels; divides C_in and
            C_out.
        dilation: the spacing between kernel taps, an int or a tuple of 2 ints.

    Returns:
        The output; each spatial size is
        ``(in - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``
        (no batch dim if ``input`` has none).

    Raises:
        TypeError: ``padding`` is a string.
        RuntimeError: the shapes, dtypes or arguments do not fit (PyTorch's messages).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "conv_transpose2d",
            conv_transpose2d,
            input,
            weight,
            bias,
            stride,
            padding,
            output_padding,
            groups,
            dilation,
        )
    return _conv_transposend(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose3d(
    input: Tensor,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """3-D transposed convolution (``torch.nn.functional.conv_transpose3d``).

    ``weight`` is (C_in, C_out / groups, kd, kh, kw); built from 2-D
    transposed convolutions, one per kernel depth tap.

    Args:
        input: the input, (N, C_in, D, H, W) or (C_in, D, H, W).
        weight: the filters, (C_in, C_out / groups, kD, kH, kW).
        bias: an optional (C_out,) tensor added to each output channel.
        stride: the step of the kernel in the direct convolution this one transposes, an int or a
            tuple of 3 ints.
        padding: ``dilation * (kernel_size - 1) - padding`` zeros are added on both sides of each
            spatial dim of the input (the padding of the direct convolution), an int or a tuple of 3
            ints.
        output_padding: extra size added on one side of each output dim, to pick among the shapes
            the direct convolution maps to the same size; smaller than ``stride`` or ``dilation``.
        groups: the number of blocked connections from input to output channels; divides C_in and
            C_out.
        dilation: the spacing between kernel taps, an int or a tuple of 3 ints.

    Returns:
        The output; each spatial size is
        ``(in - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``
        (no batch dim if ``input`` has none).

    Raises:
        TypeError: ``padding`` is a string.
        RuntimeError: the shapes, dtypes or arguments do not fit (PyTorch's messages).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "conv_transpose3d",
            conv_transpose3d,
            input,
            weight,
            bias,
            stride,
            padding,
            output_padding,
            groups,
            dilation,
        )
    return _conv_transposend(
        "conv_transpose3d",
        3,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


# ---------------------------------------------------------------------------
# unfold / fold


def _pair_arg(value, name: str) -> tuple:
    if isinstance(value, numbers.Integral):
        return (int(value), int(value))
    vals = tuple(int(v) for v in value)
    if len(vals) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(vals)}")
    return vals


def _check_fold_args(kernel, dilation, padding, stride):
    if kernel[0] <= 0 or kernel[1] <= 0:
        raise RuntimeError(
            "kernel size should be greater than zero, but got kernel_height: "
            f"{kernel[0]} kernel_width: {kernel[1]}"
        )
    if dilation[0] <= 0 or dilation[1] <= 0:
        raise RuntimeError(
            "dilation should be greater than zero, but got dilation_height: "
            f"{dilation[0]} dilation_width: {dilation[1]}"
        )
    if padding[0] < 0 or padding[1] < 0:
        raise RuntimeError(
            f"padding should be non-negative, but got pad_height: {padding[0]} pad_width: "
            f"{padding[1]}"
        )
    if stride[0] <= 0 or stride[1] <= 0:
        raise RuntimeError(
            f"stride should be greater than zero, but got stride_height: {stride[0]} "
            f"stride_width: {stride[1]}"
        )


class Im2Col(Function):
    """Sliding blocks as columns (N, C*kh*kw, L) (``torch.nn.functional.unfold``)."""

    backward_name = "Im2ColBackward0"

    def forward(ctx, x, geom=None):
        ctx.geom = geom
        cols = _im2col(x, geom)
        return cols.copy() if cols.base is not None else cols

    def backward(ctx, g):
        return ctx.op(Col2Im, g, geom=ctx.geom)


class Col2Im(Function):
    """Columns summed back into an image (``torch.nn.functional.fold``)."""

    backward_name = "Col2ImBackward0"

    def forward(ctx, cols, geom=None):
        ctx.geom = geom
        return _col2im(cols, geom, cols.shape[0])

    def backward(ctx, g):
        return ctx.op(Im2Col, g, geom=ctx.geom)


def _fold_geom(c, h, w, kernel, dilation, padding, stride):
    return _Geom(
        c,
        h,
        w,
        0,
        kernel[0],
        kernel[1],
        stride,
        (padding[0], padding[0], padding[1], padding[1]),
        dilation,
        1,
    )


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks as columns, im2col (``torch.nn.functional.unfold``).

    (N, C, H, W) -> (N, C*kh*kw, L), L the number of blocks.

    Args:
        input: the image, (N, C, H, W) or (C, H, W).
        kernel_size: the size of the blocks, an int or a pair.
        dilation: the spacing between the taps of a block, an int or a pair.
        padding: implicit zeros on both sides of H and W, an int or a pair.
        stride: the step between blocks, an int or a pair.

    Raises:
        RuntimeError: ``input`` is not 3- or 4-D, an argument is not positive (padding: negative),
            or no block fits.
    """
    if input.ndim < 3:
        # PyTorch reads input.size(2) (its 1-based channel dim) before checking the rank.
        n = max(input.ndim, 1)
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
            f"{input.ndim})"
        )
    if input.ndim not in (3, 4):
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {list(input.shape)}"
        )
    kernel = _pair_arg(kernel_size, "kernel_size")
    dilation = _pair_arg(dilation, "dilation")
    padding = _pair_arg(padding, "padding")
    stride = _pair_arg(stride, "stride")
    _check_fold_args(kernel, dilation, padding, stride)
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    c, h, w = x.shape[1:]
    g = _fold_geom(c, h, w, kernel, dilation, padding, stride)
    if g.oh < 1 or g.ow < 1:
        raise RuntimeError(
            f"Given input with spatial size ({h}, {w}), kernel_size=({kernel[0]}, {kernel[1]}), "
            f"dilation=({dilation[0]}, {dilation[1]}), padding=({padding[0]}, {padding[1]}), "
            f"calculated shape of the array of sliding blocks as ({g.oh}, {g.ow}), but its "
            "components must be at least one."
        )
    y = Im2Col.apply(x, geom=g)
    return y if batched else _squeeze0(y)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding blocks back into an image, col2im (``torch.nn.functional.fold``).

    (N, C*kh*kw, L) -> (N, C, H, W) with (H, W) = ``output_size``.

    Args:
        input: the columns, (N, C * kh * kw, L) or (C * kh * kw, L), L the number of blocks that fit
            in ``output_size``.
        output_size: the (H, W) of the image, an int or a pair.
        kernel_size: the size of the blocks, an int or a pair.
        dilation: the spacing between the taps of a block, an int or a pair.
        padding: implicit zeros on both sides of H and W, an int or a pair (cut off the result).
        stride: the step between blocks, an int or a pair.

    Returns:
        The image, (N, C, H, W) or (C, H, W); where blocks overlap, their values add up.

    Raises:
        RuntimeError: ``input`` is not 2- or 3-D, its dim 1 is not divisible by ``kh * kw``, or L is
            not the number of blocks.
    """
    if input.ndim not in (2, 3):
        raise RuntimeError(
            "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
            f"non-zero dimensions for input, but got: {list(input.shape)}"
        )
    out_hw = _pair_arg(output_size, "output_size")
    kernel = _pair_arg(kernel_size, "kernel_size")
    dilation = _pair_arg(dilation, "dilation")
    padding = _pair_arg(padding, "padding")
    stride = _pair_arg(stride, "stride")
    _check_fold_args(kernel, dilation, padding, stride)
    batched = input.ndim == 3
    x = input if batched else input.unsqueeze(0)
    kk = kernel[0] * kernel[1]
    if x.shape[1] % kk:
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
            f"but got input.size(1)={x.shape[1]} and kernel_size=({kernel[0]}, {kernel[1]})."
        )
    h, w = out_hw
    g = _fold_geom(x.shape[1] // kk, h, w, kernel, dilation, padding, stride)
    nb_h, nb_w = max(g.oh, 0), max(g.ow, 0)
    if nb_h < 1 or nb_w < 1 or x.shape[2] != nb_h * nb_w:
        raise RuntimeError(
            f"Given output_size=({h}, {w}), kernel_size=({kernel[0]}, {kernel[1]}), "
            f"dilation=({dilation[0]}, {dilation[1]}), padding=({padding[0]}, {padding[1]}), "
            f"stride=({stride[0]}, {stride[1]}), expected size of input's dimension 2 to match "
            f"the calculated number of sliding blocks {nb_h} * {nb_w} = {nb_h * nb_w}, but got "
            f"input.size(2)={x.shape[2]}."
        )
    y = Col2Im.apply(x, geom=g)
    return y if batched else _squeeze0(y)


# ---------------------------------------------------------------------------
# reference implementation (tests only)


def _reference_conv2d(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """A loop-free float64 convolution by ``einsum`` over NumPy's sliding windows.

    ``pads`` is (top, bottom, left, right). It shares no code with the
    im2col/GEMM path, which the tests compare against it.
    """
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    n, c, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    pt, pb, pl, pr = pads
    xpd = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    win = np.lib.stride_tricks.sliding_window_view(xpd, span, axis=(2, 3))
    win = win[:, :, :: stride[0], :: stride[1], :: dilation[0], :: dilation[1]]
    oh, ow = win.shape[2:4]
    win = win.reshape(n, groups, cg, oh, ow, kh, kw)
    wg = w.reshape(groups, cout // groups, cg, kh, kw)
    y = np.einsum("ngcijkl,gockl->ngoij", win, wg).reshape(n, cout, oh, ow)
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape(1, cout, 1, 1)
    return y
