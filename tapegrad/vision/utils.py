"""Image grids and files (mirrors ``torchvision.utils``)."""

from ..utils.image import make_grid, save_image

__all__ = ["make_grid", "save_image"]
