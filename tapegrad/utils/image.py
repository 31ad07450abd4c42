"""Image grids and PNG files (mirrors ``torchvision.utils.make_grid`` and ``save_image``).

PNG files are written by a small encoder on ``zlib`` (8-bit grey, RGB or RGBA), so
saving images needs neither PIL nor matplotlib.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

import tapegrad

__all__ = ["make_grid", "save_image", "write_png"]


def _as_batch(tensor) -> np.ndarray:
    """A (B, C, H, W) float array from a tensor or list of tensors, as ``make_grid`` takes."""
    if isinstance(tensor, (list, tuple)):
        for t in tensor:
            if not isinstance(t, tapegrad.Tensor):
                raise TypeError(
                    f"tensor or list of tensors expected, got a list containing {type(t)}"
                )
        tensor = tapegrad.stack(list(tensor), dim=0)
    elif not isinstance(tensor, tapegrad.Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    arr = tensor.detach().cpu().numpy()
    if arr.ndim == 2:  # one image, H x W
        arr = arr[None]
    if arr.ndim == 3:  # one image, C x H x W
        if arr.shape[0] == 1:  # grey becomes RGB, as in torchvision
            arr = np.concatenate([arr, arr, arr], 0)
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(
            "make_grid expects images of shape (H, W), (C, H, W) or a batch (B, C, H, W), "
            f"got shape {tuple(tensor.shape)}"
        )
    if arr.shape[1] == 1:
        arr = np.concatenate([arr, arr, arr], 1)
    return arr


def _normalize(img: np.ndarray, low: float, high: float) -> np.ndarray:
    # torchvision's norm_ip: clamp to the range, then map it onto [0, 1].
    img = np.clip(img, low, high)
    return (img - low) / max(high - low, 1e-5)


def make_grid(
    tensor: tapegrad.Tensor | list[tapegrad.Tensor],
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> tapegrad.Tensor:
    """Lay a batch of images (B, C, H, W), or a list of (C, H, W) images, out in a grid of
    ``nrow`` columns separated by ``padding`` pixels of ``pad_value``
    (``torchvision.utils.make_grid``). Grey images become RGB; ``normalize`` maps
    ``value_range`` (default: the min and max, of each image if ``scale_each``) onto [0, 1].

    Args:
        tensor: A batch (B, C, H, W), an image (C, H, W), or a list of images.
        nrow: Images per row.
        padding: Pixels between images.
        normalize: Map ``value_range`` onto [0, 1].
        value_range: The (min, max) to map (default: the images' own).
        scale_each: Normalize each image by its own range.
        pad_value: The value of the padding pixels.

    Returns:
        The grid, (C, H', W').
    """
    batch = _as_batch(tensor)
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError(
                "value_range has to be a tuple (min, max) if specified. min and max are numbers"
            )

        def norm_range(t: np.ndarray) -> np.ndarray:
            if value_range is not None:
                return _normalize(t, value_range[0], value_range[1])
            return _normalize(t, float(t.min()), float(t.max()))

        if scale_each:
            batch = np.stack([norm_range(t) for t in batch]) if len(batch) else batch
        else:
            batch = norm_range(batch)
        batch = batch.astype(tensor_dtype(tensor), copy=False)
    if batch.shape[0] == 1:
        return tapegrad.from_numpy(np.ascontiguousarray(batch[0]))
    nmaps = batch.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(nmaps / xmaps))
    height, width = batch.shape[2] + padding, batch.shape[3] + padding
    grid = np.full(
        (batch.shape[1], height * ymaps + padding, width * xmaps + padding),
        pad_value,
        dtype=batch.dtype,
    )
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        top, left = y * height + padding, x * width + padding
        grid[:, top : top + height - padding, left : left + width - padding] = batch[k]
    return tapegrad.from_numpy(grid)


def tensor_dtype(tensor) -> np.dtype:
    first = tensor[0] if isinstance(tensor, (list, tuple)) else tensor
    return first.detach().cpu().numpy().dtype


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def write_png(pixels: np.ndarray, fp: str | os.PathLike | BinaryIO) -> None:
    """Write a ``uint8`` array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) as a PNG file."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise TypeError(f"write_png expects uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    color_types = {1: 0, 3: 2, 4: 6}  # PNG colour type of grey, RGB, RGBA
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and channels not in (3, 4)):
        raise ValueError(
            f"cannot write an image of shape {pixels.shape} as PNG: expected (H, W) or "
            "(H, W, C) with 1, 3 or 4 channels"
        )
    height, width = pixels.shape[:2]
    color = color_types[channels]
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    # Every scanline starts with its filter type; 0 (none) keeps the writer trivial.
    rows = np.ascontiguousarray(pixels).reshape(height, width * channels)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()
    png = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw, 6))
        + _png_chunk(b"IEND", b"")
    )
    if hasattr(fp, "write"):
        fp.write(png)
    else:
        with open(fp, "wb") as f:
            f.write(png)


def save_image(
    tensor: tapegrad.Tensor | list[tapegrad.Tensor],
    fp: str | os.PathLike | BinaryIO,
    format: str | None = None,
    **kwargs,
) -> None:
    """Save a tensor image, a batch (as a ``make_grid`` grid; ``nrow``, ``padding``,
    ``normalize``... are passed on) or a list of images as a PNG file
    (``torchvision.utils.save_image``). Values are expected in [0, 1].

    Args:
        tensor: A batch (B, C, H, W), an image (C, H, W), or a list of images.
        fp: A path or a binary file object.
        format: The image format (default: from the file name).
        **kwargs: Passed to ``make_grid``.
    """
    if format is not None and format.lower() != "png":
        raise ValueError(f"save_image writes PNG files only, got format={format!r}")
    if (
        isinstance(fp, (str, os.PathLike))
        and format is None
        and os.path.splitext(fp)[1].lower() not in (".png", "")
    ):
        raise ValueError(
            f"save_image writes PNG files only, got the file name {os.fspath(fp)!r}; "
            "use a .png name"
        )
    grid = make_grid(tensor, **kwargs).numpy()
    if not np.issubdtype(grid.dtype, np.floating):
        raise TypeError(
            f"save_image expects a floating-point image with values in [0, 1], got {grid.dtype}"
        )
    # As torchvision: scale to [0, 255], +0.5 to round to the nearest integer, then clamp.
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8)
    if pixels.ndim == 2:
        write_png(pixels, fp)
    else:
        write_png(pixels.transpose(1, 2, 0), fp)
