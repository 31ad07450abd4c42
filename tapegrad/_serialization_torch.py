"""PyTorch's zip checkpoint format, written and read (``torch.save`` / ``torch.load``).

An archive ``<prefix>/`` holds ``data.pkl`` (the object, pickled; each tensor's data is
a *persistent id* naming a storage), ``data/<key>`` (one raw little-endian storage per
key), ``byteorder`` and ``version``. Tensors are pickled under PyTorch's names
(``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``, ``torch.float32``...) so
that PyTorch reads tapegrad's files; whole objects (a model, an optimizer) are pickled
as Python pickles them, under tapegrad's class names.

Reading, ``weights_only=True`` runs the pickle through
:mod:`tapegrad._serialization_unpickler` with the allow-list below (PyTorch's, plus
plain numeric NumPy arrays); ``weights_only=False`` uses Python's unpickler, which can
run any code the file names (the user's explicit choice, as in PyTorch), with PyTorch's
names mapped to tapegrad's.
"""

from __future__ import annotations

import collections
import importlib
import io
import math
import pickle
import secrets
import types
import warnings
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from . import _device, _dtype
from ._serialization_unpickler import UnpicklingError, weights_only_unpickle
from ._serialization_zip import Archive

# The data.pkl of a real checkpoint is small (a few hundred bytes per tensor); anything
# larger than this is refused before it is inflated.
MAX_PICKLE_BYTES = 256 << 20
# Element kinds a tensor or array can have: bool, signed/unsigned int, float, complex.
NUMERIC_KINDS = "biufc"

# PyTorch's legacy storage classes, which name a storage's element type in data.pkl.
STORAGES: dict[str, Any] = {
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
}
_STORAGE_OF = {np.dtype(v): k for k, v in STORAGES.items() if k != "BFloat16Storage"}
if _dtype._ml_dtypes is not None:  # bfloat16 tensors (the `bfloat16` extra)
    _STORAGE_OF[_dtype.bfloat16.np] = "BFloat16Storage"


# ----------------------------------------------------------------------------------------
# Writing


class _TorchName:
    """A global written under PyTorch's name (``torch._utils._rebuild_tensor_v2``) without
    importing PyTorch; pickled by :class:`_Pickler` as a plain GLOBAL instruction."""

    _all: dict[tuple[str, str], _TorchName] = {}

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    @classmethod
    def of(cls, module: str, name: str) -> _TorchName:
        key = (module, name)
        if key not in cls._all:  # one object per name, so the pickle memo shares it
            cls._all[key] = cls(module, name)
        return cls._all[key]

    def __call__(self, *args):  # pickle insists that a reduce function be callable
        raise TypeError(f"{self.module}.{self.name} is a name for pickling only")


_REBUILD_TENSOR = _TorchName.of("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _TorchName.of("torch._utils", "_rebuild_parameter")
_ORDERED_DICT_NAME = _TorchName.of("collections", "OrderedDict")


class _Pickler(pickle._Pickler):  # the Python pickler: its GLOBAL writing can be extended
    """Pickles tensors as PyTorch does: the data goes to storages beside the pickle."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol: int, storages: list[np.ndarray]):
        super().__init__(file, protocol)
        self.storages = storages  # one per tensor, written as data/<index>
        self.keep: list[Any] = []  # objects made while pickling stay alive: ids stay unique

    def save_global(self, obj, name=None) -> None:
        qualname = name or getattr(obj, "__qualname__", "")
        if "<locals>" in qualname:  # the C pickler's (and so PyTorch's) error
            raise AttributeError(f"Can't pickle local object {qualname!r}")
        super().save_global(obj, name)

    dispatch[type] = save_global
    dispatch[types.FunctionType] = save_global

    def save_torch_name(self, obj: _TorchName) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_TorchName] = save_torch_name

    def save_dtype(self, obj: _dtype.dtype) -> None:
        self.save_torch_name(_TorchName.of("torch", obj.name))

    dispatch[_dtype.dtype] = save_dtype
    dispatch[type(_dtype.bfloat16)] = save_dtype

    def reducer_override(self, obj):
        from ._tensor import Size, Tensor

        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter

            if isinstance(obj, Parameter):
                plain = Tensor._make(obj._data)
                self.keep.append(plain)
                return (_REBUILD_PARAMETER, (plain, obj.requires_grad, _empty_hooks()))
            return self.reduce_tensor(obj)
        if isinstance(obj, _device.device):
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return (_TorchName.of("torch", "device"), args)
        if type(obj) is Size:
            return (_TorchName.of("torch", "Size"), (tuple(obj),))
        if type(obj) is np.ndarray and not _is_c_native(obj):
            # Loaded arrays are C-contiguous and native-endian, whatever was saved.
            return obj.astype(obj.dtype.newbyteorder("="), order="C").__reduce_ex__(self.proto)
        return NotImplemented

    def reduce_tensor(self, t):
        data = t._data
        location = "cpu"
        if not isinstance(data, np.ndarray):  # a CuPy array: copy it to the host
            location = str(t.device)
            data = data.get()
        arr = data.astype(data.dtype.newbyteorder("<"), order="C", copy=False)
        if arr.dtype.newbyteorder("=") not in _STORAGE_OF:
            raise TypeError(f"save() cannot save a tensor of dtype {arr.dtype}")
        key = str(len(self.storages))
        self.storages.append(arr)
        self.keep.append(arr)
        storage = _PersistentStorage(
            _TorchName.of("torch", _STORAGE_OF[arr.dtype.newbyteorder("=")]),
            key,
            location,
            arr.size,
        )
        stride = tuple(int(np.prod(arr.shape[i + 1 :])) for i in range(arr.ndim))
        return (
            _REBUILD_TENSOR,
            (storage, 0, tuple(arr.shape), stride, bool(t.requires_grad), _empty_hooks()),
        )

    def persistent_id(self, obj):
        if isinstance(obj, _PersistentStorage):
            return ("storage", obj.storage_type, obj.key, obj.location, obj.numel)
        return None


class _PersistentStorage:
    __slots__ = ("storage_type", "key", "location", "numel")

    def __init__(self, storage_type, key, location, numel):
        self.storage_type, self.key, self.location, self.numel = (
            storage_type,
            key,
            location,
            numel,
        )


class _EmptyHooks:
    """Pickles as ``collections.OrderedDict()`` (the backward hooks PyTorch records)."""

    def __reduce__(self):
        return (_ORDERED_DICT_NAME, ())


def _empty_hooks() -> _EmptyHooks:
    return _EmptyHooks()


def write(obj: Any, fp: IO[bytes], protocol: int, archive_name: str) -> None:
    """Write ``obj`` to ``fp`` in PyTorch's zip format."""
    import zipfile

    storages: list[np.ndarray] = []
    pkl = io.BytesIO()
    _Pickler(pkl, protocol, storages).dump(obj)
    prefix = archive_name + "/"
    with zipfile.ZipFile(fp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(prefix + "data.pkl", pkl.getvalue())
        zf.writestr(prefix + ".format_version", "1")
        zf.writestr(prefix + "byteorder", "little")
        for key, arr in enumerate(storages):
            big = arr.nbytes >= zipfile.ZIP64_LIMIT
            with zf.open(f"{prefix}data/{key}", "w", force_zip64=big) as w:
                w.write(memoryview(arr.reshape(-1).view(np.uint8)))
        zf.writestr(prefix + "version", "3\n")
        zf.writestr(prefix + ".data/serialization_id", secrets.token_hex(20))


# ----------------------------------------------------------------------------------------
# Reading


class StorageType:
    """Stands for ``torch.FloatStorage`` & co. while unpickling (immutable)."""

    __slots__ = ("name", "np_dtype")

    def __init__(self, name: str, np_dtype):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "np_dtype", np.dtype(np_dtype))

    def __setattr__(self, name, value):
        raise AttributeError("storage types are immutable")

    def __repr__(self) -> str:
        return f"torch.{self.name}"


_STORAGE_TYPES = {name: StorageType(name, dt) for name, dt in STORAGES.items()}


class _Storage:
    """A storage read from ``<archive>/data/<key>``: a flat array and where it lived."""

    __slots__ = ("array", "location", "bfloat16")

    def __init__(self, array: np.ndarray, location: str, bfloat16: bool):
        self.array, self.location, self.bfloat16 = array, location, bfloat16


class _TensorMarker:
    """Stands for a tensor class (``torch.Tensor``, ``torch.nn.Parameter``) while
    unpickling: usable as ``_rebuild_from_type_v2``'s type, never called on file data."""

    __slots__ = ("parameter",)

    def __init__(self, parameter: bool):
        self.parameter = parameter


_TENSOR = _TensorMarker(parameter=False)
_PARAMETER = _TensorMarker(parameter=True)


def _bfloat16_from_bits(bits: np.ndarray) -> np.ndarray:
    # A bfloat16 tensor where ml_dtypes is installed, else float32 (load warns).
    if _dtype._ml_dtypes is not None:
        return bits.view(_dtype.bfloat16.np)
    return _bfloat16_to_float32(bits)


def _bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    # bfloat16 is the upper half of a float32: widening is exact.
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _codecs_encode(text, encoding="utf-8"):
    # Protocol-2 pickles spell ``bytes`` as _codecs.encode(str, 'latin1'): allow just that.
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise ValueError("_codecs.encode is only allowed for latin1 bytes")
    return text.encode("latin1")


def _empty_bytes(*args):
    # Protocol-2 pickles spell b"" as bytes(); bytes(n) would allocate n bytes: refused.
    if args:
        raise ValueError("bytes() is only allowed without arguments")
    return b""


def _np_reconstruct(cls, shape, dtype):
    # numpy pickles an array as an empty one plus BUILD with the real shape and bytes
    # (checked by _build_ndarray); a non-empty shape here would allocate on demand.
    if cls is not np.ndarray or type(shape) is not tuple or math.prod(shape) != 0:
        raise ValueError("bad NumPy array reconstruction")
    return np.ndarray.__new__(np.ndarray, shape, _np_dtype(dtype))


def _np_dtype(spec, align=False, copy=False):
    # Always a new dtype object (copy=True), so that BUILD can only change this one and
    # never NumPy's shared float64/int32... dtypes.
    if isinstance(spec, bytes):
        spec = spec.decode("ascii")
    if not isinstance(spec, (str, np.dtype)) or (isinstance(spec, str) and len(spec) > 8):
        raise ValueError(f"bad NumPy dtype {spec!r:.40}")
    dt = np.dtype(spec, bool(align), True)
    if dt.kind not in NUMERIC_KINDS or dt.fields is not None or dt.subdtype is not None:
        raise ValueError(f"NumPy dtype {dt} is not allowed in this file")
    return dt


def _build_dtype(dt: np.dtype, state) -> None:
    if not (isinstance(state, tuple) and 8 <= len(state) <= 9):
        raise ValueError("bad NumPy dtype state")
    version, byteorder, subarray, names, fields = state[:5]
    if byteorder not in ("<", ">", "|", "=") or (subarray, names, fields) != (None, None, None):
        raise ValueError("bad NumPy dtype state")
    kind, size = dt.kind, dt.itemsize
    dt.__setstate__(state)
    if dt.kind != kind or dt.itemsize != size or dt.fields is not None:
        raise ValueError("bad NumPy dtype state")


def _build_ndarray(arr: np.ndarray, state) -> None:
    if not (isinstance(state, tuple) and len(state) == 5):
        raise ValueError("bad NumPy array state")
    _version, shape, dtype, fortran, raw = state
    if (
        type(shape) is not tuple
        or not all(type(n) is int and n >= 0 for n in shape)
        or not isinstance(dtype, np.dtype)
        or dtype.kind not in NUMERIC_KINDS
        or dtype.fields is not None
        or type(raw) not in (bytes, bytearray)
        or len(raw) != math.prod(shape) * dtype.itemsize
    ):
        raise ValueError("bad NumPy array state")
    arr.__setstate__(state)


def _np_scalar(dtype, data):
    if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC_KINDS or dtype.itemsize > 16:
        raise ValueError("bad NumPy scalar")
    if isinstance(data, str):
        data = data.encode("latin1")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise ValueError("bad NumPy scalar data")
    return np.frombuffer(data, dtype=dtype)[0].copy()


def _np_frombuffer(buf, dtype, shape, order):
    # protocol 5 path of ndarray.__reduce_ex__
    if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC_KINDS or dtype.fields:
        raise ValueError("bad NumPy array dtype")
    if type(buf) not in (bytes, bytearray) or type(shape) is not tuple:
        raise ValueError("bad NumPy array data")
    count = math.prod(shape)
    if len(buf) != count * dtype.itemsize:
        raise ValueError("NumPy array data does not match its shape")
    arr = np.frombuffer(buf, dtype=dtype, count=count).copy() if count else np.empty(0, dtype)
    return arr.reshape(shape, order="F" if order == "F" else "C")


# What it takes to unpickle plain numeric NumPy arrays and scalars, whichever NumPy
# (1.x writes numpy.core, 2.x numpy._core) pickled them.
NUMPY_GLOBALS: dict[str, Any] = {
    "numpy.ndarray": np.ndarray,
    "numpy.dtype": _np_dtype,
    "_codecs.encode": _codecs_encode,
    "builtins.bytes": _empty_bytes,
}
for _core in ("numpy.core", "numpy._core"):
    NUMPY_GLOBALS[f"{_core}.multiarray._reconstruct"] = _np_reconstruct
    NUMPY_GLOBALS[f"{_core}.multiarray.scalar"] = _np_scalar
    NUMPY_GLOBALS[f"{_core}.numeric._frombuffer"] = _np_frombuffer

NUMPY_BUILDERS: dict[type, Callable[[Any, Any], None]] = {
    np.ndarray: _build_ndarray,
    type(np.dtype("f4")): _build_dtype,
}
for _dt in (np.dtype(c) for c in "?bBhHiIlLqQefdgFDG"):
    NUMPY_BUILDERS[type(_dt)] = _build_dtype


def _torch_size(dims=()):
    from ._tensor import Size

    dims = tuple(dims)
    if not all(type(d) is int for d in dims):
        raise ValueError(f"bad torch.Size {dims!r:.80}")
    return Size(dims)


def _torch_device(kind, index=None):
    if type(kind) is not str or not (index is None or type(index) is int):
        raise ValueError(f"bad torch.device({kind!r:.40}, {index!r:.40})")
    return _device.device(kind, index)


class Loader:
    """Reads one ``torch.save`` archive (``<prefix>data.pkl`` plus ``<prefix>data/<key>``)."""

    def __init__(self, archive: Archive | None, prefix: str, place: Callable | None):
        self.archive, self.prefix, self.place = archive, prefix, place
        self.storages: dict[str, _Storage] = {}
        self.byteorder = "little"
        self.bfloat16 = False

    # -- the functions data.pkl may call -------------------------------------------------

    def rebuild_tensor(self, storage, storage_offset, size, stride):
        if not isinstance(storage, _Storage):
            raise ValueError("a tensor's storage is not a storage")
        for name, value in (("offset", [storage_offset]), ("size", size), ("stride", stride)):
            if not isinstance(value, (tuple, list)) or not all(
                type(v) is int and v >= 0 for v in value
            ):
                raise ValueError(f"bad tensor {name}: {value!r:.80}")
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
                    f"tensor of size {size}, stride {stride} and offset {storage_offset} "
                    f"does not fit in its storage of {flat.size} elements"
                )
            view = np.lib.stride_tricks.as_strided(
                flat[storage_offset:],
                shape=size,
                strides=tuple(s * flat.itemsize for s in stride),
                writeable=False,
            )
            # Copy into a compact array, unless the view repeats elements (an expanded
            # tensor): then a copy could be far larger than the file, so keep the view.
            arr = view.copy() if math.prod(size) <= flat.size else view
        if storage.bfloat16:
            arr = _bfloat16_from_bits(arr)
        return self.place(arr, storage.location, False, False)

    def rebuild_tensor_v2(
        self,
        storage,
        storage_offset,
        size,
        stride,
        requires_grad=False,
        backward_hooks=None,
        metadata=None,
    ):
        t = self.rebuild_tensor(storage, storage_offset, size, stride)
        if requires_grad is True:
            t.requires_grad_(True)
        return t

    def rebuild_parameter(self, data, requires_grad, backward_hooks=None, state=None):
        from ._tensor import Tensor
        from .nn.parameter import Parameter

        if type(data) is not Tensor:
            raise ValueError("a Parameter's data is not a tensor")
        return Parameter(data, requires_grad=bool(requires_grad))

    def rebuild_from_type_v2(self, func, new_type, args, state):
        from ._tensor import Tensor
        from .nn.parameter import Parameter

        if func not in (self.rebuild_tensor_v2, self.rebuild_tensor) or type(args) is not tuple:
            raise ValueError("unsupported tensor rebuild function")
        t = func(*args)
        if new_type is _PARAMETER or new_type is Parameter:
            return Parameter(t, requires_grad=t.requires_grad)
        if new_type is not _TENSOR and new_type is not Tensor:
            raise ValueError("unsupported tensor subclass")
        return t

    def new_object(self, cls, args):
        if cls is _PARAMETER and len(args) <= 2 and (not args or _is_plain_tensor(args[0])):
            from .nn.parameter import Parameter

            return Parameter(*args)
        return None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise ValueError(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, location, numel = pid
        if not isinstance(storage_type, StorageType):
            raise ValueError("a storage's type is not a known storage class")
        if type(key) is not str or not key.isalnum() or type(numel) is not int or numel < 0:
            raise ValueError(f"bad storage record {pid!r:.80}")
        if type(location) is not str:
            raise ValueError(f"bad storage location {location!r:.40}")
        if key in self.storages:
            stored = self.storages[key]
            if stored.array.dtype != storage_type.np_dtype or stored.array.size != numel:
                raise ValueError(f"storage {key} is used with two types or sizes")
            return stored
        order = "<" if self.byteorder == "little" else ">"
        dtype = storage_type.np_dtype.newbyteorder(order)
        arr = self.archive.read_array(f"{self.prefix}data/{key}", dtype, numel)
        arr = arr.astype(dtype.newbyteorder("="), copy=False)
        storage = _Storage(arr, location, storage_type.name == "BFloat16Storage")
        # only a load that had to widen bfloat16 to float32 warns
        self.bfloat16 = self.bfloat16 or (storage.bfloat16 and _dtype._ml_dtypes is None)
        self.storages[key] = storage
        return storage

    # -- the allow-list ------------------------------------------------------------------

    def allowed(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "collections.OrderedDict": collections.OrderedDict,
            "collections.Counter": collections.Counter,
            "torch._utils._rebuild_tensor": self.rebuild_tensor,
            "torch._utils._rebuild_tensor_v2": self.rebuild_tensor_v2,
            "torch._utils._rebuild_parameter": self.rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": self.rebuild_parameter,
            "torch._tensor._rebuild_from_type_v2": self.rebuild_from_type_v2,
            "torch.Tensor": _TENSOR,
            "torch.nn.parameter.Parameter": _PARAMETER,
            "torch.Size": _torch_size,
            "torch.device": _torch_device,
            "builtins.set": set,
            "builtins.frozenset": frozenset,
            "builtins.bytearray": bytearray,
            "builtins.complex": complex,
            "builtins.slice": slice,
            **{f"torch.{name}": dt for name, dt in _dtype._NAME_TO_DTYPE.items()},
            **NUMPY_GLOBALS,
        }
        for module in ("torch", "torch.storage", "torch.cuda"):
            for name, st in _STORAGE_TYPES.items():
                table[f"{module}.{name}"] = st
        return table

    # -- loading ---------------------------------------------------------------------------

    def read_pickle(self) -> bytes:
        if self.prefix + "byteorder" in self.archive:
            order = self.archive.read(self.prefix + "byteorder", 16).decode("ascii", "replace")
            self.byteorder = order.strip()
            if self.byteorder not in ("little", "big"):
                raise self.archive.corrupt(f"byte order {self.byteorder!r}")
        return self.archive.read(self.prefix + "data.pkl", MAX_PICKLE_BYTES)

    def load(self, weights_only: bool, encoding: str):
        data = self.read_pickle()
        if weights_only:
            obj = weights_only_unpickle(
                data,
                self.allowed(),
                self.archive.name,
                persistent_load=self.persistent_load,
                encoding=encoding,
                builders=NUMPY_BUILDERS,
                new_object=self.new_object,
            )
        else:
            obj = _FullUnpickler(io.BytesIO(data), self, encoding).load()
        if self.bfloat16:
            warnings.warn(
                f"{self.archive.name} holds bfloat16 tensors; NumPy has no bfloat16, so they "
                "were loaded as float32 (exactly)",
                stacklevel=4,  # the caller of tapegrad.load
            )
        return obj


def _is_c_native(arr: np.ndarray) -> bool:
    return arr.flags.c_contiguous and arr.dtype.isnative


def _is_plain_tensor(x) -> bool:
    from ._tensor import Tensor

    return type(x) is Tensor


class _FullUnpickler(pickle.Unpickler):
    """Python's unpickler (``weights_only=False``), with PyTorch's names read as tapegrad's."""

    def __init__(self, file, loader: Loader, encoding: str):
        super().__init__(file, encoding=encoding)
        self.loader = loader
        self.table = loader.allowed()

    def persistent_load(self, pid):
        return self.loader.persistent_load(pid)

    def find_class(self, module: str, name: str):
        if module == "torch" or module.startswith("torch."):
            found = self.table.get(f"{module}.{name}")
            if found is not None and not isinstance(found, _TensorMarker):
                return found
            return _tapegrad_counterpart(module, name, self.loader.archive.name)
        return super().find_class(module, name)


def _tapegrad_counterpart(module: str, name: str, what: str):
    """tapegrad's object for PyTorch's ``module.name`` (``torch.nn.modules.linear.Linear``)."""
    import tapegrad

    if (module, name) == ("torch", "Tensor"):
        return tapegrad.Tensor
    if (module, name) == ("torch.nn.parameter", "Parameter"):
        from .nn.parameter import Parameter

        return Parameter
    ours = "tapegrad" + module[len("torch") :]
    try:
        obj = importlib.import_module(ours)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise UnpicklingError(
            what, f"the checkpoint needs {module}.{name}, which tapegrad does not provide"
        ) from None
    return obj


def nested_error_types() -> tuple[type[BaseException], ...]:
    """What Python's unpickler raises on a corrupt stream (``weights_only=False``)."""
    return (
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
        ImportError,
    )
