"""The current accelerator (mirrors ``torch.accelerator``): a CUDA GPU through CuPy, or
none (``is_available()`` ``False``, ``current_accelerator()`` ``None``)."""

from __future__ import annotations

from . import cuda
from ._device import device

__all__ = [
    "current_accelerator",
    "current_device_index",
    "device_count",
    "is_available",
    "synchronize",
]


def is_available() -> bool:
    """Whether an accelerator can be used (``torch.accelerator.is_available``)."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device('cuda')`` where a GPU is usable, else ``None``
    (``torch.accelerator.current_accelerator``)."""
    return device("cuda") if cuda.is_available() else None


def device_count() -> int:
    """The number of accelerator devices (``torch.accelerator.device_count``)."""
    return cuda.device_count()


def current_device_index() -> int:
    """The current accelerator's index (``torch.accelerator.current_device_index``)."""
    _require()
    return cuda.current_device()


def _require() -> None:
    if not is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def synchronize(device=None) -> None:
    """Wait for the accelerator's queued work (``torch.accelerator.synchronize``)."""
    _require()
    cuda.synchronize(device)
