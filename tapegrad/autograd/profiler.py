"""The autograd profiler (mirrors ``torch.autograd.profiler``).

``profile`` records one window of ops, backward nodes and ``record_function`` ranges;
``torch.profiler.profile`` adds schedules and trace handlers on top of it. The
implementation lives in :mod:`tapegrad.profiler`.
"""

from __future__ import annotations

from ..profiler._events import EventList, FunctionEvent, FunctionEventAvg
from ..profiler._legacy import profile, record_function

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "profile", "record_function"]
