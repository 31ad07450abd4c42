"""``torch.autograd.profiler.profile`` and ``record_function``: one recording window.

``torch.profiler.profile`` (schedules, steps, trace handlers) drives one of these per
recording cycle, as PyTorch's does.
"""

from __future__ import annotations

import contextlib
import warnings

from ..autograd import _observe
from ._collector import Collector
from ._events import EventList, FunctionEventAvg

__all__ = ["profile", "record_function"]

_CUDA_MISSING = "CUDA is not available, disabling CUDA profiling"


class profile:
    """Record the ops run inside the block (``torch.autograd.profiler.profile``).

    Every tapegrad primitive (forward), every backward node and every
    ``record_function`` range becomes a :class:`~tapegrad.profiler.FunctionEvent`.
    Example::

        with torch.autograd.profiler.profile(record_shapes=True) as prof:
            model(x).sum().backward()
        print(prof.key_averages().table(sort_by="self_cpu_time_total"))

    Args:
        enabled: False makes the block a no-op.
        use_cuda: Deprecated (FutureWarning); tapegrad has no CUDA, so it also warns that
            CUDA profiling is disabled, as PyTorch does on a CPU-only build.
        use_device: ``"cuda"`` and the like: warns and records CPU only (no device here).
        record_shapes: Keep each op's input shapes.
        with_flops: Estimate FLOPs of matrix products, convolutions, add and mul.
        profile_memory: Count the bytes each op allocates and frees.
        with_stack: Keep the Python stack (file, line, function) of each op.
        with_modules: Accepted; as in PyTorch's eager mode, it records nothing more.
        use_kineto: Accepted for PyTorch's signature.
        use_cpu: Must stay True: tapegrad only has CPU events.
        experimental_config: Accepted for PyTorch's signature.
        acc_events: Keep the events of earlier enter/exit cycles of this object.
    """

    def __init__(
        self,
        enabled: bool = True,
        *,
        use_cuda: bool = False,
        use_device: str | None = None,
        record_shapes: bool = False,
        with_flops: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_modules: bool = False,
        use_kineto: bool = False,
        use_cpu: bool = True,
        experimental_config=None,
        acc_events: bool = False,
        custom_trace_id_callback=None,
        post_processing_timeout_s: float | None = None,
        activity_filters=None,
    ) -> None:
        self.enabled = enabled
        if not enabled:
            return
        self.use_cuda = use_cuda
        if use_cuda:
            warnings.warn(
                "The attribute `use_cuda` will be deprecated soon, please use "
                "``use_device = 'cuda'`` instead.",
                FutureWarning,
                stacklevel=2,
            )
            use_device = "cuda"
        if use_device is not None:
            if use_device == "cuda":
                warnings.warn(_CUDA_MISSING, UserWarning, stacklevel=2)
            else:
                warnings.warn(f"The {use_device} is not a valid device option.", stacklevel=2)
        self.use_cuda = False
        self.use_device = None
        if not use_cpu:
            raise AssertionError("Device-only events supported only with Kineto (use_kineto=True)")
        self.record_shapes = record_shapes or with_flops
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.acc_events = acc_events
        self.entered = False
        self._collector: Collector | None = None
        self._function_events: EventList | None = None
        self._old_events: list = []
        self._memory_records: list = []
        self._metadata: dict = {}

    def __enter__(self):
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self._start()
        self.entered = True
        return self

    def _start(self) -> None:
        if self.acc_events and self._function_events is not None:
            self._old_events = list(self._function_events)
        self._collector = Collector(
            self.record_shapes, self.profile_memory, self.with_stack, self.with_flops
        )
        self._collector.install()

    def __exit__(self, exc_type, exc_val, exc_tb) -> bool:
        if not self.enabled:
            return False
        col = self._collector
        col.uninstall()
        events = (self._old_events if self.acc_events else []) + col.events
        self._memory_records = col.memory_records
        self._function_events = EventList(
            events,
            profile_memory=self.profile_memory,
            with_flops=self.with_flops,
            metadata=self._metadata,
        )
        self._function_events._memory_records = self._memory_records
        self._collector = None
        self.entered = False
        return False

    def _check_finished(self) -> None:
        if self._function_events is None:
            raise RuntimeError("Profiler didn't finish running")

    @property
    def function_events(self) -> EventList | None:
        """The recorded events, in start order (None before the block ended)."""
        return self._function_events

    def __repr__(self) -> str:
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return repr(self._function_events)

    def __str__(self) -> str:
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return str(self._function_events)

    def table(
        self,
        sort_by: str | None = None,
        row_limit: int = 100,
        max_src_column_width: int = 75,
        max_name_column_width: int = 55,
        max_shapes_column_width: int = 80,
        header: str | None = None,
        top_level_events_only: bool = False,
    ) -> str:
        """The raw events as PyTorch's table (see :meth:`EventList.table`)."""
        self._check_finished()
        return self._function_events.table(
            sort_by=sort_by,
            row_limit=row_limit,
            max_src_column_width=max_src_column_width,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width,
            header=header,
            top_level_events_only=top_level_events_only,
        )

    def key_averages(
        self,
        group_by_input_shape: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """The events summed by name (``profile.key_averages``).

        Args:
            group_by_input_shape: Group by (name, input shapes); needs ``record_shapes``.
            group_by_stack_n: Also group by the innermost ``n`` stack entries.
            group_by_overload_name: Accepted; tapegrad's events have no overload names.

        Returns:
            An :class:`EventList` of :class:`FunctionEventAvg`.
        """
        self._check_finished()
        return self._function_events.key_averages(
            group_by_input_shape, group_by_stack_n, group_by_overload_name
        )

    def total_average(self) -> FunctionEventAvg:
        """Every event summed into one average (``profile.total_average``)."""
        self._check_finished()
        return self._function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        """The total self CPU time of all events, in microseconds."""
        self._check_finished()
        return self._function_events.self_cpu_time_total

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace JSON file (``profile.export_chrome_trace``)."""
        self._check_finished()
        self._function_events.export_chrome_trace(path)


class record_function(contextlib.ContextDecorator):
    """Label a block of code in the profiler's output (``torch.autograd.profiler.record_function``).

    Usable as a context manager or a decorator; ranges nest, and the ops run inside one
    are its children (so its self time excludes them). Outside a profiler it costs one
    check and records nothing.

    Args:
        name: The label shown in the table and the trace.
        args: Optional extra string, accepted for PyTorch's signature.
    """

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args
        self._events: list = []

    def __enter__(self):
        col = _observe.collector
        ev = None
        if col is not None:
            ev = col.begin(_display_name(self.name), annotation=True, trace_name=self.name)
        self._events.append((col, ev))
        return self

    def __exit__(self, *exc) -> bool:
        col, ev = self._events.pop()
        if ev is not None:
            col.end(ev)
        return False


def _display_name(name: str) -> str:
    # PyTorch's events list a profiler step under one wildcard name, its trace under "#N"
    if name.startswith("ProfilerStep#"):
        return "ProfilerStep*"
    return name
