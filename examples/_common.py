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

DEFAULT_OUT = EXAMPLES / "figures"


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
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(f"saved {path}")
    return path


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
