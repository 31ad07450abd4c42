"""CIFAR-10 and CIFAR-100 (mirror ``torchvision.datasets.CIFAR10`` and ``CIFAR100``).

The data are the "python version" batches: pickled dicts with a ``data`` array of
N×3072 bytes (1024 red, 1024 green, 1024 blue values per image, row by row) and a list of
labels, in ``cifar-10-batches-py/`` (``data_batch_1``..``5``, ``test_batch``,
``batches.meta``) or ``cifar-100-python/`` (``train``, ``test``, ``meta``). They are read
from the extracted folder or straight from the downloaded ``.tar.gz``, always with a
restricted unpickler that can build nothing but containers, strings, numbers and NumPy
arrays.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import _utils


class CIFAR10(_utils.VisionDataset):
    """CIFAR-10: 32×32 colour images in 10 classes, 50,000 for training and 10,000 for
    test (mirrors ``torchvision.datasets.CIFAR10``).

    ``dataset[i]`` is ``(img, target)``: ``img`` is the raw image, a ``uint8`` tensor image
    of shape (3, 32, 32) (RGB, height, width, the layout of ``torchvision.io.read_image``),
    and ``target`` an ``int``. torchvision gives a PIL image instead; tapegrad has no PIL,
    so ``transform`` receives that tensor (``tapegrad.transforms`` work on it:
    ``RandomCrop``, ``RandomHorizontalFlip``, then ``ToTensor`` gives floats in [0, 1] of
    shape (3, 32, 32)). As in torchvision, ``.data`` is the NumPy ``uint8`` array of all
    images (N, 32, 32, 3), height, width, channel, and ``.targets`` a list of ints
    (``train_data``/``test_data`` are older names for ``.data``).

    The batches are looked for, extracted or as the ``.tar.gz``, in ``root`` (torchvision's
    layout: ``root/cifar-10-batches-py``), ``root/CIFAR10``, ``root/cifar10``, the same
    folders under ``$TAPEGRAD_DATA``, and ``/usr/share/datasets/cifar10``.
    ``download=True`` fetches the archive from the URL torchvision uses into ``root``,
    checks its MD5 sum and extracts it there.

    Example:

        >>> train = CIFAR10("data", train=True, download=True)
        >>> img, label = train[0]      # uint8 tensor (3, 32, 32), int

    Args:
        root: The folder holding the dataset (or where ``download`` puts it).
        train: The training split (else the test split).
        transform: Applied to each image.
        target_transform: Applied to each label.
        download: Download the files into ``root`` when they are not found.
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {
        "filename": "batches.meta",
        "key": "label_names",
        "md5": "5ff9c542aee3614f3951f8cda6e48888",
    }
    num_classes = 10
    folder_names = ("cifar10",)

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        source = self._find_source()
        if source is None:
            raise _utils.not_found_error(
                type(self).__name__,
                f"{self.base_folder}/ (with {', '.join(self._needed_files())}) or {self.filename}",
                self._search_dirs(),
                f"Get them with {type(self).__name__}(root, download=True) (into {self.root}), "
                f"or set ${_utils.DATA_ENV} to a folder that has them.",
            )
        self.data, self.targets, self.classes = self._load(*source)
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    # -- where the files are ---------------------------------------------------------

    def _needed_files(self) -> list[str]:
        batches = self.train_list if self.train else self.test_list
        return [name for name, _md5 in batches] + [self.meta["filename"]]

    def _search_dirs(self) -> list[Path]:
        name = type(self).__name__
        return _utils.search_dirs(self.root, ["", name, *self.folder_names], self.folder_names)

    def _find_source(self) -> tuple[str, Path] | None:
        """``("folder", dir)`` for extracted batches, ``("tar", archive)`` for the archive."""
        for folder in self._search_dirs():
            extracted = folder / self.base_folder
            if all((extracted / name).is_file() for name in self._needed_files()):
                return "folder", extracted
            if (folder / self.filename).is_file():
                return "tar", folder / self.filename
        return None

    def _find_folder(self) -> Path | None:
        """The extracted batches' folder or the archive this split is read from."""
        source = self._find_source()
        return None if source is None else source[1]

    def _missing_in(self, folder: Path) -> list[str]:
        """What ``folder`` lacks for this split: nothing if it holds the archive, else the
        batches missing from ``folder/<base_folder>``."""
        if (folder / self.filename).is_file():
            return []
        return [
            f"{self.base_folder}/{name}"
            for name in self._needed_files()
            if not (folder / self.base_folder / name).is_file()
        ]

    def _check_integrity(self) -> bool:
        """Whether the data can be found (torchvision's name; it also checks MD5 sums)."""
        return self._find_source() is not None

    # -- reading ---------------------------------------------------------------------

    def _load(self, kind: str, path: Path) -> tuple[np.ndarray, list[int], list[str]]:
        names = self._needed_files()
        if kind == "folder":
            files = {name: ((path / name).read_bytes(), str(path / name)) for name in names}
        else:
            files = self._read_from_tar(path, names)
        batches = self.train_list if self.train else self.test_list
        images, targets = [], []
        for name, _md5 in batches:
            data, labels = self._parse_batch(*files.pop(name))
            images.append(data)
            targets.extend(labels)
        # Planar RGB rows -> (N, 32, 32, 3) HWC, as torchvision's .data (made contiguous).
        data = np.concatenate(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        classes = self._parse_meta(*files.pop(self.meta["filename"]))
        return np.ascontiguousarray(data), targets, classes

    def _read_from_tar(self, archive: Path, names: list[str]) -> dict[str, tuple[bytes, str]]:
        # One sequential pass ("r|gz"): random access into a .tar.gz decompresses it again
        # for every member. Only the expected names are read, so nothing is written to disk.
        wanted = {f"{self.base_folder}/{name}": name for name in names}
        files: dict[str, tuple[bytes, str]] = {}
        # Photos barely compress: what the members may inflate to, all together, is bounded
        # by the archive's size, so a small gzip bomb is refused before it is read.
        budget = 2 * os.path.getsize(archive) + (64 << 20)
        try:
            with tarfile.open(archive, "r|gz") as tf:
                for member in tf:
                    name = wanted.get(member.name)
                    if name is None or name in files:
                        continue
                    if not member.isfile():
                        raise RuntimeError(f"{archive}: {member.name} is not a regular file")
                    budget -= member.size
                    if budget < 0:
                        raise RuntimeError(
                            f"{archive}: {member.name} declares {member.size} bytes, far more "
                            "than the archive can hold (a decompression bomb?)"
                        )
                    files[name] = (tf.extractfile(member).read(), f"{archive}:{member.name}")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raise RuntimeError(f"{archive} is truncated or corrupt: {e}") from e
        missing = [f"{self.base_folder}/{name}" for name in names if name not in files]
        if missing:
            raise RuntimeError(f"{archive} does not contain {', '.join(missing)}")
        return files

    def _parse_batch(self, raw: bytes, what: str) -> tuple[np.ndarray, list[int]]:
        entry = _read_dict(raw, what)
        data = entry.get("data")
        if (
            not isinstance(data, np.ndarray)
            or data.dtype != np.uint8
            or data.ndim != 2
            or data.shape[1] != 3072
        ):
            found = f"{getattr(data, 'shape', type(data).__name__)} {getattr(data, 'dtype', '')}"
            raise RuntimeError(f"{what}: 'data' should be an N×3072 uint8 array, found {found}")
        # torchvision: entry["labels"] if "labels" in entry else entry["fine_labels"]
        labels = entry["labels"] if "labels" in entry else entry.get("fine_labels")
        if not isinstance(labels, (list, np.ndarray)) or len(labels) != len(data):
            raise RuntimeError(
                f"{what}: expected a list of {len(data)} labels ('labels' or 'fine_labels')"
            )
        arr = np.asarray(labels)
        if len(arr) and (
            arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= self.num_classes
        ):
            raise RuntimeError(
                f"{what}: the labels should be integers in "
                f"[0, {self.num_classes}), found {arr.dtype} values"
            )
        return data, [int(t) for t in arr]

    def _parse_meta(self, raw: bytes, what: str) -> list[str]:
        classes = _read_dict(raw, what).get(self.meta["key"])
        if isinstance(classes, list):
            classes = [c.decode("latin1") if isinstance(c, bytes) else c for c in classes]
        if (
            not isinstance(classes, list)
            or len(classes) != self.num_classes
            or not all(isinstance(c, str) for c in classes)
        ):
            raise RuntimeError(
                f"{what}: '{self.meta['key']}' should be a list of {self.num_classes} class names"
            )
        return classes

    def download(self) -> None:
        """Download and extract the archive into ``root`` unless the data can be found."""
        if self._check_integrity():
            return
        archive = Path(self.root) / self.filename
        if not (archive.is_file() and _utils.calculate_md5(archive) == self.tgz_md5):
            archive = _utils.download_from_mirrors(
                [self.url[: -len(self.filename)]],
                self.filename,
                self.root,
                self.tgz_md5,
                "The files were not found in:\n"
                + "\n".join(f"  {d}" for d in self._search_dirs())
                + f"\nTo get them without this download, fetch {self.url} into {self.root}"
                f" (extracted or not), or set ${_utils.DATA_ENV} to a folder that has them.",
            )
        _utils.safe_extract_tar(archive, self.root)

    # -- the dataset -----------------------------------------------------------------

    def __getitem__(self, index: int):
        # A (contiguous) copy, so that a transform writing into the image cannot change
        # the dataset; channels first, as tensor images are.
        img = _utils.to_tensor(np.ascontiguousarray(self.data[index].transpose(2, 0, 1)))
        target = self.targets[index]
        return self._apply_transforms(img, target)

    _own_getitem = __getitem__

    def _batch_images(self) -> Callable[[np.ndarray], np.ndarray]:
        data = self.data
        return lambda idx: np.ascontiguousarray(data[idx].transpose(0, 3, 1, 2))

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"

    # Names from older torchvision releases, still used by older course code
    # (``torch.from_numpy(cifar.train_data)``).

    @property
    def train_data(self) -> np.ndarray:
        return self.data

    @property
    def test_data(self) -> np.ndarray:
        return self.data

    @property
    def train_labels(self) -> list[int]:
        return self.targets

    @property
    def test_labels(self) -> list[int]:
        return self.targets


class CIFAR100(CIFAR10):
    """CIFAR-100: 32×32 colour images in 100 classes, 50,000 for training and 10,000 for
    test (mirrors ``torchvision.datasets.CIFAR100``). Same items as ``CIFAR10``; the
    targets are the 100 fine labels, read from ``cifar-100-python/``.

    Args:
        root: The folder holding the dataset (or where ``download`` puts it).
        train: The training split (else the test split).
        transform: Applied to each image.
        target_transform: Applied to each label.
        download: Download the files into ``root`` when they are not found.
    """

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {
        "filename": "meta",
        "key": "fine_label_names",
        "md5": "7973b15100ade9c7d40fb424638fde48",
    }
    num_classes = 100
    folder_names = ("cifar100",)


def _read_dict(data: bytes, what: str) -> dict:
    """One pickled batch as a dict with ``str`` keys."""
    obj = _utils.load_pickle(data, what)
    if not isinstance(obj, dict):
        raise RuntimeError(f"{what}: expected a pickled dict, found {type(obj).__name__}")
    # Pickles written with bytes keys (or read with encoding='bytes') have b'data'.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
