"""The multivariate normal distribution (``torch.distributions.MultivariateNormal``)."""

from __future__ import annotations

import math

import tapegrad as _tg

from . import constraints
from .distribution import Distribution
from .utils import lazy_property


def _matrix_batch(matrix, name: str, loc) -> tuple:
    if matrix.dim() < 2:
        raise ValueError(
            f"{name} must be at least two-dimensional, with optional leading batch dimensions"
        )
    return tuple(_tg.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1])))


class MultivariateNormal(Distribution):
    """The normal distribution over vectors, with mean ``loc`` and a covariance given by
    exactly one of ``covariance_matrix``, ``precision_matrix`` (its inverse) or
    ``scale_tril`` (its lower Cholesky factor).

    All computations go through the Cholesky factor ``L`` (``covariance = L @ L.T``): the
    log-density solves a triangular system instead of inverting the covariance.

    Args:
        loc: the mean, shape ``batch_shape + (n,)``.
        covariance_matrix: a positive-definite ``(n, n)`` covariance (batched).
        precision_matrix: a positive-definite ``(n, n)`` inverse covariance (batched).
        scale_tril: a lower-triangular factor with positive diagonal (batched).
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc,
        covariance_matrix=None,
        precision_matrix=None,
        scale_tril=None,
        validate_args: bool | None = None,
    ):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        if scale_tril is not None:
            batch = _matrix_batch(scale_tril, "scale_tril matrix", loc)
            self.scale_tril = scale_tril.expand(batch + (-1, -1))
        elif covariance_matrix is not None:
            batch = _matrix_batch(covariance_matrix, "covariance_matrix", loc)
            self.covariance_matrix = covariance_matrix.expand(batch + (-1, -1))
        else:
            batch = _matrix_batch(precision_matrix, "precision_matrix", loc)
            self.precision_matrix = precision_matrix.expand(batch + (-1, -1))
        self.loc = loc.expand(batch + (-1,))
        super().__init__(batch, self.loc.shape[-1:], validate_args=validate_args)
        # The factor is kept at its own (unbroadcast) batch shape so that batched
        # triangular solves do no redundant work.
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = _tg.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _tg.linalg.cholesky(_tg.linalg.inv(precision_matrix))

    def _full(self, matrix):
        return matrix.expand(tuple(self._batch_shape) + tuple(self._event_shape) * 2)

    @lazy_property
    def scale_tril(self):
        """The lower Cholesky factor of the covariance."""
        return self._full(self._unbroadcasted_scale_tril)

    @lazy_property
    def covariance_matrix(self):
        """The covariance, ``L @ L.T``."""
        factor = self._unbroadcasted_scale_tril
        return self._full(factor @ factor.mT)

    @lazy_property
    def precision_matrix(self):
        """The inverse covariance, from the Cholesky factor."""
        return self._full(_tg.cholesky_inverse(self._unbroadcasted_scale_tril))

    @property
    def mean(self):
        """``loc``."""
        return self.loc

    @property
    def mode(self):
        """``loc``."""
        return self.loc

    @property
    def variance(self):
        """The diagonal of the covariance: squared row norms of ``L``."""
        diag = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return diag.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=()):
        """``loc + L @ eps`` with standard normal ``eps`` (``torch.randn``'s stream)."""
        shape = tuple(self._extended_shape(sample_shape))
        eps = _tg.randn(shape, dtype=self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        """``-(n log(2 pi) + |L^-1 (value - loc)|^2) / 2 - log det L``."""
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        factor = self._unbroadcasted_scale_tril
        n = self._event_shape[0]
        batch = _tg.broadcast_shapes(tuple(diff.shape[:-1]), tuple(factor.shape[:-2]))
        solved = _tg.linalg.solve_triangular(
            factor.expand(tuple(batch) + (n, n)),
            diff.expand(tuple(batch) + (n,)).unsqueeze(-1),
            upper=False,
        )
        maha = solved.squeeze(-1).pow(2).sum(-1)
        return -0.5 * (n * math.log(2 * math.pi) + maha) - self._half_log_det()

    def entropy(self):
        """``n (1 + log(2 pi)) / 2 + log det L``."""
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(tuple(self._batch_shape))
