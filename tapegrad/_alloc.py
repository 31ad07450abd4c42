"""Allocation of tensors whose size comes from the user, with PyTorch's errors.

PyTorch refuses a tensor it cannot allocate with ``RuntimeError`` naming its CPU
allocator and the byte count, and a size whose byte count overflows 64 bits with
"Storage size calculation overflowed". NumPy raises ``MemoryError`` or ``ValueError``
instead (and may first try to allocate); :func:`check_allocation` answers as PyTorch
does before anything is allocated, and :func:`allocating` turns NumPy's errors into
PyTorch's for what the check lets through.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["check_allocation", "allocating", "allocation_error"]

_INT64_MAX = 2**63 - 1


def allocation_error(nbytes: int) -> RuntimeError:
    """PyTorch's error for a CPU allocation that failed (``torch.empty(10**12)``)."""
    return RuntimeError(
        "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
        f"memory: you tried to allocate {nbytes} bytes. Error code 12 (Cannot allocate memory)"
    )


def _memory_limit() -> int | None:
    """RAM plus swap: Linux refuses a single allocation larger than that outright."""
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
    swap = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("SwapTotal:"):
                    swap = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    return ram + swap


_LIMIT = _memory_limit()


def check_allocation(shape: Sequence[int], dtype) -> None:
    """Raise PyTorch's ``RuntimeError`` if a tensor of ``shape`` and ``dtype`` cannot exist.

    Sizes are assumed non-negative (checked before, with PyTorch's message).
    """
    itemsize = np.dtype(dtype).itemsize
    numel = math.prod(shape)
    if numel == 0:
        # PyTorch allows any empty size; NumPy caps the product of the other dimensions.
        nonzero = math.prod(s for s in shape if s) * itemsize
        if nonzero > _INT64_MAX:
            raise RuntimeError(
                f"tapegrad cannot create an empty tensor of size {list(shape)}: NumPy, which "
                "holds tapegrad's data, limits the product of the non-zero dimensions to "
                "2**63 bytes (PyTorch has no such limit)"
            )
        return
    nbytes = numel * itemsize
    if numel > _INT64_MAX or nbytes > _INT64_MAX:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)}")
    if _LIMIT is not None and nbytes > _LIMIT:
        raise allocation_error(nbytes)


@contextlib.contextmanager
def allocating(shape: Sequence[int], dtype) -> Iterator[None]:
    """Check ``shape`` first, then turn NumPy's ``MemoryError`` into PyTorch's error."""
    check_allocation(shape, dtype)
    try:
        yield
    except MemoryError:
        raise allocation_error(math.prod(shape) * np.dtype(dtype).itemsize) from None
