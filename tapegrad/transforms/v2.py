"""torchvision's second transforms API (mirrors ``torchvision.transforms.v2``) for the
transforms tapegrad has, plus v2's ``ToImage`` and ``ToDtype``:

    >>> from tapegrad.transforms import v2
    >>> t = v2.Compose([v2.ToImage(), v2.ToDtype(tapegrad.float32, scale=True),
    ...                 v2.Normalize((0.5,), (0.5,))])
"""

from __future__ import annotations

import tapegrad

from . import transforms as _v1
from .transforms import *  # noqa: F403  (v2 keeps the v1 names)
from .transforms import PILToTensor

__all__ = [*_v1.__all__, "ToDtype", "ToImage"]


class ToImage(PILToTensor):
    """An image (PIL, ndarray (H, W[, C]) or tensor) as a (C, H, W) tensor of the same
    dtype, values unchanged (``torchvision.transforms.v2.ToImage``)."""


class ToDtype:
    """Convert a tensor image to ``dtype`` (``torchvision.transforms.v2.ToDtype``); with
    ``scale=True`` integer images are mapped from [0, max of their dtype] onto [0, 1].

    Args:
        dtype: The dtype to convert to.
        scale: Rescale the values to the new dtype's range (``uint8`` 0..255 to floats in [0,
            1]).
    """

    _batchable = True

    def __init__(self, dtype: tapegrad.dtype, scale: bool = False) -> None:
        self.dtype = dtype
        self.scale = scale

    def __call__(self, inpt: tapegrad.Tensor) -> tapegrad.Tensor:
        if not isinstance(inpt, tapegrad.Tensor):
            return inpt  # v2 passes non-tensor inputs (labels, ...) through
        src = inpt.dtype
        out = inpt.to(self.dtype)
        if self.scale and self.dtype.is_floating_point and not src.is_floating_point:
            if src != tapegrad.bool:
                out = out / tapegrad.iinfo(src).max
        return out

    def _apply_batch(self, batch: tapegrad.Tensor) -> tapegrad.Tensor:
        return self(batch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dtype={self.dtype}, scale={self.scale})"
