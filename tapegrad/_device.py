"""Device objects (mirrors ``torch.device``); each knows its array module."""

from __future__ import annotations

from . import backend


class device:  # noqa: N801 - mirrors torch.device
    """Where a tensor lives: ``device('cpu')`` or ``device('cuda', 0)``.

    Args:
        type: ``'cpu'`` or ``'cuda'``, optionally with an index (``'cuda:0'``), or another
            ``device`` to copy.
        index: the device index, when ``type`` has none.
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None):  # noqa: A002
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() expected a string like 'cpu' or 'cuda:0', got {type!r}")
        if ":" in type:
            type, idx = type.split(":", 1)
            if index is not None:
                raise RuntimeError("device string has an index and an index was also given")
            try:
                index = int(idx)
            except ValueError:
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'") from None
        if type not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}"
            )
        self.type, self.index = type, index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (
            self.index == other.index or None in (self.index, other.index) and self.type == "cpu"
        )

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    @property
    def xp(self):
        """The array module of this device."""
        return backend.numpy if self.type == "cpu" else backend.get_cupy()


cpu = device("cpu")


def to_device(d) -> device:
    """Accept a device, a string or an int (a CUDA index)."""
    if d is None or isinstance(d, device):
        return d or cpu
    if isinstance(d, int):
        return device("cuda", d)
    return device(d)
