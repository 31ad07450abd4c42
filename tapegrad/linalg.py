"""``torch.linalg``: decompositions, solvers and norms."""

from .ops.linalg import (  # noqa: F401  # noqa: F401
    LinAlgError,
    cholesky,
    cross,
    det,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    householder_product,
    inv,
    lstsq,
    matmul,
    matrix_exp,
    matrix_norm,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
    vdot,
)
from .ops.linalg import linalg_norm as norm  # noqa: F401
from .ops.reduce import vector_norm  # noqa: F401


def inv_ex(A, *, check_errors=False):
    from .ops.creation import zeros

    return inv(A), zeros((), dtype=__import__("tapegrad").int32)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    from .ops.shape import diagonal as _d

    return _d(A, offset, dim1, dim2)
