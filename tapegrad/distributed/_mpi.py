"""The one place that imports mpi4py: a clear error naming the extra when it is missing."""

from __future__ import annotations

import importlib.util
from typing import Any

INSTALL_HINT = (
    'tapegrad.distributed needs MPI: install the extra with pip install "tapegrad[distributed]" '
    '(or pip install -e ".[distributed]" in a checkout), which brings mpi4py and MPICH'
)


def available() -> bool:
    """Whether mpi4py can be imported (without initialising MPI)."""
    return importlib.util.find_spec("mpi4py") is not None


def mpi() -> Any:
    """``mpi4py.MPI`` (initialises MPI on first use); RuntimeError naming the extra if absent."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(f"{INSTALL_HINT} ({e})") from None
    return MPI
