"""Utilities (mirrors ``torch.utils``): ``tapegrad.utils.data``, ``.checkpoint``,
``.dlpack``, and ``save_image`` / ``make_grid`` from ``torchvision.utils``.
``tapegrad.utils.tensorboard`` (the ``[tensorboard]`` extra) is imported by name, as in
PyTorch."""

from . import checkpoint, data, dlpack
from .image import make_grid, save_image

__all__ = ["checkpoint", "data", "dlpack", "make_grid", "save_image"]
