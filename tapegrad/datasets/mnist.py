"""MNIST, Fashion-MNIST and Kuzushiji-MNIST (mirror ``torchvision.datasets.MNIST`` & co.).

The data are the standard IDX files (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``),
plain or gzip-compressed, read whole with ``np.frombuffer``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import _utils


class MNIST(_utils.VisionDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images of 28×28
    (mirrors ``torchvision.datasets.MNIST``).

    ``dataset[i]`` is ``(img, target)``: ``img`` is the raw image, a ``uint8`` tensor of
    shape (28, 28), and ``target`` an ``int``. torchvision gives a PIL image instead;
    tapegrad has no PIL, so ``transform`` receives that ``uint8`` tensor
    (``transforms.ToTensor`` accepts it, as it accepts a PIL image or an ``ndarray``, and
    returns floats in [0, 1] of shape (1, 28, 28)). ``.data`` is the ``uint8`` tensor of
    all images (N, 28, 28) and ``.targets`` the ``int64`` tensor of labels, both backed by
    NumPy arrays; they may be replaced (e.g. by slices) to use a subset.

    The files are looked for, in order, in ``root/MNIST/raw`` (torchvision's layout),
    ``root/MNIST``, ``root/mnist``, ``root``, the same folders under ``$TAPEGRAD_DATA``,
    and ``/usr/share/datasets/mnist``. ``download=True`` fetches them from the mirrors
    torchvision uses into ``root/MNIST/raw``, checking their MD5 sums.

    Example:

        >>> train = MNIST("data", train=True, download=True)
        >>> img, label = train[0]      # uint8 tensor (28, 28), int

    Args:
        root: The folder holding the dataset (or where ``download`` puts it).
        train: The training split (else the test split).
        transform: Applied to each image.
        target_transform: Applied to each label.
        download: Download the files into ``root`` when they are not found.
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]
    # Lowercase folder names: root/<name>, $TAPEGRAD_DATA/<name>, /usr/share/datasets/<name>.
    folder_names = ("mnist",)
    # A distribution package that installs the files, if there is one.
    apt_package: str | None = None

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
        folder = self._find_folder()
        if folder is None:
            raise self._not_found()
        images, labels = self._load_arrays(folder)
        self.data = _utils.to_tensor(images)
        self.targets = _utils.to_tensor(labels)

    # -- where the files are ---------------------------------------------------------

    @property
    def raw_folder(self) -> str:
        """``root/<ClassName>/raw``, where torchvision keeps (and we download) the files."""
        return os.path.join(self.root, type(self).__name__, "raw")

    def _split_files(self) -> tuple[str, str]:
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _search_dirs(self) -> list[Path]:
        name = type(self).__name__
        subdirs = [os.path.join(name, "raw"), name, *self.folder_names, ""]
        return _utils.search_dirs(self.root, subdirs, self.folder_names)

    @staticmethod
    def _file_in(folder: Path, base: str) -> Path | None:
        # Prefer the uncompressed file: it is what torchvision extracts and faster to read.
        for candidate in (folder / base, folder / f"{base}.gz"):
            if candidate.is_file():
                return candidate
        return None

    def _find_folder(self) -> Path | None:
        """The first searched folder that holds this split's files."""
        for folder in self._search_dirs():
            if not self._missing_in(folder):
                return folder
        return None

    def _missing_in(self, folder: Path) -> list[str]:
        """The files of this split that ``folder`` lacks (plain or ``.gz``)."""
        return [f"{base}[.gz]" for base in self._split_files() if not self._file_in(folder, base)]

    def _check_exists(self) -> bool:
        """Whether the files of this split can be found (torchvision's ``_check_exists``)."""
        return self._find_folder() is not None

    def _how_to_get(self) -> str:
        how = f"Get them with {type(self).__name__}(root, download=True) (into {self.raw_folder})"
        if self.apt_package:
            how += f", or install them system-wide: apt-get install -y {self.apt_package}"
        return how + f", or set ${_utils.DATA_ENV} to a folder that has them."

    def _download_help(self) -> str:
        folders = "\n".join(f"  {d}" for d in self._search_dirs())
        names = ", ".join(name for name, _md5 in self.resources)
        how = (
            f"The files were not found in:\n{folders}\nTo get them without this download, "
            f"fetch {names} from {self.mirrors[0]} into {self.raw_folder}"
        )
        if self.apt_package:
            how += f", or install them system-wide: apt-get install -y {self.apt_package}"
        return how + f", or set ${_utils.DATA_ENV} to a folder that has them."

    def _not_found(self) -> RuntimeError:
        wanted = " and ".join(f"{base}[.gz]" for base in self._split_files())
        return _utils.not_found_error(
            type(self).__name__, wanted, self._search_dirs(), self._how_to_get()
        )

    # -- reading ---------------------------------------------------------------------

    def _load_arrays(self, folder: Path) -> tuple[np.ndarray, np.ndarray]:
        image_base, label_base = self._split_files()
        image_file = self._file_in(folder, image_base)
        label_file = self._file_in(folder, label_base)
        images = read_image_file(image_file)
        labels = read_label_file(label_file)
        if len(images) != len(labels):
            raise RuntimeError(
                f"{type(self).__name__}: {image_file} holds {len(images)} images but "
                f"{label_file} holds {len(labels)} labels; one of them is corrupt or from "
                "another dataset"
            )
        # Checked here, naming the file, rather than as an index error mid-training.
        num_classes = len(self.classes)
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            bad = labels[(labels < 0) | (labels >= num_classes)]
            raise RuntimeError(
                f"{type(self).__name__}: {label_file} holds label {int(bad[0])} "
                f"({len(bad)} labels out of range): labels should be in [0, {num_classes}); "
                "the file is corrupt or from another dataset"
            )
        return images, labels

    def download(self) -> None:
        """Download the files into ``raw_folder`` unless they can already be found."""
        if self._check_exists():
            return
        raw = Path(self.raw_folder)
        for filename, md5 in self.resources:
            plain = raw / filename[: -len(".gz")]
            if plain.is_file():
                continue
            archive = raw / filename
            if not (archive.is_file() and _utils.calculate_md5(archive) == md5):
                archive = _utils.download_from_mirrors(
                    self.mirrors, filename, raw, md5, self._download_help()
                )
            # torchvision keeps the files uncompressed next to the archives; so do we, so
            # that both libraries can share one root folder.
            _utils.gunzip(archive, plain)

    # -- the dataset -----------------------------------------------------------------

    def __getitem__(self, index: int):
        # A copy, so that a transform writing into the image cannot change the dataset.
        img = _utils.to_tensor(_utils.to_numpy(self.data)[index].copy())
        target = int(_utils.to_numpy(self.targets)[index])
        return self._apply_transforms(img, target)

    _own_getitem = __getitem__

    def _batch_images(self) -> Callable[[np.ndarray], np.ndarray]:
        data = _utils.to_numpy(self.data)
        return lambda idx: data[idx]

    def __len__(self) -> int:
        return len(_utils.to_numpy(self.data))

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"

    # torchvision's deprecated names, which older course code still uses.

    @property
    def train_labels(self):
        warnings.warn("train_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def test_labels(self):
        warnings.warn("test_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def train_data(self):
        warnings.warn("train_data has been renamed data", stacklevel=2)
        return self.data

    @property
    def test_data(self):
        warnings.warn("test_data has been renamed data", stacklevel=2)
        return self.data


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28×28 grey images of 10 kinds of clothing, 60,000 for
    training and 10,000 for test (mirrors ``torchvision.datasets.FashionMNIST``).

    Same files, layout and items as ``MNIST``. Besides ``root`` and
    ``$TAPEGRAD_DATA``, the files are found in ``/usr/share/datasets/fashion-mnist``,
    where Debian's package installs them (``apt-get install -y dataset-fashion-mnist``).

    Args:
        root: The folder holding the dataset (or where ``download`` puts it).
        train: The training split (else the test split).
        transform: Applied to each image.
        target_transform: Applied to each label.
        download: Download the files into ``root`` when they are not found.
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
    folder_names = ("fashion-mnist",)
    apt_package = "dataset-fashion-mnist"


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28×28 images of 10 cursive Japanese characters
    (mirrors ``torchvision.datasets.KMNIST``). Same files, layout and items as ``MNIST``.

    Args:
        root: The folder holding the dataset (or where ``download`` puts it).
        train: The training split (else the test split).
        transform: Applied to each image.
        target_transform: Applied to each label.
        download: Download the files into ``root`` when they are not found.
    """

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
    folder_names = ("kmnist",)


def read_image_file(path: str | os.PathLike) -> np.ndarray:
    """The images of an IDX image file as a ``uint8`` array (N, H, W)
    (``torchvision.datasets.mnist.read_image_file``, as NumPy)."""
    return _utils.read_idx(path, ndim=3, dtype=np.uint8)


def read_label_file(path: str | os.PathLike) -> np.ndarray:
    """The labels of an IDX label file as an ``int64`` array (N,)
    (``torchvision.datasets.mnist.read_label_file``, as NumPy)."""
    return _utils.read_idx(path, ndim=1, dtype=np.uint8).astype(np.int64)
