"""Process groups over MPI communicators: ``init_process_group`` and friends
(``torch.distributed.distributed_c10d``)."""

from __future__ import annotations

import datetime
import enum
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
        self.created = 0  # groups made, the default one and non-member ones included


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
    _state.created = 1
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
    _state.created += 1
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    seconds = world.timeout if timeout is None else _seconds(timeout)
    group = ProcessGroup(comm, members, str(Backend(backend or world.backend)), seconds)
    _state.groups.append(group)
    return group


def new_subgroups(
    group_size: int | None = None,
    group: ProcessGroup | None = None,
    timeout: datetime.timedelta | None = None,
    backend: str | None = None,
    pg_options: Any = None,
    group_desc: str | None = None,
) -> tuple[ProcessGroup, list[ProcessGroup | _NonMember]]:
    """Split the ranks into consecutive subgroups of ``group_size`` each
    (``torch.distributed.new_subgroups``). Every rank must call it.

    Args:
        group_size: Ranks per subgroup; it must divide the world size. PyTorch's default
            (the GPUs per machine) needs CUDA, so it must be given here, as PyTorch asks
            on a machine without GPUs.
        group: Split this group's ranks instead of the whole job's.
        timeout: As for ``new_group``.
        backend: As for ``new_group``.
        pg_options: Accepted for PyTorch's signature.
        group_desc: Accepted for PyTorch's signature.

    Returns:
        This rank's subgroup and the list of all of them (non-member markers for the
        subgroups this rank is not in).
    """
    if group_size is None:
        raise ValueError(
            "Default group size only takes effect when CUDA is available.If your subgroup using "
            "a backend that does not depend on CUDA,please pass in 'group_size' correctly."
        )
    ranks = list(range(_default().size())) if group is None else get_process_group_ranks(group)
    world = len(ranks)
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    if group_size > world:
        raise ValueError(
            f"The arg 'group_size' ({group_size}) must not exceed the world size ({world})"
        )
    if world % group_size:
        raise ValueError("The world size must be divisible by 'group_size'")
    me = get_rank()
    cur = None
    subgroups = []
    for start in range(0, world, group_size):
        members = ranks[start : start + group_size]
        sub = new_group(members, timeout=timeout, backend=backend, pg_options=pg_options)
        subgroups.append(sub)
        if me in members:
            cur = sub
    return cur, subgroups


def new_subgroups_by_enumeration(
    ranks_per_subgroup_list: list[list[int]],
    timeout: datetime.timedelta | None = None,
    backend: str | None = None,
    pg_options: Any = None,
    group_desc: str | None = None,
) -> tuple[ProcessGroup | None, list[ProcessGroup | _NonMember]]:
    """One subgroup per list of global ranks (``torch.distributed.new_subgroups_by_enumeration``).
    Every rank must call it; a rank may be in one subgroup at most.

    Args:
        ranks_per_subgroup_list: The members of each subgroup.
        timeout: As for ``new_group``.
        backend: As for ``new_group``.
        pg_options: Accepted for PyTorch's signature.
        group_desc: Accepted for PyTorch's signature.

    Returns:
        This rank's subgroup (None if it is in none) and the list of all of them.
    """
    if not ranks_per_subgroup_list:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    me = get_rank()
    cur = None
    seen: dict[int, list[int]] = {}
    subgroups = []
    for ranks in ranks_per_subgroup_list:
        sub = new_group(ranks, timeout=timeout, backend=backend, pg_options=pg_options)
        subgroups.append(sub)
        for r in ranks:
            if r in seen:
                raise ValueError(f"Rank {r} has appeared in both subgroup {seen[r]} and {ranks}")
            seen[r] = ranks
            if r == me:
                cur = sub
    return cur, subgroups


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its machine, from ``LOCAL_RANK`` (set by torchrun, and by
    ``tapegrad.distributed`` under mpiexec) (``torch.distributed.get_node_local_rank``).

    Args:
        fallback_rank: Returned when ``LOCAL_RANK`` is not set.

    Raises:
        RuntimeError: ``LOCAL_RANK`` is not set and no ``fallback_rank`` was given.
    """
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(
        "LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
        "`get_node_local_rank` to work, assuming you are not running in a multi-device "
        "context and want the code to run locally instead."
    )


def is_backend_available(backend: str) -> bool:
    """Whether ``init_process_group`` can run ``backend`` here
    (``torch.distributed.is_backend_available``): ``'mpi'`` and ``'gloo'`` (served over MPI)
    when mpi4py is installed; no GPU backend.

    Args:
        backend: A backend name.
    """
    return str(backend).lower() in (Backend.MPI, Backend.GLOO) and is_mpi_available()


def is_xccl_available() -> bool:
    """Whether Intel's GPU backend is available: never here
    (``torch.distributed.is_xccl_available``)."""
    return False


def get_default_backend_for_device(device: Any) -> str:
    """PyTorch's default backend for a device type (``'gloo'`` for CPU, which tapegrad runs
    over MPI; ``'nccl'`` for CUDA, which ``init_process_group`` then refuses here)
    (``torch.distributed.get_default_backend_for_device``).

    Args:
        device: A device type string (``'cpu'``) or a ``device``.

    Raises:
        ValueError: a device type PyTorch has no default backend for.
    """
    kind = str(getattr(device, "type", device)).split(":")[0]
    backend = {"cpu": Backend.GLOO, "cuda": Backend.NCCL, "xpu": "xccl"}.get(kind)
    if backend is None:
        raise ValueError(f"Default backend not registered for device : {device}")
    return backend


def get_backend_config(group: ProcessGroup | None = None) -> str:
    """The group's device-to-backend map as a string, ``'cpu:mpi'`` or ``'cpu:gloo'``
    (``torch.distributed.get_backend_config``; PyTorch's gloo also names CUDA).

    Args:
        group: The process group (default: the whole job).
    """
    return f"cpu:{get_backend(group)}"


def get_pg_count() -> int:
    """How many process groups this job has made, the default one included
    (``torch.distributed.get_pg_count``)."""
    return _state.created


class DebugLevel(enum.Enum):
    """``TORCH_DISTRIBUTED_DEBUG``'s levels (``torch.distributed.DebugLevel``)."""

    OFF = 0
    INFO = 1
    DETAIL = 2


_debug_level = DebugLevel.OFF


def set_debug_level(level: DebugLevel) -> None:
    """Set the debug level (``torch.distributed.set_debug_level``).

    Args:
        level: A ``DebugLevel``.
    """
    global _debug_level
    _debug_level = DebugLevel(level)


def set_debug_level_from_env() -> None:
    """Set the debug level from ``TORCH_DISTRIBUTED_DEBUG`` (OFF, INFO or DETAIL)
    (``torch.distributed.set_debug_level_from_env``).

    Raises:
        ValueError: the variable holds another value.
    """
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF").upper()
    if value not in DebugLevel.__members__:
        raise ValueError(
            f"The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL, got {value!r}"
        )
    set_debug_level(DebugLevel[value])


def get_debug_level() -> DebugLevel:
    """The debug level (``torch.distributed.get_debug_level``): the one set, else read from
    ``TORCH_DISTRIBUTED_DEBUG`` when the package was imported."""
    return _debug_level


try:
    set_debug_level_from_env()
except ValueError:
    pass  # an unknown value leaves the level OFF; set_debug_level_from_env() reports it
