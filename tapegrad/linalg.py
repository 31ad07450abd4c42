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
from .ops.triangular import solve_triangular  # noqa: F401


def inv_ex(A, *, check_errors=False):
    """The inverse and an error code (``torch.linalg.inv_ex``).

    Args:
        A: A square matrix or a batch of them.
        check_errors: Accepted for PyTorch's signature; a singular ``A`` raises either way.

    Returns:
        ``(inverse, info)``, ``info`` a zero ``int32`` tensor.

    Raises:
        LinAlgError: If ``A`` is singular.
    """
    from .ops.creation import zeros

    return inv(A), zeros((), dtype=__import__("tapegrad").int32)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonals of the matrices of ``A`` (``torch.linalg.diagonal``).

    Args:
        A: A tensor of at least two dimensions.
        offset: Which diagonal: 0 the main one, above it if positive, below if negative.
        dim1: The first dimension of the matrices.
        dim2: The second dimension of the matrices.

    Returns:
        A view of ``A`` with the diagonal as its last dimension.
    """
    from .ops.shape import diagonal as _d

    return _d(A, offset, dim1, dim2)
