"""Issue 11: no file can tamper with the process, no input can exhaust it, nothing hangs.

Each test reproduces one reported defect or weak spot from a clean checkout.
"""

import argparse
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hostile_files import HOSTILE_PICKLES, PROTO, glob, peak_memory, text, torch_zip

import tapegrad as tg
from tapegrad import cli
from tapegrad import serialization as S
from tapegrad.datasets import CIFAR10, MNIST, _utils

ROOT = Path(__file__).resolve().parents[1]


def assert_process_untouched():
    assert tg.ones(2).dtype == tg.float32 and tg.ones(2).numpy().dtype == np.float32
    assert tg.float32.np == np.dtype(np.float32) and tg.float32.name == "float32"
    assert np.dtype("f4").byteorder == "=" and np.dtype("i4").isnative
    assert S._torch_format._STORAGE_TYPES["FloatStorage"].np_dtype == np.float32


def legit_torch_checkpoint_loads(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "legit.pt"
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 7
    torch.save({"w": w, "n": torch.tensor([1, 2])}, path)
    out = S.load(path)
    assert out["w"].dtype == tg.float32 and out["n"].dtype == tg.int64
    np.testing.assert_array_equal(out["w"].numpy(), w.numpy())


@pytest.mark.parametrize("name", sorted(HOSTILE_PICKLES))
def test_hostile_checkpoint_pickles_change_nothing(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    path = torch_zip(tmp_path / "evil.pt", PROTO + HOSTILE_PICKLES[name] + b".")
    with pytest.raises(RuntimeError) as info:
        S.load(path)
    assert isinstance(info.value, pickle.UnpicklingError)
    assert str(path) in str(info.value)
    assert not (tmp_path / "MARKER").exists()
    assert_process_untouched()
    legit_torch_checkpoint_loads(tmp_path)


@pytest.mark.parametrize("name", sorted(HOSTILE_PICKLES))
def test_hostile_cifar_batches_change_nothing(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    good = {"data": np.zeros((2, 3072), np.uint8), "labels": [1, 2]}
    for batch in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        (base / batch).write_bytes(pickle.dumps(good, protocol=2))
    names = [str(i) for i in range(10)]
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))
    (base / "data_batch_2").write_bytes(PROTO + HOSTILE_PICKLES[name] + b".")
    with pytest.raises(RuntimeError, match="data_batch_2"):
        CIFAR10(tmp_path)
    assert not (tmp_path / "MARKER").exists()
    assert_process_untouched()


def test_numpy_dtype_state_applies_to_a_fresh_dtype_only(tmp_path):
    # numpy.dtype('f4', False, False) is NumPy's shared float32 dtype: a BUILD on it
    # would turn every float32 array big-endian. The load gets a copy of its own.
    big_endian = (
        glob("numpy", "dtype") + text("f4") + b"\x89\x89\x87R(K\x03" + text(">")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )  # fmt: skip
    path = torch_zip(tmp_path / "dt.pt", PROTO + big_endian + b".")
    out = S.load(path)
    assert out == np.dtype(">f4") and out is not np.dtype("f4")
    assert_process_untouched()


def test_numpy_arrays_in_checkpoints_are_checked(tmp_path):
    # An ndarray whose BUILD state claims more bytes than it holds, or an object dtype.
    reconstruct = glob("numpy.core.multiarray", "_reconstruct") + glob("numpy", "ndarray")
    empty = reconstruct + b"K\x00\x85C\x01b\x87R"
    f8 = glob("numpy", "dtype") + text("f8") + b"\x89\x88\x87R"
    lying = empty + b"(K\x01J\x00\x00\x00\x10\x85" + f8 + b"\x89C\x08" + b"\x00" * 8 + b"tb"
    obj = glob("numpy", "dtype") + text("O") + b"\x89\x88\x87R"
    for pickled in [lying, empty + b"(K\x01K\x01\x85" + obj + b"\x89]tb"]:
        path = torch_zip(tmp_path / "arr.pt", PROTO + pickled + b".")
        with pytest.raises(RuntimeError, match="arr.pt"):
            S.load(path)
    assert_process_untouched()


def test_object_bomb_is_refused_with_bounded_memory(tmp_path):
    # EMPTY_LIST opcodes: one byte of file, ~100 bytes of objects each.
    path = torch_zip(tmp_path / "bomb.pt", PROTO + b"]" * 600_000 + b".")
    with peak_memory() as peak:
        with pytest.raises(RuntimeError, match="memory bomb"):
            S.load(path)
    assert peak.bytes < 100 << 20


@pytest.mark.parametrize("weights_only", [True, False])
def test_deep_nesting_loads_without_recursion_error(tmp_path, weights_only):
    depth = 100_000
    path = torch_zip(tmp_path / "deep.pt", PROTO + b"]" * depth + b"a" * (depth - 1) + b".")
    out = S.load(path, weights_only=weights_only)
    for _ in range(depth - 1):
        (out,) = out
    assert out == []


def test_deep_json_in_an_old_checkpoint_is_a_runtime_error(tmp_path):
    path = tmp_path / "deep.pt"
    node = '{"type":"list","items":[' * 100_000 + "]}" * 100_000
    meta = '{"format":"tapegrad.save","version":1,"object":' + node + "}"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("checkpoint.json", meta)
    with pytest.raises(RuntimeError, match="deep.pt"):
        S.load(path)


# ---------------------------------------------------------------------------------------
# Zip bombs and malformed archives


BOMB_BYTES = 80 << 20  # deflates to ~80 kB; far beyond what such a file may inflate to


def write_deflated(zf: zipfile.ZipFile, name: str, head: bytes, nbytes: int, fill=b"\x00"):
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as w:
        w.write(head)
        chunk = fill * (1 << 20)
        left = nbytes - len(head)
        while left > 0:
            w.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)


def npy_header(shape, descr="<f4"):
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def tensor_pickle(numel: int) -> bytes:
    storage = (
        b"(" + text("storage") + glob("torch", "FloatStorage") + text("0") + text("cpu")
        + b"J" + struct.pack("<i", numel) + b"tQ"
    )  # fmt: skip
    return (
        PROTO + glob("torch._utils", "_rebuild_tensor_v2") + b"(" + storage
        + b"K\x00J" + struct.pack("<i", numel) + b"\x85K\x01\x85\x89"
        + glob("collections", "OrderedDict") + b")RtR."
    )  # fmt: skip


def bomb_torch_storage(path):
    numel = BOMB_BYTES // 4
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", tensor_pickle(numel))
        write_deflated(zf, "archive/data/0", b"", BOMB_BYTES)


def bomb_torch_pickle(path):
    with zipfile.ZipFile(path, "w") as zf:
        # a valid pickle of one long string: "X" len + 80 MB of "a", then STOP
        write_deflated(
            zf,
            "archive/data.pkl",
            PROTO + b"X" + struct.pack("<I", BOMB_BYTES),
            BOMB_BYTES + 7,
            b"a",
        )


def bomb_old_npy(path):
    node = '{"type":"ndarray","data":"tensors/0.npy"}'
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "checkpoint.json", '{"format":"tapegrad.save","version":1,"object":' + node + "}"
        )
        head = npy_header((BOMB_BYTES // 4,))
        write_deflated(zf, "tensors/0.npy", head, BOMB_BYTES + len(head))


def bomb_old_json(path):
    with zipfile.ZipFile(path, "w") as zf:
        head = b'{"format":"tapegrad.save","version":1,"object":1}'
        write_deflated(zf, "checkpoint.json", head, BOMB_BYTES, b" ")


@pytest.mark.parametrize(
    "make", [bomb_torch_storage, bomb_torch_pickle, bomb_old_npy, bomb_old_json]
)
def test_zip_bombs_are_refused_before_inflating(tmp_path, make):
    path = tmp_path / "bomb.pt"
    make(path)
    assert path.stat().st_size < 1 << 20
    with peak_memory() as peak:
        with pytest.raises(RuntimeError, match="bomb.pt"):
            S.load(path)
    assert peak.bytes < 16 << 20


def test_a_compressed_checkpoint_within_bounds_still_loads(tmp_path):
    path = tmp_path / "ok.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", tensor_pickle(1000))
        info = zipfile.ZipInfo("archive/data/0")
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, np.arange(1000, dtype=np.float32).tobytes())
    np.testing.assert_array_equal(S.load(path).numpy(), np.arange(1000, dtype=np.float32))


def _patch_headers(data: bytes, local_offset: int, central_offset: int, value: bytes) -> bytes:
    out = bytearray(data)
    for sig, off in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = 0
        while (i := out.find(sig, start)) >= 0:
            out[i + off : i + off + len(value)] = value
            start = i + 4
    return bytes(out)


def test_malformed_archives_raise_one_runtime_error_naming_the_file(tmp_path):
    path = tmp_path / "ok.pt"
    S.save({"w": tg.ones(3)}, path)
    good = path.read_bytes()
    cases = {
        "unknown method": _patch_headers(good, 8, 10, struct.pack("<H", 99)),
        "bzip2 method": _patch_headers(good, 8, 10, struct.pack("<H", 12)),
        "encrypted": _patch_headers(good, 6, 8, struct.pack("<H", 1)),
        "beyond the end": _patch_headers(good, 18, 20, struct.pack("<I", 10**9)),
    }
    for what, data in cases.items():
        bad = tmp_path / f"{what}.pt"
        bad.write_bytes(data)
        with pytest.raises(RuntimeError, match=str(bad)):
            S.load(bad)


@pytest.mark.parametrize("entry", ["archive/data.pkl", "archive/data/0", "checkpoint.json"])
def test_duplicate_zip_entries_are_rejected(tmp_path, entry):
    path = tmp_path / "dup.pt"
    S.save({"w": tg.ones(3)}, path)
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    if entry == "checkpoint.json":
        entries = {entry: b'{"format":"tapegrad.save","version":1,"object":1}'}
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        zf.writestr(entry, entries[entry])
    with pytest.raises(RuntimeError, match="appears twice"):
        S.load(path)


# ---------------------------------------------------------------------------------------
# Atomic saves: stale temporaries


def test_stale_temporaries_of_the_target_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "ckpt.pt"
    stale = [tmp_path / f".ckpt.pt.{i:012x}.tmp" for i in range(3)]
    for p in stale:
        p.write_bytes(b"half a checkpoint")
    other = tmp_path / ".other.pt.0123456789ab.tmp"  # another target's: not ours to remove
    other.write_bytes(b"x")
    S.save({"a": 1}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.pt.0123456789ab.tmp", "ckpt.pt"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX file locks")
def test_a_live_writers_temporary_is_left_alone(tmp_path):
    import fcntl

    path = tmp_path / "ckpt.pt"
    live = tmp_path / ".ckpt.pt.00000000abcd.tmp"
    fd = os.open(live, os.O_WRONLY | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a writer in the middle of a save holds
    try:
        S.save({"a": 1}, path)
        assert live.exists()
    finally:
        os.close(fd)
    S.save({"a": 2}, path)  # its writer is gone now
    assert not live.exists() and S.load(path) == {"a": 2}


_SAVER = """
import sys, numpy as np, tapegrad
path = sys.argv[1]
big = {"w": tapegrad.from_numpy(np.ones(4 << 20, np.float32)), "step": 0}
print("ready", flush=True)
while True:
    big["step"] += 1
    tapegrad.save(big, path)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_saves_killed_with_sigkill_leave_no_litter(tmp_path):
    path = tmp_path / "ckpt.pt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = np.random.default_rng(0)
    kills = 6
    for _ in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE, env=env
        )
        try:
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(float(rng.uniform(0.05, 0.4)))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
    leftovers_before = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    S.save({"final": True}, path)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "ckpt.pt"]
    print(f"{kills} kills: {len(leftovers_before)} temporaries before the next save, "
          f"{len(leftovers)} after")  # fmt: skip
    assert leftovers == []
    assert S.load(path) == {"final": True}


# ---------------------------------------------------------------------------------------
# DataLoader workers never block exit


_STUCK = """
import time
from tapegrad.utils.data import DataLoader, Dataset

class Stuck(Dataset):
    def __len__(self):
        return 4
    def __getitem__(self, i):
        time.sleep(3600)  # a worker stuck in user code

try:
    for batch in DataLoader(Stuck(), batch_size=1, num_workers=2, timeout=0.5):
        pass
except RuntimeError as e:
    print(e, flush=True)
"""


_ABANDONED = """
import time
from tapegrad.utils.data import DataLoader, Dataset

class Stuck(Dataset):
    def __len__(self):
        return 4
    def __getitem__(self, i):
        time.sleep(3600)

it = iter(DataLoader(Stuck(), batch_size=1, num_workers=2))  # left mid-epoch
print("leaving", flush=True)
"""


@pytest.mark.parametrize("script", [_STUCK, _ABANDONED], ids=["timeout", "abandoned"])
def test_a_stuck_worker_does_not_keep_the_process_alive(script):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "DataLoader timed out after 0.5 seconds" in out.stdout or "leaving" in out.stdout


# ---------------------------------------------------------------------------------------
# Datasets


def _idx(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


@pytest.fixture
def isolated(tmp_path_factory, monkeypatch):
    monkeypatch.delenv(_utils.DATA_ENV, raising=False)
    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", (str(tmp_path_factory.mktemp("system")),))


def test_mnist_labels_out_of_range_are_refused_naming_the_file(tmp_path, isolated):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 5), ("t10k", 3)):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(np.zeros((n, 28, 28))))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(np.array([1, 200, 3, 4, 5][:n])))
    with pytest.raises(RuntimeError, match=r"train-labels-idx1-ubyte holds label 200.*\[0, 10\)"):
        MNIST(tmp_path, train=True)


def _hostile_cifar(root: Path) -> None:
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    good = {"data": np.zeros((2, 3072), np.uint8), "labels": [1, 2]}
    for batch in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        (base / batch).write_bytes(pickle.dumps(good, protocol=2))
    names = [str(i) for i in range(10)]
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))
    (base / "test_batch").write_bytes(PROTO + HOSTILE_PICKLES["os.system"] + b".")


class _Zeros:
    """A file object of ``n`` zero bytes, read in chunks (nothing held in memory)."""

    def __init__(self, n):
        self.left = n

    def read(self, size=-1):
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


def test_a_cifar_tar_gz_bomb_is_refused_before_reading(tmp_path, isolated):
    import tarfile

    archive = tmp_path / "cifar-10-python.tar.gz"
    info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
    info.size = 100 << 20
    with tarfile.open(archive, "w:gz") as tf:
        tf.addfile(info, _Zeros(info.size))
    assert archive.stat().st_size < 1 << 20
    with peak_memory() as peak:
        with pytest.raises(RuntimeError, match="cifar-10-python.tar.gz.*bomb"):
            CIFAR10(tmp_path)
    # tarfile inflates one 32 kB read at a time (about 32 MB of zeros at most), not 100 MB.
    assert peak.bytes < 48 << 20


def test_the_cli_reports_a_hostile_cifar_file_in_one_line(tmp_path, isolated, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TAPEGRAD_DEBUG", raising=False)
    _hostile_cifar(tmp_path / "data")
    argv = ["train", "--model", "lenet5", "--dataset", "cifar10", "--epochs", "1"]
    code = cli.main([*argv, "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    # the CLI first says which dataset folder it uses; the error is then one line
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("cifar10 training set:")]
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("tapegrad train: ")
    assert "test_batch" in lines[0] and "os.system" in lines[0] and "Traceback" not in err
    assert not (tmp_path / "MARKER").exists()


def test_ctrl_c_hint_says_resume_only_when_a_checkpoint_exists(tmp_path):
    ckpt = tmp_path / "run.pt"
    no_ckpt = argparse.Namespace(command="train", checkpoint=None, resume=None)
    assert cli._resume_hint(no_ckpt) == ""
    args = argparse.Namespace(command="train", checkpoint=str(ckpt), resume=None)
    hint = cli._resume_hint(args)
    assert "--resume" not in hint and "no checkpoint was written" in hint
    S.save({"epoch": 1}, ckpt)
    assert cli._resume_hint(args) == f"; continue with the same command and --resume {ckpt}"


# ---------------------------------------------------------------------------------------
# Huge sizes: PyTorch's RuntimeError, not NumPy's MemoryError / ValueError


HUGE = [
    ("empty", lambda lib: lib.empty(10**12)),
    ("zeros", lambda lib: lib.zeros(10**6, 10**6)),
    ("ones", lambda lib: lib.ones(10**12, dtype=lib.float64)),
    ("full", lambda lib: lib.full((10**12,), 1.0)),
    ("linear", lambda lib: lib.nn.Linear(10**6, 10**6)),
    ("rand", lambda lib: lib.rand(10**12)),
    ("randn", lambda lib: lib.randn(10**6, 10**6)),
    ("randint", lambda lib: lib.randint(0, 9, (10**12,))),
    ("eye", lambda lib: lib.eye(10**7)),
    ("arange", lambda lib: lib.arange(10**13)),
    ("overflow", lambda lib: lib.zeros(2**62, 2**62)),
]


@pytest.mark.parametrize("name, make", HUGE, ids=[h[0] for h in HUGE])
def test_huge_sizes_raise_pytorchs_runtime_error(name, make):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as expected:
        make(torch)
    with pytest.raises(RuntimeError) as got:
        make(tg)
    assert str(got.value) == str(expected.value).replace(":128]", ":127]").replace(
        ":129]", ":127]"
    )  # fmt: skip


def test_empty_sizes_with_huge_dimensions():
    assert tuple(tg.zeros(2**20, 2**20, 0).shape) == (2**20, 2**20, 0)
    # PyTorch gives an empty tensor here; NumPy cannot hold one, so tapegrad says so.
    with pytest.raises(RuntimeError, match="NumPy"):
        tg.zeros(2**31, 2**31, 0)
