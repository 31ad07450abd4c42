"""The location-scale parameterisation shared by Normal and Laplace."""

from __future__ import annotations

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


class _LocationScale(Distribution):
    """A real-valued distribution with a real ``loc`` (its mean and mode) and a positive
    ``scale``, reparameterised as ``loc + scale * noise``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self):
        """The mean, ``loc``."""
        return self.loc

    @property
    def mode(self):
        """The mode, ``loc``."""
        return self.loc
