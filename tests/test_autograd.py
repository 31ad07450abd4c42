"""Autograd semantics against PyTorch: graph names, hooks, grad modes, custom Functions,
in-place safety, freed graphs and memory."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error, compare

import tapegrad

LIBS = [torch, tapegrad]


def both(fn):
    """``fn(lib)`` for torch and tapegrad."""
    return fn(torch), fn(tapegrad)


# ---------------------------------------------------------------------------
# grad_fn names


GRAD_FN_CASES = {
    "add": lambda L, x: x + 1,
    "add_t": lambda L, x: x + x,
    "sub": lambda L, x: x - x,
    "rsub": lambda L, x: 1 - x,
    "mul": lambda L, x: x * x,
    "mul_scalar": lambda L, x: x * 2,
    "div": lambda L, x: x / x,
    "div_scalar": lambda L, x: x / 2,
    "neg": lambda L, x: -x,
    "pow": lambda L, x: x**2,
    "pow_t": lambda L, x: x**x,
    "exp": lambda L, x: x.exp(),
    "log": lambda L, x: x.log(),
    "sqrt": lambda L, x: x.sqrt(),
    "sigmoid": lambda L, x: x.sigmoid(),
    "tanh": lambda L, x: x.tanh(),
    "relu": lambda L, x: x.relu(),
    "abs": lambda L, x: x.abs(),
    "sin": lambda L, x: x.sin(),
    "clamp": lambda L, x: x.clamp(0, 1),
    "clamp_min": lambda L, x: x.clamp(min=0),
    "sum": lambda L, x: x.sum(),
    "sum_dim": lambda L, x: x.sum(0),
    "mean": lambda L, x: x.mean(),
    "mean_dim": lambda L, x: x.mean(1),
    "prod": lambda L, x: x.prod(),
    "max": lambda L, x: x.max(),
    "max_dim": lambda L, x: x.max(1)[0],
    "var": lambda L, x: x.var(),
    "std": lambda L, x: x.std(),
    "norm": lambda L, x: x.norm(),
    "matmul": lambda L, x: x @ x,
    "mm": lambda L, x: L.mm(x, x),
    "mv": lambda L, x: L.mv(x, x[0]),
    "dot": lambda L, x: L.dot(x[0], x[1]),
    "view": lambda L, x: x.view(-1),
    "reshape": lambda L, x: x.reshape(-1),
    "t": lambda L, x: x.t(),
    "transpose": lambda L, x: x.transpose(0, 1),
    "permute": lambda L, x: x.permute(1, 0),
    "unsqueeze": lambda L, x: x.unsqueeze(0),
    "squeeze": lambda L, x: x[:1].squeeze(0),
    "expand": lambda L, x: x[:1].expand(3, 3),
    "index": lambda L, x: x[[0, 1]],
    "select": lambda L, x: x[0],
    "slice": lambda L, x: x[1:],
    "cat": lambda L, x: L.cat([x, x]),
    "stack": lambda L, x: L.stack([x, x]),
    "clone": lambda L, x: x.clone(),
    "where": lambda L, x: L.where(x > 0, x, x * 2),
    "softmax": lambda L, x: L.softmax(x, 1),
    "log_softmax": lambda L, x: L.log_softmax(x, 1),
    "to_double": lambda L, x: x.double(),
    "maximum": lambda L, x: L.maximum(x, x * 2),
    "cumsum": lambda L, x: x.cumsum(0),
    "flip": lambda L, x: x.flip(0),
    "repeat": lambda L, x: x.repeat(2, 1),
    "gather": lambda L, x: x.gather(1, L.tensor([[0], [1], [2]])),
    "masked_fill": lambda L, x: x.masked_fill(x > 0, 0.0),
    "tril": lambda L, x: x.tril(),
    "inv": lambda L, x: L.linalg.inv(x + 3 * L.eye(3)),
    "det": lambda L, x: L.linalg.det(x),
    "logsumexp": lambda L, x: x.logsumexp(1),
    "amax": lambda L, x: x.amax(1),
    "lerp": lambda L, x: L.lerp(x, x * 2, 0.5),
    "flatten": lambda L, x: x.flatten(),
    "narrow": lambda L, x: x.narrow(0, 0, 2),
    "square": lambda L, x: x.square(),
    "rsqrt": lambda L, x: x.abs().rsqrt(),
}


@pytest.mark.parametrize("name", sorted(GRAD_FN_CASES))
def test_grad_fn_names(name):
    fn = GRAD_FN_CASES[name]
    rng = np.random.default_rng(0)
    data = rng.uniform(0.5, 1.5, (3, 3)).astype("float32")
    names = []
    for L in LIBS:
        x = L.tensor(data, requires_grad=True)
        out = fn(L, x)
        names.append(out.grad_fn.name())
    assert names[1] == names[0]


def test_grad_fn_graph_structure():
    for L in LIBS:
        a = L.tensor([1.0, 2.0], requires_grad=True)
        b = L.tensor([3.0, 4.0], requires_grad=True)
        y = (a * b).sum()
        mul, _ = y.grad_fn.next_functions[0]
        assert mul.name() == "MulBackward0"
        acc = mul.next_functions[0][0]
        assert acc.name().endswith("AccumulateGrad") and acc.variable is a
        assert a.grad_fn is None and a.is_leaf and not y.is_leaf


def test_integer_results_do_not_require_grad():
    def fn(L):
        x = L.tensor([1.5, -2.0], requires_grad=True)
        return [
            t.requires_grad
            for t in (
                x.long(),
                x.int(),
                x.bool(),
                x.type(L.int64),
                x > 0,
                x.argmax(),
                x.max(0).indices,
                x.floor(),
                x.to(L.float64),
                x.round(),
            )
        ] + [x.long().is_leaf, x.long().grad_fn is None]

    t, g = both(fn)
    assert g == t


def test_leaf_and_requires_grad_propagation():
    for L in LIBS:
        a = L.ones(2, requires_grad=True)
        b = L.ones(2)
        assert (a + b).requires_grad and not (b * 2).requires_grad
        assert not a.detach().requires_grad and a.detach().is_leaf
        c = b.requires_grad_()
        assert c is b and b.requires_grad and b.is_leaf
        with pytest.raises(RuntimeError):
            (a * 2).requires_grad_(False)


# ---------------------------------------------------------------------------
# backward, accumulation, retain_grad, hooks


def test_backward_accumulates_and_scalar_seed():
    def fn(L):
        x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (x * x).sum().backward()
        (x**3).sum().backward()
        y = x * 2
        y.backward(L.tensor([1.0, 0.5, -1.0]))
        return x.grad

    assert_same(*both(fn))


def test_retain_grad():
    def fn(L):
        x = L.tensor([1.0, -2.0, 3.0], requires_grad=True)
        h = x * 3
        h.retain_grad()
        z = (h.relu() ** 2).sum()
        z.backward()
        return h.grad, x.grad, h.retains_grad

    assert_same(*both(fn))


def test_non_leaf_grad_warns_and_is_none():
    for L in LIBS:
        x = L.ones(2, requires_grad=True)
        y = x * 2
        y.sum().backward()
        with pytest.warns(UserWarning):
            assert y.grad is None


def test_tensor_hooks():
    def fn(L):
        x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        seen = []
        y = x * 2
        y.register_hook(lambda g: seen.append(g.clone()))
        y.register_hook(lambda g: g * 10)  # replaces the gradient flowing on
        h = x.register_hook(lambda g: g + 1)
        (y * y).sum().backward()
        first = x.grad.clone()
        h.remove()
        x.grad = None
        (x * 1).sum().backward()
        return seen[0], first, x.grad

    assert_same(*both(fn))


def test_hook_on_leaf_without_grad_raises():
    assert_same_error(lambda L: L.ones(2).register_hook(lambda g: g))


def test_post_accumulate_grad_hook():
    def fn(L):
        x = L.ones(3, requires_grad=True)
        calls = []
        x.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.clone()))
        (x * 2).sum().backward()
        return calls[0]

    assert_same(*both(fn))


def test_backward_twice_raises_and_retain_graph_allows():
    for L in LIBS:
        x = L.ones(3, requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        assert np.allclose(np.asarray(x.grad.tolist()), 2 * 2 * np.e)
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second"):
            y.backward()


def test_backward_twice_simple_graph_message():
    _, err = assert_same_error(lambda L: _twice(L))
    assert "retain_graph=True" in str(err)


def _twice(L):
    x = L.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def test_diamond_graph_and_shared_inputs():
    def fn(L):
        x = L.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        a = x.exp()
        b = a * x
        c = a.sum(0) + b.sum(1) + (a @ b).sum(0)
        c.sum().backward()
        return x.grad

    assert_same(*both(fn))


def test_deep_graph_no_recursion_limit():
    x = tapegrad.ones(2, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.0001**5000, rtol=1e-3)


# ---------------------------------------------------------------------------
# autograd.grad


def test_autograd_grad_basic_and_allow_unused():
    def fn(L):
        a = L.tensor([1.0, 2.0], requires_grad=True)
        b = L.tensor([3.0, 4.0], requires_grad=True)
        c = L.tensor([5.0], requires_grad=True)
        y = (a * b).sum() + (a**2).sum()
        ga, gb, gc = L.autograd.grad(y, [a, b, c], allow_unused=True)
        assert gc is None and a.grad is None
        (gy,) = L.autograd.grad([a * 2], [a], grad_outputs=[L.tensor([1.0, -1.0])])
        return ga, gb, gy

    assert_same(*both(fn))


def test_autograd_grad_unused_raises():
    def fn(L):
        a = L.ones(2, requires_grad=True)
        b = L.ones(2, requires_grad=True)
        return L.autograd.grad((a * 2).sum(), [a, b])

    _, err = assert_same_error(fn)
    assert "allow_unused=True" in str(err)


def test_autograd_grad_materialize():
    def fn(L):
        a = L.ones(2, requires_grad=True)
        b = L.ones(3, requires_grad=True)
        return L.autograd.grad((a * 2).sum(), [a, b], materialize_grads=True)

    assert_same(*both(fn))


def test_autograd_grad_retain_graph():
    for L in LIBS:
        x = L.ones(2, requires_grad=True)
        y = (x.sin() * x).sum()
        L.autograd.grad(y, x, retain_graph=True)
        L.autograd.grad(y, x)
        with pytest.raises(RuntimeError):
            L.autograd.grad(y, x)


def test_backward_inputs_argument():
    def fn(L):
        a = L.ones(2, requires_grad=True)
        b = L.ones(2, requires_grad=True)
        (a * b * 3).sum().backward(inputs=[a])
        return a.grad, b.grad is None

    assert_same(*both(fn))


# ---------------------------------------------------------------------------
# grad modes


def test_no_grad_context_and_decorator():
    for L in LIBS:
        x = L.ones(2, requires_grad=True)
        with L.no_grad():
            assert not (x * 2).requires_grad
            assert not L.is_grad_enabled()
            with L.enable_grad():
                assert (x * 2).requires_grad
        assert L.is_grad_enabled()

        @L.no_grad()
        def f(t):
            return t * 2

        @L.no_grad
        def g(t):
            return t * 2

        @L.enable_grad()
        def h(t):
            return t * 2

        assert not f(x).requires_grad and not g(x).requires_grad
        with L.no_grad():
            assert h(x).requires_grad
        assert L.is_grad_enabled()


def test_set_grad_enabled_forms():
    for L in LIBS:
        x = L.ones(2, requires_grad=True)
        with L.set_grad_enabled(False):
            assert not (x * 2).requires_grad
        assert (x * 2).requires_grad
        L.set_grad_enabled(False)
        assert not (x * 2).requires_grad
        L.set_grad_enabled(True)
        assert (x * 2).requires_grad

        @L.set_grad_enabled(False)
        def f(t):
            return t * 2

        assert not f(x).requires_grad and L.is_grad_enabled()


def test_no_grad_restores_on_exception():
    for L in LIBS:
        with pytest.raises(ValueError):
            with L.no_grad():
                raise ValueError
        assert L.is_grad_enabled()


def test_inference_mode():
    for L in LIBS:
        x = L.ones(2, requires_grad=True)
        with L.inference_mode():
            assert not (x * 2).requires_grad


def test_no_grad_inplace_on_leaf_allowed():
    def fn(L):
        w = L.tensor([1.0, 2.0], requires_grad=True)
        (w * w).sum().backward()
        with L.no_grad():
            w -= 0.1 * w.grad
            w.add_(1)
        w.grad.zero_()
        return w, w.grad, w.requires_grad, w.is_leaf

    assert_same(*both(fn))


# ---------------------------------------------------------------------------
# custom autograd.Function


def _custom_exp(L):
    class MyExp(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            y = x.exp() * scale
            ctx.save_for_backward(y)
            ctx.scale = scale
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return g * y, None

    return MyExp


def test_custom_function():
    def fn(L):
        MyExp = _custom_exp(L)
        x = L.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = MyExp.apply(x, 2.0)
        (y * y).sum().backward()
        return y, x.grad, y.grad_fn.name()

    assert_same(*both(fn))


def test_custom_function_two_inputs_needs_input_grad():
    def fn(L):
        seen = []

        class MulAdd(L.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                ctx.save_for_backward(a, b)
                return a * b + a, a - b

            @staticmethod
            def backward(ctx, g1, g2):
                a, b = ctx.saved_tensors
                seen.append(ctx.needs_input_grad)
                ga = g1 * (b + 1) + g2 if ctx.needs_input_grad[0] else None
                gb = g1 * a - g2 if ctx.needs_input_grad[1] else None
                return ga, gb

        a = L.tensor([1.0, 2.0], requires_grad=True)
        b = L.tensor([3.0, -1.0])
        p, q = MulAdd.apply(a, b)
        (p * q).sum().backward()
        return a.grad, seen[0]

    assert_same(*both(fn))


def test_custom_function_saved_tensor_modified():
    def fn(L):
        MyExp = _custom_exp(L)
        x = L.tensor([0.5, 1.0], requires_grad=True)
        y = MyExp.apply(x, 1.0)
        y.add_(1)
        y.sum().backward()

    t_err, g_err = assert_same_error(fn)
    assert "modified by an inplace operation" in str(g_err)


def _argmax_fn(L):
    class ArgMax(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            v = x.max()
            ctx.mark_non_differentiable(idx)
            return v, idx

        @staticmethod
        def backward(ctx, gv, gi):
            return gv * L.ones(3)

    return ArgMax


def test_custom_function_saved_output_modified_message():
    def fn(L):
        class Exp(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, g):
                (y,) = ctx.saved_tensors
                return g * y

        x = L.ones(3, requires_grad=True)
        y = Exp.apply(x)
        y.add_(1)
        y.sum().backward()

    t_err, g_err = assert_same_error(fn)
    assert str(g_err) == str(t_err)


def test_graphs_freed_without_gc():
    """Nodes are freed by reference counting alone (no cycles), custom Functions included."""
    import weakref

    x = tapegrad.ones(4, requires_grad=True)
    exp_fn = _custom_exp(tapegrad)
    gc.disable()
    try:
        refs = []
        y = (x.exp() * x).sum()
        refs.append(weakref.ref(y.grad_fn))
        y.backward()
        a = x * 1
        a[0] = 5
        refs.append(weakref.ref(a.grad_fn))
        a.sum().backward()
        z = exp_fn.apply(x, 2.0)
        refs.append(weakref.ref(z.grad_fn))
        z.sum().backward()
        h = x * 2
        h.retain_grad()
        refs.append(weakref.ref(h.grad_fn))
        h.sum().backward()
        del y, a, z, h
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        gc.enable()


def test_custom_function_mark_non_differentiable():
    for L in LIBS:
        x = L.tensor([1.0, 3.0, 2.0], requires_grad=True)
        v, i = _argmax_fn(L).apply(x)
        assert v.requires_grad and not i.requires_grad
        v.backward()
        assert x.grad.tolist() == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------------------
# in-place safety and version counters


def test_inplace_on_leaf_raises_message():
    _, err = assert_same_error(lambda L: L.ones(2, requires_grad=True).mul_(2))
    assert "a leaf Variable that requires grad is being used in an in-place operation." in str(err)


def test_inplace_on_view_of_leaf_raises():
    assert_same_error(lambda L: L.ones(2, 2, requires_grad=True)[0].mul_(2))


def test_saved_tensor_modified_message():
    def fn(L):
        a = L.tensor([1.0, 2.0], requires_grad=True)
        b = a.exp()
        c = b * a
        b.add_(1)
        c.sum().backward()

    t_err, g_err = assert_same_error(fn)
    assert str(g_err).startswith(str(t_err)[:60])
    assert "is at version 1; expected version 0 instead" in str(g_err)
    assert str(g_err) == str(t_err)


def test_saved_input_modified_message():
    def fn(L):
        a = L.tensor([1.0, 2.0], requires_grad=True)
        b = a * 2
        c = b.sin()
        b.mul_(3)
        c.sum().backward()

    t_err, g_err = assert_same_error(fn)
    assert str(t_err) == str(g_err)


def test_saved_output_and_plain_input_messages():
    def saved_output(L):
        a = L.tensor([1.0, 2.0], requires_grad=True)
        c = (a * 1).exp()
        c.add_(1)
        c.sum().backward()

    def plain_input(L):
        a = L.tensor([1.0, 2.0], requires_grad=True)
        w = L.tensor([1.0, 2.0])
        c = a * w
        w.add_(1)
        c.sum().backward()

    for fn in (saved_output, plain_input):
        t_err, g_err = assert_same_error(fn)
        assert str(g_err) == str(t_err)


def test_only_needed_tensors_are_saved():
    """mul/div/matmul/lerp save what their gradients need, like PyTorch: modifying the
    other operand in place afterwards is legal when it does not require grad."""

    def fn(L):
        w = L.tensor([1.0, 2.0], requires_grad=True)
        x = L.tensor([3.0, 4.0])
        m = L.ones(2, 2)
        y = (w * 2).sum() + (w * x).sum() + (w / 3).sum() + (m @ w).sum() + L.lerp(w, x, 0.5).sum()
        v = w * 1
        z = (v * 1.5).sum() + (v @ m).sum()  # saves the scalar and m, not v
        v.add_(1)
        z.backward()
        y.backward()
        return y, z, w.grad

    assert_same_error(lambda L: _second_backward_with_modified(L))
    assert_same(*both(fn))


def _second_backward_with_modified(L):
    w = L.tensor([1.0, 2.0], requires_grad=True)
    x = L.tensor([3.0, 4.0])
    y = (w * x).sum()
    x.add_(1)
    y.backward()


def test_version_counter():
    def fn(L):
        x = L.zeros(3)
        vs = [x._version]
        x.add_(1)
        vs.append(x._version)
        x[0] = 5
        vs.append(x._version)
        y = x.view(3)
        y.mul_(2)
        vs.append(x._version)
        x.zero_()
        vs += [x._version, y._version]
        return vs

    assert_same(*both(fn))


def test_inplace_not_saved_is_fine():
    def fn(L):
        a = L.tensor([1.0, -2.0, 3.0], requires_grad=True)
        b = a * 2
        c = b + 1  # add saves nothing
        b.mul_(3)
        (c * b).sum().backward()
        return a.grad

    assert_same(*both(fn))


def test_inplace_ops_chain_grad():
    def fn(L, a, b):
        x = a * 1
        x.add_(1).mul_(b).sigmoid_()
        y = x.clamp(0.2, 0.9)
        y[1:] *= 2
        y.sub_(b, alpha=0.5)
        return y

    rng = np.random.default_rng(0)
    compare(fn, [rng.standard_normal((4, 3)).astype("float32") for _ in range(2)])


def test_inplace_self_argument():
    x = tapegrad.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * 1
    y.mul_(y)  # reads the old y on both sides
    np.testing.assert_allclose(y.detach().numpy(), [1.0, 4.0, 9.0])


# ---------------------------------------------------------------------------
# memory: graphs are freed, a training loop keeps the number of live tensors flat


def _live_tensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is tapegrad.Tensor)


def test_graph_freed_after_backward():
    import weakref

    x = tapegrad.ones(10, requires_grad=True)
    y = (x.exp() * x).sum()
    node = weakref.ref(y.grad_fn)
    y.backward()
    del y
    gc.collect()
    assert node() is None


def test_no_leak_10000_steps():
    rng = np.random.default_rng(0)
    w = tapegrad.tensor(rng.standard_normal((4, 3)).astype("float32"), requires_grad=True)
    b = tapegrad.zeros(3, requires_grad=True)
    x = tapegrad.tensor(rng.standard_normal((8, 4)).astype("float32"))
    t = tapegrad.tensor(rng.standard_normal((8, 3)).astype("float32"))

    def step():
        loss = (((x @ w + b).tanh() - t) ** 2).mean()
        loss.backward()
        with tapegrad.no_grad():
            w.sub_(0.01 * w.grad)
            b.sub_(0.01 * b.grad)
        w.grad.zero_()
        b.grad.zero_()

    for _ in range(100):
        step()
    before = _live_tensors()
    for _ in range(10_000):
        step()
    after = _live_tensors()
    assert after <= before, (before, after)


# ---------------------------------------------------------------------------
# printing


REPR_CASES = {
    "floats": lambda L: L.tensor([1.0, 2.5, -3.25]),
    "ints": lambda L: L.tensor([1, 2, 3]),
    "matrix": lambda L: L.arange(6.0).reshape(2, 3) / 7,
    "scalar": lambda L: L.tensor(3.5),
    "int_scalar": lambda L: L.tensor(7),
    "bool": lambda L: L.tensor([True, False]),
    "double": lambda L: L.tensor([1.0, 2.0], dtype=L.float64),
    "long_explicit": lambda L: L.tensor([1, 2], dtype=L.int32),
    "requires_grad": lambda L: L.tensor([1.0, 2.0], requires_grad=True),
    "grad_fn": lambda L: L.tensor([1.0, 2.0], requires_grad=True) * 2,
    "sum_grad_fn": lambda L: L.tensor([1.0, 2.0], requires_grad=True).sum(),
    "sci": lambda L: L.tensor([1e-5, 1.0, 1e5]),
    "empty": lambda L: L.zeros(0),
    "empty2d": lambda L: L.zeros(2, 0),
    "big": lambda L: L.arange(2000.0),
    "big2d": lambda L: L.arange(3000).reshape(100, 30),
    "nan_inf": lambda L: L.tensor([float("nan"), float("inf"), -1.5]),
    "3d": lambda L: L.arange(24).reshape(2, 3, 4),
    "randnish": lambda L: L.tensor([[0.1234567, -1.5, 100.25], [3.0, 4.0, 5.0]]),
    "wide": lambda L: L.arange(40.0) * 1.5,
    "half": lambda L: L.tensor([1.5, 2.0], dtype=L.float16),
    "uint8": lambda L: L.tensor([1, 200], dtype=L.uint8),
    "int_int_float": lambda L: L.tensor([1.0, 2.0, 300.0]),
    "negzero": lambda L: L.tensor([-0.0, 0.5]),
    "complex_eig": lambda L: L.linalg.eig(L.tensor([[0.0, -1.0], [1.0, 0.5]])).eigenvectors,
    "complex_eigvals": lambda L: L.linalg.eigvals(
        L.tensor([[2.0, 0.0], [0.0, 3.0]], dtype=L.float64)
    ),
    "size": lambda L: L.ones(2, 3).shape,
    "dtype": lambda L: L.ones(2).dtype,
    "device": lambda L: L.ones(2).device,
}


@pytest.mark.parametrize(
    "options",
    [
        dict(precision=2),
        dict(sci_mode=True),
        dict(sci_mode=False),
        dict(linewidth=40),
        dict(threshold=5, edgeitems=1),
        dict(profile="short"),
    ],
    ids=str,
)
def test_printoptions_parity(options):
    outs = []
    for L in LIBS:
        L.set_printoptions(**options)
        try:
            outs.append(
                repr(L.tensor([[1.23456, 1e-5, 300.5, -2.0], [0.1, 0.2, 0.3, 12345.678]]))
                + repr(L.arange(12.0) / 7)
                + repr(L.tensor([1.0, 2.0, 3000.0]))
            )
        finally:
            L.set_printoptions(profile="default")
            L.set_printoptions(sci_mode=None)
    assert outs[1] == outs[0]


@pytest.mark.parametrize("name", sorted(REPR_CASES))
def test_repr_parity(name):
    fn = REPR_CASES[name]
    t, g = both(fn)
    assert repr(g) == repr(t)
    assert str(g) == str(t)


# ---------------------------------------------------------------------------
# dtype promotion table


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [2, 2.5]


@pytest.mark.parametrize("a", DTYPES)
def test_promotion_table(a):
    for b in DTYPES:
        t = torch.promote_types(getattr(torch, a), getattr(torch, b))
        g = tapegrad.promote_types(getattr(tapegrad, a), getattr(tapegrad, b))
        assert str(g) == str(t), (a, b)
        for op in ("add", "mul", "div"):
            tr = getattr(torch, op)(
                torch.ones(2, dtype=getattr(torch, a)), torch.ones(2, dtype=getattr(torch, b))
            )
            gr = getattr(tapegrad, op)(
                tapegrad.ones(2, dtype=getattr(tapegrad, a)),
                tapegrad.ones(2, dtype=getattr(tapegrad, b)),
            )
            assert str(gr.dtype) == str(tr.dtype), (op, a, b)
        # a 0-dim tensor of another category wins over a dimensioned one, else not
        tr = torch.ones(2, dtype=getattr(torch, a)) + torch.tensor(1, dtype=getattr(torch, b))
        gr = tapegrad.ones(2, dtype=getattr(tapegrad, a)) + tapegrad.tensor(
            1, dtype=getattr(tapegrad, b)
        )
        assert str(gr.dtype) == str(tr.dtype), ("0-dim", a, b)
    for s in SCALARS:
        tr = torch.ones(2, dtype=getattr(torch, a)) * s
        gr = tapegrad.ones(2, dtype=getattr(tapegrad, a)) * s
        assert str(gr.dtype) == str(tr.dtype), ("scalar", a, s)
        tr = s - torch.ones(2, dtype=getattr(torch, a)) if a != "bool" else torch.ones(1)
        gr = s - tapegrad.ones(2, dtype=getattr(tapegrad, a)) if a != "bool" else tapegrad.ones(1)
        assert str(gr.dtype) == str(tr.dtype), ("rscalar", a, s)


def test_default_dtype_switch():
    try:
        for L in LIBS:
            L.set_default_dtype(L.float64)
        assert_same(*both(lambda L: [L.tensor([1.0]), L.ones(2), L.arange(3.0), L.tensor(1) * 1.5]))
    finally:
        for L in LIBS:
            L.set_default_dtype(L.float32)


# ---------------------------------------------------------------------------
# gradcheck itself


def test_gradcheck_catches_a_wrong_backward():
    class BadSquare(tapegrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = tapegrad.tensor([0.5, -1.5, 2.0], dtype=tapegrad.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        tapegrad.autograd.gradcheck(BadSquare.apply, (x,))
    assert tapegrad.autograd.gradcheck(BadSquare.apply, (x,), raise_exception=False) is False
    assert tapegrad.autograd.gradcheck(lambda t: (t * t).sum(), (x,))


def test_gradcheck_multiple_inputs_and_outputs():
    rng = np.random.default_rng(0)
    a = tapegrad.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = tapegrad.tensor(rng.standard_normal((3,)), requires_grad=True)
    c = tapegrad.tensor(rng.standard_normal((3,)))  # constant input

    def f(a, b, c):
        return a * b + c, (a @ b).tanh()

    assert tapegrad.autograd.gradcheck(f, (a, b, c))


def test_functional_jacobian_vjp_and_variable():
    def fn(L):
        F = L.autograd.functional
        x = L.tensor([1.0, 2.0])
        y = L.tensor([3.0, 4.0, 5.0])
        J = F.jacobian(lambda x, y: (x * y.sum(), (x**2).sum() + y.prod()), (x, y))
        out, g = F.vjp(lambda x: x**2, x, L.tensor([1.0, 0.5]))
        v = L.autograd.Variable(L.ones(2), requires_grad=True)
        return [list(J[0]), list(J[1]), F.jacobian(lambda x: x.exp(), x), out, g, v]

    assert_same(*both(fn))
    assert isinstance(tapegrad.ones(1), tapegrad.autograd.Variable)
