"""The backward engine: an iterative topological walk of the recorded graph."""

from __future__ import annotations

import numpy as np

from . import function as F
from . import grad_mode

# the reduction np.sum and ndarray.sum reach through Python-level wrappers
_add_reduce = np.add.reduce


def sum_to(grad, shape, xp=np):
    """Sum a broadcast gradient back down to ``shape`` (the engine's un-broadcast)."""
    gshape = tuple(grad.shape)
    if gshape == shape:
        return grad
    nd = len(gshape) - len(shape)
    if nd < 0:
        return xp.reshape(grad, shape)
    if xp is np and type(grad) is np.ndarray and gshape[nd:] == shape:
        # only leading dimensions were broadcast (a bias): one reduction, no reshape
        out = _add_reduce(grad, axis=tuple(range(nd)))
        return out if type(out) is np.ndarray else np.asarray(out)
    axes = list(range(nd))
    for i, s in enumerate(shape):
        if s == 1 and gshape[nd + i] != 1:
            axes.append(nd + i)
    if xp is np and type(grad) is np.ndarray:
        # the ufunc's reduction and the array's reshape: np.sum, ndarray.sum and
        # np.reshape are Python-level wrappers around them
        if axes:
            grad = _add_reduce(grad, axis=tuple(axes), keepdims=True)
        return grad if grad.shape == shape else grad.reshape(shape)
    if axes:
        grad = xp.sum(grad, axis=tuple(axes), keepdims=True)
    if tuple(grad.shape) != shape:
        grad = xp.reshape(grad, shape)
    return grad


def _graph(roots):
    """Count, for every node reachable from ``roots``, how many edges enter it.

    Every reachable node gets an entry (roots start at 0), so the counts double as the
    set of nodes already seen: one dictionary lookup per edge.
    """
    # Several roots may be outputs of one node (e.g. the chunks of a split): visit it once.
    stack = [r for r in dict.fromkeys(roots) if r is not None]
    deps = dict.fromkeys(stack, 0)
    get = deps.get
    while stack:
        node = stack.pop()
        for nxt in node._nexts:
            if nxt is None:
                continue
            d = get(nxt)
            if d is None:
                deps[nxt] = 1
                stack.append(nxt)
            else:
                deps[nxt] = d + 1
    return deps


def _needed(roots, targets):
    """The nodes that lie on a path from a root to one of ``targets``."""
    needed = set(targets)
    # Reverse-postorder walk: a node is needed if any successor is needed.
    order = []
    visited = set()
    for r in roots:
        if r is None or r in visited:
            continue
        stack = [(r, iter(r._nexts))]
        visited.add(r)
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if nxt is not None and nxt not in visited:
                    visited.add(nxt)
                    stack.append((nxt, iter(nxt._nexts)))
                    break
            else:
                stack.pop()
                order.append(node)
    for node in order:
        if node in needed:
            continue
        for nxt in node._nexts:
            if nxt is not None and nxt in needed:
                needed.add(node)
                break
    return needed


def _to_tensor(g):
    """A gradient as hooks see it: a tensor (arrays are wrapped, graph tensors pass)."""
    return None if g is None or isinstance(g, F._Tensor) else F._Tensor._make(g)


def _from_hook(res, create_graph):
    """A hook's returned tensor back in the engine's representation."""
    if res is None or create_graph:
        return res
    return res._data


def _call_pre_hooks(node, buf, create_graph=False):
    hooks = node._pre_hooks
    if hooks:
        for nr, fns in hooks.items():
            g = buf[nr]
            if g is None:
                continue
            for fn in list(fns.values()):
                res = fn(g if create_graph else _to_tensor(g))
                if res is not None:
                    g = _from_hook(res, create_graph)
            buf[nr] = g
    node_hooks = node._node_pre_hooks
    if node_hooks:
        for fn in list(node_hooks):
            res = fn(tuple(g if create_graph else _to_tensor(g) for g in buf))
            if res is not None:
                buf[:] = [_from_hook(r, create_graph) for r in res]
    retains = node._retains
    if retains:
        Tensor = F._Tensor
        for nr, ref in retains.items():
            t = ref()
            g = buf[nr]
            if t is None or g is None:
                continue
            if create_graph:
                t._grad = g if t._grad is None else t._grad + g
            elif t._grad is None:
                t._grad = Tensor._make(g.copy())
            else:
                t._grad = Tensor._make(t._grad._data + g)


def run_backward(
    roots, grads, retain_graph=False, inputs=None, allow_unused=False, create_graph=False
):
    """Propagate ``grads`` from the ``roots`` edges back through the graph.

    ``roots`` is a list of ``(node, output_nr)`` edges. Without ``inputs``,
    leaves accumulate into ``.grad``; with ``inputs`` (a list of edges), the
    gradients reaching those edges are returned instead and no ``.grad`` is
    touched (``torch.autograd.grad``).

    Gradients are raw arrays, or, with ``create_graph``, tensors: then grad mode
    stays on and every backward formula runs on the graph namespace, so the
    gradients are themselves recorded and can be differentiated again.
    """
    root_nodes = [n for n, _ in roots]
    deps = _graph(root_nodes)
    buffers: dict = {}
    for (node, nr), g in zip(roots, grads):
        if node is None:
            continue
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node.num_outputs
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    capture = None
    needed = None
    if inputs is not None:
        capture = {}
        for i, (node, nr) in enumerate(inputs):
            if node is not None:
                capture.setdefault(node, []).append((i, nr))
        needed = _needed(root_nodes, list(capture))
    results = [None] * (len(inputs) if inputs is not None else 0)

    ready = [n for n in dict.fromkeys(root_nodes) if n is not None and deps.get(n, 0) == 0]
    # Without retain_graph a node's saved state is released as soon as it has run (as
    # PyTorch's engine does), not in a second pass over the executed nodes.
    release = not retain_graph
    node_release = F.Node._release
    AccumulateGrad = F.AccumulateGrad
    ndarray = np.ndarray
    observer = F._backward_observer  # anomaly mode / profiler (see _observe); None when off
    outer_node = observer.start() if observer is not None else None
    prev_mode = grad_mode._enabled.enabled
    grad_mode._enabled.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node, None)
            if buf is None:
                buf = [None] * node.num_outputs
            hooked = node._hooked
            if hooked:
                _call_pre_hooks(node, buf, create_graph)
            if capture is not None and node in capture:
                for i, nr in capture[node]:
                    results[i] = buf[nr]
            if type(node) is AccumulateGrad:
                if capture is None and buf[0] is not None:
                    if observer is None:
                        node.accumulate(buf[0])
                    else:
                        observer.accumulate(node, buf)
                continue
            nexts = node._nexts  # the edges' nodes; their output numbers are node._nrs
            if len(buf) == 1:
                has_grad = buf[0] is not None
            else:
                has_grad = any(g is not None for g in buf)
            if has_grad and (needed is None or node in needed):
                if observer is not None:
                    in_grads = observer.evaluate(node, buf, create_graph)
                elif create_graph:
                    in_grads = node._apply_backward(buf, create_graph)
                elif len(buf) == 1 and type(node)._apply_backward is _primitive_backward:
                    # Function._apply_backward for one output, inlined (once per node)
                    in_grads = node.backward(buf[0])
                    if type(in_grads) is not tuple and type(in_grads) is not list:
                        in_grads = (in_grads,)
                else:
                    in_grads = node._apply_backward(buf)
                # node hooks set _hooked: one class-default read per node less
                post = node._post_hooks if hooked else None
                if post:
                    for fn in post:
                        fn(tuple(map(_to_tensor, in_grads)), tuple(map(_to_tensor, buf)))
                # released after its post hooks, as PyTorch's engine does
                if release:
                    if type(node)._release is node_release:
                        # Node._release inlined (once per node)
                        if node._saved is not None or node._saved_versions:
                            node._saved = None
                            node._freed = True
                    else:
                        node._release()
                meta = node._in_meta
                n_in = len(in_grads)
                nrs = node._nrs
                for i, nxt in enumerate(nexts):
                    if nxt is None:
                        continue
                    g = in_grads[i] if i < n_in else None
                    if g is not None and (needed is None or nxt in needed):
                        m = meta[i]
                        if create_graph:
                            if m is not None:
                                g = _fit_tensor(g, m, node, i)
                        elif m is not None:
                            if type(g) is not ndarray or g.shape != m[0]:
                                g = _fit(g, m[0], node, i)
                            dt = g.dtype
                            if dt is not m[1] and dt != m[1]:
                                if dt.kind == "c" and m[1].kind != "c":
                                    # a real input of a complex result: the real part
                                    # (PyTorch's handle_r_to_c)
                                    g = g.real
                                g = g.astype(m[1])
                        b = buffers.get(nxt)
                        if b is None:
                            b = buffers[nxt] = [None] * nxt.num_outputs
                        nr = nrs[i]
                        b[nr] = g if b[nr] is None else b[nr] + g
                    d = deps[nxt] - 1
                    deps[nxt] = d
                    if d == 0:
                        ready.append(nxt)
                # Drop this frame's references to the gradients: a leaf's AccumulateGrad
                # can then take an unshared one as .grad without copying it.
                in_grads = g = None
            else:
                if release:
                    node._release()
                for nxt in nexts:
                    if nxt is None:
                        continue
                    d = deps[nxt] - 1
                    deps[nxt] = d
                    if d == 0:
                        ready.append(nxt)
    finally:
        grad_mode._enabled.enabled = prev_mode
        if observer is not None:
            observer.finish(outer_node)

    if inputs is not None:
        for r in results:
            if r is None and not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
        return results
    return None


# the method the engine inlines for the nodes that do not override it
_primitive_backward = F.Function._apply_backward


def _fit_tensor(g, meta, node, i):
    """``_fit`` and the dtype cast for a gradient that is a graph tensor."""
    shape, dt = meta
    if tuple(g.shape) != shape:
        try:
            g = sum_to(g, shape, _tensor_xp())
        except (ValueError, RuntimeError):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - got "
                f"{list(g.shape)} but expected shape compatible with {list(shape)}"
            ) from None
    if g._data.dtype != dt:
        from .._dtype import from_numpy_dtype

        if g._data.dtype.kind == "c" and dt.kind != "c":
            g = g.real  # a real input of a complex result (PyTorch's handle_r_to_c)
        if g._data.dtype != dt:
            g = g.to(from_numpy_dtype(dt))
    return g


def _tensor_xp():
    from ..ops import graph_xp

    return graph_xp


def _fit(g, shape, node, i):
    g = np.asarray(g)
    if g.shape == shape:
        return g  # a NumPy scalar (what a ufunc gives for 0-dim arrays) of the right shape
    try:
        return sum_to(g, shape)
    except ValueError:
        raise RuntimeError(
            f"Function {node.name()} returned an invalid gradient at index {i} - got "
            f"{list(g.shape)} but expected shape compatible with {list(shape)}"
        ) from None
