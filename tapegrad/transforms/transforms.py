"""Composable image and target transforms (mirrors ``torchvision.transforms``).

Random transforms draw from the generator of the batch a DataLoader is fetching
(``tapegrad.utils.data.sample_generator``), so that augmentation is reproducible
whatever the number of workers; outside a DataLoader they use the global generator,
drawing the numbers torchvision draws (``torch.randint(0, n, (1,))``, ``torch.rand(1)``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import tapegrad
from tapegrad.utils.data import sample_generator

from . import functional as F

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
]


def _randint(high: int) -> int:
    return int(tapegrad.randint(0, high, (1,), generator=sample_generator()).item())


def _rand() -> float:
    return float(tapegrad.rand(1, generator=sample_generator()).item())


class Compose:
    """Apply transforms one after another (``torchvision.transforms.Compose``):

    >>> t = Compose([ToTensor(), Normalize((0.5,), (0.5,))])

    Args:
        transforms: The transforms, applied in order.
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    @property
    def _batchable(self) -> bool:
        return all(getattr(t, "_batchable", False) for t in self.transforms)

    def _apply_batch(self, batch: tapegrad.Tensor) -> tapegrad.Tensor:
        # What calling the transforms on each item of a batch of dataset images and
        # stacking the results gives; only for deterministic per-item transforms.
        for t in self.transforms:
            batch = t._apply_batch(batch)
        return batch

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("] + [f"    {t}" for t in self.transforms] + [")"]
        return "\n".join(lines)


class ToTensor:
    """An image (ndarray or PIL image (H, W[, C]), or tensor (C, H, W) / (H, W)) as a
    (C, H, W) tensor, ``uint8`` values scaled to floats in [0, 1]
    (``torchvision.transforms.ToTensor``)."""

    _batchable = True

    def __call__(self, pic) -> tapegrad.Tensor:
        return F.to_tensor(pic)

    def _apply_batch(self, batch: tapegrad.Tensor) -> tapegrad.Tensor:
        # A batch of dataset images (N, H, W) or (N, C, H, W).
        if batch.dim() == 3:
            batch = batch.unsqueeze(1)
        if batch.dtype == tapegrad.uint8:
            return batch.to(tapegrad.get_default_dtype()).div(255)
        return batch

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PILToTensor:
    """An image as a (C, H, W) tensor of the same dtype, unscaled
    (``torchvision.transforms.PILToTensor``)."""

    _batchable = True

    def __call__(self, pic) -> tapegrad.Tensor:
        return F.pil_to_tensor(pic)

    def _apply_batch(self, batch: tapegrad.Tensor) -> tapegrad.Tensor:
        return batch.unsqueeze(1) if batch.dim() == 3 else batch

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """``(img - mean) / std`` per channel of a float tensor image
    (``torchvision.transforms.Normalize``).

    Args:
        mean: The mean, per channel.
        std: The standard deviation, per channel.
        inplace: Modify the tensor in place.
    """

    _batchable = True

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = mean
        self.std = std
        self.inplace = inplace
        self._stats: dict = {}  # dtype -> (mean, std) tensors: made once, not per image

    def __call__(self, tensor: tapegrad.Tensor) -> tapegrad.Tensor:
        F._check_normalize_input(tensor)
        key = (tensor.dtype, repr(self.mean), repr(self.std))
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = F._normalize_stats(self.mean, self.std, tensor.dtype)
        mean, std = stats
        if self.inplace:
            return tensor.sub_(mean).div_(std)
        return tensor.sub(mean).div(std)

    def _apply_batch(self, batch: tapegrad.Tensor) -> tapegrad.Tensor:
        return self(batch)  # (N, C, H, W) broadcasts against (C, 1, 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """A user function as a transform (``torchvision.transforms.Lambda``).

    Args:
        lambd: The function to apply.
    """

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _check_padding_mode(padding_mode: str) -> None:
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(
            "Padding mode should be either constant, edge, reflect or symmetric, "
            f"got {padding_mode!r}"
        )


class Pad:
    """Pad the borders of an image (``torchvision.transforms.Pad``): ``padding`` is an
    int, (left/right, top/bottom) or (left, top, right, bottom).

    Args:
        padding: Padding: one int for every side, (left/right, top/bottom), or (left, top,
            right, bottom).
        fill: The fill value of constant padding.
        padding_mode: ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'``.
    """

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate padding arg")
        if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
            raise ValueError(
                f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} "
                "element tuple"
            )
        _check_padding_mode(padding_mode)
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
            f"padding_mode={self.padding_mode})"
        )


class CenterCrop:
    """The central ``size`` (int or (h, w)) region of an image
    (``torchvision.transforms.CenterCrop``).

    Args:
        size: The output size (H, W), or one int for a square.
    """

    _batchable = True

    def __init__(self, size) -> None:
        self.size = F._size_pair(size)

    def __call__(self, img):
        return F.center_crop(img, self.size)

    def _apply_batch(self, batch: tapegrad.Tensor) -> tapegrad.Tensor:
        return F.center_crop(batch, self.size)  # tensors crop their last two dimensions

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class RandomCrop:
    """A random ``size`` region of an image, after optional ``padding``; with
    ``pad_if_needed`` a smaller image is padded up to ``size``
    (``torchvision.transforms.RandomCrop``):

        >>> RandomCrop(32, padding=4)   # the CIFAR augmentation

    Args:
        size: The output size (H, W), or one int for a square.
        padding: Optional padding applied first (as ``Pad``).
        pad_if_needed: Pad images smaller than ``size``.
        fill: The fill value of constant padding.
        padding_mode: ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'``.
    """

    def __init__(
        self,
        size,
        padding=None,
        pad_if_needed: bool = False,
        fill=0,
        padding_mode: str = "constant",
    ) -> None:
        self.size = F._size_pair(size)
        if padding is not None:
            F._pad_widths(padding)  # validates
        _check_padding_mode(padding_mode)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a random crop of ``output_size``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(
                f"Required crop size {(th, tw)} is larger than input image size {(h, w)}"
            )
        if w == tw and h == th:
            return 0, 0, h, w
        i = _randint(h - th + 1)
        j = _randint(w - tw + 1)
        return i, j, th, tw

    def __call__(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        # As torchvision: pad both sides by the shortfall.
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size)
        return F.crop(img, i, j, h, w)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror an image left-right with probability ``p``
    (``torchvision.transforms.RandomHorizontalFlip``).

    Args:
        p: Probability of the flip.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img):
        return F.hflip(img) if _rand() < self.p else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip:
    """Mirror an image top-bottom with probability ``p``
    (``torchvision.transforms.RandomVerticalFlip``).

    Args:
        p: Probability of the flip.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img):
        return F.vflip(img) if _rand() < self.p else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class GaussianNoise:
    """Add Gaussian noise ``N(mean, sigma²)`` to a float tensor image, then clip it to
    [0, 1] if ``clip`` (``torchvision.transforms.v2.GaussianNoise``): the input-noise
    regulariser.

    Args:
        mean: Mean of the noise.
        sigma: Standard deviation of the noise.
        clip: Clamp the result to [0, 1].
    """

    def __init__(self, mean: float = 0.0, sigma: float = 0.1, clip: bool = True) -> None:
        if sigma < 0:
            raise ValueError(f"sigma shouldn't be negative. Got {sigma}")
        self.mean = float(mean)
        self.sigma = float(sigma)
        self.clip = clip

    def __call__(self, img: tapegrad.Tensor) -> tapegrad.Tensor:
        if not isinstance(img, tapegrad.Tensor) or not img.is_floating_point():
            what = img.dtype if isinstance(img, tapegrad.Tensor) else type(img).__name__
            raise ValueError(
                f"Input tensor is expected to be in float dtype, got dtype={what} "
                "(apply ToTensor first)"
            )
        noise = tapegrad.randn(tuple(img.shape), generator=sample_generator(), dtype=img.dtype)
        out = img + (noise * self.sigma + self.mean)
        return out.clamp(0, 1) if self.clip else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, sigma={self.sigma}, clip={self.clip})"


class RandomLabelNoise:
    """A target transform: with probability ``p`` the label is replaced by one of the
    ``num_classes - 1`` other classes, uniformly (symmetric label noise, the noisy-labels
    regulariser). Returns the label's type (``int`` or an integer tensor).

    Args:
        num_classes: Number of classes.
        p: Probability of replacing a label by one of the other classes.
    """

    def __init__(self, num_classes: int, p: float = 0.1) -> None:
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes should be an integer >= 2, got {num_classes!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p should be a probability in [0, 1], got {p}")
        self.num_classes = num_classes
        self.p = p

    def __call__(self, target: Any):
        label = int(target)
        if not 0 <= label < self.num_classes:
            raise IndexError(
                f"Target {label} is out of bounds for {self.num_classes} classes "
                f"(expected 0 <= target < {self.num_classes})"
            )
        if _rand() >= self.p:
            return target
        other = _randint(self.num_classes - 1)
        noisy = other + (other >= label)  # skip the true class
        if isinstance(target, tapegrad.Tensor):
            return tapegrad.tensor(noisy, dtype=target.dtype)
        return type(target)(noisy) if isinstance(target, int) else noisy

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_classes={self.num_classes}, p={self.p})"
