"""The files of TensorBoard's embedding projector: ``tensors.tsv``, ``metadata.tsv``,
``sprite.png`` and ``projector_config.pbtxt`` (mirrors
``torch.utils.tensorboard._embedding``)."""

from __future__ import annotations

import io
import math
import os

import numpy as np
from tensorboard.plugins.projector.projector_config_pb2 import EmbeddingInfo

from ._convert import make_grid

__all__ = ["make_tsv", "make_sprite", "make_mat", "get_embedding_info", "write_pbtxt"]


def make_tsv(metadata: list, save_path: str, metadata_header: list | None = None) -> None:
    """Write ``metadata.tsv``: one label per line, or with ``metadata_header`` a header
    line and one tab-separated row per point.

    Raises:
        AssertionError: a row whose length differs from the header's (PyTorch's type).
    """
    if not metadata_header:
        lines = [str(x) for x in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError(
                "len of header must be equal to the number of columns in metadata: "
                f"{len(metadata_header)} header names, {len(metadata[0])} columns"
            )
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header, *metadata]]
    with open(os.path.join(save_path, "metadata.tsv"), "wb") as f:
        f.write(("\n".join(lines) + "\n").encode("utf_8"))


def make_sprite(label_img: np.ndarray, save_path: str) -> None:
    """Write ``sprite.png``: the (N, C, H, W) images in [0, 1] in a square grid of
    ceil(sqrt(N)) columns, as the projector expects."""
    from PIL import Image

    nrow = math.ceil(label_img.shape[0] ** 0.5)
    grid = make_grid(label_img, ncols=nrow).transpose(1, 2, 0)
    # The projector reads a square sprite: pad the rows below with black.
    square = np.zeros((grid.shape[1], grid.shape[1], 3))
    square[: grid.shape[0]] = grid
    picture = Image.fromarray(np.uint8((square * 255).clip(0, 255)))
    with io.BytesIO() as buf:
        picture.save(buf, format="PNG")
        data = buf.getvalue()
    with open(os.path.join(save_path, "sprite.png"), "wb") as f:
        f.write(data)


def make_mat(mat: np.ndarray, save_path: str) -> None:
    """Write ``tensors.tsv``: one tab-separated row per point."""
    with open(os.path.join(save_path, "tensors.tsv"), "wb") as f:
        for row in mat:
            f.write(("\t".join(str(v) for v in row.tolist()) + "\n").encode("utf_8"))


def get_embedding_info(
    metadata: list | None,
    label_img: np.ndarray | None,
    subdir: str,
    global_step: int,
    tag: str,
) -> EmbeddingInfo:
    """The projector config's entry for one embedding (paths relative to the log dir)."""
    info = EmbeddingInfo()
    info.tensor_name = f"{tag}:{str(global_step).zfill(5)}"
    info.tensor_path = f"{subdir}/tensors.tsv"
    if metadata is not None:
        info.metadata_path = f"{subdir}/metadata.tsv"
    if label_img is not None:
        info.sprite.image_path = f"{subdir}/sprite.png"
        info.sprite.single_image_dim.extend([label_img.shape[3], label_img.shape[2]])
    return info


def write_pbtxt(save_path: str, contents: str) -> None:
    """Write ``projector_config.pbtxt`` (the text form of a ``ProjectorConfig``)."""
    with open(os.path.join(save_path, "projector_config.pbtxt"), "wb") as f:
        f.write(contents.encode("utf_8"))
