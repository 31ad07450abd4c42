"""``torch.distributed.GradBucket``: what a DDP communication hook receives."""

from __future__ import annotations

from .._tensor import Tensor

__all__ = ["GradBucket"]


class GradBucket:
    """The gradients of some parameters, flattened into one 1-D buffer, handed to a
    communication hook (``torch.distributed.GradBucket``). The hook reduces
    :meth:`buffer` (the local, not yet averaged gradients) and returns a future of the
    reduced buffer, which DDP writes back into the parameters' ``.grad``.

    Args:
        index: the bucket's index (0 is the bucket of the last parameters, reduced first).
        buffer: the flat gradients.
        parameters: the bucket's parameters, in buffer order.
        offsets: where each parameter's gradient starts in the buffer (one more entry: the end).
        is_last: whether this is the last bucket of the backward pass.
    """

    def __init__(
        self,
        index: int,
        buffer: Tensor,
        parameters: list[Tensor],
        offsets: list[int],
        is_last: bool,
    ) -> None:
        self._index = index
        self._buffer = buffer
        self._parameters = parameters
        self._offsets = offsets
        self._is_last = is_last

    def index(self) -> int:
        """The bucket's index; the first reduced is 0."""
        return self._index

    def buffer(self) -> Tensor:
        """The flat 1-D gradients of the bucket."""
        return self._buffer

    def gradients(self) -> list[Tensor]:
        """Each parameter's gradient: a view of :meth:`buffer` in the parameter's shape."""
        flat = self._buffer
        return [
            flat[start:stop].view(tuple(p.shape))
            for p, start, stop in zip(self._parameters, self._offsets[:-1], self._offsets[1:])
        ]

    def parameters(self) -> list[Tensor]:
        """The parameters whose gradients the bucket holds."""
        return list(self._parameters)

    def is_last(self) -> bool:
        """Whether this bucket is reduced last in the backward pass."""
        return self._is_last

    def set_buffer(self, buffer: Tensor) -> None:
        """Replace the flat buffer (what :meth:`buffer` and :meth:`gradients` then show)."""
        if not isinstance(buffer, Tensor) or buffer.numel() != self._buffer.numel():
            raise RuntimeError(
                f"GradBucket.set_buffer: expected a tensor of {self._buffer.numel()} elements, "
                f"got {getattr(buffer, 'shape', type(buffer).__name__)}"
            )
        self._buffer = buffer

    def __repr__(self) -> str:
        return f"GradBucket(index={self._index}, numel={self._buffer.numel()})"
