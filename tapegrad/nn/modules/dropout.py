"""Dropout layers: Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = [
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
]


class _DropoutNd(Module):
    """Shared constructor of the dropout layers (``torch.nn.modules.dropout._DropoutNd``)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero elements with probability p in training, scale by 1/(1-p) (``nn.Dropout``).

    Args:
        p: Probability of an element being zeroed.
        inplace: Modify the input in place.
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) inputs in training (``nn.Dropout1d``).

    Args:
        p: Probability of an element being zeroed.
        inplace: Modify the input in place.
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) inputs in training (``nn.Dropout2d``).

    Args:
        p: Probability of an element being zeroed.
        inplace: Modify the input in place.
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) inputs in training (``nn.Dropout3d``).

    Args:
        p: Probability of an element being zeroed.
        inplace: Modify the input in place.
    """

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU's zero mean and unit variance (``nn.AlphaDropout``).

    Args:
        p: Probability of an element being dropped.
        inplace: Modify the input in place.
    """

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Channel-wise alpha dropout (``nn.FeatureAlphaDropout``).

    Args:
        p: Probability of an element being dropped.
        inplace: Modify the input in place.
    """

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
