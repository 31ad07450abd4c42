"""Readers of standard image datasets (mirrors ``torchvision.datasets``).

MNIST, Fashion-MNIST and KMNIST from their IDX files, CIFAR-10 and CIFAR-100 from their
"python version" batches. Items are ``(img, target)`` with ``img`` a raw ``uint8`` tensor
image, (H, W) for the MNIST family and (C, H, W) for CIFAR (torchvision gives a PIL image;
tapegrad has no PIL, so ``tapegrad.transforms`` receive the tensor); ``FakeData`` gives
random images, ``ImageFolder`` / ``DatasetFolder`` read a folder per class (PIL images,
through Pillow, an optional extra). A DataLoader reads
whole batches at once when the transform is deterministic (``ToTensor``, ``Normalize``...).
"""

from ._utils import VisionDataset
from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import DatasetFolder, ImageFolder
from .mnist import KMNIST, MNIST, FashionMNIST

__all__ = [
    "MNIST",
    "FashionMNIST",
    "KMNIST",
    "CIFAR10",
    "CIFAR100",
    "DatasetFolder",
    "FakeData",
    "ImageFolder",
    "VisionDataset",
]
