"""The recorder behind the profilers: opens and closes events as ops run.

``autograd._observe`` calls it around every primitive (``begin_op`` / ``end_op``) and
around every backward node; ``record_function`` calls ``begin`` / ``end`` for a named
range. Events nest per thread: an event that starts while another is open on the same
thread is its child. Times come from ``time.perf_counter_ns`` and are kept in
microseconds.

Memory (``profile_memory``): the bytes of every array an op or a backward node returns
that owns its memory (views cost nothing) count as allocated while that op ran and in
every enclosing event; when such an array is freed during profiling, its bytes count
negative in the events open at that moment, as PyTorch attributes its allocator's frees.
Temporaries inside a kernel are not seen.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import weakref

from ..autograd import _observe
from ._events import FunctionEvent
from ._names import op_name

_sessions = itertools.count()


class Collector:
    """Records :class:`FunctionEvent` objects while it is installed.

    Args:
        record_shapes: Keep the input shapes of each op.
        profile_memory: Count bytes allocated and freed by each op.
        with_stack: Keep the Python stack of each op.
        with_flops: Estimate the FLOPs of matrix products, convolutions and
            elementwise add/mul (implies ``record_shapes``).
    """

    def __init__(
        self,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
    ) -> None:
        self.record_shapes = record_shapes or with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.events: list[FunctionEvent] = []
        self.memory_records: list = []
        self._ids = itertools.count(1)
        self._seqs = itertools.count(0)
        self.session = next(_sessions)  # tells this profiler's node numbers from older ones
        self._open = threading.local()
        self._origin_ns = time.perf_counter_ns()
        self._total_allocated = 0
        self._active = False
        self._finalizers: list = []

    # Installation ------------------------------------------------------------------------

    def install(self) -> None:
        """Start recording: every op and backward node from now on is an event."""
        if _observe.collector is not None:
            raise RuntimeError(
                "Profiler is already enabled on this thread: exit the running profiler "
                "before starting another one"
            )
        self._active = True
        _observe.collector = self
        _observe.refresh()

    def uninstall(self) -> None:
        """Stop recording; events still open (an exception unwound them) are closed now."""
        if _observe.collector is self:
            _observe.collector = None
            _observe.refresh()
        self._active = False
        # arrays that outlive the profiler must not keep it (and its events) alive
        for f in self._finalizers:
            f.detach()
        self._finalizers = []
        now = self._now()
        for e in self.events:
            if e.time_range.end == 0.0:
                e.time_range.end = now

    # Events ------------------------------------------------------------------------------

    def _now(self) -> float:
        return (time.perf_counter_ns() - self._origin_ns) / 1000.0

    def _stack(self) -> list:
        st = getattr(self._open, "stack", None)
        if st is None:
            st = self._open.stack = []
        return st

    def begin(
        self,
        name: str,
        seq: int = -1,
        shapes=None,
        annotation: bool = False,
        trace_name: str | None = None,
    ) -> FunctionEvent:
        """Open an event named ``name`` on this thread; ``shapes`` are its inputs."""
        input_shapes = None
        if self.record_shapes and shapes is not None:
            input_shapes = [list(a.shape) if hasattr(a, "shape") else [] for a in shapes]
        stack = None
        if self.with_stack:
            stack = [f"{f.filename}({f.lineno}): {f.name}" for f in _observe.user_frames(2)]
            stack.reverse()
        ev = FunctionEvent(
            next(self._ids),
            name,
            threading.get_native_id(),
            0.0,
            input_shapes=input_shapes,
            stack=stack,
            sequence_nr=seq,
            is_user_annotation=annotation,
            trace_name=trace_name,
            category="user_annotation" if annotation else "cpu_op",
        )
        st = self._stack()
        if st:
            ev.cpu_parent = st[-1]
            st[-1].cpu_children.append(ev)
        st.append(ev)
        self.events.append(ev)
        ev.time_range.start = self._now()
        return ev

    def begin_op(self, cls, inputs, attrs) -> FunctionEvent:
        """Open the event of one primitive call."""
        return self.begin(op_name(cls, attrs), shapes=inputs)

    def end(self, ev: FunctionEvent) -> None:
        """Close ``ev`` (the innermost open event of this thread)."""
        ev.time_range.end = self._now()
        st = self._stack()
        if st and st[-1] is ev:
            st.pop()
        elif ev in st:
            st.remove(ev)

    def end_op(self, ev: FunctionEvent, inputs, out) -> None:
        """After a primitive returned ``out``: its graph node's sequence number, memory, FLOPs.

        The node keeps the number, so that its backward's events carry it too and the
        trace can draw the arrow from the forward op to its backward (PyTorch's
        ``sequence_nr`` and "fwdbwd" flows).
        """
        t = out[0] if type(out) is tuple and out else out
        node = getattr(t, "grad_fn", None)
        if node is not None and "_profiler_seq" not in node.__dict__:
            ev.sequence_nr = next(self._seqs)
            node.__dict__["_profiler_seq"] = (self.session, ev.sequence_nr)
        if self.profile_memory:
            self.allocated(ev, out)
        if self.with_flops:
            ev.flops = _flops(ev.name, ev.input_shapes, out)

    def sequence_nr(self, node) -> int:
        """The sequence number this profiler gave ``node``'s forward op, else -1."""
        tag = node.__dict__.get("_profiler_seq")
        return tag[1] if tag is not None and tag[0] == self.session else -1

    # Memory ------------------------------------------------------------------------------

    def allocated(self, ev: FunctionEvent, out) -> None:
        """Count the arrays in ``out`` that own their memory as allocated by ``ev``."""
        outs = out if type(out) is tuple or type(out) is list else (out,)
        for o in outs:
            a = getattr(o, "_data", None)
            if a is None:
                a = o  # a backward's raw gradient array
            # an array that views another owns no memory of its own
            if getattr(a, "base", True) is not None or not getattr(a, "nbytes", 0):
                continue
            n = a.nbytes
            self._record(n, (ev,))
            self._finalizers.append(weakref.finalize(a, self._freed, n))

    def _freed(self, nbytes: int) -> None:
        if self._active:
            self._record(-nbytes, ())

    def _record(self, nbytes: int, extra) -> None:
        # an allocation counts in the event that made it and in every event around it
        for e in extra:
            e.cpu_memory_usage += nbytes
        parent = extra[0].cpu_parent if extra else None
        if not extra:
            st = self._stack()
            parent = st[-1] if st else None
        while parent is not None:
            parent.cpu_memory_usage += nbytes
            parent = parent.cpu_parent
        self._total_allocated += nbytes
        self.memory_records.append(
            (self._now(), threading.get_native_id(), nbytes, self._total_allocated)
        )


def _flops(name: str, shapes, out) -> int:
    """PyTorch's FLOP estimate for matrix products, convolutions and add/mul."""
    if not shapes:
        return 0
    o = out[0] if type(out) is tuple else out
    out_shape = list(getattr(o, "shape", ()))
    if name in ("aten::mm", "aten::matmul", "aten::bmm") and len(shapes) >= 2:
        a, b = shapes[0], shapes[1]
        if len(a) >= 2 and len(b) >= 2:
            return 2 * math.prod(out_shape) * a[-1]
    if name == "aten::addmm" and len(shapes) >= 3:
        a, b = shapes[1], shapes[2]  # (input, mat1, mat2)
        if len(a) == 2 and len(b) == 2:
            return 2 * a[0] * a[1] * b[1]
    if name == "aten::linear" and len(shapes) >= 2:
        # the primitive F.linear keeps under vmap (the range it opens elsewhere counts
        # none, as PyTorch's: its addmm child carries them)
        x, w = shapes[0], shapes[1]
        if x and len(w) == 2:
            return 2 * math.prod(x[:-1]) * w[0] * w[1]
    if name.startswith("aten::conv") and len(shapes) >= 2 and out_shape:
        w = shapes[1]
        if name.startswith("aten::conv_transpose"):
            # each input element is spread over the kernel into Cout/groups channels
            return 2 * math.prod(shapes[0]) * math.prod(w[1:])
        return 2 * math.prod(out_shape) * math.prod(w[1:])
    if name in ("aten::add", "aten::mul") and out_shape is not None:
        return math.prod(out_shape)
    return 0
