"""Pretrained-weight enums and ``weights=`` / ``progress=`` handling (mirrors
``torchvision.models``'s ``ResNet18_Weights`` etc.).

The files are PyTorch's own (``download.pytorch.org``), read from the hub cache that
PyTorch also uses (``~/.cache/torch/hub/checkpoints``) or downloaded there; without a
network and without the file, the error says where to put it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "AlexNet_Weights",
    "ResNet18_Weights",
    "VGG11_BN_Weights",
    "VGG11_Weights",
    "VGG16_BN_Weights",
    "VGG16_Weights",
    "Weights",
    "WeightsEnum",
    "get_weight",
]

_URL = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class Weights:
    """Where a set of pretrained weights lives and what it was trained for."""

    url: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def num_classes(self) -> int:
        return self.meta.get("num_classes", 1000)


class WeightsEnum(Enum):
    """Base of the ``*_Weights`` enums (``torchvision.models.WeightsEnum``)."""

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta

    def get_state_dict(self, progress: bool = True, check_hash: bool = True) -> dict:
        """The weights, from the hub cache or downloaded into it."""
        from .. import hub

        return hub.load_state_dict_from_url(self.url, progress=progress, check_hash=check_hash)


class ResNet18_Weights(WeightsEnum):  # noqa: N801 - torchvision's name
    """Pretrained ResNet-18 weights (``torchvision.models.ResNet18_Weights``).

    ``IMAGENET1K_V1`` (also ``DEFAULT``): PyTorch's ImageNet weights, 1000 classes, read
    from ``~/.cache/torch/hub`` or downloaded there by ``get_state_dict()``.
    """

    IMAGENET1K_V1 = Weights(_URL + "resnet18-f37072fd.pth", {"num_classes": 1000})
    DEFAULT = IMAGENET1K_V1


class VGG11_Weights(WeightsEnum):  # noqa: N801
    """Pretrained VGG-11 weights (``torchvision.models.VGG11_Weights``).

    ``IMAGENET1K_V1`` (also ``DEFAULT``): PyTorch's ImageNet weights, 1000 classes, read
    from ``~/.cache/torch/hub`` or downloaded there by ``get_state_dict()``.
    """

    IMAGENET1K_V1 = Weights(_URL + "vgg11-8a719046.pth", {"num_classes": 1000})
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):  # noqa: N801
    """Pretrained VGG-11 (batch norm) weights (``torchvision.models.VGG11_BN_Weights``).

    ``IMAGENET1K_V1`` (also ``DEFAULT``): PyTorch's ImageNet weights, 1000 classes, read
    from ``~/.cache/torch/hub`` or downloaded there by ``get_state_dict()``.
    """

    IMAGENET1K_V1 = Weights(_URL + "vgg11_bn-6002323d.pth", {"num_classes": 1000})
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):  # noqa: N801
    """Pretrained VGG-16 weights (``torchvision.models.VGG16_Weights``).

    ``IMAGENET1K_V1`` (also ``DEFAULT``): PyTorch's ImageNet weights, 1000 classes, read
    from ``~/.cache/torch/hub`` or downloaded there by ``get_state_dict()``.
    """

    IMAGENET1K_V1 = Weights(_URL + "vgg16-397923af.pth", {"num_classes": 1000})
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):  # noqa: N801
    """Pretrained VGG-16 (batch norm) weights (``torchvision.models.VGG16_BN_Weights``).

    ``IMAGENET1K_V1`` (also ``DEFAULT``): PyTorch's ImageNet weights, 1000 classes, read
    from ``~/.cache/torch/hub`` or downloaded there by ``get_state_dict()``.
    """

    IMAGENET1K_V1 = Weights(_URL + "vgg16_bn-6c64b313.pth", {"num_classes": 1000})
    DEFAULT = IMAGENET1K_V1


class AlexNet_Weights(WeightsEnum):  # noqa: N801
    """Pretrained AlexNet weights (``torchvision.models.AlexNet_Weights``).

    ``IMAGENET1K_V1`` (also ``DEFAULT``): PyTorch's ImageNet weights, 1000 classes, read
    from ``~/.cache/torch/hub`` or downloaded there by ``get_state_dict()``.
    """

    IMAGENET1K_V1 = Weights(_URL + "alexnet-owt-7be5be79.pth", {"num_classes": 1000})
    DEFAULT = IMAGENET1K_V1


def get_weight(name: str) -> WeightsEnum:
    """The enum member named ``"ResNet18_Weights.DEFAULT"`` (``torchvision.models.get_weight``).

    Args:
        name: ``'EnumName.MEMBER'``, e.g. ``'ResNet18_Weights.DEFAULT'``.

    Returns:
        The ``WeightsEnum`` member.

    Raises:
        ValueError: For an unknown name.
    """
    enum_name, _, member = name.partition(".")
    enums = {e.__name__: e for e in WeightsEnum.__subclasses__()}
    if enum_name not in enums or member not in enums[enum_name].__members__:
        raise ValueError(f"Unknown weights: {name!r}")
    return enums[enum_name][member]


def resolve(enum: type[WeightsEnum], weights, kwargs: dict) -> WeightsEnum | None:
    """The weights a constructor was asked for: an enum member, its name, or the old
    ``pretrained=True``; ``num_classes`` must then be the weights' (as in torchvision)."""
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        warnings.warn(
            "The parameter 'pretrained' is deprecated, please use 'weights' instead.",
            UserWarning,
            stacklevel=3,
        )
        if pretrained and weights is None:
            weights = enum.DEFAULT
    if weights is None:
        return None
    if isinstance(weights, str):
        weights = enum[weights] if weights in enum.__members__ else get_weight(weights)
    if not isinstance(weights, enum):
        raise ValueError(
            f"Invalid Weights Enum: expected one of {enum.__name__}'s members, got {weights!r}"
        )
    expected = weights.value.num_classes
    if kwargs.get("num_classes", expected) != expected:
        raise ValueError(
            f"The parameter 'num_classes' expected value {expected} but got "
            f"{kwargs['num_classes']} instead."
        )
    kwargs["num_classes"] = expected
    return weights


def load(model, weights: WeightsEnum | None, progress: bool):
    """Load ``weights`` into ``model`` (when given) and return the model."""
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model
