"""Data-parallel communication over MPI (mirrors ``torch.distributed``).

Run one script on N processes with ``mpiexec -n N python train.py`` (on one machine, or
on several with ``mpiexec -f hostfile``); each process calls
``init_process_group()`` and then uses the collectives:

    import tapegrad as torch
    import tapegrad.distributed as dist

    dist.init_process_group("mpi")      # rank and world size come from mpiexec
    t = torch.ones(3) * dist.get_rank()
    dist.all_reduce(t)                  # every rank: sum of all ranks' tensors

Needs the ``distributed`` extra (mpi4py and MPICH): ``pip install "tapegrad[distributed]"``.
Under an MPI launcher, importing this package also sets the variables a
``torchrun``-launched script reads (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``LOCAL_WORLD_SIZE``) when they are not set, so such scripts run unchanged.
"""

import os as _os

from . import algorithms, elastic, launch, optim
from .collectives import (
    P2POp,
    RedOpType,
    ReduceOp,
    Work,
    all_gather,
    all_gather_coalesced,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    all_reduce_coalesced,
    all_to_all,
    all_to_all_single,
    barrier,
    batch_isend_irecv,
    broadcast,
    broadcast_object_list,
    gather,
    gather_object,
    irecv,
    isend,
    monitored_barrier,
    recv,
    recv_object_list,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    scatter_object_list,
    send,
    send_object_list,
    supports_complex,
)
from .errors import DistBackendError, DistError, DistNetworkError, DistStoreError, QueueEmptyError
from .faults import abort
from .grad_bucket import GradBucket
from .process_group import (
    Backend,
    DebugLevel,
    GroupMember,
    ProcessGroup,
    default_pg_timeout,
    destroy_process_group,
    get_backend,
    get_backend_config,
    get_debug_level,
    get_default_backend_for_device,
    get_global_rank,
    get_group_rank,
    get_node_local_rank,
    get_pg_count,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_backend_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    is_ucc_available,
    is_xccl_available,
    launched_by_mpi,
    new_group,
    new_subgroups,
    new_subgroups_by_enumeration,
    set_debug_level,
    set_debug_level_from_env,
)

group = GroupMember

__all__ = [
    "abort",
    "algorithms",
    "all_gather",
    "all_gather_coalesced",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "all_reduce_coalesced",
    "all_to_all",
    "all_to_all_single",
    "Backend",
    "barrier",
    "batch_isend_irecv",
    "broadcast",
    "broadcast_object_list",
    "DebugLevel",
    "default_pg_timeout",
    "destroy_process_group",
    "DistBackendError",
    "DistError",
    "DistNetworkError",
    "DistStoreError",
    "elastic",
    "gather",
    "gather_object",
    "get_backend",
    "get_backend_config",
    "get_debug_level",
    "get_default_backend_for_device",
    "get_global_rank",
    "get_group_rank",
    "get_node_local_rank",
    "get_pg_count",
    "get_process_group_ranks",
    "get_rank",
    "get_world_size",
    "GradBucket",
    "group",
    "GroupMember",
    "init_process_group",
    "irecv",
    "is_available",
    "is_backend_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "is_ucc_available",
    "is_xccl_available",
    "isend",
    "launch",
    "launched_by_mpi",
    "monitored_barrier",
    "new_group",
    "new_subgroups",
    "new_subgroups_by_enumeration",
    "optim",
    "P2POp",
    "ProcessGroup",
    "QueueEmptyError",
    "recv",
    "recv_object_list",
    "RedOpType",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "ReduceOp",
    "scatter",
    "scatter_object_list",
    "send",
    "send_object_list",
    "set_debug_level",
    "set_debug_level_from_env",
    "supports_complex",
    "Work",
]


def _export_launcher_env() -> None:
    info = launched_by_mpi()
    if info is None:
        return
    for key, value in (
        ("RANK", info["rank"]),
        ("WORLD_SIZE", info["world_size"]),
        ("LOCAL_RANK", info["local_rank"]),
        ("LOCAL_WORLD_SIZE", info["local_world_size"]),
    ):
        if value >= 0 and (key != "WORLD_SIZE" or value > 0):
            _os.environ.setdefault(key, str(value))


_export_launcher_env()
