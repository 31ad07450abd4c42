"""The Bernoulli distribution (``torch.distributions.Bernoulli``)."""

from __future__ import annotations

import tapegrad as _tg

from . import constraints
from .exp_family import _ExponentialFamily
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class _BinaryParameters:
    """The success probability given as ``probs`` or as log-odds ``logits``, the other
    derived on first use (Bernoulli, Binomial)."""

    @lazy_property
    def logits(self):
        """The log-odds of success, derived from ``probs`` when those were given."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """The success probability, derived from ``logits`` when those were given."""
        return logits_to_probs(self.logits, is_binary=True)


class Bernoulli(_BinaryParameters, _ExponentialFamily):
    """A coin flip: 1 with probability ``probs`` (or ``sigmoid(logits)``), else 0.

    Args:
        probs: the probability of 1 (exactly one of ``probs`` and ``logits``).
        logits: the log-odds of 1.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None):
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            param = self.logits
        super().__init__(param.shape, validate_args=validate_args)

    @property
    def param_shape(self) -> _tg.Size:
        """The shape of the parameter tensor."""
        return self.probs.shape

    @property
    def mean(self):
        """The mean, ``probs``."""
        return self.probs

    @property
    def mode(self):
        """1 where ``probs > 0.5``, 0 below, NaN at exactly 0.5 (two modes)."""
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return _tg.where(self.probs == 0.5, _tg.full_like(mode, float("nan")), mode)

    @property
    def variance(self):
        """``probs * (1 - probs)``."""
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """A sample drawn by ``torch.bernoulli``, PyTorch's stream for this distribution."""
        shape = self._extended_shape(sample_shape)
        with _tg.no_grad():
            return _tg.bernoulli(self.probs.expand(tuple(shape)))

    def log_prob(self, value):
        """``value * log(p) + (1 - value) * log(1 - p)``, computed stably from the logits."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_tg.nn.functional.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        """The entropy in nats."""
        return _tg.nn.functional.binary_cross_entropy_with_logits(
            self.logits, self.probs, reduction="none"
        )

    def enumerate_support(self, expand: bool = True):
        """The values 0 and 1 along a new leftmost dimension, broadcast over the batch."""
        values = _tg.arange(2, dtype=self.probs.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
