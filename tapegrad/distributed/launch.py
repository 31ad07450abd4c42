"""Start a command on N local processes under the venv's ``mpiexec``
(``tapegrad train --nproc N``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence

from . import _mpi

__all__ = [
    "find_mpiexec",
    "mpiexec_command",
    "mpiexec_prefix",
    "rank_env",
    "rank_files",
    "run",
    "run_command",
    "started_pids",
]


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


_hydra: dict[str, bool] = {}


def _is_hydra(mpiexec: str) -> bool:
    """Whether ``mpiexec`` is MPICH's (Hydra), whose ``-bind-to core`` pins each rank."""
    if mpiexec not in _hydra:
        try:
            out = subprocess.run(
                [mpiexec, "--version"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        _hydra[mpiexec] = "HYDRA" in out
    return _hydra[mpiexec]


def mpiexec_prefix(nproc: int) -> list[str]:
    """``mpiexec -n nproc``, with each rank pinned to a core of its own when this machine
    has that many (MPICH's ``-bind-to core``): the ranks then stop moving between cores
    and sharing one while another idles, which on this project's 2-core machine made
    2-rank epochs steadier (efficiency 0.84-0.85 bound against 0.77-0.89 unbound, three
    runs each). More ranks than cores run unpinned."""
    if nproc < 1:
        raise ValueError(f"--nproc must be positive, got {nproc}")
    mpiexec = find_mpiexec()
    bind = nproc <= len(os.sched_getaffinity(0)) and _is_hydra(mpiexec)
    return [mpiexec, *(["-bind-to", "core"] if bind else []), "-n", str(nproc)]


def mpiexec_command(nproc: int, argv: Sequence[str], module: str = "tapegrad.cli") -> list[str]:
    """The command line that runs ``python -m module argv...`` on ``nproc`` processes."""
    return [*mpiexec_prefix(nproc), sys.executable, "-m", module, *argv]


def run(nproc: int, argv: Sequence[str], module: str = "tapegrad.cli") -> int:
    """Run ``python -m module argv...`` on ``nproc`` processes; their exit code.

    Each rank gets one BLAS / batch thread (``OMP_NUM_THREADS=1`` unless set), as the
    ranks share the machine's cores. When a rank dies, ``mpiexec`` ends the others; the
    message then names the rank (``mpiexec`` itself names only its process id).
    """
    return run_command(mpiexec_command(nproc, argv, module), rank_env())


_RESUME_HINT = "Checkpoints are written atomically: continue with --resume CHECKPOINT."


def run_command(cmd: list[str], env: dict, hint: str = _RESUME_HINT) -> int:
    """Run the ``mpiexec`` command line ``cmd`` with ``env``, its output copied through;
    its exit code, after naming the rank that failed first (and ``hint``), if one did."""
    env = dict(env)
    with tempfile.TemporaryDirectory(prefix="tapegrad-launch-") as folder:
        env[PID_DIR_ENV] = folder
        try:
            code, dead = _run_forwarding(cmd, env)
        except KeyboardInterrupt:
            return 130
        if code:
            _name_failed_rank(folder, code, dead, hint)
    return code


def rank_env() -> dict:
    """This process's environment for ranks that share the machine's cores: one BLAS /
    batch thread each unless ``OMP_NUM_THREADS`` (or the others) say otherwise."""
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(key, "1")
    env.setdefault("TAPEGRAD_NUM_THREADS", "1")
    return env


def _run_forwarding(cmd: list[str], env: dict) -> tuple[int, set[str]]:
    """Run ``cmd``, copying its output through as it comes, and collect the process ids
    that mpiexec reports as terminated badly ("PID 123 RUNNING AT host")."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dead: set[str] = set()

    def pump(src, dst) -> None:
        tail = b""
        while chunk := os.read(src.fileno(), 65536):
            if hasattr(dst, "buffer"):
                dst.buffer.write(chunk)
            else:  # a text stream without bytes (e.g. captured by a test)
                dst.write(chunk.decode(errors="replace"))
            dst.flush()
            tail = (tail + chunk)[-4096:]
            dead.update(m.decode() for m in re.findall(rb"PID (\d+) RUNNING AT", tail))

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, sys.stdout), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, sys.stderr), daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        code = proc.wait()
    finally:
        for t in threads:
            t.join(timeout=5)
    return code, dead


def rank_files(folder: str, suffix: str) -> dict[int, str]:
    """The files ``rank-R{suffix}`` in ``folder`` (``record_start``'s ``.pid``,
    ``record_finish``'s ``.done``...), by rank, in rank order."""
    found = {}
    for name in os.listdir(folder):
        if name.startswith("rank-") and name.endswith(suffix):
            rank = name[len("rank-") : -len(suffix)]
            if rank.isdigit():
                found[int(rank)] = os.path.join(folder, name)
    return dict(sorted(found.items()))


def started_pids(folder: str) -> dict[int, str]:
    """The process id each rank recorded at its start (``record_start``), by rank."""
    pids = {}
    for rank, path in rank_files(folder, ".pid").items():
        with open(path) as f:
            pids[rank] = f.read().strip()
    return pids


def _name_failed_rank(folder: str, code: int, dead: set[str], hint: str) -> None:
    # Each rank wrote rank-R.pid at start: the rank whose process mpiexec reported as
    # terminated is the one that failed (mpiexec then ended the others); without such a
    # report, the ranks that did not finish cleanly (no rank-R.done).
    started = started_pids(folder)
    failed = [(r, p) for r, p in started.items() if p in dead]
    if not failed:
        done = rank_files(folder, ".done")
        failed = [(r, p) for r, p in started.items() if r not in done]
    # mpiexec reports a rank killed by signal N as exit code N.
    ranks = ", ".join(f"rank {r} (pid {p})" for r, p in failed) or "a rank"
    print(
        f"tapegrad: the distributed run failed (exit code {code}): {ranks} stopped first "
        f"and mpiexec ended the others. {hint}".rstrip(),
        file=sys.stderr,
        flush=True,
    )


PID_DIR_ENV = "TAPEGRAD_LAUNCH_DIR"


def record_start(rank: int) -> None:
    """Under ``run``: note this rank's process id (to name a rank that dies)."""
    folder = os.environ.get(PID_DIR_ENV)
    if folder and os.path.isdir(folder):
        with open(os.path.join(folder, f"rank-{rank}.pid"), "w") as f:
            f.write(str(os.getpid()))


def record_finish(rank: int) -> None:
    """Under ``run``: this rank finished without error."""
    folder = os.environ.get(PID_DIR_ENV)
    if folder and os.path.isdir(folder):
        open(os.path.join(folder, f"rank-{rank}.done"), "w").close()


def launched() -> bool:
    """Whether this process was started by an MPI launcher (mpiexec, mpirun, srun)."""
    from .process_group import launched_by_mpi

    return launched_by_mpi() is not None


def world_size() -> int:
    """The default group's size once initialised, else 1."""
    from .process_group import _state

    return 1 if _state.world is None else _state.world.size()


def without_nproc(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--nproc N`` / ``--nproc=N`` (what each rank runs)."""
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def init_if_launched(global_batch: int) -> None:
    """Join the job when started by mpiexec with several ranks (the command's path)."""
    from .process_group import init_process_group, is_initialized, launched_by_mpi

    info = launched_by_mpi()
    if info is None or info["world_size"] <= 1 or is_initialized():
        return
    init_process_group("mpi")
    record_start(info["rank"])
    if global_batch % info["world_size"]:
        raise ValueError(
            f"--batch-size {global_batch} is the global batch, split over the processes: it "
            f"must be divisible by their number ({info['world_size']})"
        )


def shard_loaders(train_set, val_loader, test_loader, global_batch: int, seed: int):
    """This rank's loaders: training batches of ``global_batch / world`` drawn by a
    ``DistributedSampler`` (seeded as the single-process shuffle), and every
    world-th sample of the validation and test sets (no padding: the summed metrics
    count each sample once)."""
    from ..utils.data import DataLoader, Subset
    from ..utils.data.distributed import DistributedSampler
    from .process_group import get_rank, get_world_size

    rank, size = get_rank(), get_world_size()
    sampler = DistributedSampler(train_set, size, rank, shuffle=True, seed=seed)
    train = DataLoader(train_set, batch_size=global_batch // size, sampler=sampler)

    def shard(loader):
        if loader is None:
            return None
        ds = loader.dataset
        return DataLoader(Subset(ds, range(rank, len(ds), size)), batch_size=loader.batch_size)

    return train, shard(val_loader), shard(test_loader)


def fail(code: int, message: str) -> None:
    """A rank of a distributed run ends with an error: end the other ranks too."""
    from .faults import failed_rank_exit

    if world_size() > 1:
        failed_rank_exit(code, message)


def rank() -> int:
    """This process's rank in the default group once initialised, else 0."""
    from .process_group import _state

    return 0 if _state.world is None else _state.world.rank()
