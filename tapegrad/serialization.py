"""Checkpoints: ``save`` and ``load`` (mirror ``torch.save`` and ``torch.load``).

``save`` writes PyTorch's zip format, so PyTorch reads tapegrad's checkpoints and
tapegrad reads PyTorch's: ``<archive>/data.pkl`` (the object, pickled, with PyTorch's
names for tensors, dtypes and devices) and one raw ``<archive>/data/<key>`` entry per
tensor. Any picklable object can be saved: a ``state_dict()``, a whole model or
optimizer, dicts of them.

``load`` follows PyTorch 2.6+'s safety model. ``weights_only=True`` (the default) reads
the pickle with an interpreter of tapegrad's own (``tapegrad._serialization_unpickler``)
that builds only tensors, containers, numbers, strings, dtypes, devices, plain NumPy
arrays and what ``add_safe_globals`` allows; it runs no code from the file, changes
nothing that existed before the load, and bounds memory by what the file declares.
Anything else is refused with PyTorch's ``pickle.UnpicklingError`` and hint.
``weights_only=False`` is the user's explicit choice to unpickle anything, code
included, exactly as in PyTorch: only for files you trust.

Checkpoints written by tapegrad 0.x (``checkpoint.json`` plus ``.npy`` entries) still load.

Every corrupt, truncated or hostile file raises ``RuntimeError`` naming the file (a
refusal is also a ``pickle.UnpicklingError``, as in PyTorch).

Example:

    >>> import tapegrad as torch
    >>> torch.save({"epoch": 3, "model": model.state_dict()}, "ckpt.pt")
    >>> state = torch.load("ckpt.pt")
    >>> torch.save(model, "model.pt")
    >>> model = torch.load("model.pt", weights_only=False)  # a file you trust
"""

from __future__ import annotations

import base64
import collections
import io
import json
import math
import os
import pickle
import re
import secrets
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np

from . import _device, _dtype
from . import _serialization_safetensors as _safetensors
from . import _serialization_torch as _torch_format
from ._serialization_torch import NUMPY_BUILDERS, NUMPY_GLOBALS
from ._serialization_unpickler import (
    UnpicklingError,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    globals_in_pickle,
    safe_globals,
    user_allowed_globals,
    weights_only_unpickle,
)
from ._serialization_zip import ZIP_ERRORS, Archive, read_exactly

try:  # POSIX: a temporary file's writer holds a lock on it (see _clean_stale_temporaries)
    import fcntl
except ImportError:  # pragma: no cover - Windows: an open file cannot be deleted anyway
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "save",
    "load",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "safe_globals",
    "get_unsafe_globals_in_checkpoint",
    "UnpicklingError",
    "DEFAULT_PROTOCOL",
]

FileLike = str | os.PathLike | IO[bytes]

DEFAULT_PROTOCOL = 2  # torch.serialization.DEFAULT_PROTOCOL

# PyTorch's texts for a weights-only refusal (torch/serialization.py, 2.13).
_UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in "
    "`torch.load` from `False` to `True`. Re-running `torch.load` with `weights_only` set to "
    "`False` will likely succeed, but it can result in arbitrary code execution. Do it only "
    "if you got the file from a trusted source."
)
_DOCS_MESSAGE = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default "
    "with weights_only https://pytorch.org/docs/stable/generated/torch.load.html."
)

_LEGACY_META = "checkpoint.json"  # tapegrad 0.x checkpoints
_LEGACY_FORMAT = "tapegrad.save"
_LEGACY_VERSION = 1
# The JSON document only describes structure; anything this large is not ours.
_MAX_META_BYTES = 64 << 20
_NUMERIC_KINDS = "biufc"


# ----------------------------------------------------------------------------------------
# Tensors out of a file


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


def _placer(map_location) -> Callable[[np.ndarray, str, bool, bool], Any]:
    """``place(array, location, requires_grad, parameter)`` -> a fresh leaf tensor."""
    if not (map_location is None or callable(map_location)):
        _target_device("cpu", map_location)  # a bad map_location fails before reading

    def place(arr: np.ndarray, location: str, requires_grad: bool, parameter: bool):
        import tapegrad

        t = tapegrad.from_numpy(arr)
        if callable(map_location):
            t = map_location(t, location)
        else:
            t = _to_device(t, _target_device(location, map_location))
        if parameter:
            from tapegrad.nn.parameter import Parameter

            return Parameter(t, requires_grad=requires_grad)
        if requires_grad:
            t.requires_grad_(True)
        return t

    return place


# ----------------------------------------------------------------------------------------
# save


def save(
    obj: Any,
    f: FileLike,
    pickle_module: Any = None,
    pickle_protocol: int = DEFAULT_PROTOCOL,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Save ``obj`` to a file path or a binary file object (mirrors ``torch.save``).

    ``obj`` may be anything picklable: tensors, a ``state_dict()``, a whole model or
    optimizer, dicts and lists of those, NumPy arrays, numbers, strings. The file is in
    PyTorch's zip format: PyTorch reads tensors and state dicts saved by tapegrad (and
    tapegrad reads PyTorch's). Tensors keep dtype, shape and ``requires_grad``; one
    tensor saved twice loads back as one object.

    A path ending in ``.safetensors`` (or a file object whose ``name`` does) gets the
    safetensors format instead, which holds only a ``{str: Tensor}`` dict such as a
    ``state_dict()`` and is read by Hugging Face's ``safetensors`` and every framework
    (needs ``tapegrad[safetensors]``; ``pickle_protocol`` does not apply to it).

    Writing to a path is atomic: the data goes to a temporary file in the same folder,
    which replaces the destination only once complete, so a crash never leaves a
    half-written checkpoint; temporaries left by a killed save are removed by the next
    save to the same path. ``pickle_module`` is accepted for compatibility and ignored.

    Args:
        obj: What to save.
        f: A path (``str`` or ``os.PathLike``) or a binary file object open for writing.
        pickle_module: Accepted for PyTorch's signature and ignored.
        pickle_protocol: The pickle protocol of the zip format's data record (2 to
            ``pickle.HIGHEST_PROTOCOL``).

    Raises:
        ValueError: For ``_use_new_zipfile_serialization=False`` (PyTorch's legacy format)
            or a ``pickle_protocol`` out of range.
    """
    if not _use_new_zipfile_serialization:
        raise ValueError(
            "tapegrad.save writes only zip checkpoints; PyTorch's legacy format "
            "(_use_new_zipfile_serialization=False) is not supported"
        )
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(
            f"pickle_protocol should be between 2 and {pickle.HIGHEST_PROTOCOL}, got "
            f"{pickle_protocol!r}"
        )

    target = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "")
    if isinstance(target, str) and target.endswith(".safetensors"):

        def write(fp: IO[bytes]) -> None:
            _safetensors.write(obj, fp)

    else:

        def write(fp: IO[bytes]) -> None:
            _torch_format.write(obj, fp, pickle_protocol, "archive")

    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), write)
    elif hasattr(f, "write"):
        write(f)
    else:
        raise TypeError(f"save() expected a path or a binary file object, got {type(f).__name__}")


def _temp_pattern(base: str) -> re.Pattern:
    return re.compile(rf"\.{re.escape(base)}\.[0-9a-f]{{12}}\.tmp")


def _atomic_write(path: str, write: Callable[[IO[bytes]], None]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Parent directory {folder} does not exist.")
    base = os.path.basename(path)
    _clean_stale_temporaries(folder, base)
    fd, tmp = _create_locked_temporary(folder, base)
    try:
        with os.fdopen(fd, "wb") as fp:
            write(fp)
            fp.flush()
            os.fsync(fp.fileno())
            os.replace(tmp, path)  # while still locked: no cleaner can take it
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(folder)


def _create_locked_temporary(folder: str, base: str) -> tuple[int, str]:
    """A new ``.<base>.<hex>.tmp`` beside the target, open and locked by this writer.

    The lock (released by the kernel when the process dies, even by SIGKILL) is how a
    later save tells a live writer's temporary from a dead one's.
    """
    while True:
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            # O_EXCL: never clobber someone else's file; mode 0o666 lets the umask decide,
            # so the checkpoint gets the same permissions a plain open() would give it.
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
        except FileExistsError:
            continue
        if fcntl is None:
            return fd, tmp
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A cleaner that locked the file between our open and our lock has removed it:
        # then start again with a new name.
        try:
            if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)


def _clean_stale_temporaries(folder: str, base: str) -> None:
    """Remove temporaries of ``base`` whose writer is gone (killed mid-save).

    A live writer holds an exclusive lock on its temporary, so a file that can be
    locked here has no writer; it is removed while locked, so two cleaners cannot race.
    """
    pattern = _temp_pattern(base)
    try:
        names = [n for n in os.listdir(folder) if pattern.fullmatch(n)]
    except OSError:
        return
    for name in names:
        stale = os.path.join(folder, name)
        if fcntl is None:  # pragma: no cover - Windows refuses to delete an open file
            try:
                os.unlink(stale)
            except OSError:
                pass
            continue
        try:
            fd = os.open(stale, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live writer holds it (or it cannot be locked: leave it)
            os.close(fd)
            continue
        try:
            if os.stat(stale).st_ino == os.fstat(fd).st_ino:
                os.unlink(stale)
        except OSError:
            pass
        finally:
            os.close(fd)


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


# ----------------------------------------------------------------------------------------
# load


def load(
    f: FileLike,
    map_location=None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load an object saved by ``save`` or by PyTorch's ``torch.save`` (mirrors ``torch.load``).

    Safetensors files (told apart by their content, not their name) load as a
    ``{name: tensor}`` dict with the dtypes they were written with, whoever wrote them.

    Tensors come back as fresh leaves with the dtype, shape and ``requires_grad`` they
    were saved with, on the device they were saved on unless ``map_location`` says
    otherwise: a device or string (``'cpu'``), a dict mapping saved locations to new
    ones (``{'cuda:1': 'cuda:0'}``), or a callable ``fn(tensor, location)`` returning the
    tensor to use (so the common ``lambda storage, loc: storage`` keeps it on the CPU).

    ``weights_only=True`` (the default, as in PyTorch 2.6+) loads tensors, containers,
    numbers, strings, dtypes, devices, plain NumPy arrays and what
    ``add_safe_globals`` allows, and refuses anything else with PyTorch's
    ``pickle.UnpicklingError``; no code from the file runs and nothing outside the
    loaded object changes. ``weights_only=False`` unpickles anything, which can run
    arbitrary code: only for files you trust. Raises ``FileNotFoundError`` for a missing
    file and ``RuntimeError`` naming the file for one that is corrupt, truncated or not a
    checkpoint. ``mmap`` is accepted and ignored (tensors are read into memory);
    ``encoding`` is honoured for Python 2 strings.

    Args:
        f: A path or a binary file object open for reading.
        map_location: Where tensors go: a device or string, a dict of saved location to
            new location, or a callable ``fn(tensor, location)``.
        pickle_module: Given, it makes ``weights_only`` default to ``False`` (as in
            PyTorch) and is otherwise unused.
        weights_only: Load only tensors, containers and other plain data (default), or
            unpickle anything (``False``: for trusted files only).
        mmap: Accepted and ignored (tensors are read into memory).
        **pickle_load_args: ``encoding`` (for Python 2 strings); the rest is ignored.

    Returns:
        The saved object.

    Raises:
        FileNotFoundError: If the path does not exist.
        RuntimeError: If the file is corrupt, truncated or not a checkpoint.
        pickle.UnpicklingError: If ``weights_only`` and the file holds something else than
            plain data.
    """
    weights_only = _resolve_weights_only(weights_only, pickle_module)
    encoding = pickle_load_args.pop("encoding", "utf-8")
    del mmap, pickle_load_args
    place = _placer(map_location)
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with open(name, "rb") as fp:  # FileNotFoundError, as torch.load
            return _load_stream(fp, name, place, weights_only, encoding)
    if not hasattr(f, "read"):
        raise TypeError(f"load() expected a path or a binary file object, got {type(f).__name__}")
    name = str(getattr(f, "name", "<file object>"))
    if not getattr(f, "seekable", lambda: False)():
        f = io.BytesIO(f.read())  # zipfile needs to seek
    return _load_stream(f, name, place, weights_only, encoding)


def _resolve_weights_only(weights_only: bool | None, pickle_module) -> bool:
    # As torch.load: an explicit pickle_module means weights_only=False by default, and
    # the environment can force either choice where the call did not set it.
    if weights_only is not None:
        if weights_only and pickle_module is not None:
            raise RuntimeError(
                "Can not safely load weights when explicit pickle_module is specified"
            )
        return bool(weights_only)
    truthy = ("1", "y", "yes", "true")
    force_on = os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in truthy
    force_off = os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in truthy
    if force_on and force_off:
        raise RuntimeError(
            "Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` "
            "should be set, but both were set."
        )
    if force_on:
        return True
    if force_off:
        return False
    return pickle_module is None


def _format_of(head: bytes) -> str:
    """Which reader a file needs, from its first bytes: the one place formats are told apart."""
    # First: a safetensors header length can begin with b"PK" or b"\x80".
    if _safetensors.is_safetensors(head):
        return "safetensors"
    if head.startswith(b"PK"):
        return "zip"
    if head[:1] == b"\x80" or head[257:262] == b"ustar":
        return "legacy-torch"
    return "unknown"


def _load_stream(fp: IO[bytes], name: str, place, weights_only: bool, encoding: str) -> Any:
    start = fp.tell()
    head = fp.read(512)
    fp.seek(start)
    if not head:
        raise RuntimeError(f"{name} is empty: it is not a checkpoint (was it written completely?)")
    kind = _format_of(head)
    if kind == "legacy-torch":
        raise RuntimeError(
            f"{name} is in PyTorch's legacy (pre-1.6, non-zip) checkpoint format, which "
            "tapegrad cannot read safely. Re-save it with a recent PyTorch: "
            "torch.save(torch.load(path), path)."
        )
    if kind == "safetensors":
        return _safetensors.load(fp, name, place)
    if kind != "zip":
        raise RuntimeError(f"{name} is not a checkpoint written by tapegrad.save or torch.save")
    with Archive(fp, name) as archive:
        try:
            return _load_archive(archive, place, weights_only, encoding)
        except UnpicklingError as e:
            if weights_only and e.refused:
                raise UnpicklingError(name, _weights_only_message(e.detail), True) from None
            raise
        except (RecursionError, NotImplementedError) as e:  # RuntimeErrors not naming the file
            raise archive.corrupt(f"{type(e).__name__}: {e}") from None
        except RuntimeError:
            raise
        except (*ZIP_ERRORS, json.JSONDecodeError, MemoryError, TypeError) as e:
            raise archive.corrupt(f"{type(e).__name__}: {e}") from None


def _load_archive(archive: Archive, place, weights_only: bool, encoding: str) -> Any:
    if _LEGACY_META in archive:
        return _LegacyReader(archive, place).load()
    prefix = _torch_prefix(archive)
    loader = _torch_format.Loader(archive, prefix, place)
    if weights_only:
        return loader.load(True, encoding)
    try:
        return loader.load(False, encoding)
    except UnpicklingError:
        raise
    except _torch_format.nested_error_types() as e:
        raise UnpicklingError(
            archive.name, f"the pickle is truncated or corrupt: {type(e).__name__}: {e}"
        ) from None


def _torch_prefix(archive: Archive) -> str:
    prefixes = {n[: -len("data.pkl")] for n in archive.names() if n.endswith("/data.pkl")}
    if len(prefixes) != 1:
        raise RuntimeError(
            f"{archive.name} is a zip archive but not a tapegrad or PyTorch checkpoint"
        )
    return prefixes.pop()


def _weights_only_message(detail: str) -> str:
    """PyTorch's text for a refused weights-only load (``torch.load``'s ``_get_wo_message``)."""
    if "was not an allowed global by default" in detail:
        return (
            "Weights only load failed. This file can still be loaded, to do so you have two "
            "options, \033[1mdo those steps only if you trust the source of the "
            f"checkpoint\033[0m. \n\t(1) {_UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with "
            "`weights_only=True` please check the recommended steps in the following error "
            "message.\n\tWeightsUnpickler error: " + detail + _DOCS_MESSAGE
        )
    message = f"Weights only load failed. {_UNSAFE_MESSAGE}\n"
    if "is blocked" not in detail:
        message += (
            "Please file an issue with the following so that we can make "
            "`weights_only=True` compatible with your use case: WeightsUnpickler error: "
        )
    return message + "\n\n" + detail + _DOCS_MESSAGE


def get_unsafe_globals_in_checkpoint(f: FileLike) -> list[str]:
    """The globals in a checkpoint that a weights-only load would refuse, found without
    running its pickle (``torch.serialization.get_unsafe_globals_in_checkpoint``).

    Args:
        f: A path or a binary file object.

    Returns:
        The ``module.name`` of each refused global.
    """
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
    fp = open(name, "rb") if isinstance(f, (str, os.PathLike)) else f
    try:
        if _format_of(fp.read(512)) != "zip":
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        fp.seek(0)
        with Archive(fp, str(name)) as archive:
            if _LEGACY_META in archive:
                return []
            prefix = _torch_prefix(archive)
            data = archive.read(prefix + "data.pkl", _torch_format.MAX_PICKLE_BYTES)
            safe = set(_torch_format.Loader(archive, prefix, None).allowed())
            safe |= set(user_allowed_globals())
            return [g for g in globals_in_pickle(data, str(name)) if g not in safe]
    finally:
        if fp is not f:
            fp.close()


# ----------------------------------------------------------------------------------------
# Restricted unpickling of other files (CIFAR batches in tapegrad.datasets)


def restricted_unpickle(data: bytes, allowed: Mapping[str, Any], what: str, *, encoding="ASCII"):
    """Unpickle ``data`` building only the globals in ``allowed`` (``"module.name" -> obj``).

    Plain NumPy arrays are rebuilt with checked state. Anything else raises
    ``UnpicklingError`` (a ``pickle.UnpicklingError`` and a ``RuntimeError``)
    naming ``what`` (the file); a malformed stream raises the same.

    Args:
        data: the pickle bytes.
        allowed: the globals the stream may build, keyed by ``'module.name'``.
        what: a name for the data (the file) used in error messages.
        encoding: how 8-bit strings pickled by Python 2 are decoded, as for ``pickle.loads``.
    """
    return weights_only_unpickle(
        data, allowed, what, encoding=encoding, builders=NUMPY_BUILDERS, user_globals=False
    )


# ----------------------------------------------------------------------------------------
# tapegrad 0.x checkpoints: tagged JSON plus ``.npy`` entries (read-only)


def _c_native(arr: np.ndarray) -> np.ndarray:
    """``arr`` C-contiguous and in native byte order, copied only if needed (keeps 0-d)."""
    native = arr.dtype.newbyteorder("=")
    if arr.dtype != native or not arr.flags.c_contiguous:
        arr = arr.astype(native, order="C")
    return arr


def _read_npy(archive: Archive, name: str) -> np.ndarray:
    """One ``.npy`` entry, its header checked against the declared size before reading."""
    info = archive.info(name)
    with archive.open(name) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise archive.corrupt(f"entry {name} has .npy version {version}")
        if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
            raise archive.corrupt(f"entry {name} has unsupported dtype {dtype}")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if info.file_size - fp.tell() != nbytes:
            raise archive.corrupt(
                f"entry {name} declares shape {shape} of {dtype} ({nbytes} bytes) but holds "
                f"{info.file_size - fp.tell()} bytes"
            )
        buf = read_exactly(fp, nbytes, archive, name)
    arr = np.frombuffer(buf, dtype=dtype, count=count) if count else np.empty(0, dtype)
    return _c_native(arr.reshape(shape, order="F" if fortran else "C"))


class _LegacyReader:
    """Reads tapegrad 0.x checkpoints: tagged JSON plus ``.npy`` entries."""

    def __init__(self, archive: Archive, place):
        self.archive, self.place = archive, place
        self.shared: dict[str, Any] = {}  # entry name -> tensor or array, for sharing

    def corrupt(self, what: str) -> RuntimeError:
        return self.archive.corrupt(what)

    def load(self):
        raw = self.archive.read(_LEGACY_META, _MAX_META_BYTES)
        meta = json.loads(raw.decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != _LEGACY_FORMAT:
            raise self.corrupt(f"{_LEGACY_META} does not describe a tapegrad checkpoint")
        if meta.get("version") != _LEGACY_VERSION:
            raise RuntimeError(
                f"{self.archive.name} has checkpoint format version {meta.get('version')!r}; "
                f"this tapegrad reads version {_LEGACY_VERSION}: upgrade tapegrad to load it"
            )
        return self.decode(meta["object"])

    def decode(self, node):  # noqa: C901 - one branch per node type
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
            from ._tensor import Size

            dims = tuple(node["items"])
            if not all(type(d) is int for d in dims):
                raise self.corrupt("a Size holds something other than ints")
            return Size(dims)
        if kind in ("dict", "odict"):
            out = {} if kind == "dict" else collections.OrderedDict()
            for key, value in node["items"]:
                out[self.decode(key)] = self.decode(value)
            for attr, value in node.get("attrs", ()):
                if kind != "odict" or type(attr) is not str or not attr.isidentifier():
                    raise self.corrupt("bad attribute name")
                out.__dict__[attr] = self.decode(value)
            return out
        if kind == "float":
            if node["value"] not in ("inf", "-inf", "nan"):
                raise self.corrupt("bad float value")
            return float(node["value"])
        if kind == "tensor":
            entry = node["data"]
            if type(entry) is not str:
                raise self.corrupt("bad tensor entry name")
            if entry not in self.shared:
                self.shared[entry] = self.place(
                    _read_npy(self.archive, entry),
                    str(node["device"]),
                    bool(node["requires_grad"]),
                    bool(node["parameter"]),
                )
            return self.shared[entry]
        if kind == "ndarray":
            entry = node["data"]
            if type(entry) is not str:
                raise self.corrupt("bad array entry name")
            if entry not in self.shared:
                self.shared[entry] = _read_npy(self.archive, entry)
            return self.shared[entry]
        if kind == "npscalar":
            arr = _read_npy(self.archive, node["data"])
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


# Re-exported for tapegrad.datasets (CIFAR batches hold plain NumPy arrays).
__all__ += ["NUMPY_GLOBALS", "restricted_unpickle"]
