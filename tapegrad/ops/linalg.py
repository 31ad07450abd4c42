"""Linear algebra: the matmul family (BLAS through NumPy), einsum, and LAPACK
decompositions (``torch.linalg``), with gradients where PyTorch has them for the
matmul family, solve, inv, det, norms and eigh."""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype as D
from ..amp import autocast_mode as _ac
from ..autograd import function as _fn
from ..autograd.engine import sum_to
from ..autograd.function import Function
from . import _util as U
from .index import IndexBackward


def _mT(a, xp=np):
    return xp.swapaxes(a, -1, -2)


# Multiply-adds below which a matrix product runs whole: splitting it costs a thread
# hand-off (tens of microseconds) that a product this small does not repay (measured on
# 2 cores: a 32 x 256 x 1024 product, 8M, gained 0-15% from two threads, within noise;
# 64 x 800 x 1600 gained 30-45%).
_SPLIT_MIN_MACS = 1 << 24
# Rows (columns) of the result per thread below which OpenBLAS's kernels lose more on
# the thinner blocks than the threads gain (a 32 x 256 x 1024 product split into
# 16-row halves took 1.4x as long as the whole; into 512-column halves, 0.85x).
_MIN_ROWS_PER_THREAD = 64
_MIN_COLS_PER_THREAD = 256


def matmul_split(a, b, xp=np, out=None):
    """``a @ b`` with the work split over tapegrad's threads (``np.matmul`` semantics).

    The BLAS under NumPy runs single-threaded beside tapegrad's own threads (see
    ``tapegrad.set_num_threads``), so large products are parallel here instead:
    ``(..., m, k) @ (k, n)`` by rows of ``a`` (its leading dims flattened) or, when
    there are few rows, by columns of ``b``; ``(B..., m, k) @ (B..., k, n)`` with equal
    batch dims by batch. Each block is one BLAS call on the same operands, rounded as
    OpenBLAS's kernels for its shape round. ``out``, when given, must be C-contiguous.
    Under ``create_graph`` (``xp`` not NumPy) this is plain ``xp.matmul``.
    """
    how = None
    if xp is np and a.ndim >= 2 and b.ndim >= 2:
        m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
        macs = math.prod(a.shape[:-2]) * m * k * n
        # small products (most calls) return before the thread helpers are even looked up
        if macs >= _SPLIT_MIN_MACS and (out is None or out.flags.c_contiguous):
            from .conv import _batch_threads, _parallel_for

            nt = _batch_threads()
        else:
            nt = 1
        if nt > 1:
            if b.ndim == 2:
                rows = math.prod(a.shape[:-1])
                if rows >= _MIN_ROWS_PER_THREAD * nt:
                    how = "rows"
                elif n >= _MIN_COLS_PER_THREAD * nt:
                    how = "cols"
            elif a.shape[:-2] == b.shape[:-2] and math.prod(a.shape[:-2]) >= nt:
                how = "batch"
    if how is None:
        if xp is np and b.ndim == 2 and a.ndim > 2 and (out is None or out.flags.c_contiguous):
            # (..., m, k) @ (k, n) as one (rows, k) @ (k, n) product, as PyTorch's matmul
            # folds it (NumPy would make one BLAS call per leading index): a strided ``a``
            # (an RNN's batch-first output) is copied once on the way
            rows, k, n = math.prod(a.shape[:-1]), a.shape[-1], b.shape[-1]
            if out is None:
                return np.matmul(a.reshape(rows, k), b).reshape(a.shape[:-1] + (n,))
            np.matmul(a.reshape(rows, k), b, out=out.reshape(rows, n))
            return out
        return xp.matmul(a, b) if out is None else xp.matmul(a, b, out=out)
    if out is None:
        out = np.empty(a.shape[:-1] + (n,), np.result_type(a, b))
    if how == "batch":
        if a.shape[0] >= nt:
            # blocks of the leading dim: batches of strided views (attention heads) stay
            # views, where flattening the batch dims would copy them
            a3, b3, o3 = a, b, out
        else:
            a3, b3, o3 = a.reshape(-1, m, k), b.reshape(-1, k, n), out.reshape(-1, m, n)

        def part(lo, hi):
            np.matmul(a3[lo:hi], b3[lo:hi], out=o3[lo:hi])

        units = a3.shape[0]
    else:
        a2, o2 = a.reshape(-1, k), out.reshape(-1, n)
        if how == "rows":

            def part(lo, hi):
                np.matmul(a2[lo:hi], b, out=o2[lo:hi])

            units = a2.shape[0]
        else:
            # one column block per thread, edges on multiples of 16 (whole SIMD
            # vectors); the blocks of the result are strided, which BLAS writes in place
            units = nt
            edges = [min(n, (n * i // nt + 15) // 16 * 16) for i in range(nt)] + [n]

            def part(lo, hi):
                c0, c1 = edges[lo], edges[hi]
                np.matmul(a2, b[:, c0:c1], out=o2[:, c0:c1])

    _parallel_for(part, units, macs)
    return out


_MATRICES = (2, 2)
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


class Matmul(Function):
    """The autograd node of a product of two matrices, ``torch.mm`` (grad_fn ``MmBackward0``)."""

    backward_name = "MmBackward0"
    # The operands' ndims, set on a node only when not two matrices (an attribute set on a
    # node makes its instance dict: one more object per op for the allocator and the GC).
    nd = _MATRICES
    bt = False  # b was a transposed view (set on the node only then)

    def forward(ctx, a, b):
        a_nd, b_nd = a.ndim, b.ndim
        if a_nd != 2 or b_nd != 2:
            ctx.nd = (a_nd, b_nd)
        if ctx._recording:
            # grad of a needs b and grad of b needs a: keep only those (as PyTorch does);
            # save_for_backward's own test of _recording is the one just made
            na, nb = ctx.needs_input_grad
            ctx._saved = (a if nb else None, b if na else None)
            if nb and b_nd == 2 and type(b) is np.ndarray and _is_transposed(b):
                ctx.bt = True  # (an instance attribute only for w.t(): see _mat2_grad)
        if a.dtype in U._LOW_PRECISION_NP:  # accumulate in float32 (BLAS), round once
            return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(a.dtype)
        if a_nd == 2 and b_nd == 2:
            m, k = a.shape
            if m * k * b.shape[1] < _SPLIT_MIN_MACS:
                # what matmul_split does with a product this small; for two float32/float64
                # matrices ndarray.dot is the same BLAS product without np.matmul's gufunc
                # dispatch (about half the cost of a 5x5 product)
                dt = a.dtype
                if (dt is _F32 or dt is _F64) and b.dtype is dt:
                    return a.dot(b)
                return np.matmul(a, b)
        return matmul_split(a, b)

    def backward(ctx, g):
        xp = ctx.xp
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        if ctx.nd is _MATRICES and xp is np and type(g) is np.ndarray:
            # Two real float32/float64 matrices (the common case): the general path's
            # ``matmul_split`` calls below with the same transposed views (``.T`` is
            # ``_mT`` for a matrix), without its ~8 Python calls per node; a product big
            # enough for matmul_split to divide among threads goes the general way.
            dt = g.dtype
            if (dt is _F32 or dt is _F64) and (a is None or a.dtype is dt):
                if b is None or b.dtype is dt:
                    m, n = g.shape
                    k = b.shape[0] if na else a.shape[1]
                    if m * k * n < _SPLIT_MIN_MACS:
                        # ndarray.dot: the same BLAS product as np.matmul, see forward
                        gb = None
                        if nb:  # laid out as b was (see _mat2_grad)
                            gb = g.T.dot(a).T if ctx.bt else a.T.dot(g)
                        return (g.dot(b.T) if na else None), gb
        g = U.float32_grad(g)
        a, b = U.cj(xp, a), U.cj(xp, b)
        ga = gb = None
        a_nd, b_nd = ctx.nd
        if a_nd == 1 and b_nd == 1:
            return (g * b if na else None), (g * a if nb else None)
        if a_nd == 1:
            # (k,) @ (..., k, n) -> (..., n)
            if na:
                ga = xp.matmul(g[..., None, :], _mT(b, xp))[..., 0, :]
            if nb:
                gb = a[:, None] * g[..., None, :]
            return ga, gb
        if b_nd == 1:
            # (..., m, k) @ (k,) -> (..., m)
            if na:
                ga = g[..., :, None] * b
            if nb:
                gb = xp.matmul(_mT(a, xp), g[..., :, None])[..., 0]
            return ga, gb
        if na:
            ga = matmul_split(g, _mT(b, xp), xp)
        if nb:
            if a_nd == b_nd == 2:
                gb = _mat2_grad(a, g, ctx.bt, xp)
            elif b_nd == 2:
                # (..., m, k) @ (k, n): b's gradient is one product over the folded rows,
                # not a batch of (k, n) products summed afterwards (a batch-sized temporary)
                rows, k, n = math.prod(a.shape[:-1]), a.shape[-1], g.shape[-1]
                gb = _mat2_grad(a.reshape(rows, k), g.reshape(rows, n), ctx.bt, xp)
            else:
                gb = matmul_split(_mT(a, xp), g, xp)
        return ga, gb


def _is_transposed(b) -> bool:
    """Whether the matrix ``b`` is a transposed view of a contiguous one (``w.t()``)."""
    flags = b.flags
    return flags.f_contiguous and not flags.c_contiguous


def _mat2_grad(a, g, transposed: bool, xp):
    """``a.T @ g``, the gradient of ``b`` in ``a @ b``, laid out as ``b`` was.

    A ``b`` that is a transposed view (``weight.t()`` in ``F.linear``) gets its gradient
    as the transpose of the contiguous ``g.T @ a``, so that ``TBackward0`` hands the
    weight a contiguous gradient: PyTorch's ``mm_mat2_backward`` does the same.
    """
    if transposed:
        return matmul_split(g.T, a, xp).T
    return matmul_split(a.T, g, xp)


class Addmm(Function):
    """``beta * input + alpha * (mat1 @ mat2)`` in one node, ``torch.addmm`` and
    ``F.linear`` on matrices (grad_fn ``AddmmBackward0``; edges: input, mat1, mat2)."""

    backward_name = "AddmmBackward0"
    __slots__ = ("beta", "alpha", "c_shape", "bt")  # not the node's instance dict

    def forward(ctx, c, a, b, beta=1, alpha=1):
        ctx.beta, ctx.alpha = beta, alpha
        if ctx._recording:
            nc, na, nb = ctx.needs_input_grad
            ctx._saved = (a if nb else None, b if na else None)
            ctx.c_shape = c.shape
            ctx.bt = type(b) is np.ndarray and _is_transposed(b)
        low = a.dtype if a.dtype in U._LOW_PRECISION_NP else None
        if low is not None:  # accumulate in float32 (BLAS), round once
            a, b, c = a.astype(np.float32), b.astype(np.float32), c.astype(np.float32)
        y = matmul_split(a, b)
        if alpha != 1:
            y *= U.scalar(alpha, y.dtype)
        # beta == 0 ignores input, NaN and inf included (PyTorch's documented rule)
        if beta == 1:
            y += c
        elif beta != 0:
            y += c * U.scalar(beta, y.dtype)
        return y if low is None else y.astype(low)

    def backward(ctx, g):
        xp = ctx.xp
        g = U.float32_grad(g)
        a, b = ctx.saved_tensors
        nc, na, nb = ctx.needs_input_grad
        gc = ga = gb = None
        if nc:
            gc = g if ctx.beta == 1 else g * U.scalar(ctx.beta, g.dtype)
            cs = ctx.c_shape
            if len(cs) == 1 and cs[0] == gc.shape[1] and xp is np:
                gc = gc.sum(0)  # a bias (F.linear): sum_to's answer without its checks
            else:
                gc = sum_to(gc, tuple(cs), xp)
        if ctx.alpha != 1:
            g = g * U.scalar(ctx.alpha, g.dtype)
        a, b = U.cj(xp, a), U.cj(xp, b)  # complex operands: the conjugates' products
        if na:
            ga = matmul_split(g, b.T, xp)
        if nb:
            gb = _mat2_grad(a, g, ctx.bt, xp)
        return gc, ga, gb


class MatmulBatched(Matmul):
    """``Matmul`` of batches of matrices, ``torch.bmm`` (grad_fn ``BmmBackward0``)."""

    backward_name = "BmmBackward0"


class MatmulGeneric(Matmul):
    """``Matmul`` with broadcast batch dims or 1-D operands, ``torch.matmul`` (grad_fn
    ``UnsafeViewBackward0``, as in PyTorch)."""

    backward_name = "UnsafeViewBackward0"


class Mv(Matmul):
    """``Matmul`` of a matrix and a vector, ``torch.mv`` (grad_fn ``MvBackward0``)."""

    backward_name = "MvBackward0"


class Dot(Matmul):
    """``Matmul`` of two vectors, ``torch.dot`` (grad_fn ``DotBackward0``)."""

    backward_name = "DotBackward0"


def _same_dtype(a, b, name):
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_cname(a.dtype)} != "
            f"{_cname(b.dtype)}"
        )


def _cname(dt):
    return {
        "float32": "float",
        "float64": "double",
        "float16": "c10::Half",
        "int64": "long int",
        "int32": "int",
        "int16": "short int",
        "int8": "signed char",
        "uint8": "unsigned char",
        "bool": "bool",
    }.get(dt.name, dt.name)


def matmul(input, other, *, out=None):
    """Matrix product with NumPy's broadcasting rules (``torch.matmul``, ``@``).

    Args:
        input: the first operand, at least 1-D: a vector, a matrix or a batch of matrices.
        other: the second operand, at least 1-D, of ``input``'s dtype; batch dims broadcast.
        out: a tensor to write the result into.

    Returns:
        The dot product (1-D @ 1-D), a matrix-vector product, or the (batched) matrix product; a 1-D
        operand is taken as a row (first) or column (second) vector and that dim is removed.

    Raises:
        TypeError: an operand is not a tensor.
        RuntimeError: a 0-d operand, different dtypes, or sizes that do not match (PyTorch's
            messages).
    """
    if _ac.state.active:
        return _ac.autocast_call("matmul", matmul, input, other, out=out)
    if out is None and _fn._vmap_hook is None and isinstance(input, U.Tensor):
        # Two matrices that fit, of one dtype: nothing to check nor to choose (the checks
        # below cost more than a small product)
        if isinstance(other, U.Tensor):
            ad, bd = input._data, other._data
            if ad.ndim == 2 and bd.ndim == 2 and ad.shape[1] == bd.shape[0]:
                if ad.dtype is bd.dtype:
                    return Matmul.apply(input, other)
    a, b = input, other
    if not isinstance(b, U.Tensor) or not isinstance(a, U.Tensor):
        raise TypeError(
            f"matmul(): argument 'other' (position 2) must be Tensor, not {type(b).__name__}"
        )
    _same_dtype(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim >= 2 else b.shape[0]
    if ka != kb:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{ka}] and src [{kb}] to have the same "
                f"number of elements, but got {ka} and {kb} elements respectively"
            )
        if b.ndim == 1:
            raise RuntimeError(
                f"size mismatch, got input ({a.shape[-2] if a.ndim > 1 else 1}), mat "
                f"({'x'.join(map(str, a.shape[-2:]))}), vec ({kb})"
            )
        sa = "x".join(map(str, (a.shape[-2] if a.ndim > 1 else 1, ka)))
        sb = "x".join(map(str, (kb, b.shape[-1])))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
    if a.ndim > 2 or b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
        except ValueError:
            raise RuntimeError(
                f"The size of tensor a ({a.shape[-3] if a.ndim > 2 else 1}) must match the size of "
                f"tensor b ({b.shape[-3] if b.ndim > 2 else 1}) at non-singleton dimension "
                f"{max(a.ndim, b.ndim) - 3}"
            ) from None
    if a.ndim == 1 and b.ndim == 1:
        cls = Dot
    elif b.ndim == 1 and a.ndim == 2:
        cls = Mv
    elif a.ndim == 2 and b.ndim == 2:
        cls = Matmul
    else:
        cls = MatmulGeneric
    res = cls.apply(a, b)
    if out is not None:
        from .shape import copy_into_out

        return copy_into_out(out, res)
    return res


def mm(input, mat2, *, out=None):
    """Product of two matrices (``torch.mm``).

    Args:
        input: an (n, m) matrix.
        mat2: an (m, p) matrix of ``input``'s dtype.
        out: a tensor to write the (n, p) result into.

    Raises:
        RuntimeError: an operand is not 2-D, or the sizes or dtypes do not match.
    """
    if _ac.state.active:
        return _ac.autocast_call("mm", mm, input, mat2, out=out)
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(input, mat2, out=out)


def mv(input, vec, *, out=None):
    """Matrix-vector product (``torch.mv``).

    Args:
        input: an (n, m) matrix.
        vec: an (m,) vector of ``input``'s dtype.
        out: a tensor to write the (n,) result into.

    Raises:
        RuntimeError: the operands are not a matrix and a vector, or the sizes do not match.
    """
    if _ac.state.active:
        return _ac.autocast_call("mv", mv, input, vec, out=out)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}"
            if False
            else f"mv: expected a matrix and a vector, got {input.ndim}-D and {vec.ndim}-D"
        )
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({input.shape[0]}), "
            f"mat ({input.shape[0]}x{input.shape[1]}), "
            f"vec ({vec.shape[0]})"
        )
    return matmul(input, vec, out=out)


def bmm(input, mat2, *, out=None):
    """Batched matrix product of 3-D tensors (``torch.bmm``).

    Args:
        input: a (b, n, m) batch of matrices.
        mat2: a (b, m, p) batch of matrices of ``input``'s dtype (no broadcasting).
        out: a tensor to write the (b, n, p) result into.

    Raises:
        RuntimeError: an operand is not 3-D, or the sizes or dtypes do not match.
    """
    if _ac.state.active:
        return _ac.autocast_call("bmm", bmm, input, mat2, out=out)
    if input.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}]."
        )
    _same_dtype(input, mat2, "bmm")
    res = MatmulBatched.apply(input, mat2)
    if out is not None:
        from .shape import copy_into_out

        return copy_into_out(out, res)
    return res


def dot(input, other, *, out=None):
    """Inner product of two 1-D tensors (``torch.dot``).

    Args:
        input: a 1-D tensor.
        other: a 1-D tensor of ``input``'s size and dtype.
        out: a tensor to write the 0-d result into.

    Raises:
        RuntimeError: an operand is not 1-D, or the sizes or dtypes differ.
    """
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{_cname(input.dtype).title()} "
            f"and {_cname(other.dtype).title()}"
        )
    return matmul(input, other, out=out)


vdot = inner_1d = dot


def inner(input, other):
    """The inner product over the last dims (``torch.inner``); a product with a 0-d operand.

    Args:
        input: the first tensor.
        other: the second tensor, with ``input``'s size in the last dim.

    Returns:
        A tensor of shape ``input.shape[:-1] + other.shape[:-1]``.
    """
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, dims=([-1], [-1]))


def outer(input, vec2):
    """Outer product of two vectors (``torch.outer``).

    Args:
        input: the (n,) vector.
        vec2: the (m,) vector.

    Returns:
        The (n, m) matrix ``input[i] * vec2[j]``.

    Raises:
        RuntimeError: an operand is not 1-D.
    """
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError("outer: expected 1-D tensors")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def _broadcasts_to(shape, target) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat1 @ mat2) (``torch.addmm``).

    Args:
        input: the tensor added, broadcastable to (n, p).
        mat1: an (n, m) matrix.
        mat2: an (m, p) matrix.
        beta: the factor of ``input``.
        alpha: the factor of the product.
        out: the tensor to write the result into.
    """
    if _ac.state.active:
        return _ac.autocast_call("addmm", addmm, input, mat1, mat2, beta=beta, alpha=alpha, out=out)
    if (
        mat1.ndim == 2
        and mat2.ndim == 2
        and mat1.shape[1] == mat2.shape[0]
        and input.dtype is mat1.dtype is mat2.dtype
        and input.dtype.is_floating_point
        and _broadcasts_to(input.shape, (mat1.shape[0], mat2.shape[1]))
    ):
        res = Addmm.apply(input, mat1, mat2, beta=beta, alpha=alpha)
    else:  # the errors of mm and of broadcasting, and integer or complex operands
        p = mm(mat1, mat2)
        res = (input if beta == 1 else input * beta) + (p if alpha == 1 else p * alpha)
    if out is not None:
        from .shape import copy_into_out

        return copy_into_out(out, res)
    return res


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)`` (``torch.addmv``).

    Args:
        input: the tensor added, broadcastable to (n,).
        mat: an (n, m) matrix.
        vec: an (m,) vector.
        beta: the factor of ``input``.
        alpha: the factor of the product.
    """
    p = mv(mat, vec)
    return (input if beta == 1 else input * beta) + (p if alpha == 1 else p * alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)`` (``torch.baddbmm``).

    Args:
        input: the tensor added, broadcastable to (b, n, p).
        batch1: a (b, n, m) batch of matrices.
        batch2: a (b, m, p) batch of matrices.
        beta: the factor of ``input``.
        alpha: the factor of the products.
    """
    if _ac.state.active:
        return _ac.autocast_call("baddbmm", baddbmm, input, batch1, batch2, beta=beta, alpha=alpha)
    p = bmm(batch1, batch2)
    return (input if beta == 1 else input * beta) + (p if alpha == 1 else p * alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_i(batch1[i] @ batch2[i])`` (``torch.addbmm``).

    Args:
        input: the tensor added, broadcastable to (n, p).
        batch1: a (b, n, m) batch of matrices.
        batch2: a (b, m, p) batch of matrices.
        beta: the factor of ``input``.
        alpha: the factor of the summed products.
    """
    if _ac.state.active:
        return _ac.autocast_call("addbmm", addbmm, input, batch1, batch2, beta=beta, alpha=alpha)
    p = bmm(batch1, batch2).sum(0)
    return (input if beta == 1 else input * beta) + (p if alpha == 1 else p * alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)`` (``torch.addr``).

    Args:
        input: the tensor added, broadcastable to (n, m).
        vec1: an (n,) vector.
        vec2: an (m,) vector.
        beta: the factor of ``input``.
        alpha: the factor of the outer product.
    """
    p = outer(vec1, vec2)
    return (input if beta == 1 else input * beta) + (p if alpha == 1 else p * alpha)


def tensordot(a, b, dims=2):
    """Contract ``dims`` of a with dims of b (``torch.tensordot``), via matmul.

    Args:
        a: the first tensor.
        b: the second tensor.
        dims: an int d (contract the last d dims of ``a`` with the first d of ``b``), or a pair of
            dim lists (or single dims) to contract, matched in order.

    Returns:
        A tensor with ``a``'s free dims followed by ``b``'s.

    Raises:
        RuntimeError: contracted dims differ in size.
    """
    if isinstance(dims, int):
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        da = [U.canon_dim(d, a.ndim) for d in da]
        db = [U.canon_dim(d, b.ndim) for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} "
                f"and second has size {b.shape[y]} in dim {y}"
            )
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = 1
    for d in da:
        k *= a.shape[d]
    A = a.permute(*fa, *da).reshape(-1, k)
    B = b.permute(*db, *fb).reshape(k, -1)
    return matmul(A, B).reshape(*[a.shape[d] for d in fa], *[b.shape[d] for d in fb])


def kron(input, other):
    """The Kronecker product (``torch.kron``): each element of ``input`` times the whole of
    ``other``, as blocks.

    Args:
        input: the first tensor.
        other: the second tensor; the one with fewer dims gets leading size-1 dims.

    Returns:
        A tensor with sizes ``input.size(i) * other.size(i)``.
    """
    a, b = input, other
    nd = max(a.ndim, b.ndim)
    a = a.reshape(*([1] * (nd - a.ndim)), *a.shape)
    b = b.reshape(*([1] * (nd - b.ndim)), *b.shape)
    sa = []
    sb = []
    for i in range(nd):
        sa += [a.shape[i], 1]
        sb += [1, b.shape[i]]
    r = a.reshape(*sa) * b.reshape(*sb)
    return r.reshape(*[a.shape[i] * b.shape[i] for i in range(nd)])


def cross(input, other, dim=None):
    """Cross product of 3-vectors along ``dim`` (``torch.linalg.cross``).

    Args:
        input: the first tensor, of size 3 along ``dim``.
        other: the second tensor, of size 3 along ``dim``, broadcast with ``input``.
        dim: the dim of the vectors; ``None`` takes the first dim of size 3.

    Raises:
        RuntimeError: a size along ``dim`` is not 3.
    """
    if dim is None:
        dim = next(i for i, s in enumerate(input.shape) if s == 3)
    d = U.canon_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[d]} and "
            f"{other.shape[d]}"
        )
    a0, a1, a2 = input.unbind(d)
    b0, b1, b2 = other.unbind(d)
    from .shape import stack

    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim=d)


def trace(input):
    """Sum of the diagonal (``torch.trace``).

    Args:
        input: a 2-D tensor (need not be square).

    Raises:
        RuntimeError: ``input`` is not 2-D.
    """
    if _ac.state.active:
        return _ac.autocast_call("trace", trace, input)
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    from .shape import diagonal

    return diagonal(input).sum()


# ---------------------------------------------------------------------------
# einsum


def _expand_ellipsis(spec: str, operands) -> tuple[list[str], str]:
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in spec]
    if "->" in spec:
        lhs, rhs = spec.split("->")
    else:
        lhs, rhs = spec, None
    ins = [s.strip() for s in lhs.split(",")]
    if len(ins) != len(operands):
        raise RuntimeError(
            "einsum(): more operands were provided than specified in the equation"
            if len(ins) < len(operands)
            else "einsum(): fewer operands were provided than specified in the equation"
        )
    ell_n = 0
    for s, op in zip(ins, operands):
        if "..." in s:
            ell_n = max(ell_n, op.ndim - (len(s) - 3))
    ell = "".join(spare[:ell_n])
    new_ins = []
    for s, op in zip(ins, operands):
        if "..." in s:
            n = op.ndim - (len(s) - 3)
            s = s.replace("...", ell[ell_n - n :])
        new_ins.append(s.replace(" ", ""))
    if rhs is None:
        letters = "".join(new_ins)
        rhs = ell + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell)
        )
    else:
        rhs = rhs.strip().replace("...", ell)
    return new_ins, rhs


class Einsum(Function):
    """The autograd node of ``torch.einsum``: the gradient of each operand is another einsum."""

    @U.float32_compute
    def forward(ctx, *ops, ins=(), out=""):
        ctx.ins, ctx.out = ins, out
        ctx.save_for_backward(*ops)
        return np.asarray(np.einsum(",".join(ins) + "->" + out, *ops, optimize=len(ops) > 2))

    def backward(ctx, g):
        xp = ctx.xp
        ops = ctx.saved_tensors
        grads = []
        for i, (s, need) in enumerate(zip(ctx.ins, ctx.needs_input_grad)):
            if not need:
                grads.append(None)
                continue
            others = [(ctx.ins[j], U.cj(xp, ops[j])) for j in range(len(ops)) if j != i]
            avail = set(ctx.out) | set("".join(o for o, _ in others))
            uniq = "".join(dict.fromkeys(s))
            target = "".join(c for c in uniq if c in avail)
            spec = ",".join([ctx.out] + [o for o, _ in others]) + "->" + target
            part = xp.einsum(spec, g, *[a for _, a in others], optimize=len(others) > 1)
            sizes = {c: ops[i].shape[k] for k, c in enumerate(s)}
            # letters summed out inside this operand alone: broadcast back
            full = xp.broadcast_to(
                xp.expand_dims(part, tuple(k for k, c in enumerate(uniq) if c not in target))
                if len(target) < len(uniq)
                else part,
                tuple(sizes[c] for c in uniq),
            )
            if len(uniq) == len(s):
                perm = tuple(uniq.index(c) for c in s)
                grads.append(xp.transpose(full, perm) if uniq != s else full)
                continue
            # repeated letters: put the values on the corresponding diagonals
            grids = np.indices(tuple(full.shape), sparse=True)
            idx = tuple(grids[uniq.index(c)] for c in s)
            grads.append(ctx.op(IndexBackward, full, idx=idx, shape=ops[i].shape, unique=True))
        return tuple(grads)


def einsum(equation: str, *operands):
    """Einstein summation (``torch.einsum``), with ``...`` and implicit output.

    Args:
        equation: the subscripts, e.g. ``"bij,bjk->bik"``: one letter per dim of each operand,
            ``...`` for broadcast dims; without ``->`` the output is the letters used once, in
            alphabetical order.
        operands: the tensors, as arguments or one sequence; promoted to a common dtype.

    Raises:
        RuntimeError: the subscripts do not match the operands' dims, an output letter is not in the
            inputs, or sizes do not broadcast.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if _ac.state.active and len(operands) > 1:  # PyTorch contracts with (autocast) bmm
        return _ac.autocast_call("einsum", einsum, equation, *operands)
    ins, out = _expand_ellipsis(equation, operands)
    for s, op in zip(ins, operands):
        if len(s) != op.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(s)}) does not match the "
                f"number of dimensions ({op.ndim}) for operand {ins.index(s)}"
                + (" and no ellipsis was given" if "..." not in equation else "")
            )
    dt = D.result_type(*operands)
    ops = [o if o.dtype is dt else o.to(dt) for o in operands]
    for c in out:
        if c not in "".join(ins):
            raise RuntimeError(
                f"einsum(): output subscript {c} does not appear in the equation for any input "
                "operand"
            )
    sizes: dict = {}
    for k, (s, op) in enumerate(zip(ins, ops)):
        for c, n in zip(s, op.shape):
            if sizes.setdefault(c, n) != n and n != 1 and sizes[c] != 1:
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {k} which does not "
                    f"broadcast with previously seen size {sizes[c]}"
                )
    return Einsum.apply(*ops, ins=tuple(ins), out=out)


# ---------------------------------------------------------------------------
# torch.linalg


def _square(A, name):
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
            f"{A.shape[-1]} matrices"
        )
    if not A.dtype.is_floating_point:
        raise RuntimeError(
            f"linalg.{name}: Expected a floating point or complex tensor as input. Got "
            f"{_cname(A.dtype).title()}"
        )


def _lapack(fn, name, *args):
    try:
        return fn(*args)
    except np.linalg.LinAlgError as e:
        raise _singular_error(name, str(e)) from None


class LinAlgError(RuntimeError):
    """A numerical linear-algebra failure (``torch.linalg.LinAlgError``)."""


def _singular_error(name, msg):
    return LinAlgError(
        f"linalg.{name}: The diagonal element 1 is zero, the inversion could not be completed "
        f"because the input matrix is singular. ({msg})"
    )


class Inv(Function):
    """The autograd node of ``torch.linalg.inv`` (grad_fn ``LinalgInvExBackward0``)."""

    backward_name = "LinalgInvExBackward0"

    def forward(ctx, A):
        Ai = _lapack(np.linalg.inv, "inv", A)
        ctx.save_for_backward(Ai)
        return Ai

    def backward(ctx, g):
        xp = ctx.xp
        (Ai,) = ctx.saved_tensors
        AiT = _mT(Ai, xp)
        return -xp.matmul(AiT, xp.matmul(g, AiT))


def inv(A, *, out=None):
    """Matrix inverse (``torch.linalg.inv``, ``torch.inverse``).

    Args:
        A: a floating-point (batch of) square matrix.
        out: the tensor to write the result into.

    Raises:
        RuntimeError: ``A`` is not a batch of square floating-point matrices.
        LinAlgError: a matrix is singular.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_inv", inv, A, out=out)
    _square(A, "inv")
    return Inv.apply(A)


class Det(Function):
    """The autograd node of ``torch.linalg.det`` (grad_fn ``LinalgDetBackward0``)."""

    backward_name = "LinalgDetBackward0"

    def forward(ctx, A):
        d = np.asarray(np.linalg.det(A), dtype=A.dtype)
        ctx.save_for_backward(A, d)
        return d

    def backward(ctx, g):
        xp = ctx.xp
        A, d = ctx.saved_tensors
        try:
            AiT = _mT(xp.linalg.inv(A), xp)
            return (g * d)[..., None, None] * AiT
        except (np.linalg.LinAlgError, LinAlgError):
            if xp is not np:
                # singular: the cofactor matrix, a polynomial in A and so differentiable
                return g[..., None, None] * _cofactors(A, xp)
            # singular: the adjugate via SVD keeps the gradient finite
            u, s, vt = np.linalg.svd(A)
            n = s.shape[-1]
            prods = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], -1)
            sign = np.linalg.det(u) * np.linalg.det(vt)
            adjT = np.matmul(u * (prods * sign[..., None])[..., None, :], vt)
            return g[..., None, None] * adjT


def _cofactors(A, xp):
    """The cofactor matrix (the transposed adjugate) of tensors ``A``, from their minors."""
    n = A.shape[-1]
    if n == 1:
        return xp.ones_like(A)
    rest = [[k for k in range(n) if k != i] for i in range(n)]
    rows = [
        xp.stack([(-1) ** (i + j) * det(A[..., rest[i], :][..., rest[j]]) for j in range(n)], -1)
        for i in range(n)
    ]
    return xp.stack(rows, -2)


def det(A, *, out=None):
    """Determinant (``torch.linalg.det``).

    Args:
        A: a floating-point (batch of) square matrix.
        out: the tensor to write the result into.

    Raises:
        RuntimeError: ``A`` is not a batch of square floating-point matrices.
    """
    _square(A, "det")
    return Det.apply(A)


class Slogdet(Function):
    """The autograd node of ``torch.linalg.slogdet``: sign and log-absolute-determinant (grad_fn
    ``LinalgSlogdetBackward0``)."""

    backward_name = "LinalgSlogdetBackward0"
    # The sign requires grad like PyTorch's; for real inputs its gradient is zero.
    num_outputs = 2

    def forward(ctx, A):
        s, l = np.linalg.slogdet(A)
        ctx.save_for_backward(A)
        return np.asarray(s, A.dtype), np.asarray(l, A.dtype)

    def backward(ctx, gs, gl):
        xp = ctx.xp
        (A,) = ctx.saved_tensors
        return gl[..., None, None] * _mT(xp.linalg.inv(A), xp)


def slogdet(A):
    """Sign and log|det| (``torch.linalg.slogdet``).

    Args:
        A: a floating-point (batch of) square matrix.

    Returns:
        A ``(sign, logabsdet)`` named tuple; a singular matrix gives sign 0 and ``-inf``.

    Raises:
        RuntimeError: ``A`` is not a batch of square floating-point matrices.
    """
    _square(A, "slogdet")

    s, l = Slogdet.apply(A)
    return _slogdet_rt(s, l)


def logdet(A):
    """The log-determinant (``torch.logdet``): NaN for a negative determinant, ``-inf`` for 0.

    Args:
        A: a floating-point (batch of) square matrix.
    """
    s, l = Slogdet.apply(A)
    from .elementwise import log

    return l + log(s) if bool((s._data < 0).any()) else l


class Solve(Function):
    """The autograd node of ``torch.linalg.solve`` (grad_fn ``LinalgSolveExBackward0``)."""

    backward_name = "LinalgSolveExBackward0"

    def forward(ctx, A, B, vec=False):
        X = _lapack(np.linalg.solve, "solve", A, B[..., None] if vec else B)
        if vec:
            X = X[..., 0]
        ctx.vec = vec
        ctx.save_for_backward(A, X)
        return X

    def backward(ctx, g):
        xp = ctx.xp
        A, X = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        gv = g[..., None] if ctx.vec else g
        gB = xp.linalg.solve(_mT(A, xp), gv)
        Xv = X[..., None] if ctx.vec else X
        gA = -xp.matmul(gB, _mT(Xv, xp)) if na else None
        return gA, (gB[..., 0] if ctx.vec else gB) if nb else None


def solve(A, B, *, left=True, out=None):
    """Solve A X = B (``torch.linalg.solve``).

    Args:
        A: a floating-point (batch of) square matrix, invertible.
        B: the right-hand side, of ``A``'s dtype: (n,) or a batch of vectors of shape
            ``A.shape[:-1]``, or (n, k) matrices.
        left: solve ``A X = B``; ``False`` solves ``X A = B``.
        out: the tensor to write the result into.

    Raises:
        RuntimeError: ``A`` is not square, the dtypes differ or the shapes do not fit.
        LinAlgError: ``A`` is singular.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_solve", solve, A, B, left=left, out=out)
    _square(A, "solve")
    if A.dtype is not B.dtype:
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{_cname(A.dtype).title()} and B of type {_cname(B.dtype).title()} instead"
        )
    if not left:
        return solve(A.mT, B.mT).mT
    vec = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    n = A.shape[-1]
    if (B.shape[-1] if vec else B.shape[-2]) != n:
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {'x'.join(map(str, B.shape[-2:]))})"
        )
    return Solve.apply(A, B, vec=vec)


class Eigh(Function):
    """The autograd node of ``torch.linalg.eigh``: eigenvalues and eigenvectors (grad_fn
    ``LinalgEighBackward0``)."""

    backward_name = "LinalgEighBackward0"
    num_outputs = 2

    def forward(ctx, A, uplo="L"):
        L, V = np.linalg.eigh(A, UPLO=uplo)
        L, V = L.astype(A.dtype, copy=False), V.astype(A.dtype, copy=False)
        # the outputs themselves, so that create_graph differentiates through them
        ctx.save_for_backward(L, V)
        return L, V

    def backward(ctx, gL, gV):
        xp = ctx.xp
        L, V = ctx.saved_tensors
        VhgV = xp.matmul(_mT(V, xp), gV)
        n = L.shape[-1]
        eye = np.eye(n, dtype=bool)
        # off the diagonal: the antisymmetric part over the eigenvalue gaps
        E = xp.where(eye, 1, L[..., None, :] - L[..., :, None])
        inner = xp.where(eye, gL[..., None, :], 0.5 * (VhgV - _mT(VhgV, xp)) / E)
        return xp.matmul(V, xp.matmul(inner, _mT(V, xp)))


def eigh(A, UPLO: str = "L"):
    """Eigen-decomposition of a symmetric matrix (``torch.linalg.eigh``).

    Args:
        A: a floating-point (batch of) symmetric (Hermitian) matrix.
        UPLO: which triangle of ``A`` to read: ``"L"`` (lower) or ``"U"`` (upper).

    Returns:
        An ``(eigenvalues, eigenvectors)`` named tuple, the eigenvalues ascending and the
        eigenvectors in columns; both differentiable.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_eigh", eigh, A, UPLO)
    _square(A, "eigh")
    L, V = Eigh.apply(A, uplo=UPLO)
    return _eigh_rt(L, V)


def eigvalsh(A, UPLO: str = "L"):
    """The eigenvalues of a symmetric matrix, ascending (``torch.linalg.eigvalsh``).

    Args:
        A: a floating-point (batch of) symmetric (Hermitian) matrix.
        UPLO: which triangle of ``A`` to read: ``"L"`` (lower) or ``"U"`` (upper).
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_eigvalsh", eigvalsh, A, UPLO)
    return eigh(A, UPLO).eigenvalues


def _no_grad_linalg(name, fn, *tensors):
    """Run a decomposition; its result raises at backward if a gradient reaches it."""
    arrays = fn(*[t._data for t in tensors])
    outs = arrays if isinstance(arrays, tuple) else (arrays,)
    res = []
    for a in outs:
        t = U.Tensor._make(np.asarray(a))
        res.append(t)
    if any(t.requires_grad for t in tensors):
        from ..autograd import grad_mode

        if grad_mode.is_grad_enabled():
            _mark_unsupported(name, tensors, res)
    return tuple(res) if isinstance(arrays, tuple) else res[0]


class _Unsupported(Function):
    def backward(ctx, *g):
        raise RuntimeError(
            f"the derivative for '{ctx.op_name}' is not implemented in tapegrad; detach() the "
            "input or compute this decomposition outside the graph"
        )


def _mark_unsupported(name, inputs, outputs):
    from ..autograd.function import _edge

    node = _Unsupported.__new__(_Unsupported)
    node.op_name = name
    node._saved = node._saved_versions = None
    node._freed = False
    node._recording = False
    node.num_outputs = len(outputs)
    node.needs_input_grad = tuple(t.requires_grad for t in inputs)
    node.next_functions = tuple(_edge(t) if t.requires_grad else (None, 0) for t in inputs)
    node._in_meta = tuple((t._data.shape, t._data.dtype) for t in inputs)
    node._out_meta = tuple((o._data.shape, o._data.dtype) for o in outputs)
    for i, o in enumerate(outputs):
        if o.dtype.is_floating_point or o.dtype.is_complex:
            o._requires_grad = True
            o.grad_fn = node
            o._output_nr = i


def _rt2(name, fields):
    import collections

    cls = collections.namedtuple(name, fields)
    cls.__repr__ = lambda self: (
        f"torch.return_types.{name}(\n"
        + ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        + ")"
    )
    return cls


_EighRT = _rt2("linalg_eigh", ("eigenvalues", "eigenvectors"))
_EigRT = _rt2("linalg_eig", ("eigenvalues", "eigenvectors"))
_SvdRT = _rt2("linalg_svd", ("U", "S", "Vh"))
_OldSvdRT = _rt2("svd", ("U", "S", "V"))
_QrRT = _rt2("linalg_qr", ("Q", "R"))
_LstsqRT = _rt2("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
_SlogdetRT = _rt2("linalg_slogdet", ("sign", "logabsdet"))
_GelsRT = _rt2("gels", ("solution", "QR"))
_OldEigRT = _rt2("eig", ("eigenvalues", "eigenvectors"))


def _eigh_rt(L, V):
    return _EighRT(L, V)


def _slogdet_rt(s, l):
    return _SlogdetRT(s, l)


def eig(A):
    """Eigen-decomposition of a general matrix, complex results (``torch.linalg.eig``).

    Args:
        A: a floating-point (batch of) square matrix.

    Returns:
        An ``(eigenvalues, eigenvectors)`` named tuple of complex tensors (complex64 for float32
        input), the eigenvectors in columns; no gradient.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_eig", eig, A)
    _square(A, "eig")
    cdt = np.complex64 if A._data.dtype == np.float32 else np.complex128
    w, v = _no_grad_linalg("linalg_eig", lambda a: tuple(np.linalg.eig(a)), A)
    return _EigRT(U.Tensor._make(w._data.astype(cdt)), U.Tensor._make(v._data.astype(cdt)))


def eigvals(A):
    """The (complex) eigenvalues of a general matrix (``torch.linalg.eigvals``).

    Args:
        A: a floating-point (batch of) square matrix.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_eigvals", eigvals, A)
    return eig(A).eigenvalues


def svd(A, full_matrices: bool = True, *, driver=None):
    """Singular value decomposition A = U diag(S) Vh (``torch.linalg.svd``).

    Args:
        A: a (batch of) (m, n) matrix.
        full_matrices: return U (m, m) and Vh (n, n); ``False`` gives the reduced U (m, k) and Vh
            (k, n), k = min(m, n).
        driver: accepted for PyTorch's signature (a CUDA option); no effect.

    Returns:
        A ``(U, S, Vh)`` named tuple, S descending. Only S is differentiable; a gradient reaching U
        or Vh raises.

    Raises:
        RuntimeError: ``A`` has fewer than 2 dims.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_svd", svd, A, full_matrices, driver=driver)
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    u, s, vh = _no_grad_linalg(
        "linalg_svd", lambda a: tuple(np.linalg.svd(a, full_matrices=full_matrices)), A
    )
    if s.requires_grad:
        # the singular values are differentiable; U and Vh raise if a gradient reaches them
        s = SvdVals.apply(A)
    return _SvdRT(u, s, vh)


class SvdVals(Function):
    """Singular values; the gradient is U diag(g) Vh (distinct singular values)."""

    backward_name = "LinalgSvdBackward0"

    def forward(ctx, a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        ctx.u, ctx.vh = u, vh
        ctx.save_for_backward(a)
        return s.astype(a.dtype, copy=False)

    def backward(ctx, g):
        xp = ctx.xp
        if xp is np:
            return (ctx.u * g[..., None, :]) @ ctx.vh
        # Under create_graph U and V must be functions of A. With A A^T = U S^2 U^T
        # (m <= n), U diag(g) Vh = U diag(g / s) U^T A: the eigenvectors' signs
        # cancel, and eigh is differentiable (its eigenvalues come ascending).
        (a,) = ctx.saved_tensors
        wide = a.shape[-2] <= a.shape[-1]
        gram = xp.matmul(a, _mT(a, xp)) if wide else xp.matmul(_mT(a, xp), a)
        lam, vec = ctx.op(Eigh, gram)
        w = xp.flip(g, -1) / xp.sqrt(lam)
        proj = xp.matmul(vec * w[..., None, :], _mT(vec, xp))
        return xp.matmul(proj, a) if wide else xp.matmul(a, proj)


def svdvals(A):
    """Singular values, differentiable (``torch.linalg.svdvals``).

    Args:
        A: a (batch of) (m, n) matrix.

    Returns:
        The min(m, n) singular values, descending.

    Raises:
        RuntimeError: ``A`` has fewer than 2 dims.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_svdvals", svdvals, A)
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    return SvdVals.apply(A)


def qr(A, mode: str = "reduced"):
    """QR decomposition (``torch.linalg.qr``), mode 'reduced', 'complete' or 'r'.

    Args:
        A: a (batch of) (m, n) matrix.
        mode: ``"reduced"`` (Q (m, k), R (k, n), k = min(m, n)), ``"complete"`` (Q (m, m), R (m, n))
            or ``"r"`` (R only; Q is empty).

    Returns:
        A ``(Q, R)`` named tuple; no gradient (a gradient reaching them raises).

    Raises:
        RuntimeError: ``A`` has fewer than 2 dims.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_qr", qr, A, mode)
    if A.ndim < 2:
        raise RuntimeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
    if mode == "r":
        r = _no_grad_linalg("linalg_qr", lambda a: np.linalg.qr(a, mode="r"), A)
        return _QrRT(U.Tensor._make(np.zeros((0,), A._data.dtype)), r)
    q, r = _no_grad_linalg("linalg_qr", lambda a: tuple(np.linalg.qr(a, mode=mode)), A)
    return _QrRT(q, r)


def cholesky(A, *, upper: bool = False):
    """Cholesky factor (``torch.linalg.cholesky``).

    Args:
        A: a floating-point (batch of) symmetric positive-definite matrix.
        upper: return the upper factor U (``A = U^H U``) instead of the lower L (``A = L L^H``).

    Returns:
        The triangular factor; no gradient (a gradient reaching it raises).

    Raises:
        LinAlgError: ``A`` is not positive-definite.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_cholesky", cholesky, A, upper=upper)
    _square(A, "cholesky")
    try:
        from .triangular import Cholesky

        L = Cholesky.apply(A)
    except np.linalg.LinAlgError:
        raise LinAlgError(
            "linalg.cholesky: The factorization could not be completed because the input is not "
            "positive-definite."
        ) from None
    return L.mT if upper else L


def _tolerances(A, atol, rtol):
    """PyTorch's rules for the cut-off of pinv and matrix_rank: ``max(atol, rtol * s_max)``;
    with neither given, rtol is eps * max(m, n); with only ``atol`` > 0 given, rtol is 0.
    Tensors broadcast against the batch."""

    def arr(v):
        if v is None:
            return None
        return v._data.astype(np.float64) if isinstance(v, U.Tensor) else np.float64(v)

    atol, rtol = arr(atol), arr(rtol)
    if rtol is None:
        if atol is not None and np.any(atol > 0):
            rtol = np.float64(0.0)
        else:
            rtol = np.finfo(A._data.dtype).eps * max(A.shape[-2], A.shape[-1])
    if atol is None:
        atol = np.float64(0.0)
    return atol, rtol


def _above_cutoff(s, atol, rtol):
    """Which singular values (last axis of ``s``) exceed ``max(atol, rtol * s_max)``."""
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    return s > np.maximum(np.asarray(atol)[..., None], np.asarray(rtol)[..., None] * smax)


class Pinv(Function):
    """The Moore-Penrose pseudo-inverse by SVD (or eigh for Hermitian ``A``)."""

    backward_name = "LinalgPinvBackward0"

    def forward(ctx, A, atol=None, rtol=None, hermitian=False):
        if hermitian:
            w, V = np.linalg.eigh(A)
            s = np.abs(w)
        else:
            u, s, vh = np.linalg.svd(A, full_matrices=False)
        keep = _above_cutoff(s, atol, rtol)
        with np.errstate(divide="ignore"):
            if hermitian:
                inv = np.where(keep, 1.0 / np.where(keep, w, 1), 0).astype(A.dtype)
                P = (V * inv[..., None, :]) @ np.conj(_mT(V))
            else:
                inv = np.where(keep, 1.0 / np.where(keep, s, 1), 0).astype(s.dtype)
                P = (np.conj(_mT(vh)) * inv[..., None, :]) @ np.conj(_mT(u))
        P = P.astype(A.dtype, copy=False)
        ctx.cplx = np.iscomplexobj(A)
        ctx.save_for_backward(A, P)
        return P

    def backward(ctx, grad):
        # PyTorch's pinv_backward, products arranged for the smaller dimension
        xp = ctx.xp
        A, P = ctx.saved_tensors

        def mH(x):
            return _mT(x, xp).conj() if ctx.cplx else _mT(x, xp)

        m, n = A.shape[-2], A.shape[-1]
        Ph, gh = mH(P), mH(grad)
        mm = xp.matmul
        if m <= n:
            K = mm(gh, P)
            KPh = mm(K, Ph)
            return -mH(mm(P, K)) + KPh - mm(mm(A, P), KPh) + mm(mm(Ph, P), gh - mm(K, A))
        K = mm(P, gh)
        PhK = mm(Ph, K)
        return -mH(mm(K, P)) + mm(mm(gh - mm(A, K), P), Ph) + PhK - mm(mm(PhK, P), A)


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """Pseudo-inverse (``torch.linalg.pinv``): SVD with singular values at or below
    ``max(atol, rtol * s_max)`` treated as zero; differentiable (PyTorch's formula).

    Args:
        A: a (batch of) (m, n) matrix.
        atol: the absolute cut-off (a number or a tensor broadcasting against the batch).
        rtol: the relative cut-off; by default ``eps * max(m, n)``, or 0 when only ``atol``
            is given and positive.
        hermitian: ``A`` is symmetric (Hermitian): use its eigendecomposition.

    Returns:
        The (n, m) pseudo-inverse.
    """
    if A.ndim < 2:
        raise RuntimeError("linalg.pinv(A): The input tensor A must have at least 2 dimensions.")
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError(
            "linalg.pinv(A): Expected a floating point or complex tensor as input. Got "
            f"{_cname(A.dtype).title()}"
        )
    a, r = _tolerances(A, atol, rtol)
    return Pinv.apply(A, atol=a, rtol=r, hermitian=hermitian)


def pinverse(input, rcond: float = 1e-15):
    """The pseudo-inverse with a relative cut-off ``rcond`` (``torch.pinverse``).

    Args:
        input: a (batch of) (m, n) matrix.
        rcond: singular values at or below ``rcond`` times the largest count as zero.
    """
    if _ac.state.active:
        return _ac.autocast_call("pinverse", pinverse, input, rcond)
    return pinv(input, rtol=rcond)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    """The number of singular values above a tolerance (``torch.linalg.matrix_rank``), by NumPy's
    ``matrix_rank``.

    Args:
        A: a (batch of) matrix.
        atol: the absolute tolerance.
        rtol: the relative tolerance (times the largest singular value); by default
            ``eps * max(m, n)``, or 0 when only ``atol`` is given and positive.
        hermitian: ``A`` is symmetric (Hermitian), which allows a faster method.
        tol: the old name of ``atol``; wins over it.

    Returns:
        An int64 tensor.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "linalg_matrix_rank",
            matrix_rank,
            A,
            atol=atol,
            rtol=rtol,
            hermitian=hermitian,
            tol=tol,
        )
    if tol is not None:
        atol, rtol = tol, 0.0
    a, r = _tolerances(A, atol, rtol)
    d = A._data
    s = np.abs(np.linalg.eigvalsh(d)) if hermitian else np.linalg.svd(d, compute_uv=False)
    return U.Tensor._make(np.asarray(_above_cutoff(s, a, r).sum(axis=-1), dtype=np.int64))


def matrix_power(A, n: int):
    """A @ A @ ... (n times); negative n uses the inverse (``torch.linalg.matrix_power``).

    Args:
        A: a (batch of) square matrix.
        n: the power; 0 gives the identity, a negative power inverts ``A`` first.
    """
    _square(A, "matrix_power") if A.dtype.is_floating_point else None
    if n == 0:
        from .creation import eye

        return eye(A.shape[-1], dtype=A.dtype).expand(*A.shape)
    base = inv(A) if n < 0 else A
    result = base
    for _ in range(abs(n) - 1):
        result = matmul(result, base)
    return result


def multi_dot(tensors):
    """The product of a chain of matrices, left to right (``torch.linalg.multi_dot``).

    Args:
        tensors: a non-empty sequence of tensors; the first and the last may be 1-D (a row and a
            column vector).
    """
    result = tensors[0]
    for t in tensors[1:]:
        result = matmul(result, t)
    return result


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norms: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf (``torch.linalg.matrix_norm``).

    Args:
        A: a tensor with at least two dims.
        ord: ``"fro"`` (Frobenius), ``"nuc"`` (sum of singular values), 2 / -2 (largest / smallest
            singular value), 1 / -1 (max / min column sum of ``abs``), ``inf`` / ``-inf`` (max / min
            row sum).
        dim: the two dims of the matrices.
        keepdim: keep the two reduced dims with size 1.
        dtype: the dtype to cast ``A`` to first.

    Raises:
        RuntimeError: ``ord`` is not one of those.
    """
    from . import reduce as R

    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = (U.canon_dim(d, A.ndim) for d in dim)
    if ord == "fro":
        return R.vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or ord in (2, -2):
        from .shape import movedim

        s = SvdVals.apply(movedim(A, (d0, d1), (-2, -1)))
        r = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return r
    if ord in (1, -1):
        s = A.abs().sum(d0, keepdim=True)
        r = s.amax(d1, keepdim=True) if ord == 1 else s.amin(d1, keepdim=True)
    elif ord in (float("inf"), float("-inf")):
        s = A.abs().sum(d1, keepdim=True)
        r = s.amax(d0, keepdim=True) if ord > 0 else s.amin(d0, keepdim=True)
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return r if keepdim else r.squeeze((d0, d1))


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: vector norm for 1-D or a dim, matrix norm for 2 dims.

    Args:
        A: the tensor.
        ord: the order: a number for a vector norm, or one of ``matrix_norm``'s orders; ``None`` is
            the 2-norm of the flattened tensor (or over ``dim``).
        dim: a dim or two dims; ``None`` takes the matrix norm for 2-D ``A`` (with ``ord``), else
            the vector norm of all elements.
        keepdim: keep the reduced dims with size 1.
        dtype: the dtype to cast ``A`` to first.

    Raises:
        RuntimeError: a string ``ord`` with a ``dim`` that is not two dims.
    """
    from . import reduce as R

    if isinstance(dim, int):
        dim = (dim,)
    if isinstance(ord, str) and dim is not None and len(dim) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {', '.join(map(str, dim))}"
        )
    if ord is None:
        return R.vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is not None and len(dim) == 2 or dim is None and A.ndim == 2:
        return matrix_norm(A, ord, dim or (-2, -1), keepdim, dtype=dtype)
    return R.vector_norm(A, ord, dim, keepdim, dtype=dtype)


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of A X = B (``torch.linalg.lstsq``).

    Returns (solution, residuals, rank, singular_values) like PyTorch's default
    CPU driver 'gelsy': residuals are given when A is tall and full rank.

    Args:
        A: a (batch of) (m, n) matrix.
        B: the right-hand side, (m, k) matrices or (m,) vectors (``B.ndim == A.ndim - 1``), of
            ``A``'s dtype.
        rcond: singular values below ``rcond`` times the largest count as zero (NumPy's default when
            ``None``).
        driver: ``"gelsy"`` (the default), ``"gels"``, ``"gelsd"`` or ``"gelss"``; decides which
            fields are filled, as in PyTorch.

    Returns:
        A ``(solution, residuals, rank, singular_values)`` named tuple.

    Raises:
        RuntimeError: ``A`` has fewer than 2 dims, the dtypes differ or the row counts differ.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_lstsq", lstsq, A, B, rcond, driver=driver)
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if A.dtype is not B.dtype:
        raise RuntimeError(
            f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
            f"input's dtype {_cname(A.dtype).title()} and other's dtype {_cname(B.dtype).title()}"
        )
    vec = B.ndim == A.ndim - 1
    if (B.shape[-1] if vec else B.shape[-2]) != A.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    driver = driver or "gelsy"

    def run(a, b):
        bb = b[..., None] if vec else b
        if a.ndim == 2:
            x, res, rank, sv = np.linalg.lstsq(a, bb, rcond=rcond)
        else:
            xs = [
                np.linalg.lstsq(ai, bi, rcond=rcond)
                for ai, bi in zip(
                    a.reshape(-1, *a.shape[-2:]),
                    np.broadcast_to(bb, a.shape[:-2] + bb.shape[-2:]).reshape(-1, *bb.shape[-2:]),
                )
            ]
            x = np.stack([r[0] for r in xs]).reshape(a.shape[:-2] + xs[0][0].shape)
            res = np.stack([r[1] for r in xs]) if all(r[1].size for r in xs) else np.zeros(0)
            rank = np.array([r[2] for r in xs]).reshape(a.shape[:-2])
            sv = np.stack([r[3] for r in xs]).reshape(a.shape[:-2] + (-1,))
        x = x.astype(a.dtype)
        if vec:
            x = x[..., 0]
        m, n = a.shape[-2], a.shape[-1]
        full = np.all(np.asarray(rank) == min(m, n))
        # like PyTorch, only the gels/gelsd/gelss drivers report residuals
        res = (
            np.asarray(res, a.dtype)
            if m > n and full and driver != "gelsy"
            else np.zeros(0, a.dtype)
        )
        if vec and res.size:
            res = res.reshape(res.shape[:-1]) if res.ndim > 1 else res
        sv = np.asarray(sv, a.dtype) if driver in ("gelsd", "gelss") else np.zeros(0, a.dtype)
        rk = np.asarray(rank, np.int64) if driver != "gels" else np.zeros(0, np.int64)
        return x, res, rk, sv

    x, res, rank, sv = _no_grad_linalg("linalg_lstsq", run, A, B)
    m, n = A.shape[-2], A.shape[-1]
    if x.requires_grad and m >= n:
        # full column rank: a differentiable solution (PyTorch's LinalgLstsqBackward0)
        bb = B.unsqueeze(-1) if vec else B
        x = LstsqSolution.apply(A, bb, x=x._data[..., None] if vec else x._data)
        if vec:
            x = x.squeeze(-1)
    return _LstsqRT(x, res, rank, sv)


class LstsqSolution(Function):
    """X = argmin |A X - B| for A of full column rank, with its gradient.

    With Z = (A^T A)^-1 G and R = B - A X: dB = A Z, dA = R Z^T - A Z X^T.
    """

    backward_name = "LinalgLstsqBackward0"

    def forward(ctx, a, b, x=None):
        # x is the output array itself: under create_graph it hangs off this node
        ctx.save_for_backward(a, b, x)
        return x

    def backward(ctx, g):
        xp = ctx.xp
        a, b, x = ctx.saved_tensors
        z = xp.linalg.solve(_mT(a, xp) @ a, g)
        na, nb = ctx.needs_input_grad
        ga = (b - a @ x) @ _mT(z, xp) - a @ z @ _mT(x, xp) if na else None
        gb = a @ z if nb else None
        return ga, gb


def gels(B, A):
    """The old ``torch.gels(B, A)``: least squares returning (X, QR), X of (max(m, n), k).

    The first n rows of X are the solution; for tall A the remaining rows hold
    the components of Q^T B orthogonal to A's range, as LAPACK's gels leaves them.

    Args:
        B: the (m, k) right-hand side (a 1-D one is one column).
        A: the (m, n) matrix.

    Returns:
        A ``(solution, QR)`` named tuple.
    """
    if B.ndim == 1:
        B = B.reshape(-1, 1)
    a, b = A._data, B._data.astype(A._data.dtype)
    m, n = a.shape
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    out = np.zeros((max(m, n), b.shape[1]), a.dtype)
    out[:n] = x
    if m > n:
        q, r = np.linalg.qr(a, mode="complete")
        out[n:] = (q.T @ b)[n:]
        qr_ = r
    else:
        qr_ = np.linalg.qr(a, mode="r")
    return _GelsRT(U.Tensor._make(out.astype(a.dtype)), U.Tensor._make(np.asarray(qr_, a.dtype)))


def old_svd(input, some: bool = True, compute_uv: bool = True):
    """``torch.svd``: (U, S, V) with V, not V^H.

    Args:
        input: a (batch of) (m, n) matrix.
        some: the reduced decomposition (U (m, k), V (n, k)); ``False`` gives the full one.
        compute_uv: compute U and V; ``False`` returns zero-filled ones.

    Returns:
        A ``(U, S, V)`` named tuple.
    """
    u, s, vh = svd(input, full_matrices=not some)
    if not compute_uv:
        z = U.Tensor._make(np.zeros(u.shape, u._data.dtype))
        return _OldSvdRT(z, s, U.Tensor._make(np.zeros(vh.shape, vh._data.dtype)))
    return _OldSvdRT(u, s, vh.mT)


def old_eig(input, eigenvectors: bool = False):
    """The old ``torch.eig``: eigenvalues as an (n, 2) real/imaginary table.

    Args:
        input: a square matrix.
        eigenvectors: also return the real parts of the eigenvectors (else an empty tensor).

    Returns:
        An ``(eigenvalues, eigenvectors)`` named tuple; no gradient.
    """
    w, v = np.linalg.eig(input._data)
    e = np.stack([w.real, w.imag], axis=-1).astype(input._data.dtype)
    vecs = v.real.astype(input._data.dtype) if eigenvectors else np.zeros(0, input._data.dtype)
    return _OldEigRT(U.Tensor._make(e), U.Tensor._make(vecs))


def cdist(x1, x2, p: float = 2.0, compute_mode=None):
    """Pairwise p-norm distances between the rows of x1 and x2 (``torch.cdist``).

    Args:
        x1: a (batch of) (P, M) tensor of row vectors.
        x2: a (batch of) (R, M) tensor of row vectors.
        p: the order of the norm.
        compute_mode: for ``p == 2``, whether to use the matrix-product path:
            ``"use_mm_for_euclid_dist_if_necessary"`` (when P or R is over 25; also ``None``),
            ``"use_mm_for_euclid_dist"`` or ``"donot_use_mm_for_euclid_dist"``. It sets how often
            the result can be differentiated, as in PyTorch.

    Returns:
        The (batch of) (P, R) distances.

    Raises:
        RuntimeError: an input has fewer than 2 dims or the column counts differ.
    """
    if _ac.state.active:
        return _ac.autocast_call("cdist", cdist, x1, x2, p, compute_mode)
    from .reduce import vector_norm

    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(
            f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D"
            if x1.ndim < 2
            else f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D"
        )
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    mm = compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode in (None, "use_mm_for_euclid_dist_if_necessary")
        and (x1.shape[-2] > 25 or x2.shape[-2] > 25)
    )
    if p != 2 or not mm:
        # PyTorch's cdist kernel (all but its matrix-product path) is once differentiable
        x1, x2 = _CdistGate.apply(x1), _CdistGate.apply(x2)
    d = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return vector_norm(d, p, -1)


class _CdistGate(Function):
    """Identity on an input of ``cdist``; a gradient taken through it with create_graph
    raises PyTorch's error when differentiated again (``_cdist_backward`` has no derivative).
    """

    backward_name = "CdistBackward0"

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x

    def backward(ctx, g):
        if ctx.xp is np:
            return g
        (x,) = ctx.saved_tensors
        return _CdistBackwardBackward.apply(g, x)


class _CdistBackwardBackward(Function):
    """The gradient of a ``cdist`` input under create_graph: not differentiable (PyTorch's)."""

    backward_name = "CdistBackwardBackward0"

    def forward(ctx, g, x):
        return g

    def backward(ctx, gg):
        raise NotImplementedError("the derivative for '_cdist_backward' is not implemented.")


def vander(x, N=None, increasing: bool = False):
    """The Vandermonde matrix of a 1-D tensor (``torch.vander``).

    Args:
        x: a 1-D tensor.
        N: the number of columns; by default ``len(x)``.
        increasing: powers increase from left to right (``x**0`` first) instead of decreasing.

    Raises:
        RuntimeError: ``x`` is not 1-D, or ``N`` is negative.
    """
    from .shape import stack

    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    powers = range(n) if increasing else range(n - 1, -1, -1)
    xd = x if x.dtype.is_floating_point else x.to(D.int64)
    cols = [xd**k if k else xd * 0 + 1 for k in powers]
    return stack(cols, 1) if cols else xd.new_empty(x.shape[0], 0)


def chain_matmul(*matrices):
    """The product of matrices, left to right (``torch.chain_matmul``).

    Args:
        matrices: the 2-D tensors to multiply, as arguments.
    """
    return multi_dot(list(matrices))


# ``out=`` for the functions above that do not handle it themselves
addmm = U.with_out(addmm)
inv = U.with_out(inv)
det = U.with_out(det)
solve = U.with_out(solve)


# ---------------------------------------------------------------------------------------
# Matrix exponential, QR in LAPACK's compact form and Householder products (used by
# nn.utils.parametrizations.orthogonal).

# Higham (2005), "The scaling and squaring method for the matrix exponential revisited":
# the [13/13] Pade approximant is accurate to double precision for ||A||_1 <= theta_13.
_PADE13 = (
    64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
    129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
    40840800.0, 960960.0, 16380.0, 182.0, 1.0,
)  # fmt: skip
_THETA13 = 5.371920351148152


def _expm(a: np.ndarray) -> np.ndarray:
    """exp of each matrix of a batch, by scaling and squaring around Pade [13/13]."""
    work = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    norm = np.abs(work).sum(axis=-2).max(axis=-1) if work.size else np.zeros(work.shape[:-2])
    # Per matrix: halve s times so that the norm falls under theta_13, square s times after.
    s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / _THETA13))).astype(np.int64)
    work = work / np.exp2(s)[..., None, None]
    b = _PADE13
    eye = np.broadcast_to(np.eye(a.shape[-1], dtype=work.dtype), work.shape)
    a2 = work @ work
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = work @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4
                + b[3] * a2 + b[1] * eye)  # fmt: skip
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    x = np.linalg.solve(v - u, v + u)
    for k in range(int(s.max()) if s.size else 0):
        x = np.where((k < s)[..., None, None], x @ x, x)
    return x.astype(a.dtype, copy=False)


class MatrixExp(Function):
    """The autograd node of ``torch.linalg.matrix_exp`` (grad_fn ``LinalgMatrixExpBackward0``)."""

    backward_name = "LinalgMatrixExpBackward0"

    def forward(ctx, A):
        ctx.save_for_backward(A)
        ctx.cplx = np.iscomplexobj(A)
        return _expm(A)

    def backward(ctx, g):
        # The Frechet derivative in direction G of exp at A^H is the top-right block of
        # exp([[A^H, G], [0, A^H]]) (Najfeld and Havel); PyTorch's formula too.
        xp = ctx.xp
        (A,) = ctx.saved_tensors
        n = A.shape[-1]
        AH = _mT(A, xp).conj() if ctx.cplx else _mT(A, xp)
        top = xp.concatenate([AH, g], axis=-1)
        bottom = xp.concatenate([xp.zeros_like(AH), AH], axis=-1)
        big = ctx.op(MatrixExp, xp.concatenate([top, bottom], axis=-2))
        return big[..., :n, n:]


def matrix_exp(A):
    """The matrix exponential of a (batch of) square matrices (``torch.linalg.matrix_exp``).

    Args:
        A: a floating-point (batch of) square matrix.

    Raises:
        RuntimeError: ``A`` is not a batch of square floating-point matrices.
    """
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_exp: The input tensor A must have at least 2 dimensions.")
    _square(A, "matrix_exp")
    return MatrixExp.apply(A)


_GeqrfRT = _rt2("geqrf", ("a", "tau"))


def geqrf(input):
    """QR in LAPACK's compact form (``torch.geqrf``): R above the diagonal of ``a``, the
    Householder vectors below it, their scales in ``tau``. Not differentiable (as PyTorch).

    Args:
        input: a (batch of) (m, n) matrix.

    Returns:
        A ``(a, tau)`` named tuple.
    """
    if _ac.state.active:
        return _ac.autocast_call("geqrf", geqrf, input)
    if input.ndim < 2:
        raise RuntimeError("geqrf: input must have at least 2 dimensions.")

    def raw(a):
        h, tau = np.linalg.qr(a, mode="raw")
        return np.ascontiguousarray(np.swapaxes(h, -1, -2)), tau

    a, tau = _no_grad_linalg("geqrf", raw, input)
    return _GeqrfRT(a, tau)


def householder_product(A, tau, *, out=None):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^H with v_i the i-th column
    of ``A`` below the diagonal and 1 on it (``torch.linalg.householder_product``,
    ``torch.orgqr``). Built from differentiable ops, so it has gradients in A and tau.

    Args:
        A: a (batch of) (m, n) matrix, m >= n, holding the Householder vectors below its diagonal
            (as ``geqrf`` returns them).
        tau: the (batch of) k <= n scales, of ``A``'s dtype.
        out: a tensor to write the (m, n) result into.

    Raises:
        RuntimeError: the shapes or dtypes do not fit.
    """
    if _ac.state.active:
        return _ac.autocast_call("linalg_householder_product", householder_product, A, tau, out=out)
    from . import creation

    name = "torch.linalg.householder_product"
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    m, n = A.shape[-2], A.shape[-1]
    if m < n:
        raise RuntimeError(
            f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]"
        )
    k = tau.shape[-1] if tau.ndim else 0
    if n < k:
        raise RuntimeError(
            f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]"
        )
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(
            f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2]"
        )
    if A.dtype is not tau.dtype:
        raise RuntimeError(
            f"{name}: tau dtype {_cname(tau.dtype).title()} does not match input dtype "
            f"{_cname(A.dtype).title()}"
        )
    rows = creation.arange(m).reshape(m, 1)
    Q = creation.eye(m, n, dtype=A.dtype).expand(*A.shape[:-2], m, n)
    # Q = H_1 (H_2 (... (H_k I))): apply the reflectors last to first.
    for i in reversed(range(k)):
        below = (rows > i).to(A.dtype)
        v = A[..., :, i : i + 1] * below + (rows == i).to(A.dtype)
        vhq = matmul(v.mH, Q)
        Q = Q - tau[..., i, None, None] * matmul(v, vhq)
    if out is not None:
        out.copy_(Q)
        return out
    return Q
