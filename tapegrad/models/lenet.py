"""LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, as usually written today."""

from __future__ import annotations

from .. import nn
from .._tensor import Tensor


class LeNet5(nn.Module):
    """LeNet-5: two 5×5 convolutions (6 and 16 maps) with 2×2 max pooling, then fully
    connected layers of 120, 84 and ``num_classes`` units.

    Names follow the PyTorch tutorial's LeNet (``conv1``, ``conv2``, ``fc1``..``fc3``).
    ``image_size=28`` pads the first convolution by 2, so that MNIST's 28×28 images
    become the 32×32 inputs of the paper; ``image_size=32`` (CIFAR) does not pad.

    Args:
        in_channels: Channels of the input images.
        num_classes: Number of output classes (logits).
        image_size: 28 (MNIST: the first convolution pads by 2) or 32 (CIFAR: no padding).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28):
        super().__init__()
        if image_size not in (28, 32):
            raise ValueError(f"LeNet5 expects image_size 28 or 32, got {image_size}")
        self.conv1 = nn.Conv2d(in_channels, 6, kernel_size=5, padding=(32 - image_size) // 2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool = nn.MaxPool2d(kernel_size=2)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


def lenet5(in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> LeNet5:
    """LeNet-5 for 28×28 (MNIST) or 32×32 (CIFAR) images.

    Args:
        in_channels: Channels of the input images.
        num_classes: Number of output classes (logits).
        image_size: 28 (MNIST: the first convolution pads by 2) or 32 (CIFAR: no padding).

    Returns:
        A ``LeNet5``.
    """
    return LeNet5(in_channels, num_classes, image_size)
