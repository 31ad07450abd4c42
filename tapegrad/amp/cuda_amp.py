"""``torch.cuda.amp`` (deprecated): ``autocast`` and ``GradScaler`` for CUDA."""

from __future__ import annotations

from ._deprecated import CUDAAutocast as autocast
from ._deprecated import CUDAGradScaler as GradScaler

__all__ = ["GradScaler", "autocast"]
