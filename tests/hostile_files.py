"""Hostile files for the hardening, serialization and fuzz tests (issue 11).

Hand-written pickles that try to change objects existing before a load, run code, or
allocate at will; a minimal PyTorch-style archive around a pickle; and a memory meter.
"""

import contextlib
import struct
import tracemalloc
import types
import zipfile


@contextlib.contextmanager
def peak_memory():
    """Measures the peak of Python allocations in the block: ``peak.bytes`` after it."""
    peak = types.SimpleNamespace(bytes=0)
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def glob(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def text(s: str) -> bytes:
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


PROTO = b"\x80\x02"
I4_DTYPE = glob("numpy", "dtype") + text("i4") + b"\x85R"  # numpy.dtype('i4')

# Each pickle tries to change an object that exists before the load.
HOSTILE_PICKLES = {
    # BUILD {"np": dtype('i4')} on tapegrad's float32: every later ones() would be int32.
    "build float32": glob("torch", "float32") + b"}" + text("np") + I4_DTYPE + b"sb",
    # the same through the slot-state form of BUILD (None, {...})
    "build float32 slots": glob("torch", "float32") + b"N}" + text("np") + I4_DTYPE + b"s\x86b",
    # BUILD on the FloatStorage stand-in: later PyTorch checkpoints would load as int32.
    "build FloatStorage": glob("torch", "FloatStorage")
    + b"}"
    + text("np_dtype")
    + I4_DTYPE
    + b"sb",
    # replace the defaults of a rebuild helper
    "build __defaults__": glob("torch._utils", "_rebuild_tensor_v2")
    + b"}"
    + text("__defaults__")
    + b"\x88\x85sb",
    # SETITEM / APPEND / ADDITEMS on objects the load did not create
    "setitem on a class": glob("collections", "OrderedDict") + text("k") + b"Ns",
    "append to a function": glob("torch", "Size") + b"Na",
    "setitems on a global": glob("torch", "device") + b"(" + text("k") + b"Nu",
    "build ndarray class": glob("numpy", "ndarray") + b"}" + text("x") + b"Nsb",
    # code execution and blocked modules
    "os.system": glob("os", "system") + text("touch MARKER") + b"\x85R",
    "posix.system": glob("posix", "system") + text("touch MARKER") + b"\x85R",
    "builtins.exec": glob("builtins", "exec") + text("open('MARKER','w')") + b"\x85R",
    "getattr": glob("builtins", "getattr") + glob("torch", "float32") + text("np") + b"\x86R",
    "copyreg": glob("copy_reg", "_reconstructor") + b"(" + glob("builtins", "object") + b"NNtR",
    "bytes bomb": glob("builtins", "bytes") + b"J\x00\x00\x00\x40\x85R",
}


def torch_zip(path, pickled: bytes, storages=()):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickled)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
        for key, data in storages:
            zf.writestr(f"archive/data/{key}", data)
    return path
