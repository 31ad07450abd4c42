"""A distribution pushed through transforms (``torch.distributions.TransformedDistribution``)."""

from __future__ import annotations

import tapegrad as _tg

from . import constraints
from .distribution import Distribution
from .independent import Independent
from .transforms import Transform
from .utils import sum_rightmost


class TransformedDistribution(Distribution):
    """The distribution of ``y = t_n(... t_1(x))`` for ``x`` drawn from ``base_distribution``.

    The log-density follows the change of variables: invert the transforms one by one and
    subtract each ``log|dy/dx|``.

    Args:
        base_distribution: the distribution of ``x``.
        transforms: a :class:`Transform` or a list of them, applied in order.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif not (
            isinstance(transforms, list) and all(isinstance(t, Transform) for t in transforms)
        ):
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
        self.transforms = list(transforms)
        base_event_dim = len(base_distribution.event_shape)
        event_dim = max([base_event_dim] + [t.event_dim for t in self.transforms])
        if event_dim > base_event_dim:
            # A transform acting on vectors makes the base's last batch dims one event.
            base_distribution = Independent(base_distribution, event_dim - base_event_dim)
        self.base_dist = base_distribution
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        cut = len(shape) - event_dim
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """The distribution with its batch broadcast to ``batch_shape``."""
        new = type(self).__new__(type(self)) if _instance is None else _instance
        extra = len(self._event_shape) - len(self.base_dist.event_shape)
        base_batch = tuple(batch_shape) + tuple(self._event_shape)[:extra]
        new.base_dist = self.base_dist.expand(base_batch)
        new.transforms = self.transforms
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self):
        """The codomain of the last transform (the base support when there is none)."""
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        extra = len(self._event_shape) - support.event_dim
        if extra > 0:
            support = constraints.independent(support, extra)
        return support

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        """Whether the base distribution has a reparameterised sampler."""
        return self.base_dist.has_rsample

    def sample(self, sample_shape=()):
        """A base sample pushed through the transforms, outside autograd."""
        with _tg.no_grad():
            x = self.base_dist.sample(sample_shape)
            for transform in self.transforms:
                x = transform(x)
            return x

    def rsample(self, sample_shape=()):
        """A reparameterised base sample pushed through the transforms."""
        x = self.base_dist.rsample(sample_shape)
        for transform in self.transforms:
            x = transform(x)
        return x

    def log_prob(self, value):
        """The base log-density of the inverted value minus each transform's log-det."""
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self._event_shape)
        log_prob = 0.0
        y = value
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            ladj = transform.log_abs_det_jacobian(x, y)
            log_prob = log_prob - sum_rightmost(ladj, event_dim - transform.event_dim)
            y = x
        base_lp = self.base_dist.log_prob(y)
        return log_prob + sum_rightmost(base_lp, event_dim - len(self.base_dist.event_shape))

    def _monotone_sign(self):
        sign = 1
        for transform in self.transforms:
            sign = sign * transform.sign
        return sign

    def cdf(self, value):
        """The base CDF of the inverted value, mirrored when the composite map decreases."""
        for transform in reversed(self.transforms):
            value = transform.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        value = self.base_dist.cdf(value)
        return self._monotone_sign() * (value - 0.5) + 0.5

    def icdf(self, value):
        """The base quantile (mirrored for a decreasing map) pushed through the transforms."""
        value = self._monotone_sign() * (value - 0.5) + 0.5
        value = self.base_dist.icdf(value)
        for transform in self.transforms:
            value = transform(value)
        return value
