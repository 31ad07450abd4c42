"""CPU device queries (mirrors ``torch.cpu``)."""

from __future__ import annotations

__all__ = ["current_device", "device_count", "is_available", "synchronize"]


def is_available() -> bool:
    """``True``: tapegrad always runs on the CPU (``torch.cpu.is_available``)."""
    return True


def device_count() -> int:
    """One CPU device (``torch.cpu.device_count``)."""
    return 1


def current_device() -> str:
    """``"cpu"`` (``torch.cpu.current_device``)."""
    return "cpu"


def synchronize(device=None) -> None:
    """Nothing to wait for: CPU work is synchronous (``torch.cpu.synchronize``)."""


from .amp import cpu_amp as amp  # noqa: E402, F401 - torch.cpu.amp (deprecated spelling)
