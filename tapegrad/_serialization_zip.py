"""Reading checkpoint zip archives without trusting them.

Every entry is checked against what the archive declares before a byte of it is
inflated: a known compression method (stored or deflated), no duplicate names, data
inside the file, and a total inflated size bounded by the archive's own size (a
compressed entry may expand at most :data:`INFLATE_RATIO` times the archive, plus
:data:`INFLATE_FLOOR`). Entries are streamed in chunks into buffers sized by the
declared length, never read whole ahead of the data. Anything wrong raises
``RuntimeError`` naming the file.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import IO

import numpy as np

__all__ = ["Archive", "ZIP_ERRORS"]

# Both tapegrad and PyTorch store tensor data uncompressed; a compressed entry is allowed,
# but all compressed entries together may not inflate to more than this.
INFLATE_FLOOR = 64 << 20
INFLATE_RATIO = 16
_CHUNK = 1 << 20

# What zipfile and zlib raise on a corrupt archive (NotImplementedError: an unknown
# compression method; struct.error / UnicodeDecodeError: a mangled header).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    OverflowError,
    struct.error,
    zlib.error,
    UnicodeError,
)


class Archive:
    """A zip archive opened for reading checkpoint entries from it."""

    def __init__(self, fp: IO[bytes], name: str):
        self.name = name
        start = fp.tell()
        fp.seek(0, io.SEEK_END)
        self.size = fp.tell() - start
        fp.seek(start)
        try:
            self.zf = zipfile.ZipFile(fp)
        except ZIP_ERRORS as e:
            raise self.corrupt(f"not a readable zip archive ({e})") from None
        self.budget = INFLATE_FLOOR + INFLATE_RATIO * self.size
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in self.zf.infolist():
            if info.filename in self.infos:
                raise self.corrupt(f"entry {info.filename} appears twice")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.corrupt(
                    f"entry {info.filename} uses compression method {info.compress_type}, "
                    "not stored or deflated"
                )
            if info.flag_bits & 0x1:
                raise self.corrupt(f"entry {info.filename} is encrypted")
            if info.header_offset + info.compress_size > self.size:
                raise self.corrupt(f"entry {info.filename} lies beyond the end of the file")
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise self.corrupt(f"entry {info.filename} declares a wrong size")
            self.infos[info.filename] = info

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def corrupt(self, what: str) -> RuntimeError:
        return RuntimeError(f"{self.name} is truncated or corrupt: {what}")

    def names(self) -> list[str]:
        return list(self.infos)

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self.infos[name]
        except KeyError:
            raise self.corrupt(f"entry {name} is missing") from None

    def _reserve(self, info: zipfile.ZipInfo) -> None:
        # Checked before inflating: what a deflated entry expands to comes out of the budget.
        if info.compress_type != zipfile.ZIP_STORED:
            self.budget -= info.file_size
            if self.budget < 0:
                raise self.corrupt(
                    f"entry {info.filename} would inflate to {info.file_size} bytes, far more "
                    f"than a {self.size}-byte archive can honestly hold (a zip bomb?)"
                )

    def open(self, name: str, expected: int | None = None, limit: int | None = None):
        """The entry as a stream, after checking its declared size against ``expected``
        (exact) or ``limit`` (at most)."""
        info = self.info(name)
        if expected is not None and info.file_size != expected:
            raise self.corrupt(
                f"entry {name} holds {info.file_size} bytes, expected {expected} bytes"
            )
        if limit is not None and info.file_size > limit:
            raise self.corrupt(f"entry {name} is implausibly large ({info.file_size} bytes)")
        self._reserve(info)
        return self.zf.open(info)

    def read(self, name: str, limit: int) -> bytes:
        """A whole (small) entry: at most ``limit`` bytes."""
        with self.open(name, limit=limit) as fp:
            return bytes(read_exactly(fp, self.info(name).file_size, self, name))

    def read_array(self, name: str, dtype: np.dtype, count: int) -> np.ndarray:
        """``count`` elements of ``dtype`` stored raw in ``name`` (exactly that many bytes)."""
        nbytes = count * dtype.itemsize
        with self.open(name, expected=nbytes) as fp:
            return array_from_stream(fp, dtype, count, self, name)


def read_exactly(fp, n: int, archive: Archive, name: str) -> bytearray:
    """``n`` bytes from ``fp``; the buffer grows with the data present, never ahead of it."""
    buf = bytearray()
    while len(buf) < n:
        chunk = fp.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            raise archive.corrupt(f"entry {name} is incomplete")
        buf += chunk
    return buf


def array_from_stream(fp, dtype: np.dtype, count: int, archive: Archive, name: str) -> np.ndarray:
    """``count`` elements read from ``fp`` into a fresh array, in chunks (no second copy).

    Only called once the entry's declared size has been checked against the archive,
    so the allocation is bounded by what the file holds (or by the inflate budget).
    """
    out = np.empty(count, dtype)
    view = memoryview(out.view(np.uint8).reshape(-1)) if count else memoryview(b"")
    done, total = 0, count * dtype.itemsize
    while done < total:
        chunk = fp.read(min(_CHUNK, total - done))
        if not chunk:
            raise archive.corrupt(f"entry {name} is incomplete")
        view[done : done + len(chunk)] = chunk
        done += len(chunk)
    if fp.read(1):
        raise archive.corrupt(f"entry {name} holds more data than declared")
    return out
