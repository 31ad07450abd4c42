"""Utilities (mirrors ``torch.utils``): ``tapegrad.utils.data``, ``tapegrad.utils.dlpack``,
and ``save_image`` / ``make_grid`` from ``torchvision.utils``."""

from . import data, dlpack
from .image import make_grid, save_image

__all__ = ["data", "dlpack", "make_grid", "save_image"]
