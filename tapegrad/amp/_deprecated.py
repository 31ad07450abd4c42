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


class _DeviceAutocast(_autocast):
    """``torch.<device>.amp.autocast``: deprecated ``torch.autocast(<device>, ...)``.

    Args:
        enabled: Whether casting is on in the region.
        dtype: The lower-precision dtype; ``None`` takes the device's PyTorch default.
        cache_enabled: Whether casts of parameters are cached.
    """

    _device = "cpu"
    _default_dtype = D.bfloat16

    def __init__(
        self, enabled: bool = True, dtype: D.dtype | None = None, cache_enabled: bool = True
    ):
        _warn(self._device, "autocast")
        super().__init__(
            self._device,
            enabled=enabled,
            dtype=self._default_dtype if dtype is None else dtype,
            cache_enabled=cache_enabled,
        )


class CPUAutocast(_DeviceAutocast):
    """``torch.cpu.amp.autocast`` (deprecated): bfloat16 by default."""

    _device = "cpu"
    _default_dtype = D.bfloat16


class CUDAAutocast(_DeviceAutocast):
    """``torch.cuda.amp.autocast`` (deprecated): float16 by default."""

    _device = "cuda"
    _default_dtype = D.float16


class _DeviceGradScaler(_GradScaler):
    """``torch.<device>.amp.GradScaler``: deprecated ``torch.amp.GradScaler(<device>, ...)``.

    Args:
        init_scale: The first scale factor.
        growth_factor: The growth factor (> 1).
        backoff_factor: The backoff factor (< 1).
        growth_interval: Clean steps between growths.
        enabled: Whether the scaler scales.
    """

    _for_device = "cpu"

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        _warn(self._for_device, "GradScaler")
        super().__init__(
            self._for_device, init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )


class CPUGradScaler(_DeviceGradScaler):
    """``torch.cpu.amp.GradScaler`` (deprecated)."""

    _for_device = "cpu"


class CUDAGradScaler(_DeviceGradScaler):
    """``torch.cuda.amp.GradScaler`` (deprecated)."""

    _for_device = "cuda"
