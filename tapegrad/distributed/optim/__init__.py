"""``torch.distributed.optim``: :class:`ZeroRedundancyOptimizer`, an optimizer whose state
is split over the ranks."""

from .zero_redundancy_optimizer import ZeroRedundancyOptimizer

__all__ = ["ZeroRedundancyOptimizer"]
