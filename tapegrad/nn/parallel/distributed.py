"""``DistributedDataParallel``: every rank trains a replica on its part of each batch;
gradients are averaged over the ranks during backward, so replicas stay identical.

How the averaging overlaps the backward pass (PyTorch's Reducer, over MPI):

- Parameters are grouped into buckets in reverse registration order (roughly the
  order backward produces their gradients): a small first bucket (1 MiB), then
  ``bucket_cap_mb`` (25 MB) each, one dtype per bucket.
- Each parameter's post-accumulate-grad hook marks it ready; when every parameter of a
  bucket is ready, its gradients are copied into the bucket, divided by the world size
  and a non-blocking ``MPI_Iallreduce`` starts, while backward goes on computing the
  gradients of earlier layers. Buckets start strictly in order, so every rank issues
  the same reductions in the same order.
- When the last bucket has started (the hook of the last gradient of this backward),
  the reducer waits for all of them and writes the averages back into ``param.grad``
  in place. So ``loss.backward()`` returns with averaged gradients, as in PyTorch,
  before ``optimizer.step()`` reads them. (PyTorch queues this at the end of the
  engine's run; here the last hook does it, which is the same point: no gradient of
  these parameters is produced after it.)
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..._tensor import Tensor
from ...autograd import grad_mode
from ...distributed.algorithms.join import Join, JoinHook, _GroupJoinable
from ...distributed.grad_bucket import GradBucket
from ...futures import Future
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

# PyTorch's defaults (torch.distributed: _DEFAULT_FIRST_BUCKET_BYTES, bucket_cap_mb=25).
_FIRST_BUCKET_BYTES = 1024 * 1024
_DEFAULT_BUCKET_MB = 25

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `tapegrad.nn.parallel.DistributedDataParallel`, and by "
    "making sure all `forward` function outputs participate in calculating loss. "
    "Parameters that did not receive a gradient on rank {rank}: {names}"
)


class _Bucket:
    """Gradients of some parameters, reduced together in one flat buffer."""

    def __init__(self, index: int, indices: list[int], params: list[Tensor]) -> None:
        self.index = index  # the order in which buckets are reduced
        self.indices = indices
        dtype = params[indices[0]]._data.dtype
        self.sizes = [params[i]._data.size for i in indices]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.buffer = np.zeros(int(self.offsets[-1]), dtype=dtype)
        self.pending = len(indices)
        self.request: Any = None
        self.future: Any = None  # a communication hook's result


def _output_tensors(output: Any) -> Iterator[Tensor]:
    if isinstance(output, Tensor):
        yield output
    elif isinstance(output, (list, tuple)):
        for o in output:
            yield from _output_tensors(o)
    elif isinstance(output, dict):
        for o in output.values():
            yield from _output_tensors(o)


def _reachable_leaves(output: Any) -> set[int]:
    """ids of the leaf tensors whose gradient the graph of ``output`` reaches."""
    seen: set[int] = set()
    leaves: set[int] = set()
    stack = [t.grad_fn for t in _output_tensors(output) if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.add(id(variable))
        for nxt, _ in node.next_functions or ():
            if nxt is not None and id(nxt) not in seen:
                stack.append(nxt)
    return leaves


class DistributedDataParallel(Module, _GroupJoinable):
    """Data-parallel training over the ranks of a process group
    (``torch.nn.parallel.DistributedDataParallel``).

    Construction broadcasts rank 0's parameters and buffers to every rank. Each rank
    runs forward and backward on its own part of the batch; backward averages the
    gradients over the ranks (in buckets of ``bucket_cap_mb``, reduced with
    non-blocking MPI while backward goes on), so that after ``optimizer.step()`` every
    replica holds the same weights. ``no_sync()`` skips the averaging (gradient
    accumulation); ``forward_sync_buffers`` copies rank 0's buffers (batch-norm running
    statistics) before each forward; ``find_unused_parameters`` allows parameters that
    a forward pass does not use. ``.module`` is the wrapped model, and ``state_dict``
    keys carry the ``module.`` prefix, as in PyTorch. ``register_comm_hook`` replaces
    the averaging of each bucket by a hook (``ddp_comm_hooks.default_hooks``);
    ``join()`` trains on uneven inputs (``torch.distributed.algorithms.Join``).
    ``gradient_as_bucket_view`` and ``static_graph`` are accepted and change nothing in
    the results (they only save memory or work in PyTorch):

        dist.init_process_group("mpi")
        model = DistributedDataParallel(Net())
        loss_fn(model(inputs), targets).backward()   # gradients averaged over ranks
        optimizer.step()

    Args:
        module: the model to replicate; it needs a parameter that requires grad.
        device_ids: must be empty or ``None``: tapegrad modules are on the CPU.
        output_device: must be ``None``: tapegrad modules are on the CPU.
        dim: the batch dimension, stored as ``.dim``; the batch is not split here.
        broadcast_buffers: deprecated name of ``forward_sync_buffers`` (a ``FutureWarning``).
        init_sync: broadcast rank 0's parameters and buffers at construction, after checking that
            every rank wraps the same architecture.
        process_group: the group to average over; ``None`` means the default group.
        bucket_cap_mb: size of a gradient bucket in MiB (``None`` means the default, 25).
        find_unused_parameters: allow parameters that a forward pass does not use.
        check_reduction: accepted for PyTorch's signature; ignored.
        gradient_as_bucket_view: accepted; changes nothing in the results.
        static_graph: accepted; changes nothing in the results.
        delay_all_reduce_named_params: accepted for PyTorch's signature; ignored.
        param_to_hook_all_reduce: accepted for PyTorch's signature; ignored.
        mixed_precision: accepted for PyTorch's signature; ignored.
        device_mesh: accepted for PyTorch's signature; ignored.
        skip_all_reduce_unused_params: accepted for PyTorch's signature; ignored.
        bucket_cap_mb_list: sizes in MiB of the successive buckets (the last repeats).
        batched_grad_copy: accepted for PyTorch's signature; ignored.
        forward_sync_buffers: copy rank 0's buffers to every rank before each forward; ``None``
            means ``broadcast_buffers`` or True.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool | None = None,
        init_sync: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        delay_all_reduce_named_params: Any = None,
        param_to_hook_all_reduce: Any = None,
        mixed_precision: Any = None,
        device_mesh: Any = None,
        skip_all_reduce_unused_params: bool = False,
        bucket_cap_mb_list: list[float] | None = None,
        batched_grad_copy: bool = False,
        forward_sync_buffers: bool | None = None,
    ) -> None:
        from ... import distributed as dist
        from ...distributed.process_group import _group

        super().__init__()
        _GroupJoinable.__init__(self)
        group = _group(process_group)
        if group is None:
            raise ValueError("DistributedDataParallel: this rank is not in process_group")
        ignore = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        named = [(n, p) for n, p in module.named_parameters() if n not in ignore]
        if not any(p.requires_grad for _, p in named):
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any "
                "parameter that requires a gradient."
            )
        if device_ids or output_device is not None:
            devices = {p.device for _, p in named}
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work "
                "with single-device/multiple-device GPU modules or CPU modules, but got "
                f"device_ids {device_ids}, output_device {output_device}, and module "
                f"parameters {devices}."
            )
        self.module = module
        self.device_ids = None
        self.output_device = None
        self.dim = dim
        if broadcast_buffers is not None:
            warnings.warn(
                "`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead"
                + (" (its value is ignored when `forward_sync_buffers` is provided)."
                   if forward_sync_buffers is not None else "."),
                FutureWarning,
                stacklevel=2,
            )  # fmt: skip
        if forward_sync_buffers is not None:
            self.forward_sync_buffers = forward_sync_buffers
            init_sync_buffers = True
        else:
            self.forward_sync_buffers = True if broadcast_buffers is None else broadcast_buffers
            init_sync_buffers = self.forward_sync_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.process_group = group
        self.bucket_bytes_cap = int((bucket_cap_mb or _DEFAULT_BUCKET_MB) * 1024 * 1024)
        # Caps of the successive buckets (the last one repeats), as PyTorch's list.
        self._bucket_caps = [int(mb * 1024 * 1024) for mb in bucket_cap_mb_list or ()]
        self.parameters_to_ignore = ignore
        # A communicator of its own: gradient reductions in flight never interleave with
        # the user's collectives (or SyncBatchNorm's) on the group's communicator.
        MPI = dist._mpi.mpi()
        self._comm = group.comm.Dup()
        self._comm.Set_errhandler(MPI.ERRORS_RETURN)
        self._world = group.size()
        self._rank = group.rank()
        self._names = [n for n, p in named if p.requires_grad]
        self._params = [p for _, p in named if p.requires_grad]
        self._buffers_list = [
            b for n, b in module.named_buffers() if n not in ignore and b is not None
        ]
        if init_sync:
            self._verify_same_model(named)
            states = [p for _, p in named] + (self._buffers_list if init_sync_buffers else [])
            self._sync_module_states(states)
        self._buckets = self._build_buckets()
        self._bucket_of = {}
        for b, bucket in enumerate(self._buckets):
            for i in bucket.indices:
                self._bucket_of[i] = b
        self._armed = False
        self._started = False
        self._ready: list[bool] = [False] * len(self._params)
        self._next_bucket = 0
        self._unused: list[int] = []
        self._used_map = np.ones(len(self._params), dtype=np.int32)
        self._marked_unused = False
        self._comm_hook: Any = None
        self._comm_hook_state: Any = None
        self._join_work: Any = None  # this iteration's announcement to the join context
        self._divide_by_initial_world_size = True
        me = weakref.ref(self)
        self._hook_handles = [
            p.register_post_accumulate_grad_hook(_Hook(me, i)) for i, p in enumerate(self._params)
        ]

    # -- construction ------------------------------------------------------------------

    def _verify_same_model(self, named: list) -> None:
        """Every rank must wrap the same architecture: compare shapes and dtypes."""
        text = ";".join(f"{tuple(p.shape)}:{p._data.dtype}" for _, p in named)
        mine = np.array([len(named), zlib.crc32(text.encode())], dtype=np.int64)
        every = np.empty((self._world, 2), dtype=np.int64)
        self._blocking("DistributedDataParallel (model check)", self._comm.Allgather, mine, every)
        for r, (count, crc) in enumerate(every.tolist()):
            if count != mine[0]:
                raise RuntimeError(
                    f"DDP expects same model across all ranks, but Rank {self._rank} has "
                    f"{mine[0]} params, while rank {r} has inconsistent {count} params."
                )
            if crc != mine[1]:
                raise RuntimeError(
                    f"DDP expects same model across all ranks, but rank {self._rank} and rank "
                    f"{r} have parameters of different shapes or dtypes"
                )

    def _blocking(self, what: str, call, *args) -> Any:
        from ...distributed.collectives import _blocking

        return _blocking(self.process_group, what, lambda: call(*args))

    def _broadcast_from(self, tensors: list[Tensor], what: str, root: int = 0) -> None:
        """Rank ``root``'s values (default 0) into every rank's ``tensors``: one broadcast
        per dtype."""
        by_dtype: dict = {}
        for t in tensors:
            by_dtype.setdefault(t._data.dtype.str, []).append(t)
        for key in sorted(by_dtype):
            group = by_dtype[key]
            flat = np.concatenate([t._data.reshape(-1) for t in group])
            self._blocking(what, self._comm.Bcast, flat, root)
            start = 0
            for t in group:
                n = t._data.size
                if self._rank != root:
                    t._data[...] = flat[start : start + n].reshape(t._data.shape)
                    t._version_counter.v += 1
                start += n

    def _sync_module_states(self, tensors: list[Tensor]) -> None:
        if self._world > 1:
            self._broadcast_from(tensors, "DistributedDataParallel (broadcast of states)")

    def _build_buckets(self) -> list[_Bucket]:
        # Reverse order of registration (backward meets the last layers first); a small
        # first bucket so that communication starts early.
        buckets: list[_Bucket] = []
        current: dict = {}
        sizes: dict = {}
        for i in reversed(range(len(self._params))):
            d = self._params[i]._data
            key = d.dtype.str
            current.setdefault(key, []).append(i)
            sizes[key] = sizes.get(key, 0) + d.nbytes
            if self._bucket_caps:
                cap = self._bucket_caps[min(len(buckets), len(self._bucket_caps) - 1)]
            else:
                cap = _FIRST_BUCKET_BYTES if not buckets else self.bucket_bytes_cap
            if sizes[key] >= cap:
                buckets.append(_Bucket(len(buckets), current.pop(key), self._params))
                sizes[key] = 0
        for key in sorted(current):
            buckets.append(_Bucket(len(buckets), current[key], self._params))
        return buckets

    # -- forward -----------------------------------------------------------------------

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        sync = grad_mode.is_grad_enabled() and self.require_backward_grad_sync
        if sync and self._started:
            unready = [n for n, r in zip(self._names, self._ready) if not r]
            raise RuntimeError(_UNFINISHED.format(rank=self._rank, names=", ".join(unready)))
        joining = self._join_config.enable
        if joining:
            # Inside join(): announce that this rank still runs; the joined ranks shadow
            # the collectives below (see _DDPJoinHook.main_hook), in this order.
            if self._join_work is not None:
                self._join_work.wait()
            self._join_work = Join.notify_join_context(self)
        if self._will_sync_buffers():
            root = self._common_rank(True) if joining else 0
            self._broadcast_from(
                self._buffers_list, "DistributedDataParallel (broadcast of buffers)", root
            )
        if joining:
            self._backward_sync_flag(1.0 if self.require_backward_grad_sync else 0.0)
        output = self.module(*inputs, **kwargs)
        if sync:
            self.require_forward_param_sync = True
            self._prepare_for_backward(output)
        else:
            self.require_forward_param_sync = False
            self._armed = False
        return output

    def _will_sync_buffers(self) -> bool:
        return (
            self._world > 1
            and self.require_forward_param_sync
            and self.forward_sync_buffers
            and bool(self._buffers_list)
        )

    def _common_rank(self, candidate: bool) -> int:
        """The largest rank among those passing ``candidate`` (PyTorch's
        ``_find_common_rank``): the rank whose buffers or weights the others take."""
        mine = np.array([self._rank if candidate else -1], dtype=np.int64)
        out = np.empty(1, dtype=np.int64)
        MPI = _mpi()
        self._blocking("DistributedDataParallel (join)", self._comm.Allreduce, mine, out, MPI.MAX)
        if out[0] < 0:
            raise RuntimeError("DistributedDataParallel.join: no rank qualified as the source")
        return int(out[0])

    def _backward_sync_flag(self, mine: float) -> float:
        """Sum over the ranks of ``mine`` (1.0 for a rank whose next backward averages)."""
        buf = np.array([mine], dtype=np.float32)
        MPI = _mpi()
        self._blocking(
            "DistributedDataParallel (join)", self._comm.Allreduce, MPI.IN_PLACE, buf, MPI.SUM
        )
        return float(buf[0])

    @property
    def broadcast_buffers(self) -> bool:
        """Whether rank 0's buffers are copied to every rank before each forward."""
        return self.forward_sync_buffers

    def _prepare_for_backward(self, output: Any) -> None:
        self._armed = True
        self._started = False
        self._ready = [False] * len(self._params)
        self._next_bucket = 0
        self._marked_unused = False
        for bucket in self._buckets:
            bucket.pending = len(bucket.indices)
            bucket.request = None
        self._unused = []
        if self.find_unused_parameters:
            reached = _reachable_leaves(output)
            self._unused = [i for i, p in enumerate(self._params) if id(p) not in reached]
            self._used_map = np.ones(len(self._params), dtype=np.int32)
            self._used_map[self._unused] = 0

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward accumulates gradients locally, with no communication; the
        first synchronised backward after it averages the accumulated gradients
        (``DistributedDataParallel.no_sync``)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def register_comm_hook(self, state: object, hook: Callable[..., Future]) -> None:
        """Reduce each gradient bucket with ``hook(state, bucket)`` instead of the
        built-in averaging (``DistributedDataParallel.register_comm_hook``).

        The hook gets a ``tapegrad.distributed.GradBucket`` (the local gradients, not
        divided by the world size) and returns a ``tapegrad.futures.Future`` of a tensor
        of the bucket's size; DDP waits for it at the end of backward and writes it into
        the parameters' ``.grad``. ``ddp_comm_hooks.default_hooks`` has PyTorch's
        (``allreduce_hook``, ``fp16_compress_hook``, ``bf16_compress_hook``).

        Args:
            state: passed to every call of the hook (e.g. a process group).
            hook: ``hook(state, bucket) -> Future[Tensor]``.
        """
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        if self._comm_hook is not None:
            raise RuntimeError(
                "register_comm_hook or register_builtin_comm_hook can only be called once."
            )
        self._comm_hook, self._comm_hook_state = hook, state

    def _set_static_graph(self) -> None:
        """Declare the graph static after construction (PyTorch's ``_set_static_graph``,
        the older spelling of ``static_graph=True``): it changes nothing in the results."""
        if self.static_graph:
            warnings.warn(
                "You've set static_graph to be True, no need to set it again.", stacklevel=2
            )
            return
        self.static_graph = True

    def join(
        self,
        divide_by_initial_world_size: bool = True,
        enable: bool = True,
        throw_on_early_termination: bool = False,
    ) -> Join:
        """The context manager for ranks with different numbers of batches
        (``DistributedDataParallel.join``): a rank that runs out shadows the others'
        gradient all-reduces until all have run out; then every rank takes the weights
        of the last rank to finish.

        Args:
            divide_by_initial_world_size: average gradients over the whole world (True) or
                over the ranks still running (False).
            enable: False makes the context a no-op.
            throw_on_early_termination: raise on every rank once one runs out.
        """
        return Join(
            [self],
            enable,
            throw_on_early_termination,
            divide_by_initial_world_size=divide_by_initial_world_size,
        )

    def join_hook(self, **kwargs: Any) -> JoinHook:
        """What a joined rank runs for this model (``Joinable.join_hook``)."""
        divide = kwargs.get("divide_by_initial_world_size", True)
        return _DDPJoinHook(self, divide)

    # -- backward: called by each parameter's post-accumulate-grad hook -----------------

    def _mark_ready(self, index: int) -> None:
        if not self._armed:
            return
        self._started = True
        if not self._marked_unused:
            self._marked_unused = True
            for i in self._unused:
                self._mark_one(i)
        self._mark_one(index)
        # Drive the reductions in flight (MPI progresses them only inside MPI calls).
        pending = [b.request for b in self._buckets[: self._next_bucket] if b.request]
        if pending:
            pending[0].Testall(pending)

    def _mark_one(self, index: int) -> None:
        if self._ready[index]:
            if index in self._unused:
                return
            raise RuntimeError(
                f"Expected to mark a variable ready only once. Parameter {self._names[index]} "
                "received two gradients in one backward pass: use static_graph=True or "
                "find_unused_parameters=False, and do not reuse a graph across backward calls"
            )
        self._ready[index] = True
        bucket = self._buckets[self._bucket_of[index]]
        bucket.pending -= 1
        while self._next_bucket < len(self._buckets):
            nxt = self._buckets[self._next_bucket]
            if nxt.pending:
                break
            self._launch(nxt)
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets):
            self._finalize()

    def _divisor(self) -> int:
        """What the summed gradients are divided by: the world size, or inside
        ``join(divide_by_initial_world_size=False)`` the number of ranks still running."""
        if self._join_work is not None and not self._divide_by_initial_world_size:
            self._join_work.wait()
            return max(1, int(self._join_work.result()[0]._data[0]))
        return self._world

    def _launch(self, bucket: _Bucket) -> None:
        MPI = _mpi()
        buf = bucket.buffer
        hook = self._comm_hook
        # Scale by 1 / world_size while copying into the bucket, then sum over the ranks:
        # PyTorch's Reducer does the same (same rounding; half precision stays in range).
        # A communication hook gets the gradients as they are and does its own scaling.
        divisor = 1 if hook is not None else self._divisor()
        for i, start, stop in zip(bucket.indices, bucket.offsets[:-1], bucket.offsets[1:]):
            grad = self._params[i].grad
            if grad is None:
                buf[start:stop] = 0
            elif divisor > 1:
                np.multiply(
                    grad._data.reshape(-1), 1.0 / divisor, out=buf[start:stop], casting="unsafe"
                )
            else:
                buf[start:stop] = grad._data.reshape(-1)
        if hook is not None:
            bucket.future = self._run_hook(bucket, buf)
        elif self._world > 1:
            bucket.request = self._comm.Iallreduce(MPI.IN_PLACE, buf, MPI.SUM)

    def _run_hook(self, bucket: _Bucket, buf: np.ndarray) -> Future:
        grad_bucket = GradBucket(
            bucket.index,
            Tensor._make(buf),
            [self._params[i] for i in bucket.indices],
            bucket.offsets.tolist(),
            bucket.index == len(self._buckets) - 1,
        )
        fut = self._comm_hook(self._comm_hook_state, grad_bucket)
        if not isinstance(fut, Future):
            raise RuntimeError(
                "Communication hook: expected a tapegrad.futures.Future (e.g. "
                f"`work.get_future()`), got {type(fut).__name__}"
            )
        return fut

    def _hook_result(self, bucket: _Bucket) -> np.ndarray:
        value = bucket.future.wait()
        bucket.future = None
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        if not isinstance(value, Tensor) or value.numel() != bucket.buffer.size:
            raise RuntimeError(
                f"Communication hook: the future must hold a tensor of {bucket.buffer.size} "
                f"elements (the bucket's), got {getattr(value, 'shape', type(value).__name__)}"
            )
        return value._data.reshape(-1)

    def _wait_reductions(self, requests: list, used: np.ndarray | None, what: str) -> None:
        """Wait, under the watchdog, for ``requests`` and, when ``used`` is given, for the
        all-reduce (MAX) of the used-parameter map, started after them on every rank."""
        from ...distributed.process_group import watchdog

        MPI = _mpi()
        if used is not None:
            requests = requests + [self._comm.Iallreduce(MPI.IN_PLACE, used, MPI.MAX)]
        dog = watchdog()
        if dog is not None:
            dog.enter(what)
        try:
            MPI.Request.Waitall(requests)
        finally:
            if dog is not None:
                dog.leave()

    def _finalize(self) -> None:
        self._armed = False
        self._started = False
        used = None
        if self.find_unused_parameters and self._world > 1:
            used = self._used_map.copy()
        requests = [b.request for b in self._buckets if b.request is not None]
        self._wait_reductions(requests, used, "DistributedDataParallel gradient all-reduce")
        if self._join_work is not None:
            self._join_work.wait()
            self._join_work = None
        if used is None and self.find_unused_parameters:
            used = self._used_map
        for bucket in self._buckets:
            bucket.request = None
            flat = bucket.buffer if bucket.future is None else self._hook_result(bucket)
            for i, start, stop in zip(bucket.indices, bucket.offsets[:-1], bucket.offsets[1:]):
                if used is not None and not used[i]:
                    continue  # unused on every rank: its .grad stays as it was
                p = self._params[i]
                values = flat[start:stop].reshape(p._data.shape)
                if p.grad is None:
                    p.grad = Tensor._make(values.copy())
                else:
                    p.grad._data[...] = values
                    p.grad._version_counter.v += 1

    def _shadow_backward(self) -> None:
        """On a joined rank: the collectives of one backward of the ranks still running,
        with zero gradients (PyTorch's ``_match_all_reduce_for_bwd_pass``)."""
        MPI = _mpi()
        requests = []
        for bucket in self._buckets:
            bucket.buffer[...] = 0
            if self._comm_hook is not None:
                bucket.future = self._run_hook(bucket, bucket.buffer)
            elif self._world > 1:
                requests.append(self._comm.Iallreduce(MPI.IN_PLACE, bucket.buffer, MPI.SUM))
        used = None
        if self.find_unused_parameters and self._world > 1:
            used = np.zeros(len(self._params), dtype=np.int32)
        self._wait_reductions(
            requests, used, "DistributedDataParallel.join (shadowed gradient all-reduce)"
        )
        for bucket in self._buckets:
            if bucket.future is not None:
                self._hook_result(bucket)

    def extra_repr(self) -> str:
        return f"world_size={self._world}, bucket_cap_mb={self.bucket_bytes_cap / 2**20:g}"


def _mpi():
    from ...distributed import _mpi as m

    return m.mpi()


class _Hook:
    """A parameter's post-accumulate-grad hook; holds the DDP weakly (no cycle)."""

    def __init__(self, owner: weakref.ref, index: int) -> None:
        self.owner = owner
        self.index = index

    def __call__(self, param: Tensor) -> None:
        ddp = self.owner()
        if ddp is not None:
            ddp._mark_ready(self.index)


class _DDPJoinHook(JoinHook):
    """What a rank that has run out of inputs does for its DDP inside ``join()``."""

    def __init__(self, ddp: DistributedDataParallel, divide_by_initial_world_size: bool) -> None:
        self.ddp = ddp
        ddp._divide_by_initial_world_size = divide_by_initial_world_size

    def main_hook(self) -> None:
        """Shadow one iteration of the running ranks: the buffer broadcast of their
        forward, whether their backward averages, and its gradient all-reduces."""
        ddp = self.ddp
        if ddp._will_sync_buffers():
            root = ddp._common_rank(False)
            ddp._broadcast_from(
                ddp._buffers_list, "DistributedDataParallel.join (broadcast of buffers)", root
            )
        should_sync = ddp._backward_sync_flag(0.0) != 0
        ddp.require_forward_param_sync = should_sync
        if should_sync:
            ddp._shadow_backward()

    def post_hook(self, is_last_joiner: bool) -> None:
        """Every rank takes the parameters (and buffers) of the last rank to join."""
        ddp = self.ddp
        root = ddp._common_rank(is_last_joiner)
        if ddp._world > 1:
            ignore = ddp.parameters_to_ignore
            states = [p for n, p in ddp.module.named_parameters() if n not in ignore]
            if ddp.forward_sync_buffers:
                states += ddp._buffers_list
            ddp._broadcast_from(states, "DistributedDataParallel.join (final model)", root)
