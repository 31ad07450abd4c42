"""Distances between pairs of inputs: PairwiseDistance, CosineSimilarity."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["PairwiseDistance", "CosineSimilarity"]


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dim (``nn.PairwiseDistance``).

    Args:
        p: The norm degree.
        eps: Added to the differences, against a zero norm.
        keepdim: Keep the reduced dimension.
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine of the angle between x1 and x2 along ``dim`` (``nn.CosineSimilarity``).

    Args:
        dim: The dimension along which the similarity is computed.
        eps: Lower bound of the norms, against division by zero.
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
