"""The categorical distribution (``torch.distributions.Categorical``)."""

from __future__ import annotations

import math

import tapegrad as _tg

from . import constraints
from .bernoulli import _one_of
from .distribution import Distribution
from .utils import lazy_property, logits_to_probs, probs_to_logits


class Categorical(Distribution):
    """A draw of one index among ``K`` categories, batched over all but the last dimension
    of ``probs`` (normalised to sum to 1) or ``logits`` (unnormalised log-probabilities).

    Args:
        probs: non-negative weights, shape ``batch_shape + (K,)``.
        logits: unnormalised log-probabilities, shape ``batch_shape + (K,)``.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None):
        _one_of(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            param = self.probs
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
            param = self.logits
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], validate_args=validate_args)

    @lazy_property
    def logits(self):
        """Normalised log-probabilities, derived from ``probs`` when those were given."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        """Probabilities, derived from ``logits`` when those were given."""
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> _tg.Size:
        """The shape of the parameter tensor, ``batch_shape + (K,)``."""
        return self.probs.shape

    @constraints.dependent_property
    def support(self):
        """The integers ``0 .. K - 1``."""
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self):
        """NaN: categories have no order, so no mean (as in PyTorch)."""
        return _tg.full(tuple(self._extended_shape()), float("nan"), dtype=self.probs.dtype)

    @property
    def mode(self):
        """The most likely category."""
        return self.probs.argmax(dim=-1)

    @property
    def variance(self):
        """NaN, like the mean."""
        return _tg.full(tuple(self._extended_shape()), float("nan"), dtype=self.probs.dtype)

    def sample(self, sample_shape=()):
        """Indices drawn by ``torch.multinomial`` with replacement, PyTorch's stream."""
        sample_shape = tuple(sample_shape)
        n = math.prod(sample_shape)
        with _tg.no_grad():
            probs_2d = self.probs.reshape(-1, self._num_events)
            samples_2d = _tg.multinomial(probs_2d, n, True).T
            return samples_2d.reshape(tuple(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        """The log-probability of category ``value``."""
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = _tg.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        """``-sum(p log p)``; infinite logits of zero-probability classes contribute 0."""
        min_real = _tg.finfo(self.logits.dtype).min
        logits = self.logits.clamp(min=min_real)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True):
        """Every category along a new leftmost dimension, broadcast over the batch."""
        values = _tg.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
