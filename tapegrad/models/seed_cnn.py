"""The MNIST convolutional network of the course's first lecture (about 1% test error)."""

from __future__ import annotations

from .. import nn


class SeedCNN(nn.Sequential):
    """The seed's MNIST CNN, an ``nn.Sequential`` of 28×28 images to 10 logits:

        Conv2d(1, 32, 5), MaxPool2d(3), ReLU,
        Conv2d(32, 64, 5), MaxPool2d(2), ReLU,
        Flatten, Linear(256, 200), ReLU, Linear(200, 10)

    The lecture trains it with SGD (lr 0.1, batch 100) for 10 epochs on inputs
    normalised by the training set's mean and standard deviation.

    Args:
        in_channels: Channels of the input images.
        num_classes: Number of output classes (logits).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__(
            nn.Conv2d(in_channels, 32, kernel_size=5),
            nn.MaxPool2d(kernel_size=3),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=5),
            nn.MaxPool2d(kernel_size=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(256, 200),
            nn.ReLU(),
            nn.Linear(200, num_classes),
        )


def seed_cnn(in_channels: int = 1, num_classes: int = 10) -> SeedCNN:
    """The seed MNIST CNN (28×28 inputs).

    Args:
        in_channels: Channels of the input images.
        num_classes: Number of output classes (logits).

    Returns:
        A ``SeedCNN``.
    """
    return SeedCNN(in_channels, num_classes)
