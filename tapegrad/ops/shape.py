"""Views and shape ops: view/reshape, transpose/permute, expand, squeeze, cat/stack,
split/chunk, flip, repeat, tril/triu, casts and copies.

View ops (``is_view = True``) return arrays that share the input's memory,
like PyTorch's views, and define ``view_fn`` to replay themselves on another
array of the base's shape (used by ``CopySlices`` for in-place ops on views).
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from ..amp import autocast_mode as _ac
from ..autograd.function import Function
from . import _util as U
from .index import IndexBackward, SliceBackward

# ---------------------------------------------------------------------------
# casts and copies


class ToCopy(Function):
    """The autograd node of a dtype conversion, ``Tensor.to(dtype)`` (grad_fn
    ``ToCopyBackward0``)."""

    backward_name = "ToCopyBackward0"

    def forward(ctx, x, dtype=None):
        return x.astype(dtype)

    def backward(ctx, g):
        return g  # the engine casts to the input dtype


class ToDevice(Function):
    """The autograd node of a device move, ``Tensor.to(device)`` (grad_fn ``ToCopyBackward0``)."""

    backward_name = "ToCopyBackward0"

    def forward(ctx, x, xp=None):
        ctx.src = type(x)
        if xp is np:
            return x.get() if hasattr(x, "get") else np.asarray(x)
        return xp.asarray(x)

    def backward(ctx, g):
        if ctx.src is np.ndarray:
            return g.get() if hasattr(g, "get") else g
        from ..backend import get_cupy

        return get_cupy().asarray(g)


class Clone(Function):
    """The autograd node of ``torch.clone`` (grad_fn ``CloneBackward0``)."""

    def forward(ctx, x):
        return x.copy()

    def backward(ctx, g):
        return g


def clone(input, *, memory_format=None):
    """A copy that stays in the graph (``torch.clone``).

    Args:
        input: the tensor to copy.
        memory_format: accepted for PyTorch's signature; the copy is always C-contiguous.
    """
    return Clone.apply(input)


def contiguous(input, memory_format=None):
    """``input`` if contiguous, else a contiguous copy (``Tensor.contiguous``).

    Args:
        input: the tensor.
        memory_format: accepted for PyTorch's signature; only C-contiguous (row-major) is checked
            and made.
    """
    if input._data.flags.c_contiguous:
        return input
    return Clone.apply(input)


def copy_into_out(out, res):
    """Write ``res`` into an ``out=`` tensor, resizing it like PyTorch when empty.

    Args:
        out: the ``out=`` tensor; it is resized when its shape differs from ``res``'s.
        res: the computed result.

    Returns:
        ``out``, holding ``res``'s values cast to ``out``'s dtype.

    Raises:
        RuntimeError: ``res``'s dtype cannot be cast to ``out``'s (e.g. float into an integer
            ``out``).
    """
    if out.shape != res.shape:
        if out.numel() == 0 or out.shape != res.shape:
            out._data = np.empty(res._data.shape, dtype=out._data.dtype)
    if res.dtype.category > out.dtype.category:
        from .._tensor import _check_cast

        _check_cast(res.dtype, out.dtype)  # PyTorch's message (Float, Long...)
    np.copyto(out._data, res._data, casting="unsafe")
    out._version_counter.v += 1
    return out


class CopyFrom(Function):
    """``dst.copy_(src)``: the result takes src's values (broadcast) and dtype of dst."""

    backward_name = "CopyBackwards"

    def forward(ctx, dst, src):
        out = np.empty_like(dst)
        np.copyto(out, np.broadcast_to(src, dst.shape), casting="unsafe")
        return out

    def backward(ctx, g):
        nd, ns = ctx.needs_input_grad
        return (ctx.xp.zeros_like(g) if nd else None), (g if ns else None)


# ---------------------------------------------------------------------------
# view ops


class View(Function):
    """The autograd node of ``Tensor.view``: a view with a new shape (grad_fn ``ViewBackward0``)."""

    is_view = True
    # slots, not the node's instance dict (one object less per op for the GC)
    __slots__ = ("in_shape", "shape")

    def forward(ctx, x, shape=()):
        ctx.in_shape = x.shape
        ctx.shape = shape
        v = x.view()
        try:
            v.shape = shape
        except AttributeError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        return v

    def view_fn(ctx, a, xp=np):
        return a.reshape(ctx.shape)

    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Reshape(View):
    """The autograd node of ``torch.reshape`` when it can view (grad_fn ``ViewBackward0``)."""

    backward_name = "ViewBackward0"

    def forward(ctx, x, shape=()):
        ctx.in_shape = x.shape
        ctx.shape = shape
        return x.reshape(shape)


class UnsafeView(View):
    """A reshape of a fresh result, named as PyTorch names it (grad_fn ``UnsafeViewBackward0``)."""

    backward_name = "UnsafeViewBackward0"
    is_view = False

    def forward(ctx, x, shape=()):
        ctx.in_shape = x.shape
        ctx.shape = shape
        return x.reshape(shape)


def _infer_shape(shape, numel: int, src_shape) -> tuple:
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known != 0:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def view(input, *shape):
    """A view with a new shape, sharing storage (``Tensor.view``).

    ``view(dtype)`` reinterprets the bytes, as in PyTorch.

    Args:
        input: the tensor to view.
        shape: the new shape, as ints or one sequence; one size may be -1 (inferred). A single dtype
            instead reinterprets the bytes.

    Raises:
        RuntimeError: the shape does not have ``input``'s number of elements, or the view is
            impossible without a copy.
    """
    if len(shape) == 1 and isinstance(shape[0], D.dtype):
        return U.Tensor._make(input._data.view(shape[0].np))
    shape = _infer_shape(U.size_args(shape), input._data.size, input.shape)
    if shape == input._data.shape:
        return View.apply(input, shape=shape)
    return View.apply(input, shape=shape)


def view_as(input, other):
    """``input.view(other.shape)`` (``Tensor.view_as``).

    Args:
        input: the tensor to view.
        other: the tensor whose shape the view takes.
    """
    return view(input, *other.shape)


def reshape(input, *shape):
    """A view when possible, else a copy, with a new shape (``torch.reshape``).

    Args:
        input: the tensor to reshape.
        shape: the new shape, as ints or one sequence; one size may be -1 (inferred).
    """
    if len(shape) == 1 and type(shape[0]) is int:
        # one int (x.reshape(-1), x.reshape(n)): flattening needs none of the checks below
        n = input._data.size
        if shape[0] == -1 or shape[0] == n:
            return Reshape.apply(input, shape=(n,))
    shape = _infer_shape(U.size_args(shape), input._data.size, input.shape)
    return Reshape.apply(input, shape=shape)


def reshape_as(input, other):
    """``input.reshape(other.shape)`` (``Tensor.reshape_as``).

    Args:
        input: the tensor to reshape.
        other: the tensor whose shape the result takes.
    """
    return reshape(input, *other.shape)


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dims start..end into one (``torch.flatten``).

    Args:
        input: the tensor; a 0-d tensor becomes 1-D.
        start_dim: the first dim to merge.
        end_dim: the last dim to merge (inclusive).

    Raises:
        RuntimeError: ``start_dim`` comes after ``end_dim``.
    """
    nd = input.ndim
    if nd == 0:
        return reshape(input, 1)
    s, e = U.canon_dim(start_dim, nd), U.canon_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = input.shape
    n = 1
    for d in shp[s : e + 1]:
        n *= d
    return reshape(input, *shp[:s], n, *shp[e + 1 :])


def ravel(input):
    """The elements as a 1-D tensor, a view when possible (``torch.ravel``).

    Args:
        input: the tensor to flatten.
    """
    return reshape(input, -1)


def unflatten(input, dim: int, sizes):
    """Split one dim into ``sizes`` (``torch.unflatten``).

    Args:
        input: the tensor.
        dim: the dim to split.
        sizes: the new sizes, whose product is ``input.size(dim)``; one may be -1 (inferred).

    Raises:
        RuntimeError: the sizes do not multiply up to ``input.size(dim)``.
    """
    d = U.canon_dim(dim, input.ndim)
    sizes = list(sizes)
    if -1 in sizes:
        known = 1
        for s in sizes:
            if s != -1:
                known *= s
        sizes[sizes.index(-1)] = input.shape[d] // known if known else 0
    prod = 1
    for s in sizes:
        prod *= s
    if prod != input.shape[d]:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
            f"({input.shape[d]}) in the input tensor"
        )
    shp = input.shape
    return (
        view(input, *shp[:d], *sizes, *shp[d + 1 :])
        if input.is_contiguous()
        else reshape(input, *shp[:d], *sizes, *shp[d + 1 :])
    )


class Transpose(Function):
    """The autograd node of ``torch.transpose`` (grad_fn ``TransposeBackward0``)."""

    is_view = True
    __slots__ = ("d0", "d1")  # not the node's instance dict (one object less per op)

    def forward(ctx, x, d0=0, d1=1):
        ctx.d0, ctx.d1 = d0, d1
        return x.swapaxes(d0, d1)  # the method: np.swapaxes adds a Python-level dispatch

    def view_fn(ctx, a, xp=np):
        return xp.swapaxes(a, ctx.d0, ctx.d1)

    def backward(ctx, g):
        return ctx.xp.swapaxes(g, ctx.d0, ctx.d1)


class T(Transpose):
    """The autograd node of ``torch.t`` (grad_fn ``TBackward0``)."""

    backward_name = "TBackward0"

    def backward(ctx, g):
        out = ctx.xp.swapaxes(g, ctx.d0, ctx.d1)  # (vmap runs it on batched arrays too)
        if type(out) is not np.ndarray:
            return out
        base = out.base
        if (
            base is not None
            and base.shape == out.shape
            and base.dtype == out.dtype
            and base.flags.c_contiguous
            and out.flags.c_contiguous
        ):
            # g is the transpose of a whole array (one shape, dtype and layout: the same
            # memory), as F.linear's addmm hands the weight's gradient (linalg._mat2_grad):
            # pass on that array itself, which the weight's AccumulateGrad then keeps as
            # .grad without a copy
            return base
        return out


def transpose(input, dim0: int, dim1: int):
    """Swap two dims, as a view (``torch.transpose``).

    Args:
        input: the tensor.
        dim0: the first dim.
        dim1: the second dim.
    """
    nd = input.ndim
    d0, d1 = U.canon_dim(dim0, nd), U.canon_dim(dim1, nd)
    if nd < 2:
        return _identity_view(input)
    return Transpose.apply(input, d0=d0, d1=d1)


def _identity_view(input):
    return View.apply(input, shape=input._data.shape)


swapaxes = swapdims = transpose


def t(input):
    """Transpose of a matrix; vectors unchanged (``torch.t``).

    Args:
        input: a tensor of at most 2 dims.

    Raises:
        RuntimeError: ``input`` has more than 2 dims.
    """
    nd = input._data.ndim
    if nd == 2:
        return T.apply(input, d0=0, d1=1)
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return _identity_view(input)


class Permute(Function):
    """The autograd node of ``torch.permute`` (grad_fn ``PermuteBackward0``)."""

    is_view = True
    __slots__ = ("dims",)  # not the node's instance dict (one object less per op)

    def forward(ctx, x, dims=()):
        ctx.dims = dims
        return np.transpose(x, dims)

    def view_fn(ctx, a, xp=np):
        return xp.transpose(a, ctx.dims)

    def backward(ctx, g):
        return ctx.xp.transpose(g, tuple(np.argsort(ctx.dims)))


def permute(input, *dims):
    """Reorder dims, as a view (``torch.permute``).

    Args:
        input: the tensor.
        dims: the new order of the dims, as ints or one sequence: dim ``i`` of the result is
            ``input``'s dim ``dims[i]``.

    Raises:
        RuntimeError: ``dims`` is not a permutation of ``input``'s dims.
    """
    dims = U.size_args(dims)
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    dims = tuple(U.canon_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims=dims)


def movedim(input, source, destination):
    """Move dims to new positions (``torch.movedim``).

    Args:
        input: the tensor.
        source: the dim or dims to move.
        destination: where each of them goes in the result.
    """
    nd = input.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [U.canon_dim(s, nd) for s in src]
    dst = [U.canon_dim(d, nd) for d in dst]
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, *order)


moveaxis = movedim


def adjoint(input):
    """The last two dims swapped, as a view (``torch.adjoint``; for real tensors, the transpose).

    Args:
        input: a tensor of at least 2 dims.
    """
    return transpose(input, -2, -1)


class Expand(Function):
    """The autograd node of ``Tensor.expand``: the gradient summed over the broadcast dims
    (grad_fn ``ExpandBackward0``)."""

    is_view = True

    def forward(ctx, x, shape=()):
        ctx.shape = shape
        return np.broadcast_to(x, shape)

    def view_fn(ctx, a, xp=np):
        return xp.broadcast_to(a, ctx.shape)

    def backward(ctx, g):
        return g  # the engine sums it back to the input's shape


def expand(input, *sizes):
    """Broadcast to a larger shape without copying (``Tensor.expand``); -1 keeps a dim.

    Args:
        input: the tensor; its size-1 dims can grow.
        sizes: the new shape, as ints or one sequence; leading new dims may be added, and -1 keeps a
            dim's size.

    Raises:
        RuntimeError: fewer sizes than dims, or a size that differs from a non-singleton dim.
    """
    sizes = U.size_args(sizes)
    nd = input.ndim
    if len(sizes) < nd:
        raise RuntimeError(
            f"expand({input.type()}{{{list(input.shape)}}}, size={list(sizes)}): the number of "
            f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions "
            f"in the tensor ({nd})"
        )
    lead = len(sizes) - nd
    shape = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s == -1:
                raise RuntimeError(
                    "The expanded size of the tensor (-1) isn't allowed in a leading, "
                    "non-existing dimension 0"
                )
            shape.append(s)
            continue
        cur = input.shape[i - lead]
        if s == -1:
            s = cur
        elif cur != s and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(input.shape)}"
            )
        shape.append(s)
    return Expand.apply(input, shape=tuple(shape))


def expand_as(input, other):
    """``input.expand(other.shape)`` (``Tensor.expand_as``).

    Args:
        input: the tensor to expand.
        other: the tensor whose shape the result takes.
    """
    return expand(input, *other.shape)


def broadcast_to(input, shape):
    """``input`` expanded to ``shape``, as a view (``torch.broadcast_to``).

    Args:
        input: the tensor to broadcast.
        shape: the target shape; -1 keeps a dim's size.
    """
    return expand(input, *shape)


def broadcast_tensors(*tensors):
    """Expand tensors to their common shape (``torch.broadcast_tensors``).

    Args:
        tensors: the tensors, as arguments or one sequence.

    Returns:
        A tuple of views, one per tensor.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = U.broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, *shape) for t in tensors)


def broadcast_shapes(*shapes):
    """The shape that tensors of the given shapes broadcast to (``torch.broadcast_shapes``).

    Args:
        shapes: shapes (sequences of ints) or single ints.

    Returns:
        A ``tapegrad.Size``.

    Raises:
        RuntimeError: the shapes do not broadcast.
    """
    from .._tensor import Size

    return Size(U.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes]))


class Squeeze(View):
    """The autograd node of ``torch.squeeze`` of every size-1 dim (grad_fn ``SqueezeBackward0``)."""

    backward_name = "SqueezeBackward0"


class SqueezeDim(View):
    """The autograd node of ``torch.squeeze`` of one dim (grad_fn ``SqueezeBackward1``)."""

    backward_name = "SqueezeBackward1"


class SqueezeDims(View):
    """The autograd node of ``torch.squeeze`` of a tuple of dims (grad_fn ``SqueezeBackward2``)."""

    backward_name = "SqueezeBackward2"


class Unsqueeze(View):
    """The autograd node of ``torch.unsqueeze`` (grad_fn ``UnsqueezeBackward0``)."""

    backward_name = "UnsqueezeBackward0"


def squeeze(input, dim=None):
    """Drop size-1 dims (all, or those in ``dim``), as a view (``torch.squeeze``).

    Args:
        input: the tensor.
        dim: a dim or tuple of dims to drop when their size is 1; ``None`` drops every size-1 dim.
    """
    shp = input._data.shape
    nd = len(shp)
    if type(dim) is int and nd and -nd <= dim < nd:
        # one valid dim (the usual call): no dims tuple to build and check
        d = dim % nd
        return SqueezeDim.apply(input, shape=shp[:d] + shp[d + 1 :] if shp[d] == 1 else shp)
    if dim is None:
        new = tuple(s for s in shp if s != 1)
        cls = Squeeze
    else:
        dims = U.canon_dims(dim, len(shp))
        new = tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1))
        cls = SqueezeDim if isinstance(dim, (int, np.integer)) else SqueezeDims
    return cls.apply(input, shape=new)


def unsqueeze(input, dim: int):
    """Insert a size-1 dim at ``dim``, as a view (``torch.unsqueeze``).

    Args:
        input: the tensor.
        dim: the position of the new dim, in ``[-input.dim() - 1, input.dim()]``.

    Raises:
        IndexError: ``dim`` is out of range.
    """
    nd = input._data.ndim + 1
    if dim < -nd or dim >= nd:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})"
        )
    d = dim % nd
    shp = input._data.shape
    return Unsqueeze.apply(input, shape=shp[:d] + (1,) + shp[d:])


def _writable_diagonal(x, offset, d1, d2):
    # NumPy's diagonal is a read-only view; PyTorch's can be written through.
    d = np.diagonal(x, offset, d1, d2)
    if x.flags.writeable:
        d.setflags(write=True)
    return d


class Diagonal(Function):
    """The autograd node of ``torch.diagonal``, a view (grad_fn ``DiagonalBackward0``)."""

    is_view = True

    def forward(ctx, x, offset=0, d1=0, d2=1):
        ctx.args = (offset, d1, d2)
        ctx.shape = x.shape
        return _writable_diagonal(x, offset, d1, d2)

    def view_fn(ctx, a, xp=np):
        return _writable_diagonal(a, *ctx.args) if xp is np else xp.diagonal(a, *ctx.args)

    def backward(ctx, g):
        offset, d1, d2 = ctx.args
        return ctx.op(DiagonalBackward, g, shape=ctx.shape, offset=offset, d1=d1, d2=d2)


class DiagonalBackward(Function):
    """The gradient of ``diagonal``: ``g`` on the diagonal of zeros (``diagonal_scatter``)."""

    backward_name = "DiagonalBackwardBackward0"

    def forward(ctx, g, shape=(), offset=0, d1=0, d2=1):
        ctx.args = (offset, d1, d2)
        z = np.zeros(shape, g.dtype)
        d = np.diagonal(z, offset, d1, d2)
        d.setflags(write=True)
        d[...] = g
        return z

    def backward(ctx, gg):
        offset, d1, d2 = ctx.args
        return ctx.op(Diagonal, gg, offset=offset, d1=d1, d2=d2)


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal as a view (``torch.diagonal``).

    Args:
        input: a tensor of at least 2 dims.
        offset: which diagonal: 0 the main one, > 0 above it, < 0 below it.
        dim1: the first dim of the matrices.
        dim2: the second dim of the matrices.

    Returns:
        A view with ``dim1`` and ``dim2`` removed and the diagonal as the last dim.
    """
    nd = input.ndim
    return Diagonal.apply(input, offset=offset, d1=U.canon_dim(dim1, nd), d2=U.canon_dim(dim2, nd))


class DiagEmbed(Function):
    """The autograd node of ``torch.diag_embed`` on the last two dims (grad_fn
    ``DiagEmbedBackward0``)."""

    def forward(ctx, x, offset=0):
        ctx.offset = offset
        n = x.shape[-1] + abs(offset)
        out = np.zeros(x.shape[:-1] + (n, n), x.dtype)
        d = np.diagonal(out, offset, -2, -1)
        d.setflags(write=True)
        d[...] = x
        return out

    def backward(ctx, g):
        nd = g.ndim
        return ctx.op(Diagonal, g, offset=ctx.offset, d1=nd - 2, d2=nd - 1)


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Matrices with the last dim of ``input`` on a diagonal (``torch.diag_embed``).

    Args:
        input: the diagonals, along the last dim.
        offset: which diagonal to fill: 0 the main one, > 0 above it, < 0 below it.
        dim1: the result's dim holding the rows of each matrix.
        dim2: the result's dim holding the columns.

    Raises:
        RuntimeError: ``dim1`` and ``dim2`` are the same dim.
    """
    nd = input.ndim + 1
    d1, d2 = U.canon_dim(dim1, nd), U.canon_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    out = DiagEmbed.apply(input, offset=offset)
    if (d1, d2) == (nd - 2, nd - 1):
        return out
    return movedim(out, (nd - 2, nd - 1), (d1, d2))


def diag(input, diagonal: int = 0):
    """Diagonal of a matrix, or a matrix from a vector (``torch.diag``).

    Args:
        input: a 1-D tensor (put on a diagonal of a square matrix) or a 2-D one (whose diagonal is
            taken, copied).
        diagonal: which diagonal: 0 the main one, > 0 above it, < 0 below it.

    Raises:
        RuntimeError: ``input`` is neither 1-D nor 2-D.
    """
    if input.ndim == 1:
        return DiagEmbed.apply(input, offset=diagonal)
    if input.ndim == 2:
        return Clone.apply(Diagonal.apply(input, offset=diagonal, d1=0, d2=1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def diagflat(input, offset: int = 0):
    """A square matrix with the flattened ``input`` on a diagonal (``torch.diagflat``).

    Args:
        input: the values of the diagonal (flattened).
        offset: which diagonal: 0 the main one, > 0 above it, < 0 below it.
    """
    return DiagEmbed.apply(reshape(input, -1), offset=offset)


# ---------------------------------------------------------------------------
# joins and splits


class Cat(Function):
    """The autograd node of ``torch.cat`` (grad_fn ``CatBackward0``)."""

    def forward(ctx, *xs, dim=0):
        ctx.dim = dim
        ctx.sizes = [x.shape[dim] for x in xs]
        return np.concatenate(xs, axis=dim)

    def backward(ctx, g):
        idx = np.cumsum(ctx.sizes)[:-1]
        parts = ctx.xp.split(g, idx, axis=ctx.dim)
        return tuple(p if n else None for p, n in zip(parts, ctx.needs_input_grad))


def cat(tensors, dim: int = 0, *, out=None):
    """Concatenate along an existing dim (``torch.cat``).

    Args:
        tensors: a sequence of tensors with the same shape except in ``dim``; they are promoted to a
            common dtype, and 1-D tensors of size 0 are skipped.
        dim: the dim to join along.
        out: a tensor to write the result into.

    Raises:
        TypeError: ``tensors`` is not a list or tuple.
        ValueError: ``tensors`` is empty.
        RuntimeError: the tensors' dims or sizes do not match.
    """
    if _ac.state.active:
        return _ac.autocast_call("cat", cat, tensors, dim, out=out)
    if isinstance(tensors, U.Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            "cat(): argument 'tensors' must be tuple of Tensors, not " + type(tensors).__name__
        )
    tensors = [t for t in tensors]
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    # PyTorch skips legacy empty 1-D tensors of size 0.
    keep = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    ref = keep[0]
    d = U.canon_dim(dim, ref.ndim)
    for i, t in enumerate(keep):
        if t.ndim != ref.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}"
            )
        for j in range(ref.ndim):
            if j != d and t.shape[j] != ref.shape[j]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref.shape[j]} but got size {t.shape[j]} for tensor number {i} in the list."
                )
    dt = D.result_type(*keep)
    keep = [t if t.dtype is dt else t.to(dt) for t in keep]
    res = Cat.apply(*keep, dim=d)
    return copy_into_out(out, res) if out is not None else res


concat = concatenate = cat


class Stack(Function):
    """The autograd node of ``torch.stack`` (grad_fn ``StackBackward0``)."""

    def forward(ctx, *xs, dim=0):
        ctx.dim = dim
        return np.stack(xs, axis=dim)

    def backward(ctx, g):
        parts = ctx.xp.moveaxis(g, ctx.dim, 0)
        return tuple(parts[i] if n else None for i, n in enumerate(ctx.needs_input_grad))


def stack(tensors, dim: int = 0, *, out=None):
    """Join along a new dim (``torch.stack``).

    Args:
        tensors: a non-empty sequence of tensors of one shape; they are promoted to a common dtype.
        dim: the position of the new dim, in ``[-tensor.dim() - 1, tensor.dim()]``.
        out: a tensor to write the result into.

    Raises:
        RuntimeError: ``tensors`` is empty or the shapes differ.
        IndexError: ``dim`` is out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("stack", stack, tensors, dim, out=out)
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.shape != ref.shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref.shape)} at entry 0 "
                f"and {list(t.shape)} at entry {i}"
            )
    nd = ref.ndim + 1
    if dim < -nd or dim >= nd:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})"
        )
    dt = D.result_type(*tensors)
    tensors = [t if t.dtype is dt else t.to(dt) for t in tensors]
    res = Stack.apply(*tensors, dim=dim % nd)
    return copy_into_out(out, res) if out is not None else res


def hstack(tensors):
    """Concatenate column-wise: along dim 1, or dim 0 for 1-D tensors (``torch.hstack``).

    Args:
        tensors: a sequence of tensors.
    """
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate row-wise, along dim 0, after ``atleast_2d`` (``torch.vstack``).

    Args:
        tensors: a sequence of tensors; 0- and 1-D ones become rows.
    """
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    """Concatenate depth-wise, along dim 2, after ``atleast_3d`` (``torch.dstack``).

    Args:
        tensors: a sequence of tensors.
    """
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors):
    """Concatenate along dim 1, 0- and 1-D tensors taken as columns (``torch.column_stack``).

    Args:
        tensors: a sequence of tensors with the same number of rows.
    """
    return cat([reshape(t, -1, 1) if t.ndim <= 1 else t for t in tensors], 1)


def atleast_1d(t):
    """``t`` with a size-1 dim if it is 0-d, else ``t`` itself (``torch.atleast_1d``).

    Args:
        t: the tensor.
    """
    return reshape(t, 1) if t.ndim == 0 else t


def atleast_2d(t):
    """``t`` as at least a 2-D view: (1, 1) for 0-d, (1, n) for 1-D (``torch.atleast_2d``).

    Args:
        t: the tensor.
    """
    if t.ndim == 0:
        return reshape(t, 1, 1)
    return unsqueeze(t, 0) if t.ndim == 1 else t


def atleast_3d(t):
    """``t`` as at least a 3-D view: (1, 1, 1) for 0-d, (1, n, 1) for 1-D, (m, n, 1) for 2-D
    (``torch.atleast_3d``).

    Args:
        t: the tensor.
    """
    if t.ndim == 0:
        return reshape(t, 1, 1, 1)
    if t.ndim == 1:
        return reshape(t, 1, -1, 1)
    return unsqueeze(t, -1) if t.ndim == 2 else t


class SplitWithSizes(Function):
    """The autograd node of ``torch.split``: one output view per chunk (grad_fn
    ``SplitWithSizesBackward0`` or ``SplitBackward0``)."""

    backward_name = "SplitWithSizesBackward0"
    is_view = True

    def forward(ctx, x, sizes=(), dim=0):
        ctx.dim = dim
        ctx.shape = x.shape
        ctx.sizes = sizes
        idx = np.cumsum(sizes)[:-1]
        return tuple(np.split(x, idx, axis=dim))

    def backward(ctx, *gs):
        return ctx.xp.concatenate(gs, axis=ctx.dim)


def split(tensor, split_size_or_sections, dim: int = 0):
    """Split into chunks of a size, or of given sizes (``torch.split``).

    Args:
        tensor: the tensor to split.
        split_size_or_sections: the size of each chunk (the last one may be smaller), or a list of
            chunk sizes that sum to ``tensor.size(dim)``.
        dim: the dim to split along.

    Returns:
        A tuple of views.

    Raises:
        RuntimeError: a chunk size of 0 for a non-empty dim, or sizes that do not sum to the dim's
            size.
    """
    d = U.canon_dim(dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        s = int(split_size_or_sections)
        if s <= 0 and n > 0:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            )
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else [0]
        if not sizes:
            sizes = [0]
    else:
        sizes = [int(v) for v in split_size_or_sections]
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {d}), but got split_sizes={sizes}"
            )
    cls = type(
        "SplitWithSizes",
        (SplitWithSizes,),
        {
            "num_outputs": len(sizes),
            "backward_name": "SplitWithSizesBackward0"
            if not isinstance(split_size_or_sections, (int, np.integer))
            else "SplitBackward0",
        },
    )
    return cls.apply(tensor, sizes=tuple(sizes), dim=d)


def split_with_sizes(tensor, split_sizes, dim: int = 0):
    """Split into chunks of the given sizes (``torch.split_with_sizes``).

    Args:
        tensor: the tensor to split.
        split_sizes: the chunk sizes, summing to ``tensor.size(dim)``.
        dim: the dim to split along.

    Returns:
        A tuple of views.
    """
    return split(tensor, list(split_sizes), dim)


def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` nearly equal parts (``torch.chunk``).

    Args:
        input: the tensor to split.
        chunks: the number of chunks wanted; each has ``ceil(size / chunks)`` entries but the last,
            so fewer chunks may come.
        dim: the dim to split along.

    Returns:
        A tuple of views.

    Raises:
        RuntimeError: ``chunks`` is not positive.
    """
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = U.canon_dim(dim, input.ndim)
    n = input.shape[d]
    size = -(-n // chunks) if n else 0
    if size == 0:
        return split(input, [0] * 1 if n == 0 else [n], d)
    return split(input, size, d)


def tensor_split(input, indices_or_sections, dim: int = 0):
    """Split at indices or into n parts like NumPy's array_split (``torch.tensor_split``).

    Args:
        input: the tensor to split.
        indices_or_sections: a number n of parts (the first ``size % n`` one longer), or a sequence
            of indices to split before.
        dim: the dim to split along.

    Returns:
        A tuple of views.
    """
    d = U.canon_dim(dim, input.ndim)
    n = input.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        base, extra = divmod(n, k)
        sizes = [base + 1] * extra + [base] * (k - extra)
    else:
        idx = [0] + [min(max(int(i), 0), n) for i in indices_or_sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(idx[:-1], idx[1:])]
    return split(input, sizes, d)


class Unbind(Function):
    """The autograd node of ``torch.unbind``: one output view per slice (grad_fn
    ``UnbindBackward0``)."""

    is_view = True

    def forward(ctx, x, dim=0):
        ctx.dim = dim
        return tuple(np.moveaxis(x, dim, 0))

    def backward(ctx, *gs):
        return ctx.xp.stack(gs, axis=ctx.dim)


def unbind(input, dim: int = 0):
    """The slices along ``dim`` as views (``torch.unbind``).

    Args:
        input: the tensor.
        dim: the dim to remove.

    Returns:
        A tuple of ``input.size(dim)`` views.
    """
    d = U.canon_dim(dim, input.ndim)
    cls = type(
        "Unbind", (Unbind,), {"num_outputs": input.shape[d], "backward_name": "UnbindBackward0"}
    )
    return cls.apply(input, dim=d)


class Flip(Function):
    """The autograd node of ``torch.flip`` (grad_fn ``FlipBackward0``)."""

    def forward(ctx, x, dims=()):
        ctx.dims = dims
        return np.flip(x, dims).copy()

    def backward(ctx, g):
        return ctx.xp.flip(g, ctx.dims)


def flip(input, dims):
    """Reverse the order along ``dims`` (``torch.flip``; a copy, as in PyTorch).

    Args:
        input: the tensor.
        dims: the dims to reverse.
    """
    dims = U.canon_dims(dims, input.ndim) if input.ndim else ()
    return Flip.apply(input, dims=dims)


def fliplr(input):
    """Reverse the order along dim 1, left to right (``torch.fliplr``).

    Args:
        input: a tensor of at least 2 dims.
    """
    return flip(input, [1])


def flipud(input):
    """Reverse the order along dim 0, up to down (``torch.flipud``).

    Args:
        input: a tensor of at least 1 dim.
    """
    return flip(input, [0])


class Roll(Function):
    """The autograd node of ``torch.roll`` (grad_fn ``RollBackward0``)."""

    def forward(ctx, x, shifts=(), dims=None):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x, shifts, dims)

    def backward(ctx, g):
        return ctx.xp.roll(g, tuple(-s for s in ctx.shifts), ctx.dims)


def roll(input, shifts, dims=None):
    """Circular shift (``torch.roll``).

    Args:
        input: the tensor.
        shifts: the number of places to shift by, one per dim in ``dims``; elements shifted off one
            end come back at the other.
        dims: the dim or dims to roll; ``None`` rolls the flattened tensor and restores its shape.
    """
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is not None:
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        dims = tuple(U.canon_dim(d, input.ndim) for d in dims)
    return Roll.apply(input, shifts=shifts, dims=dims)


def rot90(input, k: int = 1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards the
    second (``torch.rot90``).

    Args:
        input: a tensor of at least 2 dims.
        k: the number of quarter turns; negative turns the other way.
        dims: the two dims of the plane.
    """
    k %= 4
    d0, d1 = dims
    if k == 0:
        return clone(input)
    if k == 1:
        return transpose(flip(input, [d1]), d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    return flip(transpose(input, d0, d1), [d1])


class Repeat(Function):
    """The autograd node of ``Tensor.repeat``: the gradient summed over the tiles (grad_fn
    ``RepeatBackward0``)."""

    def forward(ctx, x, reps=()):
        ctx.reps = reps
        ctx.in_shape = x.shape
        lead = len(reps) - x.ndim
        ctx.shape = (1,) * lead + x.shape
        return np.tile(x.reshape(ctx.shape), reps)

    def backward(ctx, g):
        # Sum over the tiles: split each dim into (reps, size) and reduce the reps.
        shp = []
        for r, s in zip(ctx.reps, ctx.shape):
            shp += [r, s]
        g = ctx.xp.sum(g.reshape(shp), axis=tuple(range(0, len(shp), 2)))
        return g.reshape(ctx.in_shape)


def repeat(input, *sizes):
    """Tile the tensor ``sizes`` times (``Tensor.repeat``).

    Args:
        input: the tensor.
        sizes: the number of repetitions along each dim, as ints or one sequence; more sizes than
            dims add leading dims.

    Raises:
        RuntimeError: fewer sizes than ``input`` has dims.
    """
    reps = U.size_args(sizes)
    if len(reps) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    return Repeat.apply(input, reps=reps)


def tile(input, dims):
    """Repeat ``input`` along each dim (``torch.tile``): ``repeat`` with ``dims`` padded with
    leading ones.

    Args:
        input: the tensor.
        dims: the number of repetitions along each dim; fewer than ``input``'s dims apply to the
            last ones.
    """
    dims = tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, *dims)


class RepeatInterleave(Function):
    """The autograd node of ``torch.repeat_interleave`` (grad_fn ``RepeatInterleaveBackward0``)."""

    def forward(ctx, x, repeats=1, dim=0):
        ctx.repeats, ctx.dim, ctx.n = repeats, dim, x.shape[dim]
        return np.repeat(x, repeats, axis=dim)

    def backward(ctx, g):
        r = ctx.repeats
        if np.ndim(r) == 0:
            shp = list(g.shape)
            shp[ctx.dim : ctx.dim + 1] = [ctx.n, int(r)]
            return ctx.xp.sum(g.reshape(shp), axis=ctx.dim + 1)
        idx = (slice(None),) * ctx.dim + (np.repeat(np.arange(ctx.n), r),)
        shape = tuple(g.shape[: ctx.dim]) + (ctx.n,) + tuple(g.shape[ctx.dim + 1 :])
        return ctx.op(IndexBackward, g, idx=idx, shape=shape)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (``torch.repeat_interleave``).

    Args:
        input: the tensor; with ``repeats=None``, a 1-D tensor of counts
            (``torch.repeat_interleave(counts)`` gives each index ``counts[i]`` times).
        repeats: how often to repeat each element: an int, or a tensor with one count per entry
            along ``dim``.
        dim: the dim to repeat along; ``None`` flattens ``input`` first.
        output_size: accepted for PyTorch's signature (the total length along ``dim``); not needed
            here.
    """
    if repeats is None:
        r = input._data
        return U.Tensor._make(np.repeat(np.arange(len(r)), r))
    if dim is None:
        input = reshape(input, -1)
        dim = 0
    r = repeats._data if isinstance(repeats, U.Tensor) else repeats
    return RepeatInterleave.apply(input, repeats=r, dim=U.canon_dim(dim, input.ndim))


class Tril(Function):
    """The autograd node of ``torch.tril`` (grad_fn ``TrilBackward0``)."""

    def forward(ctx, x, k=0, upper=False):
        ctx.k, ctx.upper = k, upper
        return np.triu(x, k) if upper else np.tril(x, k)

    def backward(ctx, g):
        xp = ctx.xp
        return xp.triu(g, ctx.k) if ctx.upper else xp.tril(g, ctx.k)


class Triu(Tril):
    """The autograd node of ``torch.triu`` (grad_fn ``TriuBackward0``)."""

    pass


def tril(input, diagonal: int = 0):
    """Lower triangle (``torch.tril``).

    Args:
        input: a tensor of at least 2 dims (a batch of matrices in the last two).
        diagonal: the diagonal to keep up to: 0 the main one, > 0 above it, < 0 below it.

    Raises:
        RuntimeError: ``input`` has fewer than 2 dims.
    """
    if input.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tril.apply(input, k=diagonal, upper=False)


def triu(input, diagonal: int = 0):
    """Upper triangle (``torch.triu``).

    Args:
        input: a tensor of at least 2 dims (a batch of matrices in the last two).
        diagonal: the diagonal to keep from: 0 the main one, > 0 above it, < 0 below it.

    Raises:
        RuntimeError: ``input`` has fewer than 2 dims.
    """
    if input.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Triu.apply(input, k=diagonal, upper=True)


class Narrow(Function):
    """The autograd node of ``torch.narrow``, a view (grad_fn ``SliceBackward0``, as in PyTorch)."""

    backward_name = "SliceBackward0"
    is_view = True

    def forward(ctx, x, dim=0, start=0, length=0):
        ctx.idx = (slice(None),) * dim + (slice(start, start + length),)
        ctx.shape = x.shape
        return x[ctx.idx]

    def view_fn(ctx, a, xp=np):
        return a[ctx.idx]  # basic indexing: the same on arrays and on tensors

    def backward(ctx, g):
        return ctx.op(SliceBackward, g, idx=ctx.idx, shape=ctx.shape)


def narrow(input, dim: int, start, length: int):
    """A view of ``length`` entries from ``start`` along ``dim`` (``torch.narrow``).

    Args:
        input: the tensor.
        dim: the dim to narrow.
        start: the first index (negative counts from the end).
        length: the number of entries.

    Raises:
        IndexError: ``start`` is out of range.
        RuntimeError: ``start + length`` exceeds the dim's size.
    """
    d = U.canon_dim(dim, input.ndim)
    n = input.shape[d]
    start = int(start)
    if start < -n or start > n:
        raise IndexError(
            f"start out of range (expected to be in range of [{-n}, {n}], but got {start})"
        )
    start %= n if n else 1
    if start + length > n or length < 0:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return Narrow.apply(input, dim=d, start=start, length=length)


def unfold(input, dimension: int, size: int, step: int):
    """Sliding windows along a dim, as a new last dim (``Tensor.unfold``).

    Args:
        input: the tensor.
        dimension: the dim to slide along.
        size: the length of each window.
        step: the distance between the starts of neighbouring windows.

    Returns:
        A view with ``dimension`` of size ``(n - size) // step + 1`` and a new last dim of ``size``.
    """
    from .index import _take_windows

    return _take_windows(input, U.canon_dim(dimension, input.ndim), size, step)


# ---------------------------------------------------------------------------
# in-place on views: CopySlices


def _replay(chain, a, xp=np):
    """The view ops of ``chain`` applied to ``a`` (an array, or a tensor under ``xp``)."""
    for ctx in chain:
        a = ctx.view_fn(a, xp)
    return a


class CopySlices(Function):
    """The new history of a base after an in-place op on one of its views."""

    backward_name = "CopySlices"

    def backward(ctx, g):
        # Under create_graph the same writes go through tensor views, so they are
        # recorded (by a CopySlices of their own) and differentiable again.
        xp = ctx.xp
        nb, nv = ctx.needs_input_grad
        gb = gv = None
        if nb:
            # a C-ordered copy: NumPy's copy keeps a transposed g's layout, and replaying a
            # reshape on that would write the zeros into a temporary copy, not into gb
            gb = np.array(g, order="C") if xp is np else xp.copy(g)
            _replay(ctx.chain, gb, xp)[...] = 0
        if nv:
            gv = _replay(ctx.chain, g, xp)
        return gb, gv

    @staticmethod
    def rebase(base, view, res) -> None:
        from ..autograd.function import _edge

        node = CopySlices.__new__(CopySlices)
        node.chain = view._view_chain
        node._saved = None
        node._saved_versions = None
        node._freed = False
        node._recording = False
        node.needs_input_grad = (base._requires_grad, True)
        node.next_functions = (_edge(base) if base._requires_grad else (None, 0), _edge(res))
        node._in_meta = ((base._data.shape, base._data.dtype), (res._data.shape, res._data.dtype))
        base.grad_fn = node
        base._output_nr = 0
        base._requires_grad = True


class ViewOfBase(Function):
    """A view's history after its base was rebased by CopySlices."""

    backward_name = "AsStridedBackward0"

    def backward(ctx, g):
        xp = ctx.xp
        # the base's dtype: a real view (.real, view_as_real) of a complex base
        z = xp.zeros(ctx.base_shape, ctx.base_dtype)
        _replay(ctx.chain, z, xp)[...] = g
        return z

    @staticmethod
    def attach(base, view) -> None:
        node = ViewOfBase.__new__(ViewOfBase)
        node.chain = view._view_chain
        node.base_shape = base._data.shape
        node.base_dtype = base._data.dtype
        node._saved = None
        node._saved_versions = None
        node._freed = False
        node._recording = False
        node.needs_input_grad = (True,)
        node.next_functions = ((base.grad_fn, 0),)
        node._in_meta = ((base._data.shape, base._data.dtype),)
        view.grad_fn = node
        view._output_nr = 0
        view._requires_grad = True


# ---------------------------------------------------------------------------
# numpy-style splits and assembling blocks


def _split_n(input, sections, dim, name, min_dim):
    if input.ndim < min_dim:
        raise RuntimeError(
            f"torch.{name} requires a tensor with at least {min_dim} dimension, but got a tensor "
            f"with {input.ndim} dimensions!"
        )
    if isinstance(sections, (int, np.integer)) and input.shape[dim] % sections:
        raise RuntimeError(
            f"torch.{name} attempted to split along dimension {dim}, but the size of the "
            f"dimension {input.shape[dim]} is not divisible by the split_size {sections}!"
        )
    return tensor_split(input, sections, dim)


def hsplit(input, sections):
    """Split along columns, dim 1 (dim 0 for 1-D) (``torch.hsplit``).

    Args:
        input: a tensor of at least 1 dim.
        sections: a number of equal parts, or a sequence of indices to split before.

    Returns:
        A tuple of views.

    Raises:
        RuntimeError: ``input`` has too few dims, or the dim's size is not divisible by
            ``sections``.
    """
    return _split_n(input, sections, 0 if input.ndim == 1 else 1, "hsplit", 1)


def vsplit(input, sections):
    """Split along rows, dim 0 (``torch.vsplit``).

    Args:
        input: a tensor of at least 2 dims.
        sections: a number of equal parts, or a sequence of indices to split before.

    Returns:
        A tuple of views.

    Raises:
        RuntimeError: ``input`` has too few dims, or the dim's size is not divisible by
            ``sections``.
    """
    return _split_n(input, sections, 0, "vsplit", 2)


def dsplit(input, sections):
    """Split along depth, dim 2 (``torch.dsplit``).

    Args:
        input: a tensor of at least 3 dims.
        sections: a number of equal parts, or a sequence of indices to split before.

    Returns:
        A tuple of views.

    Raises:
        RuntimeError: ``input`` has too few dims, or the dim's size is not divisible by
            ``sections``.
    """
    return _split_n(input, sections, 2, "dsplit", 3)


def block_diag(*tensors):
    """A block-diagonal matrix from 0-, 1- or 2-D blocks (``torch.block_diag``).

    Args:
        tensors: the blocks, top left to bottom right; 0- and 1-D ones are taken as one row. They
            are promoted to a common dtype.

    Raises:
        RuntimeError: a block has more than 2 dims.
    """
    from .creation import zeros

    blocks = []
    for t in tensors:
        if t.ndim > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input "
                f"{len(blocks)} has {t.ndim} dimensions"
            )
        blocks.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not blocks:
        return zeros(1, 0)
    dt = D.result_type(*blocks)
    cols = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        parts = [zeros(r, left, dtype=dt), b.to(dt), zeros(r, cols - left - c, dtype=dt)]
        rows.append(cat(parts, 1))
        left += c
    return cat(rows, 0)


def combinations(input, r: int = 2, with_replacement: bool = False):
    """Length-r combinations of a 1-D tensor's elements, as rows (``torch.combinations``).

    Args:
        input: a 1-D tensor.
        r: the length of each combination.
        with_replacement: allow an element to be used more than once.

    Returns:
        A 2-D tensor with one combination per row, in lexicographic order of positions.

    Raises:
        RuntimeError: ``input`` is not 1-D.
    """
    import itertools

    from .creation import tensor

    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = list(make(range(input.shape[0]), r))
    if not idx:
        return input[:0] if r else input.new_empty(0)
    return input[tensor(idx, dtype=D.int64)]
