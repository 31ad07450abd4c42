"""Image and target transforms (mirrors ``torchvision.transforms``):

>>> from tapegrad import transforms
>>> t = transforms.Compose([transforms.RandomCrop(32, padding=4),
...                         transforms.RandomHorizontalFlip(),
...                         transforms.ToTensor(),
...                         transforms.Normalize((0.5,), (0.5,))])
"""

from . import functional
from .transforms import (
    CenterCrop,
    Compose,
    GaussianNoise,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomCrop,
    RandomHorizontalFlip,
    RandomLabelNoise,
    RandomVerticalFlip,
    ToTensor,
)

__all__ = [
    "CenterCrop",
    "Compose",
    "GaussianNoise",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomLabelNoise",
    "RandomVerticalFlip",
    "ToTensor",
    "functional",
]
