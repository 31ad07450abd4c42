"""Dataset readers: MNIST-family IDX files and CIFAR pickles (mirror torchvision.datasets)."""

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import tracemalloc
import urllib.error

import numpy as np
import pytest

from tapegrad.datasets import CIFAR10, CIFAR100, KMNIST, MNIST, FashionMNIST, _utils
from tapegrad.datasets.mnist import read_image_file, read_label_file

DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"


def core():
    """tapegrad with its Tensor, or skip (the NumPy-level tests run without it)."""
    import tapegrad

    if not all(hasattr(tapegrad, name) for name in ("Tensor", "tensor", "from_numpy")):
        pytest.skip("tapegrad's Tensor core is not available")
    return tapegrad


@pytest.fixture(autouse=True)
def isolated_search_path(tmp_path_factory, monkeypatch):
    """No $TAPEGRAD_DATA and an empty system dataset folder, unless a test sets them."""
    monkeypatch.delenv(_utils.DATA_ENV, raising=False)
    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", (str(tmp_path_factory.mktemp("system")),))


# ---------------------------------------------------------------------------------------
# IDX files


def idx_bytes(arr, code=None, dims=None):
    arr = np.asarray(arr)
    codes = {
        np.uint8: 0x08,
        np.int8: 0x09,
        np.int16: 0x0B,
        np.int32: 0x0C,
        np.float32: 0x0D,
        np.float64: 0x0E,
    }
    code = codes[arr.dtype.type] if code is None else code
    dims = arr.shape if dims is None else dims
    header = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def make_images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def make_labels(n, seed=0):
    return np.random.default_rng(seed + 1).integers(0, 10, n, dtype=np.uint8)


def write_mnist(folder, n_train=7, n_test=3, gz=False):
    """The four IDX files in ``folder``; returns the arrays written."""
    arrays = {}
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 10)):
        images, labels = make_images(n, seed), make_labels(n, seed)
        write(folder / f"{prefix}-images-idx3-ubyte", idx_bytes(images), gz)
        write(folder / f"{prefix}-labels-idx1-ubyte", idx_bytes(labels), gz)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_images_and_labels(tmp_path, gz):
    images, labels = make_images(5), make_labels(5)
    img_path = write(tmp_path / "imgs-idx3-ubyte", idx_bytes(images), gz)
    lbl_path = write(tmp_path / "lbls-idx1-ubyte", idx_bytes(labels), gz)
    got = read_image_file(img_path)
    assert got.dtype == np.uint8 and got.shape == (5, 28, 28)
    np.testing.assert_array_equal(got, images)
    got_labels = read_label_file(lbl_path)
    assert got_labels.dtype == np.int64
    np.testing.assert_array_equal(got_labels, labels)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_other_element_types_are_big_endian(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    got = _utils.read_idx(write(tmp_path / "x-idx3", idx_bytes(arr)))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


def test_read_idx_empty_dataset(tmp_path):
    got = read_image_file(write(tmp_path / "e", idx_bytes(np.zeros((0, 28, 28), np.uint8))))
    assert got.shape == (0, 28, 28)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (b"\x12\x34\x08\x03" + b"\x00" * 12, "magic number"),  # first two bytes must be zero
        (b"\x00\x00\x42\x03" + b"\x00" * 12, "magic number"),  # unknown type code
        (idx_bytes(np.zeros((2, 2, 2), np.int16)), "int16"),  # not uint8
        (idx_bytes(np.zeros(4, np.uint8)), "1-d"),  # a label file given as images
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated"),  # header cut short
        (idx_bytes(make_images(3))[:-1], "holds only"),  # payload one byte short
        (idx_bytes(make_images(3)) + b"junk", "more data"),  # trailing bytes
    ],
)
def test_read_idx_rejects_corrupt_files(tmp_path, gz, content, message):
    path = write(tmp_path / "bad-idx3-ubyte", content, gz)
    with pytest.raises(RuntimeError, match=message) as info:
        read_image_file(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("gz", [False, True])
def test_huge_declared_size_with_short_payload_does_not_allocate(tmp_path, gz):
    forged = idx_bytes(np.zeros((1, 1, 1), np.uint8), dims=(60000, 2**31, 2**31))
    path = write(tmp_path / "forged-idx3-ubyte", forged, gz)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="declares shape"):
            read_image_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 << 20


def test_plausible_declared_size_in_a_gzip_reads_only_what_is_there(tmp_path):
    # 60000 images declared, 64 present: the gzip could hold that much, so reading starts,
    # but buffers only grow with the data actually decompressed.
    forged = idx_bytes(make_images(64), dims=(60000, 28, 28))
    path = write(tmp_path / "short-idx3-ubyte", forged, gz=True)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="holds only"):
            read_image_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 << 20  # the full 47 MB was never allocated


def test_truncated_gzip_stream(tmp_path):
    data = gzip.compress(idx_bytes(make_images(50)))
    path = tmp_path / "cut-idx3-ubyte.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="cut-idx3-ubyte.gz"):
        read_image_file(path)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(RuntimeError, match="corrupt"):
        read_image_file(path)


# ---------------------------------------------------------------------------------------
# MNIST, FashionMNIST, KMNIST


@pytest.mark.parametrize("layout", ["MNIST/raw", "MNIST", "mnist", ""])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_layouts_and_items(tmp_path, layout, gz):
    tg = core()
    arrays = write_mnist(tmp_path / layout, gz=gz)
    for train, prefix in ((True, "train"), (False, "t10k")):
        images, labels = arrays[prefix]
        ds = MNIST(tmp_path, train=train)
        assert len(ds) == len(images)
        assert isinstance(ds.data, tg.Tensor) and ds.data.dtype == tg.uint8
        assert tuple(ds.data.shape) == images.shape
        np.testing.assert_array_equal(ds.data.numpy(), images)
        assert isinstance(ds.targets, tg.Tensor) and ds.targets.dtype == tg.int64
        np.testing.assert_array_equal(ds.targets.numpy(), labels)
        img, target = ds[2]
        assert isinstance(img, tg.Tensor) and img.dtype == tg.uint8
        assert tuple(img.shape) == (28, 28)
        np.testing.assert_array_equal(img.numpy(), images[2])
        assert type(target) is int and target == labels[2]
        assert ds[-1][1] == labels[-1]


def test_mnist_transforms_receive_the_uint8_image_and_int_target(tmp_path):
    tg = core()
    arrays = write_mnist(tmp_path / "MNIST" / "raw")
    seen = []

    def transform(img):
        seen.append(img)
        img.numpy()[:] = 0  # must not change the dataset
        return "transformed"

    ds = MNIST(tmp_path, transform=transform, target_transform=lambda t: t + 100)
    assert ds[1] == ("transformed", int(arrays["train"][1][1]) + 100)
    assert isinstance(seen[0], tg.Tensor) and seen[0].dtype == tg.uint8
    np.testing.assert_array_equal(ds.data.numpy()[1], arrays["train"][0][1])


def test_mnist_metadata_and_subsetting(tmp_path):
    core()
    write_mnist(tmp_path / "MNIST" / "raw")
    ds = MNIST(tmp_path, train=False)
    assert ds.classes[3] == "3 - three" and ds.class_to_idx["9 - nine"] == 9
    assert "Number of datapoints: 3" in repr(ds) and "Split: Test" in repr(ds)
    ds.data, ds.targets = ds.data[:2], ds.targets[:2]  # the usual way to take a subset
    assert len(ds) == 2
    with pytest.warns(UserWarning):
        assert ds.train_data is ds.data


def test_fashion_and_kmnist_use_their_own_folders(tmp_path):
    tg = core()
    fashion = write_mnist(tmp_path / "FashionMNIST" / "raw", n_train=4)
    kmnist = write_mnist(tmp_path / "kmnist", n_train=5)
    write_mnist(tmp_path / "MNIST" / "raw", n_train=6)
    assert len(FashionMNIST(tmp_path)) == 4 and len(KMNIST(tmp_path)) == 5
    assert len(MNIST(tmp_path)) == 6
    ds = FashionMNIST(tmp_path)
    assert ds.classes[9] == "Ankle boot"
    np.testing.assert_array_equal(ds.data.numpy(), fashion["train"][0])
    assert isinstance(KMNIST(tmp_path).data, tg.Tensor)
    assert KMNIST(tmp_path).targets.numpy().tolist() == kmnist["train"][1].tolist()


def test_search_order_root_then_env_then_system(tmp_path, monkeypatch):
    core()
    root, env, system = tmp_path / "root", tmp_path / "env", tmp_path / "sys"
    write_mnist(system / "fashion-mnist", n_train=3)
    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", (str(system),))
    assert len(FashionMNIST(root)) == 3
    write_mnist(env / "FashionMNIST" / "raw", n_train=4)
    monkeypatch.setenv(_utils.DATA_ENV, str(env))
    assert len(FashionMNIST(root)) == 4
    write_mnist(root / "fashion-mnist", n_train=5)
    assert len(FashionMNIST(root)) == 5
    write_mnist(root / "FashionMNIST" / "raw", n_train=6, gz=True)
    assert len(FashionMNIST(root)) == 6


def test_missing_files_list_every_folder_searched(tmp_path, monkeypatch):
    env = tmp_path / "env"
    monkeypatch.setenv(_utils.DATA_ENV, str(env))
    with pytest.raises(RuntimeError) as info:
        FashionMNIST(tmp_path / "root")
    msg = str(info.value)
    assert "Dataset not found. You can use download=True to download it" in msg
    for folder in [
        tmp_path / "root" / "FashionMNIST" / "raw",
        tmp_path / "root" / "FashionMNIST",
        tmp_path / "root" / "fashion-mnist",
        tmp_path / "root",
        env / "FashionMNIST" / "raw",
        env / "fashion-mnist",
        env,
    ]:
        assert f"  {folder}\n" in msg
    assert os.path.join(_utils.SYSTEM_DATA_DIRS[0], "fashion-mnist") in msg
    assert "train-images-idx3-ubyte[.gz]" in msg
    assert "apt-get install -y dataset-fashion-mnist" in msg
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte"):
        MNIST(tmp_path, train=False)


def test_images_and_labels_must_agree(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    write(folder / "train-images-idx3-ubyte", idx_bytes(make_images(4)))
    write(folder / "train-labels-idx1-ubyte", idx_bytes(make_labels(5)))
    with pytest.raises(RuntimeError, match="4 images but .* 5 labels"):
        MNIST(tmp_path)


def test_corrupt_file_found_by_the_dataset(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    write_mnist(folder)
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(make_images(7))[:-10])
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte"):
        MNIST(tmp_path)


# ---------------------------------------------------------------------------------------
# Downloads (never over the network: file:// mirrors or a replaced opener)


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local file:// mirror of MNIST holding gzip files; MNIST's resources point at it."""
    folder = tmp_path / "mirror"
    arrays = write_mnist(folder, gz=True)
    resources = [(p.name, md5(p.read_bytes())) for p in sorted(folder.iterdir())]
    monkeypatch.setattr(MNIST, "mirrors", ["file:///nonexistent/", folder.as_uri() + "/"])
    monkeypatch.setattr(MNIST, "resources", resources)
    return arrays


def test_download_from_a_mirror(tmp_path, mirror):
    core()
    root = tmp_path / "data"
    ds = MNIST(root, download=True)
    np.testing.assert_array_equal(ds.data.numpy(), mirror["train"][0])
    raw = root / "MNIST" / "raw"
    names = sorted(p.name for p in raw.iterdir())
    assert names == sorted(
        [
            f"{p}-{k}" + ext
            for p in ("t10k", "train")
            for k in ("images-idx3-ubyte", "labels-idx1-ubyte")
            for ext in ("", ".gz")
        ]
    )
    MNIST(root, train=False, download=True)  # already there: no second download


def test_download_checksum_mismatch_leaves_nothing(tmp_path, mirror, monkeypatch):
    monkeypatch.setattr(MNIST, "resources", [(n, "0" * 32) for n, _ in MNIST.resources])
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        MNIST(tmp_path / "data", download=True)
    assert not (tmp_path / "data").exists()  # not even the folders made for the download


def test_download_without_network_is_a_clear_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(_utils, "urlopen", offline)
    with pytest.raises(RuntimeError, match="Could not download .* network") as info:
        FashionMNIST(tmp_path, download=True)
    assert "fashion-mnist.s3-website" in str(info.value)
    assert "apt-get install -y dataset-fashion-mnist" in str(info.value)
    # where the files were looked for, and where to put them by hand
    assert f"not found in:\n  {tmp_path / 'FashionMNIST' / 'raw'}" in str(info.value)
    assert f"into {tmp_path / 'FashionMNIST' / 'raw'}" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no empty FashionMNIST/raw left behind
    with pytest.raises(RuntimeError, match="Could not download") as info:
        CIFAR10(tmp_path, download=True)
    assert f"not found in:\n  {tmp_path}" in str(info.value)


def test_download_reads_in_chunks_and_verifies(tmp_path, monkeypatch):
    payload = os.urandom(3 << 20)

    def fake_urlopen(request, timeout):
        assert request.full_url == "https://example.invalid/f.bin" and timeout > 0
        return io.BytesIO(payload)

    monkeypatch.setattr(_utils, "urlopen", fake_urlopen)
    dest = _utils.download_url("https://example.invalid/f.bin", tmp_path, "f.bin", md5(payload))
    assert dest.read_bytes() == payload
    assert os.listdir(tmp_path) == ["f.bin"]


# ---------------------------------------------------------------------------------------
# CIFAR


def cifar_batch(n, seed, labels_key="labels", num_classes=10, bytes_keys=False):
    rng = np.random.default_rng(seed)
    batch = {
        "batch_label": "training batch",
        "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        labels_key: [int(v) for v in rng.integers(0, num_classes, n)],
        "filenames": [f"img_{i}.png" for i in range(n)],
    }
    if labels_key == "fine_labels":
        batch["coarse_labels"] = [v // 5 for v in batch["fine_labels"]]
    if bytes_keys:
        batch = {k.encode(): v for k, v in batch.items()}
    return batch


CIFAR10_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def write_cifar10(folder, n=3, protocol=2, bytes_keys=False):
    base = folder / "cifar-10-batches-py"
    base.mkdir(parents=True)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        batches[name] = cifar_batch(n + i, seed=i, bytes_keys=bytes_keys)
        (base / name).write_bytes(pickle.dumps(batches[name], protocol=protocol))
    meta = {"label_names": CIFAR10_NAMES, "num_cases_per_batch": n, "num_vis": 3072}
    (base / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    return batches


def tar_gz(folder, name, out):
    with tarfile.open(out, "w:gz") as tf:
        tf.add(folder / name, arcname=name)
    return out


def expected_images(batches, names):
    data = np.concatenate(
        [b["data"] if "data" in b else b[b"data"] for b in (batches[n] for n in names)]
    )
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


TRAIN = [f"data_batch_{k}" for k in range(1, 6)]


@pytest.mark.parametrize("protocol, bytes_keys", [(2, False), (4, True), (5, False)])
def test_cifar10_from_the_extracted_folder(tmp_path, protocol, bytes_keys):
    batches = write_cifar10(tmp_path, protocol=protocol, bytes_keys=bytes_keys)
    ds = CIFAR10(tmp_path, train=True)
    images = expected_images(batches, TRAIN)
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8
    assert ds.data.shape == (len(images), 32, 32, 3) and ds.data.flags.c_contiguous
    np.testing.assert_array_equal(ds.data, images)
    key = b"labels" if bytes_keys else "labels"
    assert ds.targets == sum((batches[n][key] for n in TRAIN), [])
    assert all(type(t) is int for t in ds.targets)
    assert len(ds) == len(images) and ds.classes == CIFAR10_NAMES
    assert ds.class_to_idx["truck"] == 9
    test = CIFAR10(tmp_path, train=False)
    assert len(test) == 8 and test.train_data is test.data
    # pixel (y, x) channel c of an image is byte c*1024 + y*32 + x of its row
    row = (batches["test_batch"][b"data" if bytes_keys else "data"])[1]
    assert test.data[1, 5, 7, 2] == row[2 * 1024 + 5 * 32 + 7]


def test_cifar_items_and_transforms(tmp_path):
    tg = core()
    batches = write_cifar10(tmp_path)
    ds = CIFAR10(tmp_path, train=False, transform=lambda img: img, target_transform=str)
    img, target = ds[0]
    # A channels-first tensor image, as torchvision.io.read_image gives (``.data`` stays HWC).
    assert isinstance(img, tg.Tensor) and img.dtype == tg.uint8 and tuple(img.shape) == (3, 32, 32)
    expected = expected_images(batches, ["test_batch"])[0]
    np.testing.assert_array_equal(img.numpy(), expected.transpose(2, 0, 1))
    assert target == str(batches["test_batch"]["labels"][0])
    img.numpy()[:] = 0
    assert ds.data[0].any()  # items are copies


def test_cifar10_straight_from_the_tar_gz(tmp_path):
    src = tmp_path / "src"
    batches = write_cifar10(src)
    root = tmp_path / "root"
    root.mkdir()
    tar_gz(src, "cifar-10-batches-py", root / "cifar-10-python.tar.gz")
    ds = CIFAR10(root)
    np.testing.assert_array_equal(ds.data, expected_images(batches, TRAIN))
    assert not (root / "cifar-10-batches-py").exists()  # read in memory, nothing extracted


def test_cifar100(tmp_path):
    base = tmp_path / "CIFAR100" / "cifar-100-python"
    base.mkdir(parents=True)
    train = cifar_batch(6, 0, labels_key="fine_labels", num_classes=100)
    test = cifar_batch(4, 1, labels_key="fine_labels", num_classes=100)
    (base / "train").write_bytes(pickle.dumps(train, protocol=2))
    (base / "test").write_bytes(pickle.dumps(test, protocol=2))
    names = [f"class_{i}" for i in range(100)]
    (base / "meta").write_bytes(
        pickle.dumps({"fine_label_names": names, "coarse_label_names": names[:20]})
    )
    ds = CIFAR100(tmp_path)
    assert ds.targets == train["fine_labels"] and ds.classes == names and len(ds) == 6
    assert CIFAR100(tmp_path, train=False).targets == test["fine_labels"]


def test_cifar_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv(_utils.DATA_ENV, str(tmp_path / "env"))
    with pytest.raises(RuntimeError) as info:
        CIFAR10(tmp_path / "root")
    msg = str(info.value)
    assert "Dataset not found" in msg and "cifar-10-python.tar.gz" in msg
    for folder in [tmp_path / "root", tmp_path / "root" / "cifar10", tmp_path / "env"]:
        assert f"  {folder}\n" in msg


class _Payload:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.mkdir, (self.target,))


@pytest.mark.parametrize("evil", ["payload", "eval"])
def test_malicious_cifar_pickle_is_refused(tmp_path, evil):
    write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    batch = cifar_batch(3, 0)
    batch["filenames"] = _Payload(marker) if evil == "payload" else None
    data = pickle.dumps(batch, protocol=2)
    if evil == "eval":
        data = b"\x80\x02cbuiltins\neval\nX\x0b\x00\x00\x00print('hi')\x85R."
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(data)
    with pytest.raises(pickle.UnpicklingError, match="mkdir" if evil == "payload" else "eval"):
        CIFAR10(tmp_path)
    assert not marker.exists()


def test_numpy_reconstruction_cannot_allocate_at_will(tmp_path):
    # _reconstruct(ndarray, (huge,), 'b') would allocate before __setstate__ checks sizes.
    write_cifar10(tmp_path)
    forged = (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        b"\x8a\x06\x00\x00\x00\x00\x00\x01\x85U\x01b\x87R."
    )
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(forged)
    with pytest.raises(RuntimeError, match="data_batch_1"):
        CIFAR10(tmp_path)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b.update(data=b["data"][:, :100]), "N×3072 uint8"),
        (lambda b: b.update(data=b["data"].astype(np.float32)), "N×3072 uint8"),
        (lambda b: b.update(labels=b["labels"][:-1]), "labels"),
        (lambda b: b.update(labels=[10] * len(b["labels"])), r"\[0, 10\)"),
        (lambda b: b.pop("labels"), "labels"),
        (lambda b: b.update(data=[1, 2, 3]), "N×3072 uint8"),
    ],
)
def test_cifar_shapes_are_validated(tmp_path, mutate, message):
    write_cifar10(tmp_path)
    batch = cifar_batch(3, 0)
    mutate(batch)
    (tmp_path / "cifar-10-batches-py" / "data_batch_2").write_bytes(pickle.dumps(batch))
    with pytest.raises(RuntimeError, match=message):
        CIFAR10(tmp_path)


def test_cifar_truncated_files(tmp_path):
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_4"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(RuntimeError, match="data_batch_4"):
        CIFAR10(tmp_path)
    root = tmp_path / "tar"
    root.mkdir()
    archive = tar_gz(tmp_path, "cifar-10-batches-py", root / "cifar-10-python.tar.gz")
    archive.write_bytes(archive.read_bytes()[:-3000])
    with pytest.raises(RuntimeError, match="cifar-10-python.tar.gz"):
        CIFAR10(root, train=False)


@pytest.mark.parametrize("member", ["../evil.txt", "/tmp/abs.txt", "ok/../../up.txt", "link"])
def test_safe_extract_refuses_escaping_members(tmp_path, member):
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("fine/file.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"ok"))
        info = tarfile.TarInfo(member)
        if member == "link":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        else:
            info.size = 4
        tf.addfile(info, io.BytesIO(b"evil") if member != "link" else None)
    dest = tmp_path / "out"
    with pytest.raises(RuntimeError, match="refusing to extract"):
        _utils.safe_extract_tar(archive, dest)
    assert not (tmp_path / "evil.txt").exists() and not (dest / "fine").exists()
    assert list(dest.iterdir()) == []


def test_cifar_download_from_a_local_url(tmp_path, monkeypatch):
    src = tmp_path / "src"
    batches = write_cifar10(src)
    served = tar_gz(src, "cifar-10-batches-py", tmp_path / "cifar-10-python.tar.gz")
    monkeypatch.setattr(CIFAR10, "url", served.as_uri())
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(served.read_bytes()))
    root = tmp_path / "data"
    ds = CIFAR10(root, download=True)
    assert (root / "cifar-10-python.tar.gz").is_file()
    assert (root / "cifar-10-batches-py" / "data_batch_5").is_file()
    np.testing.assert_array_equal(ds.data, expected_images(batches, TRAIN))
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------------------------------
# The real Fashion-MNIST installed by Debian's dataset-fashion-mnist


@pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_files():
    images = read_image_file(os.path.join(DEBIAN_FASHION, "t10k-images-idx3-ubyte.gz"))
    labels = read_label_file(os.path.join(DEBIAN_FASHION, "t10k-labels-idx1-ubyte.gz"))
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [1000] * 10


@pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_dataset(tmp_path, monkeypatch):
    tg = core()
    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", ("/usr/share/datasets",))
    train, test = FashionMNIST(tmp_path, train=True), FashionMNIST(tmp_path, train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert tuple(train.data.shape) == (60000, 28, 28) and train.data.dtype == tg.uint8
    targets = train.targets.numpy()
    assert targets.min() == 0 and targets.max() == 9
    assert np.bincount(targets).tolist() == [6000] * 10
    img, label = test[0]
    assert tuple(img.shape) == (28, 28) and label == 9  # the first test image is a boot


# ---------------------------------------------------------------------------------------
# The DataLoader's whole-batch path gives what per-item reading and default_collate give


def _per_item_batch(ds, idx):
    from tapegrad.utils.data import default_collate

    return default_collate([ds[i] for i in idx])


def _same_batch(fast, slow):
    assert len(fast) == len(slow) == 2
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_mnist_batch_path_matches_items(tmp_path):
    core()
    from tapegrad import transforms as T

    write_mnist(tmp_path / "MNIST" / "raw", n_train=9)
    idx = [4, 0, 8, 4, -1]
    for transform in (
        None,
        T.ToTensor(),
        T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]),
        T.Compose([T.CenterCrop(20), T.PILToTensor()]),
    ):
        ds = MNIST(tmp_path, transform=transform)
        fast = ds._batch_reader()(idx)
        assert fast is not None
        _same_batch(fast, _per_item_batch(ds, idx))


def test_batch_path_is_refused_when_it_could_differ(tmp_path):
    core()
    from tapegrad import transforms as T

    write_mnist(tmp_path / "MNIST" / "raw")
    assert MNIST(tmp_path, transform=T.RandomHorizontalFlip())._batch_reader() is None
    assert MNIST(tmp_path, transform=lambda x: x)._batch_reader() is None
    assert MNIST(tmp_path, target_transform=int)._batch_reader() is None

    class Mine(MNIST):
        folder_names = (os.path.join("MNIST", "raw"),)

        def __getitem__(self, index):
            return super().__getitem__(index)[0], 0

    assert Mine(tmp_path)._batch_reader() is None


def test_cifar_batch_path_matches_items(tmp_path):
    core()
    from tapegrad import transforms as T

    write_cifar10(tmp_path)
    transform = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.3))])
    for tf in (None, transform):
        ds = CIFAR10(tmp_path, train=False, transform=tf)
        idx = [2, 0, 1]
        _same_batch(ds._batch_reader()(idx), _per_item_batch(ds, idx))
        ds.targets[2] = 9  # seen by the next epoch's reader
        assert ds._batch_reader()([0, 2])[1].tolist() == [ds.targets[0], 9]


@pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_through_a_dataloader(tmp_path, monkeypatch):
    tg = core()
    from tapegrad import transforms as T
    from tapegrad.utils.data import DataLoader

    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", ("/usr/share/datasets",))
    transform = T.Compose([T.ToTensor(), T.Normalize((0.2860,), (0.3530,))])
    test = FashionMNIST(tmp_path, train=False, transform=transform)
    x, y = next(iter(DataLoader(test, batch_size=256)))
    assert tuple(x.shape) == (256, 1, 28, 28) and x.dtype == tg.float32 and y.dtype == tg.int64
    assert y[0].item() == 9
    raw = test.data.numpy()[:256].astype(np.float32) / np.float32(255)
    np.testing.assert_allclose(x.numpy()[:, 0], (raw - 0.2860) / 0.3530, rtol=1e-6, atol=1e-6)
    assert sum(len(b) for _, b in DataLoader(test, batch_size=1000, num_workers=2)) == 10000
