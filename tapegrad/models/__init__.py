"""A model zoo (mirrors ``torchvision.models`` where a counterpart exists).

Parameter names follow torchvision's (``features``/``classifier`` for AlexNet and VGG;
``conv1``, ``bn1``, ``layer1``..``layer4``, ``fc`` for ResNet), so a state dict saved by
PyTorch for the same architecture loads with ``load_state_dict``.

Example:

    >>> from tapegrad import models
    >>> net = models.resnet18(num_classes=10)
"""

from ._weights import (
    AlexNet_Weights,
    ResNet18_Weights,
    VGG11_BN_Weights,
    VGG11_Weights,
    VGG16_BN_Weights,
    VGG16_Weights,
    WeightsEnum,
    get_weight,
)
from .alexnet import AlexNet, alexnet
from .lenet import LeNet5, lenet5
from .mlp import MLP, mlp
from .resnet import (
    BasicBlock,
    Bottleneck,
    CifarResNet,
    ResNet,
    resnet18,
    resnet20,
    resnet56,
)
from .seed_cnn import SeedCNN, seed_cnn
from .vgg import VGG, vgg11, vgg11_bn, vgg16, vgg16_bn

__all__ = [
    "AlexNet_Weights",
    "ResNet18_Weights",
    "VGG11_BN_Weights",
    "VGG11_Weights",
    "VGG16_BN_Weights",
    "VGG16_Weights",
    "WeightsEnum",
    "get_weight",
    "MLP",
    "LeNet5",
    "SeedCNN",
    "AlexNet",
    "VGG",
    "ResNet",
    "CifarResNet",
    "BasicBlock",
    "Bottleneck",
    "mlp",
    "lenet5",
    "seed_cnn",
    "alexnet",
    "vgg11",
    "vgg11_bn",
    "vgg16",
    "vgg16_bn",
    "resnet18",
    "resnet20",
    "resnet56",
]
