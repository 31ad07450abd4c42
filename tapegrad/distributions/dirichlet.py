"""The Dirichlet distribution (``torch.distributions.Dirichlet``)."""

from __future__ import annotations

import tapegrad as _tg

from . import constraints
from .exp_family import _ExponentialFamily


class _DirichletSample(_tg.autograd.Function):
    """A Dirichlet draw with the implicit reparameterisation gradient.

    ``_dirichlet_grad`` gives ``k_i``, the rate at which coordinate ``i`` moves with
    ``alpha_i`` (its Beta marginal's CDF held fixed) divided by ``1 - x_i``; the other
    coordinates make room in proportion to their size, so the Jacobian is
    ``dx_j / dalpha_i = k_i (delta_ij - x_j)`` and the vector-Jacobian product is
    ``k_i (g_i - sum_j x_j g_j)``.
    """

    @staticmethod
    def forward(ctx, concentration):
        x = _tg._sample_dirichlet(concentration)
        ctx.save_for_backward(x, concentration)
        return x

    @staticmethod
    def backward(ctx, grad_output):
        x, concentration = ctx.saved_tensors
        total = concentration.sum(-1, keepdim=True).expand_as(concentration)
        rate = _tg._dirichlet_grad(x, concentration, total)
        return rate * (grad_output - (x * grad_output).sum(-1, keepdim=True))


class Dirichlet(_ExponentialFamily):
    """The Dirichlet distribution over the probability simplex, with concentrations
    ``concentration`` (shape ``batch_shape + (K,)``).

    Args:
        concentration: positive concentrations.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args: bool | None = None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = concentration.shape
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    @property
    def mean(self):
        """The normalised concentrations."""
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        """``(a - 1) / (sum(a) - K)`` clamped at 0. Where every concentration is below 1
        the density is unbounded at every vertex; like PyTorch, the first vertex is
        reported."""
        c = self.concentration
        interior = (c - 1).clamp(min=0)
        interior = interior / interior.sum(-1, keepdim=True)
        vertex = _tg.zeros_like(c)
        vertex[..., 0] = 1
        return _tg.where((c < 1).all(-1, keepdim=True), vertex, interior)

    @property
    def variance(self):
        """``a (a0 - a) / (a0^2 (a0 + 1))`` with ``a0 = sum(a)``."""
        c = self.concentration
        total = c.sum(-1, keepdim=True)
        return c * (total - c) / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        """Normalised gamma draws (``torch._sample_dirichlet``), differentiable in the
        concentrations."""
        shape = tuple(self._extended_shape(sample_shape))
        return _DirichletSample.apply(self.concentration.expand(shape))

    def log_prob(self, value):
        """``sum((a - 1) log x) + lgamma(sum a) - sum(lgamma(a))``."""
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return _tg.xlogy(c - 1.0, value).sum(-1) + _tg.lgamma(c.sum(-1)) - _tg.lgamma(c).sum(-1)

    def entropy(self):
        """The entropy of the Dirichlet distribution in nats."""
        c = self.concentration
        k = c.shape[-1]
        total = c.sum(-1)
        return (
            _tg.lgamma(c).sum(-1)
            - _tg.lgamma(total)
            - (k - total) * _tg.digamma(total)
            - ((c - 1.0) * _tg.digamma(c)).sum(-1)
        )
