"""Ready-made parametrizations (``torch.nn.utils.parametrizations``): ``weight_norm``,
``spectral_norm`` and ``orthogonal``, each registered with
:func:`tapegrad.nn.utils.parametrize.register_parametrization` as PyTorch does, so their
state dict keys (``parametrizations.weight.original0``...) and numbers are PyTorch's."""

from __future__ import annotations

from enum import Enum, auto

from ... import _dtype as D
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops import creation, elementwise, linalg, random, reduce, shape
from .. import functional as F
from ..modules.module import Module
from . import parametrize

__all__ = ["norm_except_dim", "orthogonal", "spectral_norm", "weight_norm"]


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:  # noqa: A002
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, keeping ``dim`` with size
    ``v.size(dim)`` and the others as 1 (``torch.norm_except_dim``); ``dim=-1`` gives the
    norm of the whole tensor.

    Args:
        v: the input tensor.
        pow: the order of the norm.
        dim: the dimension that is kept; -1 for the norm of the whole tensor.
    """
    if dim == -1:
        return reduce.vector_norm(v, pow)
    d = dim % v.ndim
    others = [i for i in range(v.ndim) if i != d]
    return reduce.vector_norm(v, pow, others, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """``v * (g / ||v||)`` with the norm taken over every dimension but ``dim``
    (``torch._weight_norm``)."""
    return v * (g / norm_except_dim(v, 2, dim))


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Split ``module.<name>`` into a magnitude and a direction, ``w = g * v / ||v||``
    (``torch.nn.utils.parametrizations.weight_norm``).

    Args:
        module: the module to change.
        name: the parameter to reparametrize.
        dim: the dimension kept by the norm (one magnitude per output channel for the
            default 0); ``None`` for one magnitude for the whole tensor.

    Returns:
        The module; ``g`` is ``module.parametrizations.<name>.original0`` and ``v`` is
        ``original1``. Old checkpoints with ``<name>_g``/``<name>_v`` keys still load.
    """
    _weight_norm_module = _WeightNorm(dim)
    parametrize.register_parametrization(module, name, _weight_norm_module, unsafe=True)

    def _weight_norm_compat_hook(
        mod, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        # Checkpoints written with the old nn.utils.weight_norm name the two tensors
        # <name>_g and <name>_v: move them to the parametrization's keys.
        g_key = f"{prefix}{name}_g"
        v_key = f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            original0 = state_dict.pop(g_key)
            original1 = state_dict.pop(v_key)
            state_dict[f"{prefix}parametrizations.{name}.original0"] = original0
            state_dict[f"{prefix}parametrizations.{name}.original1"] = original1

    module.register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


class _SpectralNorm(Module):
    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            # A vector needs no estimate of its norm (see forward).
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            u = weight_mat.new_empty(h).normal_(0, 1)
            v = weight_mat.new_empty(w).normal_(0, 1)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            # Start from good singular vectors: 15 power iterations, as PyTorch.
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        # u and v are updated in place: they are buffers, and a replica of the module
        # (DataParallel, a deep copy) must see the same tensors.
        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(linalg.mv(weight_mat, self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(linalg.mv(weight_mat.mH, self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # Clones: the power method of the next forward updates the buffers in place, which
        # would invalidate this graph's saved u and v.
        u = self._u.clone()
        v = self._v.clone()
        sigma = linalg.vdot(u, linalg.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        # Any value is a valid weight: the normalisation happens in forward.
        return value


def _output_channel_dim(module: Module) -> int:
    """The dimension of a weight's output channels: 1 for transposed convolutions, else 0."""
    from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Divide ``module.<name>`` by its largest singular value, estimated by power iteration
    (``torch.nn.utils.parametrizations.spectral_norm``).

    Args:
        module: the module to change.
        name: the weight to normalise.
        n_power_iterations: power iterations per forward in training mode.
        eps: added to norms to avoid dividing by zero.
        dim: the dimension of output channels (1 for ConvTranspose, else 0 by default).

    Returns:
        The module, with buffers ``_u`` and ``_v`` in ``parametrizations.<name>[0]``.

    Raises:
        ValueError: the module has no tensor ``name``.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = _output_channel_dim(module)
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps)
    )
    return module


def _is_orthogonal(Q: Tensor) -> bool:
    n, k = Q.size(-2), Q.size(-1)
    Id = creation.eye(k, dtype=Q.dtype)
    # A tolerance that grows with the size, but not too much.
    eps = 10.0 * n * D.finfo(Q.dtype).eps
    return bool(elementwise.allclose(Q.mH @ Q, Id, atol=eps))


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of A = QR (A tall) with diag(R) made non-negative."""
    X, tau = linalg.geqrf(A)
    Q = linalg.householder_product(X, tau)
    # diag(X) is diag(R): flip the columns whose R entry is negative.
    return Q * X.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    base: Tensor

    def __init__(
        self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True
    ) -> None:
        super().__init__()
        # Complex Householder reflectors cannot be recovered from a unitary matrix alone.
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        # From here on X is tall (n >= k).
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            # A skew-symmetric (skew-hermitian) matrix from the lower triangle of X.
            X = X.tril()
            if n != k:
                zeros = X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)
                X = shape.cat([X, zeros], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = linalg.matrix_exp(A)
            else:
                # The Cayley retraction (I + A/2)(I - A/2)^{-1}.
                Id = creation.eye(n, dtype=A.dtype)
                Q = linalg.solve(Id - 0.5 * A, Id + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            # Householder reflectors below the diagonal; the diagonal's signs (±1) choose
            # the columns' signs and are not trained.
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = linalg.householder_product(A, tau)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)

        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q: Tensor) -> Tensor:
        if Q.shape != self.shape:
            raise ValueError(
                f"Expected a matrix or batch of matrices of shape {self.shape}. "
                f"Got a tensor of shape {Q.shape}."
            )
        Q_init = Q
        n, k = Q.size(-2), Q.size(-1)
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n

        if not hasattr(self, "base"):
            # Without trivialization only the Householder map can be inverted (by a QR).
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential "
                    "or the Cayley parametrizations when use_trivialization=False."
                )
            A, tau = linalg.geqrf(Q)
            # Make diag(R) positive so that the decomposition is unique; LAPACK returns
            # tau == 0 exactly where it skipped a reflection.
            diag = A.diagonal(dim1=-2, dim2=-1)
            signs = diag.sign()
            signs[tau == 0.0] *= -1
            diag.copy_(signs)
            return A.mT if transpose else A

        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:
            # Complete Q to a square orthogonal matrix with random columns.
            N = random.randn(*(tuple(Q.size()[:-2]) + (n, n - k)), dtype=Q.dtype)
            Q = _make_orthogonal(shape.cat([Q, N], dim=-1))
        self.base = Q
        # -Id: the Householder map sends zeros with a -1 diagonal to the identity.
        neg_Id = creation.zeros_like(Q_init)
        neg_Id.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_Id


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """Constrain a matrix (or batch of matrices) to be orthogonal or unitary
    (``torch.nn.utils.parametrizations.orthogonal``).

    Args:
        module: the module to change.
        name: the matrix to constrain.
        orthogonal_map: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; by default
            ``"matrix_exp"`` for square or complex matrices and ``"householder"`` otherwise.
        use_trivialization: keep a base matrix in ``parametrizations.<name>[0].base``
            (PyTorch's dynamic trivialization).

    Returns:
        The module.

    Raises:
        ValueError: no such tensor, fewer than 2 dimensions, or an unknown map.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions."
        )
    if orthogonal_map is None:
        square = weight.size(-2) == weight.size(-1)
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError(
            'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
            f"Got: {orthogonal_map}"
        )
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
