"""The binomial distribution (``torch.distributions.Binomial``)."""

from __future__ import annotations

import tapegrad as _tg

from . import constraints
from .bernoulli import _BinaryParameters, _one_of
from .exp_family import _ExponentialFamily
from .utils import broadcast_all


class Binomial(_BinaryParameters, _ExponentialFamily):
    """The number of successes in ``total_count`` independent trials of probability
    ``probs`` (or ``sigmoid(logits)``).

    Args:
        total_count: the number of trials (a non-negative integer, possibly batched).
        probs: the success probability (exactly one of ``probs`` and ``logits``).
        logits: the log-odds of success.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args: bool | None = None):
        _one_of(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.to(self.probs.dtype)
            param = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.to(self.logits.dtype)
            param = self.logits
        super().__init__(param.shape, validate_args=validate_args)

    @constraints.dependent_property
    def support(self):
        """The integers ``0 .. total_count``."""
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        """``total_count * probs``."""
        return self.total_count * self.probs

    @property
    def mode(self):
        """``floor((total_count + 1) * probs)``, at most ``total_count``."""
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        """``total_count * probs * (1 - probs)``."""
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """Counts drawn by ``torch.binomial``."""
        shape = tuple(self._extended_shape(sample_shape))
        with _tg.no_grad():
            return _tg.binomial(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value):
        """``log C(n, k) + k logits - n softplus(logits)``: the binomial mass written in
        the logits, stable for probabilities near 0 and 1."""
        if self._validate_args:
            self._validate_sample(value)
        n = self.total_count
        log_choose = _tg.lgamma(n + 1) - _tg.lgamma(value + 1) - _tg.lgamma(n - value + 1)
        softplus = _tg.nn.functional.softplus(self.logits)
        return log_choose + value * self.logits - n * softplus

    def entropy(self):
        """The entropy, summed over the support (all ``total_count`` must be equal)."""
        total = int(self.total_count.max().item())
        if not bool((self.total_count == total).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True):
        """The counts ``0 .. total_count`` along a new leftmost dimension (all
        ``total_count`` must be equal)."""
        total = int(self.total_count.max().item())
        if not bool((self.total_count == total).all()):
            raise NotImplementedError(
                "Inhomogeneous total count not supported by `enumerate_support`."
            )
        values = _tg.arange(1 + total, dtype=self.total_count.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
