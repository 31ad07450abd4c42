"""Pooling: max, average, adaptive, LP pooling and max-unpooling (``torch.nn.functional``).

All window pooling runs on one strided view of the (padded) input whose
leading axes are the kernel taps, ``win[k1, k2, N, C, o1, o2]``:

* max pooling copies that view once into a contiguous (K, N, C, o1, o2)
  array, takes the maximum over the tap axis and finds the first tap equal to
  it with one broadcast comparison (PyTorch's first-maximum rule; a NaN wins).
  Backward stores the upstream gradient at each window's argmax position in one
  indexed store when windows are disjoint (e.g. stride == kernel), or adds it tap
  by tap when they overlap.
* average pooling adds the taps and divides by PyTorch's per-window divisor
  (int64 averages truncate, as PyTorch's do).

No loop runs over elements or samples; loops run over the kernel taps only.
With ``tapegrad.set_num_threads(2)`` the batch is split across threads (NumPy
releases the GIL in its kernels); every element is computed by the same
operations either way, so the results are identical.

Each backward kernel is a Function of its own, run through ``ctx.op``, whose
backward is the adjoint kernel: max pooling's scatter (``MaxPoolScatter``) and
the gather at the same taps (``MaxPoolGather``), average pooling's spread
(``AvgPoolSpread``) and the average pooling itself, adaptive average pooling's
matrix products (``AdaptiveAvgSpread``) and the pooling, the flat-index scatter-add
and gather of adaptive max pooling and max-unpooling (``PlaneScatterAdd``,
``PlaneGather``). Gradients are therefore differentiable to any order
(``create_graph=True``) while an ordinary backward runs the same raw kernels.

1-D pooling runs as 2-D pooling over a unit height, as PyTorch does (hence
its ``SqueezeBackward1`` grad_fn). ``_reference_max_pool``/``_reference_avg_pool``
are direct loops used by the tests.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from ..amp import autocast_mode as _ac
from ..autograd.function import Function
from ..backend import array_module
from .conv import _parallel_for, _Squeeze1, _type_name

if TYPE_CHECKING:
    from .._tensor import Tensor

# ---------------------------------------------------------------------------
# geometry


class _Win:
    """A grid of pooling windows over the last ``nd`` dims of an array.

    ``p`` (before) and ``hi`` (after) pad the input so that every window
    (ceil_mode ones too) lies inside the padded array, which starts at the
    first window.
    """

    __slots__ = ("nd", "size", "k", "s", "p", "d", "out", "hi", "disjoint", "exact", "padded")

    def __init__(self, size, k, s, p, d, out):
        self.nd = len(size)
        self.size, self.k, self.s, self.p, self.d, self.out = size, k, s, p, d, out
        self.hi = tuple(
            max(0, (o - 1) * st + dl * (kk - 1) + 1 - n - pp)
            for n, kk, st, pp, dl, o in zip(size, k, s, p, d, out)
        )
        self.padded = any(p) or any(self.hi)
        # Disjoint windows: each input element is in at most one window, so the
        # backward can write the gradient in one go instead of adding per tap.
        self.disjoint = all(
            o == 1 or st >= dl * (kk - 1) + 1 for o, st, dl, kk in zip(out, s, d, k)
        )
        # Disjoint windows that also cover the whole (unpadded) input.
        self.exact = not self.padded and all(
            dl == 1 and st == kk and o * kk == n for n, kk, st, dl, o in zip(size, k, s, d, out)
        )

    @property
    def taps(self) -> int:
        return math.prod(self.k)

    def padded_shape(self, lead) -> tuple:
        return tuple(lead) + tuple(n + pp + h for n, pp, h in zip(self.size, self.p, self.hi))

    def inner(self) -> tuple:
        """The index of the unpadded input inside the padded array."""
        return (Ellipsis,) + tuple(slice(pp, pp + n) for pp, n in zip(self.p, self.size))

    def tap_slices(self):
        """One index per kernel tap, in row-major tap order, into the padded array."""
        ranges = [range(kk) for kk in self.k]
        for tap in itertools.product(*ranges):
            yield (Ellipsis,) + tuple(
                slice(t * dl, t * dl + (o - 1) * st + 1, st)
                for t, dl, o, st in zip(tap, self.d, self.out, self.s)
            )


def _pad(x, g: _Win, fill):
    """``x`` inside an array of ``g``'s padded shape, filled with ``fill``."""
    if not g.padded:
        return x
    xp = array_module(x)
    out = xp.full(g.padded_shape(x.shape[: -g.nd]), fill, x.dtype)
    out[g.inner()] = x
    return out


def _windows(a, g: _Win, writeable: bool = False):
    """The strided view (k..., lead..., out...) of the padded array ``a``."""
    xp = array_module(a)
    nd = g.nd
    lead = a.shape[:-nd]
    sp = a.strides[-nd:]
    shape = tuple(g.k) + lead + tuple(g.out)
    strides = (
        tuple(s * dl for s, dl in zip(sp, g.d))
        + a.strides[:-nd]
        + tuple(s * st for s, st in zip(sp, g.s))
    )
    return xp.lib.stride_tricks.as_strided(a, shape, strides, writeable=writeable)


def _crop(a, g: _Win):
    if not g.padded:
        return a
    return array_module(a).ascontiguousarray(a[g.inner()])


def _is_float(dt) -> bool:
    # kind "V" is ml_dtypes' bfloat16, which NumPy does not class as floating
    return np.issubdtype(dt, np.floating) or dt.kind == "V"


def _min_value(dt):
    if _is_float(dt):
        return -np.inf
    return np.iinfo(dt).min


def _tap_dtype(taps: int):
    return np.uint8 if taps < 255 else np.int32


# ---------------------------------------------------------------------------
# blocking: cache-sized pieces, spread over threads

# Bytes of input per block. A block's input, its tap copies and outputs then stay
# in the 1 MB L2 cache of the machines measured: pooling the seed CNN's 100x32x24x24
# activations in one piece took 3x longer per element than in blocks of this size.
_BLOCK_BYTES = 1 << 19


def _planes(a, nd: int):
    """``a`` with its leading (batch, channel) dims flattened into one."""
    return a.reshape((-1,) + a.shape[a.ndim - nd :])


def _blocked(kernel, ins, outs, nd: int) -> None:
    """``kernel(*in_block, *out_block)`` over blocks of planes of ``ins``/``outs``.

    Every array has the same leading dims followed by ``nd`` spatial dims (its own
    sizes); ``outs`` are fresh contiguous arrays that the kernel fills. Blocks hold
    about ``_BLOCK_BYTES`` of the largest array's planes and run on
    ``tapegrad.set_num_threads`` threads (NumPy releases the GIL in its kernels).
    Each plane is computed by the same operations whatever the blocking, so any
    block size and thread count give identical numbers.
    """
    fin = [_planes(a, nd) for a in ins]
    fout = [_planes(o, nd) for o in outs]
    planes = fin[0].shape[0]
    if planes == 0:
        return
    plane_bytes = max(a[0].nbytes for a in fin + fout) or 1
    per = max(1, _BLOCK_BYTES // plane_bytes)
    blocks = -(-planes // per)

    def part(lo, hi):
        for b in range(lo, hi):
            s = slice(b * per, min(planes, (b + 1) * per))
            kernel(*(a[s] for a in fin), *(o[s] for o in fout))

    _parallel_for(part, blocks, sum(a.size for a in fin))


# ---------------------------------------------------------------------------
# max pooling on raw arrays


def _first_max(w, axis):
    """(max, index of its first occurrence) along ``axis`` of ``w``; the last NaN wins."""
    xp = array_module(w)
    K = w.shape[axis]
    best = w.max(axis=axis)
    tdt = _tap_dtype(K)
    shape = [1] * w.ndim
    shape[axis] = K
    # First t with w[t] == max is K - max_t(eq_t * (K - t)): three broadcast
    # passes instead of an argmax along a short axis (one call per window).
    weights = xp.arange(K, 0, -1, dtype=tdt).reshape(shape)
    eq = xp.expand_dims(best, axis) == w
    if tdt is np.uint8:
        # bool and uint8 share a layout: weight the comparison in place.
        eq = xp.multiply(eq.view(np.uint8), weights, out=eq.view(np.uint8))
    else:
        eq = eq * weights
    idx = eq.max(axis=axis)
    np.subtract(tdt(K), idx, out=idx)
    if _is_float(w.dtype):
        nan = xp.isnan(best)
        if nan.any():
            # PyTorch's kernels take ``val > max || isnan(val)``: the last NaN wins.
            last = (xp.isnan(w) * xp.arange(1, K + 1, dtype=tdt).reshape(shape)).max(axis)
            idx[nan] = last[nan] - 1
    return best, idx


def _max_pool_forward(x, g: _Win, want_index: bool):
    """(max, tap index or None) over each window of ``x``."""
    xp = array_module(x)
    win = _windows(_pad(x, g, _min_value(x.dtype)), g)
    K = g.taps
    lead_out = win.shape[g.nd :]
    # One gather into a contiguous taps-first array: every later pass is SIMD-friendly.
    w = xp.empty(win.shape, x.dtype)
    w[...] = win
    w = w.reshape((K,) + lead_out)
    if not want_index:
        return w.max(axis=0), None
    return _first_max(w, 0)


def _scatter_taps(xp, gw_fn, lead, g: _Win, dtype, out=None):
    """Sum per-tap gradients ``gw_fn(t)`` (lead..., out...) back onto the input grid
    (into ``out`` when given and there is no padding)."""
    gxp = out if out is not None and not g.padded else xp.zeros(g.padded_shape(lead), dtype)
    if gxp is out:
        out.fill(0)
    for t, sl in enumerate(g.tap_slices()):
        gxp[sl] += gw_fn(t)
    return _crop(gxp, g)


def _padded_grad(xp, g: _Win, lead, dtype, out=None):
    """A gradient array of the padded input's shape: ``out`` itself when there is no
    padding; zeroed unless every input element lies in exactly one window."""
    if out is not None and not g.padded:
        if not g.exact:
            out.fill(0)
        return out
    return (xp.empty if g.exact else xp.zeros)(g.padded_shape(lead), dtype)


def _tap_offsets(g: _Win, xp, size):
    """Each tap's flat offset from its window's start in a plane of shape ``size``."""
    el = [math.prod(size[dim + 1 :]) for dim in range(g.nd)]  # element strides
    taps = itertools.product(*[range(kk) for kk in g.k])
    return xp.array([sum(t * dl * e for t, dl, e in zip(tap, g.d, el)) for tap in taps], np.intp)


def _plane_starts(g: _Win, xp, size, origin):
    """The flat start of every window (out...) in a plane of shape ``size`` whose first
    window begins at ``origin`` (per dim: 0 in the padded plane, -padding unpadded)."""
    start = xp.zeros((), np.intp)
    for dim in range(g.nd):
        el = math.prod(size[dim + 1 :])
        pos = xp.arange(g.out[dim], dtype=np.intp) * g.s[dim] + origin[dim]
        start = xp.add.outer(start, pos * el)
    return start


def _window_starts(g: _Win, lead, xp):
    """The flat start of every window (lead..., out...) in a C-contiguous padded input."""
    size = g.padded_shape(())
    start = _plane_starts(g, xp, size, (0,) * g.nd)
    # built as (planes, windows) so that each pass runs over whole rows
    planes = xp.arange(math.prod(lead), dtype=np.intp) * math.prod(size)
    return xp.add.outer(planes, start.reshape(-1)).reshape(tuple(lead) + tuple(g.out))


def _tap_positions(idx, g: _Win, lead, memo=None):
    """Flat position of each window's tap ``idx`` in a C-contiguous array of the padded
    input's shape (leading dims ``lead``): the scatter and gather address of max pooling.

    ``memo`` (a dict) keeps the tap offsets and window starts for the next block of the
    same shape: building them took two thirds of a block's scatter.
    """
    xp = array_module(idx)
    memo = {} if memo is None else memo
    key = tuple(lead)
    starts = memo.get(key)
    if starts is None:
        starts = memo[key] = _window_starts(g, lead, xp)
    offsets = memo.get("taps")
    if offsets is None:
        offsets = memo["taps"] = _tap_offsets(g, xp, g.padded_shape(()))
    # every tap index is < taps: "clip" skips take's bounds check (half its time)
    pos = offsets.take(idx, mode="clip")
    pos += starts
    return pos


def _max_pool_backward(gy, idx, g: _Win, in_shape, out=None, memo=None):
    """The gradient of max pooling: ``gy`` routed to each window's argmax tap
    (written into ``out``, a C-contiguous array of the input's shape, when given;
    ``memo`` as in ``_tap_positions``)."""
    xp = array_module(gy)
    lead = in_shape[: -g.nd]
    if g.disjoint:
        # Each input element is in at most one window: one scatter of ``gy`` to the
        # argmax positions into zeros (the seed CNN's 100x32x24x24 pool: 1.8 ms instead
        # of 4.6-5.0 ms writing every tap of the window view, whose inner loops are a few
        # elements long). A NaN or inf in ``gy`` lands at its tap only, as in PyTorch.
        if out is not None and not g.padded and out.flags.c_contiguous:
            gxp = out
            gxp.fill(0)
        else:
            gxp = xp.zeros(g.padded_shape(lead), gy.dtype)
        gxp.reshape(-1)[_tap_positions(idx, g, lead, memo).reshape(-1)] = gy.reshape(-1)
        return _crop(gxp, g)
    zero = gy.dtype.type(0)
    return _scatter_taps(xp, lambda t: xp.where(idx == t, gy, zero), lead, g, gy.dtype, out)


def _max_pool_gather(x, idx, g: _Win):
    """``x``'s value at the tap ``idx`` of each window (lead..., out...)."""
    xp = array_module(x)
    xpd = xp.ascontiguousarray(_pad(x, g, 0))
    return xpd.reshape(-1).take(_tap_positions(idx, g, x.shape[: -g.nd]))


def _flat_indices(idx, g: _Win):
    """PyTorch's indices (flat position in each unpadded input plane) from tap indices."""
    xp = array_module(idx)
    origin = tuple(-pp for pp in g.p)
    pos = _tap_offsets(g, xp, g.size)[idx] + _plane_starts(g, xp, g.size, origin)
    return pos.astype(np.int64, copy=False)


# ---------------------------------------------------------------------------
# average pooling on raw arrays


def _avg_divisor(g: _Win, count_include_pad: bool, divisor_override, dtype):
    """PyTorch's per-window divisor, a scalar when it is the same for every window."""
    if divisor_override:
        return dtype.type(divisor_override)
    per_dim = []
    for n, kk, st, pp, o in zip(g.size, g.k, g.s, g.p, g.out):
        start = np.arange(o) * st - pp
        end = np.minimum(start + kk, n + pp)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        per_dim.append(end - start)
    div = per_dim[0]
    for v in per_dim[1:]:
        div = np.multiply.outer(div, v)
    div = np.asarray(div)
    if (div == div.flat[0]).all():
        return dtype.type(div.flat[0])
    return div.astype(dtype)


def _avg_pool_forward(x, g: _Win, divisor):
    xp = array_module(x)
    xpd = _pad(x, g, 0)
    acc = None
    for sl in g.tap_slices():
        if acc is None:
            acc = xp.array(xpd[sl], copy=True)
        else:
            acc += xpd[sl]
    if acc.dtype.kind in "iu":
        # int64 averages truncate toward zero, as PyTorch's integer division does.
        return xp.sign(acc) * (xp.abs(acc) // divisor)
    acc /= divisor
    return acc


def _avg_pool_backward(gy, g: _Win, divisor, in_shape, out=None):
    xp = array_module(gy)
    gs = gy / divisor
    lead = in_shape[: -g.nd]
    if g.disjoint:
        gxp = _padded_grad(xp, g, lead, gy.dtype, out)
        _windows(gxp, g, writeable=True)[...] = gs
        return _crop(gxp, g)
    return _scatter_taps(xp, lambda t: gs, lead, g, gy.dtype, out)


# ---------------------------------------------------------------------------
# the kernels over whole arrays, in cache-sized blocks


def _max_pool(x, g: _Win, want_index: bool):
    """(max, tap index or None) over each window of ``x``, block by block."""
    xp = array_module(x)
    shape = x.shape[: -g.nd] + tuple(g.out)
    y = xp.empty(shape, x.dtype)
    idx = xp.empty(shape, _tap_dtype(g.taps)) if want_index else None

    def kernel(xb, yb, ib=None):
        v, i = _max_pool_forward(xb, g, want_index)
        yb[...] = v
        if ib is not None:
            ib[...] = i

    _blocked(kernel, [x], [y] if idx is None else [y, idx], g.nd)
    return y, idx


def _max_pool_scatter(gy, idx, g: _Win, in_shape):
    """Max pooling's backward over whole arrays: ``gy`` routed to the taps ``idx``."""
    gx = array_module(gy).empty(tuple(in_shape), gy.dtype)
    memo: dict = {}  # blocks of one size share their scatter addresses

    def kernel(gb, ib, ob):
        r = _max_pool_backward(gb, ib, g, ob.shape, out=ob, memo=memo)
        if r is not ob:
            ob[...] = r

    _blocked(kernel, [gy, idx], [gx], g.nd)
    return gx


def _avg_pool(x, g: _Win, divisor):
    xp = array_module(x)
    y = xp.empty(x.shape[: -g.nd] + tuple(g.out), x.dtype)

    def kernel(xb, yb):
        yb[...] = _avg_pool_forward(xb, g, divisor)

    _blocked(kernel, [x], [y], g.nd)
    return y


def _avg_spread(gy, g: _Win, divisor, in_shape):
    """Average pooling's backward over whole arrays."""
    gx = array_module(gy).empty(tuple(in_shape), gy.dtype)

    def kernel(gb, ob):
        r = _avg_pool_backward(gb, g, divisor, ob.shape, out=ob)
        if r is not ob:
            ob[...] = r

    _blocked(kernel, [gy], [gx], g.nd)
    return gx


# ---------------------------------------------------------------------------
# the primitives


def _twice(op) -> str:
    """The grad_fn name PyTorch gives the backward of ``op``'s backward.

    ``MaxPool2DWithIndicesBackward0`` -> ``MaxPool2DWithIndicesBackwardBackward0``.
    """
    return op.backward_name[:-1] + "Backward0"


class _MaxPoolNd(Function):
    """Max pooling over the last ``g.nd`` dims, saving the argmax tap for backward."""

    def forward(ctx, x, geom=None, with_indices=False):
        ctx.geom = geom
        ctx.in_shape = x.shape
        need = getattr(ctx, "needs_input_grad", None)
        want = with_indices or need is not None
        y, idx = _max_pool(x, geom, want)
        if need is not None:
            # saved (not a plain attribute) so that it is freed after backward and a
            # second backward raises PyTorch's error
            ctx.save_for_backward(idx)
        if with_indices:
            return y, _flat_indices(idx, geom)
        return y

    def backward(ctx, gy, gidx=None):
        (idx,) = ctx.saved_tensors
        kernel = _renamed(MaxPoolScatter, _twice(type(ctx)))
        return ctx.op(kernel, gy, idx, geom=ctx.geom, in_shape=ctx.in_shape)


class MaxPoolScatter(Function):
    """Max pooling's backward kernel: ``gy`` routed to each window's argmax tap ``idx``.

    Linear in ``gy``; its derivative gathers the upstream gradient at the same
    taps (``MaxPoolGather``), so max pooling is differentiable to any order.
    """

    def forward(ctx, gy, idx, geom=None, in_shape=None):
        ctx.geom = geom
        if ctx._recording:
            ctx.save_for_backward(idx)
        return _max_pool_scatter(gy, idx, geom, in_shape)

    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return ctx.op(MaxPoolGather, g, idx, geom=ctx.geom), None


class MaxPoolGather(Function):
    """The value of ``x`` at each window's tap ``idx`` (the adjoint of ``MaxPoolScatter``)."""

    def forward(ctx, x, idx, geom=None):
        ctx.geom, ctx.in_shape = geom, x.shape
        if ctx._recording:
            ctx.save_for_backward(idx)
        return _max_pool_gather(x, idx, geom)

    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return ctx.op(MaxPoolScatter, g, idx, geom=ctx.geom, in_shape=ctx.in_shape), None


class MaxPool2DWithIndices(_MaxPoolNd):
    """2-D max pooling (``torch.max_pool2d``)."""

    backward_name = "MaxPool2DWithIndicesBackward0"


class MaxPool2DWithIndicesPair(MaxPool2DWithIndices):
    """2-D max pooling returning (values, indices) (``max_pool2d_with_indices``)."""

    backward_name = "MaxPool2DWithIndicesBackward0"
    num_outputs = 2
    non_differentiable = (1,)


class MaxPool3DWithIndices(_MaxPoolNd):
    """3-D max pooling (``torch.max_pool3d``)."""

    backward_name = "MaxPool3DWithIndicesBackward0"


class MaxPool3DWithIndicesPair(MaxPool3DWithIndices):
    """3-D max pooling returning (values, indices)."""

    backward_name = "MaxPool3DWithIndicesBackward0"
    num_outputs = 2
    non_differentiable = (1,)


class _AvgPoolNd(Function):
    """Average pooling over the last ``g.nd`` dims."""

    def forward(ctx, x, geom=None, divisor=None):
        ctx.geom, ctx.divisor, ctx.in_shape = geom, divisor, x.shape
        ctx.save_for_backward()  # nothing to keep, but a second backward must raise
        return _avg_pool(x, geom, divisor)

    def backward(ctx, gy):
        ctx.saved_tensors  # noqa: B018  (raises once the graph is freed)
        return ctx.op(
            _renamed(AvgPoolSpread, _twice(type(ctx))),
            gy,
            geom=ctx.geom,
            divisor=ctx.divisor,
            in_shape=ctx.in_shape,
            pool=type(ctx),
        )


class AvgPoolSpread(Function):
    """Average pooling's backward kernel: ``gy / divisor`` spread over each window.

    Linear in ``gy``; its derivative is the average pooling ``pool`` itself.
    """

    def forward(ctx, gy, geom=None, divisor=None, in_shape=None, pool=None):
        ctx.geom, ctx.divisor, ctx.pool = geom, divisor, pool
        return _avg_spread(gy, geom, divisor, in_shape)

    def backward(ctx, g):
        return ctx.op(ctx.pool, g, geom=ctx.geom, divisor=ctx.divisor)


class AvgPool2D(_AvgPoolNd):
    """2-D average pooling (``torch._C._nn.avg_pool2d``)."""

    backward_name = "AvgPool2DBackward0"


class AvgPool3D(_AvgPoolNd):
    """3-D average pooling (``torch._C._nn.avg_pool3d``)."""

    backward_name = "AvgPool3DBackward0"


def _adaptive_bounds(n: int, o: int):
    """PyTorch's adaptive windows: [floor(i*n/o), ceil((i+1)*n/o)) for each output i."""
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _adaptive_matrix(n: int, o: int, dtype):
    """(o, n) averaging matrix of the adaptive windows along one dim."""
    start, end = _adaptive_bounds(n, o)
    pos = np.arange(n)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _apply_dims(a, mats):
    """Contract the last len(mats) dims of ``a`` with one matrix each (m @ along that dim)."""
    xp = array_module(a)
    nd = len(mats)
    for j, m in enumerate(mats):
        axis = a.ndim - nd + j
        if axis == a.ndim - 1:
            a = xp.matmul(a, m.T)
        else:
            a = xp.moveaxis(xp.matmul(m, xp.moveaxis(a, axis, -2)), -2, axis)
    return xp.ascontiguousarray(a)


class _AdaptiveAvgPoolNd(Function):
    """Adaptive average pooling as one small matrix product per spatial dim."""

    def forward(ctx, x, out_size=None):
        nd = len(out_size)
        mats = [_adaptive_matrix(n, o, x.dtype) for n, o in zip(x.shape[-nd:], out_size)]
        ctx.save_for_backward(*mats)
        ctx.out_size = tuple(out_size)
        return _apply_dims(x, mats)

    def backward(ctx, gy):
        ctx.saved_tensors  # noqa: B018  (raises once the graph is freed)
        kernel = _renamed(AdaptiveAvgSpread, _twice(type(ctx)))
        # the saved matrices are constants: handed to the kernel raw
        return ctx.op(kernel, gy, mats=ctx._saved, out_size=ctx.out_size, pool=type(ctx))


class AdaptiveAvgSpread(Function):
    """Adaptive average pooling's backward kernel: ``gy`` times each averaging matrix.

    Linear in ``gy``; its derivative is the adaptive average pooling ``pool``.
    """

    def forward(ctx, gy, mats=(), out_size=None, pool=None):
        ctx.out_size, ctx.pool = out_size, pool
        return _apply_dims(gy, [m.T for m in mats])

    def backward(ctx, g):
        return ctx.op(ctx.pool, g, out_size=ctx.out_size)


class AdaptiveAvgPool2D(_AdaptiveAvgPoolNd):
    """The autograd node of ``F.adaptive_avg_pool2d`` when the windows differ in size (grad_fn
    ``AdaptiveAvgPool2DBackward0``)."""

    backward_name = "AdaptiveAvgPool2DBackward0"


class AdaptiveAvgPool3D(_AdaptiveAvgPoolNd):
    """The autograd node of ``F.adaptive_avg_pool3d`` when the windows differ in size (grad_fn
    ``AdaptiveAvgPool3DBackward0``)."""

    backward_name = "AdaptiveAvgPool3DBackward0"


def _adaptive_max_flat(size, out):
    """(K, P) flat input positions of each adaptive window's taps (K taps, P outputs).

    Windows shorter than the longest repeat their last element, which changes
    neither the maximum nor which element comes first.
    """
    nd = len(size)
    flat = np.zeros((1,) * (2 * nd), np.int64)
    for j, (n, o) in enumerate(zip(size, out)):
        start, end = _adaptive_bounds(n, o)
        kmax = int((end - start).max()) if o else 1
        table = np.minimum(start[:, None] + np.arange(kmax), end[:, None] - 1)
        shape = [1] * (2 * nd)
        shape[j], shape[nd + j] = kmax, o
        flat = flat + (table.T * math.prod(size[j + 1 :])).reshape(shape)
    kshape = flat.shape[:nd]
    return flat.reshape(math.prod(kshape), math.prod(out))


class _AdaptiveMaxPoolNd(Function):
    """Adaptive max pooling: one gather of the windows, then the first max over the taps."""

    num_outputs = 2
    non_differentiable = (1,)

    def forward(ctx, x, out_size=None):
        nd = len(out_size)
        size, lead = x.shape[-nd:], x.shape[:-nd]
        flat = _adaptive_max_flat(size, out_size)
        rows = math.prod(lead)
        w = x.reshape(rows, -1)[:, flat]  # (rows, K, P)
        best, tap = _first_max(w, 1)
        indices = flat[tap, np.arange(flat.shape[1])]
        out_shape = lead + tuple(out_size)
        ctx.in_shape = x.shape
        ctx.save_for_backward(indices)
        return best.reshape(out_shape), indices.reshape(out_shape)

    def backward(ctx, gy, gidx=None):
        (indices,) = ctx.saved_tensors
        kernel = _renamed(PlaneScatterAdd, _twice(type(ctx)))
        return ctx.op(kernel, gy, indices, shape=ctx.in_shape)


class AdaptiveMaxPool2D(_AdaptiveMaxPoolNd):
    """The autograd node of ``F.adaptive_max_pool2d``: values and indices (grad_fn
    ``AdaptiveMaxPool2DBackward0``)."""

    backward_name = "AdaptiveMaxPool2DBackward0"


class AdaptiveMaxPool3D(_AdaptiveMaxPoolNd):
    """The autograd node of ``F.adaptive_max_pool3d``: values and indices (grad_fn
    ``AdaptiveMaxPool3DBackward0``)."""

    backward_name = "AdaptiveMaxPool3DBackward0"


def _scatter_add(g, indices, shape):
    """Zeros of ``shape`` with ``g`` added at flat plane positions ``indices`` (rows, P)."""
    xp = array_module(g)
    rows = indices.shape[0]
    out = xp.zeros((rows, math.prod(shape) // max(rows, 1)), g.dtype)
    np.add.at(out, (xp.arange(rows)[:, None], indices.reshape(rows, -1)), g.reshape(rows, -1))
    return out.reshape(shape)


class PlaneScatterAdd(Function):
    """``g`` added at flat plane positions ``indices`` (rows, P) into zeros of ``shape``.

    The backward kernel of adaptive max pooling; its derivative is ``PlaneGather``.
    """

    def forward(ctx, g, indices, shape=None):
        ctx.in_shape = g.shape
        if ctx._recording:
            ctx.save_for_backward(indices)
        return _scatter_add(g, indices, shape)

    def backward(ctx, gg):
        (indices,) = ctx.saved_tensors
        return ctx.op(PlaneGather, gg, indices, shape=ctx.in_shape), None


class PlaneGather(Function):
    """The values of ``a`` at flat plane positions ``indices`` (rows, P), as ``shape``.

    Max-unpooling's backward kernel; its derivative is ``PlaneScatterAdd``.
    """

    def forward(ctx, a, indices, shape=None):
        ctx.in_shape = a.shape
        if ctx._recording:
            ctx.save_for_backward(indices)
        rows = indices.shape[0]
        return a.reshape(rows, -1)[array_module(a).arange(rows)[:, None], indices].reshape(shape)

    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        return ctx.op(PlaneScatterAdd, g, indices, shape=ctx.in_shape), None


class _MaxUnpoolNd(Function):
    """Scatter values to their saved max positions in a zero plane (``max_unpool``)."""

    def forward(ctx, x, indices, out_size=None):
        xp = array_module(x)
        nd = len(out_size)
        lead = x.shape[:-nd]
        rows = math.prod(lead)
        plane = math.prod(out_size)
        idx = indices.reshape(rows, -1)
        if idx.size and (idx.min() < 0 or idx.max() >= plane):
            bad = int(idx.max() if idx.max() >= plane else idx.min())
            raise RuntimeError(
                f"Found an invalid max index: {bad} (output volumes are of size "
                f"{'x'.join(str(o) for o in out_size)}"
            )
        out = xp.zeros((rows, plane), x.dtype)
        out[xp.arange(rows)[:, None], idx] = x.reshape(rows, -1)
        ctx.save_for_backward(idx)
        return out.reshape(lead + tuple(out_size))

    def backward(ctx, gy):
        gx = None
        if ctx.needs_input_grad[0]:
            (idx,) = ctx.saved_tensors
            gx = ctx.op(PlaneGather, gy, idx, shape=ctx._in_meta[0][0])
        return gx, None


class MaxUnpool2D(_MaxUnpoolNd):
    """The autograd node of ``F.max_unpool2d`` (grad_fn ``MaxUnpool2DBackward0``)."""

    backward_name = "MaxUnpool2DBackward0"


class MaxUnpool3D(_MaxUnpoolNd):
    """The autograd node of ``F.max_unpool3d`` (grad_fn ``MaxUnpool3DBackward0``)."""

    backward_name = "MaxUnpool3DBackward0"


# ---------------------------------------------------------------------------
# argument handling


def _int_tuple(value, nd: int, fname: str, arg: str, allow_empty: bool = False):
    """An int or a sequence of 1 or ``nd`` ints as an ``nd``-tuple, with PyTorch's errors."""
    if value is None or (allow_empty and isinstance(value, (tuple, list)) and not value):
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * nd
    if isinstance(value, (tuple, list)):
        for v in value:
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise TypeError(
                    f"{fname}(): argument '{arg}' must be tuple of ints, but found element of "
                    f"type {type(v).__name__}"
                )
        if len(value) == 1:
            return (int(value[0]),) * nd
        if len(value) == nd:
            return tuple(int(v) for v in value)
        names = {1: "a single int", 2: "a tuple of two ints", 3: "a tuple of three ints"}
        lead = "must be either" if arg == "dilation" else "must either be"
        extra = " omitted," if arg == "stride" else ""
        raise RuntimeError(
            f"{fname}: {arg} {lead}{extra} a single int, or {names[nd]}"
            if nd > 1
            else f"{fname}: {arg} must be a single int (got {list(value)})"
        )
    raise TypeError(
        f"{fname}(): argument '{arg}' must be tuple of ints, not {type(value).__name__}"
    )


def _out_size(n, k, p, s, d, ceil_mode):
    """PyTorch's ``pooling_output_shape``."""
    if s == 0:
        raise RuntimeError("stride should not be zero")
    if p < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    if p > ((k - 1) * d + 1) // 2:
        raise RuntimeError(
            f"pad should be at most half of effective kernel size, but got pad={p}, "
            f"kernel_size={k} and dilation={d}"
        )
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _check_float(input, name):
    dt = input._data.dtype
    if dt == np.bool_:
        raise NotImplementedError(f"\"{name}\" not implemented for '{_type_name(dt)}'")


def _pool_geom(fname, input, nd, kernel_size, stride, padding, dilation, ceil_mode):
    """Validate a window pooling's arguments as PyTorch does and return its ``_Win``."""
    k = _int_tuple(kernel_size, nd, fname, "kernel_size")
    s = _int_tuple(stride, nd, fname, "stride", allow_empty=True) or k
    p = _int_tuple(padding, nd, fname, "padding")
    d = _int_tuple(dilation, nd, fname, "dilation")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input, but got "
            f"input of size {list(input.shape)}"
        )
    size = tuple(input.shape[-nd:])
    out = tuple(
        _out_size(n, kk, pp, st, dl, ceil_mode) for n, kk, pp, st, dl in zip(size, k, p, s, d)
    )
    axes = "HWD" if nd == 3 else "HW"
    if any(v <= 0 for v in k):
        raise RuntimeError(
            "kernel size should be greater than zero, but got "
            + " ".join(f"k{a}: {v}" for a, v in zip(axes, k))
        )
    if any(v <= 0 for v in s):
        raise RuntimeError(
            "stride should be greater than zero, but got "
            + " ".join(f"d{a}: {v}" for a, v in zip(axes, s))
        )
    if any(v <= 0 for v in d):
        raise RuntimeError(
            "dilation should be greater than zero, but got "
            + " ".join(f"dilation{a}: {v}" for a, v in zip(axes, d))
        )
    if any(n == 0 for n in input.shape[-nd - 1 :]):
        raise RuntimeError(
            f"Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{list(input.shape)}"
        )
    if any(o < 1 for o in out):
        c = input.shape[-nd - 1]
        raise RuntimeError(
            f"Given input size: ({c}x{'x'.join(map(str, size))}). Calculated output size: "
            f"({c}x{'x'.join(map(str, out))}). Output size is too small"
        )
    return _Win(size, k, s, p, d, out)


# ---------------------------------------------------------------------------
# public functions: max pooling


_MAX_FN = {
    2: (MaxPool2DWithIndices, MaxPool2DWithIndicesPair),
    3: (MaxPool3DWithIndices, MaxPool3DWithIndicesPair),
}


def _max_poolnd(fname, nd, input, kernel_size, stride, padding, dilation, ceil_mode, indices):
    _check_float(input, fname)
    g = _pool_geom(fname, input, nd, kernel_size, stride, padding, dilation, ceil_mode)
    single, pair = _MAX_FN[nd]
    if indices:
        return pair.apply(input, geom=g, with_indices=True)
    return single.apply(input, geom=g)


def _unsqueeze_h(t):
    return t.unsqueeze(-2)


def _squeeze_h(t):
    return _Squeeze1.apply(t, shape=tuple(t.shape[:-2]) + tuple(t.shape[-1:]))


def _as_2d_arg(v, fname, arg, fill):
    """A 1-D pooling argument as the (1, v) pair of the 2-D pooling that runs it."""
    if v is None or (isinstance(v, (tuple, list)) and not v):
        return None
    (v,) = _int_tuple(v, 1, fname, arg)
    return (fill, v)


def _check_1d(fname, input):
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"{fname}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
            f"input, but got:{list(input.shape)}"
        )


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=True,
):
    """1-D max pooling returning (values, indices) (``F.max_pool1d_with_indices``).

    Args:
        input: the input, (N, C, L) or (C, L).
        kernel_size: the size of the window, an int or a one-int tuple.
        stride: the step of the window, an int or a one-int tuple; ``None`` is ``kernel_size``.
        padding: implicit negative infinity on both sides of each spatial dim, at most half the
            kernel size.
        dilation: the spacing between the taps of the window.
        ceil_mode: round the output size up instead of down (windows starting in the right padding
            are dropped).
        return_indices: return the position of each maximum, flat within its input plane (what
            ``max_unpool1d`` takes).

    Returns:
        ``(values, indices)`` (only the values with ``return_indices=False``).
    """
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """1-D max pooling over (N, C, L) or (C, L) (``torch.nn.functional.max_pool1d``).

    Args:
        input: the input, (N, C, L) or (C, L).
        kernel_size: the size of the window, an int or a one-int tuple.
        stride: the step of the window, an int or a one-int tuple; ``None`` is ``kernel_size``.
        padding: implicit negative infinity on both sides of each spatial dim, at most half the
            kernel size.
        dilation: the spacing between the taps of the window.
        ceil_mode: round the output size up instead of down (windows starting in the right padding
            are dropped).
        return_indices: also return the position of each maximum, flat within its input plane (what
            ``max_unpool1d`` takes).

    Returns:
        The pooled values, or ``(values, indices)`` with ``return_indices``.

    Raises:
        RuntimeError: the shapes or arguments do not fit (PyTorch's messages).
    """
    fname = "max_pool1d"
    _check_1d(fname, input)
    k = _as_2d_arg(kernel_size, fname, "kernel_size", 1)
    s = _as_2d_arg(stride, fname, "stride", 1)
    p = _as_2d_arg(padding, fname, "padding", 0)
    d = _as_2d_arg(dilation, fname, "dilation", 1)
    if k[1] <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k[1]}")
    if s is not None and s[1] <= 0:
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s[1]}")
    if p[1] < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p[1]}")
    if p[1] > k[1] // 2:
        raise RuntimeError(
            "max_pool1d() padding should be at most half of kernel size, but got "
            f"padding={p[1]} and kernel_size={k[1]}"
        )
    if d[1] <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d[1]}")
    n = input.shape[-1]
    st = k[1] if s is None else s[1]
    o = _out_size(n, k[1], p[1], st, d[1], ceil_mode)
    if o <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {o}")
    res = max_pool2d(_unsqueeze_h(input), k, s or k, p, d, ceil_mode, return_indices)
    if return_indices:
        return _squeeze_h(res[0]), _squeeze_h(res[1])
    return _squeeze_h(res)


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling over (N, C, H, W) or (C, H, W) (``torch.nn.functional.max_pool2d``).

    ``stride`` defaults to ``kernel_size``; with ``return_indices`` the indices
    are flat positions in each input plane, as ``max_unpool2d`` wants them.

    Args:
        input: the input, (N, C, H, W) or (C, H, W).
        kernel_size: the size of the window, an int or a tuple of 2 ints.
        stride: the step of the window, an int or a tuple of 2 ints; ``None`` is ``kernel_size``.
        padding: implicit negative infinity on both sides of each spatial dim, at most half the
            kernel size.
        dilation: the spacing between the taps of the window.
        ceil_mode: round the output size up instead of down (windows starting in the right padding
            are dropped).
        return_indices: also return the position of each maximum, flat within its input plane (what
            ``max_unpool2d`` takes).

    Returns:
        The pooled values, or ``(values, indices)`` with ``return_indices``.

    Raises:
        RuntimeError: the shapes or arguments do not fit (PyTorch's messages).
    """
    return _max_poolnd(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=True,
):
    """2-D max pooling returning (values, indices) (``F.max_pool2d_with_indices``).

    Args:
        input: the input, (N, C, H, W) or (C, H, W).
        kernel_size: the size of the window, an int or a tuple of 2 ints.
        stride: the step of the window, an int or a tuple of 2 ints; ``None`` is ``kernel_size``.
        padding: implicit negative infinity on both sides of each spatial dim, at most half the
            kernel size.
        dilation: the spacing between the taps of the window.
        ceil_mode: round the output size up instead of down (windows starting in the right padding
            are dropped).
        return_indices: return the position of each maximum, flat within its input plane (what
            ``max_unpool2d`` takes).

    Returns:
        ``(values, indices)`` (only the values with ``return_indices=False``).
    """
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W) (``F.max_pool3d``).

    Args:
        input: the input, (N, C, D, H, W) or (C, D, H, W).
        kernel_size: the size of the window, an int or a tuple of 3 ints.
        stride: the step of the window, an int or a tuple of 3 ints; ``None`` is ``kernel_size``.
        padding: implicit negative infinity on both sides of each spatial dim, at most half the
            kernel size.
        dilation: the spacing between the taps of the window.
        ceil_mode: round the output size up instead of down (windows starting in the right padding
            are dropped).
        return_indices: also return the position of each maximum, flat within its input plane (what
            ``max_unpool3d`` takes).

    Returns:
        The pooled values, or ``(values, indices)`` with ``return_indices``.

    Raises:
        RuntimeError: the shapes or arguments do not fit (PyTorch's messages).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "max_pool3d",
            max_pool3d,
            input,
            kernel_size,
            stride,
            padding,
            dilation,
            ceil_mode,
            return_indices,
        )
    return _max_poolnd(
        "max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


# ---------------------------------------------------------------------------
# public functions: average and LP pooling


def _avg_poolnd(fname, nd, cls, input, kernel_size, stride, padding, ceil_mode, cip, div):
    dt = input._data.dtype
    if not _is_float(dt) and dt != np.int64:
        raise NotImplementedError(f"\"{fname}\" not implemented for '{_type_name(dt)}'")
    if div is not None and div == 0:
        raise RuntimeError("divisor must be not zero")
    if input.ndim < nd + 1:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(input.ndim, 1)}, "
            f"{max(input.ndim, 1) - 1}], but got {-nd - 1})"
        )
    g = _pool_geom(fname, input, nd, kernel_size, stride, padding, 1, ceil_mode)
    divisor = _avg_divisor(g, cip, div, dt)
    return cls.apply(input, geom=g, divisor=divisor)


def avg_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling over (N, C, L) or (C, L) (``torch.nn.functional.avg_pool1d``).

    Args:
        input: the input, (N, C, L) or (C, L).
        kernel_size: the size of the window, an int or a one-int tuple.
        stride: the step of the window, an int or a one-int tuple; ``None`` is ``kernel_size``.
        padding: implicit zeros on both sides of each spatial dim, at most half the kernel size.
        ceil_mode: round the output size up instead of down (windows starting in the right padding
            are dropped).
        count_include_pad: count the padding zeros in each window's divisor.

    Raises:
        NotImplementedError: ``input`` is neither floating point nor int64.
        RuntimeError: the shapes or arguments do not fit (PyTorch's messages).
    """
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument "
            "#1 'self' (while checking arguments for avg_pool1d)"
        )
    fname = "avg_pool1d"
    k = _as_2d_arg(kernel_size, fname, "kernel_size", 1)
    s = _as_2d_arg(stride, fname, "stride", 1)
    p = _as_2d_arg(padding, fname, "padding", 0)
    y = avg_pool2d(_unsqueeze_h(input), k, s or k, p, ceil_mode, count_include_pad)
    return _squeeze_h(y)


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override=None,
) -> Tensor:
    """2-D average pooling over (N, C, H, W) or (C, H, W) (``torch.nn.functional.avg_pool2d``).

    Args:
        input: the input, (N, C, H, W) or (C, H, W).
        kernel_size: the size of the window, an int or a tuple of 2 ints.
        stride: the step of the window, an int or a tuple of 2 ints; ``None`` is ``kernel_size``.
        padding: implicit zeros on both sides of each spatial dim, at most half the kernel size.
        ceil_mode: round the output size up instead of down (windows starting in the right padding
            are dropped).
        count_include_pad: count the padding zeros in each window's divisor.
        divisor_override: divide every window's sum by this instead; not 0.

    Raises:
        NotImplementedError: ``input`` is neither floating point nor int64.
        RuntimeError: the shapes or arguments do not fit (PyTorch's messages).
    """
    return _avg_poolnd(
        "avg_pool2d",
        2,
        AvgPool2D,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override=None,
) -> Tensor:
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W) (``F.avg_pool3d``).

    Args:
        input: the input, (N, C, D, H, W) or (C, D, H, W).
        kernel_size: the size of the window, an int or a tuple of 3 ints.
        stride: the step of the window, an int or a tuple of 3 ints; ``None`` is ``kernel_size``.
        padding: implicit zeros on both sides of each spatial dim, at most half the kernel size.
        ceil_mode: round the output size up instead of down (windows starting in the right padding
            are dropped).
        count_include_pad: count the padding zeros in each window's divisor.
        divisor_override: divide every window's sum by this instead; not 0.

    Raises:
        NotImplementedError: ``input`` is neither floating point nor int64.
        RuntimeError: the shapes or arguments do not fit (PyTorch's messages).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "avg_pool3d",
            avg_pool3d,
            input,
            kernel_size,
            stride,
            padding,
            ceil_mode,
            count_include_pad,
            divisor_override,
        )
    return _avg_poolnd(
        "avg_pool3d",
        3,
        AvgPool3D,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _lp_pool(avg, nd, input, norm_type, kernel_size, stride, ceil_mode):
    from ..nn import functional as F
    from . import elementwise as E

    k = _int_tuple(kernel_size, nd, f"lp_pool{nd}d", "kernel_size")
    if stride is not None:
        out = avg(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    else:
        out = avg(input.pow(norm_type), kernel_size, padding=0, ceil_mode=ceil_mode)
    return (E.sign(out) * F.relu(E.abs(out))).mul(math.prod(k)).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """1-D power-average pooling (``torch.nn.functional.lp_pool1d``).

    Args:
        input: the input, (N, C, L) or (C, L).
        norm_type: the power p: each output is ``(sum of x ** p over the window) ** (1 / p)``.
        kernel_size: the size of the window, an int or a one-int tuple.
        stride: the step of the window; ``None`` is ``kernel_size``.
        ceil_mode: round the output size up instead of down.
    """
    return _lp_pool(avg_pool1d, 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(
    input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """2-D power-average pooling (``torch.nn.functional.lp_pool2d``).

    Args:
        input: the input, (N, C, H, W) or (C, H, W).
        norm_type: the power p: each output is ``(sum of x ** p over the window) ** (1 / p)``.
        kernel_size: the size of the window, an int or a tuple of 2 ints.
        stride: the step of the window; ``None`` is ``kernel_size``.
        ceil_mode: round the output size up instead of down.
    """
    return _lp_pool(avg_pool2d, 2, input, norm_type, kernel_size, stride, ceil_mode)


# ---------------------------------------------------------------------------
# public functions: adaptive pooling


def _adaptive_size(fname, input, nd, output_size):
    if input.ndim not in (nd + 1, nd + 2):
        if nd == 1:
            raise RuntimeError(
                f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for "
                f"argument #1 'self' (while checking arguments for {fname})"
            )
        sep = ": " if "max" in fname else " "
        raise RuntimeError(
            f"{fname}(): Expected {nd + 1}D or {nd + 2}D tensor, but got{sep}{list(input.shape)}"
        )
    if isinstance(output_size, numbers.Integral):
        sizes = [int(output_size)] * nd
    else:
        sizes = list(output_size)
        if len(sizes) != nd:
            raise RuntimeError(f"{fname}: output_size must be {nd}")
    # None keeps the input's size along that dim.
    sizes = [input.shape[-nd + i] if v is None else int(v) for i, v in enumerate(sizes)]
    if any(v < 0 for v in sizes):
        raise RuntimeError(
            f"{fname}: elements of output_size must be greater than or equal to 0 but received "
            f"{sizes}"
        )
    for i in range(input.ndim - nd, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(
                f"{fname}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {list(input.shape)} with dimension {i} being empty"
            )
    return tuple(sizes)


_ADAPTIVE_AVG = {2: AdaptiveAvgPool2D, 3: AdaptiveAvgPool3D}
_ADAPTIVE_MAX = {2: AdaptiveMaxPool2D, 3: AdaptiveMaxPool3D}


def _adaptive_avg(fname, nd, input, output_size):
    _check_float(input, fname)
    sizes = _adaptive_size(fname, input, nd, output_size)
    if all(o == 1 for o in sizes):
        # PyTorch takes the mean here (grad_fn MeanBackward1).
        return input.mean(dim=tuple(range(-nd, 0)), keepdim=True)
    size = tuple(input.shape[-nd:])
    if all(o > 0 and n % o == 0 for n, o in zip(size, sizes)):
        k = tuple(n // o for n, o in zip(size, sizes))
        g = _Win(size, k, k, (0,) * nd, (1,) * nd, sizes)
        cls = AvgPool2D if nd == 2 else AvgPool3D
        divisor = input._data.dtype.type(math.prod(k))
        fast = _renamed(cls, _ADAPTIVE_AVG[nd].backward_name)
        return fast.apply(input, geom=g, divisor=divisor)
    return _ADAPTIVE_AVG[nd].apply(input, out_size=sizes)


_RENAMED: dict = {}


def _renamed(cls, backward_name: str):
    """``cls`` under another grad_fn name: a fast path that PyTorch reports as another op,
    or a backward kernel named as PyTorch names that op's double backward."""
    key = (cls, backward_name)
    if key not in _RENAMED:
        _RENAMED[key] = type(cls.__name__, (cls,), {"backward_name": backward_name})
    return _RENAMED[key]


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-D adaptive average pooling (``torch.nn.functional.adaptive_avg_pool1d``).

    Args:
        input: the floating-point input, (N, C, L) or (C, L).
        output_size: the output's spatial size, an int or a one-int tuple. Window i along a dim of
            size n spans ``[floor(i * n / o), ceil((i + 1) * n / o))``.

    Raises:
        RuntimeError: ``input`` has the wrong number of dims or an empty spatial dim, or
            ``output_size`` does not fit.
    """
    fname = "adaptive_avg_pool1d"
    if input.ndim not in (2, 3):
        _adaptive_size(fname, input, 1, output_size)
    (o,) = _int_tuple(output_size, 1, fname, "output_size")
    return _squeeze_h(adaptive_avg_pool2d(_unsqueeze_h(input), (1, o)))


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """2-D adaptive average pooling (``torch.nn.functional.adaptive_avg_pool2d``).

    ``output_size`` is an int or a pair; ``None`` keeps that dim's input size.

    Args:
        input: the floating-point input, (N, C, H, W) or (C, H, W).
        output_size: the output's spatial size, an int or a tuple of 2 ints; a ``None`` entry keeps
            that dim of the input. Window i along a dim of size n spans ``[floor(i * n / o), ceil((i
            + 1) * n / o))``.

    Raises:
        RuntimeError: ``input`` has the wrong number of dims or an empty spatial dim, or
            ``output_size`` does not fit.
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """3-D adaptive average pooling (``torch.nn.functional.adaptive_avg_pool3d``).

    Args:
        input: the floating-point input, (N, C, D, H, W) or (C, D, H, W).
        output_size: the output's spatial size, an int or a tuple of 3 ints; a ``None`` entry keeps
            that dim of the input. Window i along a dim of size n spans ``[floor(i * n / o), ceil((i
            + 1) * n / o))``.

    Raises:
        RuntimeError: ``input`` has the wrong number of dims or an empty spatial dim, or
            ``output_size`` does not fit.
    """
    if _ac.state.active:
        return _ac.autocast_call("adaptive_avg_pool3d", adaptive_avg_pool3d, input, output_size)
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max(fname, nd, input, output_size, return_indices):
    _check_float(input, fname)
    sizes = _adaptive_size(fname, input, nd, output_size)
    out, idx = _ADAPTIVE_MAX[nd].apply(input, out_size=sizes)
    return (out, idx) if return_indices else out


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """1-D adaptive max pooling (``torch.nn.functional.adaptive_max_pool1d``).

    Args:
        input: the floating-point input, (N, C, L) or (C, L).
        output_size: the output's spatial size, an int or a one-int tuple. Window i along a dim of
            size n spans ``[floor(i * n / o), ceil((i + 1) * n / o))``.
        return_indices: also return the position of each maximum, flat within its input plane.

    Returns:
        The pooled values, or ``(values, indices)`` with ``return_indices``.

    Raises:
        RuntimeError: ``input`` has the wrong number of dims or an empty spatial dim, or
            ``output_size`` does not fit.
    """
    fname = "adaptive_max_pool1d"
    if input.ndim not in (2, 3):
        _adaptive_size(fname, input, 1, output_size)
    (o,) = _int_tuple(output_size, 1, fname, "output_size")
    out, idx = adaptive_max_pool2d(_unsqueeze_h(input), (1, o), return_indices=True)
    return (_squeeze_h(out), _squeeze_h(idx)) if return_indices else _squeeze_h(out)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """2-D adaptive max pooling (``torch.nn.functional.adaptive_max_pool2d``).

    Args:
        input: the floating-point input, (N, C, H, W) or (C, H, W).
        output_size: the output's spatial size, an int or a tuple of 2 ints; a ``None`` entry keeps
            that dim of the input. Window i along a dim of size n spans ``[floor(i * n / o), ceil((i
            + 1) * n / o))``.
        return_indices: also return the position of each maximum, flat within its input plane.

    Returns:
        The pooled values, or ``(values, indices)`` with ``return_indices``.

    Raises:
        RuntimeError: ``input`` has the wrong number of dims or an empty spatial dim, or
            ``output_size`` does not fit.
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """3-D adaptive max pooling (``torch.nn.functional.adaptive_max_pool3d``).

    Args:
        input: the floating-point input, (N, C, D, H, W) or (C, D, H, W).
        output_size: the output's spatial size, an int or a tuple of 3 ints; a ``None`` entry keeps
            that dim of the input. Window i along a dim of size n spans ``[floor(i * n / o), ceil((i
            + 1) * n / o))``.
        return_indices: also return the position of each maximum, flat within its input plane.

    Returns:
        The pooled values, or ``(values, indices)`` with ``return_indices``.

    Raises:
        RuntimeError: ``input`` has the wrong number of dims or an empty spatial dim, or
            ``output_size`` does not fit.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "adaptive_max_pool3d", adaptive_max_pool3d, input, output_size, return_indices
        )
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


# ---------------------------------------------------------------------------
# public functions: max unpooling


def _unpool_size(input, nd, kernel_size, stride, padding, output_size, fname):
    k = _int_tuple(kernel_size, nd, fname, "kernel_size")
    s = _int_tuple(stride, nd, fname, "stride", allow_empty=True) or k
    p = _int_tuple(padding, nd, fname, "padding")
    default = [(input.shape[-nd + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nd)]
    if output_size is None:
        return tuple(default)
    out = [int(v) for v in output_size]
    if len(out) == nd + 2:
        out = out[2:]
    if len(out) != nd:
        raise ValueError(
            f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has "
            f"a length of '{len(out)}'"
        )
    for i in range(nd):
        lo, hi = default[i] - s[i], default[i] + s[i]
        if not lo < out[i] < hi:
            raise ValueError(
                f'invalid output_size "{tuple(out)}" (dim {i} must be between {lo} and {hi})'
            )
    return tuple(out)


def _max_unpoolnd(fname, nd, cls, input, indices, kernel_size, stride, padding, output_size):
    idt = indices._data.dtype
    if idt != np.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: {_type_name(idt)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            "Expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Input to {fname} should be a {nd + 1}d or {nd + 2}d Tensor, but got a tensor with "
            f"{input.ndim} dimensions."
        )
    out = _unpool_size(input, nd, kernel_size, stride, padding, output_size, fname)
    return cls.apply(input, indices, out_size=out)


def max_unpool1d(
    input: Tensor, indices, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Partial inverse of max_pool1d (``torch.nn.functional.max_unpool1d``).

    Args:
        input: the pooled values, (N, C, L) or (C, L).
        indices: the int64 indices ``max_pool1d(..., return_indices=True)`` returned, of ``input``'s
            shape.
        kernel_size: the pooling's window size, an int or a one-int tuple.
        stride: the pooling's stride; ``None`` is ``kernel_size``.
        padding: the pooling's padding.
        output_size: the spatial size of the output (optionally with the leading (N, C)), to undo a
            rounding; by default ``(in - 1) * stride - 2 * padding + kernel_size`` per dim.

    Returns:
        Zeros with each value of ``input`` at its index.

    Raises:
        RuntimeError: ``indices`` is not int64 or not of ``input``'s shape, or ``input`` has the
            wrong number of dims.
        ValueError: ``output_size`` has the wrong length or is out of range.
    """
    fname = "max_unpool1d"
    k = _as_2d_arg(kernel_size, fname, "kernel_size", 1)
    s = _as_2d_arg(stride, fname, "stride", 1)
    p = _as_2d_arg(padding, fname, "padding", 0)
    if output_size is not None:
        output_size = list(output_size)
        output_size = output_size[:-1] + [1] + output_size[-1:]
        if len(output_size) == 2:
            output_size = [1] + output_size[-1:]
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Input to max_unpool1d should be a 2d or 3d Tensor, but got a tensor with "
            f"{input.ndim} dimensions."
        )
    y = max_unpool2d(_unsqueeze_h(input), _unsqueeze_h(indices), k, s or k, p, output_size)
    return _squeeze_h(y)


def max_unpool2d(
    input: Tensor, indices, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Partial inverse of max_pool2d (``torch.nn.functional.max_unpool2d``).

    Places each value at its index in a zero output plane of
    ``(H - 1) * stride - 2 * padding + kernel_size`` rows (or ``output_size``).

    Args:
        input: the pooled values, (N, C, H, W) or (C, H, W).
        indices: the int64 indices ``max_pool2d(..., return_indices=True)`` returned, of ``input``'s
            shape.
        kernel_size: the pooling's window size, an int or a tuple of 2 ints.
        stride: the pooling's stride; ``None`` is ``kernel_size``.
        padding: the pooling's padding.
        output_size: the spatial size of the output (optionally with the leading (N, C)), to undo a
            rounding; by default ``(in - 1) * stride - 2 * padding + kernel_size`` per dim.

    Returns:
        Zeros with each value of ``input`` at its index.

    Raises:
        RuntimeError: ``indices`` is not int64 or not of ``input``'s shape, or ``input`` has the
            wrong number of dims.
        ValueError: ``output_size`` has the wrong length or is out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "max_unpool2d", max_unpool2d, input, indices, kernel_size, stride, padding, output_size
        )
    return _max_unpoolnd(
        "max_unpool2d", 2, MaxUnpool2D, input, indices, kernel_size, stride, padding, output_size
    )


def max_unpool3d(
    input: Tensor, indices, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Partial inverse of max_pool3d (``torch.nn.functional.max_unpool3d``).

    Args:
        input: the pooled values, (N, C, D, H, W) or (C, D, H, W).
        indices: the int64 indices ``max_pool3d(..., return_indices=True)`` returned, of ``input``'s
            shape.
        kernel_size: the pooling's window size, an int or a tuple of 3 ints.
        stride: the pooling's stride; ``None`` is ``kernel_size``.
        padding: the pooling's padding.
        output_size: the spatial size of the output (optionally with the leading (N, C)), to undo a
            rounding; by default ``(in - 1) * stride - 2 * padding + kernel_size`` per dim.

    Returns:
        Zeros with each value of ``input`` at its index.

    Raises:
        RuntimeError: ``indices`` is not int64 or not of ``input``'s shape, or ``input`` has the
            wrong number of dims.
        ValueError: ``output_size`` has the wrong length or is out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "max_unpool3d", max_unpool3d, input, indices, kernel_size, stride, padding, output_size
        )
    return _max_unpoolnd(
        "max_unpool3d", 3, MaxUnpool3D, input, indices, kernel_size, stride, padding, output_size
    )


# ---------------------------------------------------------------------------
# reference implementations (tests only)


def _reference_max_pool(x, k, s, p, d, out):
    """A direct loop over output positions in float64: (values, flat indices), 2-D only."""
    x = np.asarray(x)
    n, c, h, w = x.shape
    y = np.empty((n, c) + tuple(out), np.float64)
    idx = np.empty((n, c) + tuple(out), np.int64)
    for i in range(out[0]):
        for j in range(out[1]):
            best = np.full((n, c), -np.inf)
            arg = np.zeros((n, c), np.int64)
            for a in range(k[0]):
                for b in range(k[1]):
                    r, q = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                    if 0 <= r < h and 0 <= q < w:
                        v = x[:, :, r, q]
                        m = (v > best) | np.isnan(v)
                        best = np.where(m, v, best)
                        arg = np.where(m, r * w + q, arg)
            y[:, :, i, j], idx[:, :, i, j] = best, arg
    return y, idx


def _reference_avg_pool(x, k, s, p, out, count_include_pad=True, divisor_override=None):
    """A direct loop over output positions in float64 (PyTorch's avg_pool2d), 2-D only."""
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    y = np.empty((n, c) + tuple(out))
    for i in range(out[0]):
        for j in range(out[1]):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            h1, w1 = min(h0 + k[0], h + p[0]), min(w0 + k[1], w + p[1])
            size = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
            total = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3))
            if divisor_override:
                div = divisor_override
            elif count_include_pad:
                div = size
            else:
                div = (h1 - h0) * (w1 - w0)
            y[:, :, i, j] = total / div
    return y
