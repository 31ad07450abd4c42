"""Processes for tapegrad programs (mirrors ``torch.multiprocessing``).

Python's :mod:`multiprocessing` API under PyTorch's module name, plus
:func:`spawn` / :func:`start_processes`, which run ``fn(i, *args)`` on ``nprocs``
processes forming one MPI job: the pattern of PyTorch's DDP examples,
``mp.spawn(train, args=(world_size,), nprocs=world_size)`` with
``dist.init_process_group("gloo", rank=rank, world_size=world_size)`` inside ``train``,
runs unchanged (see :mod:`tapegrad.multiprocessing.spawn`).

Tensors passed to another process (a ``Queue``, a ``Process``'s arguments, ``spawn``'s
``args``) are pickled by value, unless they were moved to shared memory with
``Tensor.share_memory_()`` / ``Module.share_memory()``: those the receiver maps again, so
in-place changes made by one process are seen by the others (Hogwild training; see
``tapegrad._shared_memory``). PyTorch moves every CPU tensor it sends into shared memory;
tapegrad copies the others. The sharing-strategy functions keep PyTorch's names, values
and errors, so programs that set or read them run; they change nothing (tapegrad shares
through files under ``/dev/shm`` either way).
"""

from multiprocessing import (
    Array,
    AuthenticationError,
    Barrier,
    BoundedSemaphore,
    BufferTooShort,
    Condition,
    Event,
    JoinableQueue,
    Lock,
    Manager,
    Pipe,
    Pool,
    Process,
    ProcessError,
    Queue,
    RawArray,
    RawValue,
    RLock,
    Semaphore,
    SimpleQueue,
    TimeoutError,
    Value,
    active_children,
    allow_connection_pickling,
    cpu_count,
    current_process,
    freeze_support,
    get_all_start_methods,
    get_context,
    get_logger,
    get_start_method,
    log_to_stderr,
    parent_process,
    reducer,
    set_executable,
    set_forkserver_preload,
    set_start_method,
)

from .sharing import get_all_sharing_strategies, get_sharing_strategy, set_sharing_strategy
from .spawn import (
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    SpawnContext,
    spawn,
    start_processes,
)

__all__ = [
    "Array",
    "AuthenticationError",
    "Barrier",
    "BoundedSemaphore",
    "BufferTooShort",
    "Condition",
    "Event",
    "JoinableQueue",
    "Lock",
    "Manager",
    "Pipe",
    "Pool",
    "Process",
    "ProcessContext",
    "ProcessError",
    "ProcessException",
    "ProcessExitedException",
    "ProcessRaisedException",
    "Queue",
    "RLock",
    "RawArray",
    "RawValue",
    "Semaphore",
    "SimpleQueue",
    "SpawnContext",
    "TimeoutError",
    "Value",
    "active_children",
    "allow_connection_pickling",
    "cpu_count",
    "current_process",
    "freeze_support",
    "get_all_sharing_strategies",
    "get_all_start_methods",
    "get_context",
    "get_logger",
    "get_sharing_strategy",
    "get_start_method",
    "log_to_stderr",
    "parent_process",
    "reducer",
    "set_executable",
    "set_forkserver_preload",
    "set_sharing_strategy",
    "set_start_method",
    "spawn",
    "start_processes",
]
