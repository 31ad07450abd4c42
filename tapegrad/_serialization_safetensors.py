"""The safetensors format for ``tapegrad.save`` / ``tapegrad.load`` (Hugging Face's format).

A safetensors file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw little-endian data. It holds only a
flat ``{name: tensor}`` mapping (plus optional string metadata), and loading it runs no
code, so it is the format weights travel in between frameworks.

Reading and writing go through the ``safetensors`` package's NumPy API (optional extra
``tapegrad[safetensors]``). Before any tensor data is read, the header is checked here
against the file's size, so a corrupt or hostile file is refused with a ``RuntimeError``
naming the file instead of a huge allocation or a crash deep inside the reader.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from . import _dtype

# A header is a list of names and shapes: 100 MB is far beyond any real model's
# (safetensors itself refuses the same size), and bounds what a hostile file can make us read.
MAX_HEADER_BYTES = 100_000_000

# safetensors dtype names -> NumPy dtypes tapegrad has tensors for.
_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("float64"),
    "F32": np.dtype("float32"),
    "F16": np.dtype("float16"),
    "I64": np.dtype("int64"),
    "I32": np.dtype("int32"),
    "I16": np.dtype("int16"),
    "I8": np.dtype("int8"),
    "U8": np.dtype("uint8"),
    "BOOL": np.dtype("bool"),
    "C64": np.dtype("complex64"),
}
if _dtype._ml_dtypes is not None:  # bfloat16 tensors need the `bfloat16` extra
    _DTYPES["BF16"] = _dtype.bfloat16.np
# Valid safetensors dtypes tapegrad has no NumPy dtype for (itemsize in bits).
_UNSUPPORTED_BITS_BF16 = {} if "BF16" in _DTYPES else {"BF16": 16}
_UNSUPPORTED_BITS = {
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "F4": 4,
    "U16": 16,
    "U32": 32,
    "U64": 64,
    **_UNSUPPORTED_BITS_BF16,
}


def is_safetensors(head: bytes) -> bool:
    """Whether a file's first bytes look like safetensors: a length, then a JSON object."""
    return len(head) >= 9 and head[8:9] == b"{" and not head.startswith(b"PK\x03\x04")


def _require_package():
    try:
        import safetensors.numpy
    except ImportError:
        raise ModuleNotFoundError(
            "reading and writing .safetensors files needs the safetensors package: "
            "pip install 'tapegrad[safetensors]'"
        ) from None
    return safetensors.numpy


# ----------------------------------------------------------------------------------------
# save


def write(obj: Any, fp: IO[bytes]) -> None:
    """Write ``obj`` (a ``{str: Tensor}`` mapping, e.g. a ``state_dict()``) as safetensors."""
    from ._tensor import Tensor

    if not isinstance(obj, Mapping):
        raise TypeError(
            "a .safetensors file holds a dict of tensors (such as model.state_dict()), "
            f"got {type(obj).__name__}; save other objects to a .pt file"
        )
    arrays: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(
                f"safetensors keys must be strings, got {type(key).__name__} key {key!r}"
            )
        if not isinstance(value, Tensor):
            raise ValueError(
                f"Key `{key}` is invalid, expected torch.Tensor but received "
                f"{type(value).__name__}: a .safetensors file holds only tensors; save other "
                "values to a .pt file"
            )
        # The package writes nbytes from the data pointer: the array must be dense
        # (np.require, not ascontiguousarray, which would make a 0-d tensor 1-d).
        arr = np.require(np.asarray(value.detach()), requirements="C")
        if arr.dtype not in _DTYPES.values():
            raise TypeError(
                f"tensor {key!r} has dtype {value.dtype}, which the safetensors format cannot "
                "hold; convert it (e.g. .to(torch.complex64)) or save to a .pt file"
            )
        arrays[key] = arr
    fp.write(_require_package().save(arrays))


# ----------------------------------------------------------------------------------------
# load


def _corrupt(name: str, what: str) -> RuntimeError:
    return RuntimeError(f"{name} is truncated or corrupt: {what}")


def _check_header(header: Any, name: str, data_size: int) -> None:
    """Every entry's dtype, shape and byte range valid and inside the data section."""
    if not isinstance(header, dict):
        raise _corrupt(name, "the safetensors header is not a JSON object")
    for key, entry in header.items():
        if key == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise _corrupt(name, "__metadata__ must map strings to strings")
            continue
        if not isinstance(entry, dict):
            raise _corrupt(name, f"tensor {key!r} is described by {type(entry).__name__}")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype, str) or not (dtype in _DTYPES or dtype in _UNSUPPORTED_BITS):
            raise _corrupt(name, f"tensor {key!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
            raise _corrupt(name, f"tensor {key!r} has invalid shape {shape!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size
        ):
            raise _corrupt(
                name,
                f"tensor {key!r} has data_offsets {offsets!r} outside the {data_size}-byte "
                "data section",
            )
        bits = _DTYPES[dtype].itemsize * 8 if dtype in _DTYPES else _UNSUPPORTED_BITS[dtype]
        nbytes = math.prod(shape) * bits // 8
        if offsets[1] - offsets[0] != nbytes:
            raise _corrupt(
                name,
                f"tensor {key!r} declares shape {shape} of {dtype} ({nbytes} bytes) but its "
                f"data_offsets span {offsets[1] - offsets[0]} bytes",
            )


def load(fp: IO[bytes], name: str, place) -> dict[str, Any]:
    """The ``{name: tensor}`` dict in a safetensors stream, checked before it is read.

    ``place(array, location, requires_grad, parameter)`` makes each tensor (it applies
    ``map_location``).
    """
    start = fp.tell()
    fp.seek(0, 2)
    size = fp.tell() - start
    fp.seek(start)
    prefix = fp.read(8)
    if len(prefix) != 8:
        raise _corrupt(name, "the file is shorter than a safetensors header length")
    header_len = int.from_bytes(prefix, "little")
    if header_len > MAX_HEADER_BYTES or 8 + header_len > size:
        raise _corrupt(
            name,
            f"the safetensors header declares {header_len} bytes but the file holds "
            f"{size} bytes (at most {MAX_HEADER_BYTES} allowed)",
        )
    raw = fp.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise _corrupt(name, f"the safetensors header is not valid JSON ({e})") from None
    _check_header(header, name, size - 8 - header_len)
    for key, entry in header.items():
        if key != "__metadata__" and entry["dtype"] not in _DTYPES:
            raise TypeError(
                f"{name}: tensor {key!r} has dtype {entry['dtype']}, which tapegrad has no "
                f"tensor type for (supported: {', '.join(_DTYPES)}); convert it first, e.g. "
                "with tensor.float() in PyTorch before safetensors.torch.save_file"
            )
    module = _require_package()
    fp.seek(start)
    data = fp.read(size)  # the size was checked against what the header declares
    from safetensors import SafetensorError, deserialize

    del module  # checked above; the raw views below also cover BF16, which it cannot type
    try:
        views = deserialize(data)
    except SafetensorError as e:
        raise _corrupt(name, f"safetensors refused it: {e}") from None
    out: dict[str, Any] = {}
    for key, view in views:
        dt = _DTYPES[view["dtype"]].newbyteorder("<")
        arr = np.frombuffer(view["data"], dtype=dt).reshape(view["shape"])
        # frombuffer over bytes is read-only; tensors own writable memory.
        arr = np.array(arr, dtype=dt.newbyteorder("="), copy=True)
        out[key] = place(arr, "cpu", False, False)
    return out
