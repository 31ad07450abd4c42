"""``spawn``: run ``fn(i, *args)`` on ``nprocs`` processes that form one MPI job
(``torch.multiprocessing.spawn``).

PyTorch's DDP programs often start their workers with
``mp.spawn(train, args=(world_size,), nprocs=world_size)`` and call
``dist.init_process_group("gloo", rank=rank, world_size=world_size)`` in ``train``.
tapegrad's process groups run over MPI, whose processes must be started by an MPI
launcher, so ``spawn`` has two ways to start them:

* In an ordinary process (``python train.py``, ``tapegrad run train.py``), it starts
  ``nprocs`` processes under the venv's ``mpiexec`` and waits for them, as PyTorch's
  parent process does. Each re-imports the main script under the name ``__mp_main__``
  (Python's own spawn preparation, so code under ``if __name__ == "__main__":`` does
  not run again), then calls ``fn(rank, *args)`` with its MPI rank. An exception in
  ``fn`` is written where the parent finds it, and the job is ended: the parent raises
  :class:`ProcessRaisedException` with the child's traceback, as PyTorch does.
* In a process that an MPI launcher started (``mpiexec -n N python train.py``), this
  process already is one of the ``N``: ``spawn`` checks that ``nprocs == N``, calls
  ``fn(rank, *args)`` here and waits for every rank to finish it. The code around
  ``spawn`` then runs on every rank, as all code of an MPI program does.

As in :func:`tapegrad.distributed.launch.run`, each process gets one BLAS / batch
thread unless ``OMP_NUM_THREADS`` (or ``TAPEGRAD_NUM_THREADS``) says otherwise: the
processes share the machine's cores. Needs the ``distributed`` extra (mpi4py and an
MPI); without it ``spawn`` raises ``RuntimeError`` naming the extra. ``daemon`` and the
start method change nothing: every process starts fresh, as with ``"spawn"``, and ends
with the job.
"""

from __future__ import annotations

import multiprocessing.spawn as _mp_spawn
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable

from ..distributed.launch import rank_files, started_pids

__all__ = [
    "ProcessContext",
    "ProcessException",
    "ProcessExitedException",
    "ProcessRaisedException",
    "SpawnContext",
    "spawn",
    "start_processes",
]


class ProcessException(Exception):
    """A spawned process failed (``torch.multiprocessing.ProcessException``)."""

    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.error_pid = error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """A spawned process failed with an exception raised by ``fn``; the message holds
    its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process ended with a non-zero exit code without an exception from
    ``fn`` (killed, ``sys.exit(code)``, ``os._exit``)."""

    def __init__(
        self,
        msg: str,
        error_index: int,
        error_pid: int,
        exit_code: int,
        signal_name: str | None = None,
    ):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return (
            type(self),
            (self.msg, self.error_index, self.error_pid, self.exit_code, self.signal_name),
        )


# Files in the job's folder: payload.pkl (the preparation data and the pickled call),
# launch's rank-R.pid / rank-R.done, and rank-R.error (the traceback) when fn raised.
_PAYLOAD = "payload.pkl"


class ProcessContext:
    """The processes of one :func:`start_processes` call (``join=False``).

    ``join()`` waits for them: ``True`` once all have finished without error, ``False``
    when ``timeout`` passed first; it raises :class:`ProcessRaisedException` or
    :class:`ProcessExitedException` for the process that failed first.
    """

    def __init__(
        self, launcher: subprocess.Popen | None, folder: str | None, nprocs: int, rank: int = 0
    ):
        self._launcher = launcher
        self._folder = folder
        self.nprocs = nprocs
        self._pids: dict[int, int] = {}
        if launcher is None:  # ran in this MPI job (as ``rank``): already finished
            self._pids = {rank: os.getpid()}

    def pids(self) -> list[int]:
        """The process ids of the ranks that have started so far, in rank order."""
        self._read_pids()
        return [self._pids[r] for r in sorted(self._pids)]

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait for the processes (at most ``timeout`` seconds); True when all are done.

        Args:
            timeout: Seconds to wait; ``None`` waits until they finish.
            grace_period: Accepted for PyTorch's signature: when one process fails,
                ``mpiexec`` ends the others at once.
        """
        if self._launcher is None:
            return True
        try:
            code = self._launcher.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        self._read_pids()
        try:
            if code != 0:
                self._raise(code)
        finally:
            self._cleanup()
        return True

    def _read_pids(self) -> None:
        if self._folder is not None and os.path.isdir(self._folder):
            for rank, pid in started_pids(self._folder).items():
                if pid:
                    self._pids[rank] = int(pid)

    def _raise(self, code: int) -> None:
        errors = rank_files(self._folder, ".error")
        if errors:
            rank = min(errors, key=lambda r: os.path.getmtime(errors[r]))
            with open(errors[rank], encoding="utf-8") as f:
                trace = f.read()
            msg = f"\n\n-- Process {rank:d} terminated with the following error:\n" + trace
            raise ProcessRaisedException(msg, rank, self._pids.get(rank, -1))
        # No traceback: the first rank (in rank order) that did not finish cleanly.
        done = rank_files(self._folder, ".done")
        failed = [r for r in range(self.nprocs) if r not in done]
        rank = failed[0] if failed else 0
        raise ProcessExitedException(
            f"process {rank:d} terminated with exit code {code:d}",
            error_index=rank,
            error_pid=self._pids.get(rank, -1),
            exit_code=code,
        )

    def _cleanup(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


# PyTorch keeps this name for the context ``spawn`` returns.
SpawnContext = ProcessContext


def _launcher_info():
    from ..distributed.process_group import launched_by_mpi

    return launched_by_mpi()


def start_processes(
    fn: Callable,
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> ProcessContext | None:
    """Run ``fn(i, *args)`` on ``nprocs`` processes ``i = 0 .. nprocs-1`` of one MPI job
    (``torch.multiprocessing.start_processes``); see the module's notes.

    Args:
        fn: A function defined at the top level of a module (it is pickled by name).
        args: The arguments after the process index.
        nprocs: How many processes.
        join: Wait for them and return None; else return a :class:`ProcessContext`.
        daemon: Accepted for PyTorch's signature (the processes end with the job).
        start_method: Accepted for PyTorch's signature (every process starts fresh).

    Raises:
        ProcessRaisedException: ``fn`` raised in a process (its traceback in the message).
        ProcessExitedException: a process ended with a non-zero exit code.
        RuntimeError: MPI is not installed, or under an MPI launcher ``nprocs`` differs
            from the number of processes it started.
    """
    if not isinstance(nprocs, int) or isinstance(nprocs, bool) or nprocs < 1:
        raise ValueError(f"nprocs must be a positive integer, got {nprocs!r}")
    args = tuple(args)
    info = _launcher_info()
    if info is not None:
        _run_in_this_job(fn, args, nprocs, info)
        return None if join else ProcessContext(None, None, nprocs, info["rank"])
    context = _launch(fn, args, nprocs)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(
    fn: Callable,
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> ProcessContext | None:
    """Run ``fn(i, *args)`` on ``nprocs`` processes (``torch.multiprocessing.spawn``).

    Same as :func:`start_processes`; another ``start_method`` than ``"spawn"`` gives
    PyTorch's FutureWarning.
    """
    if start_method != "spawn":
        warnings.warn(
            f"This method only supports start_method=spawn (got: {start_method}).\n"
            "To use a different start_method use:\n\t\t"
            " torch.multiprocessing.start_processes(...)",
            FutureWarning,
            stacklevel=2,
        )
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")


def _run_in_this_job(fn: Callable, args: tuple, nprocs: int, info: dict) -> None:
    """Under an MPI launcher: this process is rank ``info['rank']`` of the spawned set."""
    world, rank = info["world_size"], info["rank"]
    if nprocs != world:
        raise RuntimeError(
            f"spawn(nprocs={nprocs}) in a job that an MPI launcher started with {world} "
            f"process(es): each MPI process is one of the spawned processes, so launch "
            f"with mpiexec -n {nprocs} (or run the script without mpiexec: spawn then starts "
            f"the {nprocs} processes itself)"
        )
    from ..distributed import _mpi
    from ..distributed.faults import abort

    try:
        fn(rank, *args)
    except Exception as exc:
        if world == 1:
            raise
        import traceback

        # The other ranks may be waiting in a collective: end the whole job, as
        # PyTorch's parent kills the remaining processes.
        abort(
            f"tapegrad.multiprocessing.spawn: process {rank} of {world} failed with "
            f"{type(exc).__name__}: {exc}; ending the job\n{traceback.format_exc()}"
        )
    if world > 1:
        _mpi.mpi().COMM_WORLD.Barrier()  # join: every rank has finished fn


def _launch(fn: Callable, args: tuple, nprocs: int) -> ProcessContext:
    """Start ``nprocs`` children under ``mpiexec`` running ``_child`` on a payload."""
    from ..distributed.launch import PID_DIR_ENV, mpiexec_prefix, rank_env

    mpiexec = mpiexec_prefix(nprocs)
    call = pickle.dumps((fn, args))
    folder = tempfile.mkdtemp(prefix="tapegrad-spawn-")
    try:
        prep = _mp_spawn.get_preparation_data("SpawnProcess")
        # multiprocessing pickles its authentication key only while it spawns a child
        # itself; as bytes it travels (the child's prepare() turns it back)
        prep["authkey"] = bytes(prep["authkey"])
        with open(os.path.join(folder, _PAYLOAD), "wb") as f:
            pickle.dump({"prep": prep, "call": call}, f)
        env = rank_env()
        env[PID_DIR_ENV] = folder
        cmd = [*mpiexec, sys.executable, "-m", "tapegrad.multiprocessing._child"]
        launcher = subprocess.Popen([*cmd, folder], env=env)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return ProcessContext(launcher, folder, nprocs)
