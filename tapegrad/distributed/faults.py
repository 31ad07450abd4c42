"""A failing rank ends the whole job instead of leaving the others waiting.

MPI collectives wait for every rank; if one rank raises and exits, the others would
wait forever. Under a job of several ranks, an uncaught exception prints a line naming
the rank, then its traceback, and calls ``MPI_Abort``, which makes ``mpiexec`` end every
rank with a non-zero exit code. Checkpoints are written atomically, so the last one
stays loadable.
"""

from __future__ import annotations

import os
import sys
import time

from . import _mpi

_previous_hook = None
_where: tuple[int, int] = (0, 1)


def abort(message: str | None, code: int = 1) -> None:
    """Print ``message`` and end every rank of the job with exit code ``code``.

    Args:
        message: What to print before ending the job (``None``: nothing).
        code: The exit code of every rank.
    """
    if message is not None:
        print(message, file=sys.stderr, flush=True)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    # MPI_Abort tears the job down at once, and mpiexec may drop output it has not
    # forwarded yet: give it a moment to pass on what this rank just wrote.
    time.sleep(0.5)
    try:
        _mpi.mpi().COMM_WORLD.Abort(code)
    finally:
        # MPI_Abort may return before mpiexec's cleanup reaches this process.
        os._exit(code)


def _hook(exc_type, exc, tb) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        (_previous_hook or sys.__excepthook__)(exc_type, exc, tb)
        # mpiexec forwards Ctrl-C to every rank: each stops on its own.
        os._exit(130)
    rank, size = _where
    # The line naming the rank first, so that it is out before the (longer) traceback.
    print(
        f"tapegrad.distributed: rank {rank} of {size} failed with {exc_type.__name__}: {exc}; "
        "aborting the job",
        file=sys.stderr,
        flush=True,
    )
    (_previous_hook or sys.__excepthook__)(exc_type, exc, tb)
    abort(None)


def install(rank: int, size: int) -> None:
    """Abort the job on an uncaught exception in this rank (once per process)."""
    global _previous_hook, _where
    _where = (rank, size)
    if sys.excepthook is not _hook:
        _previous_hook = sys.excepthook
        sys.excepthook = _hook


def uninstall() -> None:
    """Restore the exception hook that ``install`` replaced."""
    global _previous_hook
    if sys.excepthook is _hook:
        sys.excepthook = _previous_hook or sys.__excepthook__
    _previous_hook = None


def failed_rank_exit(code: int, message: str) -> None:
    """A rank returning a non-zero exit code while others run: abort them all."""
    rank, size = _where
    if size > 1 and code:
        abort(f"tapegrad.distributed: rank {rank} of {size} stopped: {message}", code)
