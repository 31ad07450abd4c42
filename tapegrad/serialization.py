"""Checkpoints: ``save`` and ``load`` (mirror ``torch.save`` and ``torch.load``).

``save`` writes a zip archive that never needs code to be read back::

    checkpoint.json       the structure (dicts, lists, numbers, strings...) as tagged JSON
    tensors/0.npy         one ``.npy`` entry per distinct tensor or array (no pickle)
    tensors/1.npy
    ...

``load`` reads that format and also checkpoints written by PyTorch's ``torch.save``
(its zip format). PyTorch stores the structure as a pickle; we read it with a restricted
unpickler that can only build containers, numbers, strings and tensors, so a malicious
checkpoint cannot run code. Corrupt or truncated files raise ``RuntimeError``, and every
size found in a file is checked against the bytes actually present before memory is
allocated for it.

Example::

    >>> import tapegrad as torch
    >>> torch.save({"epoch": 3, "model": model.state_dict()}, "ckpt.pt")
    >>> state = torch.load("ckpt.pt")
"""

from __future__ import annotations

import base64
import collections
import io
import json
import math
import os
import pickle
import pickletools
import secrets
import warnings
import zipfile
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np

from . import _device, _dtype

__all__ = ["save", "load"]

FileLike = str | os.PathLike | IO[bytes]

_FORMAT = "tapegrad.save"
_VERSION = 1
_META = "checkpoint.json"
# The JSON document only describes structure; anything this large is not ours.
_MAX_META_BYTES = 256 << 20
_CHUNK = 16 << 20
# Deflate cannot compress better than about 1032:1; a larger declared ratio is a lie.
_MAX_DEFLATE_RATIO = 1032
# Element kinds a tensor can have: bool, signed/unsigned int, float, complex.
_NUMERIC_KINDS = "biufc"


# ----------------------------------------------------------------------------------------
# The one place where tapegrad tensors meet NumPy arrays.


def _tensor_class():
    import tapegrad

    return getattr(tapegrad, "Tensor", None)


def _is_tensor(obj) -> bool:
    cls = _tensor_class()
    return cls is not None and isinstance(obj, cls)


def _size_class():
    import tapegrad

    return getattr(tapegrad, "Size", None)


def _is_parameter(obj) -> bool:
    try:
        from tapegrad.nn.parameter import Parameter
    except ImportError:
        return False
    return isinstance(obj, Parameter)


def _tensor_to_numpy(t) -> np.ndarray:
    data = t._data
    if not isinstance(data, np.ndarray):
        data = data.get()  # a CuPy array: copy it to the host
    return data


def _numpy_to_tensor(arr: np.ndarray):
    import tapegrad

    return tapegrad.from_numpy(arr)


def _to_device(t, device: _device.device):
    if device.type == "cpu":
        return t
    from . import backend

    if device.type == "cuda" and not backend.cupy_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but CUDA is not available "
            "(tapegrad needs CuPy and an NVIDIA GPU). If you are running on a CPU-only "
            "machine, please use tapegrad.load with map_location=torch.device('cpu') "
            "to map your storages to the CPU."
        )
    return t.to(device)


def _as_leaf(t, requires_grad: bool, parameter: bool):
    if parameter:
        from tapegrad.nn.parameter import Parameter

        return Parameter(t, requires_grad=requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


class _TensorRecord:
    """A tensor read from a file, before it becomes a ``Tensor`` (see ``_materialize``)."""

    __slots__ = ("array", "requires_grad", "parameter", "location")

    def __init__(self, array, requires_grad=False, parameter=False, location="cpu"):
        self.array = array
        self.requires_grad = requires_grad
        self.parameter = parameter
        self.location = location


def _materialize(obj, map_location):
    """Replace every ``_TensorRecord`` in ``obj`` by a tensor; one record, one tensor."""
    done: dict[int, Any] = {}

    def place(rec: _TensorRecord):
        t = _numpy_to_tensor(rec.array)
        if callable(map_location):
            t = map_location(t, rec.location)
        else:
            t = _to_device(t, _target_device(rec.location, map_location))
        return _as_leaf(t, rec.requires_grad, rec.parameter)

    def walk(x):
        if isinstance(x, _TensorRecord):
            if id(x) not in done:
                done[id(x)] = place(x)
            return done[id(x)]
        if isinstance(x, collections.OrderedDict):
            out = collections.OrderedDict((k, walk(v)) for k, v in x.items())
            out.__dict__.update({k: walk(v) for k, v in x.__dict__.items()})
            return out
        if type(x) is dict:
            return {k: walk(v) for k, v in x.items()}
        if type(x) is list:
            return [walk(v) for v in x]
        if type(x) is tuple:
            return tuple(walk(v) for v in x)
        return x

    return walk(obj)


def _target_device(saved: str, map_location):
    """The device a tensor saved on ``saved`` goes to (``torch.load``'s map_location)."""
    if map_location is None:
        target = saved
    elif isinstance(map_location, Mapping):
        target = map_location.get(saved, saved)
    elif isinstance(map_location, (str, _device.device, int)):
        target = map_location
    else:
        raise TypeError(
            "map_location should be None, a string, a device, a dict of location strings "
            f"or a callable, got {type(map_location).__name__}"
        )
    try:
        return _device.to_device(target)
    except RuntimeError as e:
        raise RuntimeError(
            f"cannot map a tensor saved on {saved!r} to {target!r}: {e}; "
            "pass map_location='cpu' to load it on the CPU"
        ) from None


# ----------------------------------------------------------------------------------------
# save


def save(
    obj: Any,
    f: FileLike,
    pickle_module: Any = None,
    pickle_protocol: int = 2,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Save ``obj`` to a file path or a binary file object (mirrors ``torch.save``).

    ``obj`` may be a tensor, a NumPy array or scalar, or dicts, OrderedDicts, lists and
    tuples of those and of ``int``, ``float``, ``bool``, ``str``, ``bytes``, ``None``,
    dtypes and devices: a model's or optimizer's ``state_dict()``, an epoch number, RNG
    states. Tensors keep their dtype, shape, ``requires_grad`` and device; a tensor that
    appears several times is stored once and loads back as one object.

    Writing to a path is atomic: the data goes to a temporary file in the same folder,
    which replaces the destination only once complete, so a crash never leaves a
    half-written checkpoint. Raises ``TypeError`` for any other kind of object.

    The pickle options of ``torch.save`` are accepted so that PyTorch code runs, and
    ignored: the format never pickles. PyTorch's legacy format cannot be requested.
    """
    if not _use_new_zipfile_serialization:
        raise ValueError(
            "tapegrad.save writes only zip checkpoints; PyTorch's legacy format "
            "(_use_new_zipfile_serialization=False) relies on pickle and is not supported"
        )
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), lambda fp: _write_archive(obj, fp))
    elif hasattr(f, "write"):
        _write_archive(obj, f)
    else:
        raise TypeError(f"save() expected a path or a binary file object, got {type(f).__name__}")


def _atomic_write(path: str, write: Callable[[IO[bytes]], None]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Parent directory {folder} does not exist.")
    base = os.path.basename(path)
    while True:
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            # O_EXCL: never clobber someone else's file; mode 0o666 lets the umask decide,
            # so the checkpoint gets the same permissions a plain open() would give it.
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fp:
            write(fp)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    # Makes the rename itself durable; not possible on every platform (e.g. Windows).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_archive(obj: Any, fp: IO[bytes]) -> None:
    with zipfile.ZipFile(fp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        writer = _Writer(zf)
        root = writer.encode(obj)
        meta = {"format": _FORMAT, "version": _VERSION, "object": root}
        zf.writestr(_META, json.dumps(meta, allow_nan=False, separators=(",", ":")))


def _type_name(obj) -> str:
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class _Writer:
    """Turns an object into tagged JSON, writing each array to its own ``.npy`` entry."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.entries: dict[int, str] = {}  # id(tensor or array) -> entry name
        self.keep: list[Any] = []  # keeps saved objects alive so their ids stay unique
        self.open: set[int] = set()  # containers being encoded, to detect cycles

    def encode(self, obj):
        if obj is None or type(obj) in (bool, int, str):
            return obj
        if type(obj) is float:
            if math.isfinite(obj):
                return obj
            return {"type": "float", "value": repr(obj)}  # JSON has no inf/nan
        if _is_tensor(obj):
            return {
                "type": "tensor",
                "data": self.array_entry(obj, _tensor_to_numpy(obj)),
                "requires_grad": bool(obj.requires_grad),
                "parameter": _is_parameter(obj),
                "device": str(getattr(obj, "device", "cpu")),
            }
        if isinstance(obj, np.ndarray) and type(obj) is np.ndarray:
            return {"type": "ndarray", "data": self.array_entry(obj, obj)}
        if isinstance(obj, np.generic) and obj.dtype.kind in _NUMERIC_KINDS:
            return {"type": "npscalar", "data": self.array_entry(None, np.asarray(obj))}
        if type(obj) is bytes:
            return {"type": "bytes", "base64": base64.b64encode(obj).decode("ascii")}
        if isinstance(obj, _dtype.dtype):
            return {"type": "dtype", "name": obj.name}
        if isinstance(obj, _device.device):
            return {"type": "device", "name": str(obj)}
        if _size_class() is not None and type(obj) is _size_class():
            return {"type": "size", "items": [self.encode(v) for v in obj]}
        if type(obj) in (list, tuple, dict, collections.OrderedDict):
            if id(obj) in self.open:
                raise ValueError("save() cannot save an object that contains itself")
            self.open.add(id(obj))
            try:
                return self.encode_container(obj)
            finally:
                self.open.discard(id(obj))
        raise TypeError(
            f"save() cannot save an object of type {_type_name(obj)}: it supports tensors, "
            "NumPy arrays and scalars, int, float, bool, str, bytes, None, dtypes, devices "
            "and dict/OrderedDict/list/tuple of those. To save a model or an optimizer, "
            "save its state_dict()."
        )

    def encode_container(self, obj):
        if type(obj) is list:
            return {"type": "list", "items": [self.encode(v) for v in obj]}
        if type(obj) is tuple:
            return {"type": "tuple", "items": [self.encode(v) for v in obj]}
        items = [[self.encode(k), self.encode(v)] for k, v in obj.items()]
        if type(obj) is dict:
            return {"type": "dict", "items": items}
        node = {"type": "odict", "items": items}
        # A state_dict carries module versions in its ``_metadata`` attribute.
        if obj.__dict__:
            node["attrs"] = [[k, self.encode(v)] for k, v in obj.__dict__.items()]
        return node

    def array_entry(self, owner, arr: np.ndarray) -> str:
        if owner is not None and id(owner) in self.entries:
            return self.entries[id(owner)]
        if arr.dtype.kind not in _NUMERIC_KINDS or arr.dtype.fields is not None:
            raise TypeError(
                f"save() cannot save an array of dtype {arr.dtype}: only bool, integer, "
                "floating point and complex arrays are supported"
            )
        name = f"tensors/{len(self.keep)}.npy"
        self.keep.append(owner if owner is not None else arr)
        if owner is not None:
            self.entries[id(owner)] = name
        # C order and native byte order, so that load never has to reorder anything.
        arr = _c_native(arr)
        with self.zf.open(name, "w", force_zip64=True) as w:
            np.lib.format.write_array(w, arr, allow_pickle=False)
        return name


# ----------------------------------------------------------------------------------------
# load


def load(
    f: FileLike,
    map_location=None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = True,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load an object saved by ``save`` or by PyTorch's ``torch.save`` (mirrors ``torch.load``).

    Tensors come back as fresh leaves with the dtype, shape and ``requires_grad`` they
    were saved with, on the device they were saved on unless ``map_location`` says
    otherwise: a device or string (``'cpu'``), a dict mapping saved locations to new
    ones (``{'cuda:1': 'cuda:0'}``), or a callable ``fn(tensor, location)`` returning the
    tensor to use (so the common ``lambda storage, loc: storage`` keeps it on the CPU).

    Loading never executes code from the file, whatever ``weights_only`` says (it is
    accepted for compatibility): PyTorch checkpoints are read with a restricted
    unpickler that refuses, with ``pickle.UnpicklingError``, anything but tensors,
    containers, numbers and strings. Raises ``FileNotFoundError`` for a missing file and
    ``RuntimeError`` for a file that is corrupt, truncated or not a checkpoint.
    ``pickle_module``, ``mmap`` and pickle arguments (``encoding=...``) are accepted for
    compatibility and change nothing: the tensors are read into memory.
    """
    del weights_only, pickle_module, mmap, pickle_load_args  # always weights-only, in memory
    return _materialize(_load_records(f), map_location)


def _load_records(f: FileLike) -> Any:
    """The object in ``f`` with every tensor as a ``_TensorRecord`` (NumPy level)."""
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with open(name, "rb") as fp:  # FileNotFoundError, as torch.load
            return _load_stream(fp, name)
    if not hasattr(f, "read"):
        raise TypeError(f"load() expected a path or a binary file object, got {type(f).__name__}")
    name = getattr(f, "name", "<file object>")
    if not getattr(f, "seekable", lambda: False)():
        f = io.BytesIO(f.read())  # zipfile needs to seek
    return _load_stream(f, str(name))


def _load_stream(fp: IO[bytes], name: str) -> Any:
    start = fp.tell()
    head = fp.read(512)
    fp.seek(start)
    if not head:
        raise RuntimeError(f"{name} is empty: it is not a checkpoint (was it written completely?)")
    if not head.startswith(b"PK"):
        if head[:1] == b"\x80" or head[257:262] == b"ustar":
            raise RuntimeError(
                f"{name} is in PyTorch's legacy (pre-1.6, non-zip) checkpoint format, which "
                "tapegrad cannot read safely. Re-save it with a recent PyTorch: "
                "torch.save(torch.load(path), path)."
            )
        raise RuntimeError(f"{name} is not a checkpoint written by tapegrad.save or torch.save")
    try:
        zf = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as e:
        raise RuntimeError(
            f"{name} is truncated or corrupt: not a readable zip archive ({e})"
        ) from None
    with zf:
        try:
            if _META in zf.NameToInfo:
                return _Reader(zf, name).load()
            prefixes = {n[: -len("data.pkl")] for n in zf.namelist() if n.endswith("/data.pkl")}
            if len(prefixes) == 1:
                return _TorchReader(zf, name, prefixes.pop()).load()
        except (
            zipfile.BadZipFile,
            EOFError,
            OSError,
            ValueError,
            KeyError,
            TypeError,
            IndexError,
            OverflowError,
            MemoryError,
            RecursionError,
            UnicodeError,
            json.JSONDecodeError,
        ) as e:
            raise RuntimeError(f"{name} is truncated or corrupt: {type(e).__name__}: {e}") from e
    raise RuntimeError(f"{name} is a zip archive but not a tapegrad or PyTorch checkpoint")


def _check_entry_size(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: str) -> None:
    # A lying header could otherwise make us read (and allocate) far more than the file holds.
    if info.compress_type == zipfile.ZIP_STORED:
        ok = info.file_size == info.compress_size
    else:
        ok = info.file_size <= max(info.compress_size, 1) * _MAX_DEFLATE_RATIO
    if not ok:
        raise RuntimeError(f"{archive} is corrupt: entry {info.filename} declares a wrong size")


def _read_exactly(fp, n: int) -> bytearray:
    """Read ``n`` bytes; the buffer grows with the data present, never ahead of it."""
    buf = bytearray()
    while len(buf) < n:
        chunk = fp.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _read_entry(zf: zipfile.ZipFile, name: str, archive: str, limit: int) -> bytearray:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise RuntimeError(f"{archive} is corrupt: entry {name} is missing") from None
    _check_entry_size(zf, info, archive)
    if info.file_size > limit:
        raise RuntimeError(f"{archive} is corrupt: entry {name} is implausibly large")
    with zf.open(info) as fp:
        data = _read_exactly(fp, info.file_size)
    if len(data) != info.file_size:
        raise RuntimeError(f"{archive} is truncated: entry {name} is incomplete")
    return data


def _c_native(arr: np.ndarray) -> np.ndarray:
    """``arr`` C-contiguous and in native byte order, copied only if needed (keeps 0-d)."""
    native = arr.dtype.newbyteorder("=")
    if arr.dtype != native or not arr.flags.c_contiguous:
        arr = arr.astype(native, order="C")
    return arr


def _read_npy(zf: zipfile.ZipFile, name: str, archive: str) -> np.ndarray:
    """One ``.npy`` entry, with its header checked against the bytes actually stored."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise RuntimeError(f"{archive} is corrupt: entry {name} is missing") from None
    _check_entry_size(zf, info, archive)
    with zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise RuntimeError(f"{archive} is corrupt: entry {name} has .npy version {version}")
        if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
            raise RuntimeError(f"{archive} is corrupt: entry {name} has unsupported dtype {dtype}")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if info.file_size - fp.tell() != nbytes:
            raise RuntimeError(
                f"{archive} is corrupt: entry {name} declares shape {shape} of {dtype} "
                f"({nbytes} bytes) but holds {info.file_size - fp.tell()} bytes"
            )
        buf = _read_exactly(fp, nbytes)
    if len(buf) != nbytes:
        raise RuntimeError(f"{archive} is truncated: entry {name} is incomplete")
    arr = np.frombuffer(buf, dtype=dtype, count=count) if count else np.empty(0, dtype)
    arr = arr.reshape(shape, order="F" if fortran else "C")
    return _c_native(arr)


class _Reader:
    """Reads the tapegrad format: tagged JSON plus ``.npy`` entries."""

    def __init__(self, zf: zipfile.ZipFile, archive: str):
        self.zf, self.archive = zf, archive
        self.records: dict[str, Any] = {}  # entry name -> record or array, for sharing

    def corrupt(self, what: str):
        return RuntimeError(f"{self.archive} is corrupt: {what}")

    def load(self):
        raw = _read_entry(self.zf, _META, self.archive, _MAX_META_BYTES)
        meta = json.loads(raw.decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise self.corrupt(f"{_META} does not describe a tapegrad checkpoint")
        if meta.get("version") != _VERSION:
            raise RuntimeError(
                f"{self.archive} has checkpoint format version {meta.get('version')!r}; this "
                f"tapegrad reads version {_VERSION}: upgrade tapegrad to load it"
            )
        return self.decode(meta["object"])

    def decode(self, node):
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is not dict:
            raise self.corrupt(f"unexpected {type(node).__name__} in the structure")
        kind = node.get("type")
        if kind == "list":
            return [self.decode(v) for v in node["items"]]
        if kind == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if kind == "size":
            dims = tuple(node["items"])
            if not all(type(d) is int for d in dims):
                raise self.corrupt("a Size holds something other than ints")
            return _size_class()(dims) if _size_class() is not None else dims
        if kind in ("dict", "odict"):
            out = {} if kind == "dict" else collections.OrderedDict()
            for key, value in node["items"]:
                out[self.decode(key)] = self.decode(value)
            for attr, value in node.get("attrs", ()):
                if type(attr) is not str or not attr.isidentifier():
                    raise self.corrupt("bad attribute name")
                out.__dict__[attr] = self.decode(value)
            return out
        if kind == "float":
            if node["value"] not in ("inf", "-inf", "nan"):
                raise self.corrupt("bad float value")
            return float(node["value"])
        if kind == "tensor":
            entry = node["data"]
            if entry not in self.records:
                self.records[entry] = _TensorRecord(
                    self.array(entry),
                    bool(node["requires_grad"]),
                    bool(node["parameter"]),
                    str(node["device"]),
                )
            return self.records[entry]
        if kind == "ndarray":
            if node["data"] not in self.records:
                self.records[node["data"]] = self.array(node["data"])
            return self.records[node["data"]]
        if kind == "npscalar":
            arr = self.array(node["data"])
            if arr.ndim != 0:
                raise self.corrupt("a NumPy scalar is not 0-d")
            return arr[()]
        if kind == "bytes":
            return base64.b64decode(node["base64"], validate=True)
        if kind == "dtype":
            if node["name"] not in _dtype._NAME_TO_DTYPE:
                raise self.corrupt(f"unknown dtype {node['name']!r}")
            return _dtype._NAME_TO_DTYPE[node["name"]]
        if kind == "device":
            return _device.device(node["name"])
        raise self.corrupt(f"unknown node type {kind!r}")

    def array(self, entry) -> np.ndarray:
        if type(entry) is not str:
            raise self.corrupt("bad tensor entry name")
        return _read_npy(self.zf, entry, self.archive)


# ----------------------------------------------------------------------------------------
# Restricted unpickling (PyTorch checkpoints here; CIFAR batches in tapegrad.datasets)


class ForbiddenGlobalError(pickle.UnpicklingError):
    """The pickle asked for a class or function that is not on the allow-list."""


def _reject_memo_abuse(data: bytes, what: str) -> None:
    # The C unpickler sizes its memo table by the largest index it sees: a 10-byte pickle
    # with a huge BINPUT index makes it allocate gigabytes. A real pickler numbers memo
    # entries from 0, so an index beyond the opcodes seen so far means a forged file.
    # genops also rejects truncated or malformed opcode streams before anything is built.
    try:
        for count, (op, arg, _pos) in enumerate(pickletools.genops(data)):
            if op.name in ("PUT", "BINPUT", "LONG_BINPUT") and int(arg) > count:
                raise RuntimeError(f"{what} is corrupt: bad pickle memo index {arg}")
    except (ValueError, TypeError) as e:
        raise RuntimeError(f"{what} is truncated or corrupt: {e}") from None


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` only returns what the allow-list names."""

    def __init__(self, file, allowed: Mapping[tuple[str, str], Any], what: str, **kwargs):
        super().__init__(file, **kwargs)
        self.allowed, self.what = allowed, what

    def find_class(self, module, name):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise ForbiddenGlobalError(
                f"{self.what}: refusing to load the global '{module}.{name}': only tensors, "
                "NumPy arrays, containers, numbers and strings can be loaded, because "
                "unpickling anything else could execute code from the file"
            ) from None


def restricted_unpickle(
    data: bytes,
    allowed: Mapping[tuple[str, str], Any],
    what: str,
    *,
    persistent_load: Callable[[Any], Any] | None = None,
    encoding: str = "ASCII",
) -> Any:
    """Unpickle ``data`` building only the globals in ``allowed``, keyed by (module, name).

    Any other global raises ``pickle.UnpicklingError`` naming it, before it is imported.
    A malformed stream raises ``RuntimeError`` mentioning ``what`` (the file).
    """
    _reject_memo_abuse(data, what)
    try:
        unpickler = _RestrictedUnpickler(io.BytesIO(data), allowed, what, encoding=encoding)
        if persistent_load is not None:
            unpickler.persistent_load = persistent_load
        return unpickler.load()
    except ForbiddenGlobalError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        OverflowError,
        MemoryError,
        RecursionError,
        UnicodeError,
    ) as e:
        raise RuntimeError(f"{what} is truncated or corrupt: {type(e).__name__}: {e}") from e


def _codecs_encode(text, encoding="utf-8"):
    # Protocol-2 pickles spell ``bytes`` as _codecs.encode(str, 'latin1'): allow just that.
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed for latin1 bytes")
    return text.encode("latin1")


def _np_reconstruct(cls, shape, dtype):
    # numpy pickles an array as an empty one plus __setstate__ with the real shape and
    # bytes (which NumPy checks against each other); a non-empty shape here would be an
    # allocation of any size the file asks for.
    if cls is not np.ndarray or math.prod(shape) != 0:
        raise pickle.UnpicklingError("bad NumPy array reconstruction")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _np_dtype(spec, align=False, copy=False):
    dt = np.dtype(spec, align, copy)
    if dt.kind not in _NUMERIC_KINDS:
        raise pickle.UnpicklingError(f"NumPy dtype {dt} is not allowed in this file")
    return dt


def _np_scalar(dtype, data):
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS or dtype.itemsize > 16:
        raise pickle.UnpicklingError("bad NumPy scalar")
    if isinstance(data, str):
        data = data.encode("latin1")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("bad NumPy scalar data")
    return np.frombuffer(data, dtype=dtype)[0].copy()


def _np_frombuffer(buf, dtype, shape, order):
    # protocol 5 path of ndarray.__reduce_ex__
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS:
        raise pickle.UnpicklingError("bad NumPy array dtype")
    count = math.prod(shape)
    if len(memoryview(buf).cast("B")) != count * dtype.itemsize:
        raise pickle.UnpicklingError("NumPy array data does not match its shape")
    arr = np.frombuffer(buf, dtype=dtype, count=count) if count else np.empty(0, dtype)
    return arr.reshape(shape, order=order)


# What it takes to unpickle plain numeric NumPy arrays and scalars, whichever NumPy
# (1.x writes numpy.core, 2.x numpy._core) pickled them.
NUMPY_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _np_dtype,
    ("_codecs", "encode"): _codecs_encode,
}
for _core in ("numpy.core", "numpy._core"):
    NUMPY_GLOBALS[(f"{_core}.multiarray", "_reconstruct")] = _np_reconstruct
    NUMPY_GLOBALS[(f"{_core}.multiarray", "scalar")] = _np_scalar
    NUMPY_GLOBALS[(f"{_core}.numeric", "_frombuffer")] = _np_frombuffer


def _check_arrays(obj, what: str) -> None:
    """Refuse arrays whose dtype was changed into something non-numeric by __setstate__."""
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, np.ndarray) and (x.dtype.kind not in _NUMERIC_KINDS or x.dtype.fields):
            raise pickle.UnpicklingError(f"{what}: arrays of dtype {x.dtype} are not allowed")
        if isinstance(x, dict):
            stack.extend(x.values())
            stack.extend(x.__dict__.values() if hasattr(x, "__dict__") else ())
        elif type(x) in (list, tuple):
            stack.extend(x)


# ----------------------------------------------------------------------------------------
# PyTorch's zip checkpoint format


class _StorageType:
    """Stands for ``torch.FloatStorage`` & co. while unpickling."""

    def __init__(self, name: str, np_dtype):
        self.name = name
        self.np_dtype = np.dtype(np_dtype)


_TORCH_STORAGES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16,  # NumPy has no bfloat16: read the bits, widen later
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128,
    "UntypedStorage": np.uint8,  # sizes in bytes
}


class _Storage:
    """A storage read from ``<archive>/data/<key>``: a flat array and where it lived."""

    __slots__ = ("array", "location", "bfloat16")

    def __init__(self, array: np.ndarray, location: str, bfloat16: bool):
        self.array, self.location, self.bfloat16 = array, location, bfloat16


class _TensorMarker:
    """Stands for a tensor class (``torch.nn.Parameter``) in ``_rebuild_from_type_v2``."""

    def __init__(self, parameter: bool):
        self.parameter = parameter


def _bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    # bfloat16 is the upper half of a float32: widening is exact.
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _rebuild_tensor(storage, storage_offset, size, stride):
    if not isinstance(storage, _Storage):
        raise ValueError("a tensor's storage is not a storage")
    for name, value in (("offset", [storage_offset]), ("size", size), ("stride", stride)):
        if not isinstance(value, (tuple, list)) or not all(
            type(v) is int and v >= 0 for v in value
        ):
            raise ValueError(f"bad tensor {name}: {value!r}")
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise ValueError(f"tensor size {size} and stride {stride} differ in length")
    flat = storage.array
    if math.prod(size) == 0:
        arr = np.empty(size, flat.dtype)
    else:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise ValueError(
                f"tensor of size {size}, stride {stride} and offset {storage_offset} does "
                f"not fit in its storage of {flat.size} elements"
            )
        view = np.lib.stride_tricks.as_strided(
            flat[storage_offset:],
            shape=size,
            strides=tuple(s * flat.itemsize for s in stride),
            writeable=False,
        )
        # Copy into a compact array, unless the view repeats elements (e.g. an expanded
        # tensor): then a copy could be far larger than the file, so keep the read-only view
        # as PyTorch keeps the expanded layout.
        arr = view.copy() if math.prod(size) <= flat.size else view
    if storage.bfloat16:
        arr = _bfloat16_to_float32(arr)
    return _TensorRecord(arr, location=storage.location)


def _rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None
):
    rec = _rebuild_tensor(storage, storage_offset, size, stride)
    rec.requires_grad = bool(requires_grad)
    return rec


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, _TensorRecord):
        raise ValueError("a Parameter's data is not a tensor")
    data.requires_grad, data.parameter = bool(requires_grad), True
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    rec = func(*args)
    if not isinstance(rec, _TensorRecord) or not isinstance(new_type, _TensorMarker):
        raise ValueError("unsupported tensor subclass")
    rec.parameter = rec.parameter or new_type.parameter
    return rec


def _torch_size(dims=()):
    dims = tuple(dims)
    if not all(type(d) is int for d in dims):
        raise ValueError(f"bad torch.Size {dims!r:.80}")
    size = _size_class()
    return size(dims) if size is not None else dims


def _torch_device(kind, index=None):
    if type(kind) is not str or not (index is None or type(index) is int):
        raise ValueError(f"bad torch.device({kind!r:.40}, {index!r:.40})")
    return _device.device(kind, index)


_TORCH_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Tensor"): _TensorMarker(parameter=False),
    ("torch.nn.parameter", "Parameter"): _TensorMarker(parameter=True),
    ("torch", "Size"): _torch_size,
    ("torch", "device"): _torch_device,
    **{("torch", name): dt for name, dt in _dtype._NAME_TO_DTYPE.items()},  # torch.float32...
    **NUMPY_GLOBALS,
}
for _module in ("torch", "torch.storage", "torch.cuda"):
    for _name, _np_dt in _TORCH_STORAGES.items():
        _TORCH_GLOBALS[(_module, _name)] = _StorageType(_name, _np_dt)


class _TorchReader:
    """Reads ``torch.save``'s zip format: ``<prefix>data.pkl`` plus ``<prefix>data/<key>``."""

    def __init__(self, zf: zipfile.ZipFile, archive: str, prefix: str):
        self.zf, self.archive, self.prefix = zf, archive, prefix
        self.storages: dict[str, _Storage] = {}
        self.byteorder = "little"

    def load(self):
        if self.prefix + "byteorder" in self.zf.NameToInfo:
            self.byteorder = (
                bytes(_read_entry(self.zf, self.prefix + "byteorder", self.archive, 16))
                .decode("ascii", "replace")
                .strip()
            )
            if self.byteorder not in ("little", "big"):
                raise RuntimeError(f"{self.archive} is corrupt: byte order {self.byteorder!r}")
        data = _read_entry(self.zf, self.prefix + "data.pkl", self.archive, _MAX_META_BYTES)
        obj = restricted_unpickle(
            bytes(data),
            _TORCH_GLOBALS,
            self.archive,
            persistent_load=self.persistent_load,
            encoding="utf-8",
        )
        _check_arrays(obj, self.archive)
        if any(s.bfloat16 for s in self.storages.values()):
            warnings.warn(
                f"{self.archive} holds bfloat16 tensors; NumPy has no bfloat16, so they were "
                "loaded as float32 (exactly)",
                stacklevel=5,  # the caller of tapegrad.load
            )
        return obj

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError("a storage's type is not a known storage class")
        if type(key) is not str or not key.isalnum() or type(numel) is not int or numel < 0:
            raise pickle.UnpicklingError(f"bad storage record {pid!r:.80}")
        if key in self.storages:
            stored = self.storages[key]
            if stored.array.dtype != storage_type.np_dtype:
                raise pickle.UnpicklingError(f"storage {key} is used with two dtypes")
            return stored
        name = f"{self.prefix}data/{key}"
        dtype = storage_type.np_dtype.newbyteorder("<" if self.byteorder == "little" else ">")
        raw = _read_entry(self.zf, name, self.archive, numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise RuntimeError(
                f"{self.archive} is corrupt: storage {name} holds {len(raw)} bytes, "
                f"expected {numel} elements of {dtype.itemsize} bytes"
            )
        arr = np.frombuffer(raw, dtype=dtype, count=numel) if numel else np.empty(0, dtype)
        arr = arr.astype(dtype.newbyteorder("="), copy=False)
        storage = _Storage(arr, str(location), storage_type.name == "BFloat16Storage")
        self.storages[key] = storage
        return storage
