"""A bounded fuzz test of the readers of untrusted files (issue 11).

Bit flips, byte changes, truncations and hostile pickles, against both checkpoint
formats (PyTorch's zip format, as tapegrad and PyTorch write it, and tapegrad 0.x's
JSON + .npy format) and the dataset readers (IDX, gzipped IDX, CIFAR pickles).

The contract checked for every case:
- a checkpoint either loads exactly the original object or raises ``RuntimeError``
  (the one documented exception; refusals are also ``pickle.UnpicklingError``) whose
  message names the file. Zip entries carry CRC-32s, so a change in the data is caught.
- a dataset file either loads data of a valid shape with labels in range (raw IDX and
  CIFAR files carry no checksum, so a changed pixel cannot be noticed) or raises
  ``RuntimeError`` naming the file.
- no hostile pickle creates its marker file, and peak memory stays bounded.
"""

import gzip
import io
import json
import pickle
import zipfile
from collections import Counter

import numpy as np
import pytest
from hostile_files import HOSTILE_PICKLES, PROTO, peak_memory, torch_zip

import tapegrad as tg
from tapegrad import serialization as S
from tapegrad.datasets import CIFAR10, mnist

MUTATIONS_PER_FILE = 80
PEAK_BYTES = 64 << 20


def _mutants(data: bytes, rng: np.random.Generator, n: int):
    """``n`` single mutations of ``data``: bit flips, byte changes, truncations."""
    for i in range(n):
        kind = ("bitflip", "byte", "truncate")[i % 3]
        if kind == "truncate":
            cut = int(rng.integers(0, len(data)))
            yield kind, data[:cut]
            continue
        pos = int(rng.integers(0, len(data)))
        out = bytearray(data)
        out[pos] = (
            out[pos] ^ (1 << int(rng.integers(0, 8)))
            if kind == "bitflip"
            else int(rng.integers(0, 256))
        )
        yield kind, bytes(out)


def _same(a, b) -> bool:
    if isinstance(a, tg.Tensor):
        return (
            type(a) is type(b)
            and a.dtype == b.dtype
            and tuple(a.shape) == tuple(b.shape)
            and a.requires_grad == b.requires_grad
            and np.array_equal(a.detach().numpy(), b.detach().numpy())
        )
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return type(a) is type(b) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _original():
    return {
        "w": tg.arange(12, dtype=tg.float32).reshape(3, 4) / 3,
        "b": tg.tensor([1, -2, 3]),
        "p": tg.nn.Parameter(tg.ones(2)),
        "arr": np.arange(5, dtype=np.int16),
        "meta": {"epoch": 7, "name": "run", "lr": 0.1, "flags": [True, None]},
    }


def _legacy_checkpoint() -> bytes:
    """A tapegrad 0.x checkpoint: checkpoint.json plus .npy entries."""
    buf = io.BytesIO()
    arr = io.BytesIO()
    np.lib.format.write_array(arr, np.arange(6, dtype=np.float32).reshape(2, 3))
    node = {
        "type": "dict",
        "items": [
            ["x", {"type": "tensor", "data": "tensors/0.npy", "requires_grad": False,
                   "parameter": False, "device": "cpu"}],
            ["n", 3],
        ],
    }  # fmt: skip
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("checkpoint.json", json.dumps({"format": "tapegrad.save", "version": 1,
                                                   "object": node}))  # fmt: skip
        zf.writestr("tensors/0.npy", arr.getvalue())
    return buf.getvalue()


def _checkpoints() -> dict[str, bytes]:
    out = {}
    buf = io.BytesIO()
    tg.save(_original(), buf)
    out["tapegrad"] = buf.getvalue()
    out["legacy"] = _legacy_checkpoint()
    try:
        import torch
    except ImportError:
        return out
    buf = io.BytesIO()
    torch.save({"w": torch.arange(12.0).reshape(3, 4) / 3, "n": torch.tensor([1, 2])}, buf)
    out["pytorch"] = buf.getvalue()
    return out


def _check_checkpoint(path, original, tally: Counter, label: str) -> None:
    try:
        loaded = S.load(path)
    except RuntimeError as e:
        assert str(path) in str(e), f"{label}: the error does not name the file: {e}"
        tally[f"{label}: RuntimeError"] += 1
        return
    assert _same(loaded, original), f"{label}: loaded something other than the original"
    tally[f"{label}: original"] += 1


def test_fuzz_checkpoints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(20261201)
    tally: Counter = Counter()
    with peak_memory() as peak:
        for fmt, data in _checkpoints().items():
            good = tmp_path / f"{fmt}.pt"
            good.write_bytes(data)
            original = S.load(good)
            for kind, mutant in _mutants(data, rng, MUTATIONS_PER_FILE):
                path = tmp_path / f"{fmt}-mutant.pt"
                path.write_bytes(mutant)
                _check_checkpoint(path, original, tally, f"{fmt} {kind}")
        for body in HOSTILE_PICKLES.values():
            path = torch_zip(tmp_path / "hostile.pt", PROTO + body + b".")
            with pytest.raises(RuntimeError, match="hostile.pt"):
                S.load(path)
            tally["hostile pickle: refused"] += 1
    print(dict(sorted(tally.items())))
    assert not (tmp_path / "MARKER").exists()
    assert peak.bytes < PEAK_BYTES
    assert sum(tally.values()) >= 3 * MUTATIONS_PER_FILE


def _idx(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def _check_dataset_file(load, path, tally: Counter, label: str, num_classes: int) -> None:
    try:
        images, labels = load(path)
    except RuntimeError as e:
        assert str(path) in str(e), f"{label}: the error does not name the file: {e}"
        tally[f"{label}: RuntimeError"] += 1
        return
    assert images.ndim in (2, 3) and len(images) == len(labels)
    assert all(0 <= int(v) < num_classes for v in labels)
    tally[f"{label}: loaded"] += 1


def test_fuzz_dataset_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(7)
    tally: Counter = Counter()
    images = rng.integers(0, 256, (6, 28, 28))
    labels = np.array([0, 9, 3, 3, 1, 7])
    cifar = {"data": rng.integers(0, 256, (4, 3072)).astype(np.uint8), "labels": [1, 2, 3, 9]}
    files = {
        "idx images": (_idx(images), lambda p: (mnist.read_image_file(p), labels)),
        "idx labels": (_idx(labels), lambda p: (images, _mnist_labels(p))),
        "idx.gz labels": (gzip.compress(_idx(labels)), lambda p: (images, _mnist_labels(p))),
        "cifar batch": (pickle.dumps(cifar, protocol=2), _cifar_batch),
    }
    with peak_memory() as peak:
        for label, (data, load) in files.items():
            suffix = ".gz" if label.endswith(".gz labels") else ""
            for kind, mutant in _mutants(data, rng, MUTATIONS_PER_FILE // 2):
                path = tmp_path / f"file{suffix}"
                path.write_bytes(mutant)
                _check_dataset_file(load, path, tally, f"{label} {kind}", 10)
        for body in HOSTILE_PICKLES.values():
            path = tmp_path / "hostile_batch"
            path.write_bytes(PROTO + body + b".")
            with pytest.raises(RuntimeError, match="hostile_batch"):
                _cifar_batch(path)
            tally["hostile cifar pickle: refused"] += 1
    print(dict(sorted(tally.items())))
    assert not (tmp_path / "MARKER").exists()
    assert peak.bytes < PEAK_BYTES


def _mnist_labels(path):
    labels = mnist.read_label_file(path)
    if len(labels) and (labels.min() < 0 or labels.max() >= 10):
        raise RuntimeError(f"{path}: label out of range")  # what MNIST() checks on load
    return labels


def _cifar_batch(path):
    ds = CIFAR10.__new__(CIFAR10)
    ds.num_classes = 10
    data, labels = ds._parse_batch(path.read_bytes(), str(path))
    return data, labels
