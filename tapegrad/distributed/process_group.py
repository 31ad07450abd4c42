"""Process groups over MPI communicators: ``init_process_group`` and friends
(``torch.distributed.distributed_c10d``)."""

from __future__ import annotations

import datetime
import os
from typing import Any

from . import _mpi
from .watchdog import Watchdog

__all__ = [
    "Backend",
    "GroupMember",
    "ProcessGroup",
    "init_process_group",
    "destroy_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "get_rank",
    "get_world_size",
    "get_backend",
    "get_process_group_ranks",
    "get_global_rank",
    "get_group_rank",
    "new_group",
    "launched_by_mpi",
]

# PyTorch's default for CPU backends (gloo): 30 minutes.
default_pg_timeout = datetime.timedelta(minutes=30)

_NOT_INIT = (
    "Default process group has not been initialized, please make sure to call init_process_group."
)

# Environment variables MPI launchers set for every rank: (rank, size, local rank, local size).
_LAUNCHER_ENV = (
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),  # MPICH (hydra), Intel MPI
    (
        "OMPI_COMM_WORLD_RANK",
        "OMPI_COMM_WORLD_SIZE",
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "OMPI_COMM_WORLD_LOCAL_SIZE",
    ),  # Open MPI
    ("PMIX_RANK", "PMIX_SIZE", "PMIX_LOCAL_RANK", "PMIX_LOCAL_SIZE"),
    ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"),
)


def launched_by_mpi() -> dict[str, int] | None:
    """Rank, world size and local rank/size read from the MPI launcher's environment
    (mpiexec, mpirun, srun), or None when this process was not started by one."""
    for rank, size, local, local_size in _LAUNCHER_ENV:
        if rank in os.environ and (size in os.environ or rank == "PMIX_RANK"):
            try:
                world = int(os.environ.get(size, "0"))
                info = {"rank": int(os.environ[rank]), "world_size": world}
                info["local_rank"] = int(os.environ.get(local, info["rank"]))
                info["local_world_size"] = int(os.environ.get(local_size, world or 1))
            except ValueError:
                continue
            return info
    return None


class Backend(str):
    """Backend names (``torch.distributed.Backend``). tapegrad has one backend, MPI;
    ``"gloo"`` (PyTorch's CPU backend) is accepted as a synonym so PyTorch CPU scripts
    run unchanged.

    Called as ``Backend(name)`` with ``'mpi'`` or ``'gloo'`` (any case) or a ``'cpu:...'``
    device-backend string; it returns the lower-case name.

    Raises:
        ValueError: a GPU backend (``'nccl'``, ``'ucc'``, ``'xccl'``, ``'cuda:...'``) or an unknown
            name.
    """

    UNDEFINED = "undefined"
    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"

    def __new__(cls, name: str) -> Backend:
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name}")
        value = name.lower()
        if value in ("nccl", "ucc", "xccl") or value.startswith("cuda:"):
            raise ValueError(
                f"backend {name!r} needs GPUs; tapegrad runs on CPUs: use backend='mpi' "
                "(or 'gloo', which tapegrad also runs over MPI)"
            )
        if value not in ("mpi", "gloo") and not value.startswith("cpu:"):
            raise ValueError(f"Invalid backend: '{name}'; tapegrad supports 'mpi' (and 'gloo')")
        return str.__new__(cls, value)


class ProcessGroup:
    """A set of ranks that run collectives together: an MPI communicator
    (``torch.distributed.ProcessGroup``). ``ranks`` are the members' global ranks.

    Args:
        comm: the MPI communicator of the group.
        ranks: the members' global ranks, in group-rank order.
        backend: the backend name.
        timeout: the collective timeout, in seconds.
    """

    def __init__(self, comm: Any, ranks: list[int], backend: str, timeout: float) -> None:
        self.comm = comm
        self.ranks = list(ranks)
        self.backend = backend
        self.timeout = timeout
        # monitored_barrier calls so far: each call's messages carry their own tag, so a
        # late rank's message from a failed call never completes a later one.
        self.monitored_calls = 0

    def rank(self) -> int:
        """This process's rank within the group."""
        return self.comm.Get_rank()

    def size(self) -> int:
        """Number of ranks in the group."""
        return self.comm.Get_size()

    def name(self) -> str:
        return self.backend.upper()

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend!r}, ranks={self.ranks})"


class _NonMember:
    """The placeholder a rank gets from ``new_group`` when it is not in the group."""

    def __repr__(self) -> str:
        return "GroupMember.NON_GROUP_MEMBER"


class GroupMember:
    """``GroupMember.WORLD`` is the default group once initialised (``torch.distributed``)."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = _NonMember()


class _State:
    def __init__(self) -> None:
        self.world: ProcessGroup | None = None
        self.groups: list[ProcessGroup] = []
        self.watchdog: Watchdog | None = None


_state = _State()


def is_available() -> bool:
    """Whether the distributed package can be used: mpi4py is installed
    (``torch.distributed.is_available``)."""
    return _mpi.available()


def is_mpi_available() -> bool:
    """Whether the MPI backend is available (``torch.distributed.is_mpi_available``)."""
    return _mpi.available()


def is_gloo_available() -> bool:
    """Whether ``init_process_group("gloo")`` works (``torch.distributed.is_gloo_available``):
    tapegrad serves the gloo name over MPI, so whenever MPI is available."""
    return _mpi.available()


def is_nccl_available() -> bool:
    """False: NCCL needs NVIDIA GPUs, and tapegrad runs on the CPU
    (``torch.distributed.is_nccl_available``)."""
    return False


def is_ucc_available() -> bool:
    """False: no UCC backend (``torch.distributed.is_ucc_available``)."""
    return False


def is_torchelastic_launched() -> bool:
    """Whether the process was started by torchelastic (``torchrun``): PyTorch's test, the
    ``TORCHELASTIC_RUN_ID`` variable (``torch.distributed.is_torchelastic_launched``).
    ``mpiexec`` is not torchelastic, so this is False under it, as with PyTorch."""
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def is_initialized() -> bool:
    """Whether ``init_process_group`` has run (``torch.distributed.is_initialized``)."""
    return _state.world is not None


def _seconds(timeout) -> float:
    if timeout is None:
        env = os.environ.get("TAPEGRAD_DIST_TIMEOUT")
        return float(env) if env else default_pg_timeout.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {timeout}")


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the job's default process group (``torch.distributed.init_process_group``).

    Ranks and world size come from MPI (launch with ``mpiexec -n N python script.py``);
    ``world_size``/``rank`` and ``env://``'s ``WORLD_SIZE``/``RANK``, when given, must
    agree with MPI. ``timeout`` bounds every collective: a rank stuck longer (another
    rank died or skipped a collective) aborts the whole job. A process started without
    ``mpiexec`` is a job of one rank.

    Args:
        backend: ``'mpi'`` (or ``'gloo'``, run over MPI too; default ``'mpi'``).
        init_method: ``None`` or ``'env://'`` (the launcher's environment), or a ``tcp://`` /
            ``file://`` URL, accepted for PyTorch's scripts (MPI connects the ranks).
        timeout: How long a rank may wait in a collective before the job is aborted (default 30
            minutes, ``TAPEGRAD_DIST_TIMEOUT``).
        world_size: If given, must equal the number of MPI processes.
        rank: If given, must equal this process's MPI rank.
        store: Accepted for PyTorch's signature.
        group_name: Accepted for PyTorch's signature.
        pg_options: Accepted for PyTorch's signature.
        device_id: Accepted for PyTorch's signature.
    """
    if _state.world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend or "mpi")
    seconds = _seconds(timeout)
    if init_method not in (None, "env://") and not str(init_method).startswith(
        ("tcp://", "file://")
    ):
        raise ValueError(f"init_method {init_method!r}: expected 'env://', tcp:// or file://")
    MPI = _mpi.mpi()
    comm = MPI.COMM_WORLD.Dup()
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    size, me = comm.Get_size(), comm.Get_rank()
    env_size = os.environ.get("WORLD_SIZE") if init_method in (None, "env://") else None
    env_rank = os.environ.get("RANK") if init_method in (None, "env://") else None
    for what, given, actual in (
        ("world_size", world_size, size),
        ("rank", rank, me),
        ("WORLD_SIZE", env_size, size),
        ("RANK", env_rank, me),
    ):
        if given is not None and int(given) != -1 and int(given) != actual:
            raise ValueError(
                f"init_process_group: {what}={given} but MPI started this process as rank "
                f"{me} of {size}; launch with mpiexec -n N and leave {what} unset"
            )
    group = ProcessGroup(comm, list(range(size)), str(name), seconds)
    _state.world = group
    GroupMember.WORLD = group
    if size > 1:
        from . import faults

        _state.watchdog = Watchdog(seconds, me, faults.abort)
        faults.install(me, size)


def _default() -> ProcessGroup:
    if _state.world is None:
        raise ValueError(_NOT_INIT)
    return _state.world


def _group(group: Any) -> ProcessGroup | None:
    """The group to use (None for a rank outside ``group``)."""
    world = _default()
    if group is None or group is GroupMember.WORLD:
        return world
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup from new_group, got {type(group).__name__}")
    return group


def watchdog() -> Watchdog | None:
    """The watchdog that bounds collectives (None for a job of one rank)."""
    return _state.watchdog


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Leave ``group``, or every group when None (``torch.distributed.destroy_process_group``).

    Args:
        group: The group to leave (default: all of them).
    """
    if _state.world is None:
        raise ValueError(_NOT_INIT)
    if group is None or group is _state.world:
        for g in _state.groups:
            g.comm.Free()
        _state.world.comm.Free()
        if _state.watchdog is not None:
            _state.watchdog.stop()
        _state.__init__()
        GroupMember.WORLD = None
        from . import faults

        faults.uninstall()
    elif isinstance(group, ProcessGroup) and group in _state.groups:
        _state.groups.remove(group)
        group.comm.Free()


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (-1 if not a member) (``torch.distributed.get_rank``).

    Args:
        group: The process group (default: the whole job).

    Returns:
        The rank.
    """
    g = _group(group)
    return -1 if g is None else g.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """Number of ranks in ``group`` (-1 if not a member) (``torch.distributed.get_world_size``).

    Args:
        group: The process group (default: the whole job).

    Returns:
        The number of ranks.
    """
    g = _group(group)
    return -1 if g is None else g.size()


def get_backend(group: ProcessGroup | None = None) -> str:
    """The group's backend name (``torch.distributed.get_backend``).

    Args:
        group: The process group (default: the whole job).
    """
    g = _group(group)
    if g is None:
        raise ValueError("Invalid process group specified")
    return g.backend


def get_process_group_ranks(group: ProcessGroup) -> list[int]:
    """The global ranks of ``group``'s members (``torch.distributed.get_process_group_ranks``).

    Args:
        group: A process group.
    """
    g = _group(group)
    return [] if g is None else list(g.ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The global rank of ``group``'s rank ``group_rank`` (``dist.get_global_rank``).

    Args:
        group: A process group.
        group_rank: A rank within ``group``.
    """
    g = _group(group)
    if g is None or not 0 <= group_rank < len(g.ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return g.ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """``group``'s rank of global rank ``global_rank`` (``torch.distributed.get_group_rank``).

    Args:
        group: A process group.
        global_rank: A rank of the whole job.
    """
    g = _group(group)
    if g is None or global_rank not in g.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return g.ranks.index(global_rank)


def new_group(
    ranks: list[int] | None = None,
    timeout: datetime.timedelta | None = None,
    backend: str | None = None,
    pg_options: Any = None,
    use_local_synchronization: bool = False,
    group_desc: str | None = None,
    device_id: Any = None,
) -> ProcessGroup | _NonMember:
    """A group of some ranks (``torch.distributed.new_group``). Every rank of the job
    must call it, with the same ``ranks``; ranks outside get
    ``GroupMember.NON_GROUP_MEMBER``.

    Args:
        ranks: The global ranks of the members (default: all).
        timeout: How long a rank may wait in a collective before the job is aborted (default 30
            minutes, ``TAPEGRAD_DIST_TIMEOUT``).
        backend: As for ``init_process_group``.
        pg_options: Accepted for PyTorch's signature.
        use_local_synchronization: Accepted for PyTorch's signature.
        group_desc: Accepted for PyTorch's signature.
        device_id: Accepted for PyTorch's signature.

    Returns:
        The new group (a non-member marker on the ranks not in it).
    """
    world = _default()
    size = world.size()
    members = sorted(range(size) if ranks is None else {int(r) for r in ranks})
    if len(members) > size:
        raise ValueError(
            "the new group's world size should be less or equal to the world size set by "
            "init_process_group"
        )
    for r in members:
        if not 0 <= r < size:
            raise ValueError(
                f"The new group's rank should be within the world_size set by "
                f"init_process_group: got rank {r}, world size {size}"
            )
    me = world.rank()
    MPI = _mpi.mpi()
    color = 0 if me in members else MPI.UNDEFINED
    comm = world.comm.Split(color, members.index(me) if me in members else 0)
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    seconds = world.timeout if timeout is None else _seconds(timeout)
    group = ProcessGroup(comm, members, str(Backend(backend or world.backend)), seconds)
    _state.groups.append(group)
    return group
