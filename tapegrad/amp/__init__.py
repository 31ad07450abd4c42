"""Automatic mixed precision (mirrors ``torch.amp``): ``autocast`` and ``GradScaler``."""

from __future__ import annotations

from .autocast_mode import autocast, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "is_autocast_available"]
