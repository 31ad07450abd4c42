"""The deprecated per-device spellings ``torch.cpu.amp`` and ``torch.cuda.amp``.

They behave as ``torch.amp.autocast(device, ...)`` / ``torch.amp.GradScaler(device, ...)``
and warn with PyTorch's FutureWarning.
"""

from __future__ import annotations

import warnings

from .. import _dtype as D
from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def _warn(device: str, what: str) -> None:
    warnings.warn(
        f"`torch.{device}.amp.{what}(args...)` is deprecated. Please use "
        f"`torch.amp.{what}('{device}', args...)` instead.",
        FutureWarning,
        stacklevel=3,
    )


class CPUAutocast(_autocast):
    """``torch.cpu.amp.autocast``: deprecated ``torch.autocast("cpu", ...)``.

    Args:
        enabled: Whether casting is on in the region.
        dtype: The lower-precision dtype (bfloat16 by default).
        cache_enabled: Whether casts of parameters are cached.
    """

    def __init__(
        self, enabled: bool = True, dtype: D.dtype = D.bfloat16, cache_enabled: bool = True
    ):
        _warn("cpu", "autocast")
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class CUDAAutocast(_autocast):
    """``torch.cuda.amp.autocast``: deprecated ``torch.autocast("cuda", ...)``.

    Args:
        enabled: Whether casting is on in the region.
        dtype: The lower-precision dtype (float16 by default).
        cache_enabled: Whether casts of parameters are cached.
    """

    def __init__(
        self, enabled: bool = True, dtype: D.dtype = D.float16, cache_enabled: bool = True
    ):
        _warn("cuda", "autocast")
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class CPUGradScaler(_GradScaler):
    """``torch.cpu.amp.GradScaler``: deprecated ``torch.amp.GradScaler("cpu", ...)``.

    Args:
        init_scale: The first scale factor.
        growth_factor: The growth factor (> 1).
        backoff_factor: The backoff factor (< 1).
        growth_interval: Clean steps between growths.
        enabled: Whether the scaler scales.
    """

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        _warn("cpu", "GradScaler")
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


class CUDAGradScaler(_GradScaler):
    """``torch.cuda.amp.GradScaler``: deprecated ``torch.amp.GradScaler("cuda", ...)``.

    Args:
        init_scale: The first scale factor.
        growth_factor: The growth factor (> 1).
        backoff_factor: The backoff factor (< 1).
        growth_interval: Clean steps between growths.
        enabled: Whether the scaler scales.
    """

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        _warn("cuda", "GradScaler")
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )
