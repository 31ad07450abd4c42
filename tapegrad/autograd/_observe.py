"""The watch points that anomaly mode and the profiler share.

``Function.apply`` (and a custom ``autograd.Function``'s ``apply``) and the backward
engine read one module global each (``function._apply_observer``,
``function._backward_observer``); it is None while both modes are off, so ordinary code
pays a single global read per op. While a mode is on, this module is that observer:

- around each primitive call it opens and closes a profiler event and, in anomaly mode,
  records the forward traceback on the node it created (and, under ``create_graph``,
  the node whose backward was running: PyTorch's ``parent_``);
- around each backward node it opens the profiler's two events, checks the gradients for
  NaN and, when the node raises, warns with the traceback of the forward call.

The observer runs the real ``apply`` by calling it again with a per-thread pass token:
the re-entered call sees the token, consumes it and runs its body, so ops nested inside
it are observed in turn.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
import warnings

from . import function as F


class _State(threading.local):
    pass_next = False  # the next apply on this thread is our own re-entry: run it plainly
    node = None  # the node whose backward runs now (anomaly mode, for ``parent_``)


_state = _State()

# Anomaly mode is process-wide, as in PyTorch (``AnomalyMode`` is a static flag).
anomaly = False
check_nan = True
# The profiler's event collector while one records, else None.
collector = None


def refresh() -> None:
    """Install the observers when a mode is on, remove them when every mode is off."""
    on = anomaly or collector is not None
    F._apply_observer = observe_apply if on else None
    F._backward_observer = _BACKWARD if on else None


# Tracebacks ------------------------------------------------------------------------------

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# tapegrad's kernel layer: PyTorch's equivalent is C++, so its frames never appear in
# PyTorch's tracebacks. Frames of tapegrad's Python API (nn modules, functional) do stay,
# as torch/nn/... frames do.
_KERNEL = tuple(
    _PKG + p
    for p in (
        "autograd" + os.sep,
        "ops" + os.sep,
        "profiler" + os.sep,
        "_tensor.py",
        "_tensor_methods.py",
    )
)


def user_frames(skip: int = 1) -> traceback.StackSummary:
    """The caller's stack, outermost first, without tapegrad's innermost kernel frames."""
    frames = traceback.extract_stack(sys._getframe(skip))
    end = len(frames)
    while end > 1 and frames[end - 1].filename.startswith(_KERNEL):
        end -= 1
    return traceback.StackSummary.from_list(frames[:end])


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes ``warnings.warn`` (called by our caller) name user code."""
    f = sys._getframe(2)
    level = 2
    while f is not None and f.f_code.co_filename.startswith(_KERNEL):
        f = f.f_back
        level += 1
    return level


def _tag(out) -> None:
    """Record the forward traceback on the node that produced ``out`` (anomaly mode)."""
    t = out
    if type(out) is tuple or type(out) is list:
        t = next((o for o in out if isinstance(o, F._Tensor) and o.grad_fn is not None), None)
    node = getattr(t, "grad_fn", None) if isinstance(t, F._Tensor) else None
    if node is None:
        return
    meta = node.metadata
    if "traceback_" in meta:
        return
    meta["traceback_"] = traceback.format_list(user_frames(2))
    if _state.node is not None:
        meta["parent_"] = _state.node


# Forward -------------------------------------------------------------------------------


def observe_apply(cls, inputs, attrs):
    """Watch one ``apply`` call; ``NotImplemented`` tells ``apply`` to run its own body."""
    st = _state
    if st.pass_next:
        st.pass_next = False
        return NotImplemented
    col = collector
    ev = col.begin_op(cls, inputs, attrs) if col is not None else None
    st.pass_next = True
    try:
        out = cls.apply(*inputs, **attrs)
    finally:
        st.pass_next = False
        if ev is not None:
            col.end(ev)
    if ev is not None:
        col.end_op(ev, inputs, out)
    if anomaly:
        _tag(out)
    return out


# Backward ------------------------------------------------------------------------------

_NO_INFO = (
    "No forward pass information available. Enable detect anomaly during forward pass for "
    "more information."
)


def _warn_error(node) -> None:
    """PyTorch's warnings naming the failed node and the forward call that created it."""
    level = user_stacklevel()
    meta = node.__dict__.get("_metadata") or {}
    tb = meta.get("traceback_")
    if tb is None:
        warnings.warn(f"Error detected in {node.name()}. {_NO_INFO}", stacklevel=level)
        return
    warnings.warn(
        f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
        + "".join(tb),
        stacklevel=level,
    )
    parent = meta.get("parent_")
    while parent is not None:
        pmeta = parent.__dict__.get("_metadata") or {}
        ptb = pmeta.get("traceback_")
        if ptb is None:
            warnings.warn(f"Error detected in {parent.name()}. {_NO_INFO}", stacklevel=level)
        else:
            warnings.warn(
                f"\n\nPrevious calculation was induced by {parent.name()}. Traceback of forward "
                "call that induced the previous calculation:\n" + "".join(ptb),
                stacklevel=level,
            )
        parent = pmeta.get("parent_")


def _check_nan(node, grads) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        a = g._data if isinstance(g, F._Tensor) else g
        # NaN is the one value unequal to itself (works for any array module)
        if bool((a != a).any()):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


class _Backward:
    """The engine's observer: runs a node's backward inside the modes' checks.

    In anomaly mode the node stays "current" after its backward returned, until the next
    node runs or the pass ends: the engine sums its gradients into the next nodes' buffers
    after the call, and under ``create_graph`` those sums are nodes that it induced.
    """

    def start(self):
        """A backward pass begins: return the node current before it (nested passes)."""
        return _state.node

    def finish(self, outer) -> None:
        """The backward pass ended: the node current before it is current again."""
        _state.node = outer

    def evaluate(self, node, buf, create_graph):
        col = collector
        outer = inner = None
        if col is not None:
            name = node.name()
            seq = col.sequence_nr(node)
            outer = col.begin("autograd::engine::evaluate_function: " + name, seq=seq)
            inner = col.begin(name, seq=seq, shapes=buf)
        if anomaly:
            _state.node = node
        try:
            try:
                res = node._apply_backward(buf, create_graph)
            finally:
                if inner is not None:
                    col.end(inner)
            if inner is not None and col.profile_memory:
                col.allocated(inner, res)
            if anomaly and check_nan:
                _check_nan(node, res)
        except BaseException:
            if anomaly:
                _warn_error(node)
            raise
        finally:
            if outer is not None:
                col.end(outer)
        return res

    def accumulate(self, node, buf) -> None:
        col = collector
        if col is None:
            node.accumulate(buf[0])
            return
        outer = col.begin("autograd::engine::evaluate_function: torch::autograd::AccumulateGrad")
        inner = col.begin("torch::autograd::AccumulateGrad")
        try:
            node.accumulate(buf[0])
        finally:
            col.end(inner)
            col.end(outer)


_BACKWARD = _Backward()
