"""Profiler result types (mirrors ``torch.autograd.profiler_util``); defined in
:mod:`tapegrad.profiler._events`."""

from __future__ import annotations

from ..profiler._events import EventList, FunctionEvent, FunctionEventAvg, Interval

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "Interval"]
