"""Invertible transforms of random variables (``torch.distributions.transforms``).

A transform maps ``x`` in its ``domain`` to ``y`` in its ``codomain`` and knows
``log|dy/dx|`` (``log_abs_det_jacobian``), which is what
:class:`TransformedDistribution` needs to turn a base density into the density of ``y``.
"""

from __future__ import annotations

import math
import numbers

import tapegrad as _tg

from . import constraints
from .utils import clamp_probs, sum_rightmost

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "ComposeTransform",
    "PowerTransform",
    "ExpTransform",
    "SigmoidTransform",
    "TanhTransform",
    "Transform",
]


class Transform:
    """Base class of invertible transforms (``torch.distributions.transforms.Transform``).

    Subclasses implement ``_call`` (forward), ``_inverse`` and ``log_abs_det_jacobian``.

    Attributes:
        domain: the constraint the inputs satisfy.
        codomain: the constraint the outputs satisfy.
        bijective: whether the map is one-to-one and onto.
        sign: +1 for an increasing map, -1 for a decreasing one (scalar transforms).
    """

    domain = constraints.real
    codomain = constraints.real
    bijective = True
    sign = 1

    @property
    def event_dim(self) -> int:
        """How many rightmost dimensions the transform acts on together."""
        return max(self.domain.event_dim, self.codomain.event_dim)

    @property
    def inv(self) -> Transform:
        """The inverse transform."""
        return _InverseTransform(self)

    def __call__(self, x):
        return self._call(x)

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        """``log|dy/dx|`` at ``x`` (with ``y = self(x)``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    # The inverse of a transform, which swaps call and inverse and negates the log-det.
    def __init__(self, transform: Transform):
        self._inv = transform

    @property
    def domain(self):  # type: ignore[override]
        return self._inv.codomain

    @property
    def codomain(self):  # type: ignore[override]
        return self._inv.domain

    @property
    def sign(self):  # type: ignore[override]
        return self._inv.sign

    @property
    def inv(self) -> Transform:
        return self._inv

    def _call(self, x):
        return self._inv._inverse(x)

    def _inverse(self, y):
        return self._inv._call(y)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._inv!r})"


class ExpTransform(Transform):
    """``y = exp(x)``."""

    domain = constraints.real
    codomain = constraints.positive

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        """``x`` (the derivative of exp is exp)."""
        return x


class SigmoidTransform(Transform):
    """``y = sigmoid(x)``, kept strictly inside (0, 1) so the inverse stays finite."""

    domain = constraints.real
    codomain = constraints.unit_interval

    def _call(self, x):
        return clamp_probs(_tg.sigmoid(x))

    def _inverse(self, y):
        finfo = _tg.finfo(y.dtype)
        y = y.clamp(min=finfo.tiny, max=1.0 - finfo.eps)
        return y.log() - _tg.log1p(-y)

    def log_abs_det_jacobian(self, x, y):
        """``log(sigmoid(x) (1 - sigmoid(x))) = -softplus(-x) - softplus(x)``."""
        softplus = _tg.nn.functional.softplus
        return -softplus(-x) - softplus(x)


class TanhTransform(Transform):
    """``y = tanh(x)``."""

    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return _tg.atanh(y)

    def log_abs_det_jacobian(self, x, y):
        """``log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x))``, stable for large ``|x|``."""
        return 2.0 * (math.log(2.0) - x - _tg.nn.functional.softplus(-2.0 * x))


class AffineTransform(Transform):
    """``y = loc + scale * x``.

    Args:
        loc: the shift (number or tensor).
        scale: the scale factor (number or tensor).
        event_dim: how many rightmost dimensions form one event (their log-dets are summed).
    """

    def __init__(self, loc, scale, event_dim: int = 0):
        self.loc = loc
        self.scale = scale
        self._event_dim = event_dim

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        """The number of rightmost dimensions forming one event."""
        return self._event_dim

    @property
    def domain(self):  # type: ignore[override]
        """The reals, as vectors/matrices when ``event_dim > 0``."""
        if self._event_dim == 0:
            return constraints.real
        return constraints.independent(constraints.real, self._event_dim)

    @property
    def codomain(self):  # type: ignore[override]
        """Same as the domain."""
        return self.domain

    @property
    def sign(self):  # type: ignore[override]
        """The sign of ``scale``."""
        if isinstance(self.scale, numbers.Real):
            return 1 if float(self.scale) > 0 else -1 if float(self.scale) < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        """``log|scale|`` per element, summed over the event dimensions."""
        if isinstance(self.scale, numbers.Real):
            result = _tg.full_like(x, math.log(abs(self.scale)))
        else:
            result = self.scale.abs().log().expand(tuple(x.shape))
        return sum_rightmost(result, self._event_dim)


class PowerTransform(Transform):
    """``y = x ** exponent`` on positive numbers.

    Args:
        exponent: the power (a number or a tensor broadcasting against ``x``).
    """

    domain = constraints.positive
    codomain = constraints.positive

    def __init__(self, exponent) -> None:
        self.exponent = exponent

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        """``log|exponent * y / x|`` (the derivative is ``exponent * x ** (exponent - 1)``)."""
        return (self.exponent * y / x).abs().log()


class AbsTransform(Transform):
    """``y = |x|``; not bijective, its inverse picks the non-negative preimage."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = False

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class ComposeTransform(Transform):
    """The transforms of ``parts`` applied in order (``torch.distributions.ComposeTransform``).

    Args:
        parts: a list of transforms; an empty list is the identity.
    """

    def __init__(self, parts) -> None:
        self.parts = list(parts)

    @property
    def domain(self):
        """The first part's domain (real for no parts)."""
        return self.parts[0].domain if self.parts else constraints.real

    @property
    def codomain(self):
        """The last part's codomain (real for no parts)."""
        return self.parts[-1].codomain if self.parts else constraints.real

    @property
    def bijective(self):
        """Whether every part is."""
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        """The product of the parts' signs."""
        s = 1
        for p in self.parts:
            s = s * p.sign
        return s

    def _call(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def _inverse(self, y):
        for p in reversed(self.parts):
            y = p.inv(y)
        return y

    def log_abs_det_jacobian(self, x, y):
        """The parts' terms, each summed over the event dims it does not itself cover."""
        if not self.parts:
            return _tg.zeros_like(x)
        xs = [x]
        for p in self.parts[:-1]:
            xs.append(p(xs[-1]))
        xs.append(y)
        total = None
        event_dim = self.domain.event_dim
        for p, xi, yi in zip(self.parts, xs[:-1], xs[1:]):
            term = sum_rightmost(p.log_abs_det_jacobian(xi, yi), event_dim - p.domain.event_dim)
            total = term if total is None else total + term
            event_dim += p.codomain.event_dim - p.domain.event_dim
        return total

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(p) for p in self.parts)
        return f"{type(self).__name__}(\n    {inner}\n)"
