"""CPU tensors in shared memory: ``Tensor.share_memory_`` and how such tensors pickle.

PyTorch's Hogwild pattern shares a model's weights between processes:

    model.share_memory()
    workers = [mp.Process(target=train, args=(model,)) for _ in range(4)]

``share_memory_`` moves a tensor's data into a memory-mapped file under ``/dev/shm``
(the system's temporary directory where there is none). A child started by ``fork``
maps the same pages; one started by ``spawn`` (or any process the tensor is pickled
to, e.g. through a ``multiprocessing.Queue``) receives the file's name and maps it
again, so in-place updates made by any process are seen by all. The process that
shared the tensor removes the file when it exits; a process that maps it later fails
with ``RuntimeError``, as PyTorch's does when the sender is gone. The file is also
removed once the sharing process holds no tensor on it any more (processes that mapped
it keep their mapping).

A tensor's data is one NumPy array; moving it to shared memory replaces that array, so
views taken before ``share_memory_`` keep the old memory (PyTorch moves the storage
under its views). Parameters are shared before training starts, when they have no views.
"""

from __future__ import annotations

import atexit
import itertools
import mmap
import os
import tempfile
import threading
import weakref

import numpy as np

__all__ = ["is_shared", "rebuild", "reduce_args", "share"]

_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
# Reentrant: a map's finalizer (_forget) can run from a garbage collection that starts
# while this thread holds the lock.
_lock = threading.RLock()
_counter = itertools.count()


class _Segment:
    """One mapped file: its path and size, the address where the map starts, the map
    (weakly: the arrays on it keep it alive)."""

    __slots__ = ("address", "map", "nbytes", "path")

    def __init__(self, path: str, mapped: mmap.mmap, owned: bool) -> None:
        self.path = path
        self.nbytes = len(mapped)
        self.map = weakref.ref(mapped)
        self.address = np.frombuffer(mapped, dtype=np.uint8).__array_interface__["data"][0]
        _segments[id(mapped)] = self
        weakref.finalize(mapped, _forget, id(mapped), path, os.getpid() if owned else None)


def _forget(key: int, path: str, owner: int | None) -> None:
    """The map is gone: drop its records; its creator removes the file."""
    with _lock:
        _segments.pop(key, None)
        if owner is not None and owner == os.getpid() and path in _owned:
            _owned.remove(path)
            try:
                os.unlink(path)
            except OSError:
                pass


# id(mmap) -> segment, for every file mapped in this process (one map per file, however
# many tensors lie on it).
_segments: dict[int, _Segment] = {}
# Files this process created: removed when it exits (not by its forked children).
_owned: list[str] = []
_owner_pid = os.getpid()


def _cleanup() -> None:
    if os.getpid() != _owner_pid:
        return  # a forked child inherited the list: the creator removes the files
    for path in _owned:
        try:
            os.unlink(path)
        except OSError:
            pass


atexit.register(_cleanup)


def _segment_of(array: np.ndarray) -> _Segment | None:
    base = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, mmap.mmap):
        return _segments.get(id(base))
    return None


def is_shared(array: np.ndarray) -> bool:
    """Whether ``array`` lies in memory shared through :func:`share`."""
    return _segment_of(array) is not None


def share(array: np.ndarray) -> np.ndarray:
    """A copy of ``array`` (C order) in a new shared-memory file."""
    global _owner_pid
    nbytes = max(array.nbytes, 1)
    with _lock:
        if os.getpid() != _owner_pid:  # a forked child shares tensors of its own
            _owner_pid = os.getpid()
            _owned.clear()
        path = os.path.join(_DIR, f"tapegrad_{os.getpid()}_{next(_counter)}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        _owned.append(path)
    try:
        os.ftruncate(fd, nbytes)
        mapped = mmap.mmap(fd, nbytes)
    finally:
        os.close(fd)
    _Segment(path, mapped, owned=True)
    out = np.ndarray(array.shape, dtype=array.dtype, buffer=mapped)
    out[...] = array
    return out


def reduce_args(array: np.ndarray) -> tuple | None:
    """What another process needs to map ``array`` again, or None if it is not shared."""
    seg = _segment_of(array)
    if seg is None:
        return None
    offset = array.__array_interface__["data"][0] - seg.address
    return (seg.path, seg.nbytes, offset, array.shape, array.strides, array.dtype.str)


def rebuild(path: str, nbytes: int, offset: int, shape, strides, dtype: str) -> np.ndarray:
    """The array :func:`reduce_args` describes, mapped in this process."""
    if os.path.dirname(path) != _DIR or not os.path.basename(path).startswith("tapegrad_"):
        raise RuntimeError(f"shared tensor: {path!r} is not a tapegrad shared-memory file")
    with _lock:
        seg = _find_mapped(path)
        mapped = seg.map() if seg is not None else None
        if mapped is None:
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                raise RuntimeError(
                    f"shared tensor: its memory ({path}) is gone: the process that shared it "
                    "has exited"
                ) from None
            try:
                mapped = mmap.mmap(fd, nbytes)
            finally:
                os.close(fd)
            _Segment(path, mapped, owned=False)
    return np.ndarray(shape, dtype=np.dtype(dtype), buffer=mapped, offset=offset, strides=strides)


def _find_mapped(path: str) -> _Segment | None:
    """This process's live segment of ``path`` (its own, or one it attached)."""
    for seg in list(_segments.values()):
        if seg.path == path and seg.map() is not None:
            return seg
    return None
