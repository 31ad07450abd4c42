"""Utilities (mirrors ``torch.utils``): ``tapegrad.utils.data``, and ``save_image`` /
``make_grid`` from ``torchvision.utils``."""

from . import data
from .image import make_grid, save_image

__all__ = ["data", "make_grid", "save_image"]
