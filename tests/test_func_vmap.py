"""``vmap`` and ``jacfwd`` (``torch.func``) against PyTorch: values, gradients through
the vmap, in/out dims, nesting, randomness, per-sample gradients, errors, the fallback
warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error, compare

import tapegrad

FALLBACK = "There is a performance drop"


@pytest.fixture(autouse=True)
def _fallback_warnings():
    # off by default, as in PyTorch; these tests check when they are given
    from tapegrad.func import _batched

    _batched.display_vmap_fallback_warnings(True)
    yield
    _batched.display_vmap_fallback_warnings(False)


def test_fallback_warnings_are_off_by_default():
    from tapegrad.func import _batched

    _batched.display_vmap_fallback_warnings(False)
    assert not _batched.are_vmap_fallback_warnings_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tapegrad.vmap(lambda x: tapegrad.nn.functional.conv1d(x, tapegrad.ones(1, 1, 2)))(
            tapegrad.ones(3, 1, 1, 4)
        )


def _data(*shape, seed=0):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape)


def _no_fallback(fn, *args):
    """Run ``fn`` and assert that no fallback warning was raised (a batching rule ran)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(*args)
    msgs = [str(w.message) for w in rec if FALLBACK in str(w.message)]
    assert not msgs, msgs
    return out


# functions of (lib, *inputs) with their inputs and in_dims; each is vmapped by both
# libraries and compared, with the gradients through the vmap
RULES = {
    "unary_chain": (lambda L, x: x.sin() * 2 + x.exp().log1p(), [(4, 3)], 0),
    "activations": (
        lambda L, x: L.nn.functional.gelu(x) + L.relu(x) + L.sigmoid(x) + L.tanh(x),
        [(4, 3)],
        0,
    ),
    "broadcast_unbatched": (lambda L, x, y: x * y - y / 2, [(4, 2, 3), (3,)], (0, None)),
    "broadcast_ranks": (lambda L, x, y: x + y, [(4, 3), (2, 3)], (0, None)),
    "both_batched_ranks": (lambda L, x, y: x * y, [(4, 3), (4, 2, 3)], 0),
    "in_dim_1": (lambda L, x, y: x - y, [(3, 4), (4, 3)], (1, 0)),
    "negative_in_dim": (lambda L, x: x.pow(2).sum(0), [(3, 2, 4)], -1),
    "sum_all": (lambda L, x: x.sum(), [(4, 2, 3)], 0),
    "sum_dim_keep": (lambda L, x: x.sum(-1, keepdim=True), [(4, 2, 3)], 0),
    "mean_var": (lambda L, x: x.mean(0) + x.var(1).sum(), [(4, 2, 3)], 0),
    "norm_amax_lse": (
        lambda L, x: x.norm(dim=-1) + x.amax(1) + L.logsumexp(x, 1),
        [(4, 2, 3)],
        0,
    ),
    "max_dim": (lambda L, x: x.max(dim=1), [(4, 2, 3)], 0),
    "softmax": (
        lambda L, x: L.softmax(x, -1) + L.log_softmax(x, dim=0) + x.cumsum(1),
        [(4, 2, 3)],
        0,
    ),
    "mm_unbatched_right": (lambda L, x, w: x @ w, [(4, 2, 3), (3, 5)], (0, None)),
    "mm_unbatched_left": (lambda L, w, x: w @ x, [(5, 2), (4, 2, 3)], (None, 0)),
    "vec_mat": (lambda L, v, w: v @ w, [(4, 3), (3, 5)], (0, None)),
    "mat_vec_batched_vec": (lambda L, w, v: w @ v, [(5, 3), (4, 3)], (None, 0)),
    "vec_vec": (lambda L, u, v: L.dot(u, v) + u @ v, [(4, 3), (4, 3)], 0),
    "both_batched_bmm": (lambda L, a, b: a @ b, [(4, 2, 3), (4, 6, 3, 2)], 0),
    "linear": (
        lambda L, x, w, b: L.nn.functional.linear(x, w, b),
        [(4, 3), (5, 3), (5,)],
        (0, None, None),
    ),
    "views": (
        lambda L, x: x.reshape(-1)[None] + x.view(6).unsqueeze(0) + x.t().flatten(),
        [(4, 2, 3)],
        0,
    ),
    "transpose_permute": (
        lambda L, x: x.transpose(0, 2).permute(2, 0, 1).squeeze(),
        [(4, 2, 1, 3)],
        0,
    ),
    "expand": (lambda L, x: x.unsqueeze(0).expand(5, 3) * 1.0, [(4, 3)], 0),
    "basic_index": (
        lambda L, x: x[0, :3] + x[:, 1:3].sum(1) + x[..., None][1, :3, 0],
        [(4, 3, 4)],
        0,
    ),
    "advanced_index": (lambda L, x: x[[0, 2]] * 2 + x[:, [1, 0, 1]][:2], [(4, 3, 3)], 0),
    "cat_stack": (
        lambda L, x, y: L.cat([x, y], 0).sum() + L.stack([x, y], -1),
        [(4, 2, 3), (2, 3)],
        (0, None),
    ),
    "split_flip_tril_diagonal": (
        lambda L, x: (
            L.cat(x.split([1, 2], dim=1), 1).flip((0, -1)).tril(-1).triu(-2)
            + x.chunk(2, dim=0)[0].diagonal(0, 0, 1).sum()
            + L.diagonal(x, 1, -1, 0).sum()
        ),
        [(4, 3, 3)],
        0,
    ),
    "unbind": (lambda L, x: x.unbind(1)[1] * 3, [(4, 2, 3)], 0),
    "layer_norm": (
        lambda L, x, w, b: L.nn.functional.layer_norm(x, (3,), w, b),
        [(4, 2, 3), (3,), (3,)],
        (0, None, None),
    ),
    "group_norm": (
        lambda L, x: L.nn.functional.group_norm(x, 2, eps=1e-3),
        [(3, 2, 4, 5)],
        0,
    ),
    "batch_norm_eval": (
        lambda L, x: L.nn.functional.batch_norm(
            x, L.arange(4.0, dtype=x.dtype) / 4, L.arange(1.0, 5.0, dtype=x.dtype), training=False
        ),
        [(3, 2, 4, 5)],
        0,
    ),
    "ensemble_linear": (
        lambda L, x, w, b: L.nn.functional.linear(x, w, b),
        [(5, 3), (4, 2, 3), (4, 2)],
        (None, 0, 0),
    ),
    "where_comparisons": (
        lambda L, x, y: L.where((x > 0) & (y <= x), x, y * 0.1) + L.logical_not(x < y),
        [(4, 3), (3,)],
        (0, None),
    ),
    "mse_loss": (
        lambda L, x, y: L.nn.functional.mse_loss(x, y),
        [(4, 3), (4, 3)],
        0,
    ),
}


def _case(table, name):
    """``(run, arrays)`` for ``compare``: the table's function vmapped by each library."""
    fn, shapes, in_dims = table[name]

    def run(L, *xs):
        return L.vmap(lambda *a: fn(L, *a), in_dims=in_dims)(*xs)

    return run, [_data(*s, seed=i) for i, s in enumerate(shapes)]


@pytest.mark.parametrize("name", sorted(RULES))
def test_batching_rules_match_pytorch(name):
    _no_fallback(compare, *_case(RULES, name))


FALLBACKS = {
    # primitives without a batching rule: the per-primitive loop
    "conv2d": (
        lambda L, x, w: L.nn.functional.conv2d(x, w, padding=1),
        [(3, 2, 5, 5), (4, 2, 3, 3)],
        (0, None),
    ),
    "cross_entropy_unbatched_target": (
        lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([1, 0, 2])),
        [(4, 3, 3)],
        0,
    ),
    # per-sample Python (a mask read as a raw array): the whole-function loop
    "masked_fill": (lambda L, x: x.masked_fill(x < 0, 0.0) + x.clamp(-0.5, 0.5), [(4, 3)], 0),
}


@pytest.mark.parametrize("name", sorted(FALLBACKS))
def test_fallbacks_match_pytorch_and_warn(name):
    with pytest.warns(UserWarning, match=FALLBACK):
        compare(*_case(FALLBACKS, name))


def test_cross_entropy_per_sample_targets():
    x, y = _data(5, 3), np.array([0, 2, 1, 1, 0])
    compare(
        lambda L, x, y: L.vmap(L.nn.functional.cross_entropy)(x, y),
        [x, y],
    )


def test_gradient_through_vmap_into_unbatched_weight():
    # the unbatched weight's gradient sums the samples' contributions
    compare(
        lambda L, x, w: L.vmap(lambda xi: (xi @ w).tanh().sum(), in_dims=0)(x),
        [_data(6, 3), _data(3, 2, seed=1)],
    )


@pytest.mark.parametrize(
    "in_dims,out_dims",
    [(0, 0), (1, 0), (0, 1), (-1, -1), (1, 2), ((0, None), 0), ((None, 1), -2)],
)
def test_in_and_out_dims(in_dims, out_dims):
    a, b = _data(3, 3, 3), _data(3, 3, 3, seed=1)

    def run(L, x, y):
        return L.vmap(lambda u, v: (u * v).sin() + u, in_dims=in_dims, out_dims=out_dims)(x, y)

    compare(run, [a, b])


def test_pytree_inputs_outputs_and_kwargs():
    a, b, c = _data(4, 3), _data(3, 4, seed=1), _data(3, seed=2)

    def run(L, x, y, z):
        def f(pair, d, *, scale):
            u, v = pair
            return {"s": (u + v) * scale + d["z"]}, [u.sum(), d["z"]]

        d, rest = L.vmap(f, in_dims=((0, 1), {"z": None}), out_dims=({"s": 1}, [0, None]))(
            (x, y), {"z": z}, scale=2.0
        )
        assert set(d) == {"s"} and isinstance(rest, list)
        return d["s"], rest

    compare(run, [a, b, c])


def test_out_dims_none_for_unbatched_output_and_unbatched_output_expands():
    compare(
        lambda L, x, w: L.vmap(lambda u: (u * 2, w), out_dims=(0, None))(x), [_data(4, 3), _data(2)]
    )
    t, g = compare(
        lambda L, x, w: L.vmap(lambda u: w * 1.0)(x), [_data(4, 3), _data(2)], grad=False
    )
    assert tuple(g.shape) == (4, 2)


def test_nested_vmap():
    def run(L, x, y):
        inner = L.vmap(lambda u, v: u @ v + u.sum(), in_dims=(0, None))
        return L.vmap(inner, in_dims=(1, 0))(x, y)

    compare(run, [_data(5, 4, 3), _data(4, 3, seed=1)])


def test_nested_vmap_outer_product():
    def run(L, x, y):
        return L.vmap(L.vmap(lambda a, b: a * b, in_dims=(None, 0)), in_dims=(0, None))(x, y)

    compare(run, [_data(4), _data(5, seed=1)])


def test_nested_vmap_with_whole_function_fallback():
    def run(L, x):
        return L.vmap(L.vmap(lambda u: u.masked_fill(u > 0, 1.0) * 2))(x)

    with pytest.warns(UserWarning, match=FALLBACK):
        compare(run, [_data(3, 4, 2)])


def test_chunk_size_gives_the_same_result():
    a = _data(7, 3)
    for cs in (1, 2, 3, 7, 10):
        compare(lambda L, x, cs=cs: L.vmap(lambda u: u.softmax(0) * u, chunk_size=cs)(x), [a])


def test_chunked_randomness_same_restores_state_per_chunk():
    for lib in (torch, tapegrad):
        lib.manual_seed(3)
        x = lib.zeros(6, 4)
        out = lib.vmap(lambda u, lib=lib: u + lib.rand(4), randomness="same", chunk_size=4)(x)
        assert (out == out[0]).all()


def test_batched_tensor_repr_and_metadata():
    seen = {}

    def f(x):
        seen["shape"], seen["dim"], seen["dtype"] = tuple(x.shape), x.dim(), x.dtype
        seen["repr"] = repr(x)
        return x

    tapegrad.vmap(f)(tapegrad.ones(2, 3))
    assert seen["shape"] == (3,) and seen["dim"] == 1 and seen["dtype"] is tapegrad.float32
    assert seen["repr"].startswith("BatchedTensor(lvl=1, bdim=0, value=\n    tensor(")


# randomness --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda L, x: x + L.randn(3),
        lambda L, x: L.nn.functional.dropout(x, 0.5),
        lambda L, x: L.bernoulli(x.sigmoid()),
        lambda L, x: x + L.rand_like(x),
    ],
)
def test_randomness_error_mode(fn):
    def run(L, x):
        return L.vmap(lambda u: fn(L, u))(L.tensor(x))

    _, err = assert_same_error(run, np.zeros((2, 3)), match="randomness error mode")
    assert str(err).startswith("vmap: called random operation while in randomness error mode")


@pytest.mark.parametrize(
    "draw,shape",
    [
        (lambda L, x: x + L.rand(4), (3, 4)),
        (lambda L, x: x + L.randn(16), (3, 16)),
        (lambda L, x: L.bernoulli(x * 0 + 0.3), (3, 5)),
        (lambda L, x: L.nn.functional.dropout(x + 1, 0.5), (3, 5)),
    ],
)
def test_randomness_different_matches_pytorch_stream(draw, shape):
    outs = []
    for L in (torch, tapegrad):
        L.manual_seed(11)
        outs.append(L.vmap(lambda u, L=L: draw(L, u), randomness="different")(L.zeros(*shape)))
    assert_same(outs[0], outs[1])
    rows = outs[1].numpy()
    assert not np.all(rows == rows[0])  # the samples differ


def test_randomness_same_matches_pytorch_stream():
    outs = []
    for L in (torch, tapegrad):
        L.manual_seed(5)
        x = L.arange(3.0).reshape(3, 1)
        outs.append(L.vmap(lambda u, L=L: u + L.randn(4), randomness="same")(x))
        after = L.rand(2)  # the generator moved on by one draw of 4
        outs.append(after)
    assert_same(outs[0], outs[2])
    assert_same(outs[1], outs[3])
    g = outs[2].numpy()
    np.testing.assert_allclose(g - g[:, :1], np.broadcast_to(g[0] - g[0, 0], g.shape), atol=1e-6)


# composition with the differentiating transforms ------------------------------------------


def _mlp_pair():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    gm = tapegrad.nn.Sequential(
        tapegrad.nn.Linear(3, 5), tapegrad.nn.Tanh(), tapegrad.nn.Linear(5, 2)
    )
    for (_, tp), (_, gp) in zip(tm.named_parameters(), gm.named_parameters()):
        gp.data = tapegrad.tensor(tp.detach().double().numpy())
    return tm.double(), gm


def test_per_sample_gradients_of_an_mlp_match_torch_func():
    tm, gm = _mlp_pair()
    x, y = _data(6, 3), np.array([0, 1, 1, 0, 1, 0])
    res = []
    for L, m in ((torch, tm), (tapegrad, gm)):
        params = {k: v.detach() for k, v in m.named_parameters()}

        def loss(p, xi, yi, L=L, m=m):
            out = L.func.functional_call(m, p, (xi.unsqueeze(0),))
            return L.nn.functional.cross_entropy(out, yi.unsqueeze(0))

        res.append(
            L.func.vmap(L.func.grad(loss), in_dims=(None, 0, 0))(params, L.tensor(x), L.tensor(y))
        )
    assert set(res[0]) == set(res[1])
    for k in res[0]:
        assert_same(res[0][k], res[1][k], where=k)
        assert tuple(res[1][k].shape)[0] == 6


def test_vmap_of_jacrev_vjp_and_hessian():
    def run(L, x):
        f = lambda u: (u.sin() * u).sum()  # noqa: E731
        g = lambda u: u.exp() * u.sum()  # noqa: E731
        return (
            L.func.vmap(L.func.jacrev(g))(x),
            L.func.vmap(L.func.hessian(f))(x),
            L.func.vmap(L.func.jacfwd(g))(x),
        )

    compare(run, [_data(3, 4)], grad=False)


def test_jacrev_via_vmap_of_vjp_fn():
    def run(L, x):
        out, vjp_fn = L.func.vjp(lambda u: u.sin() * 2, x)
        return L.vmap(vjp_fn)(L.eye(4, dtype=x.dtype))[0]

    compare(run, [_data(4)], grad=False)


def test_grad_of_vmap():
    def run(L, x, w):
        return L.func.grad(lambda v: L.vmap(lambda r: (r @ v).tanh())(x).sum())(w)

    compare(run, [_data(5, 3), _data(3, seed=1)], grad=False)


# jacfwd ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn,shapes,argnums",
    [
        (lambda x: x.sin() * x.sum(), [(3,)], 0),
        (lambda x, y: (x @ y).tanh(), [(2, 3), (3, 4)], 1),
        (lambda x, y: (x.exp(), (x * y).sum()), [(2, 2), (2, 2)], (0, 1)),
        (lambda x: x.sum(), [(2, 3)], 0),
    ],
)
def test_jacfwd_matches_torch_func(fn, shapes, argnums):
    arrays = [_data(*s, seed=i) for i, s in enumerate(shapes)]
    compare(lambda L, *xs: L.func.jacfwd(fn, argnums=argnums)(*xs), arrays, grad=False)


def test_jacfwd_has_aux_and_equals_jacrev():
    def run(L, x):
        return L.func.jacfwd(lambda u: (u.cos() * 3, u.sum()), has_aux=True)(x)

    compare(run, [_data(2, 3)], grad=False)
    x = tapegrad.tensor(_data(4))
    f = lambda u: (u[:, None] * u).sin()  # noqa: E731
    np.testing.assert_allclose(
        tapegrad.func.jacfwd(f)(x).numpy(), tapegrad.func.jacrev(f)(x).numpy(), atol=1e-12
    )


def test_jacfwd_randomness():
    with pytest.raises(RuntimeError, match="randomness error mode"):
        tapegrad.func.jacfwd(lambda x: x * tapegrad.rand(3))(tapegrad.ones(3))
    tapegrad.manual_seed(0)
    j = tapegrad.func.jacfwd(lambda x: x * tapegrad.rand(3), randomness="same")(tapegrad.ones(3))
    tapegrad.manual_seed(0)
    np.testing.assert_allclose(j.numpy(), np.diag(tapegrad.rand(3).numpy()))
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        tapegrad.func.jacfwd(lambda x: x, randomness="bad")


# errors -----------------------------------------------------------------------------------


def _err(fn, *arrays, match):
    assert_same_error(fn, *arrays, match=match)


def test_errors_match_pytorch():
    x = _data(3, 4)
    _err(
        lambda L, a: L.vmap(lambda u: u, in_dims=2)(L.tensor(a)),
        x,
        match="expected in_dim to satisfy -2 <= in_dim < 2",
    )
    _err(
        lambda L, a: L.vmap(lambda u, v: u + v)(L.tensor(a), L.tensor(a).T),
        x,
        match="vmap: Expected all tensors to have the same size in the mapped dimension, got "
        "sizes [3, 4]",
    )
    _err(
        lambda L, a: L.vmap(lambda u: u, in_dims=[0])(L.tensor(a)),
        x,
        match="expected `in_dims` to be int or a (potentially nested) tuple",
    )
    _err(
        lambda L, a: L.vmap(lambda u, v: u, in_dims=(0,))(L.tensor(a), L.tensor(a)),
        x,
        match="in_dims is not compatible with the structure of `inputs`",
    )
    _err(
        lambda L, a: L.vmap(lambda u, v: u, in_dims=(0, 0))(L.tensor(a), 3.0),
        x,
        match="We cannot vmap over non-Tensor arguments",
    )
    _err(
        lambda L, a: L.vmap(lambda u: u, in_dims=(None,))(L.tensor(a)),
        x,
        match="vmap: Expected at least one Tensor to vmap over",
    )
    _err(
        lambda L, a: L.vmap(lambda u: u, in_dims=("a",))(L.tensor(a)),
        x,
        match="in_dim must be either an integer dimension or None",
    )
    _err(lambda L, a: L.vmap(lambda: 1)(), x, match="got no inputs")
    _err(
        lambda L, a: L.vmap(lambda u: 3.0)(L.tensor(a)),
        x,
        match="must only return Tensors, got type <class 'float'>",
    )
    _err(
        lambda L, a: L.vmap(lambda u: (u, "s"))(L.tensor(a)),
        x,
        match="must only return Tensors, got type <class 'str'>",
    )
    _err(
        lambda L, a: L.vmap(lambda u: u * 2, out_dims=None)(L.tensor(a)),
        x,
        match="can not return a BatchedTensor when out_dim is None",
    )
    _err(
        lambda L, a: L.vmap(lambda u: (u, u), out_dims=(0, 0, 0))(L.tensor(a)),
        x,
        match="out_dims is not compatible with the structure of `outputs`",
    )
    _err(
        lambda L, a: L.vmap(lambda u: u, out_dims="x")(L.tensor(a)),
        x,
        match="`out_dims` must be an int, None or a python collection of ints",
    )
    _err(
        lambda L, a: L.vmap(lambda u: u, randomness="bad"),
        x,
        match="Only allowed values for randomness are 'error', 'different', or 'same'. Got bad",
    )
    _err(
        lambda L, a: L.vmap(lambda u: u, chunk_size=0),
        x,
        match="vmap: chunk_size should be None or greater than 0. (got 0)",
    )
    _err(
        lambda L, a: L.vmap(lambda u: u.sum().item())(L.tensor(a)),
        x,
        match="It looks like you're calling .item() on a Tensor",
    )
    _err(
        lambda L, a: L.vmap(lambda u: u * 2 if u.sum() > 0 else u)(L.tensor(a)),
        x,
        match="data-dependent control flow",
    )


def test_values_read_then_control_flow_runs_per_sample():
    # a documented difference: PyTorch raises (data-dependent control flow); here reading
    # the values (tolist) makes the function run sample by sample, so the branch works
    x = tapegrad.tensor(_data(3, 4))
    with pytest.warns(UserWarning, match=FALLBACK):
        out = tapegrad.vmap(lambda u: u * 2 if sum(u.tolist()) > 0 else u)(x)
    expected = [r * 2 if r.sum() > 0 else r for r in x.numpy()]
    np.testing.assert_allclose(out.numpy(), np.stack(expected))


def test_in_place_on_batched_tensor_and_captured_state():
    def run(L, a):
        def f(u):
            v = u.clone()
            v.mul_(2).add_(1)
            return v

        return L.vmap(f)(a)

    with pytest.warns(UserWarning, match=FALLBACK):
        compare(run, [_data(3, 4)], grad=False)


def test_alias_and_func_vmap_are_one():
    assert tapegrad.vmap is tapegrad.func.vmap


def test_autograd_grad_inside_vmap_gives_per_sample_gradients():
    w = tapegrad.tensor(_data(3), requires_grad=True)
    xs = tapegrad.tensor(_data(4, 3, seed=1))

    def f(x):
        return tapegrad.autograd.grad(((x * w).sin()).sum(), w)[0]

    with pytest.warns(UserWarning, match=FALLBACK):
        out = tapegrad.vmap(f)(xs)
    expected = np.cos(xs.numpy() * w.detach().numpy()) * xs.numpy()
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)


def test_gradient_through_a_loop_fallback_reaches_the_input():
    def run(L, x):
        return L.vmap(lambda u: L.nn.functional.max_pool1d(u.unsqueeze(0), 2).squeeze(0))(x)

    with pytest.warns(UserWarning, match=FALLBACK):
        compare(run, [_data(3, 6)])


def test_random_draws_in_another_thread_are_not_inside_the_vmap():
    import threading

    drawn = []

    def f(u):
        t = threading.Thread(target=lambda: drawn.append(tapegrad.rand(2)))
        t.start()
        t.join()
        return u * 2

    tapegrad.vmap(f)(tapegrad.ones(3, 2))
    assert len(drawn) == 1 and tuple(drawn[0].shape) == (2,)


def test_per_sample_gradients_are_batched_without_a_loop():
    # grad inside vmap differentiates per-sample copies of the parameters in one batched
    # backward: no per-sample rerun for a model and loss made of ops with batching rules
    tm, gm = _mlp_pair()
    x, y = _data(6, 3), _data(6, 2, seed=1)
    res = []
    for L, m in ((torch, tm), (tapegrad, gm)):
        params = {k: v.detach() for k, v in m.named_parameters()}

        def loss(p, xi, yi, L=L, m=m):
            out = L.func.functional_call(m, p, (xi,))
            return L.nn.functional.mse_loss(out, yi), out.sum()

        vg = L.func.vmap(L.func.grad_and_value(loss, has_aux=True), in_dims=(None, 0, 0))
        res.append(_no_fallback(vg, params, L.tensor(x), L.tensor(y)))
    (tg_, (tv, ta)), (gg, (gv, ga)) = res
    for k in tg_:
        assert_same(tg_[k], gg[k], where=k)
    assert_same(tv, gv)
    assert_same(ta, ga)


def test_vmap_of_grad_nests_with_grad_and_with_itself():
    def run(L, x, w):
        def f(v, u):
            return ((u * v).sin() * v).sum()

        g2 = L.func.grad(lambda v, u: L.func.grad(f)(v, u).sum())
        second = L.vmap(g2, in_dims=(None, 0))(w, x)
        outer = L.func.grad(lambda v: L.vmap(L.func.grad(f), in_dims=(None, 0))(v, x).sum())(w)
        wrt_batched = L.vmap(L.func.grad(f, argnums=1), in_dims=(None, 0))(w, x)
        return second, outer, wrt_batched

    compare(run, [_data(4, 3), _data(3, seed=1)], grad=False)
