"""Utilities (mirrors ``torch.utils``): ``tapegrad.utils.data``, ``.checkpoint``, and
``save_image`` / ``make_grid`` from ``torchvision.utils``."""

from . import checkpoint, data
from .image import make_grid, save_image

__all__ = ["checkpoint", "data", "make_grid", "save_image"]
