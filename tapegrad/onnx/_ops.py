"""Converters from tapegrad's primitive ops (``Function`` subclasses) to ONNX nodes.

Each converter takes the :class:`~tapegrad.onnx._graph.Graph` and the recorded
:class:`~tapegrad.onnx._trace.Node` and returns the ONNX names of the node's outputs (a
name, or a list with ``None`` for an output ONNX cannot give). ``CONVERTERS`` maps a
Function class to its converter; subclasses that only rename a node share their base's.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import numpy_helper as onnx_numpy_helper

from ..ops import conv as _conv
from ..ops import elementwise as E
from ..ops import index as I
from ..ops import linalg as L
from ..ops import nn_ops as N
from ..ops import pool as P
from ..ops import reduce as R
from ..ops import shape as S
from ._graph import INT64_MAX, INT64_MIN, Graph
from .errors import UnsupportedOperatorError

CONVERTERS: dict = {}


def _register(*classes):
    def deco(fn):
        for c in classes:
            CONVERTERS[c] = fn
        return fn

    return deco


def converter_for(cls):
    """The converter of a Function class (its own, else its nearest base's), or ``None``."""
    for c in cls.__mro__:
        fn = CONVERTERS.get(c)
        if fn is not None:
            return fn
    return None


# -- helpers -----------------------------------------------------------------


def _in_shapes(n, i=0):
    a = tuple(n.inputs[i].shape)
    b = tuple(n.b.inputs[i].shape) if n.b is not None else a
    return a, b


def _out_shapes(n, i=0):
    a = tuple(n.outputs[i].shape)
    b = tuple(n.b.outputs[i].shape) if n.b is not None else a
    return a, b


def _attr_b(n, key, default=None):
    src = n.b if n.b is not None else n
    return src.kwargs.get(key, default)


def _x(g, n, i=0):
    return g.v(n.args[i])


def _dtype(n, i=0):
    return n.outputs[i]._data.dtype


def _unsupported(g, n, detail):
    raise UnsupportedOperatorError(n.name, g.opset, None, detail)


def _same_across_traces(g, n, what, a, b):
    if a != b:
        _unsupported(g, n, f"its {what} changes with the dynamic axes ({a} vs {b})")


def reshape_to(g: Graph, x: str, ia, ib, sa, sb) -> str:
    """``Reshape`` of ``x`` (shape ``ia``/``ib`` in the two traces) to ``sa``/``sb``."""
    sa, sb = tuple(sa), tuple(sb)
    dyn = [i for i in range(len(sa)) if sa[i] != sb[i]]
    if not dyn:
        if 0 in sa:
            return g.op("Reshape", x, g.ints(sa), allowzero=1)
        return g.op("Reshape", x, g.ints(sa))
    target = list(sa)
    rest = []
    for i in dyn:
        if i < len(ia) and ia[i] == sa[i] and ib[i] == sb[i]:
            target[i] = 0
        else:
            rest.append(i)
    if len(rest) <= 1 and 0 not in sa:
        for i in rest:
            target[i] = -1
        return g.op("Reshape", x, g.ints(target))
    return g.op("Reshape", x, g.shape_vec(sa, sb))


# -- elementwise ---------------------------------------------------------------


def _binary(op_type):
    def convert(g, n):
        return g.op(op_type, _x(g, n, 0), _x(g, n, 1))

    return convert


for _cls, _op in (
    (E.Mul, "Mul"),
    (E.Div, "Div"),
    (E.Pow, "Pow"),
    (E.Maximum, "Max"),
    (E.Minimum, "Min"),
):
    CONVERTERS[_cls] = _binary(_op)


@_register(E.Add, E.Sub)
def _add_sub(g, n):
    a, b = _x(g, n, 0), _x(g, n, 1)
    alpha = n.kwargs.get("alpha", 1)
    if alpha != 1:
        b = g.op("Mul", b, g.scalar(alpha, _dtype(n)))
    return g.op("Add" if issubclass(n.target, E.Add) else "Sub", a, b)


@_register(E.Fmod)
def _fmod(g, n):
    return g.op("Mod", _x(g, n, 0), _x(g, n, 1), fmod=1)


@_register(E.Remainder)
def _remainder(g, n):
    a, b = _x(g, n, 0), _x(g, n, 1)
    if _dtype(n).kind in "iu":
        return g.op("Mod", a, b, fmod=0)
    # Python's remainder takes the divisor's sign: a - floor(a / b) * b
    return g.op("Sub", a, g.op("Mul", g.op("Floor", g.op("Div", a, b)), b))


@_register(E.Where)
def _where(g, n):
    return g.op("Where", _x(g, n, 0), _x(g, n, 1), _x(g, n, 2))


@_register(E.Lerp)
def _lerp(g, n):
    a, b, w = _x(g, n, 0), _x(g, n, 1), _x(g, n, 2)
    return g.op("Add", a, g.op("Mul", w, g.op("Sub", b, a)))


@_register(E.Atan2)
def _atan2(g, n):
    y, x = _x(g, n, 0), _x(g, n, 1)
    dt = _dtype(n)
    base = g.op("Atan", g.op("Div", y, x))
    zero = g.scalar(0, dt)
    # atan(y/x) is off by pi on the left half plane: +pi above the axis, -pi below
    pi = g.op("Where", g.op("Less", y, zero), g.scalar(-math.pi, dt), g.scalar(math.pi, dt))
    shift = g.op("Where", g.op("Less", x, zero), pi, zero)
    return g.op("Add", base, shift)


@_register(E.Hypot)
def _hypot(g, n):
    a, b = _x(g, n, 0), _x(g, n, 1)
    return g.op("Sqrt", g.op("Add", g.op("Mul", a, a), g.op("Mul", b, b)))


@_register(E.LogAddExp)
def _logaddexp(g, n):
    a, b = _x(g, n, 0), _x(g, n, 1)
    m = g.op("Max", a, b)
    s = g.op("Add", g.op("Exp", g.op("Sub", a, m)), g.op("Exp", g.op("Sub", b, m)))
    return g.op("Add", m, g.op("Log", s))


@_register(E.PowScalar)
def _pow_scalar(g, n):
    x = _x(g, n)
    e = n.kwargs.get("exponent", 2.0)
    if e == 2:
        return g.op("Mul", x, x)
    if e == 0.5:
        return g.op("Sqrt", x)
    if e == 1:
        return g.op("Identity", x)
    return g.op("Pow", x, g.scalar(e, _dtype(n)))


@_register(E.Clamp)
def _clamp(g, n):
    x = _x(g, n)
    dt = _dtype(n)
    lo, hi = n.kwargs.get("lo"), n.kwargs.get("hi")
    return g.op(
        "Clip",
        x,
        None if lo is None else g.scalar(lo, dt),
        None if hi is None else g.scalar(hi, dt),
    )


@_register(E.ClampTensor)
def _clamp_tensor(g, n):
    y = _x(g, n)
    if n.args[1] is not None:
        y = g.op("Max", y, _x(g, n, 1))
    if n.args[2] is not None:
        y = g.op("Min", y, _x(g, n, 2))
    return y


def _unary(op_type):
    def convert(g, n):
        return g.op(op_type, _x(g, n))

    return convert


for _cls, _op in (
    (E.Neg, "Neg"),
    (E.Abs, "Abs"),
    (E.Sign, "Sign"),
    (E.Exp, "Exp"),
    (E.Log, "Log"),
    (E.Sqrt, "Sqrt"),
    (E.Reciprocal, "Reciprocal"),
    (E.Sin, "Sin"),
    (E.Cos, "Cos"),
    (E.Tan, "Tan"),
    (E.Asin, "Asin"),
    (E.Acos, "Acos"),
    (E.Atan, "Atan"),
    (E.Sinh, "Sinh"),
    (E.Cosh, "Cosh"),
    (E.Tanh, "Tanh"),
    (E.Asinh, "Asinh"),
    (E.Acosh, "Acosh"),
    (E.Atanh, "Atanh"),
    (E.Sigmoid, "Sigmoid"),
    (E.Relu, "Relu"),
    (E.Erf, "Erf"),
    (E.Floor, "Floor"),
    (E.Ceil, "Ceil"),
    (E.Round, "Round"),
    (S.Clone, "Identity"),
    (S.ToDevice, "Identity"),
):
    CONVERTERS[_cls] = _unary(_op)


def _with_const(first, op_type, value_fn):
    def convert(g, n):
        x = g.op(first, _x(g, n)) if first else _x(g, n)
        return g.op(op_type, x, g.scalar(value_fn(), _dtype(n)))

    return convert


CONVERTERS[E.Exp2] = lambda g, n: g.op("Pow", g.scalar(2.0, _dtype(n)), _x(g, n))
CONVERTERS[E.Expm1] = _with_const("Exp", "Sub", lambda: 1.0)
CONVERTERS[E.Log2] = _with_const("Log", "Div", lambda: math.log(2))
CONVERTERS[E.Log10] = _with_const("Log", "Div", lambda: math.log(10))
CONVERTERS[E.Erfc] = lambda g, n: g.op("Sub", g.scalar(1.0, _dtype(n)), g.op("Erf", _x(g, n)))
CONVERTERS[E.Log1p] = lambda g, n: g.op("Log", g.op("Add", _x(g, n), g.scalar(1.0, _dtype(n))))
CONVERTERS[E.Rsqrt] = lambda g, n: g.op("Reciprocal", g.op("Sqrt", _x(g, n)))
CONVERTERS[E.Square] = lambda g, n: g.op("Mul", _x(g, n), _x(g, n))


def _trunc(g, x):
    return g.op("Mul", g.op("Sign", x), g.op("Floor", g.op("Abs", x)))


CONVERTERS[E.Trunc] = lambda g, n: _trunc(g, _x(g, n))
CONVERTERS[E.Frac] = lambda g, n: g.op("Sub", _x(g, n), _trunc(g, _x(g, n)))


_LOGIC = {
    np.equal: "Equal",
    np.less: "Less",
    np.less_equal: "LessOrEqual",
    np.greater: "Greater",
    np.greater_equal: "GreaterOrEqual",
    np.logical_and: "And",
    np.logical_or: "Or",
    np.logical_xor: "Xor",
}
_BOOL_ONLY = {np.bitwise_and: "And", np.bitwise_or: "Or", np.bitwise_xor: "Xor"}


@_register(E.Logic)
def _logic(g, n):
    ufunc = n.kwargs.get("ufunc")
    a_t, b_t = n.args
    logical = ufunc in (np.logical_and, np.logical_or, np.logical_xor, np.logical_not)

    def operand(t):
        x = g.v(t)
        return g.cast(x, np.bool_) if logical and t._data.dtype != np.bool_ else x

    if ufunc is np.not_equal:
        return g.op("Not", g.op("Equal", g.v(a_t), g.v(b_t)))
    if ufunc is np.logical_not or (ufunc is np.invert and a_t._data.dtype == np.bool_):
        return g.op("Not", operand(a_t) if logical else g.v(a_t))
    op_type = _LOGIC.get(ufunc)
    if op_type is None and a_t._data.dtype == np.bool_:
        op_type = _BOOL_ONLY.get(ufunc)
    if op_type is None or b_t is None:
        _unsupported(g, n, f"the elementwise {getattr(ufunc, '__name__', ufunc)} of these dtypes")
    return g.op(op_type, operand(a_t), operand(b_t))


# -- activations -------------------------------------------------------------------


@_register(N.Threshold)
def _threshold(g, n):
    x, dt = _x(g, n), _dtype(n)
    above = g.op("Greater", x, g.scalar(n.kwargs.get("threshold", 0.0), dt))
    return g.op("Where", above, x, g.scalar(n.kwargs.get("value", 0.0), dt))


@_register(N.Hardtanh)
def _hardtanh(g, n):
    dt = _dtype(n)
    lo, hi = n.kwargs.get("min_val", -1.0), n.kwargs.get("max_val", 1.0)
    return g.op("Clip", _x(g, n), g.scalar(lo, dt), g.scalar(hi, dt))


@_register(N.LeakyRelu)
def _leaky_relu(g, n):
    return g.op("LeakyRelu", _x(g, n), alpha=float(n.kwargs.get("negative_slope", 0.01)))


@_register(N.Prelu)
def _prelu(g, n):
    x, w = _x(g, n, 0), _x(g, n, 1)
    xt, wt = n.args
    if wt.ndim == 1 and xt.ndim > 2 and wt.shape[0] > 1:
        # one slope per channel (dim 1): shape it to broadcast against (N, C, *)
        w = g.op("Reshape", w, g.ints([wt.shape[0]] + [1] * (xt.ndim - 2)))
    return g.op("PRelu", x, w)


@_register(N.Elu)
def _elu(g, n):
    x, dt = _x(g, n), _dtype(n)
    alpha = float(n.kwargs.get("alpha", 1.0))
    scale = float(n.kwargs.get("scale", 1.0))
    input_scale = float(n.kwargs.get("input_scale", 1.0))
    if scale == 1.0 and input_scale == 1.0:
        return g.op("Elu", x, alpha=alpha)
    if input_scale == 1.0:
        return g.op("Selu", x, alpha=alpha, gamma=scale)
    neg = g.op("Exp", g.op("Mul", x, g.scalar(input_scale, dt)))
    neg = g.op("Mul", g.op("Sub", neg, g.scalar(1.0, dt)), g.scalar(alpha, dt))
    y = g.op("Where", g.op("Greater", x, g.scalar(0.0, dt)), x, neg)
    return g.op("Mul", y, g.scalar(scale, dt)) if scale != 1.0 else y


@_register(N.Gelu)
def _gelu(g, n):
    x, dt = _x(g, n), _dtype(n)
    approximate = n.kwargs.get("approximate", "none")
    if g.opset >= 20:
        return g.op("Gelu", x, approximate=approximate)
    half = g.op("Mul", x, g.scalar(0.5, dt))
    if approximate == "tanh":
        cube = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Add", x, g.op("Mul", cube, g.scalar(0.044715, dt)))
        t = g.op("Tanh", g.op("Mul", inner, g.scalar(math.sqrt(2 / math.pi), dt)))
    else:
        t = g.op("Erf", g.op("Mul", x, g.scalar(1 / math.sqrt(2), dt)))
    return g.op("Mul", half, g.op("Add", t, g.scalar(1.0, dt)))


@_register(N.Silu)
def _silu(g, n):
    x = _x(g, n)
    return g.op("Mul", x, g.op("Sigmoid", x))


@_register(N.Mish)
def _mish(g, n):
    x = _x(g, n)
    return g.op("Mul", x, g.op("Tanh", g.op("Softplus", x)))


@_register(N.Softplus)
def _softplus(g, n):
    x, dt = _x(g, n), _dtype(n)
    beta = float(n.kwargs.get("beta", 1.0))
    threshold = float(n.kwargs.get("threshold", 20.0))
    bx = g.op("Mul", x, g.scalar(beta, dt)) if beta != 1.0 else x
    sp = g.op("Softplus", bx)
    if beta != 1.0:
        sp = g.op("Div", sp, g.scalar(beta, dt))
    # PyTorch switches to the identity above the threshold
    return g.op("Where", g.op("Greater", bx, g.scalar(threshold, dt)), x, sp)


CONVERTERS[N.Hardsigmoid] = lambda g, n: g.op("HardSigmoid", _x(g, n), alpha=1 / 6, beta=0.5)
CONVERTERS[N.Hardswish] = lambda g, n: g.op("HardSwish", _x(g, n))
CONVERTERS[N.LogSigmoid] = lambda g, n: g.op("Neg", g.op("Softplus", g.op("Neg", _x(g, n))))
CONVERTERS[N.Softshrink] = lambda g, n: g.op(
    "Shrink",
    _x(g, n),
    lambd=float(n.kwargs.get("lambd", 0.5)),
    bias=float(n.kwargs.get("lambd", 0.5)),
)
CONVERTERS[N.Hardshrink] = lambda g, n: g.op(
    "Shrink", _x(g, n), lambd=float(n.kwargs.get("lambd", 0.5)), bias=0.0
)


# -- linear algebra ------------------------------------------------------------------


@_register(N.Linear)
def _linear(g, n):
    xt, wt, bt = n.args
    x, w = g.v(xt), g.v(wt)
    b = None if bt is None else g.v(bt)
    if xt.ndim == 2:
        return g.op("Gemm", x, w, b, transB=1)
    y = g.op("MatMul", x, g.op("Transpose", w, perm=[1, 0]))
    return y if b is None else g.op("Add", y, b)


CONVERTERS[L.Matmul] = _binary("MatMul")


@_register(L.Addmm)
def _addmm(g, n):
    ct, at, bt = n.args
    alpha, beta = n.kwargs.get("alpha", 1), n.kwargs.get("beta", 1)
    return g.op("Gemm", g.v(at), g.v(bt), g.v(ct), alpha=float(alpha), beta=float(beta))


@_register(L.Einsum)
def _einsum(g, n):
    eq = ",".join(n.kwargs["ins"]) + "->" + n.kwargs["out"]
    return g.op("Einsum", *[g.v(t) for t in n.args], equation=eq)


# -- shapes -----------------------------------------------------------------------------


@_register(S.View)
def _view(g, n):
    ia, ib = _in_shapes(n)
    sa, sb = _out_shapes(n)
    return reshape_to(g, _x(g, n), ia, ib, sa, sb)


def _perm_of(n, ndim):
    if issubclass(n.target, S.Permute):
        return [d % ndim for d in n.kwargs["dims"]]
    d0 = n.kwargs.get("d0", 0) % ndim
    d1 = n.kwargs.get("d1", 1) % ndim
    perm = list(range(ndim))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return perm


@_register(S.Transpose, S.Permute)
def _transpose(g, n):
    return g.op("Transpose", _x(g, n), perm=_perm_of(n, n.args[0].ndim))


@_register(S.Expand)
def _expand(g, n):
    ia, ib = _in_shapes(n)
    sa, sb = _out_shapes(n)
    k = len(sa) - len(ia)
    ta, tb = list(sa), list(sb)
    for i in range(len(ia)):
        if ia[i] == sa[k + i] and ib[i] == sb[k + i]:
            ta[k + i] = tb[k + i] = 1  # Expand broadcasts: 1 keeps the input's own size
    return g.op("Expand", _x(g, n), g.shape_vec(ta, tb))


@_register(S.Cat)
def _cat(g, n):
    dim = n.kwargs.get("dim", 0) % n.outputs[0].ndim
    # PyTorch skips empty 1-D tensors in cat (legacy behaviour); Concat would not
    xs = [g.v(t) for t in n.args if not (t.ndim == 1 and t.shape[0] == 0)]
    return g.op("Concat", *xs, axis=dim)


@_register(S.Stack)
def _stack(g, n):
    dim = n.kwargs.get("dim", 0) % n.outputs[0].ndim
    return g.op("Concat", *[g.unsqueeze(g.v(t), [dim]) for t in n.args], axis=dim)


@_register(S.SplitWithSizes)
def _split(g, n):
    dim = n.kwargs.get("dim", 0) % n.args[0].ndim
    sizes = list(n.kwargs["sizes"])
    _same_across_traces(g, n, "split sizes", sizes, list(_attr_b(n, "sizes")))
    return g.op("Split", _x(g, n), g.ints(sizes), outputs=len(sizes), axis=dim)


@_register(S.Unbind)
def _unbind(g, n):
    dim = n.kwargs.get("dim", 0) % n.args[0].ndim
    k = len(n.outputs)
    parts = g.op("Split", _x(g, n), g.ints([1] * k), outputs=k, axis=dim)
    parts = parts if isinstance(parts, list) else [parts]
    return [g.squeeze(p, [dim]) for p in parts]


@_register(S.Flip)
def _flip(g, n):
    dims = [d % n.args[0].ndim for d in n.kwargs["dims"]]
    k = len(dims)
    return g.op(
        "Slice",
        _x(g, n),
        g.ints([-1] * k),
        g.ints([INT64_MIN] * k),
        g.ints(dims),
        g.ints([-1] * k),
    )


@_register(S.Repeat)
def _repeat(g, n):
    reps = list(n.kwargs["reps"])
    _same_across_traces(g, n, "repeat counts", reps, list(_attr_b(n, "reps")))
    x = _x(g, n)
    extra = len(reps) - n.args[0].ndim
    if extra > 0:
        x = g.unsqueeze(x, list(range(extra)))
    return g.op("Tile", x, g.ints(reps))


@_register(S.ToCopy)
def _to_copy(g, n):
    return g.cast(_x(g, n), _dtype(n))


@_register(S.Tril)
def _tril(g, n):
    upper = int(bool(n.kwargs.get("upper", False)))
    k = g.const(np.asarray(n.kwargs.get("k", 0), dtype=np.int64))
    return g.op("Trilu", _x(g, n), k, upper=upper)


@_register(S.Narrow)
def _narrow(g, n):
    d = n.kwargs["dim"] % n.args[0].ndim
    start, length = n.kwargs["start"], n.kwargs["length"]
    if hasattr(start, "item"):
        start = int(start.item())
    ia, ib = _in_shapes(n)
    sa = _slice_bound(g, n, start, _attr_b(n, "start"), ia[d], ib[d])
    _same_across_traces(g, n, "length", length, _attr_b(n, "length"))
    return g.op("Slice", _x(g, n), g.ints([sa]), g.ints([start + length]), g.ints([d]))


def _slice_bound(g, n, a, b, size_a, size_b):
    """A bound that is ``a``/``b`` for sizes ``size_a``/``size_b``: constant or from the end."""
    if hasattr(b, "item"):
        b = int(b.item())
    if a == b:
        return a
    if a - size_a == b - size_b:
        return a - size_a
    _unsupported(g, n, f"an index that is {a} for size {size_a} and {b} for size {size_b}")


# -- indexing -------------------------------------------------------------------------------


def _expand_ellipsis(idx, ndim):
    idx = idx if isinstance(idx, tuple) else (idx,)
    used = sum(1 for i in idx if i is not None and i is not Ellipsis)
    out = []
    for i in idx:
        if i is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
        else:
            out.append(i)
    if Ellipsis not in idx:
        out.extend([slice(None)] * (ndim - used))
    return out


@_register(I.Slice)
def _basic_index(g, n):
    xt = n.args[0]
    ia, ib = _in_shapes(n)
    idx_a = _expand_ellipsis(n.kwargs["idx"], xt.ndim)
    idx_b = _expand_ellipsis(_attr_b(n, "idx"), xt.ndim)
    starts, ends, axes, steps = [], [], [], []
    picks = []  # (axis, index)
    inserts = []  # output positions of None
    axis = out_pos = 0
    for ea, eb in zip(idx_a, idx_b):
        if ea is None:
            inserts.append(out_pos)
            out_pos += 1
            continue
        na, nb = ia[axis], ib[axis]
        if isinstance(ea, slice):
            s, e, st = ea.indices(na)
            s2, e2, st2 = eb.indices(nb)
            _same_across_traces(g, n, "slice step", st, st2)
            if (s, e, st) != (0, na, 1) or (s2, e2) != (0, nb):
                if st > 0:
                    start = _slice_bound(g, n, s, s2, na, nb)
                    end = INT64_MAX if (e, e2) == (na, nb) else _slice_bound(g, n, e, e2, na, nb)
                else:
                    start = -1 if (s, s2) == (na - 1, nb - 1) else _slice_bound(g, n, s, s2, na, nb)
                    end = INT64_MIN if (e, e2) == (-1, -1) else _slice_bound(g, n, e, e2, na, nb)
                starts.append(start)
                ends.append(end)
                axes.append(axis)
                steps.append(st)
            out_pos += 1
        else:
            ia_i = int(ea) + na if int(ea) < 0 else int(ea)
            ib_i = int(eb) + nb if int(eb) < 0 else int(eb)
            picks.append((axis, _slice_bound(g, n, ia_i, ib_i, na, nb)))
        axis += 1
    y = _x(g, n)
    if axes:
        y = g.op("Slice", y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps))
    for ax, i in sorted(picks, reverse=True):
        y = g.op("Gather", y, g.const(np.asarray(i, dtype=np.int64)), axis=ax)
    if inserts:
        y = g.unsqueeze(y, inserts)
    return y if (axes or picks or inserts) else g.op("Identity", y)


def _index_array(g, n, arr, key, pos=None):
    """The ONNX value of an index array attribute (``kwargs[key]``, or its item ``pos``):
    a traced tensor's data, or a constant."""
    src = g.tensor_of_array(arr)
    if src is not None:
        return g.v(src)
    arr_b = _attr_b(n, key)
    if pos is not None:
        arr_b = arr_b[pos] if isinstance(arr_b, tuple) and len(arr_b) > pos else None
    if arr_b is not None and arr_b.shape != arr.shape and arr.size and arr_b.size:
        flat_a, flat_b = arr.reshape(-1), arr_b.reshape(-1)
        if (flat_a == flat_a[0]).all() and (flat_b == flat_a[0]).all():
            # a constant fill whose shape follows the dynamic axes (torch.zeros(x.size(0)))
            value = onnx_numpy_helper.from_array(flat_a[:1].astype(np.int64))
            return g.op("ConstantOfShape", g.shape_vec(arr.shape, arr_b.shape), value=value)
    if arr_b is not None and (arr_b.shape != arr.shape or not np.array_equal(arr_b, arr)):
        _unsupported(
            g,
            n,
            "its index tensor was computed from the input by an operation the "
            "exporter cannot trace (e.g. a comparison or argmax on tensors)",
        )
    return g.const(np.asarray(arr).astype(np.int64) if arr.dtype.kind in "iu" else arr)


@_register(I.Index)
def _adv_index(g, n):
    idx = n.kwargs["idx"]
    idx = idx if isinstance(idx, tuple) else (idx,)
    arrays = [(k, i) for k, i in enumerate(idx) if isinstance(i, np.ndarray)]
    rest_full = all(
        isinstance(i, slice) and i == slice(None)
        for k, i in enumerate(idx)
        if not isinstance(i, np.ndarray)
    )
    if len(arrays) != 1 or not rest_full or arrays[0][1].dtype.kind not in "iu":
        _unsupported(g, n, "only indexing with one integer tensor along one dim is exported")
    k, arr = arrays[0]
    # negative indices count from the end in PyTorch, and in Gather too
    ind = _index_array(g, n, arr, "idx", pos=k)
    return g.op("Gather", _x(g, n), ind, axis=k)


@_register(I.IndexSelect)
def _index_select(g, n):
    dim = n.kwargs.get("dim", 0) % max(n.args[0].ndim, 1)
    idx = n.kwargs["idx"]
    ind = _index_array(g, n, idx, "idx")
    return g.op("Gather", _x(g, n), ind, axis=dim)


@_register(I.Gather)
def _gather(g, n):
    dim = n.kwargs.get("dim", 0) % max(n.args[0].ndim, 1)
    ind = _index_array(g, n, n.kwargs["idx"], "idx")
    return g.op("GatherElements", _x(g, n), ind, axis=dim)


@_register(I.MaskedFill)
def _masked_fill(g, n):
    mask = _index_array(g, n, n.kwargs["mask"], "mask")
    if n.kwargs["mask"].dtype != np.bool_:
        mask = g.cast(mask, np.bool_)
    return g.op("Where", mask, _x(g, n, 1), _x(g, n, 0))


@_register(N.Embedding)
def _embedding_fn(g, n):
    ind = _index_array(g, n, n.kwargs["indices"], "indices")
    return g.op("Gather", _x(g, n), ind, axis=0)


# -- reductions --------------------------------------------------------------------------------


def _dims(n, key="dims"):
    nd = n.args[0].ndim
    dims = n.kwargs.get(key, ())
    if dims is None or dims == ():
        return list(range(nd))
    if isinstance(dims, int):
        dims = (dims,)
    return [d % max(nd, 1) for d in dims]


def _reducer(op_type):
    def convert(g, n):
        x = _x(g, n)
        if n.args[0].ndim == 0:
            return g.op("Identity", x)
        y = g.reduce(op_type, x, _dims(n), bool(n.kwargs.get("keepdim", False)))
        if n.outputs[0]._data.dtype != n.args[0]._data.dtype:
            y = g.cast(y, _dtype(n))
        return y

    return convert


CONVERTERS[R.Sum] = _reducer("ReduceSum")
CONVERTERS[R.Mean] = _reducer("ReduceMean")
CONVERTERS[R.LogSumExp] = _reducer("ReduceLogSumExp")


@_register(R.AmaxAmin)
def _amax(g, n):
    return _reducer("ReduceMax" if n.kwargs.get("is_max", True) else "ReduceMin")(g, n)


@_register(R.Prod)
def _prod(g, n):
    x = _x(g, n)
    dim = n.kwargs.get("dim")
    dims = list(range(n.args[0].ndim)) if dim is None else [dim % n.args[0].ndim]
    return g.reduce("ReduceProd", x, dims, bool(n.kwargs.get("keepdim", False)))


@_register(R.MaxDim)
def _max_dim(g, n):
    x = _x(g, n)
    dim = n.kwargs.get("dim", 0) % max(n.args[0].ndim, 1)
    keep = int(bool(n.kwargs.get("keepdim", False)))
    is_max = n.kwargs.get("is_max", True)
    values = g.reduce("ReduceMax" if is_max else "ReduceMin", x, [dim], bool(keep))
    indices = g.op("ArgMax" if is_max else "ArgMin", x, axis=dim, keepdims=keep)
    return [values, indices]


@_register(R.Var)
def _var(g, n):
    x, dt = _x(g, n), _dtype(n)
    dims = _dims(n)
    keep = bool(n.kwargs.get("keepdim", False))
    count = math.prod(n.args[0].shape[d] for d in dims)
    ca = math.prod(n.b.args[0].shape[d] for d in dims) if n.b is not None else count
    mean = g.reduce("ReduceMean", x, dims, True)
    d = g.op("Sub", x, mean)
    v = g.reduce("ReduceMean", g.op("Mul", d, d), dims, keep)
    corr = n.kwargs.get("correction", 1)
    if corr:
        if count != ca:
            n_ = g.cast(g.op("Gather", g.shape_of(x), g.ints(dims), axis=0), dt)
            n_ = g.reduce("ReduceProd", n_, [0], False)
            v = g.op("Div", g.op("Mul", v, n_), g.op("Sub", n_, g.scalar(corr, dt)))
        else:
            v = g.op(
                "Mul", v, g.scalar(count / max(count - corr, 0) if count > corr else math.inf, dt)
            )
    return g.op("Sqrt", v) if n.kwargs.get("take_sqrt") else v


@_register(R.VectorNorm)
def _vector_norm(g, n):
    x = _x(g, n)
    ord_ = n.kwargs.get("ord", 2.0)
    dims = _dims(n)
    keep = bool(n.kwargs.get("keepdim", False))
    if ord_ == 2:
        return g.reduce("ReduceL2", x, dims, keep)
    if ord_ == 1:
        return g.reduce("ReduceL1", x, dims, keep)
    if ord_ == math.inf:
        return g.reduce("ReduceMax", g.op("Abs", x), dims, keep)
    if ord_ == -math.inf:
        return g.reduce("ReduceMin", g.op("Abs", x), dims, keep)
    _unsupported(g, n, f"vector norms of order {ord_} are not exported (1, 2 and inf are)")


@_register(R.Softmax, R.LogSoftmax)
def _softmax(g, n):
    op_type = "LogSoftmax" if issubclass(n.target, R.LogSoftmax) else "Softmax"
    return g.op(op_type, _x(g, n), axis=n.kwargs.get("dim", -1))


@_register(R.Cumsum)
def _cumsum(g, n):
    dim = n.kwargs.get("dim", 0)
    return g.op("CumSum", _x(g, n), g.const(np.asarray(dim, dtype=np.int64)))


# -- normalization and padding ------------------------------------------------------------------


@_register(N.Normalize)
def _normalize(g, n):
    xt, wt, bt = n.args
    x, dt = g.v(xt), _dtype(n)
    axes = [a % xt.ndim for a in n.kwargs.get("axes", ())]
    eps = float(n.kwargs.get("eps", 1e-5))
    mean = g.reduce("ReduceMean", x, axes, True)
    d = g.op("Sub", x, mean)
    var = g.reduce("ReduceMean", g.op("Mul", d, d), axes, True)
    y = g.op("Div", d, g.op("Sqrt", g.op("Add", var, g.scalar(eps, dt))))
    if wt is not None:
        y = g.op("Mul", y, g.v(wt))
    if bt is not None:
        y = g.op("Add", y, g.v(bt))
    if tuple(n.outputs[1].shape) != tuple(
        n.args[0].shape[i] if i not in axes else 1 for i in range(xt.ndim)
    ):
        return [y, None, None]
    return [y, mean, var]


@_register(N.GroupNormalize)
def _group_normalize(g, n):
    xt, wt, bt = n.args
    x, dt = g.v(xt), _dtype(n)
    eps = float(n.kwargs.get("eps", 1e-5))
    xg = g.op("Reshape", x, g.ints([0, int(n.kwargs.get("groups", 1)), -1]))
    mean = g.reduce("ReduceMean", xg, [2], True)
    d = g.op("Sub", xg, mean)
    var = g.reduce("ReduceMean", g.op("Mul", d, d), [2], True)
    y = g.op("Div", d, g.op("Sqrt", g.op("Add", var, g.scalar(eps, dt))))
    y = g.op("Reshape", y, g.op("Shape", x))
    per_channel = g.ints([xt.shape[1]] + [1] * (xt.ndim - 2))
    if wt is not None:
        y = g.op("Mul", y, g.op("Reshape", g.v(wt), per_channel))
    if bt is not None:
        y = g.op("Add", y, g.op("Reshape", g.v(bt), per_channel))
    return [y, None, None]


@_register(N.ConstantPad)
def _constant_pad(g, n):
    pairs = n.kwargs["pads"]
    _same_across_traces(g, n, "padding", pairs, _attr_b(n, "pads"))
    pads = [a for a, _ in pairs] + [b for _, b in pairs]
    value = g.scalar(n.kwargs.get("value", 0.0), _dtype(n))
    return g.op("Pad", _x(g, n), g.ints(pads), value, mode="constant")


@_register(N.IndexPad)
def _index_pad(g, n):
    # reflect/replicate/circular padding: a gather along each padded dim
    index_b = dict(_attr_b(n, "index"))
    y = _x(g, n)
    for dim, idx in n.kwargs["index"]:
        other = index_b.get(dim)
        if other is None or not np.array_equal(other, idx):
            _unsupported(g, n, "padding along a dynamic axis in reflect/replicate/circular mode")
        y = g.op("Gather", y, g.const(np.asarray(idx, dtype=np.int64)), axis=dim)
    return y


# -- convolution and pooling --------------------------------------------------------------------


def _conv_attrs(kw):
    geo, nd = kw["geom"], kw.get("nd", 2)
    if nd == 2:
        kernel, strides = [geo.kh, geo.kw], [geo.sh, geo.sw]
        pads, dil = [geo.pt, geo.pl, geo.pb, geo.pr], [geo.dh, geo.dw]
        sizes_in, sizes_out = [geo.oh, geo.ow], [geo.h, geo.w]
    else:
        kernel, strides, pads, dil = [geo.kw], [geo.sw], [geo.pl, geo.pr], [geo.dw]
        sizes_in, sizes_out = [geo.ow], [geo.w]
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads, dilations=dil, group=geo.groups)
    if kw.get("transposed", False):
        # the transposed convolution's input side is the direct one's output (oh, ow)
        attrs["output_padding"] = [
            o - (s * (i - 1) + d * (k - 1) + 1 - pads[j] - pads[j + nd])
            for j, (i, o, s, d, k) in enumerate(zip(sizes_in, sizes_out, strides, dil, kernel))
        ]
    return attrs


def _same_geometry(g, n, attrs_of, what):
    """``attrs_of(node)`` for this node, checked to be the same in the second trace."""
    attrs = attrs_of(n)
    if n.b is not None and attrs_of(n.b) != attrs:
        _unsupported(g, n, f"its {what} changes with the dynamic axes")
    return attrs


@_register(_conv.Convolution)
def _convolution(g, n):
    if n.target is not _conv.Convolution:
        _unsupported(g, n, "convolution gradients are not exported")
    if n.kwargs.get("nd", 2) not in (1, 2):
        _unsupported(g, n, f"{n.kwargs.get('nd')}-d convolutions are not exported")
    xt, wt, bt = n.args
    attrs = _same_geometry(g, n, lambda node: _conv_attrs(node.kwargs), "output padding")
    ins = [g.v(xt), g.v(wt), None if bt is None else g.v(bt)]
    op_type = "ConvTranspose" if n.kwargs.get("transposed", False) else "Conv"
    return g.op(op_type, *ins, **attrs)


def _pool_attrs(node):
    geo = node.kwargs["geom"]
    return dict(kernel_shape=list(geo.k), strides=list(geo.s), pads=list(geo.p) + list(geo.hi))


def _pool_out(n, k, s, p, d, ceil):
    """PyTorch's pooled size (a last window starting in the right padding is dropped)."""
    span = n + 2 * p - d * (k - 1) - 1
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def _symmetric_pool_attrs(n):
    """Pads ``p`` on both sides and the ceil mode that give PyTorch's pooled sizes in both
    traces (the explicit end padding varies with a dynamic image size), or ``None``."""
    for ceil in (0, 1):
        if all(
            o == _pool_out(size, k, s, p, d, ceil)
            for node in (n, n.b)
            for size, k, s, p, d, o in zip(*_win(node))
        ):
            geo = n.kwargs["geom"]
            return dict(
                kernel_shape=list(geo.k), strides=list(geo.s), pads=list(geo.p) * 2, ceil_mode=ceil
            )
    return None


def _win(node):
    geo = node.kwargs["geom"]
    return geo.size, geo.k, geo.s, geo.p, geo.d, geo.out


@_register(P._MaxPoolNd)
def _max_pool(g, n):
    if n.kwargs.get("with_indices"):
        _unsupported(g, n, "max pooling with return_indices=True is not exported")
    attrs = _pool_attrs(n)
    if n.b is not None and _pool_attrs(n.b) != attrs:
        attrs = _symmetric_pool_attrs(n)
        if attrs is None:
            _unsupported(g, n, "its windows change with the dynamic axes")
    return g.op("MaxPool", _x(g, n), dilations=list(n.kwargs["geom"].d), **attrs)


def _avg_attrs(node):
    div = np.asarray(node.kwargs.get("divisor"))
    return _pool_attrs(node), div.shape, div.tobytes()


@_register(P._AvgPoolNd)
def _avg_pool(g, n):
    geo = n.kwargs["geom"]
    _same_geometry(g, n, _avg_attrs, "pooling window (adaptive pooling, or ceil_mode or padding)")
    x = _x(g, n)
    if any(geo.p) or any(geo.hi):
        nd = len(geo.k)
        lead = n.args[0].ndim - nd
        pads = [0] * lead + list(geo.p) + [0] * lead + list(geo.hi)
        x = g.op("Pad", x, g.ints(pads), g.scalar(0, n.args[0]._data.dtype), mode="constant")
    y = g.op("AveragePool", x, kernel_shape=list(geo.k), strides=list(geo.s))
    k = math.prod(geo.k)
    div = np.asarray(n.kwargs.get("divisor"))
    if div.ndim == 0 and float(div) == k:
        return y
    return g.op("Mul", y, g.const((k / div.astype(np.float64)).astype(_dtype(n))))


def _adaptive_kernel(node):
    out = tuple(node.kwargs["out_size"])
    return [s // o for s, o in zip(node.args[0].shape[-len(out) :], out)]


@_register(P._AdaptiveMaxPoolNd)
def _adaptive_max(g, n):
    out = tuple(n.kwargs["out_size"])
    size = tuple(n.args[0].shape[-len(out) :])
    if all(o == 1 for o in out):
        return [g.op("GlobalMaxPool", _x(g, n)), None]
    if all(s % o == 0 for s, o in zip(size, out)):
        k = _same_geometry(g, n, _adaptive_kernel, "adaptive pooling window")
        return [g.op("MaxPool", _x(g, n), kernel_shape=k, strides=k), None]
    _unsupported(
        g,
        n,
        f"adaptive max pooling to {list(out)} from {list(size)}: ONNX has no adaptive "
        "pooling; the input size must be a multiple of the output size",
    )


@_register(P._AdaptiveAvgPoolNd)
def _adaptive_avg(g, n):
    out = tuple(n.kwargs["out_size"])
    size = tuple(n.args[0].shape[-len(out) :])
    _unsupported(
        g,
        n,
        f"adaptive average pooling to {list(out)} from {list(size)}: ONNX has no adaptive "
        "pooling; the input size must be a multiple of the output size",
    )
