"""AlexNet (Krizhevsky et al., 2012), laid out like torchvision's, sized for CIFAR."""

from __future__ import annotations

from .. import nn
from .._tensor import Tensor
from ._weights import AlexNet_Weights


class AlexNet(nn.Module):
    """AlexNet for 32×32 images with torchvision's layer names and indices
    (``features.0`` .. ``features.10``, ``avgpool``, ``classifier.1`` .. ``classifier.6``).

    Five convolutions of 64, 192, 384, 256 and 256 maps as in torchvision's
    ``AlexNet``; the 11×11 stride-4 stem and the 3×3 stride-2 poolings, which would
    shrink a 32×32 image to nothing, become a 3×3 stride-2 convolution and 2×2 poolings,
    leaving 256 maps of 2×2 for the classifier (``hidden`` units, two dropout layers).

    Args:
        num_classes: Number of output classes (logits).
        dropout: Dropout probability of the classifier.
        in_channels: Channels of the input images.
        hidden: Units of the two hidden layers of the classifier.
    """

    def __init__(
        self,
        num_classes: int = 10,
        dropout: float = 0.5,
        in_channels: int = 3,
        hidden: int = 4096,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2),
            nn.Conv2d(64, 192, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 2 * 2, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def alexnet(
    num_classes: int = 10, *, weights: AlexNet_Weights | str | None = None,
    progress: bool = True, **kwargs,
) -> AlexNet:  # fmt: skip
    """The CIFAR-sized ``AlexNet`` (``torchvision.models.alexnet``'s layout). Its layers are
    smaller than torchvision's ImageNet AlexNet, so ``weights`` cannot be loaded into it:
    asking for them raises ``ValueError``.

    Args:
        num_classes: Number of output classes (logits).
        weights: Pretrained weights: a ``*_Weights`` member, its name as a string, or ``None``.
        progress: Show a progress bar while downloading the weights.
        **kwargs: Passed to the model's class.

    Returns:
        An ``AlexNet``.

    Raises:
        ValueError: If ``weights`` is given (no pretrained weights fit this AlexNet).
    """
    if weights is not None or kwargs.pop("pretrained", False):
        raise ValueError(
            "tapegrad's alexnet is the CIFAR-sized variant: torchvision's ImageNet weights "
            f"({weights}) do not fit it; use weights=None"
        )
    return AlexNet(num_classes=num_classes, **kwargs)
