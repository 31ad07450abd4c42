"""The batched tensor behind ``vmap`` and the dispatch of primitives on it.

A ``BatchedTensor`` of vmap level ``L`` shows the *logical* tensor of one sample (its
``shape`` lacks the vmapped dim) and holds the *physical* tensor ``_value``, whose dim 0
is the batch. Nested vmaps nest wrappers: the physical tensor of level 2 may itself be
a level-1 ``BatchedTensor``.

Every primitive goes through ``Function.apply``; while a vmap runs, ``apply`` first asks
``dispatch`` here. With a batched input of an active level, ``dispatch`` runs the
primitive's batching rule on the physical tensors (``_batching_rules``), or, for a
primitive without one, loops over the batch calling the primitive per sample and stacks
the results, with PyTorch's performance warning. The physical computation is recorded
by autograd like any other, so gradients *through* a vmap (``vmap(f)(x).sum()
.backward()``) are those of the stacked computation.

What the primitives cannot see is covered by a second, whole-function fallback: Python
code that reads a batched tensor's values directly (``x._data`` in an op written on raw
arrays, ``x.tolist()``), a tensor modified in place, a random draw, autograd on a
batched tensor, or a ``torch.func`` transform other than a single-level ``grad`` (which
``grad_level`` batches) called inside the vmapped function. Each raises
``VmapFallback`` for its level; ``vmap`` catches it and reruns the function once per
sample (``_vmap.py``), which is exactly correct. A batched tensor's ``_data`` is
therefore a ``_Meta``: it answers ``shape``/``dtype``/``ndim``/``size`` with the
logical values and raises ``VmapFallback`` for anything that needs the numbers.
"""

from __future__ import annotations

import threading
import warnings

from .. import _random
from .._tensor import Tensor
from ..autograd import function as _function

_PERF_MSG = (
    "There is a performance drop because we have not yet implemented the batching rule for "
    "{}. Please file us an issue on GitHub so that we can prioritize its implementation."
)
# PyTorch shows the fallback warning only after
# torch._C._debug_only_display_vmap_fallback_warnings(True); so does tapegrad, through
# display_vmap_fallback_warnings below.
_show_fallback_warnings = False


def display_vmap_fallback_warnings(enabled: bool) -> None:
    """Show (or hide, the default, as in PyTorch) the "performance drop" warning that vmap
    gives when it runs an op or a function once per sample
    (``torch._C._debug_only_display_vmap_fallback_warnings``)."""
    global _show_fallback_warnings
    _show_fallback_warnings = bool(enabled)


def are_vmap_fallback_warnings_enabled() -> bool:
    """Whether the vmap fallback warning is shown
    (``torch._C._debug_only_are_vmap_fallback_warnings_enabled``)."""
    return _show_fallback_warnings


def warn_fallback(what: str, stacklevel: int) -> None:
    """The "performance drop" warning for ``what``, when enabled."""
    if _show_fallback_warnings:
        warnings.warn(_PERF_MSG.format(what), UserWarning, stacklevel=stacklevel + 1)


_RANDOM_ERROR = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
    "of vmap"
)


class VmapFallback(BaseException):
    """Raised inside a vmapped function when the batched execution cannot continue; the
    vmap of ``level`` catches it and reruns the function sample by sample.

    A BaseException so that ``except Exception`` in user or library code cannot swallow
    it and go on with wrong values.
    """

    def __init__(self, level: int, reason: str):
        super().__init__(reason)
        self.level = level
        self.reason = reason


class _Level:
    """One running vmap: its batch size and randomness mode. ``active`` is False while
    it runs its whole-function loop (its samples are then plain tensors)."""

    __slots__ = ("index", "batch_size", "randomness", "active")

    def __init__(self, index: int, batch_size: int, randomness: str):
        self.index = index
        self.batch_size = batch_size
        self.randomness = randomness
        self.active = True


class _ThreadLevels(threading.local):
    def __init__(self):
        self.levels: list[_Level] = []


# The running vmaps of this thread, outermost first; ``levels[i].index == i + 1``
# (PyTorch's lvl). Per thread: a DataLoader thread drawing random numbers while the main
# thread runs a vmap is not inside it.
_state = _ThreadLevels()
_hook_lock = threading.Lock()
_running = 0  # vmap levels over all threads: the hooks are installed while it is > 0


def push_level(batch_size: int, randomness: str) -> _Level:
    """Start a vmap level and install the dispatch hooks."""
    global _running
    levels = _state.levels
    level = _Level(len(levels) + 1, batch_size, randomness)
    levels.append(level)
    with _hook_lock:
        _running += 1
        _function._vmap_hook = dispatch
        _random._draw_hook = _on_random_draw
    return level


def pop_level(level: _Level) -> None:
    """End the innermost vmap level; the hooks go when the last one ends."""
    global _running
    levels = _state.levels
    assert levels and levels[-1] is level
    levels.pop()
    with _hook_lock:
        _running -= 1
        if not _running:
            _function._vmap_hook = None
            _random._draw_hook = None


def _outermost_active() -> _Level | None:
    for lv in _state.levels:
        if lv.active:
            return lv
    return None


def check_transform(name: str) -> None:
    """Called by the ``torch.func`` transforms: inside a vmap they run per sample."""
    lv = _outermost_active()
    if lv is not None:
        raise VmapFallback(lv.index, f"torch.func.{name} inside vmap")


def grad_level(name: str) -> _Level | None:
    """For ``grad`` called now: None outside vmap, the vmap level when exactly one is
    active (``grad`` then differentiates per-sample copies of its inputs, batched), and
    a per-sample rerun (VmapFallback) under nested active vmaps."""
    active = [lv for lv in _state.levels if lv.active]
    if not active:
        return None
    if len(active) > 1:
        raise VmapFallback(active[0].index, f"torch.func.{name} inside nested vmaps")
    return active[0]


def per_sample_physical(t: Tensor, level: _Level) -> Tensor:
    """``t``'s physical tensor at ``level``: an unbatched tensor expanded to one copy per
    sample, so that each sample's gradient lands in its own row."""
    if is_batched_at(t, level.index):
        return t._value
    return t.unsqueeze(0).expand(level.batch_size, *t.shape)


def _on_random_draw() -> None:
    # A random draw inside vmap: an error in "error" mode (also while a level loops),
    # otherwise the function runs per sample, where "same" replays one stream per sample.
    if any(lv.randomness == "error" for lv in _state.levels):
        raise RuntimeError(_RANDOM_ERROR)
    lv = _outermost_active()
    if lv is not None:
        raise VmapFallback(lv.index, "random operations")


def _values_needed(self, *args, **kwargs):
    _raise_for(self._lvl, "reading the values of a batched tensor")


def _raise_for(index: int, reason: str):
    levels = _state.levels
    if index > len(levels) or not levels[index - 1].active:
        raise RuntimeError(
            "vmap: a batched tensor was used outside of the vmap that created it (was it "
            "stored in a global or an attribute?)"
        )
    raise VmapFallback(index, reason)


class _Meta:
    """A batched tensor's ``_data``: the logical metadata, no values."""

    __slots__ = ("shape", "dtype", "_lvl")

    def __init__(self, shape: tuple, dtype, lvl: int):
        self.shape = shape
        self.dtype = dtype
        self._lvl = lvl

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __getattr__(self, name):
        _raise_for(self._lvl, f"ndarray.{name} of a batched tensor")

    __array__ = __array_ufunc__ = __array_function__ = _values_needed
    __getitem__ = __setitem__ = __iter__ = __len__ = __bool__ = _values_needed
    __float__ = __int__ = __index__ = __complex__ = _values_needed
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _values_needed
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _values_needed
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = __abs__ = _values_needed
    __and__ = __or__ = __xor__ = __invert__ = __matmul__ = __rmatmul__ = _values_needed
    __hash__ = None


class BatchedTensor(Tensor):
    """A tensor inside ``vmap`` (PyTorch's functorch ``BatchedTensor``): it behaves as one
    sample of the batch; ``_value`` holds the whole batch with the vmapped dim first.

    Only ``vmap`` creates these; they never leave it.
    """

    __slots__ = ("_value", "_lvl", "_meta")

    @property
    def _data(self):
        return self._meta

    @_data.setter
    def _data(self, value):
        if value is not self._meta:
            # an in-place change of a batched tensor's storage: rerun per sample
            _raise_for(self._lvl, "an in-place operation on a batched tensor")

    @property
    def _requires_grad(self) -> bool:
        # read by autograd's entry points and in-place paths, which need per-sample runs
        if self._value.requires_grad:
            _raise_for(self._lvl, "autograd inside vmap")
        return False

    @_requires_grad.setter
    def _requires_grad(self, value: bool) -> None:
        if value:
            _raise_for(self._lvl, "requires_grad_ on a batched tensor")

    @property
    def grad_fn(self):
        # the graph is recorded on the physical tensors; differentiating a batched tensor
        # inside the vmap (autograd.grad, backward) means per-sample gradients: rerun
        if self._value.requires_grad:
            _raise_for(self._lvl, "autograd inside vmap")
        return None

    @grad_fn.setter
    def grad_fn(self, value) -> None:
        if value is not None:
            _raise_for(self._lvl, "an in-place operation on a batched tensor")

    @property
    def requires_grad(self) -> bool:
        return self._value.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        _raise_for(self._lvl, "requires_grad_ on a batched tensor")

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        _raise_for(self._lvl, "requires_grad_ on a batched tensor")

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        _raise_for(self._lvl, "backward inside vmap")

    @property
    def device(self):
        return self._value.device

    def numpy(self, *, force: bool = False):
        _raise_for(self._lvl, "Tensor.numpy() of a batched tensor")

    def detach(self) -> Tensor:
        return make_batched(self._value.detach(), self._lvl)

    def contiguous(self, memory_format=None) -> Tensor:
        return self

    def is_contiguous(self, memory_format=None) -> bool:
        return True

    def item(self):
        raise RuntimeError(
            "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap "
            "over calling .item() on a Tensor, please try to rewrite what you're doing with "
            "other operations. If error is occurring somewhere inside PyTorch internals, "
            "please file a bug report."
        )

    def __bool__(self) -> bool:
        raise RuntimeError(
            "vmap: It looks like you're attempting to use a Tensor in some data-dependent "
            "control flow. We don't support that yet, please file an issue at "
            "https://github.com/pytorch/pytorch/issues ."
        )

    def __repr__(self, *, tensor_contents=None) -> str:
        inner = repr(self._value).replace("\n", "\n    ")
        return f"BatchedTensor(lvl={self._lvl}, bdim=0, value=\n    {inner}\n)"


def make_batched(value: Tensor, lvl: int) -> BatchedTensor:
    """Wrap ``value`` (batch dim first) as a batched tensor of vmap level ``lvl``."""
    t = object.__new__(BatchedTensor)
    t._value = value
    t._lvl = lvl
    t._meta = _Meta(tuple(value.shape)[1:], value._data.dtype, lvl)
    Tensor.__init_from__(t, t._meta)
    return t


def is_batched_at(t, lvl: int) -> bool:
    return type(t) is BatchedTensor and t._lvl == lvl


def dispatch(cls, inputs, attrs):
    """``Function.apply``'s hook while vmap runs: NotImplemented when no input is batched
    at an active level, else the batched result."""
    lvl = 0
    for t in inputs:
        if type(t) is BatchedTensor and t._lvl > lvl:
            lvl = t._lvl
    if not lvl:
        return NotImplemented
    levels = _state.levels
    level = levels[lvl - 1] if lvl <= len(levels) else None
    if level is None or not level.active:
        _raise_for(lvl, "")
    if not isinstance(cls, type) or not issubclass(cls, _function.Function):
        # a custom autograd.Function: its forward is Python code, run per sample
        raise VmapFallback(lvl, f"the autograd.Function {getattr(cls, '__name__', cls)}")
    from ._batching_rules import rule_for

    rule = rule_for(cls)
    if rule is not None:
        res = rule(cls, inputs, attrs, lvl)
        if res is not NotImplemented:
            return res
    return _loop(cls, inputs, attrs, level)


def _loop(cls, inputs, attrs, level: _Level):
    """The per-primitive fallback: the primitive once per sample, results stacked."""
    from ..ops.shape import stack

    warn_fallback(f"tapegrad::{cls.__name__}", stacklevel=4)
    lvl = level.index
    if level.batch_size == 0:
        raise VmapFallback(lvl, f"{cls.__name__} on an empty batch")
    per_sample = []
    for i in range(level.batch_size):
        args = [t._value.select(0, i) if is_batched_at(t, lvl) else t for t in inputs]
        per_sample.append(cls.apply(*args, **attrs))
    if cls.num_outputs == 1:
        return make_batched(stack(per_sample, 0), lvl)
    return tuple(make_batched(stack(list(outs), 0), lvl) for outs in zip(*per_sample))
