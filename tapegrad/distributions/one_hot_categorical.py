"""The one-hot categorical distribution (``torch.distributions.OneHotCategorical``)."""

from __future__ import annotations

import tapegrad as _tg

from . import constraints
from .categorical import Categorical
from .distribution import Distribution


class OneHotCategorical(Distribution):
    """A :class:`Categorical` whose draws are one-hot vectors of length ``K`` instead of
    indices (event shape ``(K,)``).

    Args:
        probs: non-negative weights, shape ``batch_shape + (K,)``.
        logits: unnormalised log-probabilities, shape ``batch_shape + (K,)``.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        param = self._categorical.param_shape
        super().__init__(param[:-1], param[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """The distribution with its batch broadcast to ``batch_shape``."""
        new = type(self).__new__(type(self))
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def probs(self):
        """The normalised probabilities."""
        return self._categorical.probs

    @property
    def logits(self):
        """The normalised log-probabilities."""
        return self._categorical.logits

    @property
    def param_shape(self) -> _tg.Size:
        """``batch_shape + (K,)``."""
        return self._categorical.param_shape

    @property
    def mean(self):
        """The probabilities."""
        return self._categorical.probs

    @property
    def mode(self):
        """The one-hot vector of the most likely category."""
        probs = self._categorical.probs
        return _tg.nn.functional.one_hot(probs.argmax(-1), probs.shape[-1]).to(probs.dtype)

    @property
    def variance(self):
        """``probs * (1 - probs)``."""
        probs = self._categorical.probs
        return probs * (1 - probs)

    def sample(self, sample_shape=()):
        """Categorical indices (PyTorch's stream) turned one-hot."""
        probs = self._categorical.probs
        indices = self._categorical.sample(sample_shape)
        return _tg.nn.functional.one_hot(indices, probs.shape[-1]).to(probs.dtype)

    def log_prob(self, value):
        """The log-probability of the category marked in the one-hot ``value``."""
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        """The categorical entropy."""
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True):
        """The ``K`` one-hot vectors along a new leftmost dimension."""
        n = self._event_shape[0]
        values = _tg.eye(n, dtype=self._categorical.probs.dtype)
        values = values.reshape((n,) + (1,) * len(self._batch_shape) + (n,))
        if expand:
            values = values.expand((n,) + tuple(self._batch_shape) + (n,))
        return values
