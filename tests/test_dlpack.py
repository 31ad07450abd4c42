"""DLPack exchange with NumPy and PyTorch: shared memory both ways, dtypes, views, errors.

Every exchange is checked by writing through one side and reading through the other.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.dlpack

import tapegrad
import tapegrad.utils.dlpack

DTYPES = [
    "float32",
    "float64",
    "float16",
    "complex64",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
]


def _values(dtype: str, shape=(3, 4)) -> np.ndarray:
    n = int(np.prod(shape))
    if dtype == "bool":
        return (np.arange(n) % 3 == 0).reshape(shape)
    return np.arange(n).astype(dtype).reshape(shape)


def _mark(dtype: str):
    """A value different from every one ``_values`` holds (True for bool: [0, 0] is False)."""
    return True if dtype == "bool" else 99


def _item(x, idx):
    value = x[idx]
    return value.item() if hasattr(value, "item") else value


@pytest.mark.parametrize("producer", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_import_shares_memory(producer, dtype):
    src = _values(dtype) if producer == "numpy" else torch.from_numpy(_values(dtype))
    t = tapegrad.from_dlpack(src)
    assert t.dtype == getattr(tapegrad, dtype) and tuple(t.shape) == tuple(src.shape)
    assert t.data_ptr() == np.from_dlpack(src).ctypes.data
    t[0, 1] = _mark(dtype)
    assert _item(src, (0, 1)) == _mark(dtype)
    src[2, 3] = _mark(dtype)
    assert t[2, 3].item() == _mark(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tapegrad_to_numpy_shares_memory(dtype):
    t = tapegrad.from_numpy(_values(dtype))
    a = np.from_dlpack(t)
    assert a.dtype == np.dtype(dtype) and a.ctypes.data == t.data_ptr()
    a[1, 1] = _mark(dtype)
    assert t[1, 1].item() == _mark(dtype)
    t[0, 1] = _mark(dtype)
    assert a[0, 1] == _mark(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tapegrad_to_torch_and_back_share_memory(dtype):
    t = tapegrad.from_numpy(_values(dtype))
    pt = torch.from_dlpack(t)
    assert pt.dtype == getattr(torch, dtype) and pt.data_ptr() == t.data_ptr()
    pt[2, 0] = _mark(dtype)
    assert t[2, 0].item() == _mark(dtype)
    back = tapegrad.from_dlpack(pt)
    assert back.dtype == t.dtype and back.data_ptr() == t.data_ptr()
    back[0, 3] = _mark(dtype)
    assert pt[0, 3].item() == _mark(dtype)


VIEWS = {
    "transpose": lambda x: x.transpose(0, 1),
    "step": lambda x: x[::2, 1::2],
    "column": lambda x: x[:, 2],
    "row": lambda x: x[1],
}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_non_contiguous_views_keep_strides(view):
    base = tapegrad.arange(12.0).reshape(3, 4)
    v = VIEWS[view](base)
    ref = VIEWS[view](torch.arange(12.0).reshape(3, 4))
    pt = torch.from_dlpack(v)
    assert pt.shape == ref.shape and pt.stride() == ref.stride()
    torch.testing.assert_close(pt, ref)
    pt.fill_(-1.0)  # through the view: lands in the base's memory
    np.testing.assert_array_equal(VIEWS[view](base.numpy()), -1.0)
    a = np.from_dlpack(v)
    assert np.shares_memory(a, base.numpy())
    back = tapegrad.from_dlpack(VIEWS[view](torch.zeros(3, 4)))
    assert back.stride() == ref.stride()


def test_capsules_both_ways():
    t = tapegrad.arange(4)
    cap = tapegrad.utils.dlpack.to_dlpack(t)
    pt = torch.utils.dlpack.from_dlpack(cap)
    pt[0] = 10
    assert t[0].item() == 10
    with pytest.raises(RuntimeError, match="consumed only once"):
        torch.utils.dlpack.from_dlpack(cap)
    src = torch.arange(3.0)
    got = tapegrad.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(src))
    got[2] = 7.0
    assert src[2].item() == 7.0
    own = tapegrad.from_dlpack(tapegrad.utils.dlpack.to_dlpack(t))
    assert own.data_ptr() == t.data_ptr()
    own[1] = 20  # a pre-1.0 capsule is writable, as in PyTorch
    assert t[1].item() == 20
    versioned = tapegrad.from_dlpack(np.arange(2.0).__dlpack__(max_version=(1, 0)))
    versioned[0] = 5.0
    view = torch.arange(6.0).reshape(2, 3).t()
    strided = tapegrad.from_dlpack(torch.utils.dlpack.to_dlpack(view))
    assert strided.stride() == view.stride()
    strided[0, 1] = -3.0
    assert view[0, 1].item() == -3.0


def test_copy_true_does_not_share():
    a = np.zeros(3, np.float32)
    t = tapegrad.from_dlpack(a, copy=True)
    t[0] = 1.0
    assert a[0] == 0.0


def test_dlpack_device_matches_torch():
    assert tapegrad.ones(2).__dlpack_device__() == torch.ones(2).__dlpack_device__()
    assert tuple(tapegrad.ones(2).__dlpack_device__()) == (1, 0)


# ----------------------------------------------------------------------------------------
# errors: PyTorch's types and messages


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    "export",
    [
        lambda lib, x: x.__dlpack__(),
        lambda lib, x: torch.from_dlpack(x),
        lambda lib, x: np.from_dlpack(x),
        lambda lib, x: lib.from_dlpack(x),
    ],
)
def test_requires_grad_refused_like_torch(export):
    want = _error(lambda: export(torch, torch.ones(2, requires_grad=True)))
    got = _error(lambda: export(tapegrad, tapegrad.ones(2, requires_grad=True)))
    assert got == want
    assert want[0] is BufferError  # "use tensor.detach()"
    detached = tapegrad.ones(2, requires_grad=True).detach()
    assert torch.from_dlpack(detached).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("stream", [1, "x", None, -1])
def test_stream_on_cpu_like_torch(stream):
    try:
        want = (True, torch.ones(2).__dlpack__(stream=stream) is not None)
    except Exception as e:
        want = (type(e), str(e))
    try:
        got = (True, tapegrad.ones(2).__dlpack__(stream=stream) is not None)
    except Exception as e:
        got = (type(e), str(e))
    assert got == want


def test_not_a_tensor_like_torch():
    assert _error(lambda: tapegrad.from_dlpack(5)) == _error(lambda: torch.from_dlpack(5))
    want = _error(lambda: torch.utils.dlpack.to_dlpack(5))
    assert _error(lambda: tapegrad.utils.dlpack.to_dlpack(5)) == want


def test_unsupported_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="uint16"):
        tapegrad.from_dlpack(torch.zeros(2, dtype=torch.uint16))


def test_imported_memory_outlives_the_producer():
    import gc

    got = tapegrad.from_dlpack(torch.utils.dlpack.to_dlpack(torch.arange(5.0) * 2))
    t = tapegrad.from_dlpack(torch.arange(4) + 1)
    gc.collect()
    assert got.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert t.tolist() == [1, 2, 3, 4]
    pt = torch.from_dlpack(tapegrad.arange(3.0) + 1)
    gc.collect()
    assert pt.tolist() == [1.0, 2.0, 3.0]


def test_device_and_copy_arguments():
    a = np.arange(3.0)
    same = tapegrad.from_dlpack(a, device="cpu")
    assert same.device == tapegrad.device("cpu") and same.data_ptr() == a.ctypes.data
    t = tapegrad.arange(3.0)
    copied = np.from_dlpack(t, copy=True)
    copied[0] = 5.0
    assert t[0].item() == 0.0
    assert torch.from_dlpack(t, copy=True).data_ptr() != t.data_ptr()
