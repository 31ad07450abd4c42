"""The model zoo against the same architectures written in PyTorch: state-dict names and
shapes, output shapes, forward parity with copied weights, and PyTorch-saved weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import tapegrad
from tapegrad import models

# ----------------------------------------------------------------------------------------
# The same architectures in PyTorch (torchvision's definitions, condensed).


def torch_seed_cnn():
    return tnn.Sequential(
        tnn.Conv2d(1, 32, 5), tnn.MaxPool2d(3), tnn.ReLU(),
        tnn.Conv2d(32, 64, 5), tnn.MaxPool2d(2), tnn.ReLU(),
        tnn.Flatten(), tnn.Linear(256, 200), tnn.ReLU(), tnn.Linear(200, 10),
    )  # fmt: skip


def torch_mlp():
    return tnn.Sequential(
        tnn.Flatten(), tnn.Linear(784, 64), tnn.ReLU(), tnn.Linear(64, 32), tnn.ReLU(),
        tnn.Linear(32, 10),
    )  # fmt: skip


class TorchLeNet5(tnn.Module):
    def __init__(self, in_channels=1, image_size=28):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_channels, 6, 5, padding=(32 - image_size) // 2)
        self.conv2 = tnn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = tnn.Linear(400, 120), tnn.Linear(120, 84), tnn.Linear(84, 10)

    def forward(self, x):
        x = TF.max_pool2d(TF.relu(self.conv1(x)), 2)
        x = TF.max_pool2d(TF.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(TF.relu(self.fc2(TF.relu(self.fc1(x)))))


def torch_alexnet(num_classes=10, hidden=4096):
    net = tnn.Module()
    net.features = tnn.Sequential(
        tnn.Conv2d(3, 64, 3, 2, 1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(64, 192, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(192, 384, 3, padding=1), tnn.ReLU(),
        tnn.Conv2d(384, 256, 3, padding=1), tnn.ReLU(),
        tnn.Conv2d(256, 256, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
    )  # fmt: skip
    net.avgpool = tnn.AdaptiveAvgPool2d((2, 2))
    net.classifier = tnn.Sequential(
        tnn.Dropout(), tnn.Linear(1024, hidden), tnn.ReLU(), tnn.Dropout(),
        tnn.Linear(hidden, hidden), tnn.ReLU(), tnn.Linear(hidden, num_classes),
    )  # fmt: skip
    return net


VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M"]
    + [512, 512, 512, "M"],
}


class TorchVGG(tnn.Module):
    def __init__(self, cfg, batch_norm, num_classes, pool, hidden, dropout=0.5):
        super().__init__()
        layers, c = [], 3
        for v in VGG_CFG[cfg]:
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2))
                continue
            layers += [tnn.Conv2d(c, v, 3, padding=1)]
            layers += [tnn.BatchNorm2d(v)] if batch_norm else []
            layers += [tnn.ReLU(True)]
            c = v
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d((pool, pool))
        self.classifier = tnn.Sequential(
            tnn.Linear(512 * pool * pool, hidden), tnn.ReLU(True), tnn.Dropout(dropout),
            tnn.Linear(hidden, hidden), tnn.ReLU(True), tnn.Dropout(dropout),
            tnn.Linear(hidden, num_classes),
        )  # fmt: skip

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


class TorchBasic(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + identity)


class TorchBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class TorchPad(tnn.Module):
    def __init__(self, extra, stride):
        super().__init__()
        self.extra, self.stride = extra, stride

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return TF.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


class TorchResNet(tnn.Module):
    def __init__(self, block, layers, num_classes, cifar, shortcut="B"):
        super().__init__()
        self.inplanes = 16 if cifar else 64
        if cifar:
            self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(16)
            widths = [16, 32, 64]
        else:
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            widths = [64, 128, 256, 512]
        self.relu = tnn.ReLU()
        self.stages = len(widths)
        for i, (w, n) in enumerate(zip(widths, layers)):
            setattr(self, f"layer{i + 1}", self._layer(block, w, n, 1 if i == 0 else 2, shortcut))
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(widths[-1] * block.expansion, num_classes)

    def _layer(self, block, planes, n, stride, shortcut):
        down, out = None, planes * block.expansion
        if stride != 1 or self.inplanes != out:
            if shortcut == "A":
                down = TorchPad(out - self.inplanes, stride)
            else:
                down = tnn.Sequential(
                    tnn.Conv2d(self.inplanes, out, 1, stride, bias=False), tnn.BatchNorm2d(out)
                )
        blocks = [block(self.inplanes, planes, stride, down)]
        self.inplanes = out
        return tnn.Sequential(*blocks, *[block(out, planes) for _ in range(1, n)])

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        if hasattr(self, "maxpool"):
            x = self.maxpool(x)
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


# ----------------------------------------------------------------------------------------

CASES = {
    "mlp": (lambda: models.MLP(784, [64, 32], 10), torch_mlp, (2, 1, 28, 28)),
    "seed_cnn": (models.seed_cnn, torch_seed_cnn, (2, 1, 28, 28)),
    "lenet5": (models.lenet5, TorchLeNet5, (2, 1, 28, 28)),
    "lenet5_cifar": (
        lambda: models.lenet5(3, image_size=32),
        lambda: TorchLeNet5(3, 32),
        (2, 3, 32, 32),
    ),
    "alexnet": (lambda: models.alexnet(hidden=64), lambda: torch_alexnet(hidden=64), None),
    "vgg11": (
        lambda: models.vgg11(10, hidden=64),
        lambda: TorchVGG("vgg11", False, 10, 7, 64),
        None,
    ),
    "vgg16_bn_cifar": (
        lambda: models.vgg16_bn(10, cifar=True),
        lambda: TorchVGG("vgg16", True, 10, 1, 512),
        None,
    ),
    # No dropout, so that train mode is deterministic.
    "vgg11_bn_cifar": (
        lambda: models.vgg11_bn(10, cifar=True, dropout=0.0),
        lambda: TorchVGG("vgg11", True, 10, 1, 512, dropout=0.0),
        (2, 3, 32, 32),
    ),
    "vgg11_cifar": (
        lambda: models.vgg11(10, cifar=True),
        lambda: TorchVGG("vgg11", False, 10, 1, 512),
        None,
    ),
    "resnet18": (
        lambda: models.resnet18(10),
        lambda: TorchResNet(TorchBasic, [2, 2, 2, 2], 10, cifar=False),
        (1, 3, 64, 64),
    ),
    "resnet20": (
        models.resnet20,
        lambda: TorchResNet(TorchBasic, [3, 3, 3], 10, cifar=True, shortcut="A"),
        (2, 3, 32, 32),
    ),
    "resnet20_b": (
        lambda: models.resnet20(shortcut="B"),
        lambda: TorchResNet(TorchBasic, [3, 3, 3], 10, cifar=True, shortcut="B"),
        None,
    ),
    "resnet20_bottleneck": (
        lambda: models.resnet20(bottleneck=True),
        lambda: TorchResNet(TorchBottleneck, [2, 2, 2], 10, cifar=True),
        (2, 3, 32, 32),
    ),
    "resnet56": (
        models.resnet56,
        lambda: TorchResNet(TorchBasic, [9, 9, 9], 10, cifar=True, shortcut="A"),
        None,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_names_and_shapes_match_pytorch(name):
    ours, theirs, _ = CASES[name]
    sd, ref = ours().state_dict(), theirs().state_dict()
    assert list(sd) == list(ref)
    for k in ref:
        assert tuple(sd[k].shape) == tuple(ref[k].shape), k
        assert sd[k].dtype.is_floating_point == ref[k].dtype.is_floating_point, k


def copy_to_torch(model, ref):
    sd = {k: torch.from_numpy(np.array(v.numpy())) for k, v in model.state_dict().items()}
    ref.load_state_dict(sd)
    return ref


# Train mode where batch norm makes it differ from eval mode; each model once.
PARITY = {
    "mlp": "eval",
    "seed_cnn": "train",
    "lenet5": "eval",
    "lenet5_cifar": "eval",
    "vgg11_bn_cifar": "train",
    "resnet18": "eval",
    "resnet20": "train",
    "resnet20_bottleneck": "train",
}


@pytest.mark.parametrize("name,mode", list(PARITY.items()))
def test_forward_matches_pytorch_with_copied_weights(name, mode):
    ours, theirs, shape = CASES[name]
    tapegrad.manual_seed(0)
    model = ours()
    ref = copy_to_torch(model, theirs())
    model.train(mode == "train")
    ref.train(mode == "train")
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    out = model(tapegrad.tensor(x))
    expected = ref(torch.tensor(x))
    assert tuple(out.shape) == (shape[0], 10)
    np.testing.assert_allclose(
        out.detach().numpy(), expected.detach().numpy(), rtol=2e-4, atol=2e-5
    )
    if mode == "train" and name in ("resnet20", "seed_cnn"):
        # Batch statistics update the running buffers exactly as PyTorch's do.
        for k, v in ref.state_dict().items():
            np.testing.assert_allclose(
                model.state_dict()[k].numpy(), v.numpy(), rtol=1e-4, atol=1e-6
            )
        # And the gradients agree.
        g = np.random.default_rng(2).normal(size=out.shape).astype(np.float32)
        out.backward(tapegrad.tensor(g))
        expected.backward(torch.tensor(g))
        for (_, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-3, atol=1e-5)


def test_output_shapes():
    tapegrad.manual_seed(0)
    assert models.alexnet(hidden=256).eval()(tapegrad.rand(2, 3, 32, 32)).shape == (2, 10)
    assert models.vgg11(10, cifar=True).eval()(tapegrad.rand(2, 3, 32, 32)).shape == (2, 10)
    assert models.mlp(12, 3, hidden_features=[5], dropout=0.2)(tapegrad.rand(4, 12)).shape == (
        4,
        3,
    )
    assert models.resnet20(100)(tapegrad.rand(1, 3, 32, 32)).shape == (1, 100)


def test_load_pytorch_saved_weights(tmp_path):
    torch.manual_seed(0)
    ref = TorchResNet(TorchBasic, [3, 3, 3], 10, cifar=True, shortcut="A")
    x = torch.randn(2, 3, 32, 32)
    ref.train()(x)  # non-trivial running statistics
    ref.eval()
    torch.save(ref.state_dict(), tmp_path / "resnet20.pt")
    model = models.resnet20().eval()
    model.load_state_dict(tapegrad.load(tmp_path / "resnet20.pt"))
    assert int(model.bn1.num_batches_tracked) == 1
    np.testing.assert_allclose(
        model(tapegrad.tensor(x.numpy())).detach().numpy(), ref(x).detach().numpy(),
        rtol=2e-4, atol=2e-5,
    )  # fmt: skip


def test_bad_arguments():
    with pytest.raises(ValueError, match="shortcut"):
        models.resnet20(shortcut="C")
    with pytest.raises(ValueError, match="image_size"):
        models.lenet5(image_size=64)
