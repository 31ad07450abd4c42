"""Utilities (mirrors ``torch.utils``): ``tapegrad.utils.data``, ``.checkpoint``,
``.dlpack``, and ``save_image`` / ``make_grid`` from ``torchvision.utils``."""

from . import checkpoint, data, dlpack
from .image import make_grid, save_image

__all__ = ["checkpoint", "data", "dlpack", "make_grid", "save_image"]
