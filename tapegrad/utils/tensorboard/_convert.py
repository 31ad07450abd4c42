"""Values given to ``SummaryWriter`` as NumPy arrays, and the image layouts TensorBoard
shows (mirrors ``torch.utils.tensorboard._convert_np`` and ``_utils``)."""

from __future__ import annotations

from typing import Any

import numpy as np

import tapegrad

__all__ = ["make_np", "convert_to_HWC", "make_grid", "figure_to_image", "prepare_video"]


def make_np(x: Any) -> np.ndarray:
    """A NumPy array of a tensor, an array or a Python number (PyTorch's ``make_np``).

    Args:
        x: a ``tapegrad.Tensor``, a ``numpy.ndarray`` or a scalar.

    Returns:
        The array (a scalar becomes a one-element array); a tensor is detached and copied
        to the CPU, bfloat16 becomes float32 (NumPy has no arithmetic of its own for it).

    Raises:
        NotImplementedError: for any other type, as PyTorch.
    """
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if isinstance(x, tapegrad.Tensor):
        arr = x.detach().cpu().numpy()
        if arr.dtype.name == "bfloat16":  # ml_dtypes' bfloat16, where tapegrad has it
            arr = arr.astype(np.float32)
        return arr
    raise NotImplementedError(f"Got {type(x)}, but numpy array or tapegrad tensor are expected.")


def make_grid(images: np.ndarray, ncols: int = 8) -> np.ndarray:
    """Images (N, 1 or 3, H, W) side by side, ``ncols`` per row, no padding (the grid
    ``add_images`` and embedding sprites use; PyTorch's ``tensorboard._utils.make_grid``).

    Raises:
        AssertionError: unless the images are 4-D with 1 or 3 channels (PyTorch's type).
    """
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise AssertionError(
            "Input should be a 4D numpy array with 1 or 3 channels (N, C, H, W), got "
            f"shape {images.shape}"
        )
    if images.shape[1] == 1:
        images = np.concatenate([images, images, images], 1)
    n, _, h, w = images.shape
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    canvas = np.zeros((3, h * nrows, w * ncols), dtype=images.dtype)
    for i in range(n):
        y, x = divmod(i, ncols)
        canvas[:, y * h : (y + 1) * h, x * w : (x + 1) * w] = images[i]
    return canvas


def convert_to_HWC(tensor: np.ndarray, input_format: str) -> np.ndarray:  # noqa: N802
    """An image array in ``input_format`` (e.g. ``"CHW"``, ``"HWC"``, ``"HW"``, ``"NCHW"``)
    as (H, W, C) with 3 or 4 channels: grey becomes RGB, a batch becomes a grid
    (PyTorch's ``convert_to_HWC``).

    Raises:
        AssertionError: a letter used twice, or a format whose length is not the number
            of dimensions (PyTorch's type).
    """
    if len(set(input_format)) != len(input_format):
        raise AssertionError(
            f"You can not use the same dimension shorthand twice. input_format: {input_format}"
        )
    if tensor.ndim != len(input_format):
        raise AssertionError(
            "size of input tensor and input format are different. tensor shape: "
            f"{tensor.shape}, input_format: {input_format}"
        )
    fmt = input_format.upper()
    if len(fmt) == 4:
        nchw = tensor.transpose([fmt.find(c) for c in "NCHW"])
        return make_grid(nchw).transpose(1, 2, 0)
    if len(fmt) == 3:
        hwc = tensor.transpose([fmt.find(c) for c in "HWC"])
        if hwc.shape[2] == 1:
            hwc = np.concatenate([hwc, hwc, hwc], 2)
        return hwc
    if len(fmt) == 2:
        hw = tensor.transpose([fmt.find(c) for c in "HW"])
        return np.stack([hw, hw, hw], 2)
    raise AssertionError(
        f"input_format must have 2, 3 or 4 letters (HW, CHW, NCHW, ...), got {input_format!r}"
    )


def figure_to_image(figures, close: bool = True) -> np.ndarray:
    """Render matplotlib figures to uint8 RGB arrays: one figure as (3, H, W), a list as
    (N, 3, H, W) (PyTorch's ``figure_to_image``); ``close`` closes them afterwards."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def render(figure) -> np.ndarray:
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        data = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8)
        w, h = figure.canvas.get_width_height()
        chw = np.moveaxis(data.reshape(h, w, 4)[:, :, :3], 2, 0)
        if close:
            plt.close(figure)
        return chw

    if isinstance(figures, list):
        return np.stack([render(f) for f in figures])
    return render(figures)


def prepare_video(video: np.ndarray) -> np.ndarray:
    """(B, T, C, H, W) clips as (T, H', W', C) frames, the B clips of each frame laid out
    in a grid (PyTorch's ``_prepare_video``): B is padded with black clips to a power of
    two, in 2**floor(log2(B) / 2) rows; uint8 values become floats in [0, 1]."""
    b, t, c, h, w = video.shape
    if video.dtype == np.uint8:
        video = np.float32(video) / 255.0
    if b & (b - 1):  # not a power of two
        extra = 2 ** b.bit_length() - b
        video = np.concatenate([video, np.zeros((extra, t, c, h, w))], axis=0)
    n_rows = 2 ** ((b.bit_length() - 1) // 2)
    n_cols = video.shape[0] // n_rows
    video = video.reshape(n_rows, n_cols, t, c, h, w).transpose(2, 0, 4, 1, 5, 3)
    return video.reshape(t, n_rows * h, n_cols * w, c)
