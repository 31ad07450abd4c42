"""safetensors in ``tapegrad.save`` / ``tapegrad.load``, checked by the safetensors package.

Round trips both ways with ``safetensors.torch`` and ``safetensors.numpy``; corrupt and
hostile headers must give one ``RuntimeError`` naming the file, before any large read.
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys

import numpy as np
import pytest
import torch

import tapegrad

st_torch = pytest.importorskip("safetensors.torch")
st_numpy = pytest.importorskip("safetensors.numpy")

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _sample(dtype: str, shape=(2, 3)) -> np.ndarray:
    rng = np.random.default_rng(0)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith("float"):
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(0, 100, shape).astype(dtype)


def _raw_file(header: dict, data: bytes = b"", header_len: int | None = None) -> bytes:
    text = json.dumps(header).encode()
    n = len(text) if header_len is None else header_len
    return struct.pack("<Q", n) + text + data


def _write(tmp_path, raw: bytes, name="bad.safetensors") -> str:
    path = str(tmp_path / name)
    with open(path, "wb") as f:
        f.write(raw)
    return path


# ----------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("dtype", DTYPES)
def test_tapegrad_to_safetensors_torch_and_numpy(tmp_path, dtype):
    arr = _sample(dtype)
    path = str(tmp_path / "w.safetensors")
    tapegrad.save({"w": tapegrad.from_numpy(arr), "s": tapegrad.tensor(3.5)}, path)
    by_torch = st_torch.load_file(path)
    assert by_torch["w"].dtype == getattr(torch, dtype)
    np.testing.assert_array_equal(by_torch["w"].numpy(), arr)
    assert by_torch["s"].shape == () and by_torch["s"].item() == 3.5
    by_numpy = st_numpy.load_file(path)
    assert by_numpy["w"].dtype == arr.dtype
    np.testing.assert_array_equal(by_numpy["w"], arr)


@pytest.mark.parametrize("dtype", DTYPES)
def test_safetensors_torch_to_tapegrad(tmp_path, dtype):
    arr = _sample(dtype, (4, 1, 2))
    path = str(tmp_path / "t.safetensors")
    st_torch.save_file(
        {"a": torch.from_numpy(arr), "empty": torch.zeros(0, 3)}, path, metadata={"format": "pt"}
    )
    out = tapegrad.load(path)
    assert set(out) == {"a", "empty"}
    assert out["a"].dtype == getattr(tapegrad, dtype)
    np.testing.assert_array_equal(out["a"].numpy(), arr)
    assert tuple(out["empty"].shape) == (0, 3) and out["empty"].dtype == tapegrad.float32
    assert not out["a"].requires_grad
    out["a"][0] = out["a"][1]  # loaded tensors own writable memory


def test_safetensors_numpy_to_tapegrad(tmp_path):
    arrays = {"x": _sample("float64", (3,)), "c": np.array([1 + 2j], np.complex64)}
    path = str(tmp_path / "n.safetensors")
    st_numpy.save_file(arrays, path)
    out = tapegrad.load(path)
    for key, arr in arrays.items():
        assert out[key].dtype == tapegrad.from_numpy(arr).dtype
        np.testing.assert_array_equal(out[key].numpy(), arr)


def test_state_dict_round_trip_into_torch_and_back(tmp_path):
    tapegrad.manual_seed(0)
    model = tapegrad.nn.Sequential(tapegrad.nn.Linear(4, 3), tapegrad.nn.BatchNorm1d(3))
    path = str(tmp_path / "model.safetensors")
    tapegrad.save(model.state_dict(), path)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    ref.load_state_dict(st_torch.load_file(path))  # the integer num_batches_tracked too
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    model.eval(), ref.eval()
    np.testing.assert_allclose(
        model(tapegrad.from_numpy(x)).detach().numpy(),
        ref(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-6,
        atol=1e-6,
    )
    st_torch.save_file(ref.state_dict(), path)
    fresh = tapegrad.nn.Sequential(tapegrad.nn.Linear(4, 3), tapegrad.nn.BatchNorm1d(3))
    fresh.load_state_dict(tapegrad.load(path))
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), ref.state_dict()[key].numpy())


def test_views_and_grad_tensors_save_their_values(tmp_path):
    base = tapegrad.arange(12.0).reshape(3, 4)
    p = tapegrad.nn.Parameter(tapegrad.ones(2))
    path = str(tmp_path / "v.safetensors")
    tapegrad.save({"t": base.t(), "step": base[:, ::2], "p": p}, path)
    out = st_numpy.load_file(path)
    np.testing.assert_array_equal(out["t"], base.numpy().T)
    np.testing.assert_array_equal(out["step"], base.numpy()[:, ::2])
    np.testing.assert_array_equal(out["p"], np.ones(2, np.float32))


def test_detected_by_content_and_from_file_objects(tmp_path):
    raw = st_torch.save({"w": torch.arange(3)})
    path = _write(tmp_path, raw, "weights.pt")  # the name does not decide
    np.testing.assert_array_equal(tapegrad.load(path)["w"].numpy(), [0, 1, 2])
    np.testing.assert_array_equal(tapegrad.load(io.BytesIO(raw))["w"].numpy(), [0, 1, 2])
    with open(tmp_path / "obj.safetensors", "wb") as f:  # a named file object: by suffix
        tapegrad.save({"w": tapegrad.ones(2)}, f)
    assert st_numpy.load_file(str(tmp_path / "obj.safetensors"))["w"].tolist() == [1.0, 1.0]


def test_map_location_callable_applies(tmp_path):
    path = str(tmp_path / "m.safetensors")
    tapegrad.save({"w": tapegrad.ones(2)}, path)
    seen = []
    out = tapegrad.load(path, map_location=lambda t, loc: seen.append(loc) or t)
    assert seen == ["cpu"] and out["w"].tolist() == [1.0, 1.0]
    assert tapegrad.load(path, map_location="cpu")["w"].device == tapegrad.device("cpu")


@pytest.mark.parametrize("header_len", [0x4B50, 0x80, 0x1234])
def test_header_lengths_that_look_like_other_formats(tmp_path, header_len):
    # A length starting with b"PK" or b"\x80" must not be taken for zip or a legacy pickle.
    header = json.dumps({"w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}).encode()
    raw = struct.pack("<Q", header_len) + header.ljust(header_len) + b"\x01\x02"
    out = tapegrad.load(_write(tmp_path, raw))
    assert out["w"].tolist() == [1, 2]
    assert st_numpy.load(raw)["w"].tolist() == [1, 2]  # the package agrees the file is valid


# ----------------------------------------------------------------------------------------
# what cannot be saved or loaded


def test_unsupported_dtype_names_tensor_and_dtype(tmp_path):
    # bfloat16 loads (tests/test_bfloat16.py); uint16 has no tapegrad tensor type
    path = str(tmp_path / "u16.safetensors")
    st_torch.save_file(
        {"ok": torch.ones(1), "layer.weight": torch.ones(2, dtype=torch.uint16)}, path
    )
    with pytest.raises(TypeError, match=r"'layer\.weight' has dtype U16"):
        tapegrad.load(path)


def test_non_tensor_values_are_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "s.safetensors"
    with pytest.raises(ValueError, match="Key `epoch` is invalid, expected torch.Tensor"):
        tapegrad.save({"w": tapegrad.ones(1), "epoch": 3}, str(path))
    with pytest.raises(TypeError, match="holds a dict of tensors"):
        tapegrad.save([tapegrad.ones(1)], str(path))
    with pytest.raises(TypeError, match="keys must be strings"):
        tapegrad.save({1: tapegrad.ones(1)}, str(path))
    with pytest.raises(TypeError, match="complex128"):
        tapegrad.save({"z": tapegrad.zeros(1, dtype=tapegrad.complex128)}, str(path))
    assert os.listdir(tmp_path) == []  # atomic: no file, no temporary left behind


def test_failed_save_keeps_the_old_file(tmp_path):
    path = str(tmp_path / "keep.safetensors")
    tapegrad.save({"w": tapegrad.ones(2)}, path)
    with pytest.raises(ValueError):
        tapegrad.save({"w": "not a tensor"}, path)
    assert tapegrad.load(path)["w"].tolist() == [1.0, 1.0]
    assert os.listdir(tmp_path) == ["keep.safetensors"]


# ----------------------------------------------------------------------------------------
# corrupt and hostile files: RuntimeError naming the file, no large allocation

_GOOD = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}

CORRUPT = {
    "header_longer_than_file": (_GOOD, b"\0" * 8, 10**6),
    "header_over_100MB": (_GOOD, b"\0" * 8, 200_000_000),
    "offsets_past_the_end": (
        {"w": {"dtype": "F32", "shape": [10**9], "data_offsets": [0, 4 * 10**9]}},
        b"\0" * 8,
        None,
    ),
    "shape_not_matching_offsets": (
        {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
        b"\0" * 8,
        None,
    ),
    "negative_shape": (
        {"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}},
        b"\0" * 8,
        None,
    ),
    "reversed_offsets": (
        {"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}},
        b"\0" * 8,
        None,
    ),
    "unknown_dtype": (
        {"w": {"dtype": "F128", "shape": [2], "data_offsets": [0, 8]}},
        b"\0" * 8,
        None,
    ),
    "entry_not_an_object": ({"w": [1, 2]}, b"", None),
    "bad_metadata": ({"__metadata__": {"a": 1}, **_GOOD}, b"\0" * 8, None),
    "truncated_data": (_GOOD, b"\0" * 5, None),
    "hole_in_data": (_GOOD, b"\0" * 12, None),
    "overlapping_tensors": (
        {
            "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        },
        b"\0" * 8,
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_headers(tmp_path, case):
    header, data, header_len = CORRUPT[case]
    path = _write(tmp_path, _raw_file(header, data, header_len))
    with pytest.raises(RuntimeError, match=r"bad\.safetensors is truncated or corrupt"):
        tapegrad.load(path)


def test_json_that_is_not_an_object_or_not_json(tmp_path):
    for raw in (struct.pack("<Q", 6) + b"{oops}", struct.pack("<Q", 3) + b"{\xff}"):
        with pytest.raises(RuntimeError, match="bad.safetensors is truncated or corrupt"):
            tapegrad.load(_write(tmp_path, raw))


def test_deeply_nested_header(tmp_path):
    text = b"{" + b'"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    raw = struct.pack("<Q", len(text)) + text
    with pytest.raises(RuntimeError, match="bad.safetensors is truncated or corrupt"):
        tapegrad.load(_write(tmp_path, raw))


def test_every_truncation_of_a_valid_file(tmp_path):
    raw = st_torch.save({"a": torch.arange(6.0), "b": torch.ones(2, 2, dtype=torch.float16)})
    for cut in range(9, len(raw)):
        with pytest.raises(RuntimeError, match="truncated or corrupt"):
            tapegrad.load(io.BytesIO(raw[:cut]))


def test_missing_package_names_the_extra(tmp_path, monkeypatch):
    path = str(tmp_path / "w.safetensors")
    tapegrad.save({"w": tapegrad.ones(1)}, path)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ModuleNotFoundError, match=r"tapegrad\[safetensors\]"):
        tapegrad.load(path)
    with pytest.raises(ModuleNotFoundError, match=r"tapegrad\[safetensors\]"):
        tapegrad.save({"w": tapegrad.ones(1)}, str(tmp_path / "x.safetensors"))
