"""tapegrad.transforms (torchvision.transforms semantics) and tapegrad.utils.save_image /
make_grid (torchvision.utils), on hand-computed values and PyTorch's own arithmetic."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tapegrad
from tapegrad import transforms as T
from tapegrad.transforms import functional as F
from tapegrad.utils import make_grid, save_image

RNG = np.random.default_rng(0)
HWC = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
CHW = np.ascontiguousarray(HWC.transpose(2, 0, 1))


def arr(t):
    return t.numpy() if isinstance(t, tapegrad.Tensor) else np.asarray(t)


# ---------------------------------------------------------------------------------------
# ToTensor, PILToTensor, Normalize


def test_to_tensor_from_an_array_as_torchvision():
    out = T.ToTensor()(HWC)
    expected = torch.from_numpy(HWC).permute(2, 0, 1).float().div(255)
    assert out.dtype == tapegrad.float32 and tuple(out.shape) == (3, 5, 7)
    np.testing.assert_array_equal(arr(out), expected.numpy())
    grey = T.ToTensor()(HWC[:, :, 0])
    assert tuple(grey.shape) == (1, 5, 7)
    floats = np.full((2, 2, 1), 3.5, np.float64)  # other dtypes are not scaled
    out = T.ToTensor()(floats)
    assert out.dtype == tapegrad.float64 and arr(out).tolist() == [[[3.5, 3.5], [3.5, 3.5]]]


def test_to_tensor_from_tensor_images():
    img = tapegrad.from_numpy(CHW.copy())
    np.testing.assert_array_equal(arr(T.ToTensor()(img)), CHW.astype(np.float32) / 255)
    grey = T.ToTensor()(tapegrad.from_numpy(HWC[:, :, 0].copy()))
    assert tuple(grey.shape) == (1, 5, 7)
    assert arr(grey)[0, 1, 2] == np.float32(HWC[1, 2, 0]) / np.float32(255)


def test_to_tensor_from_a_pil_image():
    Image = pytest.importorskip("PIL.Image")
    out = T.ToTensor()(Image.fromarray(HWC))
    np.testing.assert_array_equal(arr(out), arr(T.ToTensor()(HWC)))
    out = T.PILToTensor()(Image.fromarray(HWC))
    assert out.dtype == tapegrad.uint8 and np.array_equal(arr(out), CHW)


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="pic should be PIL Image, ndarray or Tensor"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4"):
        T.ToTensor()(np.zeros((1, 2, 2, 1), np.uint8))
    with pytest.raises(ValueError, match=r"looks like \(H, W, C\)"):
        T.ToTensor()(tapegrad.from_numpy(HWC.copy()))  # a picture passed as a tensor


def test_pil_to_tensor_keeps_values_and_dtype():
    out = T.PILToTensor()(HWC)
    assert out.dtype == tapegrad.uint8 and np.array_equal(arr(out), CHW)
    assert tuple(T.PILToTensor()(tapegrad.zeros(4, 5)).shape) == (1, 4, 5)


def test_normalize_as_torch_computes_it():
    x = RNG.random((2, 3, 4, 5), dtype=np.float32)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    t = torch.from_numpy(x.copy())
    expected = t.sub(torch.tensor(mean).view(-1, 1, 1)).div(torch.tensor(std).view(-1, 1, 1))
    for img, ref in ((x, expected), (x[0], expected[0])):
        out = T.Normalize(mean, std)(tapegrad.from_numpy(img.copy()))
        np.testing.assert_array_equal(arr(out), ref.numpy())
    src = tapegrad.from_numpy(x[0].copy())
    out = T.Normalize(mean, std, inplace=True)(src)
    np.testing.assert_array_equal(arr(src), expected[0].numpy())
    assert arr(T.Normalize((0.5,), (0.5,))(tapegrad.ones(1, 2, 2))).tolist() == [[[1.0] * 2] * 2]


def test_normalize_errors():
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize((0.5,), (0.5,))(np.zeros((1, 2, 2), np.float32))
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got"):
        T.Normalize((0.5,), (0.5,))(tapegrad.zeros(1, 2, 2, dtype=tapegrad.uint8))
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size"):
        T.Normalize((0.5,), (0.5,))(tapegrad.zeros(2, 2))
    with pytest.raises(ValueError, match="std evaluates to zero"):
        T.Normalize((0.5,), (0.0,))(tapegrad.zeros(1, 2, 2))


# ---------------------------------------------------------------------------------------
# Geometry: Pad, CenterCrop, RandomCrop, flips


SMALL = np.arange(12, dtype=np.float32).reshape(1, 3, 4)


@pytest.mark.parametrize(
    "mode, torch_mode", [("constant", "constant"), ("edge", "replicate"), ("reflect", "reflect")]
)
@pytest.mark.parametrize("padding", [1, (2, 1), (1, 2, 0, 1), [2]])
def test_pad_as_torch(mode, torch_mode, padding):
    left, top, right, bottom = F._pad_widths(padding)
    ref = TF.pad(torch.from_numpy(SMALL)[None], (left, right, top, bottom), mode=torch_mode)
    fill = 7 if mode == "constant" else 0
    if mode == "constant":
        ref = TF.pad(torch.from_numpy(SMALL), (left, right, top, bottom), value=7.0)[None]
    out = T.Pad(padding, fill=fill, padding_mode=mode)(tapegrad.from_numpy(SMALL.copy()))
    np.testing.assert_array_equal(arr(out), ref[0].numpy())


def test_pad_symmetric_negative_and_pictures():
    row = tapegrad.tensor([[1, 2, 3]])
    assert arr(F.pad(row, [2, 0], padding_mode="symmetric")).tolist() == [[2, 1, 1, 2, 3, 3, 2]]
    assert arr(F.pad(row, [-1, 0, 1, 0])).tolist() == [[2, 3, 0]]  # negative crops
    # (H, W, C) arrays pad their first two axes, with a colour per channel if asked
    out = T.Pad(1, fill=(1, 2, 3))(HWC)
    assert isinstance(out, np.ndarray) and out.shape == (7, 9, 3)
    assert out[0, 0].tolist() == [1, 2, 3] and np.array_equal(out[1:-1, 1:-1], HWC)
    with pytest.raises(ValueError, match="1, 2, or 4 element tuple"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match="Padding mode should be either"):
        T.Pad(1, padding_mode="wrap")


def test_center_crop_hand_computed():
    img = tapegrad.from_numpy(np.arange(30).reshape(5, 6))
    # top = round((5 - 2) / 2) = 2 (half to even), left = round((6 - 3) / 2) = 2
    assert arr(T.CenterCrop((2, 3))(img)).tolist() == [[14, 15, 16], [20, 21, 22]]
    assert arr(T.CenterCrop(1)(img)).tolist() == [[14]]  # top = round(2.0), left = round(2.5)
    big = arr(T.CenterCrop((3, 4))(tapegrad.ones(1, 1, 2)))
    # (4 - 2) // 2 = 1 left, (4 - 2 + 1) // 2 = 1 right; 1 top, 1 bottom (then 3 x 4)
    assert big.shape == (1, 3, 4)
    assert big[0].tolist() == [[0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    assert T.CenterCrop(3)(HWC).shape == (3, 3, 3)


def test_random_crop_draws_torchvisions_offsets():
    img = RNG.integers(0, 256, (3, 10, 12), dtype=np.uint8)
    tapegrad.manual_seed(4)
    torch.manual_seed(4)
    for _ in range(5):
        out = T.RandomCrop((6, 5), padding=2)(tapegrad.from_numpy(img.copy()))
        padded = TF.pad(torch.from_numpy(img), (2, 2, 2, 2))
        i = torch.randint(0, 14 - 6 + 1, size=(1,)).item()  # torchvision's get_params
        j = torch.randint(0, 16 - 5 + 1, size=(1,)).item()
        np.testing.assert_array_equal(arr(out), padded[:, i : i + 6, j : j + 5].numpy())
    same = T.RandomCrop((10, 12))(tapegrad.from_numpy(img.copy()))
    assert np.array_equal(arr(same), img)


def test_random_crop_pad_if_needed_and_errors():
    out = T.RandomCrop(6, pad_if_needed=True)(tapegrad.ones(1, 4, 6))
    # torchvision pads the shortfall on both sides: 4 + 2 + 2 rows, then crops 6
    assert tuple(out.shape) == (1, 6, 6)
    assert T.RandomCrop(4, padding=1)(HWC).shape == (4, 4, 3)
    with pytest.raises(ValueError, match=r"Required crop size \(6, 6\) is larger than"):
        T.RandomCrop(6)(tapegrad.ones(1, 4, 6))


def test_flips():
    img = tapegrad.tensor([[1, 2], [3, 4]])
    assert arr(T.RandomHorizontalFlip(p=1.0)(img)).tolist() == [[2, 1], [4, 3]]
    assert arr(T.RandomVerticalFlip(p=1.0)(img)).tolist() == [[3, 4], [1, 2]]
    assert T.RandomHorizontalFlip(p=0.0)(img) is img
    assert np.array_equal(T.RandomHorizontalFlip(1.0)(HWC), HWC[:, ::-1])
    # the decisions are torch.rand(1) < p, as torchvision draws them
    tapegrad.manual_seed(9)
    torch.manual_seed(9)
    flips = [T.RandomHorizontalFlip()(img) is not img for _ in range(20)]
    assert flips == [bool(torch.rand(1) < 0.5) for _ in range(20)]


def test_compose_and_lambda():
    t = T.Compose([T.Lambda(lambda x: x * 2), T.Lambda(lambda x: x + 1)])
    assert t(3) == 7
    assert "Lambda()" in repr(t) and repr(t).startswith("Compose(")
    with pytest.raises(TypeError, match="Argument lambd should be callable"):
        T.Lambda(3)


# ---------------------------------------------------------------------------------------
# The regularisers: input noise and label noise


def test_gaussian_noise():
    img = tapegrad.full((1, 200, 200), 0.5)
    tapegrad.manual_seed(0)
    out = T.GaussianNoise(mean=0.1, sigma=0.05, clip=False)(img)
    noise = arr(out) - 0.5
    assert abs(noise.mean() - 0.1) < 2e-3 and abs(noise.std() - 0.05) < 2e-3
    tapegrad.manual_seed(0)
    again = T.GaussianNoise(mean=0.1, sigma=0.05, clip=False)(img)
    assert np.array_equal(arr(again), arr(out))
    clipped = arr(T.GaussianNoise(sigma=1.0)(img))
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    with pytest.raises(ValueError, match="float dtype"):
        T.GaussianNoise()(tapegrad.zeros(1, 2, 2, dtype=tapegrad.uint8))
    with pytest.raises(ValueError, match="sigma shouldn't be negative"):
        T.GaussianNoise(sigma=-1)


def test_random_label_noise():
    tapegrad.manual_seed(1)
    assert all(T.RandomLabelNoise(10, p=0.0)(k % 10) == k % 10 for k in range(50))
    noisy = [T.RandomLabelNoise(4, p=1.0)(2) for _ in range(600)]
    assert 2 not in noisy and all(type(v) is int for v in noisy)
    counts = np.bincount(noisy, minlength=4)
    assert counts[2] == 0 and all(150 < c < 250 for c in counts[[0, 1, 3]])
    flipped = np.mean([T.RandomLabelNoise(10, p=0.3)(5) != 5 for _ in range(2000)])
    assert 0.25 < flipped < 0.35
    out = T.RandomLabelNoise(3, p=1.0)(tapegrad.tensor(0))
    assert isinstance(out, tapegrad.Tensor) and out.dtype == tapegrad.int64 and out.item() in (1, 2)
    with pytest.raises(IndexError, match="out of bounds for 3 classes"):
        T.RandomLabelNoise(3)(3)
    with pytest.raises(ValueError):
        T.RandomLabelNoise(3, p=1.5)


# ---------------------------------------------------------------------------------------
# make_grid and save_image (torchvision.utils)


def test_make_grid_layout():
    imgs = tapegrad.from_numpy(RNG.random((5, 1, 4, 4), dtype=np.float32))
    grid = make_grid(imgs, nrow=2, padding=1, pad_value=0.25)
    # 3 rows of 2: height 3 * (4 + 1) + 1, width 2 * (4 + 1) + 1; grey becomes RGB
    assert tuple(grid.shape) == (3, 16, 11) and grid.dtype == tapegrad.float32
    g, src = arr(grid), arr(imgs)
    for k in range(5):
        y, x = divmod(k, 2)
        for c in range(3):
            np.testing.assert_array_equal(
                g[c, 1 + 5 * y : 5 + 5 * y, 1 + 5 * x : 5 + 5 * x], src[k, 0]
            )
    assert np.all(g[:, 11:15, 6:10] == 0.25)  # the empty sixth cell
    assert np.all(g[:, 0, :] == 0.25) and np.all(g[:, :, 5] == 0.25)
    assert tuple(make_grid(imgs).shape) == (3, 8, 5 * 6 + 2)  # default nrow=8, padding=2
    assert tuple(make_grid(list(imgs[:2])).shape) == (3, 8, 14)


def test_make_grid_single_images_and_normalize():
    assert tuple(make_grid(tapegrad.ones(4, 5)).shape) == (3, 4, 5)
    assert tuple(make_grid(tapegrad.ones(3, 4, 5)).shape) == (3, 4, 5)
    x = tapegrad.tensor([[[[-1.0, 1.0]]], [[[0.0, 3.0]]]])
    together = arr(make_grid(x, padding=0, normalize=True))[0]
    assert together.tolist() == [[0.0, 0.5, 0.25, 1.0]]  # (x - min) / (max - min) over all
    each = arr(make_grid(x, padding=0, normalize=True, scale_each=True))[0]
    assert each.tolist() == [[0.0, 1.0, 0.0, 1.0]]
    ranged = arr(make_grid(x, padding=0, normalize=True, value_range=(0.0, 2.0)))[0]
    assert ranged.tolist() == [[0.0, 0.5, 0.0, 1.0]]  # clamped to the range first
    assert x.numpy()[0, 0, 0, 0] == -1.0  # the input is left alone
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        make_grid(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(x, normalize=True, value_range=[0, 1])


def read_png(data: bytes) -> np.ndarray:
    """A minimal reader for the filter-0, 8-bit PNGs save_image writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0]
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + n
    w, h, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {0: 1, 2: 3, 6: 4}[color]
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + w * channels)
    assert depth == 8 and not raw[:, 0].any()
    return raw[:, 1:].reshape(h, w, channels)


def test_save_image_writes_torchvisions_pixels(tmp_path):
    imgs = tapegrad.from_numpy(RNG.random((3, 3, 4, 5), dtype=np.float32) * 1.2 - 0.1)
    path = tmp_path / "grid.png"
    save_image(imgs, path, nrow=2, padding=1)
    pixels = read_png(path.read_bytes())
    grid = torch.from_numpy(arr(make_grid(imgs, nrow=2, padding=1)))
    # torchvision: grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8)
    expected = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    np.testing.assert_array_equal(pixels, expected)
    Image = pytest.importorskip("PIL.Image")
    np.testing.assert_array_equal(np.asarray(Image.open(path)), expected)


def test_write_png_grey_and_rgba(tmp_path):
    from tapegrad.utils.image import write_png

    for pixels in (HWC[:, :, 0], np.concatenate([HWC, HWC[:, :, :1]], axis=2)):
        buf = io.BytesIO()
        write_png(pixels, buf)
        back = read_png(buf.getvalue())
        np.testing.assert_array_equal(back.reshape(pixels.shape), pixels)
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        write_png(np.zeros((2, 2, 2), np.uint8), io.BytesIO())


def test_save_image_to_a_file_object_and_errors(tmp_path):
    buf = io.BytesIO()
    save_image(tapegrad.full((1, 2, 3), 1.0), buf)
    pixels = read_png(buf.getvalue())
    assert pixels.shape == (2, 3, 3) and (pixels == 255).all()
    with pytest.raises(ValueError, match="PNG"):
        save_image(tapegrad.zeros(3, 2, 2), tmp_path / "x.jpg")
    with pytest.raises(TypeError, match="floating-point"):
        save_image(tapegrad.zeros(3, 2, 2, dtype=tapegrad.uint8), tmp_path / "x.png")
