"""Plumbing shared by the examples: command-line arguments, seeding, data lookup and
figures. Each example imports this module first."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
ROOT = EXAMPLES.parent
# Run from a checkout, an example uses the tapegrad next to it, installed or not.
if (ROOT / "tapegrad" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Figures of a plain run go to ./runs/figures (ignored by git): the committed ones in
# examples/figures/ are only rewritten on purpose, with --out examples/figures.
DEFAULT_OUT = Path("runs") / "figures"


def make_parser(description: str, data: bool = False) -> argparse.ArgumentParser:
    """The arguments every example takes: ``--fast``, ``--out`` and ``--seed`` (and
    ``--data-dir`` for the examples that read a dataset)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="a small setting that runs in seconds (used by the tests)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for the figures (PNG)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    if data:
        parser.add_argument(
            "--data-dir",
            default=os.environ.get("TAPEGRAD_DATA", "data"),
            help="where the datasets are (also looked for in $TAPEGRAD_DATA and "
            "/usr/share/datasets)",
        )
    return parser


_warned = []


def pyplot():
    """matplotlib's pyplot with a file-only backend, or None (with a message saying how
    to get the figures) when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        if not _warned:
            print(
                "matplotlib is not installed, so no figures are drawn: "
                "pip install matplotlib (or pip install 'tapegrad[plot]')"
            )
            _warned.append(True)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, out: Path, name: str) -> Path:
    """Save ``fig`` as ``out/name`` (PNG) and close it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=100, bbox_inches="tight")
    _shrink_png(path)
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(f"saved {path}")
    return path


def _shrink_png(path: Path) -> None:
    """Re-save the PNG with a 256-colour palette (Pillow comes with matplotlib): the
    figures look the same and take a third of the space."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(256)
    small.save(path, optimize=True)


def summary(**values) -> None:
    """Print the example's key numbers on one line, ``summary: {json}``, which the tests
    read."""
    print("summary: " + json.dumps(values, sort_keys=True))


def grid(xmin: float, xmax: float, ymin: float, ymax: float, steps: int = 200):
    """A ``steps`` x ``steps`` grid over the rectangle, as (xx, yy, points) with points
    an (steps * steps, 2) tapegrad tensor, for drawing decision regions."""
    import tapegrad as torch

    xs = torch.linspace(xmin, xmax, steps)
    ys = torch.linspace(ymin, ymax, steps)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return xx.numpy(), yy.numpy(), torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)


def load_images(data_dir: str = "data", n_train: int | None = None, n_test: int | None = None):
    """MNIST-like images as float tensors in [0, 1] of shape (N, 1, 28, 28) with int64
    labels: MNIST when its files are found, else Fashion-MNIST, else synthetic digits
    (:func:`synthetic_digits`). Returns ``(name, train_x, train_y, test_x, test_y)``,
    the first ``n_train`` / ``n_test`` images of each set when given."""
    import tapegrad as torch
    from tapegrad import datasets

    for cls in (datasets.MNIST, datasets.FashionMNIST):
        try:
            train, test = cls(data_dir, train=True), cls(data_dir, train=False)
        except RuntimeError:
            continue
        sets = []
        for ds, n in ((train, n_train), (test, n_test)):
            x, y = ds.data[:n], ds.targets[:n]
            sets += [x.float().div(255).unsqueeze(1), y.long()]
        return (cls.__name__, *sets)
    gen = torch.Generator().manual_seed(1234)
    train_x, train_y = synthetic_digits(n_train or 6000, gen)
    test_x, test_y = synthetic_digits(n_test or 1000, gen)
    print("MNIST and Fashion-MNIST not found: using synthetic digits")
    return "synthetic digits", train_x, train_y, test_x, test_y


# Seven-segment strokes (x0, y0, x1, y1) on a 10 x 18 box, and the segments of each digit.
_SEGMENTS = {
    "a": (0, 0, 10, 0),
    "b": (10, 0, 10, 9),
    "c": (10, 9, 10, 18),
    "d": (0, 18, 10, 18),
    "e": (0, 9, 0, 18),
    "f": (0, 0, 0, 9),
    "g": (0, 9, 10, 9),
}
_DIGITS = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abfgcd"]


def synthetic_digits(n: int, generator=None):
    """``n`` images (n, 1, 28, 28) in [0, 1] of seven-segment digits with random slant,
    scale, shift and stroke width, plus noise, and their labels: an MNIST-like stand-in
    when no dataset is on disk."""
    import tapegrad as torch

    labels = torch.randint(0, 10, (n,), generator=generator)
    # Random affine jitter per image: scale, slant, shift, stroke width.
    r = torch.rand(n, 6, generator=generator)
    scale = 0.8 + 0.4 * r[:, 0:1]
    slant = 0.4 * r[:, 1:2] - 0.1
    dx, dy = 4 * r[:, 2:3] - 2, 4 * r[:, 3:4] - 2
    width = 1.0 + 0.8 * r[:, 4:5]
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    px, py = xs.reshape(1, -1), ys.reshape(1, -1)
    # Pixel coordinates in the digit's 10 x 18 box.
    u = ((px - 14 - dx) - slant * (py - 14 - dy)) / scale + 5
    v = (py - 14 - dy) / scale + 9
    images = torch.zeros(n, 28 * 28)
    for name, (x0, y0, x1, y1) in _SEGMENTS.items():
        on = torch.tensor([name in _DIGITS[d] for d in range(10)])[labels].float().unsqueeze(1)
        # Distance from each pixel to the segment.
        t = ((u - x0) * (x1 - x0) + (v - y0) * (y1 - y0)) / ((x1 - x0) ** 2 + (y1 - y0) ** 2)
        t = t.clamp(0, 1)
        dist = ((u - x0 - t * (x1 - x0)) ** 2 + (v - y0 - t * (y1 - y0)) ** 2).sqrt()
        stroke = (1.5 * width - dist).clamp(0, 1)
        images = torch.maximum(images, stroke * on)
    images = (images + 0.1 * torch.rand(n, 28 * 28, generator=generator)).clamp(0, 1)
    return images.view(n, 1, 28, 28), labels
