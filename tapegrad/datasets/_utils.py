"""What the dataset readers share: where files are looked for, checked downloads, safe
archive extraction, the IDX file format and restricted unpickling.

Mirrors the role of ``torchvision.datasets.utils`` and ``torchvision.datasets.VisionDataset``.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import secrets
import shutil
import struct
import sys
import tarfile
import urllib.request
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from tapegrad.serialization import NUMPY_GLOBALS, restricted_unpickle

try:  # tapegrad.utils.data is optional here: a dataset only needs __getitem__ and __len__
    from tapegrad.utils.data import Dataset as _DatasetBase
except ImportError:
    _DatasetBase = object

# Where datasets are looked for after ``root``: this environment variable, then
# the distribution's dataset folders (Debian installs Fashion-MNIST under
# /usr/share/datasets/fashion-mnist with ``apt-get install dataset-fashion-mnist``).
DATA_ENV = "TAPEGRAD_DATA"
SYSTEM_DATA_DIRS: tuple[str, ...] = ("/usr/share/datasets",)

# Opens a URL for download; a module attribute so tests can replace it.
urlopen = urllib.request.urlopen

_CHUNK = 1 << 20  # small: a file object may allocate a whole chunk before reading it
# Deflate cannot compress better than about 1032:1, so a gzip file of n bytes cannot
# hold more than ~1032 n bytes: a header claiming more is lying.
_MAX_GZIP_RATIO = 1032


# ----------------------------------------------------------------------------------------
# Tensors: the one place where datasets turn arrays into tensors and back.


def to_tensor(arr: np.ndarray):
    """A tensor sharing ``arr``'s memory (``torch.from_numpy``)."""
    import tapegrad

    return tapegrad.from_numpy(arr)


def to_numpy(x) -> np.ndarray:
    """The NumPy array behind a tensor, or ``x`` itself as an array (no copy)."""
    data = getattr(x, "_data", None)
    if data is not None:
        return data if isinstance(data, np.ndarray) else data.get()
    return np.asarray(x)


class VisionDataset(_DatasetBase):
    """Base of the image datasets (mirrors ``torchvision.datasets.VisionDataset``).

    Holds ``root``, ``transform`` (applied to the image) and ``target_transform``
    (applied to the label), and prints like torchvision's datasets.

    Args:
        root: The folder holding the dataset (or where ``download`` puts it).
        transform: Applied to each image.
        target_transform: Applied to each label.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ):
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(
                f"root should be a path (str or os.PathLike), got {type(root).__name__}"
            )
        self.root = os.path.expanduser(os.fspath(root))
        self.transform = transform
        self.target_transform = target_transform

    def _apply_transforms(self, img, target):
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    # -- reading whole batches (the DataLoader's fast path) -----------------------------

    # A reader that can read batches sets this to its own __getitem__ and defines
    # ``_batch_images() -> (idx -> images)``, giving the stacked raw images at ``idx``.
    _own_getitem: Callable | None = None

    def _batch_reader(self) -> Callable[[Any], list] | None:
        """The DataLoader's fast path: a function from batch indices to what
        ``default_collate`` of those items gives, read with one gather for the whole batch.
        ``None`` where that could differ: a subclass with its own ``__getitem__``, a
        ``target_transform``, or a ``transform`` that is random or not known to act on each
        item alone. Built once per epoch, from ``data`` and ``targets`` as they are then."""
        own = type(self)._own_getitem
        if own is None or type(self).__getitem__ is not own:
            return None
        if self.target_transform is not None:
            return None
        transform = self.transform
        if transform is not None and not getattr(transform, "_batchable", False):
            return None
        images_of = self._batch_images()
        targets = np.asarray(to_numpy(self.targets), dtype=np.int64)

        def read(indices) -> list:
            idx = np.asarray(indices, dtype=np.int64)
            batch = to_tensor(images_of(idx))
            if transform is not None:
                batch = transform._apply_batch(batch)
            return [batch, to_tensor(targets[idx])]

        return read

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [
            f"Dataset {type(self).__name__}",
            f"    Number of datapoints: {len(self)}",
            f"    Root location: {self.root}",
        ]
        lines += ["    " + line for line in self.extra_repr().splitlines()]
        for name in ("transform", "target_transform"):
            fn = getattr(self, name)
            if fn is not None:
                lines.append(f"    {name.replace('_', ' ').capitalize()}: {fn!r}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# Where to look


def search_dirs(root: str, subdirs: Iterable[str], system_names: Iterable[str]) -> list[Path]:
    """Folders to search, in order: each of ``subdirs`` under ``root``, then under
    ``$TAPEGRAD_DATA``, then ``<system dir>/<name>`` for each of ``system_names``."""
    subdirs = list(subdirs)
    bases = [Path(root)]
    env = os.environ.get(DATA_ENV)
    if env:
        bases.append(Path(os.path.expanduser(env)))
    out: list[Path] = []
    for base in bases:
        out += [base / sub if sub else base for sub in subdirs]
    out += [Path(sysdir) / name for sysdir in SYSTEM_DATA_DIRS for name in system_names]
    seen: set[str] = set()
    unique = []
    for d in out:
        key = os.path.abspath(d)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


class DatasetNotFoundError(RuntimeError):
    """torchvision's "Dataset not found" ``RuntimeError``, saying where we looked.

    ``dataset`` (class name), ``wanted`` (the files, in words), ``searched`` (the folders,
    in order) and ``how`` (how to get the files, in Python terms) are kept as attributes
    so that the ``tapegrad`` command can say the same in its own terms."""

    def __init__(self, dataset: str, wanted: str, searched: list[Path], how: str) -> None:
        self.dataset, self.wanted, self.searched, self.how = dataset, wanted, searched, how
        folders = "\n".join(f"  {d}" for d in searched)
        super().__init__(
            "Dataset not found. You can use download=True to download it.\n"
            f"{dataset} looked for {wanted} in:\n{folders}\n{how}"
        )


def not_found_error(dataset: str, wanted: str, searched: list[Path], how: str) -> RuntimeError:
    """torchvision's "Dataset not found" RuntimeError, saying where we looked."""
    return DatasetNotFoundError(dataset, wanted, searched, how)


# ----------------------------------------------------------------------------------------
# Downloads


def calculate_md5(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """The MD5 hex digest of a file (``torchvision.datasets.utils.calculate_md5``)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _temp_path(folder: Path, name: str) -> Path:
    return folder / f".{name}.{secrets.token_hex(6)}.tmp"


def download_url(
    url: str, folder: str | os.PathLike, filename: str, md5: str, timeout: float = 60.0
) -> Path:
    """Download ``url`` to ``folder/filename``, checking its MD5; atomic (temp + rename).

    Raises ``RuntimeError`` for a checksum mismatch and lets network errors
    (``OSError``, ``urllib.error.URLError``) through; nothing is left behind either way.
    """
    folder = Path(folder)
    created = _make_folders(folder)
    dest = folder / filename
    tmp = _temp_path(folder, filename)
    # Some mirrors refuse urllib's default User-Agent.
    request = urllib.request.Request(url, headers={"User-Agent": "tapegrad"})
    done = False
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != md5:
            raise RuntimeError(
                f"checksum mismatch for {url}: MD5 {digest.hexdigest()}, expected {md5}"
            )
        os.replace(tmp, dest)
        done = True
    finally:
        tmp.unlink(missing_ok=True)
        if not done:
            _remove_empty(created)
    return dest


def _make_folders(folder: Path) -> list[Path]:
    """``mkdir -p folder``; returns the folders it created, deepest first."""
    created = []
    path = folder.absolute()
    while not path.exists():
        created.append(path)
        path = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    return created


def _remove_empty(folders: list[Path]) -> None:
    # A failed download leaves nothing behind, not even the folders made for it.
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (something else was put there meanwhile): keep it
            return


class DownloadError(RuntimeError):
    """No mirror gave the file; ``failures`` holds ``(url, error)`` for each one tried."""

    def __init__(self, message: str, failures: list[tuple[str, Exception]]) -> None:
        super().__init__(message)
        self.failures = failures


def download_from_mirrors(
    mirrors: Iterable[str], filename: str, folder: str | os.PathLike, md5: str, help_text: str
) -> Path:
    """Try each mirror in turn; :class:`DownloadError` (a ``RuntimeError``) listing every
    failure if none works."""
    failures: list[tuple[str, Exception]] = []
    for mirror in mirrors:
        url = mirror + filename
        print(f"Downloading {url}", file=sys.stderr)
        try:
            return download_url(url, folder, filename, md5)
        except (OSError, RuntimeError, ValueError) as e:  # URLError is an OSError
            failures.append((url, e))
    raise DownloadError(
        f"Could not download {filename} from any mirror (is there a network connection?):\n"
        + "\n".join(f"  {url}: {e}" for url, e in failures)
        + f"\n{help_text}",
        failures,
    )


def gunzip(src: Path, dest: Path) -> None:
    """Decompress ``src`` to ``dest`` atomically (a verified download, so no size limit)."""
    tmp = _temp_path(dest.parent, dest.name)
    try:
        with gzip.open(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, _CHUNK)
            fout.flush()
            os.fsync(fout.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    name = member.name
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise RuntimeError(f"{archive}: refusing to extract {name!r}: the path leaves the folder")
    if not (member.isfile() or member.isdir()):
        raise RuntimeError(
            f"{archive}: refusing to extract {name!r}: links and special files are not allowed"
        )


def safe_extract_tar(archive: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Extract a tar archive into ``dest``, refusing absolute paths, '..', links and devices.

    Files are extracted into a temporary folder first and then moved into place one by
    one, so an interrupted extraction never leaves a half-written file behind.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(dest, archive.name)
    try:
        with tarfile.open(archive, "r:*") as tf:
            members = tf.getmembers()
            for member in members:
                _check_member(member, archive)
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tf.extractall(tmp, members=members, **kwargs)
        for member in members:
            if member.isfile():
                target = dest / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / member.name, target)
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise RuntimeError(f"{archive} is truncated or corrupt: {e}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------------------
# IDX files (the MNIST format: http://yann.lecun.com/exdb/mnist/)

# Type code -> element type; IDX data is big-endian.
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_TYPES.items()}


def _read_at_most(f, n: int) -> bytearray:
    # Buffers grow with the bytes actually read: a header's claims never size them.
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _size_mismatch(dims, nbytes: int, found: int) -> str:
    held = f"only {found} bytes" if found < nbytes else "more data than that"
    return (
        f"the header declares shape {dims} ({nbytes} bytes of data) but the file holds "
        f"{held} (truncated or corrupt?)"
    )


def read_idx(path: str | os.PathLike, ndim: int | None = None, dtype=None) -> np.ndarray:
    """Read an IDX file, plain or gzip-compressed (``.gz``), as a NumPy array.

    Checks the magic number (two zero bytes, a type code, the number of dimensions),
    ``ndim`` and ``dtype`` when given, and that the sizes in the header match the
    payload before reading it; raises ``RuntimeError`` naming the file otherwise.
    """
    path = Path(path)

    def bad(what: str) -> RuntimeError:
        return RuntimeError(f"{path} is not a valid IDX file: {what}")

    want = np.dtype(dtype) if dtype is not None else None
    try:
        compressed = path.suffix == ".gz"
        with gzip.open(path, "rb") if compressed else open(path, "rb") as f:
            head = bytes(_read_at_most(f, 4))
            if len(head) < 4:
                raise bad(f"the file has {len(head)} bytes, too short for a header")
            magic = int.from_bytes(head, "big")
            expected = ""
            if want is not None and ndim is not None:
                code = (_IDX_CODES[want] << 8) | ndim
                expected = f" (expected {code} = 0x{code:08x} for {ndim}-d {want} data)"
            if head[0] or head[1] or head[2] not in _IDX_TYPES:
                raise bad(f"bad magic number {magic} = 0x{magic:08x}{expected}")
            file_dtype, file_ndim = _IDX_TYPES[head[2]], head[3]
            if want is not None and file_dtype.newbyteorder("=") != want:
                raise bad(
                    f"holds {file_dtype.newbyteorder('=')} data, magic number "
                    f"0x{magic:08x}{expected}"
                )
            if ndim is not None and file_ndim != ndim:
                raise bad(f"holds {file_ndim}-d data, magic number 0x{magic:08x}{expected}")
            raw_dims = bytes(_read_at_most(f, 4 * file_ndim))
            if len(raw_dims) != 4 * file_ndim:
                raise bad("the header is truncated")
            dims = struct.unpack(f">{file_ndim}I", raw_dims)
            nbytes = math.prod(dims) * file_dtype.itemsize
            header = 4 + 4 * file_ndim
            size = path.stat().st_size
            if not compressed and size - header != nbytes:
                raise bad(_size_mismatch(dims, nbytes, size - header))
            if compressed and nbytes > (size + 1024) * _MAX_GZIP_RATIO:
                raise bad(
                    f"the header declares shape {dims} ({nbytes} bytes of data), more than "
                    f"a {size}-byte gzip file can hold"
                )
            payload = _read_at_most(f, nbytes + 1)  # one extra byte reveals trailing junk
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise RuntimeError(f"{path} cannot be read: truncated or corrupt ({e})") from e
    if len(payload) != nbytes:
        raise bad(_size_mismatch(dims, nbytes, len(payload)))
    arr = np.frombuffer(payload, dtype=file_dtype).reshape(dims)
    return arr.astype(file_dtype.newbyteorder("="), copy=False)


# ----------------------------------------------------------------------------------------
# Restricted unpickling (the CIFAR batches are Python pickles)


def load_pickle(data: bytes, what: str) -> Any:
    """Unpickle ``data`` allowing only containers, strings, numbers and numeric NumPy
    arrays; any other global raises ``pickle.UnpicklingError`` and is never imported.

    ``encoding='latin1'`` reads the Python 2 pickles of the CIFAR files, as torchvision does.
    """
    return restricted_unpickle(data, NUMPY_GLOBALS, what, encoding="latin1")
