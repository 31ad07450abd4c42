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
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..._tensor import Tensor
from ...autograd import grad_mode
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

    def __init__(self, indices: list[int], params: list[Tensor]) -> None:
        self.indices = indices
        dtype = params[indices[0]]._data.dtype
        self.sizes = [params[i]._data.size for i in indices]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.buffer = np.zeros(int(self.offsets[-1]), dtype=dtype)
        self.pending = len(indices)
        self.request: Any = None


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


class DistributedDataParallel(Module):
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
    keys carry the ``module.`` prefix, as in PyTorch. ``gradient_as_bucket_view`` and
    ``static_graph`` are accepted and change nothing in the results (they only save
    memory or work in PyTorch); communication hooks and ``join()`` are not provided:

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

    def _broadcast_from_rank0(self, tensors: list[Tensor], what: str) -> None:
        """Rank 0's values into every rank's ``tensors``: one broadcast per dtype."""
        by_dtype: dict = {}
        for t in tensors:
            by_dtype.setdefault(t._data.dtype.str, []).append(t)
        for key in sorted(by_dtype):
            group = by_dtype[key]
            flat = np.concatenate([t._data.reshape(-1) for t in group])
            self._blocking(what, self._comm.Bcast, flat, 0)
            start = 0
            for t in group:
                n = t._data.size
                if self._rank != 0:
                    t._data[...] = flat[start : start + n].reshape(t._data.shape)
                    t._version_counter.v += 1
                start += n

    def _sync_module_states(self, tensors: list[Tensor]) -> None:
        if self._world > 1:
            self._broadcast_from_rank0(tensors, "DistributedDataParallel (broadcast of states)")

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
                buckets.append(_Bucket(current.pop(key), self._params))
                sizes[key] = 0
        for key in sorted(current):
            buckets.append(_Bucket(current[key], self._params))
        return buckets

    # -- forward -----------------------------------------------------------------------

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        sync = grad_mode.is_grad_enabled() and self.require_backward_grad_sync
        if sync and self._started:
            unready = [n for n, r in zip(self._names, self._ready) if not r]
            raise RuntimeError(_UNFINISHED.format(rank=self._rank, names=", ".join(unready)))
        if self.require_forward_param_sync and self.forward_sync_buffers and self._buffers_list:
            if self._world > 1:
                self._broadcast_from_rank0(
                    self._buffers_list, "DistributedDataParallel (broadcast of buffers)"
                )
        output = self.module(*inputs, **kwargs)
        if sync:
            self.require_forward_param_sync = True
            self._prepare_for_backward(output)
        else:
            self.require_forward_param_sync = False
            self._armed = False
        return output

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

    def _launch(self, bucket: _Bucket) -> None:
        MPI = _mpi()
        buf = bucket.buffer
        # Scale by 1 / world_size while copying into the bucket, then sum over the ranks:
        # PyTorch's Reducer does the same (same rounding; half precision stays in range).
        scale = 1.0 / self._world
        for i, start, stop in zip(bucket.indices, bucket.offsets[:-1], bucket.offsets[1:]):
            grad = self._params[i].grad
            if grad is None:
                buf[start:stop] = 0
            elif self._world > 1:
                np.multiply(grad._data.reshape(-1), scale, out=buf[start:stop], casting="unsafe")
            else:
                buf[start:stop] = grad._data.reshape(-1)
        if self._world > 1:
            bucket.request = self._comm.Iallreduce(MPI.IN_PLACE, buf, MPI.SUM)

    def _finalize(self) -> None:
        from ...distributed.process_group import watchdog

        self._armed = False
        self._started = False
        MPI = _mpi()
        used = None
        requests = [b.request for b in self._buckets if b.request is not None]
        if self.find_unused_parameters and self._world > 1:
            used = self._used_map.copy()
            requests.append(self._comm.Iallreduce(MPI.IN_PLACE, used, MPI.MAX))
        dog = watchdog()
        if dog is not None:
            dog.enter("DistributedDataParallel gradient all-reduce")
        try:
            MPI.Request.Waitall(requests)
        finally:
            if dog is not None:
                dog.leave()
        if used is None and self.find_unused_parameters:
            used = self._used_map
        for bucket in self._buckets:
            bucket.request = None
            for i, start, stop in zip(bucket.indices, bucket.offsets[:-1], bucket.offsets[1:]):
                if used is not None and not used[i]:
                    continue  # unused on every rank: its .grad stays as it was
                p = self._params[i]
                values = bucket.buffer[start:stop].reshape(p._data.shape)
                if p.grad is None:
                    p.grad = Tensor._make(values.copy())
                else:
                    p.grad._data[...] = values
                    p.grad._version_counter.v += 1

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
