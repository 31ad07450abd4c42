"""``torch.profiler``: the profiler with activities, schedules and trace handlers.

A :class:`profile` records through one ``torch.autograd.profiler.profile`` per cycle of
its schedule: the schedule says, for each step number, whether to record
(:class:`ProfilerAction`), and ``on_trace_ready`` gets the profiler at the end of each
active window (``RECORD_AND_SAVE``), exactly as PyTorch's state machine does.
"""

from __future__ import annotations

import enum
import json
import os
import time
import warnings
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from ._events import EventList
from ._legacy import _CUDA_MISSING, record_function
from ._legacy import profile as _legacy_profile

__all__ = [
    "ProfilerAction",
    "ProfilerActivity",
    "profile",
    "schedule",
    "supported_activities",
    "tensorboard_trace_handler",
]


class ProfilerActivity(enum.Enum):
    """The kinds of activity a profiler can record (``torch.profiler.ProfilerActivity``).

    tapegrad runs on the CPU only: ``CPU`` is recorded; asking for another activity
    warns that it is unavailable and records CPU events, as PyTorch on a CPU-only build.
    """

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What the profiler does during a step (``torch.profiler.ProfilerAction``)."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    """The activities this build can record (``torch.profiler.supported_activities``).

    Returns:
        ``{ProfilerActivity.CPU}``.
    """
    return {ProfilerActivity.CPU}


def schedule(
    *,
    wait: int,
    warmup: int,
    active: int,
    repeat: int = 0,
    skip_first: int = 0,
    skip_first_wait: int = 0,
) -> Callable[[int], ProfilerAction]:
    """A step schedule for :class:`profile` (``torch.profiler.schedule``).

    Skips the first ``skip_first`` steps, then cycles: ``wait`` steps idle, ``warmup``
    steps warming up, ``active`` steps recorded (the last one ``RECORD_AND_SAVE``),
    ``repeat`` times (0: until the profiler stops).

    Args:
        wait: Idle steps at the start of each cycle.
        warmup: Warm-up steps before recording.
        active: Recorded steps per cycle (at least 1).
        repeat: Number of cycles, 0 for unlimited.
        skip_first: Steps to ignore before the first cycle.
        skip_first_wait: Non-zero skips the first cycle's ``wait`` steps.

    Returns:
        A function from step number to :class:`ProfilerAction`.

    Raises:
        AssertionError: A negative count, or ``active`` below 1 (PyTorch's check).
    """

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        if mod_step < num_steps - 1:
            return ProfilerAction.RECORD
        return ProfilerAction.RECORD_AND_SAVE

    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0)."
        )
    if warmup == 0:
        warnings.warn(
            "Profiler won't be using warmup, this can skew profiler results", stacklevel=2
        )
    return schedule_fn


def _default_schedule(_step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(
    dir_name: str,
    worker_name: str | None = None,
    use_gzip: bool = False,
    use_python_export: bool = False,
) -> Callable[[profile], None]:
    """An ``on_trace_ready`` handler writing traces for TensorBoard (``tensorboard_trace_handler``).

    Each call writes ``{worker_name}.{time_ns}.pt.trace.json`` (``.gz`` with ``use_gzip``)
    into ``dir_name``, the layout the PyTorch Profiler TensorBoard plugin reads.

    Args:
        dir_name: The log directory (created if missing).
        worker_name: A name unique per worker; default ``"{hostname}_{pid}"``.
        use_gzip: Compress the trace with gzip.
        use_python_export: Accepted for PyTorch's signature.

    Returns:
        The handler, to pass as ``on_trace_ready``.

    Raises:
        RuntimeError: The directory cannot be created.
    """

    def handler_fn(prof) -> None:
        nonlocal worker_name
        if not os.path.isdir(dir_name):
            try:
                os.makedirs(dir_name, exist_ok=True)
            except Exception as e:
                raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            import socket

            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        file_name = f"{worker_name}.{time.time_ns()}.pt.trace.json"
        if use_gzip:
            file_name += ".gz"
        prof.export_chrome_trace(os.path.join(dir_name, file_name))

    return handler_fn


class profile:
    """Profiler context manager (``torch.profiler.profile``).

    Records tapegrad's ops (named as PyTorch's, ``aten::mm``...), backward nodes
    (``autograd::engine::evaluate_function: MulBackward0`` around ``MulBackward0``) and
    ``record_function`` ranges. Example::

        with torch.profiler.profile(record_shapes=True) as prof:
            with torch.profiler.record_function("model_inference"):
                model(inputs)
        print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

    With a ``schedule``, call :meth:`step` once per training step; each step is wrapped
    in a ``ProfilerStep#N`` range and only the steps the schedule marks as active are
    recorded.

    Args:
        activities: Activities to record (default: the supported ones, CPU). Others warn.
        schedule: Step number -> :class:`ProfilerAction` (see :func:`schedule`).
        on_trace_ready: Called with the profiler at the end of each active window.
        record_shapes: Keep each op's input shapes.
        profile_memory: Count the bytes each op allocates and frees.
        with_stack: Keep the Python stack of each op.
        with_flops: Estimate FLOPs of matrix products, convolutions, add and mul.
        with_modules: Accepted; as in PyTorch's eager mode, it records nothing more.
        experimental_config: Accepted for PyTorch's signature.
        execution_trace_observer: Not supported (must be None).
        acc_events: Keep events across schedule cycles.
        use_cuda: Deprecated (FutureWarning).

    Raises:
        AssertionError: ``activities`` is empty.
        NotImplementedError: An ``execution_trace_observer`` was given.
    """

    def __init__(
        self,
        *,
        activities: Iterable[Any] | None = None,
        schedule: Callable[[int], ProfilerAction] | None = None,
        on_trace_ready: Callable[..., Any] | None = None,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
        with_modules: bool = False,
        experimental_config=None,
        execution_trace_observer=None,
        acc_events: bool = False,
        use_cuda: bool | None = None,
        custom_trace_id_callback: Callable[[], str] | None = None,
        post_processing_timeout_s: float | None = None,
    ) -> None:
        if activities is not None:
            acts: set = set()
            for item in activities:
                acts.update(item.keys() if isinstance(item, dict) else (item,))
        else:
            acts = supported_activities()
        if use_cuda is not None:
            warnings.warn(
                "`use_cuda` is deprecated, use `activities` argument instead",
                FutureWarning,
                stacklevel=2,
            )
            if use_cuda:
                acts.add(ProfilerActivity.CUDA)
            else:
                acts.discard(ProfilerActivity.CUDA)
        if len(acts) == 0:
            raise AssertionError("No valid profiler activities found")
        if execution_trace_observer is not None:
            raise NotImplementedError("tapegrad's profiler has no execution trace observer")
        self.activities = acts
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.acc_events = acc_events
        self.custom_trace_id_callback = custom_trace_id_callback
        self.profiler: _legacy_profile | None = None
        self._metadata: dict = {}
        self._warned_unavailable = False
        self._warned_clear = False
        if schedule is not None:
            self.schedule = schedule
            self.record_steps = True
        else:
            self.schedule = _default_schedule
            self.record_steps = False
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.step_rec_fn: record_function | None = None
        self.current_action = self.schedule(self.step_num)
        A = ProfilerAction
        warn = partial(warnings.warn, stacklevel=3)
        self.action_map = {
            (A.NONE, A.NONE): [],
            (A.NONE, A.WARMUP): [self.prepare_trace],
            (A.NONE, A.RECORD): [self.prepare_trace, self.start_trace],
            (A.NONE, A.RECORD_AND_SAVE): [self.prepare_trace, self.start_trace],
            (A.WARMUP, A.NONE): [
                partial(warn, "Incorrect schedule: WARMUP followed by NONE"),
                self.start_trace,
                self.stop_trace,
            ],
            (A.WARMUP, A.WARMUP): [],
            (A.WARMUP, A.RECORD): [self.start_trace],
            (A.WARMUP, A.RECORD_AND_SAVE): [self.start_trace],
            (A.RECORD, A.NONE): [
                partial(warn, "Incorrect schedule: RECORD followed by NONE"),
                self.stop_trace,
            ],
            (A.RECORD, A.WARMUP): [
                partial(warn, "Incorrect schedule: RECORD followed by WARMUP"),
                self.stop_trace,
            ],
            (A.RECORD, A.RECORD): [],
            (A.RECORD, A.RECORD_AND_SAVE): [],
            (A.RECORD_AND_SAVE, A.NONE): [self.stop_trace, self._trace_ready],
            (A.RECORD_AND_SAVE, A.WARMUP): [self.stop_trace, self._trace_ready, self.prepare_trace],
            (A.RECORD_AND_SAVE, A.RECORD): [
                self.stop_trace,
                self._trace_ready,
                self.prepare_trace,
                self.start_trace,
            ],
            (A.RECORD_AND_SAVE, A.RECORD_AND_SAVE): [
                self.stop_trace,
                self._trace_ready,
                self.prepare_trace,
                self.start_trace,
            ],
            (A.WARMUP, None): [self.start_trace, self.stop_trace],
            (A.RECORD, None): [self.stop_trace, self._trace_ready],
            (A.RECORD_AND_SAVE, None): [self.stop_trace, self._trace_ready],
        }

    # The recording window --------------------------------------------------------------

    def prepare_trace(self) -> None:
        """Get a recorder ready (the warm-up phase starts here)."""
        unavailable = self.activities - supported_activities()
        if unavailable and not self._warned_unavailable:
            self._warned_unavailable = True
            if ProfilerActivity.CUDA in unavailable:
                warnings.warn(_CUDA_MISSING, UserWarning, stacklevel=3)
            for act in sorted(unavailable - {ProfilerActivity.CUDA}, key=lambda a: a.value):
                warnings.warn(f"{act.name} is not available, disabling its profiling", stacklevel=3)
        if self.profiler is not None and not self.acc_events and not self._warned_clear:
            self._warned_clear = True
            warnings.warn(
                "Warning: Profiler clears events at the end of each cycle. Only events from "
                "the current cycle will be reported. To keep events across cycles, set "
                "acc_events=True.",
                stacklevel=3,
            )
        if self.profiler is None or not self.acc_events:
            self.profiler = _legacy_profile(
                record_shapes=self.record_shapes,
                with_flops=self.with_flops,
                profile_memory=self.profile_memory,
                with_stack=self.with_stack,
                with_modules=self.with_modules,
                acc_events=self.acc_events,
            )
            self.profiler._metadata = self._metadata

    def start_trace(self) -> None:
        """Start recording events."""
        self.profiler.__enter__()

    def stop_trace(self) -> None:
        """Stop recording events."""
        if self.profiler is not None and self.profiler.entered:
            self.profiler.__exit__(None, None, None)

    def _trace_ready(self) -> None:
        if self.on_trace_ready:
            self.on_trace_ready(self)

    def _transit_action(self, prev_action, current_action) -> None:
        for action in self.action_map.get((prev_action, current_action), []):
            action()

    # Context manager and steps ---------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.stop()

    def start(self) -> None:
        """Start profiling (what entering the ``with`` block does)."""
        self._transit_action(ProfilerAction.NONE, self.current_action)
        if self.record_steps:
            self.step_rec_fn = record_function("ProfilerStep#" + str(self.step_num))
            self.step_rec_fn.__enter__()

    def stop(self) -> None:
        """Stop profiling (what leaving the ``with`` block does)."""
        if self.record_steps and self.step_rec_fn:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None
        self._transit_action(self.current_action, None)

    def step(self) -> None:
        """Signal that the next step starts: the schedule decides what it records."""
        if self.record_steps and self.step_rec_fn:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None
        prev_action = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit_action(prev_action, self.current_action)
        if self.record_steps:
            self.step_rec_fn = record_function("ProfilerStep#" + str(self.step_num))
            self.step_rec_fn.__enter__()

    # Results ---------------------------------------------------------------------------

    def _results(self) -> _legacy_profile:
        if self.profiler is None or self.profiler.function_events is None:
            raise AssertionError("Expected profiler to be set")
        return self.profiler

    def events(self) -> EventList:
        """The events of the last recording window, in start order."""
        return self._results().function_events

    def key_averages(
        self,
        group_by_input_shape: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """The last window's events summed by name (``profile.key_averages``).

        The arguments are those of ``torch.autograd.profiler.profile.key_averages``;
        ``table()`` on the result prints PyTorch's table.
        """
        return self._results().key_averages(
            group_by_input_shape, group_by_stack_n, group_by_overload_name
        )

    def export_chrome_trace(self, path: str) -> None:
        """Write the last window's events as a Chrome trace (Perfetto, chrome://tracing).

        A path ending in ``.gz`` is written gzip-compressed.
        """
        events = self._results().function_events
        if path.endswith(".gz"):
            import gzip
            import tempfile

            fd, tmp = tempfile.mkstemp(suffix=".json")
            os.close(fd)
            try:
                events.export_chrome_trace(tmp)
                with open(tmp, "rb") as src, gzip.open(path, "wb") as dst:
                    dst.write(src.read())
            finally:
                os.remove(tmp)
        else:
            events.export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Write the ops' stacks for flame graphs (needs ``with_stack=True``).

        Args:
            path: The file to write (folded stacks: ``frame;frame;... value`` per line).
            metric: ``"self_cpu_time_total"`` (default) or another event attribute.
        """
        self._results().function_events.export_stacks(path, metric)

    def add_metadata(self, key: str, value: str) -> None:
        """Add a string entry to the exported trace's top level."""
        self._metadata[key] = value

    def add_metadata_json(self, key: str, value: str) -> None:
        """Add a JSON-encoded entry to the exported trace's top level."""
        self._metadata[key] = json.loads(value)
