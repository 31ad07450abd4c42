"""``torch.cpu.amp`` (deprecated): ``autocast`` and ``GradScaler`` for the CPU."""

from __future__ import annotations

from ._deprecated import CPUAutocast as autocast
from ._deprecated import CPUGradScaler as GradScaler

__all__ = ["GradScaler", "autocast"]
