"""Helpers shared by the op families: argument checks and conversions."""

from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype as D
from ..autograd import function as _fn

Tensor = None  # set by tapegrad._tensor


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def cj(xp, a):
    """``a`` as a factor of a gradient: conjugated when complex (PyTorch's convention that
    the gradient of a real loss is dL/d(re) + i dL/d(im), so ``y = a * x`` sends
    ``conj(a) * g`` to ``x``)."""
    if type(a) is np.ndarray:  # is_complex's first case, inlined (every product's backward)
        return xp.conj(a) if a.dtype.kind == "c" else a
    return xp.conj(a) if a is not None and is_complex(xp, a) else a


def is_complex(xp, a) -> bool:
    """``xp.iscomplexobj(a)``, without its Python-level cost for a NumPy array (this runs
    in every backward formula that may see complex values)."""
    if type(a) is np.ndarray:
        return a.dtype.kind == "c"
    return xp.iscomplexobj(a)


def as_tensor_arg(x, dtype: D.dtype | None = None):
    """A Tensor from a tensor, scalar or sequence argument (no copy for tensors)."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype is dtype else x.to(dtype)
    if dtype is None:
        dtype = D.scalar_dtype(x) if isinstance(x, numbers.Number) else None
    from .creation import tensor

    return tensor(x, dtype=dtype)


def scalar(v, dt):
    """``v`` as a 0-d array of dtype ``dt`` (a NumPy dtype, or a tensor's under create_graph)."""
    return np.asarray(v, dtype=getattr(dt, "np", dt))


def scalar_to_tensor(x, dt: D.dtype):
    """A 0-dim tensor holding a Python scalar, in dtype ``dt``."""
    try:
        return Tensor._make(np.asarray(x, dtype=dt.np))
    except OverflowError:
        raise overflow_error(dt) from None


def const_operand(array):
    """A tensor for an operand an op makes itself (from a Python scalar) and passes only to
    its primitive: it shares a version counter that autograd does not track, since no user
    can reach it to change it in place."""
    t = Tensor._make(array)
    t._version_counter = _fn._CONST_VERSION
    return t


def overflow_error(dt: D.dtype) -> RuntimeError:
    """PyTorch's error for a Python number that does not fit an integer dtype."""
    name = str(dt.np) + "_t" if dt.np.kind in "iu" else str(dt.np)
    return RuntimeError(f"value cannot be converted to type {name} without overflow")


def with_out(fn, factory: bool = False):
    """Give ``fn`` PyTorch's ``out=`` keyword: the result is copied into ``out``.

    A factory (zeros, rand...) without a ``dtype`` makes ``out``'s dtype, as in PyTorch.
    """
    import functools

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if factory and out is not None:
            dt = kwargs.get("dtype")
            if dt is None:
                kwargs["dtype"] = out.dtype
            elif D.to_dtype(dt) is not out.dtype:
                from .elementwise import _long_name

                raise RuntimeError(
                    f"dtype {_long_name(D.to_dtype(dt))} does not match dtype of out parameter "
                    f"({_long_name(out.dtype)})"
                )
        res = fn(*args, **kwargs)
        if out is None:
            return res
        from .shape import copy_into_out

        return copy_into_out(out, res)

    return wrapper


def canon_dim(dim: int, ndim: int) -> int:
    """A non-negative dim, or PyTorch's IndexError when it is out of range."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if dim < -n or dim >= n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return int(dim) % n if ndim > 0 else 0


def canon_dims(dim, ndim: int) -> tuple:
    """A sorted tuple of non-negative dims from an int, a sequence or None (all dims)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        d = canon_dim(dim, ndim)  # validated even on a 0-d tensor ([-1, 0] allowed)
        return () if ndim == 0 else (d,)
    dims = tuple(canon_dim(d, ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
    if ndim == 0:
        return ()
    return tuple(sorted(dims))


def float_dtype_of(t) -> D.dtype:
    """The dtype a floating-point op computes in for ``t``: its own, or the default."""
    d = t.dtype
    return d if d.is_floating_point or d.is_complex else D.get_default_dtype()


def size_args(size) -> tuple:
    """Normalise ``f(2, 3)`` / ``f((2, 3))`` / ``f([2, 3])`` / ``f(torch.Size)`` sizes."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    elif len(size) == 1 and isinstance(size[0], Tensor):
        size = tuple(int(v) for v in size[0].tolist()) if size[0].ndim else (int(size[0]),)
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(
                f"expected a sequence of integers as the size, but got an element of type "
                f"{type(s).__name__}"
            )
        out.append(int(s))
    return tuple(out)


def check_size(size) -> tuple:
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return size


def broadcast_shapes(*shapes) -> tuple:
    """The broadcast of shapes, or PyTorch's RuntimeError naming them."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(
            "shape mismatch: objects cannot be broadcast to a single shape. Mismatch is between "
            + " and ".join(str(list(s)) for s in shapes)
        ) from None


def same_dtype_error(op: str, a, b):
    return RuntimeError(f"{op}: expected both inputs to have the same dtype, but got {a} and {b}")


# NumPy dtypes of the reduced-precision floats (float16, and bfloat16 when ml_dtypes is
# there); a frozenset, as a hashed lookup is the cheapest test on the float32 hot path
_LOW_PRECISION_NP = frozenset(
    d.np for d in D.LOW_PRECISION if d is not D.bfloat16 or D._ml_dtypes is not None
)


def float32_compute(method):
    """Run a ``Function`` method on float32 copies of float16/bfloat16 arrays.

    PyTorch's CPU kernels for matrix products, convolutions and reductions accumulate
    reduced-precision inputs in float32 and round the result once; NumPy would round
    every partial sum (and has no BLAS for them). A forward's float32 results are cast
    back to the inputs' dtype; a backward's gradients are left for the engine, which
    casts each to its input's dtype.
    """
    is_forward = method.__name__ == "forward"

    def wrapper(ctx, *arrays, **attrs):
        # the ops wrapped take their first array in the op's dtype (the others match,
        # or are float32 parameters of a mixed-dtype norm)
        low = getattr(arrays[0], "dtype", None)
        if low not in _LOW_PRECISION_NP or type(arrays[0]) is not np.ndarray:
            return method(ctx, *arrays, **attrs)
        up = [
            a.astype(np.float32) if type(a) is np.ndarray and a.dtype in _LOW_PRECISION_NP else a
            for a in arrays
        ]
        out = method(ctx, *up, **attrs)
        if not is_forward:
            return out
        if isinstance(out, tuple):
            return tuple(_round_to(o, low) for o in out)
        return _round_to(out, low)

    wrapper.__name__, wrapper.__qualname__ = method.__name__, method.__qualname__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _round_to(a, low):
    if type(a) is np.ndarray and a.dtype == np.float32:
        return a.astype(low)
    return a


def in_float32(kernel):
    """A one-array kernel that runs float16/bfloat16 input in float32 and rounds once."""

    def wrapper(x):
        if x.dtype in _LOW_PRECISION_NP:
            return kernel(x.astype(np.float32)).astype(x.dtype)
        return kernel(x)

    return wrapper


def float32_grad(g):
    """A float16/bfloat16 gradient array as float32 for a backward formula's products.

    The saved arrays then promote to float32 as well, and the engine rounds each
    input's gradient to its dtype once, as PyTorch's kernels do.
    """
    if type(g) is np.ndarray and g.dtype in _LOW_PRECISION_NP:
        return g.astype(np.float32)
    return g


_BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def select(mask, a, b, xp=np):
    """``xp.where(mask, a, b)``; for NumPy float arrays of one dtype and shape bit for bit
    the same, without a branch per element.

    NumPy's ``where`` branches on every element: with a mask as random as an activation's
    ``x > 0`` it runs at ~5 ms per million float32 elements here, several times a
    multiply. Here the mask becomes all-ones / all-zeros words and the two arrays are
    blended with bitwise and/or (~2 ms). Other cases (broadcasting, mixed dtypes, a
    backward's graph namespace under ``create_graph``, CuPy) go to ``xp.where``.
    """
    if (
        xp is np
        and type(a) is np.ndarray
        and type(b) is np.ndarray
        and type(mask) is np.ndarray
        and a.dtype == b.dtype
        and a.dtype.kind == "f"
        and a.dtype.itemsize in _BITS
        and a.shape == b.shape == mask.shape
        and mask.dtype == np.bool_
        and a.flags.c_contiguous
        and b.flags.c_contiguous
        and mask.flags.c_contiguous
    ):
        bits = _BITS[a.dtype.itemsize]
        m = mask.view(np.int8).astype(bits)
        np.negative(m, out=m)  # 0 -> 0, 1 -> all bits set
        out = np.bitwise_and(a.view(bits), m)
        np.invert(m, out=m)
        np.bitwise_and(b.view(bits), m, out=m)
        np.bitwise_or(out, m, out=out)
        return out.view(a.dtype)
    return xp.where(mask, a, b)
