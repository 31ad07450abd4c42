"""The base class of all distributions (``torch.distributions.Distribution``)."""

from __future__ import annotations

import warnings

import tapegrad as _tg

from . import constraints


def _as_size(shape) -> _tg.Size:
    return _tg.Size(shape)


class Distribution:
    """A probability distribution over tensors, batched (``torch.distributions.Distribution``).

    A distribution has a ``batch_shape`` (independent, differently parameterised copies)
    and an ``event_shape`` (the shape of one draw); ``sample(sample_shape)`` returns
    ``sample_shape + batch_shape + event_shape``, ``log_prob`` one value per batch entry.

    Args:
        batch_shape: the shape over which parameters are batched.
        event_shape: the shape of a single sample.
        validate_args: check parameters at construction and values given to ``log_prob``
            (and ``cdf``...) against their constraints; ``None`` takes the default set by
            :meth:`set_default_validate_args` (on, as in PyTorch, unless Python runs with -O).
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    arg_constraints: dict = {}
    support = None

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for distributions built later without an
        explicit ``validate_args``."""
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args: bool | None = None):
        self._batch_shape = _as_size(batch_shape)
        self._event_shape = _as_size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()
        super().__init__()

    def _given_parameters(self) -> list:
        # The parameters the user passed (or expand copied): those stored on the instance.
        return [name for name in self.arg_constraints if name in self.__dict__]

    def _check_parameters(self) -> None:
        for name, constraint in self.arg_constraints.items():
            if constraints.is_dependent(constraint) or name not in self.__dict__:
                continue
            value = self.__dict__[name]
            if not isinstance(value, _tg.Tensor):
                continue
            if not bool(constraint.check(value).all()):
                raise ValueError(
                    f"Expected parameter {name} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                    f"constraint {constraint!r}, but found invalid values:\n{value}"
                )

    @property
    def batch_shape(self) -> _tg.Size:
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> _tg.Size:
        """The shape of a single sample, without batching."""
        return self._event_shape

    def expand(self, batch_shape, _instance=None):
        """A distribution with its parameters broadcast to ``batch_shape`` (views, no copy).

        Every parameter the instance holds is expanded to ``batch_shape`` followed by its
        own event dimensions; the new instance is not validated again.
        """
        batch_shape = _as_size(batch_shape)
        new = type(self).__new__(type(self)) if _instance is None else _instance
        new.__dict__.update(self.__dict__)
        n_batch = len(self._batch_shape)
        for name in self.arg_constraints:
            value = self.__dict__.get(name)
            if isinstance(value, _tg.Tensor):
                new.__dict__[name] = value.expand(tuple(batch_shape) + tuple(value.shape[n_batch:]))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _extended_shape(self, sample_shape=()) -> _tg.Size:
        return _tg.Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def sample(self, sample_shape=()):
        """A sample of shape ``sample_shape + batch_shape + event_shape``, outside autograd."""
        with _tg.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        """A reparameterised sample: differentiable with respect to the parameters."""
        raise NotImplementedError

    def sample_n(self, n: int):
        """``n`` samples (deprecated in PyTorch in favour of ``sample((n,))``)."""
        warnings.warn(
            "`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
            FutureWarning,
            stacklevel=2,
        )
        return self.sample(_tg.Size((n,)))

    def log_prob(self, value):
        """The log of the density (or mass) at ``value``, one per batch entry."""
        raise NotImplementedError

    def cdf(self, value):
        """The cumulative distribution function at ``value``."""
        raise NotImplementedError

    def icdf(self, value):
        """The inverse cumulative distribution function at probability ``value``."""
        raise NotImplementedError

    def entropy(self):
        """The entropy, one per batch entry."""
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True):
        """Every value of a discrete support, along a new leftmost dimension."""
        raise NotImplementedError

    def perplexity(self):
        """``exp(entropy)``."""
        return _tg.exp(self.entropy())

    @property
    def mean(self):
        """The mean."""
        raise NotImplementedError(f"{self.__class__} does not implement mean")

    @property
    def mode(self):
        """The mode (the most likely value)."""
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        """The variance."""
        raise NotImplementedError(f"{self.__class__} does not implement variance")

    @property
    def stddev(self):
        """The standard deviation: the square root of the variance."""
        return self.variance.sqrt()

    def _validate_sample(self, value) -> None:
        """Raise PyTorch's ValueError when ``value`` is no tensor, does not broadcast with
        ``batch_shape + event_shape``, or lies outside the support."""
        if not isinstance(value, _tg.Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_start = value.dim() - len(self._event_shape)
        if tuple(value.shape[event_start:]) != tuple(self._event_shape):
            raise ValueError(
                f"The right-most size of value must match event_shape: "
                f"{value.shape} vs {self._event_shape}."
            )
        actual = value.shape
        expected = self._batch_shape + self._event_shape
        for i, j in zip(reversed(tuple(actual)), reversed(tuple(expected))):
            if i != 1 and j != 1 and i != j:
                raise ValueError(
                    "Value is not broadcastable with batch_shape+event_shape: "
                    f"{actual} vs {expected}."
                )
        support = self.support
        if not bool(support.check(value).all()):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape "
                f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                f"distribution {self!r}, but found invalid values:\n{value}"
            )

    def __repr__(self) -> str:
        parts = []
        for name in self._given_parameters():
            value = self.__dict__[name]
            shown = value.item() if value.numel() == 1 else value.size()
            parts.append(f"{name}: {shown}")
        return f"{type(self).__name__}({', '.join(parts)})"
