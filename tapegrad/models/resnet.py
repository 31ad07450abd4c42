"""Residual networks (He et al., 2015): torchvision's ResNet-18 and the CIFAR ResNets."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from .._tensor import Tensor
from ..nn import functional as F
from . import _weights
from ._weights import ResNet18_Weights


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution with padding, no bias (``torchvision.models.resnet.conv3x3``)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1×1 convolution, no bias (``torchvision.models.resnet.conv1x1``)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions and a shortcut (``torchvision.models.resnet.BasicBlock``).

    Args:
        inplanes: Channels of the input.
        planes: Channels of the block (times 4 at a bottleneck's output).
        stride: Stride of the first convolution (2 halves the maps).
        downsample: The shortcut's module where the shape changes (``None``: identity).
    """

    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1, 3×3 (strided), 1×1 convolutions widening by 4, and a shortcut
    (``torchvision.models.resnet.Bottleneck``, stride on the 3×3 as in ResNet v1.5).

    Args:
        inplanes: Channels of the input.
        planes: Channels of the block (times 4 at a bottleneck's output).
        stride: Stride of the first convolution (2 halves the maps).
        downsample: The shortcut's module where the shape changes (``None``: identity).
    """

    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class PadShortcut(nn.Module):
    """The parameter-free shortcut "option A" of the CIFAR ResNets: subsample by
    ``stride`` and pad the new channels with zeros."""

    def __init__(self, extra_channels: int, stride: int) -> None:
        super().__init__()
        self.extra_channels = extra_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        before = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, before, self.extra_channels - before))

    def extra_repr(self) -> str:
        return f"extra_channels={self.extra_channels}, stride={self.stride}"


def _init_weights(model: nn.Module) -> None:
    # torchvision's ResNet initialisation; Linear layers keep their default.
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


class _ResNetBase(nn.Module):
    inplanes: int

    def _make_layer(
        self,
        block: type[BasicBlock | Bottleneck],
        planes: int,
        blocks: int,
        stride: int = 1,
        shortcut: str = "B",
    ) -> nn.Sequential:
        downsample = None
        out_planes = planes * block.expansion
        if stride != 1 or self.inplanes != out_planes:
            if shortcut == "A":
                downsample = PadShortcut(out_planes - self.inplanes, stride)
            else:
                downsample = nn.Sequential(
                    conv1x1(self.inplanes, out_planes, stride), nn.BatchNorm2d(out_planes)
                )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = out_planes
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)


class ResNet(_ResNetBase):
    """The ImageNet ResNet (``torchvision.models.ResNet``): a 7×7 stride-2 stem and max
    pooling, four stages of 64, 128, 256 and 512 planes, global pooling and ``fc``.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: Blocks per stage.
        num_classes: Number of output classes (logits).
        in_channels: Channels of the input images.
    """

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        layers: Sequence[int],
        num_classes: int = 1000,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


class CifarResNet(_ResNetBase):
    """The CIFAR ResNet of the paper's section 4.2: a 3×3 stem of 16 maps, three stages
    of 16, 32 and 64 planes on 32×32, 16×16 and 8×8 maps, global pooling and ``fc``.

    ``shortcut="A"`` (the paper's choice) pads with zeros where the shape changes,
    ``"B"`` uses a 1×1 convolution; bottleneck blocks always use ``"B"``, since their
    shortcut must widen by 4. Names follow torchvision's ResNet (``conv1``, ``bn1``,
    ``layer1``..``layer3``, ``fc``).

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: Blocks per stage.
        num_classes: Number of output classes (logits).
        in_channels: Channels of the input images.
        shortcut: ``'A'`` (zero-padding shortcuts) or ``'B'`` (1×1 convolutions) where the shape
            changes.
    """

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        layers: Sequence[int],
        num_classes: int = 10,
        in_channels: int = 3,
        shortcut: str = "A",
    ) -> None:
        super().__init__()
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut must be 'A' or 'B', got {shortcut!r}")
        if block is Bottleneck:
            shortcut = "B"
        self.inplanes = 16
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, 16, layers[0], shortcut=shortcut)
        self.layer2 = self._make_layer(block, 32, layers[1], stride=2, shortcut=shortcut)
        self.layer3 = self._make_layer(block, 64, layers[2], stride=2, shortcut=shortcut)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64 * block.expansion, num_classes)
        _init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(
    num_classes: int = 1000,
    in_channels: int = 3,
    *,
    weights: ResNet18_Weights | str | None = None,
    progress: bool = True,
    **kwargs,
) -> ResNet:
    """ResNet-18 (``torchvision.models.resnet18``); ``weights=ResNet18_Weights.DEFAULT``
    loads PyTorch's ImageNet weights (from the hub cache, or downloaded there).

    Args:
        num_classes: Number of output classes (logits).
        in_channels: Channels of the input images.
        weights: Pretrained weights: a ``*_Weights`` member, its name as a string, or ``None``.
        progress: Show a progress bar while downloading the weights.
        **kwargs: Passed to the model's class.

    Returns:
        A ``ResNet``.
    """
    kwargs["num_classes"] = num_classes
    chosen = _weights.resolve(ResNet18_Weights, weights, kwargs)
    model = ResNet(BasicBlock, [2, 2, 2, 2], in_channels=in_channels, **kwargs)
    return _weights.load(model, chosen, progress)


def _cifar_resnet(depth: int, bottleneck: bool, **kwargs) -> CifarResNet:
    # depth = 6n + 2 with basic blocks (2 layers each), 9n + 2 with bottlenecks (3 each).
    per_block = 3 if bottleneck else 2
    n = (depth - 2) // (3 * per_block)
    return CifarResNet(Bottleneck if bottleneck else BasicBlock, [n, n, n], **kwargs)


def resnet20(num_classes: int = 10, bottleneck: bool = False, **kwargs) -> CifarResNet:
    """ResNet-20 for CIFAR (3 basic blocks per stage, or 2 bottlenecks).

    Args:
        num_classes: Number of output classes (logits).
        bottleneck: Use bottleneck blocks instead of basic ones.
        **kwargs: Passed to the model's class.

    Returns:
        A ``CifarResNet``.
    """
    return _cifar_resnet(20, bottleneck, num_classes=num_classes, **kwargs)


def resnet56(num_classes: int = 10, bottleneck: bool = False, **kwargs) -> CifarResNet:
    """ResNet-56 for CIFAR (9 basic blocks per stage, or 6 bottlenecks).

    Args:
        num_classes: Number of output classes (logits).
        bottleneck: Use bottleneck blocks instead of basic ones.
        **kwargs: Passed to the model's class.

    Returns:
        A ``CifarResNet``.
    """
    return _cifar_resnet(56, bottleneck, num_classes=num_classes, **kwargs)
