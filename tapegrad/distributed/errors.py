"""``torch.distributed``'s exception classes, for programs that catch them.

PyTorch raises ``DistBackendError`` from a failed collective, ``DistNetworkError`` from a
failed connection and ``DistStoreError`` from a key-value store; programs write
``except dist.DistError``. tapegrad's own failures keep their documented types (a
``RuntimeError`` naming the failed rank, which these classes also are).
"""

from __future__ import annotations

__all__ = ["DistError", "DistBackendError", "DistNetworkError", "DistStoreError", "QueueEmptyError"]


class DistError(RuntimeError):
    """Base class of the distributed errors (``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """A backend failed (``torch.distributed.DistBackendError``)."""


class DistNetworkError(DistError):
    """A network operation failed (``torch.distributed.DistNetworkError``)."""


class DistStoreError(DistError):
    """A key-value store operation failed (``torch.distributed.DistStoreError``)."""


class QueueEmptyError(DistStoreError):
    """A store queue was empty (``torch.distributed.QueueEmptyError``)."""
