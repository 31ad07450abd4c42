"""Graph nodes: the primitive ``Function`` (raw arrays), ``AccumulateGrad`` and
the user-facing ``autograd.Function`` (tensors), as in PyTorch.

A node is created per recorded operation. It knows the edges to the nodes that
produced its inputs (``next_functions``), which inputs need a gradient, the
shapes and dtypes of its inputs (the engine un-broadcasts gradients with them),
and the state its ``backward`` needs. It never refers to its outputs.
"""

from __future__ import annotations

import re
import sys
import weakref

from ..backend import numpy as _np
from . import grad_mode

_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)

_Tensor = None  # set by tapegrad._tensor to break the import cycle
# The version counter of the operands an op makes from Python scalars (set by
# tapegrad._tensor): no tensor a user holds has it, so nothing saved with it is checked.
_CONST_VERSION = None
_Version = None  # the version counter class, set by tapegrad._tensor

# Watchers of every primitive call and every backward node, installed by ``_observe`` while
# anomaly mode or the profiler is on; None otherwise, so the hot path pays one global read.
_apply_observer = None
_backward_observer = None
# Set by torch.func.vmap while it runs: ``_vmap_hook(cls, inputs, attrs)`` runs an op on
# batched tensors (its batching rule), or returns NotImplemented when none is batched.
_vmap_hook = None


class Node:
    """A recorded operation in the autograd graph (``torch.autograd.graph.Node``)."""

    __slots__ = (
        "_nexts",
        "needs_input_grad",
        "_in_meta",
        "_recording",
        "__weakref__",
        "__dict__",
    )
    num_outputs = 1
    non_differentiable: tuple = ()
    # Class defaults rather than slots, so that ``apply`` stores them only when they differ
    # (a store on a node is a generic attribute store: nodes come in many classes): the
    # saved arrays and their version records, whether they were released, and the
    # output numbers of the edges, all zero for most nodes (any length covers them: the
    # edges are read paired with ``_nexts``).
    _saved = None
    _saved_versions = None
    _freed = False
    _nrs = (0, 0)
    # The array namespace backward formulas compute with: the backend's array module for
    # an ordinary backward, the graph namespace (differentiable tapegrad ops) while the
    # engine runs this node under create_graph.
    xp = _np
    # Hooks registered on the node itself live in its __dict__; these defaults let the
    # engine read them as plain attributes.
    _node_pre_hooks = None
    _post_hooks = None
    # Hooks on the node's outputs (by output number), retained grads and the tensor hooks
    # of a leaf: rarely set, so class defaults rather than a store per op in ``apply``.
    _pre_hooks = None
    _retains = None
    _hooks = None
    # True once any of the hooks above (or a retained grad) was set on this node: the
    # engine then calls them; one test per node instead of three
    _hooked = False

    def name(self) -> str:
        return type(self).__name__

    # The edges to the nodes that made this node's inputs are kept flat: the nodes in
    # ``_nexts`` (None for an input that needs no gradient) and their output numbers in
    # ``_nrs`` (an interned tuple, shared by every node with the same numbers). A tuple
    # of (node, nr) pairs per node was three container objects per two-input op for the
    # cyclic GC to track and traverse; the pairs are built only when a user reads them.
    @property
    def next_functions(self) -> tuple | None:
        """The ``(node, output_nr)`` edges to the nodes that produced this node's inputs."""
        nexts = self._nexts
        if nexts is None:
            return None
        return tuple(zip(nexts, self._nrs))

    @next_functions.setter
    def next_functions(self, edges) -> None:
        if edges is None:
            self._nexts = self._nrs = None
            return
        self._nexts = tuple(e[0] for e in edges)
        self._nrs = _nrs_of(tuple(e[1] for e in edges))

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    def register_hook(self, fn):
        """Call ``fn(grad_inputs, grad_outputs)`` after this node runs."""
        self._hooked = True
        hooks = self.__dict__.setdefault("_post_hooks", [])
        hooks.append(fn)
        return _RemovableHandle(hooks, fn)

    def register_prehook(self, fn):
        """Call ``fn(grad_outputs)`` before this node runs; it may return new grads."""
        self._hooked = True
        hooks = self.__dict__.setdefault("_node_pre_hooks", [])
        hooks.append(fn)
        return _RemovableHandle(hooks, fn)

    @property
    def metadata(self) -> dict:
        return self.__dict__.setdefault("_metadata", {})

    # Saved state -----------------------------------------------------------

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays for backward; their tensors' versions are checked then."""
        if self._recording:
            self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """The arrays given to ``save_for_backward``, checked for in-place changes.

        Under ``create_graph`` (``self.xp`` is the graph namespace) they come back as
        tensors wired into the graph: a saved input hangs off the node that produced
        it, a saved output off this node, so the backward formula is differentiable
        in them. Anything else that was saved is a constant.
        """
        if self._freed:
            raise RuntimeError(_FREED_MSG)
        versions = self._saved_versions
        if versions:
            for idx, counter, expected, owner, nr, _src in versions:
                if counter.v != expected:
                    a = self._saved[idx]
                    owner = self if owner is None else owner
                    msg = _modified_msg(counter.v, expected, a.shape, a.dtype, owner, nr)
                    raise RuntimeError(msg)
        if self.xp is not _np:
            return self._saved_as_tensors()
        return self._saved

    def _saved_as_tensors(self) -> tuple:
        src = {v[0]: v[5] for v in self._saved_versions or ()}
        out = []
        for idx, a in enumerate(self._saved):
            if a is None:
                out.append(None)
                continue
            s = src.get(idx)
            if s is None:
                out.append(_Tensor._make(a))
            elif s >= 0:
                out.append(_connected(a, self._nexts[s], self._nrs[s]))
            elif a.dtype.kind in "fcV" and -s - 1 not in self.non_differentiable:
                out.append(_connected(a, self, -s - 1))
            else:
                out.append(_Tensor._make(a))
        return tuple(out)

    def _release(self) -> None:
        if self._saved is not None or self._saved_versions:
            self._saved = None
            self._freed = True

    def _apply_backward(self, grads, create_graph=False):
        raise NotImplementedError


def _connected(array, node, nr):
    """A tensor holding ``array`` whose gradient flows into ``(node, nr)``.

    ``node`` None makes a constant; an ``AccumulateGrad`` makes a leaf that shares the
    original leaf's accumulator, so gradients reach the original ``.grad``/inputs.
    """
    t = _Tensor._make(array)
    if node is None:
        return t
    t._requires_grad = True
    if type(node) is AccumulateGrad:
        t._acc_ref = weakref.ref(node)
    else:
        t.grad_fn = node
        t._output_nr = nr
    return t


_HINT = (
    "Hint: enable anomaly detection to find the operation that failed to compute its "
    "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
)
# PyTorch's hint when anomaly mode is on (its warning has just shown the forward traceback)
_ANOMALY_HINT = (
    "Hint: the backtrace further above shows the operation that failed to compute its "
    "gradient. The variable in question was changed in there or anywhere later. Good luck!"
)


def _modified_msg(version, expected, shape, dt, owner, nr) -> str:
    """PyTorch's message for a saved tensor changed in place since it was saved.

    ``owner`` is the node that saved its own output, or a weak reference to a saved
    input, whose current ``grad_fn`` PyTorch names (``Add`` for ``AddBackward0``).
    """
    if isinstance(owner, weakref.ref):
        t = owner()
        node = None if t is None else t.grad_fn
        nr = 0 if t is None else t._output_nr
    else:
        node = owner
    which = ""
    if node is not None:
        name = node.name().rsplit("::", 1)[-1]
        name = re.sub(r"Backward\d*$", "", name)
        which = f", which is output {nr} of {name},"
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{_type_name(dt)} {list(shape)}]{which} is at version {version}; expected "
        f"version {expected} instead. {_ANOMALY_HINT if _anomaly_on() else _HINT}"
    )


def _anomaly_on() -> bool:
    from .anomaly_mode import is_anomaly_enabled

    return is_anomaly_enabled()


def _type_name(np_dtype) -> str:
    names = {
        "float32": "Float",
        "float64": "Double",
        "float16": "Half",
        "int64": "Long",
        "int32": "Int",
        "int16": "Short",
        "int8": "Char",
        "uint8": "Byte",
        "bool": "Bool",
        "complex64": "ComplexFloat",
        "complex128": "ComplexDouble",
        "bfloat16": "BFloat16",
    }
    return f"torch.{names.get(str(np_dtype), str(np_dtype))}Tensor"


class _RemovableHandle:
    """Returned by hook registration; ``remove()`` unregisters (``RemovableHandle``)."""

    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if isinstance(self._hooks, dict):
            self._hooks.pop(self._fn, None)
        elif self._fn in self._hooks:
            self._hooks.remove(self._fn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Function(Node):
    """A primitive operation: ``forward`` and ``backward`` work on raw arrays.

    Subclasses write ``forward(ctx, *arrays, **attrs)`` returning an array (or a
    tuple of arrays when ``num_outputs > 1``) and ``backward(ctx, *grads)``
    returning one gradient per array input, ``None`` where
    ``ctx.needs_input_grad[i]`` is false. ``apply`` records the node when grad
    mode is on and an input requires grad. Gradients may keep a broadcast
    shape: the engine sums them down to each input's shape.
    """

    # Outputs that never get a gradient (e.g. argmax indices).
    non_differentiable: tuple = ()
    # Set by an op whose outputs alias an input (a view).
    is_view = False
    # Name shown by grad_fn, e.g. "MulBackward0"; defaults to f"{cls}Backward0".
    backward_name: str | None = None
    # One output, not a view, differentiable: what ``apply`` makes without further tests
    # (set per subclass from the three attributes above).
    _plain = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("backward_name") or cls.__name__ + "Backward0"
        cls.backward_name = name
        # one class attribute read per op in ``apply`` instead of three
        cls._plain = cls.num_outputs == 1 and not cls.is_view and 0 not in cls.non_differentiable

    def name(self) -> str:
        return self.backward_name

    def forward(ctx, *arrays, **attrs):
        raise NotImplementedError(f"{type(ctx).__name__} has no forward")

    def backward(ctx, *grads):
        raise RuntimeError(f"the derivative for '{ctx.backward_name}' is not implemented.")

    def _apply_backward(self, grads, create_graph=False):
        if create_graph:
            return self._apply_backward_graph(grads)
        if self.num_outputs > 1 and any(g is None for g in grads):
            grads = [
                _np.zeros(shape, dtype) if g is None else g
                for g, (shape, dtype) in zip(grads, self._out_meta)
            ]
        res = self.backward(*grads)
        return res if type(res) is tuple or type(res) is list else (res,)

    def _apply_backward_graph(self, grads):
        """Run the backward formula on tensors, recording it (``create_graph=True``)."""
        from ..ops import graph_xp

        if self.num_outputs > 1 and any(g is None for g in grads):
            grads = [
                graph_xp.zeros(shape, dtype) if g is None else g
                for g, (shape, dtype) in zip(grads, self._out_meta)
            ]
        self.xp = graph_xp
        try:
            res = self.backward(*grads)
        finally:
            del self.xp
        res = res if type(res) is tuple or type(res) is list else (res,)
        for r in res:
            if r is not None and not isinstance(r, _Tensor):
                raise RuntimeError(
                    f"the derivative for '{self.backward_name}' is not implemented for "
                    "create_graph=True: its backward returned a raw array"
                )
        return res

    def op(self, fn_cls, *args, **attrs):
        """Run the primitive ``fn_cls`` inside a backward formula.

        In an ordinary backward this is its forward kernel on raw arrays (no node is
        recorded); under ``create_graph`` it is ``fn_cls.apply`` on tensors, so the
        kernel's own backward makes the gradient differentiable again. This is how a
        kernel-style backward (a convolution's weight gradient, a pooling's scatter)
        is written once for both.
        """
        if self.xp is _np:
            sub = fn_cls.__new__(fn_cls)
            sub._recording = False
            sub._saved = None
            sub.needs_input_grad = tuple(a is not None for a in args)
            return sub.forward(*args, **attrs)
        from ..ops import graph_xp

        return fn_cls.apply(*[None if a is None else graph_xp.asarray(a) for a in args], **attrs)

    @classmethod
    def apply(cls, *inputs, **attrs):
        """Run forward on the inputs' arrays and record the node if needed."""
        if _apply_observer is not None:
            out = _apply_observer(cls, inputs, attrs)
            if out is not NotImplemented:
                return out
        if _vmap_hook is not None:
            res = _vmap_hook(cls, inputs, attrs)
            if res is not NotImplemented:
                return res
        # This runs once per op: keep it lean. Every container that outlives the call is
        # one more object for the cyclic GC to count and traverse, which on chains of
        # small ops costs more than the arithmetic; hence the interned tuples below.
        ctx = _new(cls)
        # One and two tensor inputs (nearly every op) are unrolled; n = 0 marks the loops.
        n = len(inputs)
        if n == 2 and inputs[0] is not None and inputs[1] is not None:
            a, b = inputs
            ra = a._requires_grad
            rb = b._requires_grad
            d = a._data
            db = b._data
            record = (ra or rb) and _grad_state.enabled
        elif n == 1 and inputs[0] is not None:
            a = inputs[0]
            ra = a._requires_grad
            d = a._data
            record = ra and _grad_state.enabled
        else:
            n = 0
            arrays = []
            needs = []
            record = False
            for t in inputs:
                if t is None:
                    arrays.append(None)
                    needs.append(False)
                else:
                    arrays.append(t._data)
                    rg = t._requires_grad
                    needs.append(rg)
                    if rg:
                        record = True
            if record and not _grad_state.enabled:
                record = False
            needs = tuple(needs)
        ctx._recording = record
        if not record:
            ctx._nexts = None
            if n:
                arrays = (d, db) if n == 2 else (d,)
            out = ctx.forward(*arrays, **attrs)
            if cls._plain:
                return _Tensor._make(out)
            if cls.num_outputs == 1:
                return _wrap(out, inputs, cls.is_view, ctx) if cls.is_view else _Tensor._make(out)
            return tuple(_wrap(o, inputs, cls.is_view, None) for o in out)
        if n == 2:
            needs = _BOTH if ra and rb else (_FIRST if ra else _SECOND)
        elif n:
            needs = _FIRST_OF_ONE  # recording: the one input requires grad
        else:
            needs = _NEEDS.get(needs) or _intern(_NEEDS, needs)
        ctx.needs_input_grad = needs
        # positional calls when there are no attributes: no argument tuple, no unpacking
        if n == 2:
            out = ctx.forward(d, db, **attrs) if attrs else ctx.forward(d, db)
        elif n:
            out = ctx.forward(d, **attrs) if attrs else ctx.forward(d)
        else:
            out = ctx.forward(*arrays, **attrs)
        ctx._recording = False
        if n:
            # each edge: the input's grad_fn and output number, or a leaf's accumulator
            fn = a.grad_fn if ra else None
            ka = a._output_nr if fn is not None else 0
            na = fn if fn is not None or not ra else a._accumulator()
            if n == 2:
                key = (d.shape, d.dtype, db.shape, db.dtype)
                fn = b.grad_fn if rb else None
                kb = b._output_nr if fn is not None else 0
                nb = fn if fn is not None or not rb else b._accumulator()
                ctx._nexts = (na, nb)
                if ka or kb:  # else the class default: all zero
                    ctx._nrs = _nrs_of((ka, kb))
            else:
                key = (d.shape, d.dtype)
                ctx._nexts = (na,)
                if ka:
                    ctx._nrs = _nrs_of((ka,))
        else:
            nexts = []
            nrs = []
            key = []
            for t, need in zip(inputs, needs):
                if t is None:
                    nexts.append(None)
                    nrs.append(0)
                    key.append(None)
                    continue
                d = t._data
                key.append(d.shape)
                key.append(d.dtype)
                fn = t.grad_fn if need else None
                if fn is not None:
                    nexts.append(fn)
                    nrs.append(t._output_nr)
                else:
                    nexts.append(t._accumulator() if need else None)
                    nrs.append(0)
            key = tuple(key)
            ctx._nexts = tuple(nexts)
            ctx._nrs = _nrs_of(tuple(nrs))
        meta = _META.get(key)
        if meta is None:
            meta = _intern(_META, key, _meta_of(key))
        ctx._in_meta = meta
        plain = cls._plain
        if plain or cls.num_outputs == 1:
            # Tensor._make, inlined (once per op)
            t = _new(_Tensor)
            t._data = o = out if type(out) is _ndarray else _np.asarray(out)
            t._requires_grad = False
            t.grad_fn = None
            t._output_nr = 0
            t._grad = None
            if not plain and cls.is_view:
                _link_view(t, inputs[0], ctx)  # the source's version counter, if shared
            else:
                # made now, not on first use: a recorded result is likely saved by the
                # next op, and the lazy path costs an AttributeError
                vc = t._vc = _new(_Version)
                vc.v = 0
            # integer and bool results never require grad (x.long(), comparisons), as in PyTorch
            # (kind "V" is ml_dtypes' bfloat16: tensors hold no other void dtype)
            if o.dtype.kind in "fcV" and (plain or 0 not in cls.non_differentiable):
                t._requires_grad = True
                t.grad_fn = ctx
            saved = ctx._saved
            if saved:
                if n == 1 and plain and len(saved) == 1 and saved[0] is o and o is not d:
                    # the one saved array is this (not a view) output, its counter
                    # just made: _versions_small's record, without its call and loop
                    ctx._saved_versions = ((0, vc, 0, None, 0, -1),)
                elif (
                    n == 2
                    and len(saved) == 2
                    and saved[0] is None
                    and saved[1] is db
                    and db is not d
                    and getattr(b, "_vc", None) is _CONST_VERSION
                ):
                    pass  # only an operand made from a Python number: no record (as below)
                elif n:
                    ctx._saved_versions = _versions_small(saved, a, b if n == 2 else None, t)
                else:
                    ctx._saved_versions = _versions_of(ctx._saved, inputs, (t,))
            return t
        ctx._out_meta = tuple((o.shape, o.dtype) for o in out)
        results = []
        for i, o in enumerate(out):
            t = _wrap(o, inputs, cls.is_view, None)
            if i not in cls.non_differentiable and t._data.dtype.kind in "fcV":
                t._requires_grad = True
                t.grad_fn = ctx
                t._output_nr = i
            results.append(t)
        if ctx._saved:
            ctx._saved_versions = _versions_of(ctx._saved, inputs, results)
        return tuple(results)


_new = object.__new__
_grad_state = grad_mode._enabled  # the thread-local grad-mode flag, read once per op
_ndarray = _np.ndarray
_NO_EDGE = (None, 0)
# Interned small tuples shared by many nodes: ``needs_input_grad`` patterns and the
# inputs' (shape, dtype) metadata, keyed by the flat (shape, dtype, ...) of the inputs.
_NEEDS: dict = {}
# the patterns of the one- and two-input ops ``apply`` unrolls, without a lookup
_FIRST_OF_ONE = (True,)
_BOTH, _FIRST, _SECOND = (True, True), (True, False), (False, True)
_META: dict = {}
_INTERN_LIMIT = 4096
# the output numbers of nodes' edges (``Node._nrs``), interned
_NRS: dict = {}


def _intern(table: dict, key, value=None):
    """Store ``value`` (``key`` itself when None) under ``key``; a table that has grown
    past its limit (a program of ever new shapes) starts over rather than grow forever."""
    if len(table) >= _INTERN_LIMIT:
        table.clear()
    table[key] = key if value is None else value
    return table[key]


def _nrs_of(nrs: tuple) -> tuple:
    """The interned copy of an edge output-number tuple (``Node._nrs``)."""
    return _NRS.get(nrs) or _intern(_NRS, nrs)


def _meta_of(key: tuple) -> tuple:
    """The ``_in_meta`` tuple, one ``(shape, dtype)`` or None per input, from its flat key."""
    meta = []
    i = 0
    while i < len(key):
        if key[i] is None:
            meta.append(None)
            i += 1
        else:
            meta.append((key[i], key[i + 1]))
            i += 2
    return tuple(meta)


def _wrap(array, inputs, is_view, ctx):
    t = _Tensor._make(array)
    if is_view and inputs and array is not None:
        _link_view(t, inputs[0], ctx)
    return t


def _link_view(t, src, ctx) -> None:
    """Make ``t``, the output of the view op ``ctx`` on ``src``, a view of ``src``'s base
    when it shares ``src``'s storage (NumPy's view keeps a reference to its base)."""
    if src is None:
        return
    a = t._data
    ab = a.base
    if a is (sd := src._data) or ab is not None and (ab is sd or ab is sd.base is not None):
        # A view shares its source's storage and version counter; ``_view_chain``
        # replays the view ops from the root base (for CopySlices).
        try:
            t._vc = src._vc
        except AttributeError:
            t._vc = src._version_counter
        base = src._base
        if base is not None:
            t._base = base
            chain = src._view_chain
            chain = chain + (ctx,) if chain is not None and ctx is not None else None
        else:
            t._base = base = src
            chain = (ctx,) if ctx is not None else None
        t._view_chain = chain
        if chain is None:
            return
        # Remember the view on its root base (weakly): an in-place op through one view
        # gives the base a new history, and every other view of it must then read from
        # that history (PyTorch regenerates their ``grad_fn`` when the version moves).
        # Plain weak references in a list (a WeakSet's callback references cost more than
        # the view op itself); the dead ones are dropped whenever the list doubles.
        views = base._views
        if views is None:
            base._views = [weakref.ref(t)]
            return
        views.append(weakref.ref(t))
        n = len(views)
        if n >= 16 and n & (n - 1) == 0:
            views[:] = [r for r in views if r() is not None]


def live_views(base) -> list:
    """The views registered on ``base`` (by ``_link_view``) that are still alive."""
    out = []
    for r in base._views or ():
        v = r()
        if v is not None:
            out.append(v)
    return out


def _edge(t):
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    return (t._accumulator(), 0)


def _versions_of(saved, inputs, outputs):
    """For each saved array that is an input's or an output's data: its version record
    ``(index in saved, counter, version at save, owner, output number, source)``.

    ``owner`` is a weak reference to a saved input (its current ``grad_fn`` names it in
    the error), None for an output (the saving node itself, without a reference cycle).
    The source says where the array came from, for ``create_graph``: input ``i`` as
    ``i``, output ``k`` as ``-k - 1``. An operand that the op itself made from a Python
    scalar has no reachable tensor to modify, so it gets no record.
    """
    versions = []
    for idx, a in enumerate(saved):
        if a is None:
            continue
        for i, t in enumerate(inputs):
            if t is not None and t._data is a:
                vc = t._version_counter
                if vc is not _CONST_VERSION:
                    versions.append((idx, vc, vc.v, weakref.ref(t), t._output_nr, i))
                break
        else:
            for k, t in enumerate(outputs):
                if t._data is a:
                    vc = t._version_counter
                    versions.append((idx, vc, vc.v, None, k, -k - 1))
                    break
    return tuple(versions) or None


def _versions_small(saved, a, b, out):
    """``_versions_of(saved, (a, b), (out,))`` for the ops ``apply`` unrolls: one or two
    tensor inputs (``b`` None for one) and one output; the same records, found without
    the general loops (this runs for every op that saves something)."""
    versions = None
    idx = 0
    for s in saved:
        if s is not None:
            if s is a._data:
                # the counter slot read directly (the property is one more call per op);
                # a tensor that has none yet gets it through the property
                try:
                    vc = a._vc
                except AttributeError:
                    vc = a._version_counter
                rec = (
                    None
                    if vc is _CONST_VERSION
                    else (idx, vc, vc.v, weakref.ref(a), a._output_nr, 0)
                )
            elif b is not None and s is b._data:
                try:
                    vc = b._vc
                except AttributeError:
                    vc = b._version_counter
                rec = (
                    None
                    if vc is _CONST_VERSION
                    else (idx, vc, vc.v, weakref.ref(b), b._output_nr, 1)
                )
            elif s is out._data:
                try:
                    vc = out._vc
                except AttributeError:
                    vc = out._version_counter
                rec = (idx, vc, vc.v, None, 0, -1)
            else:
                rec = None
            if rec is not None:
                versions = (rec,) if versions is None else versions + (rec,)
        idx += 1
    return versions


class AccumulateGrad(Node):
    """The node that adds a gradient into a leaf tensor's ``.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable
        self._nexts = self._nrs = ()
        self.needs_input_grad = ()
        self._saved = None
        self._saved_versions = None
        self._freed = False
        self._in_meta = ()
        self._recording = False

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"  # PyTorch's name for it (its C++ class)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"  # PyTorch's: the Python type's name

    def accumulate(self, grad) -> None:
        """Run the leaf's hooks, then add ``grad`` into ``variable.grad``."""
        if isinstance(grad, _Tensor):
            return self._accumulate_graph(grad)
        var = self.variable
        replaced = False
        if var._hooks:
            for hook in list(var._hooks.values()):
                res = hook(_Tensor._make(grad))
                if res is not None:
                    grad = res._data
                    replaced = True
        # A gradient that nothing else references (the engine's buffer held the only
        # reference) and that owns its memory becomes .grad without a copy, as PyTorch's
        # AccumulateGrad steals it.
        owned = not replaced and grad.base is None and sys.getrefcount(grad) <= _OWNED_REFS
        if grad.shape != var._data.shape:
            from .engine import sum_to

            grad = sum_to(grad, var._data.shape)
        if grad.dtype != var._data.dtype:
            grad = grad.astype(var._data.dtype)
        if var._grad is None:
            var._grad = _Tensor._make(grad if owned else grad.copy())
        else:
            g = var._grad
            if _grad_state.enabled and g._requires_grad:
                var._grad = g + _Tensor._make(grad)
            else:
                g._data += grad
                g._version_counter.v += 1
        if var._post_acc_hooks:
            for hook in list(var._post_acc_hooks.values()):
                hook(var)

    def _accumulate_graph(self, grad) -> None:
        """``create_graph``: ``.grad`` becomes (or is summed out of place with) a graph tensor."""
        var = self.variable
        if var._hooks:
            for hook in list(var._hooks.values()):
                res = hook(grad)
                if res is not None:
                    grad = res
        if tuple(grad.shape) != var._data.shape:
            from ..ops import graph_xp
            from .engine import sum_to

            grad = sum_to(grad, var._data.shape, graph_xp)
        if grad._data.dtype != var._data.dtype:
            grad = grad.to(var.dtype)
        if grad.requires_grad:
            import warnings

            warnings.warn(_CYCLE_MSG, UserWarning, stacklevel=2)
        # PyTorch keeps the very tensor it was given when it does not need a copy
        var._grad = grad if var._grad is None else var._grad + grad
        if var._post_acc_hooks:
            for hook in list(var._post_acc_hooks.values()):
                hook(var)


_CYCLE_MSG = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using "
    "autograd.grad when creating the graph to avoid this. If you have to use this function, "
    "make sure to reset the .grad fields of your parameters to None after use to break the "
    "cycle and avoid the leak."
)


class _RefProbe:
    def count(self, obj) -> int:
        return sys.getrefcount(obj)


def _owned_refcount() -> int:
    """The reference count ``accumulate`` sees for a gradient held only by the engine's buffer.

    Measured through the same call shape as the engine's ``node.accumulate(buf[0])``, so
    it holds on any CPython version.
    """
    buf = [object()]
    return _RefProbe().count(buf[0])


_OWNED_REFS = _owned_refcount()


class FunctionCtx:
    """The ``ctx`` object handed to a user-defined ``autograd.Function``."""

    def __init__(self):
        self.to_save = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._non_diff = set()
        self._dirty = ()

    def save_for_backward(self, *tensors) -> None:
        self.to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class _UserNode(Node):
    """The graph node of a user-defined ``autograd.Function`` call."""

    _graph = False  # True while its backward runs under create_graph

    def __init__(self, fn_cls, ctx, n_out):
        self._fn_cls = fn_cls
        self._ctx = ctx
        self.num_outputs = n_out
        self._saved = None
        self._saved_versions = None
        self._freed = False
        self._recording = False

    def name(self) -> str:
        return self._fn_cls.__name__ + "Backward"

    def _release(self) -> None:
        self._saved_tensor_objs = ()
        self._freed = True

    def _apply_backward(self, grads, create_graph=False):
        ctx = self._ctx
        if self._freed:
            raise RuntimeError(_FREED_MSG)
        Tensor = _Tensor
        gts = []
        for g, (shape, dt) in zip(grads, self._out_meta):
            if g is None and ctx.materialize_grads:
                g = _np.zeros(shape, dtype=dt)
            gts.append(g if g is None or isinstance(g, Tensor) else Tensor._make(g))
        if create_graph:
            # the user's backward is tensor code: recorded as is, with saved outputs
            # wired back to this node so that it is differentiable in them
            self._graph = True
            try:
                res = self._fn_cls.backward(ctx, *gts)
            finally:
                self._graph = False
        else:
            with grad_mode.no_grad():
                res = self._fn_cls.backward(ctx, *gts)
        if not isinstance(res, tuple):
            res = (res,)
        n_in = len(self._nexts)
        if len(res) < n_in:
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {n_in}, got {len(res)})"
            )
        out = []
        for r, need in zip(res[:n_in], self._tensor_input_mask):
            if not need or r is None:
                out.append(None)
            elif isinstance(r, Tensor):
                out.append(r if create_graph else r._data)
            else:
                raise TypeError(
                    f"function {self.name()} returned a gradient of type {type(r).__name__}, "
                    "expected a Tensor or None"
                )
        return out


class UserFunction:
    """Base class for custom differentiable operations (``torch.autograd.Function``).

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``
    as static methods working on tensors, and are called with ``.apply``::

        class Exp(Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, g):
                (y,) = ctx.saved_tensors
                return g * y
    """

    # The class of this Function's graph nodes, named like PyTorch's ("ExpBackward"),
    # so that type(y.grad_fn).__name__ reads as it does in PyTorch.
    _backward_cls: type = _UserNode

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._backward_cls = type(
            cls.__name__ + "Backward",
            (_UserNode,),
            {"__module__": cls.__module__, "__qualname__": cls.__qualname__ + "Backward"},
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement the backward function for custom autograd.Function."
        )

    @classmethod
    def apply(cls, *args, **kwargs):
        if _apply_observer is not None:
            out = _apply_observer(cls, args, kwargs)
            if out is not NotImplemented:
                return out
        Tensor = _Tensor
        if _vmap_hook is not None:
            _vmap_hook(cls, args, kwargs)  # batched inputs: vmap reruns per sample
        ctx = FunctionCtx()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        record = _grad_state.enabled and any(t._requires_grad for t in tensor_args)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        with grad_mode.no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        if not record:
            return out
        node = cls._backward_cls(cls, ctx, len(outs))
        node.next_functions = tuple(
            _edge(a) if isinstance(a, Tensor) and a._requires_grad else (None, 0) for a in args
        )
        node.needs_input_grad = ctx.needs_input_grad
        node._tensor_input_mask = ctx.needs_input_grad
        node._in_meta = tuple(
            (a._data.shape, a._data.dtype) if isinstance(a, Tensor) else None for a in args
        )
        results = []
        input_ids = {id(a) for a in tensor_args}
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                results.append(o)
                continue
            if id(o) in input_ids and all(o is not d for d in ctx._dirty):
                o = o.view_as(o)  # an input returned as is becomes a new node's output
            if id(o) in ctx._non_diff or not o.dtype.is_floating_point:
                results.append(o)
                continue
            o._requires_grad = True
            o.grad_fn = node
            o._output_nr = i
            results.append(o)
        node._out_meta = tuple(
            (o._data.shape, o._data.dtype) if isinstance(o, Tensor) else ((), None) for o in outs
        )
        # saved tensors: keep tensors and check their versions at backward time
        # A saved output is kept as a detached alias (same storage and version counter):
        # holding the output itself would make the cycle node -> output -> grad_fn.
        out_nr = {id(o): i for i, o in enumerate(results) if isinstance(o, Tensor)}
        saved = tuple(s.detach() if s is not None and id(s) in out_nr else s for s in ctx.to_save)
        node._saved_tensor_objs = saved
        # (counter, version at save, output number when the tensor is an output of this node)
        node._saved_tensor_versions = tuple(
            None if s is None else (s._version_counter, s._version_counter.v, out_nr.get(id(orig)))
            for s, orig in zip(saved, ctx.to_save)
        )
        ctx.to_save = ()
        # a weak link back: node -> ctx -> node would be a cycle that only gc frees
        ctx._node = weakref.ref(node)
        return results[0] if single else tuple(results)


def _user_saved_tensors(ctx):
    node = ctx._node()
    if node._freed:
        raise RuntimeError(_FREED_MSG)
    for s, ver in zip(node._saved_tensor_objs, node._saved_tensor_versions):
        if ver is not None and ver[0].v != ver[1]:
            counter, expected, nr = ver
            owner = weakref.ref(s) if nr is None else node
            msg = _modified_msg(counter.v, expected, s.shape, s._data.dtype, owner, nr or 0)
            raise RuntimeError(msg)
    if node._graph:
        # saved outputs are kept detached (no cycle); under create_graph they hang off
        # the node again, so the backward is differentiable in them
        return tuple(
            _connected(s._data, node, ver[2]) if ver is not None and ver[2] is not None else s
            for s, ver in zip(node._saved_tensor_objs, node._saved_tensor_versions)
        )
    return node._saved_tensor_objs


FunctionCtx.saved_tensors = property(_user_saved_tensors)


_ONCE_MSG = "trying to differentiate twice a function that was marked with @once_differentiable"


class DelayedError(Function):
    """The node behind a ``@once_differentiable`` backward's outputs: differentiating
    through it raises PyTorch's error (``torch._C._functions.DelayedError``)."""

    backward_name = "DelayedError"

    def forward(ctx, x):
        return x

    def backward(ctx, g):
        raise RuntimeError(_ONCE_MSG)


def once_differentiable(fn):
    """Mark a custom Function's ``backward`` as not differentiable itself
    (``torch.autograd.function.once_differentiable``).

    The backward runs without recording; when its gradients would be differentiated
    again (``create_graph=True``), the second backward raises a RuntimeError instead of
    silently returning wrong higher-order derivatives.
    """
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with grad_mode.no_grad():
            outputs = fn(ctx, *args)
        if not grad_mode.is_grad_enabled():
            return outputs
        if not any(isinstance(a, _Tensor) and a.requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        wrapped = tuple(
            None if o is None else DelayedError.apply(_Tensor._make(o._data).requires_grad_(True))
            for o in outs
        )
        return wrapped[0] if single else wrapped

    return wrapper
