"""The small-op fast paths of autograd (issue 13) against PyTorch and simple references.

Each fast path (operators with a number or a tensor of one dtype, division by a number,
matmul of two matrices, sums, squeeze/unsqueeze, interned node metadata, version records
and lazily made version counters, the views registry, the engine's un-broadcast) gives
the values and gradients, first and second order, of the general path; the errors the
version counters exist for still come.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error, compare

import tapegrad
from tapegrad.autograd import function as F


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x * 1.5 + 2 - x * x,
        lambda x: 2 * x - 1.5 + 3 * x,
        lambda x: 1 - x + (2.5 - x) * x,
        lambda x: x / 3.0 + 2 / (x * x + 1) - x / 2,
        lambda x: x / (x * x + 1) - (x + x) * 0.5,
    ],
)
def test_operators_with_numbers_and_tensors(fn, dtype):
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(dtype)
    compare(lambda L, t: fn(t), [x])


def _second_order(L, fn, x):
    t = L.tensor(x, requires_grad=True)
    (g,) = L.autograd.grad(fn(t).sum(), t, create_graph=True)
    (gg,) = L.autograd.grad((g * g).sum(), t)
    return g.detach(), gg


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: (t * 2.0 + 1) * t / 3.0 - 2 / (t * t + 1),
        lambda t: (t @ t.t()).tanh().sum(1, keepdim=True) * t,
        lambda t: (t.unsqueeze(0) * t.unsqueeze(1)).squeeze(0).sum(0) * t.sum(),
    ],
)
def test_second_order_through_fast_paths(fn):
    x = np.random.default_rng(2).standard_normal((3, 3))
    for a, b in zip(_second_order(torch, fn, x), _second_order(tapegrad, fn, x)):
        assert_same(a, b)


def test_matmul_sum_squeeze_unsqueeze(data):
    a, b, _ = data
    compare(lambda L, x, y: (x @ y).sum(), [a, b])
    compare(lambda L, x, y: (x @ y).sum(1) + (x @ y).sum(-1, keepdim=True).squeeze(1), [a, b])
    compare(lambda L, x, y: (x @ y).sum(0, keepdim=True) * x.sum(), [a, b])
    compare(lambda L, x: x.unsqueeze(-1).unsqueeze(0).squeeze(0).squeeze(-1) * 2.0, [a])
    compare(lambda L, x: x.unsqueeze(1).squeeze(), [a])


def test_matmul_and_sum_errors_and_other_paths(data):
    a, b, v = data
    assert_same_error(lambda L: L.tensor(a) @ L.tensor(a), match="cannot be multiplied")
    assert_same_error(
        lambda L: L.tensor(a, dtype=L.float32) @ L.tensor(b, dtype=L.float64),
        match="same dtype",
    )
    assert_same_error(lambda L: L.tensor(a).sum(2), match="out of range")
    assert_same_error(lambda L: L.tensor(a).unsqueeze(3), match="out of range")
    # what the fast paths leave to the general ones
    compare(lambda L, x, y: x @ y, [a, v])
    compare(lambda L, x: x.sum((0, 1)) + x.sum(dtype=L.float64), [a])
    compare(lambda L, x: L.tensor(a, dtype=L.int32).sum(1) * 1.0 + x.sum(1), [a])


@pytest.mark.parametrize("divisor", [2.0, -0.5, 0.0, float("inf"), float("nan"), 3])
def test_division_by_a_number(divisor):
    x = np.array([1.0, -2.0, 0.0, np.inf], np.float32)

    def fn(L):
        return L.tensor(x) / divisor, L.tensor(x) / L.tensor(divisor, dtype=L.float32)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy divide/invalid warnings
        t_out, g_out = fn(torch), fn(tapegrad)
    assert_same(t_out, g_out)


def test_low_precision_operands_keep_their_rounding():
    x = np.array([0.1, 1.7, -3.3], np.float16)
    for fn in (lambda t: t * 0.1, lambda t: 0.1 * t, lambda t: t / 3.0, lambda t: 1 - t):
        assert_same(fn(torch.tensor(x)), fn(tapegrad.tensor(x)))


def test_inplace_change_of_saved_tensor_still_raises():
    def fn(L):
        x = L.ones(3, requires_grad=True)
        y = x * 2
        z = y * y  # saves y, whose version counter is made lazily or at once
        y.add_(1)
        z.sum().backward()

    t_err, g_err = assert_same_error(fn, match="modified by an inplace operation")
    assert str(g_err).split("Hint")[0] == str(t_err).split("Hint")[0]

    def leaf(L):
        w = L.ones(2, 2, requires_grad=True)
        x = L.ones(2, 2)  # never saved before: its counter is made when first saved
        z = w @ x
        x.mul_(2)
        z.sum().backward()

    t_err, g_err = assert_same_error(leaf, match="is at version 1; expected version 0")
    assert str(g_err).split("Hint")[0] == str(t_err).split("Hint")[0]

    def output(L):
        x = L.ones(3, requires_grad=True)
        y = (x * 2).exp()  # exp saves its output
        y.mul_(2)
        y.sum().backward()

    assert_same_error(output, match="modified by an inplace operation")


def test_scalar_operands_have_no_version_record():
    x = tapegrad.ones(3, requires_grad=True) * 1.0
    y = x * 2.0
    assert y.grad_fn._saved_versions is None  # only the scalar 2.0 is saved
    z = x * x
    assert len(z.grad_fn._saved_versions) == 2


def test_lazy_version_counter():
    t = tapegrad.ones(3)
    assert t._version == 0
    v = t.view(3)
    d = t.detach()
    t.add_(1)
    assert (t._version, v._version, d._version) == (1, 1, 1)
    with pytest.raises(AttributeError, match="object has no attribute 'nope'"):
        t.nope  # noqa: B018
    assert not hasattr(t, "nope")


def test_interned_metadata_follows_shapes_and_dtypes():
    a = tapegrad.ones(2, 3, requires_grad=True)
    b = tapegrad.ones(3, dtype=tapegrad.float64, requires_grad=True)
    y1 = a * a
    y2 = a.double() * b
    assert y1.grad_fn._in_meta == (((2, 3), np.dtype(np.float32)),) * 2
    assert y2.grad_fn._in_meta == (((2, 3), np.dtype(np.float64)), ((3,), np.dtype(np.float64)))
    assert y2.grad_fn.needs_input_grad == (True, True)
    assert (a * 2.0).grad_fn.needs_input_grad == (True, False)
    y2.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), np.full(3, 2.0))


def test_intern_tables_start_over_past_their_limit(monkeypatch):
    monkeypatch.setattr(F, "_INTERN_LIMIT", 4)
    monkeypatch.setattr(F, "_META", {})
    x = tapegrad.ones(1, requires_grad=True)
    for n in range(1, 12):
        y = tapegrad.ones(n) * x
        assert y.grad_fn._in_meta == (((n,), np.dtype(np.float32)), ((1,), np.dtype(np.float32)))
        y.sum().backward()
        assert len(F._META) <= 4
    assert x.grad.item() == sum(range(1, 12))


def test_views_registry_prunes_dead_views_and_rebases_live_ones():
    def fn(L):
        base = L.zeros(4, 4, requires_grad=True).clone()
        for _ in range(40):  # dead views, dropped as the list grows
            base[0]
        v1, v2 = base[1], base[:, 1]
        v1.mul_(3.0)
        return (v2 * 2).sum() + (base * base).sum()

    compare(lambda L, x: fn(L) + x.sum(), [np.ones(2)])
    base = tapegrad.zeros(4, 4, requires_grad=True).clone()
    for _ in range(40):
        base[0]
    gc.collect()
    assert len(base.__dict__["_views"]) < 40
    keep = [base[i] for i in range(4)]
    assert len(F.live_views(base)) >= 4
    keep[0].add_(1.0)
    assert all(v.grad_fn is not None for v in keep)


@pytest.mark.parametrize("shape", [(5,), (1, 5), (4, 1), ()])
def test_engine_unbroadcasts_gradients(shape, data):
    a, _, _ = data
    b = np.random.default_rng(3).standard_normal(shape)
    compare(lambda L, x, y: x * y + y, [a, b])
    compare(lambda L, x, y: (x + y).sum(0), [a, b])


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "prod", "logsumexp", "nansum"])
@pytest.mark.parametrize("dim", [0, -1, (0,), [-1]])
def test_reductions_over_dim_0_of_a_0d_tensor(op, dim):
    """PyTorch reduces a 0-d tensor over dim 0 or -1 to itself (gradient 1)."""
    results = []
    for lib in (torch, tapegrad):
        t = lib.tensor(2.5, dtype=lib.float64, requires_grad=True)
        if op in ("prod", "logsumexp") and not isinstance(dim, int):
            continue
        r = getattr(t, op)(dim)
        r.backward()
        results.append((float(r.detach()), float(t.grad), tuple(r.shape)))
    if results:
        assert results[0] == results[1]


# -- second wave: shared scalar operands, node state without instance dicts ----------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("number", [0.5, -0.0, 0.0, 0, 3, float("nan"), float("inf"), 2**60])
def test_shared_scalar_operands(number, dtype):
    """``x op number`` shares one read-only operand per (number, dtype); -0.0 stays -0.0."""
    x = np.array([[1.0, -2.0, 0.0], [-0.0, 3.5, 1e-3]], dtype)
    for _ in range(2):  # the second round takes the shared operands
        compare(lambda L, t: t * number + number * t, [x])
        compare(lambda L, t: (t + number) - (number - t) * 1, [x])
        compare(lambda L, t: (t - number) * (t * number + 1.0), [x])
    fn = lambda t: (t * number - number * t * t + (number + t) * 0.5).sum()  # noqa: E731
    for a, b in zip(_second_order(torch, fn, x), _second_order(tapegrad, fn, x)):
        assert_same(a, b)


def test_shared_scalar_operands_are_read_only_and_bounded(monkeypatch):
    from tapegrad.ops import elementwise as E

    monkeypatch.setattr(E, "_CONSTS", {})
    monkeypatch.setattr(E, "_CONSTS_LIMIT", 8)
    x = tapegrad.ones(3, requires_grad=True)
    y = x * 0.25
    (c,) = [t for k, t in E._CONSTS.items() if k[0] == 0.25]
    assert not c._data.flags.writeable and c._data.dtype == np.float32
    assert (x * 0.25).grad_fn._saved[1] is c._data  # shared, not made again
    (x.double() * 0.25).sum().backward()  # another dtype, another operand
    assert len(E._CONSTS) == 2
    for i in range(1, 30):
        y = y + float(i)
    assert len(E._CONSTS) <= 8
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 0.5))
    # the saved operand of x * 0.25 is the shared one; in-place changes of x still raise
    z = x.detach().requires_grad_() * 1.0
    w = (z * 0.25) * z
    z.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.sum().backward()


_NO_NODE_DICT = """
import gc, tapegrad
x = tapegrad.ones(2, 3, requires_grad=True)
ys = (x + x, x - 2.0, x @ x.t(), x.sum(1, keepdim=True), x.sum(), x.t(), x.unsqueeze(0))
print(sum(type(r) is dict for y in ys for r in gc.get_referents(y.grad_fn)))
"""


def test_node_state_lives_in_slots_and_class_defaults():
    x = tapegrad.ones(2, 3, requires_grad=True)

    def ops():
        return (x + x, x - 2.0, x @ x.t(), x.sum(1, keepdim=True), x.sum(), x.t(), x.unsqueeze(0))

    # No container object per node for the GC: state is in slots, class defaults, or
    # CPython's inline instance values (the few per-node attributes ``apply`` stores only
    # when they differ from the class default), never a materialised instance dict. A
    # fresh process: CPython stops sharing a class's instance layout (and gives each
    # instance a dict) once some instance was given other attributes, as other tests do.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run(
        [sys.executable, "-c", _NO_NODE_DICT], capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
    ys = ops()
    for y in ys:
        # (``bt``: Matmul's flag for a transposed right operand, x.t() here)
        extra = set(y.grad_fn.__dict__) - {"_saved", "_saved_versions", "_freed", "_nrs", "bt"}
        assert not extra, type(y.grad_fn).__name__
    # the output numbers of edges are the class default (all zero) unless one is not
    assert "_nrs" not in (x + x).grad_fn.__dict__
    parts = x.unbind(0)
    node = (parts[1] * parts[0]).grad_fn
    assert node._nrs == (1, 0) and [nr for _, nr in node.next_functions] == [1, 0]
    assert (x + x).grad_fn.alpha == 1 and (x @ x.t()).grad_fn.nd == (2, 2)
    assert tapegrad.add(x, x, alpha=2).grad_fn.alpha == 2
    assert (x[0] @ x.t()).grad_fn.nd == (1, 2)
    node = (x * 2).grad_fn
    assert node._pre_hooks is None and node._retains is None


@pytest.mark.parametrize("alpha", [1, 2, -0.5])
def test_add_sub_alpha_values_and_gradients(alpha):
    a, b = np.random.default_rng(4).standard_normal((2, 3, 2))
    compare(lambda L, x, y: L.add(x, y, alpha=alpha) * L.sub(x, y, alpha=alpha), [a, b])
    compare(lambda L, x, y: L.rsub(x, y, alpha=alpha) + x.sub(y, alpha=alpha), [a, b])
    fn = lambda t: (t.sub(t * t, alpha=alpha) * t).sum()  # noqa: E731
    for u, v in zip(_second_order(torch, fn, a), _second_order(tapegrad, fn, a)):
        assert_same(u, v)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 2)), ((1, 1), (1, 1)), ((0, 3), (3, 2))])
def test_matmul_of_two_matrices(shapes):
    a, b = (np.random.default_rng(5).standard_normal(s) for s in shapes)
    compare(lambda L, x, y: x @ y, [a, b])
    compare(lambda L, x, y: L.matmul(x, y) * 2.0 + x.mm(y), [a, b])
    fn = lambda t: ((t @ t.t()) @ t).sum()  # noqa: E731
    for u, v in zip(_second_order(torch, fn, a), _second_order(tapegrad, fn, a)):
        assert_same(u, v)


def test_matmul_operator_with_other_operands():
    a = np.random.default_rng(6).standard_normal((3, 3))
    assert_same_error(lambda L: L.tensor(a) @ [1.0, 2.0, 3.0])
    assert_same_error(lambda L: L.tensor(a) @ 2.0)
    compare(lambda L, x: x @ x[0] + x[0] @ x, [a])


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_t_and_reshape_fast_paths(shape):
    x = np.random.default_rng(7).standard_normal(shape)
    n = x.size
    compare(lambda L, t: t.t().reshape(-1) * 2.0, [x])
    compare(lambda L, t: t.reshape(n) + t.reshape(-1), [x])
    compare(lambda L, t: t.transpose(0, -1).reshape(1, -1) if t.ndim else t, [x])
    assert_same_error(lambda L: L.tensor(x).reshape(n + 1), match="invalid for input of size")
    assert_same_error(lambda L: L.tensor(x).reshape(-2))
    assert_same_error(lambda L: L.ones(2, 2, 2).t(), match="expects a tensor with <= 2")
    t = tapegrad.tensor(x, requires_grad=True)
    for v in (t.t(), t.reshape(-1)):
        assert v._base is t
        assert v.grad_fn.name() in ("TBackward0", "ViewBackward0", "AliasBackward0")


def test_subtraction_operator_fast_path_keeps_bool_errors():
    b = np.array([True, False])
    assert_same_error(lambda L: L.tensor(b) - L.tensor(b), match="two bool tensors")
    for fn in (
        lambda L: L.ones(2) - L.tensor(b),
        lambda L: L.tensor(b) - 1.5,
        lambda L: L.tensor(b) - L.ones(2),
        lambda L: 1 - L.tensor(b),
        lambda L: L.sub(L.tensor([1, 2]), L.tensor(b)),
        lambda L: L.rsub(L.tensor(b), 2),
    ):
        assert_same_error(fn, match="with a bool tensor is not supported")
    compare(lambda L, x: x - L.tensor([1, 2]) - (x.double() - 1.5) - 2 * x, [np.ones(2)])


def test_node_hooks_still_run():
    # the engine tests one flag per node (set by every kind of hook) instead of three
    def fn(L, x):
        x = x.detach().requires_grad_()
        seen = []
        y = x * 2.0
        z = y.tanh()
        y.grad_fn.register_prehook(lambda go: (go[0] * 3,))
        z.grad_fn.register_hook(lambda gi, go: seen.append(gi[0].sum()))
        h = z.sum() + (y * y).sum()
        h.backward()
        return x.grad + seen[0]

    compare(fn, [np.linspace(-1.0, 1.0, 6).reshape(2, 3)], grad=False)


def test_tensor_hooks_and_retain_grad_on_intermediates():
    def fn(L, x):
        x = x.detach().requires_grad_()
        y = (x * 1.5).tanh()
        y.retain_grad()
        u = y * y
        u.register_hook(lambda g: g * 2)
        u.sum().backward()
        return L.stack([x.grad, y.grad])

    compare(fn, [np.linspace(-1.0, 1.0, 6)], grad=False)


def test_version_counter_is_a_property_over_a_slot():
    t = tapegrad.ones(3) + 1  # no counter made yet: it is made on first use
    with pytest.raises(AttributeError):
        t._vc  # noqa: B018
    vc = t._version_counter
    assert t._version_counter is vc and t._vc is vc
    v = t.unsqueeze(0)  # a view shares the counter
    assert v._version_counter is vc
    v.add_(1)
    assert t._version == 1
    u = tapegrad.ones(3)
    u._version_counter = vc
    assert u._version == 1
    # tensors still copy and pickle (the counter slot is not part of their state)
    import copy
    import pickle

    w = tapegrad.ones(2, requires_grad=True)
    w._version_counter.v = 5
    for c in (copy.deepcopy(w), pickle.loads(pickle.dumps(w))):
        assert c._version == 0 and c.requires_grad
        np.testing.assert_array_equal(c.detach().numpy(), w.detach().numpy())


# -- third wave: operators straight to the primitive, counters read from the slot ------


def _general(op, a, b):
    """The general path of an operator: the elementwise function and its promotion."""
    from tapegrad.ops import elementwise as E

    return {"add": E.add, "sub": E.sub, "mul": E.mul}[op](a, b)


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
@pytest.mark.parametrize(
    "dtype", [np.float32, np.float64, np.float16, np.int64, np.int32, np.bool_, np.complex64]
)
@pytest.mark.parametrize("other", [0.5, 2, -0.0, 0, "tensor", "tensor0d", "int_tensor"])
def test_operator_fast_path_matches_the_general_path(op, dtype, other):
    """``x op y`` (the operator, which may skip E._binary) gives exactly what the
    elementwise function gives: values, dtype, the operand it saves, and the error."""
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((2, 3)) * 3).astype(dtype)
    if other == "tensor":
        y = tapegrad.tensor((rng.standard_normal((2, 3)) * 3).astype(dtype))
    elif other == "tensor0d":
        y = tapegrad.tensor(np.asarray(1.5).astype(dtype))
    elif other == "int_tensor":
        y = tapegrad.tensor(np.array([1, 2, 3]))
    else:
        y = other
    for _ in range(2):  # the second round finds the number in the shared-constant cache
        t = tapegrad.tensor(x)
        try:
            want = _general(op, t, y)
        except Exception as e:  # noqa: BLE001 - the same exception must come
            with pytest.raises(type(e), match=None):
                getattr(t, f"__{op}__")(y)
            return
        got = getattr(t, f"__{op}__")(y)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        if got.dtype.is_floating_point:  # -0.0 stays -0.0
            assert np.signbit(got.numpy()).tolist() == np.signbit(want.numpy()).tolist()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_operator_fast_path_gradients_first_and_second_order(dtype):
    """The loop of the autograd_small_ops bench, with every operator on its fast path,
    against PyTorch: values and gradients, first and second order."""
    rng = np.random.default_rng(9)
    x0, w0 = rng.standard_normal((2, 5, 5)).astype(dtype)

    def fn(L, x, w):
        y = x
        for _ in range(3):
            y = (y @ w).tanh() * 0.5 + y.unsqueeze(0).squeeze(0) - y.sum(1, keepdim=True) * 0.01
        return y.t().reshape(-1) * 2 - y.reshape(-1) + y.reshape(-1) * y.reshape(-1)

    compare(fn, [x0, w0])
    f = lambda t: fn(None, t, t.t() * 0.5).sum()  # noqa: E731
    for u, v in zip(_second_order(torch, f, x0), _second_order(tapegrad, f, x0)):
        assert_same(u, v)


def test_operator_fast_path_broadcast_errors_and_subclasses():
    assert_same_error(
        lambda L: L.ones(2, 3) + L.ones(4), match="must match the size of tensor b (4)"
    )
    assert_same_error(lambda L: L.ones(2, 3) * L.ones(3, 2), match="at non-singleton dimension 1")
    assert_same_error(lambda L: L.ones(2, 3) - L.ones(2, 2))
    # a Parameter (a Tensor subclass) on either side gives the same results and gradients
    compare(
        lambda L, a, b: L.nn.Parameter(a * 1.0) * b + b * L.nn.Parameter(a * 1.0) - 2.0,
        [np.ones((2, 3)), np.full((2, 3), 3.0)],
    )


def test_inplace_checks_through_fast_paths():
    """Saved inputs of operators on their fast path, and views whose counters come from
    the slot, still detect in-place changes; the counters are shared with views."""
    x = tapegrad.ones(3, 3, requires_grad=True)
    y = x * 1.0
    z = (y * y) * 0.5  # y saved through the operator fast path
    v = y.unsqueeze(0).squeeze(0)
    assert v._version_counter is y._version_counter
    v.add_(1.0)  # through a view: y's version moves
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    a = tapegrad.ones(3, requires_grad=True)
    b = a.tanh()  # saves its output
    b.mul_(2.0)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        b.sum().backward()


@pytest.mark.parametrize(
    "gshape,shape",
    [
        ((2, 3), (3,)),
        ((2, 3), (2, 1)),
        ((4, 2, 3), (2, 1)),
        ((2, 3), ()),
        ((1, 3), (3,)),
        ((3,), (1, 3)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_sum_to_with_the_ufunc_reduction(gshape, shape, dtype):
    from tapegrad.autograd.engine import sum_to

    g = np.arange(np.prod(gshape), dtype=dtype).reshape(gshape)
    if dtype is np.complex128:
        g = g + 1j * g
    out = sum_to(g, shape)
    assert type(out) is np.ndarray and out.shape == shape and out.dtype == dtype
    if len(gshape) < len(shape):
        ref = g.reshape(shape)  # fewer dims: the gradient only takes the input's shape
    else:
        ref = torch.from_numpy(g).sum_to_size(shape) if shape else g.sum()
    np.testing.assert_allclose(out, np.asarray(ref).reshape(shape))


def test_engine_frees_nodes_it_ran():
    """The engine's inlined Node._release: saved state gone after backward, a second
    backward raises PyTorch's error; custom Functions keep their own release."""
    x = tapegrad.ones(3, requires_grad=True)
    y = (x * x).tanh()
    node = y.grad_fn
    y.sum().backward()
    assert node._saved is None and node._freed
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()

    class Sq(tapegrad.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return 2 * t * g

    s = Sq.apply(x)
    s.sum().backward(retain_graph=True)
    s.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        s.sum().backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.float16])
@pytest.mark.parametrize("needs", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("split_min", [None, 1])
def test_matmul_backward_fast_path_matches_the_general_path(dtype, needs, split_min, monkeypatch):
    """Matmul's backward for two real float32/float64 matrices (NumPy products on ``.T``
    views) gives bit for bit the general path's gradients (``matmul_split`` on swapped
    axes, conjugates, float32 for low precision); complex, float16 and products big enough
    to split go the general way. ``split_min`` 1 makes every product "big"."""
    from tapegrad.ops import linalg

    if split_min is not None:
        monkeypatch.setattr(linalg, "_SPLIT_MIN_MACS", split_min)
    rng = np.random.default_rng(7)
    an = rng.standard_normal((6, 4)).astype(dtype)
    bn = rng.standard_normal((3, 4)).astype(dtype).T  # a strided (transposed) operand
    gn = rng.standard_normal((6, 3)).astype(dtype)
    if dtype == np.complex128:
        an = an + 1j * rng.standard_normal(an.shape)
        gn = gn - 1j * rng.standard_normal(gn.shape)
    a = tapegrad.tensor(an, requires_grad=needs[0])
    b = tapegrad.from_numpy(bn).requires_grad_(needs[1])
    out = a @ b
    out.backward(tapegrad.from_numpy(gn))
    wide = np.float32 if dtype == np.float16 else dtype
    g = gn.astype(wide)
    ref_a = np.matmul(g, np.swapaxes(np.conj(bn).astype(wide), -1, -2)).astype(dtype)
    ref_b = np.matmul(np.swapaxes(np.conj(an).astype(wide), -1, -2), g).astype(dtype)
    if needs[0]:
        assert a.grad.dtype == out.dtype
        np.testing.assert_array_equal(a.grad.numpy(), ref_a)
    else:
        assert a.grad is None
    if needs[1]:
        np.testing.assert_array_equal(b.grad.numpy(), ref_b)
    else:
        assert b.grad is None


def test_matmul_backward_fast_path_checks_saved_versions_and_second_order():
    a = tapegrad.randn(3, 3, requires_grad=True)
    w = tapegrad.randn(3, 3, dtype=tapegrad.float32).requires_grad_()
    y = a * 1.0
    out = y @ w
    y.add_(1.0)  # y was saved for w's gradient
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    an = np.random.default_rng(8).standard_normal((3, 3))
    fn = lambda t: ((t @ t).tanh() @ t).sum()  # noqa: E731
    for u, v in zip(_second_order(torch, fn, an), _second_order(tapegrad, fn, an)):
        assert_same(u, v)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "m,k,n", [(5, 5, 5), (1, 4, 3), (4, 1, 3), (4, 3, 1), (1, 1, 1), (7, 2, 9)]
)
@pytest.mark.parametrize("transposed", [False, True])
def test_small_matmul_dot_matches_np_matmul(dtype, m, k, n, transposed):
    """Small float32/float64 products take ``ndarray.dot`` (forward and backward): bit for
    bit ``np.matmul``'s result, for row/column-shaped and transposed (strided) operands,
    and PyTorch's values and gradients."""
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    an = rng.standard_normal((m, k)).astype(dtype)
    bn = rng.standard_normal((n, k)).astype(dtype).T if transposed else None
    if bn is None:
        bn = rng.standard_normal((k, n)).astype(dtype)
    gn = rng.standard_normal((m, n)).astype(dtype)
    a = tapegrad.tensor(an, requires_grad=True)
    b = tapegrad.from_numpy(bn).requires_grad_(True)
    out = a @ b
    np.testing.assert_array_equal(out.detach().numpy(), np.matmul(an, bn))
    out.backward(tapegrad.from_numpy(gn))
    np.testing.assert_array_equal(a.grad.numpy(), np.matmul(gn, bn.T))
    np.testing.assert_array_equal(b.grad.numpy(), np.matmul(an.T, gn))
    compare(lambda L, x, y: (x @ y).tanh().sum(), [an, bn.copy()], grad=True)
