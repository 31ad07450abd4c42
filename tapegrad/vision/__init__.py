"""torchvision's layout over tapegrad's vision parts (mirrors ``torchvision``).

``tapegrad.vision.datasets``, ``.transforms`` and ``.models`` are tapegrad's
``datasets``, ``transforms`` and ``models``; ``.utils`` holds ``make_grid`` and
``save_image``. Under ``tapegrad run``, ``import torchvision`` gives this package.
"""

from .. import datasets, models, transforms
from . import utils

__version__ = "0.0.0+tapegrad"

__all__ = ["datasets", "models", "transforms", "utils"]
