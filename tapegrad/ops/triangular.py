"""Triangular factors and solves: the Cholesky derivative, ``solve_triangular``,
``cholesky_inverse``.

NumPy has no triangular solver; the forward is LAPACK's general solve through
``np.linalg.solve`` (exact for a triangular system up to rounding). The backward is
PyTorch's: with ``X = A^{-1} B``, ``grad_B = A^{-T} grad`` and ``grad_A = -grad_B X^T``
restricted to the triangle ``A`` is read from, so only that triangle gets a gradient.
"""

from __future__ import annotations

import numpy as np

from ..amp import autocast_mode as _ac
from ..autograd.function import Function
from . import _util as U
from .elementwise import _to_out as _out


class Cholesky(Function):
    """``A = L L^T``; backward PyTorch's ``cholesky_backward`` (Murray 2016, arXiv 1602.07527)."""

    backward_name = "LinalgCholeskyExBackward0"

    def forward(ctx, A):
        L = np.linalg.cholesky(A)
        ctx.save_for_backward(L)
        return L

    def backward(ctx, g):
        (L,) = ctx.saved_tensors
        xp = ctx.xp
        Lt = xp.swapaxes(L, -1, -2)
        # Phi(L^T gL): the lower triangle, symmetrised with the diagonal counted once
        gA = xp.tril(xp.matmul(Lt, g))
        gA = 0.5 * (gA + xp.swapaxes(xp.tril(gA, -1), -1, -2))
        # L^{-T} Phi L^{-1}
        gA = xp.linalg.solve(Lt, gA)
        return xp.swapaxes(xp.linalg.solve(Lt, xp.swapaxes(gA, -1, -2)), -1, -2)


class SolveTriangular(Function):
    """``A X = B`` for a triangular ``A`` (left side, any batch broadcasting)."""

    def forward(ctx, A, B, upper=False):
        ctx.upper = upper
        X = np.linalg.solve(A, B)
        ctx.save_for_backward(A, X)
        return X

    def backward(ctx, g):
        A, X = ctx.saved_tensors
        xp = ctx.xp
        nA, nB = ctx.needs_input_grad
        gB = xp.linalg.solve(xp.swapaxes(A, -1, -2), g)
        gA = None
        if nA:
            full = -xp.matmul(gB, xp.swapaxes(X, -1, -2))
            gA = xp.triu(full) if ctx.upper else xp.tril(full)
        return gA, gB if nB else None


def solve_triangular(
    A, B, *, upper: bool, left: bool = True, unitriangular: bool = False, out=None
):
    """Solve a triangular system (``torch.linalg.solve_triangular``).

    Args:
        A: ``(*, n, n)`` triangular matrices (only the triangle named by ``upper`` is read).
        B: ``(*, n, k)`` right-hand sides (``(*, k, n)`` with ``left=False``).
        upper: Whether ``A`` is upper (else lower) triangular.
        left: Solve ``A X = B`` (True) or ``X A = B`` (False).
        unitriangular: Take ``A``'s diagonal as all ones.
        out: Optional output tensor.

    Returns:
        The solution ``X``, batch dims broadcast.

    Raises:
        RuntimeError: for non-square ``A`` or mismatched sizes, with PyTorch's messages.
    """
    from .shape import broadcast_to, transpose, tril, triu

    if A.ndim < 2 or B.ndim < 2:
        raise RuntimeError(
            f"linalg.solve_triangular: The input tensor {'A' if A.ndim < 2 else 'B'} must have "
            f"at least 2 dimensions."
        )
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            "linalg.solve_triangular: A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )
    if A.dtype is not B.dtype:  # PyTorch computes (and returns) in A's dtype
        B = B.to(A.dtype)
    if not left:
        X = solve_triangular(
            transpose(A, -1, -2), transpose(B, -1, -2), upper=not upper, unitriangular=unitriangular
        )
        return _out(transpose(X, -1, -2), out)
    if B.shape[-2] != A.shape[-1]:
        raise RuntimeError(
            "linalg.solve_triangular: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})"
        )
    tri = triu(A) if upper else tril(A)
    if unitriangular:
        from .creation import eye

        n = A.shape[-1]
        strict = triu(A, 1) if upper else tril(A, -1)
        tri = strict + eye(n, dtype=A.dtype)
    batch = U.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    tri = broadcast_to(tri, batch + tuple(A.shape[-2:]))
    B = broadcast_to(B, batch + tuple(B.shape[-2:]))
    return _out(SolveTriangular.apply(tri, B, upper=upper), out)


def cholesky_inverse(L, upper: bool = False, *, out=None):
    """The inverse of ``L L^T`` from its Cholesky factor (``torch.cholesky_inverse``).

    Args:
        L: ``(*, n, n)`` lower (or, with ``upper=True``, upper) triangular factors.
        upper: Whether ``L`` is upper triangular (the matrix is then ``L^T L``).
        out: Optional output tensor.

    Returns:
        The symmetric inverse, differentiable with respect to all of ``L`` as in PyTorch.
    """
    if _ac.state.active:
        return _ac.autocast_call("cholesky_inverse", cholesky_inverse, L, upper, out=out)
    from .linalg import inv, matmul
    from .shape import transpose

    # PyTorch differentiates (L L^T)^{-1} with respect to the whole of L (its backward
    # does not restrict the gradient to the triangle), which is what this composite does
    Lt = transpose(L, -1, -2)
    return _out(inv(matmul(Lt, L) if upper else matmul(L, Lt)), out)
