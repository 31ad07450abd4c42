"""Profiling tapegrad programs (mirrors ``torch.profiler``).

Every primitive op, every backward node and every :class:`record_function` range run
inside a :class:`profile` block becomes an event, named as PyTorch names it
(``aten::mm``, ``autograd::engine::evaluate_function: MmBackward0``); the results print
as PyTorch's table (``prof.key_averages().table()``) and export as a Chrome trace.
While no profiler runs, the ops pay a single check.
"""

from __future__ import annotations

from ._events import EventList, FunctionEvent, FunctionEventAvg
from ._legacy import record_function
from .profiler import (
    ProfilerAction,
    ProfilerActivity,
    profile,
    schedule,
    supported_activities,
    tensorboard_trace_handler,
)

__all__ = [
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "ProfilerAction",
    "ProfilerActivity",
    "profile",
    "record_function",
    "schedule",
    "supported_activities",
    "tensorboard_trace_handler",
]
