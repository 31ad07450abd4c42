"""Image operations behind the transforms (mirrors ``torchvision.transforms.functional``).

Two image layouts, as in torchvision: a NumPy array (or a PIL image, when PIL is
installed) is an (H, W) or (H, W, C) picture, the layout ``ToTensor`` expects; a tensor
is an (H, W) or (..., C, H, W) tensor image. Geometric operations keep the kind they
receive. They run on NumPy: data preparation happens on the CPU.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

import tapegrad

__all__ = [
    "center_crop",
    "crop",
    "get_dimensions",
    "hflip",
    "normalize",
    "pad",
    "pil_to_tensor",
    "to_tensor",
    "vflip",
]


def _is_pil(img) -> bool:
    return type(img).__module__.startswith("PIL.") and hasattr(img, "getbands")


def _picture_array(pic) -> np.ndarray:
    """A PIL image or an ndarray as an (H, W, C) array."""
    if _is_pil(pic):
        arr = np.array(pic)
        if arr.dtype == np.bool_:  # mode "1": torchvision scales it to 0/255
            arr = arr.astype(np.uint8) * 255
    else:
        arr = pic
    if arr.ndim not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
    return arr[:, :, None] if arr.ndim == 2 else arr


def _check_image(img, name: str) -> None:
    if not (isinstance(img, (tapegrad.Tensor, np.ndarray)) or _is_pil(img)):
        raise TypeError(
            f"{name}: img should be a Tensor, an ndarray or a PIL Image. Got {type(img)}"
        )
    if not _is_pil(img) and img.ndim < 2:
        raise TypeError(f"{name}: expected an image with at least 2 dimensions, got {img.ndim}")


def _spatial(img) -> tuple[np.ndarray, int, str]:
    """``img`` as an array, the axis of its rows, and its kind ("tensor", "array", "pil")."""
    _check_image(img, "image")
    if isinstance(img, tapegrad.Tensor):
        return img.detach().cpu().numpy(), img.dim() - 2, "tensor"
    if _is_pil(img):
        return np.array(img), 0, "pil"
    return img, 0, "array"


def _wrap(arr: np.ndarray, kind: str, like):
    if kind == "tensor":
        return tapegrad.from_numpy(np.ascontiguousarray(arr))
    if kind == "pil":
        from PIL import Image

        return Image.fromarray(np.ascontiguousarray(arr), mode=like.mode)
    return arr


def get_dimensions(img) -> list[int]:
    """``[channels, height, width]`` of an image (``torchvision...get_dimensions``).

    Args:
        img: An image: a tensor (..., H, W) or a PIL image.

    Returns:
        ``[channels, height, width]``.
    """
    if isinstance(img, tapegrad.Tensor) and img.dim() >= 2:
        shape = tuple(img.shape)
        return [1 if len(shape) == 2 else shape[-3], shape[-2], shape[-1]]
    arr, h_axis, kind = _spatial(img)
    if kind == "tensor":
        channels = 1 if arr.ndim == 2 else arr.shape[-3]
    else:
        channels = 1 if arr.ndim == 2 else arr.shape[2]
    return [channels, arr.shape[h_axis], arr.shape[h_axis + 1]]


def _channels_first(pic: tapegrad.Tensor) -> tapegrad.Tensor:
    """A tensor image as (C, H, W), refusing what is plainly an (H, W, C) picture."""
    if pic.dim() < 2:
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.dim()} dimensions.")
    shape = tuple(pic.shape)
    if len(shape) == 3 and shape[-1] in (1, 3, 4) and shape[0] not in (1, 3, 4):
        raise ValueError(
            f"got a tensor of shape {shape}, which looks like (H, W, C); tensor images are "
            "(C, H, W): permute(2, 0, 1) it, or pass the NumPy array (H, W, C) instead"
        )
    return pic.unsqueeze(0) if pic.dim() == 2 else pic


def to_tensor(pic) -> tapegrad.Tensor:
    """An image as a (C, H, W) tensor, ``uint8`` scaled to floats in [0, 1]
    (``torchvision.transforms.functional.to_tensor``).

    An ndarray or PIL image is (H, W[, C]) and is transposed, as in torchvision; a tensor
    is already (C, H, W) or (H, W) (then a channel is added), as a dataset's raw image is.
    Other dtypes keep their values.

    Args:
        pic: A PIL image or an array (H, W[, C]), or a tensor (C, H, W) or (H, W).
    """
    if isinstance(pic, tapegrad.Tensor):
        img = _channels_first(pic)
    elif isinstance(pic, np.ndarray) or _is_pil(pic):
        arr = _picture_array(pic)
        img = tapegrad.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    else:
        raise TypeError(f"pic should be PIL Image, ndarray or Tensor. Got {type(pic)}")
    if img.dtype == tapegrad.uint8:
        return img.to(tapegrad.get_default_dtype()).div(255)
    return img


def pil_to_tensor(pic) -> tapegrad.Tensor:
    """An image as a (C, H, W) tensor of the same dtype, unscaled
    (``torchvision.transforms.functional.pil_to_tensor``).

    Args:
        pic: A PIL image or an array (H, W[, C]), or a tensor (C, H, W) or (H, W).
    """
    if isinstance(pic, tapegrad.Tensor):
        return _channels_first(pic)
    if isinstance(pic, np.ndarray) or _is_pil(pic):
        arr = _picture_array(pic)
        return tapegrad.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    raise TypeError(f"pic should be PIL Image, ndarray or Tensor. Got {type(pic)}")


def normalize(
    tensor: tapegrad.Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False
) -> tapegrad.Tensor:
    """``(tensor - mean) / std`` per channel of a (..., C, H, W) float tensor
    (``torchvision.transforms.functional.normalize``).

    Args:
        tensor: A float image tensor (C, H, W) or a batch.
        mean: The mean, per channel.
        std: The standard deviation, per channel.
        inplace: Modify the tensor in place.
    """
    _check_normalize_input(tensor)
    mean_t, std_t = _normalize_stats(mean, std, tensor.dtype)
    if inplace:
        return tensor.sub_(mean_t).div_(std_t)
    return tensor.sub(mean_t).div(std_t)


def _check_normalize_input(tensor) -> None:
    if not isinstance(tensor, tapegrad.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.dim() < 3:
        raise ValueError(
            "Expected tensor to be a tensor image of size (..., C, H, W). Got "
            f"tensor.size() = {tuple(tensor.shape)}"
        )


def _normalize_stats(mean, std, dtype) -> tuple[tapegrad.Tensor, tapegrad.Tensor]:
    """``mean`` and ``std`` as tensors of ``dtype``, shaped (C, 1, 1) if given per channel."""
    mean_t = tapegrad.as_tensor(mean, dtype=dtype)
    std_t = tapegrad.as_tensor(std, dtype=dtype)
    if bool((std_t == 0).any()):
        raise ValueError(
            f"std evaluates to zero after conversion to {dtype}, leading to division by zero."
        )
    if mean_t.dim() == 1:
        mean_t = mean_t.view(-1, 1, 1)
    if std_t.dim() == 1:
        std_t = std_t.view(-1, 1, 1)
    return mean_t, std_t


def _pad_widths(padding) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) from an int or a 1-, 2- or 4-element sequence."""
    if isinstance(padding, numbers.Number) and not isinstance(padding, bool):
        p = int(padding)
        return p, p, p, p
    if not isinstance(padding, (tuple, list)):
        raise TypeError(f"Got inappropriate padding arg: {padding!r}")
    if len(padding) == 1:
        return (int(padding[0]),) * 4
    if len(padding) == 2:
        return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
    if len(padding) == 4:
        return tuple(int(p) for p in padding)  # type: ignore[return-value]
    raise ValueError(
        f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple"
    )


_NUMPY_PAD_MODES = {
    "constant": "constant",
    "edge": "edge",
    "reflect": "reflect",
    "symmetric": "symmetric",
}


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders of an image (``torchvision.transforms.functional.pad``).

    ``padding``: one int for all sides, (left/right, top/bottom) or (left, top, right,
    bottom); negative values crop. ``padding_mode``: constant (with ``fill``), edge,
    reflect or symmetric.

    Args:
        img: An image: a tensor (..., H, W) or a PIL image.
        padding: One int for every side, (left/right, top/bottom), or (left, top, right,
            bottom).
        fill: The fill value of constant padding.
        padding_mode: ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'``.
    """
    if padding_mode not in _NUMPY_PAD_MODES:
        raise ValueError(
            "Padding mode should be either constant, edge, reflect or symmetric, "
            f"got {padding_mode!r}"
        )
    left, top, right, bottom = _pad_widths(padding)
    arr, h_axis, kind = _spatial(img)
    if kind == "tensor" and not isinstance(fill, numbers.Number):
        raise TypeError(f"fill should be a number for tensor images, got {type(fill).__name__}")
    widths = [(0, 0)] * arr.ndim
    widths[h_axis] = (max(top, 0), max(bottom, 0))
    widths[h_axis + 1] = (max(left, 0), max(right, 0))
    if padding_mode == "constant" and not isinstance(fill, numbers.Number):
        # A colour per channel for an (H, W, C) picture: pad, then paint the border.
        out = np.pad(arr, widths)
        border = np.pad(np.zeros(arr.shape[:2], bool), widths[:2], constant_values=True)
        out[border] = np.asarray(fill, dtype=arr.dtype)
    elif padding_mode == "constant":
        # np.pad costs more than the copy itself on small images: fill and paste instead.
        shape = tuple(n + a + b for n, (a, b) in zip(arr.shape, widths))
        out = np.full(shape, fill, dtype=arr.dtype)
        out[tuple(slice(a, a + n) for n, (a, _) in zip(arr.shape, widths))] = arr
    else:
        out = np.pad(arr, widths, mode=_NUMPY_PAD_MODES[padding_mode])
    # Negative padding removes rows and columns.
    h, w = out.shape[h_axis], out.shape[h_axis + 1]
    index = [slice(None)] * out.ndim
    index[h_axis] = slice(max(-top, 0), h - max(-bottom, 0))
    index[h_axis + 1] = slice(max(-left, 0), w - max(-right, 0))
    return _wrap(out[tuple(index)], kind, img)


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height`` x ``width`` region at (``top``, ``left``); outside the image is zero
    (``torchvision.transforms.functional.crop``).

    Args:
        img: An image: a tensor (..., H, W) or a PIL image.
        top: Top row of the crop.
        left: Left column of the crop.
        height: Rows of the crop.
        width: Columns of the crop.
    """
    _, h, w = get_dimensions(img)
    if top < 0 or left < 0 or top + height > h or left + width > w:
        padding = [max(-left, 0), max(-top, 0), max(left + width - w, 0), max(top + height - h, 0)]
        img = pad(img, padding)
        top, left = max(top, 0), max(left, 0)
    arr, h_axis, kind = _spatial(img)
    index = [slice(None)] * arr.ndim
    index[h_axis] = slice(top, top + height)
    index[h_axis + 1] = slice(left, left + width)
    return _wrap(arr[tuple(index)], kind, img)


def _size_pair(size, name: str = "size") -> tuple[int, int]:
    if isinstance(size, numbers.Number) and not isinstance(size, bool):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"Please provide only two dimensions (h, w) for {name}, got {size!r}")


def center_crop(img, output_size):
    """The central ``output_size`` region, zero-padded first if the image is smaller
    (``torchvision.transforms.functional.center_crop``).

    Args:
        img: An image: a tensor (..., H, W) or a PIL image.
        output_size: (H, W) of the crop, or one int for a square.
    """
    crop_height, crop_width = _size_pair(output_size, "output_size")
    _, image_height, image_width = get_dimensions(img)
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    # Python's round (half to even), as torchvision.
    top = int(round((image_height - crop_height) / 2.0))
    left = int(round((image_width - crop_width) / 2.0))
    return crop(img, top, left, crop_height, crop_width)


def hflip(img):
    """The image mirrored left-right (``torchvision.transforms.functional.hflip``).

    Args:
        img: An image: a tensor (..., H, W) or a PIL image.
    """
    arr, h_axis, kind = _spatial(img)
    return _wrap(np.flip(arr, axis=h_axis + 1), kind, img)


def vflip(img):
    """The image mirrored top-bottom (``torchvision.transforms.functional.vflip``).

    Args:
        img: An image: a tensor (..., H, W) or a PIL image.
    """
    arr, h_axis, kind = _spatial(img)
    return _wrap(np.flip(arr, axis=h_axis), kind, img)
