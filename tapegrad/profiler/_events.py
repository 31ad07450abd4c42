"""Profiler results: events, their averages and the list that holds them.

Mirrors ``torch.autograd.profiler_util``: a :class:`FunctionEvent` is one recorded call
(times in microseconds), :class:`FunctionEventAvg` sums the events that share a key, and
:class:`EventList` is the list that ``profile.events()`` / ``key_averages()`` return, with
``table()``, ``export_chrome_trace()`` and ``total_average()``.
"""

from __future__ import annotations

import enum
import json
import os
from collections import defaultdict

__all__ = ["DeviceType", "EventList", "FunctionEvent", "FunctionEventAvg", "Interval"]


class DeviceType(enum.Enum):
    """The device an event ran on (``torch.autograd.DeviceType``); tapegrad records CPU only."""

    CPU = 0
    CUDA = 1


def format_time(time_us: float) -> str:
    """A duration in PyTorch's table units: s, ms or us with three decimals."""
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def format_time_share(time_us: float, total_us: float) -> str:
    """A share of the total as PyTorch prints it ("12.34%", "NaN" for an empty total)."""
    if total_us == 0:
        return "NaN"
    return f"{time_us * 100.0 / total_us:.2f}%"


def format_memory(nbytes: int) -> str:
    """A byte count in PyTorch's table units (B, KB, MB, GB)."""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


class Interval:
    """A start and end time in microseconds (``torch.autograd.profiler_util.Interval``)."""

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end

    def elapsed_us(self) -> float:
        """The length of the interval in microseconds."""
        return self.end - self.start


class _Formatted:
    """The ``*_str`` views of the times, shared by events and averages."""

    cpu_time_total: float
    self_cpu_time_total: float
    count: int

    @property
    def cpu_time(self) -> float:
        """Average CPU time per call, in microseconds."""
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    @property
    def cpu_time_str(self) -> str:
        """``cpu_time`` as the table prints it ("12.345us")."""
        return format_time(self.cpu_time)

    @property
    def cpu_time_total_str(self) -> str:
        """``cpu_time_total`` as the table prints it."""
        return format_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self) -> str:
        """``self_cpu_time_total`` as the table prints it."""
        return format_time(self.self_cpu_time_total)

    # tapegrad records no device: these are PyTorch's values on a CPU-only build
    device_time_total = 0.0
    self_device_time_total = 0.0
    device_memory_usage = 0
    self_device_memory_usage = 0
    use_device = None
    device_type = DeviceType.CPU
    is_legacy = False
    is_remote = False
    node_id = -1
    overload_name = ""

    @property
    def device_time(self) -> float:
        """Average device time per call: always 0 (tapegrad records no device)."""
        return 0.0


class FunctionEvent(_Formatted):
    """One recorded operation or ``record_function`` range (``FunctionEvent``).

    Attributes:
        id: Order in which the event started.
        name: The op's name (``"aten::mm"``, ``"MulBackward0"``, a ``record_function`` name).
        thread: The native id of the thread that ran it.
        time_range: Start and end in microseconds since the profiler's clock origin.
        input_shapes: Shapes of the inputs (with ``record_shapes``), else ``[]``.
        stack: The Python stack at the call, innermost first (with ``with_stack``).
        cpu_memory_usage: Bytes allocated (minus freed) while it ran, children included.
        cpu_parent: The enclosing event on the same thread, or None.
        cpu_children: The events directly inside it.
        flops: Floating-point operations of the call (with ``with_flops``), else 0.

    Args:
        id: order in which the event started.
        name: the op's name.
        thread: the native id of the thread that ran it.
        start_us: start time in microseconds since the profiler's clock origin.
        end_us: end time in microseconds.
        input_shapes: shapes of the inputs, or ``None`` for ``[]``.
        stack: the Python stack at the call, innermost first, or ``None`` for ``[]``.
        sequence_nr: the autograd sequence number linking a forward op to its backward, -1 for none.
        is_user_annotation: whether the event is a ``record_function`` range.
        trace_name: the name used in exported traces; ``None`` means ``name``.
        category: the trace category, such as ``'cpu_op'``.
    """

    def __init__(
        self,
        id: int,
        name: str,
        thread: int,
        start_us: float,
        end_us: float = 0.0,
        input_shapes: list | None = None,
        stack: list | None = None,
        sequence_nr: int = -1,
        is_user_annotation: bool = False,
        trace_name: str | None = None,
        category: str = "cpu_op",
    ) -> None:
        self.id = id
        self.name = name
        self.thread = thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.sequence_nr = sequence_nr
        self.is_user_annotation = is_user_annotation
        self.trace_name = trace_name or name
        self.category = category
        self.cpu_memory_usage = 0
        self.cpu_parent: FunctionEvent | None = None
        self.cpu_children: list[FunctionEvent] = []
        self.flops = 0
        self.count = 1
        self.is_async = False
        self.scope = 0

    @property
    def key(self) -> str:
        """The name events are grouped by in ``key_averages``."""
        return self.name

    @property
    def cpu_time_total(self) -> float:
        """Wall time of the call in microseconds, children included."""
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self) -> float:
        """Wall time of the call minus that of its children."""
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self) -> int:
        """Bytes allocated by the call itself, not by its children."""
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    def __repr__(self) -> str:
        return (
            f"<FunctionEvent id={self.id} name={self.name} thread={self.thread} "
            f"cpu_time={self.cpu_time_str} start_us={self.time_range.start:.3f} "
            f"end_us={self.time_range.end:.3f} "
            f"cpu_children={[c.id for c in self.cpu_children]} "
            f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage}>"
        )


class FunctionEventAvg(_Formatted):
    """Statistics summed over the events that share a key (``FunctionEventAvg``).

    ``cpu_time_total``, ``self_cpu_time_total``, the memory fields, ``flops`` and
    ``count`` are sums; ``cpu_time`` is the average per call.
    """

    def __init__(self) -> None:
        self.key: str | None = None
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.input_shapes: list | str | None = None
        self.stack: list | None = None
        self.cpu_parent = None
        self.cpu_children = None
        self.is_async = False
        self.is_user_annotation = False
        self.scope = None
        self.flops = 0

    def add(self, other) -> FunctionEventAvg:
        """Add one event (or average) with the same key into this one."""
        if self.key is None:
            self.key = other.key
            self.is_async = other.is_async
            self.cpu_parent = other.cpu_parent
            self.cpu_children = other.cpu_children
            self.input_shapes = other.input_shapes
            self.stack = other.stack
            self.scope = other.scope
            self.is_user_annotation = other.is_user_annotation
        elif other.key != self.key:
            raise AssertionError(f"Expected keys to match, but got {other.key} vs {self.key}")
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        self.count += other.count
        self.flops += other.flops
        return self

    def __iadd__(self, other) -> FunctionEventAvg:
        return self.add(other)

    def __repr__(self) -> str:
        return (
            f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
            f"cpu_time={self.cpu_time_str} input_shapes={self.input_shapes} "
            f"cpu_memory_usage={self.cpu_memory_usage}>"
        )


class EventList(list):
    """Profiler events with PyTorch's summaries (``torch.autograd.profiler_util.EventList``).

    Args:
        events: The events, in the order they started.
        profile_memory: Whether the table shows the memory columns.
        with_flops: Whether the table shows the FLOPs column.
    """

    def __init__(
        self,
        events=(),
        *,
        profile_memory: bool = False,
        with_flops: bool = False,
        use_device=None,
        metadata: dict | None = None,
    ) -> None:
        super().__init__(events)
        self._profile_memory = profile_memory
        self._with_flops = with_flops
        self._use_device = use_device
        self._metadata = metadata or {}
        self._memory_records: list = []

    def __str__(self) -> str:
        return self.table()

    @property
    def self_cpu_time_total(self) -> float:
        """The sum of every event's self CPU time, in microseconds."""
        return sum(e.self_cpu_time_total for e in self)

    def table(
        self,
        sort_by: str | None = None,
        row_limit: int = 100,
        max_src_column_width: int = 75,
        max_name_column_width: int = 55,
        max_shapes_column_width: int = 80,
        header: str | None = None,
        top_level_events_only: bool = False,
        time_unit: str | None = None,
    ) -> str:
        """The events as PyTorch's text table (``EventList.table``).

        Args:
            sort_by: An attribute to sort by, descending (``"cpu_time_total"``,
                ``"self_cpu_time_total"``, ``"count"``, ``"cpu_memory_usage"``...);
                None keeps the list's order.
            row_limit: At most this many rows (-1: all).
            max_src_column_width: Width limit of the source-location column.
            max_name_column_width: Width limit of the name column.
            max_shapes_column_width: Width limit of the input-shapes column.
            header: A line printed above the table.
            top_level_events_only: Only events without a parent.
            time_unit: ``"s"``, ``"ms"`` or ``"us"`` for every time (default: per value).

        Returns:
            The table, one line per row, ending with ``Self CPU time total: ...``.
        """
        from ._table import build_table

        return build_table(
            self,
            sort_by=sort_by,
            header=header,
            row_limit=row_limit,
            max_src_column_width=max_src_column_width,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width,
            with_flops=self._with_flops,
            profile_memory=self._profile_memory,
            top_level_events_only=top_level_events_only,
            time_unit=time_unit,
        )

    def key_averages(
        self,
        group_by_input_shapes: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """Sum the events by name (``EventList.key_averages``).

        Args:
            group_by_input_shapes: Group by (name, input shapes) instead of name.
            group_by_stack_n: Also group by the innermost ``n`` stack entries.
            group_by_overload_name: Accepted for PyTorch's signature; tapegrad's events
                have no overload names, so it changes nothing.

        Returns:
            An :class:`EventList` of :class:`FunctionEventAvg`, in first-seen order.
        """
        stats: dict = defaultdict(FunctionEventAvg)
        for e in self:
            key = [e.key, str(e.is_user_annotation)]
            if group_by_input_shapes:
                key.append(str(e.input_shapes))
            if group_by_stack_n > 0:
                key += e.stack[:group_by_stack_n]
            stats[tuple(key)].add(e)
        out = EventList(
            stats.values(), profile_memory=self._profile_memory, with_flops=self._with_flops
        )
        for avg in out:
            avg.stack = (avg.stack or [])[:group_by_stack_n]
            if not group_by_input_shapes:
                avg.input_shapes = ""
        return out

    def total_average(self) -> FunctionEventAvg:
        """All events summed into one :class:`FunctionEventAvg` with key ``"Total"``."""
        total = FunctionEventAvg()
        for e in self:
            total.add(e)
            total.key = None
        total.key = "Total"
        return total

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Write the stacks of the events in the folded format flame graph tools read.

        One line per event recorded with a stack (``with_stack=True``) whose ``metric``
        is positive: the frames outermost first, joined by ``;``, then the metric's
        integer value (``EventList.export_stacks``).

        Args:
            path: The file to write.
            metric: An event attribute, e.g. ``"self_cpu_time_total"``.
        """
        attr = metric.replace("cuda", "device").replace("xpu", "device")
        clean = str.maketrans(" ;\t\n", "____")
        with open(path, "w") as f:
            for e in self:
                value = int(getattr(e, attr))
                if e.stack and value > 0:
                    frames = ";".join(s.translate(clean) for s in reversed(e.stack))
                    f.write(f"{frames} {value}\n")

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace (JSON), readable by Perfetto and chrome://tracing.

        Args:
            path: The file to write.
        """
        write_chrome_trace(self, path, self._metadata, self._memory_records)


def write_chrome_trace(events, path: str, metadata: dict, memory_records=()) -> None:
    """Write ``events`` as a Chrome trace JSON file (``"traceEvents"`` with ``ph: "X"``)."""
    pid = os.getpid()
    trace = []
    for e in events:
        args = {"External id": e.id, "Ev Idx": len(trace)}
        if e.sequence_nr >= 0:
            args["Sequence number"] = e.sequence_nr
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.flops:
            args["flops"] = e.flops
        trace.append(
            {
                "ph": "X",
                "cat": e.category,
                "name": e.trace_name,
                "pid": pid,
                "tid": e.thread,
                "ts": round(e.time_range.start, 3),
                "dur": round(e.cpu_time_total, 3),
                "args": args,
            }
        )
    # arrows from each forward op to the backward node it recorded ("fwdbwd" flows)
    forward = {}
    for e in events:
        if e.sequence_nr < 0 or e.name.startswith("autograd::engine::"):
            continue
        first = forward.setdefault(e.sequence_nr, e)
        if first is e:
            continue
        for ph, ev in (("s", first), ("f", e)):
            flow = {
                "ph": ph,
                "id": e.sequence_nr,
                "pid": pid,
                "tid": ev.thread,
                "ts": round(ev.time_range.start, 3),
                "cat": "fwdbwd",
                "name": "fwdbwd",
            }
            if ph == "f":
                flow["bp"] = "e"
            trace.append(flow)
    for ts, tid, nbytes, total in memory_records:
        trace.append(
            {
                "ph": "i",
                "cat": "cpu_instant_event",
                "s": "t",
                "name": "[memory]",
                "pid": pid,
                "tid": tid,
                "ts": round(ts, 3),
                "args": {
                    "Total Reserved": 0,
                    "Total Allocated": total,
                    "Bytes": nbytes,
                    "Device Id": -1,
                    "Device Type": 0,
                },
            }
        )
    trace.append(
        {"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": "python"}}
    )
    doc = {"schemaVersion": 1, "deviceProperties": [], **metadata}
    doc.update({"traceEvents": trace, "traceName": path, "displayTimeUnit": "ms"})
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)
