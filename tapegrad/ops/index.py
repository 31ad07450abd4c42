"""Indexing: ``x[idx]``, ``x[idx] = v``, gather/scatter, index_select, masks."""

from __future__ import annotations

import warnings

import numpy as np

from .. import _dtype as D
from ..amp import autocast_mode as _ac
from ..autograd import function as _fn
from ..autograd import grad_mode
from ..autograd.function import Function
from . import _util as U

# ---------------------------------------------------------------------------
# converting a PyTorch index to a NumPy one


def _convert_one(i):
    Tensor = U.Tensor
    if isinstance(i, Tensor):
        a = i._data
        if a.dtype == np.bool_ or a.dtype == np.uint8:
            return a.astype(bool, copy=False), True
        if a.dtype.kind not in "iu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return a, True
    if isinstance(i, slice):
        if i.step is not None and int(i.step) <= 0:
            raise ValueError("step must be greater than zero")
        return slice(*(None if v is None else int(v) for v in (i.start, i.stop, i.step))), False
    if i is None or i is Ellipsis:
        return i, False
    if isinstance(i, (bool, np.bool_)):
        return bool(i), True
    if isinstance(i, (int, np.integer)):
        return int(i), False
    if isinstance(i, (list, tuple, range)):
        # A sequence becomes an index tensor, as torch.tensor(i) would: its tensors (of
        # any size) are stacked with the ints around them.
        a = (
            np.array([x._data if isinstance(x, Tensor) else x for x in i])
            if len(i)
            else np.array([], np.int64)
        )
        if a.dtype == object:
            raise IndexError("too many indices for tensor or ragged index list")
        if a.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return a, True
    if isinstance(i, np.ndarray):
        return i, True
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
        f"valid indices (got {type(i).__name__})"
    )


def _sequence_as_tuple(idx) -> bool:
    # PyTorch's (and NumPy's) heuristic: a short non-tuple sequence holding a tensor, a
    # sequence, a slice, ``...`` or ``None`` is read as a tuple of indices, so
    # ``x[[rows, cols]]`` is ``x[rows, cols]`` while ``x[[0, 2]]`` picks two rows.
    if not isinstance(idx, (list, range)) or len(idx) >= 32:
        return False
    return any(
        isinstance(i, (U.Tensor, list, tuple, range, slice, np.ndarray)) or i is None or i is ...
        for i in idx
    )


_SEQUENCE_WARNING = (
    "Using a non-tuple sequence for multidimensional indexing is deprecated and will be "
    "changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will "
    "be interpreted as tensor index, x[torch.tensor(seq)], which will result either in an "
    "error or a different result"
)


def convert_index(idx):
    """A NumPy index and whether it is advanced (makes a copy).

    Args:
        idx: a PyTorch index: an int, slice, ``None``, ``...``, bool, tensor, sequence, or a tuple
            of these.

    Returns:
        A pair ``(numpy_index, advanced)``, the index as a tuple NumPy understands and whether it
        holds an integer or boolean array (advanced indexing, which copies).
    """
    if _sequence_as_tuple(idx):
        warnings.warn(_SEQUENCE_WARNING, UserWarning, stacklevel=3)
    elif isinstance(idx, U.Tensor) or not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    adv = False
    for i in idx:
        c, a = _convert_one(i)
        out.append(c)
        adv = adv or a
    return tuple(out), adv


def _index_error(e: Exception, shape):
    msg = str(e).replace("axis", "dimension")
    if "too many indices" in msg:
        return IndexError(f"too many indices for tensor of dimension {len(shape)}")
    return IndexError(msg)


# ---------------------------------------------------------------------------
# getitem / setitem


class Slice(Function):
    """Basic indexing (ints, slices, None, ...): a view."""

    backward_name = "SliceBackward0"
    is_view = True

    def forward(ctx, x, idx=()):
        if Ellipsis not in idx:
            # a trailing ... keeps NumPy from returning a scalar copy when every dim is
            # indexed by an int: x[0] of a vector is a 0-d view, as in PyTorch
            idx = tuple(idx) + (Ellipsis,)
        ctx.idx, ctx.shape = idx, x.shape
        return x[idx]

    def view_fn(ctx, a, xp=np):
        return a[ctx.idx]  # basic indexing: the same on arrays and on tensors

    def backward(ctx, g):
        return ctx.op(SliceBackward, g, idx=ctx.idx, shape=ctx.shape)


class SliceBackward(Function):
    """The gradient of a basic index: ``g`` written into zeros of the input's shape."""

    backward_name = "SliceBackwardBackward0"

    def forward(ctx, g, idx=(), shape=()):
        ctx.idx = idx
        z = np.zeros(shape, g.dtype)
        z[idx] = g
        return z

    def backward(ctx, gg):
        return ctx.op(Slice, gg, idx=ctx.idx)


class Select(Slice):
    """``Slice`` by one integer, ``torch.select`` (grad_fn ``SelectBackward0``)."""

    backward_name = "SelectBackward0"


class SliceUnsqueeze(Slice):
    """``Slice`` that only adds size-1 dims (``x[None]``) (grad_fn ``UnsqueezeBackward0``)."""

    backward_name = "UnsqueezeBackward0"


_FULL = slice(None)


def _basic_cls(np_idx):
    # PyTorch applies basic indices one by one; its grad_fn is the last non-trivial one's.
    for i in reversed(np_idx):
        if i is None:
            return SliceUnsqueeze
        if isinstance(i, int):
            return Select
        if i is not Ellipsis and i != _FULL:
            return Slice
    return Slice


class Index(Function):
    """Advanced indexing (integer arrays, masks): a copy."""

    def forward(ctx, x, idx=(), unique=False):
        ctx.idx, ctx.shape, ctx.unique = idx, x.shape, unique
        return x[idx]

    def backward(ctx, g):
        return ctx.op(IndexBackward, g, idx=ctx.idx, shape=ctx.shape, unique=ctx.unique)


class IndexBackward(Function):
    """The gradient of ``x[idx]``: ``g`` added into zeros of the input's shape at ``idx``.

    ``unique`` says that no position repeats, so a plain write does.
    """

    backward_name = "IndexBackwardBackward0"

    def forward(ctx, g, idx=(), shape=(), unique=False):
        ctx.idx, ctx.unique = idx, unique
        z = np.zeros(shape, g.dtype)
        if unique:
            z[idx] = g
        else:
            np.add.at(z, idx, g)
        return z

    def backward(ctx, gg):
        return ctx.op(Index, gg, idx=ctx.idx, unique=ctx.unique)


def _unique_adv(idx) -> bool:
    # Masks select each element once; integer arrays may repeat.
    for i in idx:
        if isinstance(i, np.ndarray) and i.dtype != np.bool_:
            return False
    return True


def _split_ints(np_idx, ndim):
    """With advanced indices, PyTorch applies integer indices first as selects.

    NumPy instead treats an int next to an array as advanced too, which moves the
    result's dims when a slice or None separates them (``x[0, :, [1, 2]]``). Returns
    ``(selects, rest)``, or None when the index has no such mix.
    """
    if not any(type(i) is int for i in np_idx):
        return None
    consumed = 0
    for i in np_idx:
        if i is None or i is Ellipsis or isinstance(i, bool):
            continue
        consumed += i.ndim if isinstance(i, np.ndarray) and i.dtype == np.bool_ else 1
    first, rest = [], []
    for i in np_idx:
        if i is Ellipsis:
            n = max(ndim - consumed, 0)
            first.extend([slice(None)] * n)
            rest.extend([slice(None)] * n)
        elif i is None or isinstance(i, bool):
            rest.append(i)
        elif type(i) is int:
            first.append(i)
        elif isinstance(i, np.ndarray) and i.dtype == np.bool_:
            first.extend([slice(None)] * i.ndim)
            rest.append(i)
        else:
            first.append(slice(None))
            rest.append(i)
    return tuple(first), tuple(rest)


def getitem(self, idx):
    """``self[idx]`` with PyTorch semantics (``Tensor.__getitem__``).

    Args:
        self: the tensor to index.
        idx: ints, slices, ``None``, ``...``, integer or bool tensors (or sequences), or a tuple of
            these.

    Returns:
        A view for basic indexing (ints, slices, ``None``, ``...``), a copy for advanced indexing.

    Raises:
        IndexError: an index is out of range or there are too many indices.
    """
    np_idx, adv = convert_index(idx)
    if adv:
        split = _split_ints(np_idx, self.ndim)
        if split is not None:
            try:
                view = Slice.apply(self, idx=split[0]) if split[0] else self
            except IndexError as e:
                raise _index_error(e, self.shape) from None
            return getitem(view, split[1])
    try:
        if not adv:
            if len(np_idx) == 1 and isinstance(np_idx[0], int):
                return Select.apply(self, idx=np_idx)
            return _basic_cls(np_idx).apply(self, idx=np_idx)
        return Index.apply(self, idx=np_idx, unique=_unique_adv(np_idx))
    except IndexError as e:
        raise _index_error(e, self.shape) from None


class IndexPut(Function):
    """The autograd node of ``index_put`` and of ``x[idx] = v`` with advanced indices (grad_fn
    ``IndexPutBackward0``)."""

    def forward(ctx, x, v, idx=(), accumulate=False):
        ctx.idx = idx
        out = x.copy()
        if accumulate:
            np.add.at(out, idx, v)
        else:
            out[idx] = v
        ctx.accumulate = accumulate
        return out

    def backward(ctx, g):
        nx, nv = ctx.needs_input_grad
        gx = gv = None
        if nx:
            gx = g if ctx.accumulate else _zero_at(ctx, g, ctx.idx)
        if nv:
            gv = ctx.op(Index, g, idx=ctx.idx, unique=_unique_adv(ctx.idx))
        return gx, gv


def _zero_at(ctx, g, idx):
    """``g`` with zeros written at ``idx`` (a copy): the gradient of an overwritten input."""
    return ctx.op(IndexPut, g, ctx.xp.zeros((), g.dtype), idx=idx)


class IndexPutBasic(IndexPut):
    """``x[slices] = v``: PyTorch names this node ``CopySlices``."""

    backward_name = "CopySlices"


def setitem(self, idx, value) -> None:
    """``self[idx] = value`` in place, differentiable (``Tensor.__setitem__``).

    Args:
        self: the tensor to write into.
        idx: the positions, as in ``getitem``.
        value: a tensor (cast to ``self``'s dtype) or a scalar, broadcast to the indexed shape.

    Raises:
        IndexError: an index is out of range.
        RuntimeError: ``value`` does not broadcast to the indexed shape, or the written-to tensor
            has overlapping memory (e.g. an ``expand`` view).
    """
    np_idx, adv = convert_index(idx)
    if adv:
        split = _split_ints(np_idx, self.ndim)
        if split is not None:
            # write through the selected view, as PyTorch does
            return setitem(getitem(self, split[0]), split[1], value)
    Tensor = U.Tensor
    if isinstance(value, Tensor):
        v = value if value.dtype is self.dtype else value.to(self.dtype)
    else:
        v = U.Tensor._make(np.asarray(value, dtype=self._data.dtype))
    recording = grad_mode._enabled.enabled and (self._requires_grad or v._requires_grad)
    try:
        if not recording:
            self._data[np_idx] = v._data
            self._version_counter.v += 1
            return
        cls = IndexPut if adv else IndexPutBasic
        self._inplace(lambda s, val: cls.apply(s, val, idx=np_idx), v)
    except IndexError as e:
        raise _index_error(e, self.shape) from None
    except ValueError as e:
        if "read-only" in str(e):
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to "
                "a single memory location. Please clone() the tensor before performing the "
                "operation."
            ) from None
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(v.shape)} cannot be "
            f"broadcast to indexing result ({e})"
        ) from None


def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` put at ``indices`` (``torch.index_put``).

    Args:
        input: the tensor.
        indices: a tuple of index tensors (integer or bool), one per leading dim, as in
            ``input[indices]``.
        values: the values to put, cast to ``input``'s dtype and broadcast to the indexed shape.
        accumulate: add ``values`` to the entries (repeated indices add up) instead of replacing
            them.
    """
    np_idx, _ = convert_index(tuple(indices))
    v = values if values.dtype is input.dtype else values.to(input.dtype)
    return IndexPut.apply(input, v, idx=np_idx, accumulate=accumulate)


def index_put_(input, indices, values, accumulate=False):
    """In-place ``index_put`` (``Tensor.index_put_``).

    Args:
        input: the tensor to write into.
        indices: a tuple of index tensors (integer or bool), one per leading dim, as in
            ``input[indices]``.
        values: the values to put, cast to ``input``'s dtype and broadcast to the indexed shape.
        accumulate: add ``values`` to the entries (repeated indices add up) instead of replacing
            them.

    Returns:
        ``input``, modified.
    """
    np_idx, _ = convert_index(tuple(indices))
    v = values if values.dtype is input.dtype else values.to(input.dtype)
    return input._inplace(
        lambda s, val: IndexPut.apply(s, val, idx=np_idx, accumulate=accumulate), v
    )


# ---------------------------------------------------------------------------
# select along a dim


def select(input, dim: int, index: int):
    """``input`` indexed at ``index`` along ``dim``, as a view (``torch.select``).

    Args:
        input: the tensor.
        dim: the dim to index (it is removed).
        index: the position along ``dim``; negative counts from the end.

    Raises:
        IndexError: ``index`` is out of range.
    """
    d = U.canon_dim(dim, input.ndim)
    n = input.shape[d]
    if index < -n or index >= n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {d}"
        )
    return Select.apply(input, idx=(slice(None),) * d + (int(index) % n,))


def _check_index(index, name="index"):
    if not isinstance(index, U.Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")


class IndexSelect(Function):
    """The autograd node of ``torch.index_select`` (grad_fn ``IndexSelectBackward0``)."""

    def forward(ctx, x, idx=None, dim=0):
        ctx.idx, ctx.dim, ctx.shape = idx, dim, x.shape
        return np.take(x, idx, axis=dim)

    def backward(ctx, g):
        idx = (slice(None),) * ctx.dim + (ctx.idx,)
        return ctx.op(IndexBackward, g, idx=idx, shape=ctx.shape)


def index_select(input, dim: int, index):
    """Pick entries along ``dim`` (``torch.index_select``).

    Args:
        input: the tensor.
        dim: the dim to pick along.
        index: a 0- or 1-D integer tensor of positions along ``dim``.

    Returns:
        A copy with ``len(index)`` entries along ``dim``.

    Raises:
        IndexError: ``index`` has more than one dim or an index is out of range.
    """
    _check_index(index, "index_select")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = U.canon_dim(dim, input.ndim)
    idx = index._data.reshape(-1)
    n = input.shape[d] if input.ndim else 1
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError("index out of range in self")
    if input.ndim == 0:
        return Index.apply(input, idx=(), unique=True) if False else input.clone()
    return IndexSelect.apply(input, idx=idx, dim=d)


def _full_index(index: np.ndarray, dim: int):
    """Index arrays addressing ``out[..., index, ...]`` elementwise, as in gather/scatter."""
    grids = np.indices(index.shape, sparse=True)
    return tuple(index if d == dim else grids[d] for d in range(index.ndim))


def _check_gather(input, dim, index, name):
    _check_index(index, name)
    if index.ndim != input.ndim and not (index.ndim <= 1 and input.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(index.ndim):
        if d != dim and index.shape[d] > input.shape[d]:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(index.shape)} to be "
                f"smaller than self {list(input.shape)} apart from dimension {dim}"
            )
    idx = index._data
    n = input.shape[dim] if input.ndim else 1
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise RuntimeError(
            f"index {int(idx.max() if idx.max() >= n else idx.min())} is out of bounds for "
            f"dimension {dim} with size {n}"
        )


class Gather(Function):
    """The autograd node of ``torch.gather`` (grad_fn ``GatherBackward0``)."""

    def forward(ctx, x, idx=None, dim=0):
        ctx.full = _full_index(idx, dim)
        ctx.shape = x.shape
        return x[ctx.full]

    def backward(ctx, g):
        return ctx.op(IndexBackward, g, idx=ctx.full, shape=ctx.shape)


def gather(input, dim: int, index, *, sparse_grad=False):
    """``out[i][j] = input[index[i][j]][j]`` for dim 0, etc. (``torch.gather``).

    Args:
        input: the source tensor.
        dim: the dim to index along.
        index: an integer tensor with ``input``'s number of dims and sizes no larger than
            ``input``'s in the other dims; the result has its shape.
        sparse_grad: accepted for PyTorch's signature; the gradient is always dense.

    Raises:
        RuntimeError: ``index`` is not an integer tensor, its dims or sizes do not fit
            ``input``, or an index is out of range.
    """
    d = U.canon_dim(dim, input.ndim)
    _check_gather(input, d, index, "gather")
    return Gather.apply(input, idx=index._data, dim=d)


def take_along_dim(input, indices, dim=None):
    """The entries of ``input`` at ``indices`` along ``dim`` (``torch.take_along_dim``):
    ``gather`` after broadcasting the two in the other dims.

    Args:
        input: the source tensor.
        indices: an integer tensor of positions, e.g. from ``argsort``; it broadcasts with ``input``
            except in ``dim``.
        dim: the dim to index along; ``None`` uses the flattened ``input`` and ``indices``.
    """
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = U.canon_dim(dim, input.ndim)
    shape = list(
        np.broadcast_shapes(
            input.shape[:d] + (1,) + input.shape[d + 1 :],
            indices.shape[:d] + (1,) + indices.shape[d + 1 :],
        )
    )
    shape_i = shape.copy()
    shape_i[d] = indices.shape[d]
    shape_x = shape.copy()
    shape_x[d] = input.shape[d]
    return gather(input.expand(*shape_x), d, indices.expand(*shape_i))


class Scatter(Function):
    """The autograd node of ``torch.scatter`` with a ``src`` tensor, and the base of scatter-like
    ops (grad_fn ``ScatterBackward0``)."""

    def forward(ctx, x, src, idx=None, dim=0, reduce=None):
        full = _full_index(idx, dim)
        ctx.full = full
        out = x.copy()
        src_v = src if np.ndim(src) == 0 else src[tuple(slice(0, s) for s in idx.shape)]
        if reduce is None:
            out[full] = src_v
        elif reduce in ("add", "sum"):
            np.add.at(out, full, src_v)
        elif reduce in ("multiply", "prod"):
            np.multiply.at(out, full, src_v)
        elif reduce == "amax":
            np.maximum.at(out, full, src_v)
        elif reduce == "amin":
            np.minimum.at(out, full, src_v)
        else:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        ctx.reduce = reduce
        ctx.src_shape = np.shape(src)
        return out

    def backward(ctx, g):
        nx, ns = ctx.needs_input_grad
        gx = gs = None
        if ctx.reduce not in (None, "add", "sum"):
            raise RuntimeError(
                f"the derivative of scatter with reduce='{ctx.reduce}' is not implemented"
            )
        if nx:
            gx = g if ctx.reduce is not None else _zero_at(ctx, g, ctx.full)
        if ns:
            gs = ctx.op(Index, g, idx=ctx.full)
            if tuple(gs.shape) != ctx.src_shape:
                # src larger than index: its unused entries get zeros
                idx = tuple(slice(0, s) for s in gs.shape)
                gs = ctx.op(SliceBackward, gs, idx=idx, shape=ctx.src_shape)
        return gx, gs


def _scatter(input, dim, index, src=None, value=None, reduce=None, name="scatter"):
    d = U.canon_dim(dim, input.ndim)
    _check_index(index, name)
    if src is None:
        src_t = U.scalar_to_tensor(value, input.dtype)
    else:
        if not isinstance(src, U.Tensor):
            src_t = U.scalar_to_tensor(src, input.dtype)
        else:
            if src.dtype is not input.dtype:
                raise RuntimeError(
                    f"{name}(): Expected self.dtype to be equal to src.dtype (got {input.dtype} "
                    f"and {src.dtype})"
                )
            src_t = src
            for k in range(index.ndim):
                if index.shape[k] > src_t.shape[k]:
                    raise RuntimeError(
                        f"Expected index {list(index.shape)} to be smaller than self "
                        f"{list(input.shape)} apart from dimension {d} and to be smaller size than "
                        f"src {list(src_t.shape)}"
                    )
    _check_gather(input, d, index, name)
    return input, src_t, dict(idx=index._data, dim=d, reduce=reduce)


class ScatterValue(Scatter):
    """``torch.scatter`` with a scalar ``value`` (grad_fn ``ScatterBackward1``)."""

    backward_name = "ScatterBackward1"  # scatter(Tensor, int, Tensor, Scalar)


class ScatterAdd(Scatter):
    """The autograd node of ``torch.scatter_add`` (grad_fn ``ScatterAddBackward0``)."""

    backward_name = "ScatterAddBackward0"


class IndexAdd(Scatter):
    """The autograd node of ``torch.index_add`` (grad_fn ``IndexAddBackward0``)."""

    backward_name = "IndexAddBackward0"


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """Write ``src`` values at ``index`` along ``dim`` (``torch.scatter``).

    Args:
        input: the tensor whose copy is written into.
        dim: the dim to index along.
        index: an integer tensor of positions along ``dim``, no larger than ``src`` in any dim.
        src: the values: a tensor of ``input``'s dtype, or a scalar.
        value: a scalar to write, instead of ``src``.
        reduce: ``None`` to replace, or ``"add"`` / ``"multiply"`` to combine with the entries
            there.

    Raises:
        RuntimeError: dtypes differ, ``index`` is not an integer tensor or its sizes do not fit,
            or ``reduce`` is unknown.
    """
    x, s, kw = _scatter(input, dim, index, src, value, reduce)
    return (Scatter if isinstance(src, U.Tensor) else ScatterValue).apply(x, s, **kw)


def scatter_add(input, dim, index, src):
    """Add ``src`` values at ``index`` along ``dim`` (``torch.scatter_add``).

    Args:
        input: the tensor whose copy is added into.
        dim: the dim to index along.
        index: an integer tensor of positions along ``dim``; repeated positions add up.
        src: a tensor of ``input``'s dtype, at least as large as ``index``.

    Raises:
        RuntimeError: dtypes differ, or ``index`` is not an integer tensor or its sizes do not fit.
    """
    x, s, kw = _scatter(input, dim, index, src, reduce="add", name="scatter_add")
    return ScatterAdd.apply(x, s, **kw)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce ``src`` values into ``input`` at ``index`` along ``dim``
    (``torch.scatter_reduce``).

    Args:
        input: the tensor whose copy receives the values.
        dim: the dim to index along.
        index: an integer tensor of positions along ``dim``.
        src: a tensor of ``input``'s dtype, at least as large as ``index``.
        reduce: ``"sum"``, ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``.
        include_self: count ``input``'s own entries in the reduction; ``False`` is supported with
            ``"mean"`` only.

    Raises:
        NotImplementedError: ``include_self=False`` with another reduction than ``"mean"``.
        RuntimeError: dtypes differ, or ``index`` is not an integer tensor or its sizes do not fit.
    """
    x, s, kw = _scatter(input, dim, index, src, reduce=reduce, name="scatter_reduce")
    if reduce == "mean":
        total = Scatter.apply(x if include_self else x * 0, s, **{**kw, "reduce": "sum"})
        cnt = np.zeros(input.shape, input._data.dtype) + (1 if include_self else 0)
        np.add.at(cnt, _full_index(index._data, kw["dim"]), 1)
        return total / U.Tensor._make(np.maximum(cnt, 1))
    if not include_self:
        raise NotImplementedError(
            "scatter_reduce with include_self=False supports reduce='mean' only"
        )
    return Scatter.apply(x, s, **kw)


def index_add(input, dim, index, source, *, alpha=1):
    """input with ``alpha * source`` added at ``index`` along ``dim`` (``torch.index_add``).

    Args:
        input: the tensor whose copy is added into.
        dim: the dim to index along.
        index: a 1-D integer tensor with one position along ``dim`` per slice of ``source``.
        source: a tensor of ``input``'s dtype and shape, except ``len(index)`` along ``dim``.
        alpha: the factor of ``source``.

    Raises:
        RuntimeError: ``source``'s dtype differs from ``input``'s.
    """
    d = U.canon_dim(dim, input.ndim)
    if source.dtype is not input.dtype:
        raise RuntimeError(
            f"index_add_(): self ({_fn._type_name(input._data.dtype)[6:-6]}) and source "
            f"({_fn._type_name(source._data.dtype)[6:-6]}) must "
            "have the same scalar type"
        )
    full_idx = index._data.reshape([-1 if k == d else 1 for k in range(input.ndim)])
    full_idx = np.broadcast_to(full_idx, source.shape)
    src = source if alpha == 1 else source * alpha
    return IndexAdd.apply(input, src, idx=np.ascontiguousarray(full_idx), dim=d, reduce="add")


def index_copy(input, dim, index, source):
    """A copy of ``input`` with the slices of ``source`` written at ``index`` along ``dim``
    (``torch.index_copy``).

    Args:
        input: the tensor.
        dim: the dim to index along.
        index: a 1-D integer tensor with one position along ``dim`` per slice of ``source``.
        source: the slices (cast to ``input``'s dtype); ``input``'s shape except ``len(index)``
            along ``dim``.
    """
    if _ac.state.active:
        return _ac.autocast_call("index_copy", index_copy, input, dim, index, source)
    d = U.canon_dim(dim, input.ndim)
    full_idx = np.broadcast_to(
        index._data.reshape([-1 if k == d else 1 for k in range(input.ndim)]), source.shape
    )
    return Scatter.apply(
        input, source.to(input.dtype), idx=np.ascontiguousarray(full_idx), dim=d, reduce=None
    )


def index_fill(input, dim, index, value):
    """A copy of ``input`` with ``value`` at positions ``index`` along ``dim``
    (``torch.index_fill``).

    Args:
        input: the tensor.
        dim: the dim to index along.
        index: a 1-D integer tensor of positions along ``dim``.
        value: a scalar or 0-d tensor to fill with.
    """
    d = U.canon_dim(dim, input.ndim)
    idx = (slice(None),) * d + (index._data,)
    mask = np.zeros(input.shape, bool)
    mask[idx] = True
    return masked_fill(input, U.Tensor._make(mask), value)


class MaskedFill(Function):
    """The autograd node of ``torch.masked_fill`` (grad_fn ``MaskedFillBackward0``)."""

    def forward(ctx, x, value, mask=None):
        ctx.save_for_backward(mask)
        return np.where(mask, value, x)

    def backward(ctx, g):
        xp = ctx.xp
        (mask,) = ctx.saved_tensors
        nx, nv = ctx.needs_input_grad
        zero = xp.zeros((), g.dtype)
        gx = xp.where(mask, zero, g) if nx else None
        gv = xp.sum(xp.where(mask, g, zero)) if nv else None
        return gx, gv


def masked_fill(input, mask, value):
    """``value`` where ``mask`` is true (``torch.masked_fill``).

    Args:
        input: the tensor.
        mask: a bool tensor broadcastable to ``input``'s shape.
        value: a scalar or a 0-d tensor.

    Raises:
        RuntimeError: ``mask`` is not bool, ``value`` is a tensor with dims, or the shapes do not
            broadcast.
    """
    if not isinstance(mask, U.Tensor) or mask.dtype is not D.bool_:
        raise RuntimeError(
            "masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{getattr(mask, 'dtype', type(mask).__name__)}"
        )
    if isinstance(value, U.Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        v = value if value.dtype is input.dtype else value.to(input.dtype)
    else:
        if isinstance(value, float) and not input.dtype.is_floating_point:
            pass
        v = U.scalar_to_tensor(value, input.dtype)
    try:
        np.broadcast_shapes(mask.shape, input.shape)
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({input.shape[-1] if input.ndim else 1}) must match the size of "
            f"tensor b ({mask.shape[-1] if mask.ndim else 1}) at non-singleton dimension "
            f"{max(input.ndim, mask.ndim) - 1}"
        ) from None
    return MaskedFill.apply(input, v, mask=mask._data)


def _masked_replace(input, mask: np.ndarray, values: np.ndarray):
    """``input`` with entries under ``mask`` replaced by ``values`` (no grad through them)."""
    return MaskedFill.apply(
        input, U.Tensor._make(np.zeros((), input._data.dtype)), mask=mask
    ) + U.Tensor._make(np.where(mask, values, 0).astype(input._data.dtype))


def masked_select(input, mask):
    """The entries where ``mask`` is true, as a 1-D tensor (``torch.masked_select``).

    Args:
        input: the tensor.
        mask: a bool tensor; ``input`` and ``mask`` broadcast together.

    Raises:
        RuntimeError: ``mask`` is not bool.
    """
    if mask.dtype is not D.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = U.broadcast_shapes(input.shape, mask.shape)
    x = input.expand(*shape) if input.shape != shape else input
    m = np.broadcast_to(mask._data, shape)
    return Index.apply(x, idx=(m,), unique=True)


def masked_scatter(input, mask, source):
    """A copy of ``input`` with the entries where ``mask`` is true taken, in order, from
    ``source`` (``torch.masked_scatter``).

    Args:
        input: the tensor.
        mask: a bool tensor broadcastable to ``input``'s shape.
        source: a tensor with at least as many elements as ``mask`` has true entries; its first ones
            are used, in row-major order.
    """
    m = np.broadcast_to(mask._data, input.shape)
    n = int(m.sum())
    src = source.reshape(-1)[:n]
    return IndexPut.apply(input, src.to(input.dtype), idx=(m,))


def nonzero(input, *, as_tuple=False):
    """Indices of non-zero entries (``torch.nonzero``): (N, ndim) or a tuple.

    Args:
        input: the tensor.
        as_tuple: return one 1-D index tensor per dim instead of one (N, ndim) tensor.

    Returns:
        int64 indices, in row-major order.
    """
    a = input._data
    if as_tuple:
        if a.ndim == 0:
            return (U.Tensor._make(np.nonzero(np.atleast_1d(a))[0].astype(np.int64)),)
        return tuple(U.Tensor._make(i.astype(np.int64)) for i in np.nonzero(a))
    if a.ndim == 0:
        return U.Tensor._make(np.zeros((int(bool(a)), 0), np.int64))
    return U.Tensor._make(np.argwhere(a).astype(np.int64))


def argwhere(input):
    """The indices of the non-zero entries as an (N, ndim) int64 tensor (``torch.argwhere``).

    Args:
        input: the tensor.
    """
    return nonzero(input)


def take(input, index):
    """Entries of the flattened input at ``index`` (``torch.take``).

    Args:
        input: the tensor, read as flattened.
        index: an integer tensor of flat positions (negative count from the end); the result has its
            shape.

    Raises:
        IndexError: an index is out of range.
    """
    from .shape import reshape

    flat = reshape(input, -1)
    n = flat.shape[0]
    idx = index._data
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(
            f"out of range: tried to access index {int(idx.max())} on a tensor of {n} elements."
        )
    return Index.apply(flat, idx=(idx,), unique=False)


class Unfold(Function):
    """The autograd node of ``Tensor.unfold``: windows as a view (grad_fn ``UnfoldBackward0``)."""

    backward_name = "UnfoldBackward0"

    def forward(ctx, x, dim=0, size=1, step=1):
        n = (x.shape[dim] - size) // step + 1
        win = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim)
        sl = (slice(None),) * dim + (slice(None, None, step),)
        ctx.shape, ctx.dim, ctx.size, ctx.step, ctx.n = x.shape, dim, size, step, n
        return win[sl]

    def backward(ctx, g):
        return ctx.op(UnfoldBackward, g, shape=ctx.shape, dim=ctx.dim, size=ctx.size, step=ctx.step)


class UnfoldBackward(Function):
    """The gradient of ``unfold``: each window's values added back where they came from."""

    backward_name = "UnfoldBackwardBackward0"

    def forward(ctx, g, shape=(), dim=0, size=1, step=1):
        ctx.dim, ctx.size, ctx.step = dim, size, step
        z = np.zeros(shape, g.dtype)
        n = g.shape[dim]
        for k in range(size):
            sl = (slice(None),) * dim + (slice(k, k + step * (n - 1) + 1, step),)
            z[sl] += g[..., k]
        return z

    def backward(ctx, gg):
        return ctx.op(Unfold, gg, dim=ctx.dim, size=ctx.size, step=ctx.step)


def _take_windows(input, dim, size, step):
    if size > input.shape[dim]:
        raise RuntimeError(
            f"maximum size for tensor at dimension {dim} is {input.shape[dim]} but size is {size}"
        )
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(input, dim=dim, size=size, step=step)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """Whether each element is in ``test_elements`` (``torch.isin``).

    Args:
        elements: a tensor or scalar of values to look up.
        test_elements: a tensor or scalar of values to look for.
        assume_unique: both inputs have no repeated values (may speed up the test).
        invert: return whether each element is *not* in ``test_elements``.

    Returns:
        A bool tensor of ``elements``' shape.
    """
    a = elements._data if isinstance(elements, U.Tensor) else np.asarray(elements)
    b = test_elements._data if isinstance(test_elements, U.Tensor) else np.asarray(test_elements)
    return U.Tensor._make(np.asarray(np.isin(a, b, assume_unique=assume_unique, invert=invert)))


def unravel_index(indices, shape):
    """Coordinates of flat indices in ``shape``, one tensor per dim (``torch.unravel_index``).

    Args:
        indices: an integer tensor (or sequence) of flat indices in ``[-numel, numel - 1]``.
        shape: the shape the flat indices refer to (an int or a sequence).

    Returns:
        A tuple of int64 tensors of ``indices``' shape, one per dim of ``shape``.

    Raises:
        TypeError: ``indices`` is not of an integer dtype.
        RuntimeError: an index is out of range.
    """
    idx = indices._data if isinstance(indices, U.Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {idx.dtype}")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    n = int(np.prod(shape))
    if np.any((idx < -n) | (idx >= n)):
        raise RuntimeError("'indices' must be in range [-numel, numel - 1]")
    coords = np.unravel_index(np.where(idx < 0, idx + n, idx), shape)
    return tuple(U.Tensor._make(np.asarray(c, np.int64)) for c in coords)
