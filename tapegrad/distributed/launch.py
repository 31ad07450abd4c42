"""Start a command on N local processes under the venv's ``mpiexec``
(``tapegrad train --nproc N``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from . import _mpi

__all__ = ["find_mpiexec", "mpiexec_command", "run"]


def find_mpiexec() -> str:
    """The ``mpiexec`` next to this Python (the one ``pip install mpich`` puts in the venv),
    else the first on ``PATH``; RuntimeError naming the extra when there is none."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(here):
        return here
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None or not _mpi.available():
        raise RuntimeError(f"no mpiexec found: {_mpi.INSTALL_HINT}")
    return found


def mpiexec_command(nproc: int, argv: Sequence[str], module: str = "tapegrad.cli") -> list[str]:
    """The command line that runs ``python -m module argv...`` on ``nproc`` processes."""
    if nproc < 1:
        raise ValueError(f"--nproc must be positive, got {nproc}")
    return [find_mpiexec(), "-n", str(nproc), sys.executable, "-m", module, *argv]


def run(nproc: int, argv: Sequence[str], module: str = "tapegrad.cli") -> int:
    """Run ``python -m module argv...`` on ``nproc`` processes; their exit code.

    Each rank gets one BLAS / batch thread (``OMP_NUM_THREADS=1`` unless set), as the
    ranks share the machine's cores.
    """
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(key, "1")
    env.setdefault("TAPEGRAD_NUM_THREADS", "1")
    try:
        return subprocess.call(mpiexec_command(nproc, argv, module), env=env)
    except KeyboardInterrupt:
        return 130
