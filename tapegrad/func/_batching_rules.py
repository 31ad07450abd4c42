"""Batching rules: a primitive run once on the physical tensors of a vmap level.

A rule gets the primitive, its inputs (batched at level ``lvl`` or not) and its
attributes, all computed by the public op from the logical (per-sample) shapes, and
returns the batched result, or NotImplemented to take the per-sample loop. The
physical tensors carry the batch in dim 0, so a rule moves logical dims one to the
right (a negative dim already names the same dim), adds the batch to target shapes,
and lines the batch up with broadcasting.
"""

from __future__ import annotations

from ..ops import elementwise as E
from ..ops import index as I
from ..ops import linalg as L
from ..ops import losses as LS
from ..ops import nn_ops as N
from ..ops import reduce as R
from ..ops import shape as S
from ._batched import is_batched_at, make_batched


def _wrap(out, lvl):
    if isinstance(out, tuple):
        return tuple(make_batched(o, lvl) for o in out)
    return make_batched(out, lvl)


def _with_rank(v, n: int):
    """Physical ``v`` of logical rank <= n as rank n + 1: size-1 dims after the batch."""
    k = v.dim() - 1
    if k == n:
        return v
    return v.reshape((v.shape[0],) + (1,) * (n - k) + tuple(v.shape[1:]))


def _expanded(t, batch: int):
    """An unbatched input as a physical one: the batch dim added by expansion (no copy)."""
    return t.unsqueeze(0).expand(batch, *t.shape)


def _batch_size(inputs, lvl) -> int:
    for t in inputs:
        if is_batched_at(t, lvl):
            return t._value.shape[0]
    raise AssertionError("no batched input")


def _shift(d: int) -> int:
    return d + 1 if d >= 0 else d


def elementwise(cls, inputs, attrs, lvl):
    n = max(t.dim() for t in inputs if t is not None)
    args = [
        None if t is None else _with_rank(t._value, n) if is_batched_at(t, lvl) else t
        for t in inputs
    ]
    return _wrap(cls.apply(*args, **attrs), lvl)


def _only_first_batched(inputs, lvl) -> bool:
    return is_batched_at(inputs[0], lvl) and not any(is_batched_at(t, lvl) for t in inputs[1:])


def reduce_dims(cls, inputs, attrs, lvl):
    (x,) = inputs
    dims = attrs.get("dims", ())
    if x.dim() == 0 or not dims:
        return NotImplemented
    new = dict(attrs, dims=tuple(_shift(d) for d in dims))
    return _wrap(cls.apply(x._value, **new), lvl)


def one_dim(cls, inputs, attrs, lvl):
    if not _only_first_batched(inputs, lvl) or inputs[0].dim() == 0:
        return NotImplemented
    new = dict(attrs, dim=_shift(attrs.get("dim", cls_default_dim(cls))))
    return _wrap(cls.apply(inputs[0]._value, *inputs[1:], **new), lvl)


def mse_loss(cls, inputs, attrs, lvl):
    # the per-element losses batched, then each sample's reduction over its own dims
    batch = _batch_size(inputs, lvl)
    a, b = (t._value if is_batched_at(t, lvl) else _expanded(t, batch) for t in inputs)
    out = cls.apply(a, b, reduction="none")
    reduction = attrs.get("reduction", "mean")
    if reduction != "none":
        flat = out.reshape(batch, -1)
        out = flat.sum(1) if reduction == "sum" else flat.mean(1)
    return _wrap(out, lvl)


def cls_default_dim(cls) -> int:
    return -1 if issubclass(cls, (R.Softmax, R.LogSoftmax)) else 0


def view(cls, inputs, attrs, lvl):
    (x,) = inputs
    v = x._value
    shape = (v.shape[0],) + tuple(attrs["shape"])
    try:
        return _wrap(cls.apply(v, shape=shape), lvl)
    except RuntimeError:
        # the physical layout (after moving the vmapped dim to the front) cannot be
        # viewed as the batched shape; a copy has the same values
        return _wrap(S.Reshape.apply(v, shape=shape), lvl)


def transpose(cls, inputs, attrs, lvl):
    (x,) = inputs
    if x.dim() == 0:
        return NotImplemented
    d0, d1 = attrs.get("d0", 0), attrs.get("d1", 1)
    return _wrap(cls.apply(x._value, d0=_shift(d0), d1=_shift(d1)), lvl)


def permute(cls, inputs, attrs, lvl):
    (x,) = inputs
    dims = (0,) + tuple(_shift(d % max(x.dim(), 1)) for d in attrs["dims"])
    return _wrap(cls.apply(x._value, dims=dims), lvl)


def expand(cls, inputs, attrs, lvl):
    (x,) = inputs
    shape = tuple(attrs["shape"])
    v = _with_rank(x._value, len(shape))
    return _wrap(cls.apply(v, shape=(v.shape[0],) + shape), lvl)


def _advanced_adjacent(idx) -> bool:
    if not any(hasattr(e, "ndim") for e in idx):
        return True  # basic indexing: ints drop their dims in place
    pos = [i for i, e in enumerate(idx) if not (e is None or e is Ellipsis or isinstance(e, slice))]
    return not pos or pos[-1] - pos[0] + 1 == len(pos)


def slice_(cls, inputs, attrs, lvl):
    (x,) = inputs
    idx = attrs.get("idx", ())
    if not _advanced_adjacent(idx):
        # NumPy would move the advanced-index dims in front of the batch dim
        return NotImplemented
    new = dict(attrs, idx=(slice(None), *idx))
    return _wrap(cls.apply(x._value, **new), lvl)


def flip(cls, inputs, attrs, lvl):
    (x,) = inputs
    if x.dim() == 0:
        return NotImplemented
    new = dict(attrs, dims=tuple(_shift(d) for d in attrs.get("dims", ())))
    return _wrap(cls.apply(x._value, **new), lvl)


def diagonal(cls, inputs, attrs, lvl):
    (x,) = inputs
    new = dict(attrs, d1=_shift(attrs.get("d1", 0)), d2=_shift(attrs.get("d2", 1)))
    return _wrap(cls.apply(x._value, **new), lvl)


def last_two_dims(cls, inputs, attrs, lvl):
    # works on the last two dims (tril/triu): the batch is one more leading dim
    (x,) = inputs
    if x.dim() < 2:
        return NotImplemented
    return _wrap(cls.apply(x._value, **attrs), lvl)


def cat(cls, inputs, attrs, lvl):
    batch = _batch_size(inputs, lvl)
    k = inputs[0].dim()
    dim = attrs.get("dim", 0)
    if cls is S.Stack or issubclass(cls, S.Stack):
        dim = dim % (k + 1)
    elif k == 0:
        return NotImplemented
    else:
        dim = dim % k
    args = [t._value if is_batched_at(t, lvl) else _expanded(t, batch) for t in inputs]
    return _wrap(cls.apply(*args, dim=dim + 1), lvl)


def unbind(cls, inputs, attrs, lvl):
    return one_dim(cls, inputs, attrs, lvl)


def matmul(cls, inputs, attrs, lvl):
    a, b = inputs
    if a.dim() == 0 or b.dim() == 0:
        return NotImplemented
    va = a._value if is_batched_at(a, lvl) else a
    vb = b._value if is_batched_at(b, lvl) else b
    ba, bb = va is not a, vb is not b
    # vectors become matrices (a: a row, b: a column) so that the batch dim is never
    # mistaken for a matrix dim; the added dims are squeezed out of the result
    a_vec, b_vec = a.dim() == 1, b.dim() == 1
    if a_vec:
        va = va.unsqueeze(-2)
    if b_vec:
        vb = vb.unsqueeze(-1)
    n = max(a.dim() + a_vec, b.dim() + b_vec)
    if ba:
        va = _with_rank(va, n)
    if bb:
        vb = _with_rank(vb, n)
    out = cls.apply(va, vb, **attrs)
    if b_vec:
        out = out.squeeze(-1)
    if a_vec:
        out = out.squeeze(-1 if b_vec else -2)
    return make_batched(out, lvl)


def linear(cls, inputs, attrs, lvl):
    x, w, *b = inputs
    if _only_first_batched(inputs, lvl):
        return _wrap(cls.apply(x._value, w, *b, **attrs), lvl)
    # batched weights (model ensembles): the same product written with batched ops
    out = x @ w.transpose(-1, -2)
    return out + b[0] if b and b[0] is not None else out


def normalize(cls, inputs, attrs, lvl):
    # batch/layer/group norm's primitive: w and b are shaped against the logical input,
    # so they broadcast against the physical one from the right
    if not _only_first_batched(inputs, lvl) or inputs[0].dim() == 0:
        return NotImplemented
    x, *rest = inputs
    new = dict(attrs, axes=tuple(_shift(d) for d in attrs.get("axes", ())))
    return _wrap(cls.apply(x._value, *rest, **new), lvl)


def group_norm(cls, inputs, attrs, lvl):
    # statistics per sample and group: the vmapped dim merges with the batch dim exactly
    if not _only_first_batched(inputs, lvl):
        return NotImplemented
    x, *rest = inputs
    v = x._value
    b, n = v.shape[0], v.shape[1]
    out = cls.apply(v.reshape(b * n, *v.shape[2:]), *rest, **attrs)
    return _wrap(tuple(o.reshape(b, n, *o.shape[1:]) for o in out), lvl)


_ELEMENTWISE = (
    E.Add,
    E.Sub,
    E.Mul,
    E.Div,
    E._NoGradBinary,
    E.Remainder,
    E.Fmod,
    E.Pow,
    E.PowScalar,
    E.Maximum,
    E.Minimum,
    E.Atan2,
    E.Hypot,
    E.LogAddExp,
    E.Lerp,
    E.Where,
    E.Clamp,
    E.ClampTensor,
    E.RoundDecimals,
    E.Fmax,
    E.Fmin,
    E.Xlogy,
    E.Copysign,
    E.Sinc,
    S.ToCopy,
    S.Clone,
    N.Threshold,
    N.Hardtanh,
    N.LeakyRelu,
    N.Elu,
    N.Gelu,
    N.Silu,
    N.Mish,
    N.Softplus,
    N.Hardsigmoid,
    N.HardsigmoidBackward,
    N.Hardswish,
    N.LogSigmoid,
    N.Softshrink,
    N.Hardshrink,
)

_RULES: dict = {c: elementwise for c in _ELEMENTWISE}
# the unary math functions (exp, sin, relu, sigmoid, ...) made by elementwise._unary
_RULES.update(
    {c: elementwise for c in vars(E).values() if isinstance(c, type) and c.__module__ == E.__name__}
)
_RULES.update(
    {
        R.Sum: reduce_dims,
        R.Mean: reduce_dims,
        R.Var: reduce_dims,
        R.VectorNorm: reduce_dims,
        R.AmaxAmin: reduce_dims,
        R.LogSumExp: reduce_dims,
        R.Softmax: one_dim,
        R.LogSoftmax: one_dim,
        R.Cumsum: one_dim,
        R.Cumprod: one_dim,
        R.MaxDim: one_dim,
        S.Unbind: unbind,
        S.Narrow: one_dim,
        S.SplitWithSizes: one_dim,
        S.Flip: flip,
        S.Diagonal: diagonal,
        S.Tril: last_two_dims,
        S.View: view,
        S.Transpose: transpose,
        S.Permute: permute,
        S.Expand: expand,
        S.Cat: cat,
        S.Stack: cat,
        I.Slice: slice_,
        I.Index: slice_,
        L.Matmul: matmul,
        N.Linear: linear,
        N.Normalize: normalize,
        N.GroupNormalize: group_norm,
        LS.MseLoss: mse_loss,
    }
)
_CACHE: dict = {}


def rule_for(cls):
    """The batching rule of a primitive (found through its base classes), or None."""
    try:
        return _CACHE[cls]
    except KeyError:
        pass
    rule = None
    for base in cls.__mro__:
        if base in _RULES:
            rule = _RULES[base]
            break
    _CACHE[cls] = rule
    return rule
