"""Collective and point-to-point communication on tensors, over MPI
(``torch.distributed``'s ``all_reduce``, ``broadcast``, ``send``... ).

Every collective runs as non-blocking MPI calls wrapped in a ``Work``; with
``async_op=True`` the ``Work`` is returned and ``work.wait()`` completes it, otherwise
it is waited for at once. Before each collective the ranks exchange a small header
(which collective, dtype, shape), so that ranks passing different tensors get a
``RuntimeError`` on every rank instead of garbage or a hang.

Ranks (``src``, ``dst``) are global ranks, as in PyTorch, also for a ``new_group``.
"""

from __future__ import annotations

import datetime
import enum
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..futures import Future
from . import _mpi
from .process_group import ProcessGroup, _group, watchdog

__all__ = [
    "ReduceOp",
    "RedOpType",
    "Work",
    "all_reduce",
    "reduce",
    "broadcast",
    "all_gather",
    "all_gather_into_tensor",
    "gather",
    "scatter",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "all_to_all",
    "all_to_all_single",
    "send",
    "recv",
    "isend",
    "irecv",
    "P2POp",
    "batch_isend_irecv",
    "barrier",
    "broadcast_object_list",
    "all_gather_object",
    "gather_object",
    "scatter_object_list",
]


class RedOpType(enum.IntEnum):
    """The reduction operations (``torch.distributed.ReduceOp.RedOpType``)."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


class ReduceOp:
    """How ``all_reduce`` and friends combine tensors (``torch.distributed.ReduceOp``)."""

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    RedOpType = RedOpType


# PyTorch's names of integer dtypes, for its "can't be cast" message.
_TORCH_NAMES = {
    "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
    "bool": "Bool",
}  # fmt: skip


def _mpi_op(op: Any, dtype: np.dtype, name: str):
    MPI = _mpi.mpi()
    try:
        op = RedOpType(op)
    except ValueError:
        raise ValueError(f"{name}: unknown reduce op {op!r}; use a ReduceOp member") from None
    if dtype == np.bool_:
        table = {
            RedOpType.SUM: MPI.LOR, RedOpType.MAX: MPI.LOR, RedOpType.BOR: MPI.LOR,
            RedOpType.PRODUCT: MPI.LAND, RedOpType.MIN: MPI.LAND, RedOpType.BAND: MPI.LAND,
            RedOpType.BXOR: MPI.LXOR,
        }  # fmt: skip
        if op not in table:
            raise RuntimeError(f"{name}: ReduceOp.{op.name} is not supported for bool tensors")
        return table[op]
    if op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR) and dtype.kind not in "iu":
        raise RuntimeError(f"{name}: Cannot use ReduceOp.{op.name} with non-integral dtype")
    if op is RedOpType.AVG and dtype.kind in "iu":
        raise RuntimeError(
            f"{name} with ReduceOp.AVG: result type Float can't be cast to the desired output "
            f"type {_TORCH_NAMES.get(dtype.name, dtype.name)}"
        )
    if op in (RedOpType.MIN, RedOpType.MAX) and dtype.kind == "c":
        raise RuntimeError(f"{name}: ReduceOp.{op.name} is not supported for complex tensors")
    return {
        RedOpType.SUM: MPI.SUM, RedOpType.AVG: MPI.SUM, RedOpType.PRODUCT: MPI.PROD,
        RedOpType.MIN: MPI.MIN, RedOpType.MAX: MPI.MAX, RedOpType.BAND: MPI.BAND,
        RedOpType.BOR: MPI.BOR, RedOpType.BXOR: MPI.BXOR,
    }[op]  # fmt: skip


class Work:
    """A communication in flight (``torch.distributed.Work``): ``wait()`` blocks until it
    has completed and its results are in the output tensors.

    Args:
        requests: the MPI requests of the communication.
        finish: optional function run once they have completed (copying received data into the
            output tensors).
        what: the collective's name, used in error messages.
        outputs: the output tensors, which ``result()`` returns.
    """

    def __init__(
        self,
        requests: list,
        finish: Callable[[], None] | None = None,
        what: str = "collective",
        outputs: list | None = None,
    ) -> None:
        self._requests = requests
        self._finish = finish
        self._what = what
        self._outputs = outputs or []
        self._done = False
        self._source: int | None = None
        self._statuses: list | None = None

    def wait(self, timeout: Any = None) -> bool:
        """Block until the communication has completed; True on success."""
        if self._done:
            return True
        dog = watchdog()
        if dog is not None:
            dog.enter(self._what)
        try:
            if self._statuses is None:
                _mpi.mpi().Request.Waitall(self._requests)
            else:
                _mpi.mpi().Request.Waitall(self._requests, self._statuses)
        except _mpi.mpi().Exception as e:
            raise RuntimeError(f"{self._what} failed in MPI: {e}") from None
        finally:
            if dog is not None:
                dog.leave()
        self._complete()
        return True

    def _complete(self) -> None:
        self._done = True
        self._requests = []
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def is_completed(self) -> bool:
        """Whether the communication has completed (does not block)."""
        if self._done:
            return True
        if self._statuses is None:
            ready = _mpi.mpi().Request.Testall(self._requests)
        else:
            ready = _mpi.mpi().Request.Testall(self._requests, self._statuses)
        if ready:
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def exception(self) -> None:
        return None

    def result(self) -> list:
        """The output tensors."""
        return self._outputs

    def get_future(self) -> Future:
        """A ``tapegrad.futures.Future`` completed with the output tensors when the
        communication completes (``Work.get_future``); ``then`` chains work on them, as
        DDP communication hooks do."""
        fut: Future = Future()

        def complete() -> None:
            if not fut._done:
                fut.set_result(self._outputs)

        def drive() -> None:
            try:
                self.wait()
            except BaseException as e:  # noqa: BLE001 - handed to the future
                if not fut._done:
                    fut.set_exception(e)
                return
            complete()

        def poll() -> None:
            if self.is_completed():
                complete()

        fut._driver, fut._poll = drive, poll
        if self._done:
            complete()
        return fut

    def _source_rank(self) -> int:
        return self._source if self._source is not None else -1

    def __repr__(self) -> str:
        return f"Work({self._what}, completed={self._done})"


def _check_tensor(t: Any, param: str, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{param}` of type tapegrad.Tensor "
            f"but got {type(t)} instead (in {name})."
        )


def _check_list(ts: Any, param: str, name: str) -> None:
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{param}` of type "
            f"List[tapegrad.Tensor] but got {type(ts)} instead (in {name})."
        )


def _buffer(t: Tensor) -> np.ndarray:
    """A C-contiguous array with ``t``'s values (``t``'s own memory when possible)."""
    d = t._data
    return d if d.flags.c_contiguous else np.ascontiguousarray(d)


def _write(t: Tensor, values: np.ndarray) -> None:
    """Put ``values`` into ``t`` in place (a no-op copy when they already share memory)."""
    d = t._data
    if values is not d:
        np.copyto(d, values.reshape(d.shape), casting="unsafe")
    t._version_counter.v += 1


_DTYPES = {
    np.dtype(t).num: np.dtype(t)
    for t in ("bool", "int8", "uint8", "int16", "int32", "int64", "float16", "float32",
              "float64", "complex64", "complex128")
}  # fmt: skip


def _describe(sig: np.ndarray) -> str:
    ndim = int(sig[2])
    dtype = _DTYPES.get(int(sig[1]), "?")
    shape = [int(s) for s in sig[3 : 3 + ndim]] if ndim <= 8 else f"{ndim} dims"
    return f"{dtype} {shape}"


def _signature(name: str, t: Tensor | None) -> np.ndarray:
    sig = np.zeros(12, dtype=np.int64)
    sig[0] = zlib.crc32(name.encode())
    if t is not None:
        d = t._data
        sig[1] = d.dtype.num
        sig[2] = d.ndim
        shape = d.shape if d.ndim <= 8 else (zlib.crc32(repr(d.shape).encode()),)
        sig[3 : 3 + len(shape)] = shape
    else:
        sig[1] = -1
    return sig


def _agree(g: ProcessGroup, name: str, t: Tensor | None, check_shape: bool = True) -> None:
    """Raise the same RuntimeError on every rank when the ranks disagree on the collective,
    the dtype or (with ``check_shape``) the shape. ``t`` None: this rank sends nothing."""
    if g.size() == 1:
        return
    mine = _signature(name, t)
    everyone = np.empty((g.size(), mine.size), dtype=np.int64)
    _blocking(g, f"{name} (header)", lambda: g.comm.Allgather(mine, everyone))
    calls = set(everyone[:, 0].tolist())
    if len(calls) > 1:
        raise RuntimeError(
            f"{name}: the ranks called different collectives at the same point (rank "
            f"{g.rank()} called {name}); every rank must call the same collectives in the same "
            "order"
        )
    rows = everyone[everyone[:, 1] != -1]
    cols = slice(1, None) if check_shape else slice(1, 2)
    if len(rows) and (rows[:, cols] != rows[0, cols]).any():
        listing = ", ".join(
            f"rank {g.ranks[i]} {_describe(row)}" for i, row in enumerate(everyone) if row[1] != -1
        )
        what = "shape and dtype" if check_shape else "dtype"
        raise RuntimeError(
            f"{name}: the ranks passed tensors of different {what}: {listing}; every rank "
            f"must pass a tensor of the same {what}"
        )


def _blocking(g: ProcessGroup, what: str, call: Callable[[], Any]) -> Any:
    dog = watchdog()
    if dog is not None:
        dog.enter(what)
    try:
        return call()
    except _mpi.mpi().Exception as e:
        raise RuntimeError(f"{what} failed in MPI: {e}") from None
    finally:
        if dog is not None:
            dog.leave()


def _run(work: Work, async_op: bool) -> Work | None:
    if async_op:
        return work
    work.wait()
    return None


def _root(g: ProcessGroup, rank: int, name: str, role: str = "root") -> int:
    """The group rank of global rank ``rank``."""
    if not isinstance(rank, (int, np.integer)) or rank not in g.ranks:
        raise RuntimeError(
            f"{name}: invalid {role} rank: {rank} (the group's global ranks are {g.ranks})"
        )
    return g.ranks.index(int(rank))


def _skip(g: ProcessGroup | None, async_op: bool) -> Work | None:
    # A rank outside the group takes no part (PyTorch warns and returns None).
    return None


def all_reduce(
    tensor: Tensor,
    op: Any = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``tensor`` over all ranks, in place on every rank (``torch.distributed.all_reduce``).

    >>> t = tapegrad.tensor([float(dist.get_rank())])
    >>> dist.all_reduce(t)            # every rank now holds 0 + 1 + ... + (world_size - 1)

    Args:
        tensor: The tensor, modified in place where the operation writes.
        op: How values are combined: a ``ReduceOp`` (``SUM``, ``PRODUCT``, ``MIN``, ``MAX``,
            ``AVG``, ``BAND``, ``BOR``, ``BXOR``).
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_tensor(tensor, "tensor", "all_reduce")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    mop = _mpi_op(op, tensor._data.dtype, "all_reduce")
    _agree(g, "all_reduce", tensor)
    buf = _buffer(tensor)
    MPI = _mpi.mpi()
    req = g.comm.Iallreduce(MPI.IN_PLACE, buf, mop)

    def finish() -> None:
        if RedOpType(op) is RedOpType.AVG:
            np.divide(buf, g.size(), out=buf)
        _write(tensor, buf)

    return _run(Work([req], finish, "all_reduce", [tensor]), async_op)


def reduce(
    tensor: Tensor,
    dst: int = 0,
    op: Any = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``tensor`` over all ranks into rank ``dst``'s (``torch.distributed.reduce``).

    Args:
        tensor: The tensor, modified in place where the operation writes.
        dst: The rank that receives.
        op: How values are combined: a ``ReduceOp`` (``SUM``, ``PRODUCT``, ``MIN``, ``MAX``,
            ``AVG``, ``BAND``, ``BOR``, ``BXOR``).
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_tensor(tensor, "tensor", "reduce")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    root = _root(g, dst, "reduce")
    mop = _mpi_op(op, tensor._data.dtype, "reduce")
    _agree(g, "reduce", tensor)
    buf = _buffer(tensor)
    MPI = _mpi.mpi()
    me = g.rank()
    if me == root:
        req = g.comm.Ireduce(MPI.IN_PLACE, buf, mop, root=root)
    else:
        req = g.comm.Ireduce(buf, None, mop, root=root)

    def finish() -> None:
        if me == root:
            if RedOpType(op) is RedOpType.AVG:
                np.divide(buf, g.size(), out=buf)
            _write(tensor, buf)

    return _run(Work([req], finish, "reduce", [tensor]), async_op)


def broadcast(
    tensor: Tensor, src: int = 0, group: ProcessGroup | None = None, async_op: bool = False
) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into every rank's (``torch.distributed.broadcast``).

    Args:
        tensor: The tensor, modified in place where the operation writes.
        src: The rank that sends.
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_tensor(tensor, "tensor", "broadcast")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    root = _root(g, src, "broadcast")
    _agree(g, "broadcast", tensor)
    buf = _buffer(tensor)
    req = g.comm.Ibcast(buf, root=root)
    return _run(Work([req], lambda: _write(tensor, buf), "broadcast", [tensor]), async_op)


def _check_outputs(outputs: Sequence[Tensor], t: Tensor, g: ProcessGroup, name: str) -> None:
    if len(outputs) != g.size():
        raise RuntimeError(
            f"{name}: invalid output tensor list (expected length {g.size()}, one tensor per "
            f"rank, got {len(outputs)})"
        )
    for i, o in enumerate(outputs):
        if o.shape != t.shape or o._data.dtype != t._data.dtype:
            raise RuntimeError(
                f"{name}: invalid tensor at index {i} (expected {t._data.dtype} "
                f"{tuple(t.shape)}, got {o._data.dtype} {tuple(o.shape)})"
            )


def all_gather(
    tensor_list: list[Tensor],
    tensor: Tensor,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Every rank's ``tensor`` into ``tensor_list[rank]``, on every rank
    (``torch.distributed.all_gather``).

    Args:
        tensor_list: One tensor per rank, receiving each rank's ``tensor``.
        tensor: This rank's contribution.
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_list(tensor_list, "tensor_list", "all_gather")
    _check_tensor(tensor, "tensor", "all_gather")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    _check_outputs(tensor_list, tensor, g, "all_gather")
    _agree(g, "all_gather", tensor)
    src = _buffer(tensor)
    out = np.empty((g.size(),) + src.shape, dtype=src.dtype)
    req = g.comm.Iallgather(src, out)

    def finish() -> None:
        for t, part in zip(tensor_list, out):
            _write(t, part)

    return _run(Work([req], finish, "all_gather", list(tensor_list)), async_op)


def all_gather_into_tensor(
    output_tensor: Tensor,
    input_tensor: Tensor,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Every rank's ``input_tensor`` concatenated (or stacked) into ``output_tensor``
    (``torch.distributed.all_gather_into_tensor``).

    Args:
        output_tensor: Receives the ranks' inputs concatenated along dim 0 (or stacked).
        input_tensor: This rank's contribution.
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_tensor(output_tensor, "output_tensor", "all_gather_into_tensor")
    _check_tensor(input_tensor, "input_tensor", "all_gather_into_tensor")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    if output_tensor.numel() != g.size() * input_tensor.numel():
        raise ValueError(
            "all_gather_into_tensor: output tensor size must be equal to world_size times "
            f"input tensor size: got output {tuple(output_tensor.shape)}, input "
            f"{tuple(input_tensor.shape)}, world size {g.size()}"
        )
    if output_tensor._data.dtype != input_tensor._data.dtype:
        raise ValueError(
            "all_gather_into_tensor: output tensor must have the same type as input tensor: "
            f"got {output_tensor.dtype} and {input_tensor.dtype}"
        )
    _agree(g, "all_gather_into_tensor", input_tensor)
    src = _buffer(input_tensor)
    out = np.empty((g.size(),) + src.shape, dtype=src.dtype)
    req = g.comm.Iallgather(src, out)
    work = Work([req], lambda: _write(output_tensor, out), "all_gather_into_tensor")
    return _run(work, async_op)


def gather(
    tensor: Tensor,
    gather_list: list[Tensor] | None = None,
    dst: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Every rank's ``tensor`` into ``gather_list`` on ``dst`` (``torch.distributed.gather``).

    Args:
        tensor: The tensor, modified in place where the operation writes.
        gather_list: On ``dst``: one tensor per rank, receiving each rank's ``tensor``.
        dst: The rank that receives.
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_tensor(tensor, "tensor", "gather")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    root = _root(g, dst, "gather")
    me = g.rank()
    if me == root:
        if gather_list is None:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _check_list(gather_list, "gather_list", "gather")
        if len(gather_list) != g.size():
            raise RuntimeError(
                f"gather: Incorrect output list size {len(gather_list)}. Output list size should "
                f"be {g.size()}, same as size of the process group."
            )
        _check_outputs(gather_list, tensor, g, "gather")
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    _agree(g, "gather", tensor)
    src = _buffer(tensor)
    out = np.empty((g.size(),) + src.shape, dtype=src.dtype) if me == root else None
    req = g.comm.Igather(src, out, root=root)

    def finish() -> None:
        if out is not None:
            for t, part in zip(gather_list, out):
                _write(t, part)

    return _run(Work([req], finish, "gather", list(gather_list or [])), async_op)


def scatter(
    tensor: Tensor,
    scatter_list: list[Tensor] | None = None,
    src: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Rank ``src``'s ``scatter_list[i]`` into rank i's ``tensor`` (``dist.scatter``).

    Args:
        tensor: Receives this rank's part.
        scatter_list: On ``src``: one tensor per rank.
        src: The rank that sends.
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_tensor(tensor, "tensor", "scatter")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    root = _root(g, src, "scatter")
    me = g.rank()
    if me == root:
        if scatter_list is None:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        _check_list(scatter_list, "scatter_list", "scatter")
        _check_outputs(scatter_list, tensor, g, "scatter")
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    _agree(g, "scatter", tensor)
    out = np.empty(tensor._data.shape, dtype=tensor._data.dtype)
    if me == root:
        parts = np.stack([_buffer(t) for t in scatter_list])
        req = g.comm.Iscatter(parts, out, root=root)
    else:
        req = g.comm.Iscatter(None, out, root=root)
    return _run(Work([req], lambda: _write(tensor, out), "scatter", [tensor]), async_op)


def reduce_scatter(
    output: Tensor,
    input_list: list[Tensor],
    op: Any = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``input_list[i]`` over all ranks into rank i's ``output``
    (``torch.distributed.reduce_scatter``).

    Args:
        output: Receives the result.
        input_list: One tensor per rank: ``input_list[i]`` is reduced into rank i's ``output``.
        op: How values are combined: a ``ReduceOp`` (``SUM``, ``PRODUCT``, ``MIN``, ``MAX``,
            ``AVG``, ``BAND``, ``BOR``, ``BXOR``).
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_tensor(output, "output", "reduce_scatter")
    _check_list(input_list, "input_list", "reduce_scatter")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    _check_outputs(input_list, output, g, "reduce_scatter")
    mop = _mpi_op(op, output._data.dtype, "reduce_scatter")
    _agree(g, "reduce_scatter", output)
    parts = np.stack([_buffer(t) for t in input_list])
    out = np.empty(output._data.shape, dtype=output._data.dtype)
    req = g.comm.Ireduce_scatter_block(parts, out, mop)

    def finish() -> None:
        if RedOpType(op) is RedOpType.AVG:
            np.divide(out, g.size(), out=out)
        _write(output, out)

    return _run(Work([req], finish, "reduce_scatter", [output]), async_op)


def reduce_scatter_tensor(
    output: Tensor,
    input: Tensor,
    op: Any = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """``input`` split into world-size chunks along dim 0; chunk i reduced over all ranks
    into rank i's ``output`` (``torch.distributed.reduce_scatter_tensor``).

    Args:
        output: Receives the result.
        input: This rank's input.
        op: How values are combined: a ``ReduceOp`` (``SUM``, ``PRODUCT``, ``MIN``, ``MAX``,
            ``AVG``, ``BAND``, ``BOR``, ``BXOR``).
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_tensor(output, "output", "reduce_scatter_tensor")
    _check_tensor(input, "input", "reduce_scatter_tensor")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    if input.numel() != g.size() * output.numel():
        raise ValueError(
            "reduce_scatter_tensor: input tensor size must be equal to world_size times output "
            f"tensor size: got input {tuple(input.shape)}, output {tuple(output.shape)}, world "
            f"size {g.size()}"
        )
    chunks = list(_buffer(input).reshape(g.size(), *output.shape))
    return reduce_scatter(output, [Tensor._make(c) for c in chunks], op, group, async_op)


def all_to_all(
    output_tensor_list: list[Tensor],
    input_tensor_list: list[Tensor],
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Rank i's ``input_tensor_list[j]`` into rank j's ``output_tensor_list[i]``
    (``torch.distributed.all_to_all``).

    Args:
        output_tensor_list: Receives one tensor from each rank.
        input_tensor_list: One tensor to send to each rank.
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_list(output_tensor_list, "output_tensor_list", "all_to_all")
    _check_list(input_tensor_list, "input_tensor_list", "all_to_all")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    n = g.size()
    if len(output_tensor_list) != n or len(input_tensor_list) != n:
        raise RuntimeError(
            f"all_to_all: expected {n} input and {n} output tensors (one per rank), got "
            f"{len(input_tensor_list)} and {len(output_tensor_list)}"
        )
    dtypes = {t._data.dtype for t in [*input_tensor_list, *output_tensor_list]}
    if len(dtypes) != 1:
        raise RuntimeError(f"all_to_all: every tensor must have the same dtype, got {dtypes}")
    _agree(g, "all_to_all", input_tensor_list[0], check_shape=False)
    # What each rank will send me must fit what I expect: exchange the sizes first.
    send_counts = np.array([t.numel() for t in input_tensor_list], dtype=np.int64)
    expected = np.array([t.numel() for t in output_tensor_list], dtype=np.int64)
    incoming = np.empty(n, dtype=np.int64)
    _blocking(g, "all_to_all (sizes)", lambda: g.comm.Alltoall(send_counts, incoming))
    bad = np.nonzero(incoming != expected)[0]
    # Every rank learns whether any rank found a mismatch, so all raise together.
    flag = np.array([len(bad)], dtype=np.int64)
    _blocking(g, "all_to_all (sizes)", lambda: g.comm.Allreduce(_mpi.mpi().IN_PLACE, flag))
    if flag[0]:
        detail = "; ".join(
            f"rank {g.ranks[j]} sends {incoming[j]} elements, output_tensor_list[{j}] holds "
            f"{expected[j]}"
            for j in bad
        )
        raise RuntimeError(
            "all_to_all: the tensors rank i sends to rank j must have as many elements as "
            f"rank j's output_tensor_list[i]: {detail or 'mismatch on another rank'}"
        )
    dtype = dtypes.pop()
    send = np.concatenate([_buffer(t).reshape(-1) for t in input_tensor_list]).astype(dtype)
    recv = np.empty(int(expected.sum()), dtype=dtype)
    sdispl = np.concatenate([[0], np.cumsum(send_counts)[:-1]])
    rdispl = np.concatenate([[0], np.cumsum(expected)[:-1]])
    req = g.comm.Ialltoallv([send, (send_counts, sdispl)], [recv, (expected, rdispl)])

    def finish() -> None:
        for t, start, count in zip(output_tensor_list, rdispl, expected):
            _write(t, recv[start : start + count])

    return _run(Work([req], finish, "all_to_all", list(output_tensor_list)), async_op)


def all_to_all_single(
    output: Tensor,
    input: Tensor,
    output_split_sizes: list[int] | None = None,
    input_split_sizes: list[int] | None = None,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """``input`` split along dim 0, chunk j sent to rank j; received chunks concatenated
    into ``output`` (``torch.distributed.all_to_all_single``).

    Args:
        output: Receives the result.
        input: This rank's input.
        output_split_sizes: Rows received from each rank (default: equal).
        input_split_sizes: Rows sent to each rank (default: equal).
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    _check_tensor(output, "output", "all_to_all_single")
    _check_tensor(input, "input", "all_to_all_single")
    g = _group(group)
    if g is None:
        return _skip(g, async_op)
    n = g.size()

    def split(t: Tensor, sizes) -> list[Tensor]:
        rows = t.shape[0] if t.dim() else 0
        sizes = [rows // n] * n if sizes is None else list(sizes)
        if sum(sizes) != rows or len(sizes) != n or (rows % n and sizes == [rows // n] * n):
            raise ValueError(
                f"all_to_all_single: split sizes {sizes} do not divide dim 0 ({rows}) into "
                f"{n} parts"
            )
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        return [Tensor._make(t._data[bounds[i] : bounds[i + 1]]) for i in range(n)]

    outs = split(output, output_split_sizes)
    work = all_to_all(outs, split(input, input_split_sizes), group, async_op=True)

    def finish() -> None:
        output._version_counter.v += 1

    if work is not None:
        inner = work._finish
        work._finish = lambda: (inner and inner(), finish())
    return _run(work, async_op) if work is not None else None


def _peer(g: ProcessGroup, rank: int, name: str, role: str) -> int:
    peer = _root(g, rank, name, role)
    if peer == g.rank():
        raise ValueError(
            f"Invalid {role} rank: {role} rank should not be the same as the rank of the "
            "current process."
        )
    return peer


_HEADER = 10


def isend(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> Work | None:
    """Send ``tensor`` to rank ``dst`` without waiting (``torch.distributed.isend``).

    Args:
        tensor: The tensor to send.
        dst: The rank that receives.
        group: The process group (default: the whole job).
        tag: Matches sends with receives.

    Returns:
        A ``Work`` handle.
    """
    _check_tensor(tensor, "tensor", "isend")
    g = _group(group)
    if g is None:
        return None
    peer = _peer(g, dst, "isend", "destination")
    buf = _buffer(tensor).copy()
    header = _signature("p2p", tensor)[1 : _HEADER + 1].copy()
    reqs = [g.comm.Isend(header, peer, tag=tag), g.comm.Isend(buf, peer, tag=tag)]
    return Work(reqs, None, f"isend to rank {dst}", [tensor])


def send(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> None:
    """Send ``tensor`` to rank ``dst`` (``torch.distributed.send``).

    Args:
        tensor: The tensor to send.
        dst: The rank that receives.
        group: The process group (default: the whole job).
        tag: Matches sends with receives.
    """
    isend(tensor, dst, group, tag).wait()


def irecv(
    tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None, tag: int = 0
) -> Work | None:
    """Receive into ``tensor`` from rank ``src`` (any rank when None) without waiting
    (``torch.distributed.irecv``).

    Args:
        tensor: The tensor to receive into.
        src: The sending rank (``None``: any).
        group: The process group (default: the whole job).
        tag: Matches sends with receives.

    Returns:
        A ``Work`` handle.
    """
    _check_tensor(tensor, "tensor", "irecv")
    g = _group(group)
    if g is None:
        return None
    MPI = _mpi.mpi()
    peer = MPI.ANY_SOURCE if src is None else _peer(g, src, "irecv", "source")
    header = np.empty(_HEADER, dtype=np.int64)
    expected = _signature("p2p", tensor)[1 : _HEADER + 1]
    status = MPI.Status()
    work = Work([g.comm.Irecv(header, peer, tag=tag)], None, f"recv from rank {src}", [tensor])
    work._statuses = [status]

    def finish() -> None:
        # The data comes from the rank whose header arrived (src may be any rank).
        sender = status.Get_source()
        work._source = g.ranks[sender]
        same = (header == expected).all()
        if same:
            out = np.empty(tensor._data.shape, dtype=tensor._data.dtype)
        else:  # take the message anyway, so that the channel stays in step
            count = int(np.prod(header[2 : 2 + header[1]])) if 0 < header[1] <= 8 else 0
            out = np.empty(count, dtype=_DTYPES.get(int(header[0]), np.dtype(np.uint8)))
        _blocking(g, "recv", lambda: g.comm.Recv(out, sender, tag=tag))
        if not same:
            raise RuntimeError(
                f"recv: rank {work._source} sent {_describe(np.r_[0, header])} but the receiving "
                f"tensor is {_describe(np.r_[0, expected])}; send and recv need the same shape "
                "and dtype"
            )
        _write(tensor, out)

    work._finish = finish
    return work


def recv(
    tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None, tag: int = 0
) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender's
    rank (``torch.distributed.recv``).

    Args:
        tensor: The tensor to receive into.
        src: The sending rank (``None``: any).
        group: The process group (default: the whole job).
        tag: Matches sends with receives.

    Returns:
        The rank the tensor came from.
    """
    work = irecv(tensor, src, group, tag)
    if work is None:
        return -1
    work.wait()
    return work._source_rank()


class P2POp:
    """A point-to-point operation for ``batch_isend_irecv`` (``torch.distributed.P2POp``):
    ``op`` is ``isend`` or ``irecv``.

    Args:
        op: ``isend`` or ``irecv``.
        tensor: The tensor to send or to receive into.
        peer: The other rank.
        group: The process group (default: the whole job).
        tag: Matches sends with receives.
    """

    def __init__(
        self, op: Callable, tensor: Tensor, peer: int, group: ProcessGroup | None = None,
        tag: int = 0,
    ) -> None:  # fmt: skip
        if op not in (isend, irecv):
            raise ValueError(
                "Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                "``torch.distributed.irecv``."
            )
        _check_tensor(tensor, "tensor", "P2POp")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag


def batch_isend_irecv(p2p_op_list: list[P2POp]) -> list[Work]:
    """Start every send and receive of ``p2p_op_list``; one ``Work`` each
    (``torch.distributed.batch_isend_irecv``). Sends start first, so that ranks that
    exchange tensors both ways do not wait on each other.

    Args:
        p2p_op_list: The ``P2POp`` operations to start.

    Returns:
        One ``Work`` handle per operation.
    """
    if not p2p_op_list or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type P2POp.")
    works: dict[int, Work | None] = {}
    for i, p in enumerate(p2p_op_list):
        if p.op is isend:
            works[i] = isend(p.tensor, p.peer, p.group, p.tag)
    for i, p in enumerate(p2p_op_list):
        if p.op is irecv:
            works[i] = irecv(p.tensor, p.peer, p.group, p.tag)
    return [works[i] for i in range(len(p2p_op_list)) if works[i] is not None]


def barrier(
    group: ProcessGroup | None = None, async_op: bool = False, device_ids: Any = None
) -> Work | None:
    """Wait until every rank of ``group`` has reached this call (``torch.distributed.barrier``).

    Args:
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.
        device_ids: Accepted for PyTorch's signature (no GPUs).

    Returns:
        A ``Work`` handle if ``async_op``, else ``None``.
    """
    g = _group(group)
    if g is None:
        return None
    return _run(Work([g.comm.Ibarrier()], None, "barrier"), async_op)


def monitored_barrier(
    group: ProcessGroup | None = None, timeout: Any = None, wait_all_ranks: bool = False
) -> None:
    """A barrier that names the ranks that did not reach it in time
    (``torch.distributed.monitored_barrier``).

    Every other rank reports to rank 0 of the group, which waits up to ``timeout`` for all
    of them and then releases them. A rank missing at the deadline makes rank 0 raise
    ``RuntimeError`` naming it (with ``wait_all_ranks``: every missing rank), and the
    ranks waiting for a release that does not come raise too. PyTorch provides it for
    gloo only; here both names of the backend (MPI, and gloo served over MPI) have it.

    Args:
        group: The process group (default: the whole job).
        timeout: A ``datetime.timedelta``; default: the group's timeout.
        wait_all_ranks: On rank 0, collect every rank that misses the deadline instead of
            raising at the first.
    """
    g = _group(group)
    if g is None:
        return
    if timeout is None:
        seconds = g.timeout
    elif isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    else:
        raise TypeError(
            f"monitored_barrier: expected timeout of type datetime.timedelta, got {timeout!r}"
        )
    MPI = _mpi.mpi()
    comm = g.comm
    tag_ub = comm.Get_attr(MPI.TAG_UB) or 32767
    tag = tag_ub - g.monitored_calls % 4096
    g.monitored_calls += 1
    me, size = comm.Get_rank(), comm.Get_size()
    ms = int(seconds * 1000)
    token = np.zeros(1, dtype=np.uint8)
    deadline = time.monotonic() + seconds

    def poll(requests: list) -> list[int]:
        """Indices of the requests still pending at the deadline (or none)."""
        done = [False] * len(requests)
        while True:
            for i, r in enumerate(requests):
                if not done[i] and r.Test():
                    done[i] = True
            if all(done) or time.monotonic() > deadline:
                return [i for i, d in enumerate(done) if not d]
            time.sleep(0.0005)

    if me == 0:
        peers = list(range(1, size))
        acks = [comm.Irecv([np.zeros(1, dtype=np.uint8), MPI.BYTE], p, tag) for p in peers]
        missing = poll(acks)
        if missing:
            for i in missing:
                acks[i].Cancel()
                acks[i].Free()
            ranks = [g.ranks[peers[i]] for i in missing]
            if wait_all_ranks:
                names = ", ".join(str(r) for r in ranks)
                raise RuntimeError(f"Ranks {names} failed to pass monitoredBarrier in {ms} ms")
            raise RuntimeError(f"Rank {ranks[0]} failed to pass monitoredBarrier in {ms} ms")
        MPI.Request.Waitall([comm.Isend([token, MPI.BYTE], p, tag) for p in peers])
        return
    send = comm.Isend([token, MPI.BYTE], 0, tag)
    release = comm.Irecv([np.zeros(1, dtype=np.uint8), MPI.BYTE], 0, tag)
    if poll([send, release]):
        release.Cancel()
        release.Free()
        raise RuntimeError(
            f"Rank {g.ranks[me]} was not released from monitoredBarrier by rank {g.ranks[0]} "
            f"within {ms} ms (rank {g.ranks[0]} raised or has not reached it)"
        )


def broadcast_object_list(
    object_list: list, src: int = 0, group: ProcessGroup | None = None, device: Any = None
) -> None:
    """Rank ``src``'s picklable objects into every rank's ``object_list``, in place
    (``torch.distributed.broadcast_object_list``).

    Args:
        object_list: The objects: read on ``src``, replaced on the other ranks.
        src: The rank that sends.
        group: The process group (default: the whole job).
        device: Accepted for PyTorch's signature.
    """
    g = _group(group)
    if g is None:
        return
    root = _root(g, src, "broadcast_object_list")
    objs = _blocking(g, "broadcast_object_list", lambda: g.comm.bcast(list(object_list), root=root))
    if len(objs) != len(object_list):
        raise RuntimeError(
            f"broadcast_object_list: rank {src} sent {len(objs)} objects but this rank's list "
            f"has {len(object_list)}"
        )
    object_list[:] = objs


def all_gather_object(object_list: list, obj: Any, group: ProcessGroup | None = None) -> None:
    """Every rank's picklable ``obj`` into ``object_list[rank]``, on every rank
    (``torch.distributed.all_gather_object``).

    Args:
        object_list: One slot per rank, receiving the objects.
        obj: This rank's picklable object.
        group: The process group (default: the whole job).
    """
    g = _group(group)
    if g is None:
        return
    if len(object_list) != g.size():
        raise RuntimeError(
            f"all_gather_object: object_list must have one slot per rank ({g.size()}), "
            f"got {len(object_list)}"
        )
    object_list[:] = _blocking(g, "all_gather_object", lambda: g.comm.allgather(obj))


def gather_object(
    obj: Any,
    object_gather_list: list | None = None,
    dst: int = 0,
    group: ProcessGroup | None = None,
) -> None:
    """Every rank's picklable ``obj`` into ``object_gather_list`` on rank ``dst``
    (``torch.distributed.gather_object``).

    Args:
        obj: This rank's picklable object.
        object_gather_list: On ``dst``: one slot per rank, receiving the objects.
        dst: The rank that receives.
        group: The process group (default: the whole job).
    """
    g = _group(group)
    if g is None:
        return
    root = _root(g, dst, "gather_object")
    if g.rank() == root and (object_gather_list is None or len(object_gather_list) != g.size()):
        raise ValueError(
            f"gather_object: object_gather_list on rank {dst} must have {g.size()} slots"
        )
    got = _blocking(g, "gather_object", lambda: g.comm.gather(obj, root=root))
    if g.rank() == root:
        object_gather_list[:] = got


def scatter_object_list(
    scatter_object_output_list: list,
    scatter_object_input_list: list | None = None,
    src: int = 0,
    group: ProcessGroup | None = None,
) -> None:
    """Rank ``src``'s ``scatter_object_input_list[i]`` into rank i's
    ``scatter_object_output_list[0]`` (``torch.distributed.scatter_object_list``).

    Args:
        scatter_object_output_list: A list whose first element receives this rank's object.
        scatter_object_input_list: On ``src``: one picklable object per rank.
        src: The rank that sends.
        group: The process group (default: the whole job).
    """
    g = _group(group)
    if g is None:
        return
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError(
            "Expected argument scatter_object_output_list to be a list of size at least 1."
        )
    root = _root(g, src, "scatter_object_list")
    items = scatter_object_input_list if g.rank() == root else None
    if items is not None and len(items) != g.size():
        raise ValueError(
            f"scatter_object_list: scatter_object_input_list must have {g.size()} objects"
        )
    scatter_object_output_list[0] = _blocking(
        g, "scatter_object_list", lambda: g.comm.scatter(items, root=root)
    )


# The tag of send_object_list's messages: apart from tensor sends (whose tags programs pick
# from 0 up) and from monitored_barrier's (the top 4096 below MPI's TAG_UB).
_OBJECT_TAG = 1 << 14


def send_object_list(
    object_list: list,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    device: Any = None,
    group_dst: int | None = None,
    use_batch: bool = False,
) -> None:
    """Send the picklable objects of ``object_list`` to rank ``dst``
    (``torch.distributed.send_object_list``); it receives them with ``recv_object_list``.

    Args:
        object_list: The objects.
        dst: The receiving global rank (or give ``group_dst``).
        group: The process group (default: the whole job).
        device: Accepted for PyTorch's signature.
        group_dst: The receiving rank within ``group``.
        use_batch: Accepted for PyTorch's signature.
    """
    g = _group(group)
    if g is None:
        return
    peer = _object_peer(g, dst, group_dst, "send_object_list", "destination")
    if peer == g.rank():
        raise ValueError(
            "Invalid destination rank: destination rank should not be the same as the rank of "
            "the current process."
        )
    objs = list(object_list)
    _blocking(g, "send_object_list", lambda: g.comm.send(objs, dest=peer, tag=_OBJECT_TAG))


def recv_object_list(
    object_list: list,
    src: int | None = None,
    group: ProcessGroup | None = None,
    device: Any = None,
    group_src: int | None = None,
    use_batch: bool = False,
) -> int:
    """Receive ``send_object_list``'s objects from rank ``src`` into ``object_list``, in place
    (``torch.distributed.recv_object_list``).

    Args:
        object_list: As many slots as the sender sends.
        src: The sending global rank (or give ``group_src``).
        group: The process group (default: the whole job).
        device: Accepted for PyTorch's signature.
        group_src: The sending rank within ``group``.
        use_batch: Accepted for PyTorch's signature.

    Returns:
        The sender's global rank (-1 on a rank outside ``group``).
    """
    g = _group(group)
    if g is None:
        return -1
    peer = _object_peer(g, src, group_src, "recv_object_list", "source")
    objs = _blocking(g, "recv_object_list", lambda: g.comm.recv(source=peer, tag=_OBJECT_TAG))
    if len(objs) != len(object_list):
        raise RuntimeError(
            f"recv_object_list: rank {g.ranks[peer]} sent {len(objs)} objects but this rank's "
            f"list has {len(object_list)}"
        )
    object_list[:] = objs
    return g.ranks[peer]


def _object_peer(g: ProcessGroup, rank, group_rank, name: str, role: str) -> int:
    """The group rank of the peer given as a global ``rank`` or a ``group_rank``."""
    if rank is None and group_rank is None:
        raise ValueError("Must specify global_rank or group_rank")
    if rank is not None and group_rank is not None:
        raise ValueError("Can only specify one of global_rank and group_rank")
    if group_rank is not None:
        if not 0 <= int(group_rank) < g.size():
            raise ValueError(f"Group rank {group_rank} is not part of group {g.ranks}")
        return int(group_rank)
    return _root(g, rank, name, role)


_COALESCED_WARNING = (
    "`torch.distributed.{}` will be deprecated. If you must use it, please revisit our "
    "documentation later at https://pytorch.org/docs/main/distributed.html#collective-functions"
)


def _flat(tensors: Sequence[Tensor], name: str) -> Tensor:
    """The tensors' values end to end in one 1-D tensor (one dtype, as PyTorch requires)."""
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty list of tensors")
    for t in tensors:
        _check_tensor(t, "tensors", name)
    dtype = tensors[0]._data.dtype
    if any(t._data.dtype != dtype for t in tensors):
        raise ValueError(f"{name}: all tensors must have the same dtype")
    return Tensor._make(np.concatenate([t._data.reshape(-1) for t in tensors]))


def _unflatten_into(flat: np.ndarray, tensors: Sequence[Tensor]) -> None:
    start = 0
    for t in tensors:
        _write(t, flat[start : start + t._data.size])
        start += t._data.size


def _chained(inner: Work, finish: Callable[[], None], what: str, outputs: list) -> Work:
    """A ``Work`` that completes ``inner`` and then runs ``finish``."""

    def both() -> None:
        inner._complete()
        finish()

    return Work(inner._requests, both, what, outputs)


def all_reduce_coalesced(
    tensors: list[Tensor] | Tensor,
    op: Any = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """``all_reduce`` of several tensors of one dtype as one message
    (``torch.distributed.all_reduce_coalesced``, deprecated there, with its warning).

    Args:
        tensors: The tensors, each modified in place.
        op: As for ``all_reduce``.
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.
    """
    import warnings

    warnings.warn(_COALESCED_WARNING.format("all_reduce_coalesced"), FutureWarning, stacklevel=2)
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    flat = _flat(tensors, "all_reduce_coalesced")
    inner = all_reduce(flat, op, group, async_op=True)
    if inner is None:
        return None
    work = _chained(
        inner, lambda: _unflatten_into(flat._data, tensors), "all_reduce_coalesced", tensors
    )
    return _run(work, async_op)


def all_gather_coalesced(
    output_tensor_lists: list[list[Tensor]],
    input_tensor_list: list[Tensor],
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Every rank's list of tensors into ``output_tensor_lists[rank]``, as one message
    (``torch.distributed.all_gather_coalesced``, deprecated there, with its warning).

    Args:
        output_tensor_lists: One list per rank, shaped as ``input_tensor_list``.
        input_tensor_list: This rank's tensors (one dtype).
        group: The process group (default: the whole job).
        async_op: Return a ``Work`` handle at once instead of waiting for the communication.
    """
    import warnings

    warnings.warn(_COALESCED_WARNING.format("all_gather_coalesced"), FutureWarning, stacklevel=2)
    flat = _flat(list(input_tensor_list), "all_gather_coalesced")
    g = _group(group)
    if g is None:
        return None
    if len(output_tensor_lists) != g.size():
        raise RuntimeError(
            f"all_gather_coalesced: output_tensor_lists must have one list per rank "
            f"({g.size()}), got {len(output_tensor_lists)}"
        )
    for outs in output_tensor_lists:
        if [tuple(t.shape) for t in outs] != [tuple(t.shape) for t in input_tensor_list]:
            raise RuntimeError(
                "all_gather_coalesced: each output list must hold tensors of the input "
                "tensors' shapes"
            )
    parts = [Tensor._make(np.empty_like(flat._data)) for _ in range(g.size())]
    inner = all_gather(parts, flat, group, async_op=True)
    if inner is None:
        return None

    def finish() -> None:
        for part, outs in zip(parts, output_tensor_lists):
            _unflatten_into(part._data, outs)

    outputs = [t for outs in output_tensor_lists for t in outs]
    return _run(_chained(inner, finish, "all_gather_coalesced", outputs), async_op)


def supports_complex(reduceOp: Any) -> bool:
    """Whether ``reduceOp`` is defined on complex tensors (``torch.distributed.supports_complex``):
    not the orderings (MIN, MAX), PRODUCT or the bitwise ops."""
    denied = (RedOpType.MAX, RedOpType.MIN, RedOpType.PRODUCT, RedOpType.BAND, RedOpType.BOR,
              RedOpType.BXOR)  # fmt: skip
    return RedOpType(reduceOp) not in denied
