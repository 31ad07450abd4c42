"""Random images for trying a pipeline (mirrors ``torchvision.datasets.FakeData``)."""

from __future__ import annotations

from collections.abc import Callable

import tapegrad

from ._utils import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` random images of ``image_size`` (C, H, W) with labels below ``num_classes``
    (``torchvision.datasets.FakeData``).

    Item ``i`` is drawn as torchvision draws it, from the default generator seeded with
    ``i + random_offset`` (its state is restored afterwards), so the same index gives the
    same image and label as torchvision's. The image is the raw ``uint8`` (C, H, W) tensor
    (torchvision gives the same pixels as a PIL image); the label is an ``int``.

    Args:
        size: Number of images.
        image_size: (C, H, W) of each image.
        num_classes: Number of classes.
        transform: Applied to each image.
        target_transform: Applied to each label.
        random_offset: Added to the index to seed each item's draw.
    """

    def __init__(
        self,
        size: int = 1000,
        image_size: tuple[int, int, int] = (3, 224, 224),
        num_classes: int = 10,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        random_offset: int = 0,
    ) -> None:
        super().__init__("", transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int):
        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        rng_state = tapegrad.get_rng_state()
        tapegrad.manual_seed(index + self.random_offset)
        img = tapegrad.randn(*self.image_size)
        target = tapegrad.randint(0, self.num_classes, size=(1,), dtype=tapegrad.long)[0]
        tapegrad.set_rng_state(rng_state)
        # torchvision's ToPILImage: float pixels times 255, cast to bytes (wrapping).
        img = img.mul(255).byte()
        img, target = self._apply_transforms(img, target.item())
        return img, target

    def __len__(self) -> int:
        return self.size
