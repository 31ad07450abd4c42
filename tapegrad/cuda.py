"""GPU queries (mirrors ``torch.cuda``): a GPU is available when CuPy sees one.

Without one, the queries answer as PyTorch does on a CPU-only machine
(``is_available()`` is ``False``, ``device_count()`` 0, memory counters 0) and the calls
that need a device raise PyTorch's ``AssertionError`` ("Torch not compiled with CUDA
enabled"), with what to install.
"""

from __future__ import annotations

from . import backend

__all__ = [
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "is_available",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "memory_allocated",
    "memory_reserved",
    "reset_peak_memory_stats",
    "seed",
    "seed_all",
    "set_device",
    "synchronize",
]


def is_available() -> bool:
    """Whether a CUDA device can be used (``torch.cuda.is_available``)."""
    return backend.cupy_available()


def device_count() -> int:
    """The number of CUDA devices (``torch.cuda.device_count``)."""
    if not is_available():
        return 0
    return int(backend.get_cupy().cuda.runtime.getDeviceCount())


def is_initialized() -> bool:
    """Whether CUDA has been initialised (``torch.cuda.is_initialized``)."""
    return is_available()


def current_device() -> int:
    """The index of the current CUDA device (``torch.cuda.current_device``)."""
    return int(backend.get_cupy().cuda.runtime.getDevice())


def set_device(device) -> None:
    """Make ``device`` the current CUDA device (``torch.cuda.set_device``).

    Args:
        device: A device or its index.
    """
    index = device if isinstance(device, int) else (device_index(device) or 0)
    backend.get_cupy().cuda.runtime.setDevice(index)


def device_index(device) -> int | None:
    from ._device import to_device

    return to_device(device).index


def get_device_name(device=None) -> str:
    """The name of a CUDA device (``torch.cuda.get_device_name``).

    Args:
        device: A device, its index or its name (default: the current device).

    Returns:
        The GPU's name.
    """
    cupy = backend.get_cupy()
    index = current_device() if device is None else (device_index(device) or 0)
    name = cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait for the GPU's queued work (``torch.cuda.synchronize``); without a GPU,
    PyTorch's "not compiled with CUDA" ``AssertionError``.

    Args:
        device: A device, its index or its name (default: the current device).
    """
    backend.get_cupy().cuda.Device().synchronize()


def empty_cache() -> None:
    """Release cached GPU memory (``torch.cuda.empty_cache``)."""
    if is_available():
        backend.get_cupy().get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes held by tensors on the GPU (``torch.cuda.memory_allocated``); 0 without one.

    Args:
        device: A device, its index or its name (default: the current device).

    Returns:
        A number of bytes.
    """
    if not is_available():
        return 0
    return int(backend.get_cupy().get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes reserved by the allocator (``torch.cuda.memory_reserved``); 0 without a GPU.

    Args:
        device: A device, its index or its name (default: the current device).

    Returns:
        A number of bytes.
    """
    if not is_available():
        return 0
    return int(backend.get_cupy().get_default_memory_pool().total_bytes())


def max_memory_allocated(device=None) -> int:
    """Peak bytes held by tensors (``torch.cuda.max_memory_allocated``): tapegrad does not
    track the peak, so this is the current value (0 without a GPU).

    Args:
        device: A device, its index or its name (default: the current device).

    Returns:
        A number of bytes.
    """
    return memory_allocated(device)


def reset_peak_memory_stats(device=None) -> None:
    """Reset the peak counters (``torch.cuda.reset_peak_memory_stats``); nothing is kept.

    Args:
        device: A device, its index or its name (default: the current device).
    """


def manual_seed(seed: int) -> None:
    """Seed the generator (``torch.cuda.manual_seed``): tapegrad has one, the CPU's.

    Args:
        seed: The seed.
    """
    from ._random import manual_seed as _manual_seed

    _manual_seed(seed)


manual_seed_all = manual_seed


def seed() -> None:
    """Seed from the OS (``torch.cuda.seed``): tapegrad has one generator, the CPU's."""
    from ._random import seed as _seed

    _seed()


seed_all = seed


from .amp import cuda_amp as amp  # noqa: E402, F401 - torch.cuda.amp (deprecated spelling)
