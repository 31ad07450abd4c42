"""VGG-11 and VGG-16 (Simonyan and Zisserman, 2014), as in ``torchvision.models.vgg``."""

from __future__ import annotations

from .. import nn
from .._tensor import Tensor
from . import _weights
from ._weights import VGG11_BN_Weights, VGG11_Weights, VGG16_BN_Weights, VGG16_Weights

# Output channels of each 3×3 convolution; "M" is a 2×2 max pooling.
CONFIGS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M"]
    + [512, 512, 512, "M"],
}


def make_layers(cfg: list[int | str], batch_norm: bool = False, in_channels: int = 3):
    """The ``features`` of a VGG (``torchvision.models.vgg.make_layers``)."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG network (``torchvision.models.VGG``): ``features``, ``avgpool``, ``classifier``.

    With the defaults it is torchvision's ImageNet model (7×7 pooled maps, 4096 hidden
    units). For 32×32 images use ``pool_size=1, hidden=512`` (what ``vgg11(cifar=True)``
    does): the five poolings leave 1×1 maps, so pooling to 7×7 would only copy them.

    Args:
        features: The convolutional part (``make_layers``'s output).
        num_classes: Number of output classes (logits).
        init_weights: Initialise the weights as torchvision does.
        dropout: Dropout probability of the classifier.
        pool_size: Side of the adaptive average pooling before the classifier.
        hidden: Units of the two hidden layers of the classifier.
    """

    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 1000,
        init_weights: bool = True,
        dropout: float = 0.5,
        pool_size: int = 7,
        hidden: int = 4096,
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Linear(512 * pool_size * pool_size, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_weights:
            # torchvision's initialisation.
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def _vgg(
    cfg: str, batch_norm: bool, num_classes: int, cifar: bool, in_channels: int,
    weights, progress: bool, enums: tuple[type, type], **kwargs,
) -> VGG:  # fmt: skip
    # enums: the weights of the plain and the batch-normalised variant.
    kwargs["num_classes"] = num_classes
    chosen = _weights.resolve(enums[batch_norm], weights, kwargs)
    if chosen is not None and cifar:
        raise ValueError("pretrained ImageNet weights need the ImageNet layout: cifar=False")
    if cifar:
        kwargs = {"pool_size": 1, "hidden": 512, **kwargs}
    features = make_layers(CONFIGS[cfg], batch_norm=batch_norm, in_channels=in_channels)
    return _weights.load(VGG(features, **kwargs), chosen, progress)


def vgg11(
    num_classes: int = 1000,
    batch_norm: bool = False,
    cifar: bool = False,
    in_channels: int = 3,
    *,
    weights: VGG11_Weights | VGG11_BN_Weights | str | None = None,
    progress: bool = True,
    **kwargs,
) -> VGG:
    """VGG-11 (``torchvision.models.vgg11``; ``batch_norm=True`` is ``vgg11_bn``);
    ``weights=VGG11_Weights.DEFAULT`` loads PyTorch's ImageNet weights.

    Args:
        num_classes: Number of output classes (logits).
        batch_norm: Add batch normalisation after each convolution.
        cifar: The 32×32 variant (``pool_size=1``, 512 hidden units).
        in_channels: Channels of the input images.
        weights: Pretrained weights: a ``*_Weights`` member, its name as a string, or ``None``.
        progress: Show a progress bar while downloading the weights.
        **kwargs: Passed to the model's class.

    Returns:
        A ``VGG``.
    """
    enums = (VGG11_Weights, VGG11_BN_Weights)
    return _vgg("vgg11", batch_norm, num_classes, cifar, in_channels, weights, progress, enums,
                **kwargs)  # fmt: skip


def vgg16(
    num_classes: int = 1000,
    batch_norm: bool = False,
    cifar: bool = False,
    in_channels: int = 3,
    *,
    weights: VGG16_Weights | VGG16_BN_Weights | str | None = None,
    progress: bool = True,
    **kwargs,
) -> VGG:
    """VGG-16 (``torchvision.models.vgg16``; ``batch_norm=True`` is ``vgg16_bn``);
    ``weights=VGG16_Weights.DEFAULT`` loads PyTorch's ImageNet weights.

    Args:
        num_classes: Number of output classes (logits).
        batch_norm: Add batch normalisation after each convolution.
        cifar: The 32×32 variant (``pool_size=1``, 512 hidden units).
        in_channels: Channels of the input images.
        weights: Pretrained weights: a ``*_Weights`` member, its name as a string, or ``None``.
        progress: Show a progress bar while downloading the weights.
        **kwargs: Passed to the model's class.

    Returns:
        A ``VGG``.
    """
    enums = (VGG16_Weights, VGG16_BN_Weights)
    return _vgg("vgg16", batch_norm, num_classes, cifar, in_channels, weights, progress, enums,
                **kwargs)  # fmt: skip


def vgg11_bn(num_classes: int = 1000, **kwargs) -> VGG:
    """VGG-11 with batch normalisation (``torchvision.models.vgg11_bn``).

    Args:
        num_classes: Number of output classes (logits).
        **kwargs: Passed to the model's class.

    Returns:
        A ``VGG``.
    """
    return vgg11(num_classes, batch_norm=True, **kwargs)


def vgg16_bn(num_classes: int = 1000, **kwargs) -> VGG:
    """VGG-16 with batch normalisation (``torchvision.models.vgg16_bn``).

    Args:
        num_classes: Number of output classes (logits).
        **kwargs: Passed to the model's class.

    Returns:
        A ``VGG``.
    """
    return vgg16(num_classes, batch_norm=True, **kwargs)
