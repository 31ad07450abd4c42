"""Checkpoints: tapegrad.save / tapegrad.load (mirror torch.save / torch.load)."""

import collections
import io
import json
import math
import os
import pickle
import zipfile

import numpy as np
import pytest
from hostile_files import peak_memory, torch_zip

from tapegrad import serialization as S

DTYPES = [
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.bool_,
    np.complex64,
    np.complex128,
]
SHAPES = [(), (0,), (5,), (2, 3, 4), (3, 0, 2), (1, 1)]


def core():
    """tapegrad with its Tensor, or skip (the NumPy-level tests run without it)."""
    import tapegrad

    if not all(hasattr(tapegrad, name) for name in ("Tensor", "tensor", "from_numpy")):
        pytest.skip("tapegrad's Tensor core is not available")
    return tapegrad


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.standard_normal(shape) * 50)
    if np.dtype(dtype) == np.bool_:
        x = x > 0
    elif np.dtype(dtype).kind == "c":
        x = x + 1j * x[::-1] if x.ndim else x + 1j
    elif np.dtype(dtype).kind == "u":
        x = np.abs(x)
    return np.asarray(x).astype(dtype)  # 0-d results of NumPy operations are scalars


def roundtrip(obj, tmp_path, **load_kwargs):
    path = tmp_path / "ckpt.pt"
    S.save(obj, path)
    return S.load(path, **load_kwargs)


def assert_same_array(a, b):
    assert type(a) is np.ndarray and type(b) is np.ndarray
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------
# The format, at the NumPy level


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_array_roundtrip_every_dtype_and_shape(tmp_path, dtype, shape):
    arr = sample(dtype, shape)
    out = roundtrip(arr, tmp_path)
    assert_same_array(out, arr)
    assert out.flags.writeable and out.flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_noncontiguous_and_big_endian_arrays(tmp_path, dtype):
    base = sample(dtype, (6, 8))
    views = {
        "t": base.T,
        "step": base[::2, 1::3],
        "neg": base[::-1],
        "col": base[:, 3],
        "fortran": np.asfortranarray(base),
        "big": base.astype(base.dtype.newbyteorder(">")),
    }
    out = roundtrip(views, tmp_path)
    for key, view in views.items():
        assert out[key].shape == view.shape
        assert out[key].dtype == view.dtype.newbyteorder("=")
        np.testing.assert_array_equal(out[key], view)
        assert out[key].flags.c_contiguous


def test_nested_structures_roundtrip(tmp_path):
    from tapegrad import _device, _dtype

    odict = collections.OrderedDict([("w", np.ones((2, 2), np.float32)), ("n", np.int64(3))])
    odict._metadata = collections.OrderedDict([("", {"version": 1})])
    obj = {
        "epoch": 7,
        "lr": 0.125,
        "best": float("inf"),
        "loss": float("nan"),
        "neg": -0.0,
        "done": False,
        "name": "résumé ✓",
        "nothing": None,
        "blob": b"\x00\xffbytes",
        "model": odict,
        "optimizer": {
            "state": {0: {"momentum_buffer": np.arange(3.0)}, 1: {}},
            "param_groups": [{"lr": 0.1, "params": [0, 1], "nesterov": True}],
        },
        "rng": ("MT19937", np.arange(624, dtype=np.uint32), 2, 0, 0.0),
        (1, "tuple-key"): [[], (), {}, [1, [2, [3]]]],
        "big": 2**70,
        "np_scalars": [np.float32(1.5), np.int16(-2), np.bool_(True)],
        "dtype": _dtype.float16,
        "device": _device.device("cuda", 1),
    }
    out = roundtrip(obj, tmp_path)
    assert list(out) == list(obj)
    assert type(out["model"]) is collections.OrderedDict
    assert out["model"]._metadata == {"": {"version": 1}}
    assert_same_array(out["model"]["w"], odict["w"])
    assert type(out["model"]["n"]) is np.int64 and out["model"]["n"] == 3
    assert out["optimizer"]["param_groups"] == obj["optimizer"]["param_groups"]
    assert list(out["optimizer"]["state"]) == [0, 1]
    assert_same_array(out["optimizer"]["state"][0]["momentum_buffer"], np.arange(3.0))
    assert type(out["rng"]) is tuple and out["rng"][0] == "MT19937"
    assert_same_array(out["rng"][1], obj["rng"][1])
    assert out[(1, "tuple-key")] == [[], (), {}, [1, [2, [3]]]]
    assert type(out[(1, "tuple-key")][1]) is tuple
    for key in ("epoch", "lr", "best", "done", "name", "nothing", "blob", "big"):
        assert out[key] == obj[key] and type(out[key]) is type(obj[key])
    assert math.isnan(out["loss"]) and math.copysign(1, out["neg"]) == -1
    assert [type(v) for v in out["np_scalars"]] == [np.float32, np.int16, np.bool_]
    assert out["np_scalars"] == obj["np_scalars"]
    assert out["dtype"] is _dtype.float16 and out["device"] == _device.device("cuda:1")


def test_the_format_is_pytorchs_zip(tmp_path):
    tg = core()
    path = tmp_path / "ckpt.pt"
    S.save({"a": tg.arange(4, dtype=tg.int32), "b": 2}, path)
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        assert names == [
            "archive/.data/serialization_id",
            "archive/.format_version",
            "archive/byteorder",
            "archive/data.pkl",
            "archive/data/0",
            "archive/version",
        ]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        raw = zf.read("archive/data/0")
        assert b"torch._utils\n_rebuild_tensor_v2" in zf.read("archive/data.pkl")
    assert_same_array(np.frombuffer(raw, "<i4"), np.arange(4, dtype=np.int32))


def test_shared_array_is_stored_once(tmp_path):
    shared = np.arange(10.0)
    out = roundtrip({"a": shared, "b": [shared], "c": shared.copy()}, tmp_path)
    assert out["a"] is out["b"][0] and out["a"] is not out["c"]


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    S.save({"x": np.eye(3)}, buf)
    buf.seek(0)
    assert_same_array(S.load(buf)["x"], np.eye(3))

    class Unseekable(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.inner.readinto(b)

    assert_same_array(S.load(Unseekable(buf.getvalue()))["x"], np.eye(3))
    with open(tmp_path / "f.pt", "wb") as f:
        S.save([1, 2], f)
    with open(tmp_path / "f.pt", "rb") as f:
        assert S.load(f) == [1, 2]


def test_pathlike_and_str_paths(tmp_path):
    S.save(5, str(tmp_path / "a.pt"))
    assert S.load(str(tmp_path / "a.pt")) == 5


# ---------------------------------------------------------------------------------------
# Errors


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        S.load(tmp_path / "nope.pt")


def test_save_into_missing_folder_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        S.save(1, tmp_path / "no" / "such" / "dir.pt")


def test_unpicklable_objects_raise_as_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")

    def local():
        return 0

    for bad in [lambda: 0, local, (x for x in [])]:
        with pytest.raises(Exception) as expected:
            torch.save({"model": [bad]}, io.BytesIO())
        with pytest.raises(type(expected.value)):
            S.save({"model": [bad]}, tmp_path / "x.pt")
        assert list(tmp_path.iterdir()) == []  # no checkpoint, no temporary file


def test_cycles_and_sets_roundtrip(tmp_path):
    loop = [1]
    loop.append(loop)
    out = roundtrip({"loop": loop, "set": {1, 2}, "frozen": frozenset("ab")}, tmp_path)
    assert out["loop"][1] is out["loop"] and out["loop"][0] == 1
    assert out["set"] == {1, 2} and out["frozen"] == frozenset("ab")


def test_non_numeric_arrays_need_weights_only_false(tmp_path):
    path = tmp_path / "x.pt"
    S.save({"s": np.array(["a", "b"]), "o": np.array([object()])}, path)
    with pytest.raises(pickle.UnpicklingError):
        S.load(path)
    out = S.load(path, weights_only=False)
    assert list(out["s"]) == ["a", "b"] and out["o"].dtype == object


# ---------------------------------------------------------------------------------------
# Atomic writes


def _failing_writer(exc):
    def write(obj, fp, protocol, name):
        fp.write(b"PK\x03\x04 half a checkpoint")
        raise exc

    return write


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_write_keeps_the_old_checkpoint_and_leaves_no_temp_file(tmp_path, monkeypatch, exc):
    path = tmp_path / "ckpt.pt"
    S.save({"epoch": 1, "w": np.ones(3)}, path)
    before = path.read_bytes()
    monkeypatch.setattr(S._torch_format, "write", _failing_writer(exc))
    with pytest.raises(type(exc)):
        S.save({"epoch": 2, "w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert S.load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_failed_fsync_or_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    S.save(1, path)

    def fail(*args):
        raise OSError("rename failed")

    monkeypatch.setattr(S.os, "replace", fail)
    with pytest.raises(OSError, match="rename failed"):
        S.save(2, path)
    monkeypatch.undo()
    assert S.load(path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_save_writes_through_a_temp_file_in_the_same_folder(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src), dst))
        assert not os.path.exists(dst)
        real_replace(src, dst)

    monkeypatch.setattr(S.os, "replace", spy)
    S.save([1], tmp_path / "new.pt")
    ((folder, tmp_name, dst),) = seen
    assert folder == str(tmp_path) and tmp_name.startswith(".new.pt.")
    assert dst == str(tmp_path / "new.pt")


# ---------------------------------------------------------------------------------------
# Corrupt files


def test_empty_random_and_truncated_files_raise_runtime_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    S.save({"w": np.arange(1000.0), "b": [1, 2, 3]}, path)
    data = path.read_bytes()
    bad = tmp_path / "bad.pt"
    for content in [
        b"",
        b"hello world",
        os.urandom(4096),
        data[:100],
        data[: len(data) // 2],
        data[:-30],
        b"PK\x03\x04" + os.urandom(200),
    ]:
        bad.write_bytes(content)
        with pytest.raises(RuntimeError):
            S.load(bad)


def test_corrupted_payload_fails_the_crc_check(tmp_path):
    path = tmp_path / "ckpt.pt"
    S.save({"w": np.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    data[500] ^= 0xFF  # inside the .npy payload
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="corrupt"):
        S.load(path)


def _handmade(path, meta, entries):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("checkpoint.json", json.dumps(meta))
        for name, data in entries.items():
            zf.writestr(name, data)


def _npy_header(shape, descr="<f8"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def test_huge_declared_shape_is_refused_without_allocating(tmp_path):
    path = tmp_path / "forged.pt"
    node = {"type": "ndarray", "data": "tensors/0.npy"}
    _handmade(
        path,
        {"format": "tapegrad.save", "version": 1, "object": node},
        {"tensors/0.npy": _npy_header((10**6, 10**6)) + b"\x00" * 64},
    )
    with peak_memory() as peak:
        with pytest.raises(RuntimeError, match="declares shape"):
            S.load(path)
    assert peak.bytes < 10 << 20


@pytest.mark.parametrize(
    "node",
    [
        {"type": "nonsense"},
        {"type": "list"},
        {
            "type": "tensor",
            "data": "tensors/9.npy",
            "requires_grad": False,
            "parameter": False,
            "device": "cpu",
        },
        {"type": "ndarray", "data": "tensors/0.npy"},  # an object-dtype .npy entry
        {"type": "dict", "items": [[{"type": "list", "items": []}, 1]]},  # unhashable key
        [1, 2],
    ],
)
def test_malformed_structure_raises_runtime_error(tmp_path, node):
    path = tmp_path / "forged.pt"
    _handmade(
        path,
        {"format": "tapegrad.save", "version": 1, "object": node},
        {"tensors/0.npy": _npy_header((1,), "|O") + b"\x00" * 8},
    )
    with pytest.raises(RuntimeError):
        S.load(path)


def test_newer_format_version_says_to_upgrade(tmp_path):
    path = tmp_path / "new.pt"
    _handmade(path, {"format": "tapegrad.save", "version": 99, "object": 1}, {})
    with pytest.raises(RuntimeError, match="upgrade tapegrad"):
        S.load(path)


def test_a_zip_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(RuntimeError, match="not a tapegrad or PyTorch checkpoint"):
        S.load(path)


# ---------------------------------------------------------------------------------------
# PyTorch checkpoints: the restricted unpickler


class _Payload:
    """Unpickling this calls os.mkdir(target): code execution if the loader allows it."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.mkdir, (self.target,))


@pytest.mark.parametrize("wrap", [lambda p: p, lambda p: collections.OrderedDict(w=[1, p])])
def test_malicious_pickle_is_refused_and_not_executed(tmp_path, wrap):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch_zip(path, pickle.dumps(wrap(_Payload(marker)), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"mkdir"):
        S.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "target",
    [
        "builtins eval",
        "builtins getattr",
        "os system",
        "subprocess Popen",
        "torch load",
        "numpy load",
        "torch._utils _rebuild_qtensor",
    ],
)
def test_forbidden_globals_are_named(tmp_path, target):
    path = tmp_path / "evil.pt"
    torch_zip(path, b"\x80\x02c" + target.replace(" ", "\n").encode() + b"\n)R.")
    with pytest.raises(pickle.UnpicklingError) as info:
        S.load(path)
    assert target.replace(" ", ".").removeprefix("builtins.") in str(info.value)
    assert str(path) in str(info.value)


def test_pickle_memo_bomb_allocates_nothing(tmp_path):
    # A 10-byte pickle whose memo index would make the C unpickler allocate gigabytes;
    # the weights-only memo is a dict, so it is just index 0x7FFFFFF0.
    path = tmp_path / "bomb.pt"
    torch_zip(path, b"\x80\x02Nr" + (0x7FFFFFF0).to_bytes(4, "little") + b".")
    with peak_memory() as peak:
        assert S.load(path) is None
    assert peak.bytes < 10 << 20


def test_storage_smaller_than_the_tensor_is_refused(tmp_path):
    # _rebuild_tensor_v2((storage FloatStorage '0' cpu 4), 0, (100,), (1,), False, OrderedDict())
    pickled = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
        b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00Kd"
        b"\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR."
    )
    path = tmp_path / "short.pt"
    torch_zip(path, pickled, [("0", np.zeros(4, np.float32).tobytes())])
    with pytest.raises(RuntimeError, match="does not fit"):
        S.load(path)
    torch_zip(path, pickled, [("0", b"\x00" * 5)])  # 5 bytes: not 4 floats
    with pytest.raises(RuntimeError, match="corrupt"):
        S.load(path)


def test_legacy_non_zip_torch_format_is_refused_clearly(tmp_path):
    path = tmp_path / "old.pt"
    # The legacy format starts with a pickled magic number.
    path.write_bytes(b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19." + b"\x00" * 100)
    with pytest.raises(RuntimeError, match="legacy"):
        S.load(path)


# ---------------------------------------------------------------------------------------
# Real PyTorch checkpoints


def _torch_checkpoint(tmp_path, obj, **kwargs):
    torch = pytest.importorskip("torch")
    path = tmp_path / "torch.pt"
    torch.save(obj, path, **kwargs)
    return path


def test_reads_a_torch_state_dict(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2)
    )
    model(torch.randn(2, 1, 3, 6))  # updates the BatchNorm running statistics
    state = model.state_dict()
    out = S.load(_torch_checkpoint(tmp_path, state))
    assert type(out) is collections.OrderedDict
    assert list(out) == list(state)
    assert out._metadata == state._metadata
    for key, value in state.items():
        t = out[key]
        assert type(t) is core().Tensor and not t.requires_grad
        assert_same_array(t.numpy(), value.numpy())
    assert out["1.num_batches_tracked"].numpy().dtype == np.int64


def test_reads_torch_noncontiguous_tensors_and_every_dtype(tmp_path):
    from tapegrad import _dtype as tg_dtype

    torch = pytest.importorskip("torch")
    x = torch.arange(24.0).reshape(4, 6)
    obj = {
        "t": x.t(),
        "col": x[:, 2],
        "step": x[::2, 1::2],
        "offset": x[1:, 3:],
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "narrow": x.narrow(1, 2, 3),
        "perm": torch.arange(24).reshape(2, 3, 4).permute(2, 0, 1),
        "expand": x[:1].expand(5, 6),
        "grad": torch.ones(2, requires_grad=True),
        "param": torch.nn.Parameter(torch.ones(3)),
        "frozen": torch.nn.Parameter(torch.ones(1), requires_grad=False),
        "size": x.shape,
        "meta": {"epoch": 3, "names": ["a", "b"], "pair": (1, 2.5)},
        "numpy": np.arange(3, dtype=np.uint32),
        "bytes": b"\x00\x01",
        "dtype": torch.int16,
        "device": torch.device("cuda", 1),
    }
    for dt in [
        "float16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
        "complex64",
        "complex128",
    ]:
        obj[dt] = (torch.arange(12).reshape(3, 4) % 3).to(getattr(torch, dt)).t()
    out = S.load(_torch_checkpoint(tmp_path, obj))
    Parameter = pytest.importorskip("tapegrad.nn.parameter").Parameter
    for key, value in obj.items():
        if isinstance(value, torch.Tensor):
            assert_same_array(np.array(out[key].detach().numpy()), value.detach().numpy())
    assert out["grad"].requires_grad and not isinstance(out["grad"], Parameter)
    assert isinstance(out["param"], Parameter) and out["param"].requires_grad
    assert isinstance(out["frozen"], Parameter) and not out["frozen"].requires_grad
    assert tuple(out["size"]) == (4, 6)
    assert out["meta"] == {"epoch": 3, "names": ["a", "b"], "pair": (1, 2.5)}
    assert_same_array(out["numpy"], obj["numpy"])
    assert out["bytes"] == b"\x00\x01"
    assert out["dtype"] is tg_dtype.int16 and str(out["device"]) == "cuda:1"


def test_reads_torch_bfloat16_as_float32_without_ml_dtypes(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    x = torch.tensor([1.0, -2.5, 3.140625], dtype=torch.bfloat16)
    path = _torch_checkpoint(tmp_path, {"x": x})
    from tapegrad import _dtype as tg_dtype

    monkeypatch.setattr(tg_dtype, "_ml_dtypes", None)  # as where the extra is missing
    with pytest.warns(UserWarning, match="bfloat16"):
        out = S.load(path)
    assert_same_array(out["x"].numpy(), x.float().numpy())


def test_reads_a_torch_optimizer_state_dict(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    state = opt.state_dict()
    out = S.load(_torch_checkpoint(tmp_path, {"opt": state, "epoch": 4}))
    assert out["epoch"] == 4
    assert out["opt"]["param_groups"] == state["param_groups"]
    for i, st in state["state"].items():
        for name, value in st.items():
            assert_same_array(out["opt"]["state"][i][name].numpy(), value.numpy())


def test_a_whole_torch_module_is_refused_by_default(tmp_path):
    torch = pytest.importorskip("torch")
    path = _torch_checkpoint(tmp_path, torch.nn.Linear(2, 2))
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules.linear.Linear"):
        S.load(path)


def test_the_legacy_format_written_by_torch_is_refused(tmp_path):
    pytest.importorskip("torch")
    import torch

    path = _torch_checkpoint(tmp_path, {"w": torch.ones(2)}, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="legacy"):
        S.load(path)


def test_truncated_torch_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    path = _torch_checkpoint(tmp_path, {"w": torch.ones(1000)})
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(RuntimeError):
        S.load(path)


# ---------------------------------------------------------------------------------------
# Tensors (needs tapegrad's Tensor)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_roundtrip_keeps_dtype_shape_values(tmp_path, dtype):
    tg = core()
    tensors = {str(shape): tg.from_numpy(sample(dtype, shape)) for shape in SHAPES}
    out = roundtrip(tensors, tmp_path)
    for key, t in tensors.items():
        assert isinstance(out[key], tg.Tensor)
        assert out[key].dtype == t.dtype and tuple(out[key].shape) == tuple(t.shape)
        assert_same_array(out[key].numpy(), t.numpy())
        assert not out[key].requires_grad


def test_tensor_flags_sharing_and_views(tmp_path):
    tg = core()
    w = tg.from_numpy(np.arange(12.0, dtype=np.float32).reshape(3, 4))
    w.requires_grad_(True)
    loss = (w * 2).sum()
    base = tg.from_numpy(np.arange(20.0).reshape(4, 5))
    view = tg.from_numpy(base.numpy()[::2, 1::2])
    out = roundtrip({"w": w, "again": w, "loss": loss, "view": view}, tmp_path)
    assert out["w"] is out["again"]
    assert out["w"].requires_grad and out["w"].is_leaf and out["w"].grad_fn is None
    assert out["loss"].requires_grad and out["loss"].is_leaf
    assert float(out["loss"].detach().numpy()) == float(loss.detach().numpy())
    assert_same_array(out["view"].numpy(), base.numpy()[::2, 1::2])


def test_parameters_load_as_parameters(tmp_path):
    tg = core()
    Parameter = pytest.importorskip("tapegrad.nn.parameter").Parameter
    w = Parameter(tg.from_numpy(np.ones((2, 3), np.float32)))
    frozen = Parameter(tg.from_numpy(np.zeros(2, np.float32)), requires_grad=False)
    out = roundtrip([w, frozen, w], tmp_path)
    assert isinstance(out[0], Parameter) and out[0].requires_grad and out[0] is out[2]
    assert isinstance(out[1], Parameter) and not out[1].requires_grad
    assert_same_array(out[0].detach().numpy(), w.detach().numpy())


def test_tensor_map_location(tmp_path):
    tg = core()
    t = tg.from_numpy(np.ones(3, np.float32))
    seen = []

    def keep(storage, location):
        seen.append(location)
        return storage

    for kwargs in [
        {"map_location": "cpu"},
        {"map_location": {"cuda:0": "cpu"}},
        {"map_location": keep},
    ]:
        out = roundtrip({"t": t}, tmp_path, **kwargs)["t"]
        assert str(out.device) == "cpu" and out.dtype == t.dtype
    assert seen == ["cpu"]


def test_torch_state_dict_loads_as_tensors(tmp_path):
    tg = core()
    torch = pytest.importorskip("torch")
    Parameter = pytest.importorskip("tapegrad.nn.parameter").Parameter
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2)
    )
    state = model.state_dict()
    path = tmp_path / "torch.pt"
    torch.save({"model": state, "weights": list(model.parameters())}, path)
    out = S.load(path)
    assert list(out["model"]) == list(state)
    for key, value in state.items():
        t = out["model"][key]
        assert isinstance(t, tg.Tensor) and not t.requires_grad
        assert t.dtype.name == str(value.dtype).removeprefix("torch.")
        assert_same_array(t.numpy(), value.numpy())
    assert all(isinstance(p, Parameter) and p.requires_grad for p in out["weights"])


def test_torch_save_and_load_keyword_arguments_are_accepted(tmp_path):
    # PyTorch code passes these; tapegrad honours the protocol and reads into memory.
    path = tmp_path / "k.pt"
    S.save({"a": np.arange(3)}, path, pickle_protocol=4, _use_new_zipfile_serialization=True)
    out = S.load(path, map_location="cpu", weights_only=None, mmap=True, encoding="latin1")
    assert_same_array(out["a"], np.arange(3))
    with pytest.raises(ValueError, match="legacy format"):
        S.save({"a": 1}, path, _use_new_zipfile_serialization=False)
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.save({"a": 1}, path, not_an_option=1)
    with pytest.raises(TypeError):
        S.save({"a": 1}, path, not_an_option=1)
