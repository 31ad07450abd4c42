"""Tensor basics against PyTorch: creation, dtypes, conversions, attributes, random numbers,
and small PyTorch-style programs from the course (seeds 002 and 004)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error

import tapegrad

LIBS = [torch, tapegrad]


def both(fn):
    return fn(torch), fn(tapegrad)


def check(fn, **kw):
    """``fn(lib)`` gives the same results (values, dtypes, shapes) with both libraries."""
    t, g = both(fn)
    assert_same(t, g, **kw)
    return t, g


# ---------------------------------------------------------------------------
# creation


CREATION = {
    "tensor_float": lambda L: L.tensor([[1.0, 2.0], [3.0, 4.0]]),
    "tensor_int": lambda L: L.tensor([1, 2, 3]),
    "tensor_bool": lambda L: L.tensor([True, False]),
    "tensor_mixed": lambda L: L.tensor([1, 2.5, True]),
    "tensor_scalar": lambda L: [L.tensor(3), L.tensor(2.5), L.tensor(True)],
    "tensor_dtype": lambda L: L.tensor([1, 2], dtype=L.float64),
    "tensor_numpy_f64": lambda L: L.tensor(np.array([1.5, 2.5])),
    "tensor_numpy_i32": lambda L: L.tensor(np.array([1, 2], dtype=np.int32)),
    "tensor_of_tensors": lambda L: L.tensor([L.tensor(1.0).item(), 2.0]),
    "as_tensor": lambda L: L.as_tensor([1, 2, 3], dtype=L.float32),
    "from_numpy": lambda L: L.from_numpy(np.arange(6, dtype=np.float64).reshape(2, 3)),
    "zeros": lambda L: [L.zeros(2, 3), L.zeros((2,)), L.zeros(2, dtype=L.int64), L.zeros([])],
    "ones": lambda L: [L.ones(3), L.ones(1, 2, dtype=L.bool)],
    "full": lambda L: [L.full((2, 2), 7.0), L.full((2,), 3), L.full((2,), True)],
    "eye": lambda L: [L.eye(3), L.eye(2, 4), L.eye(3, dtype=L.int64)],
    "arange": lambda L: [
        L.arange(5),
        L.arange(1, 4),
        L.arange(0, 1, 0.25),
        L.arange(5.0),
        L.arange(0, 10, 3),
        L.arange(1.0, 0.0, -0.3),
        L.arange(0, 1, 0.1),
    ],
    "linspace": lambda L: [
        L.linspace(0, 1, 5),
        L.linspace(-math.pi, math.pi, 7),
        L.linspace(0, 1, 1),
    ],
    "logspace": lambda L: L.logspace(0, 2, 3),
    "like": lambda L: [
        L.zeros_like(L.ones(2, 3, dtype=L.int32)),
        L.ones_like(L.zeros(2)),
        L.full_like(L.zeros(2), 4.5),
        L.empty_like(L.zeros(2, 2)).shape,
    ],
    "empty": lambda L: [L.empty(2, 3).shape, L.empty(2, dtype=L.int64).dtype],
    "tril_indices": lambda L: L.tril_indices(3, 3),
    "meshgrid": lambda L: list(L.meshgrid(L.arange(3), L.arange(2), indexing="ij")),
}


@pytest.mark.parametrize("name", sorted(CREATION))
def test_creation(name):
    check(CREATION[name])


def test_legacy_constructors_and_type_checks():
    def fn(L):
        return [
            L.FloatTensor([1, 2]),
            L.LongTensor([1, 2]),
            L.ByteTensor([1, 2]),
            L.DoubleTensor([1]),
            L.BoolTensor([True]),
            L.IntTensor([1]),
            L.FloatTensor(2, 3).shape,
            L.Tensor(2, 3).shape,
            L.Tensor([[1, 2]]),
            L.Tensor(),
            isinstance(L.ones(2), L.FloatTensor),
            isinstance(L.ones(2), L.LongTensor),
            isinstance(L.ones(2, dtype=L.int64), L.LongTensor),
            L.tensor(range(5)),
        ]

    check(fn)


def test_finfo_iinfo():
    for name in ("float16", "float32", "float64"):
        t, g = torch.finfo(getattr(torch, name)), tapegrad.finfo(getattr(tapegrad, name))
        assert (g.eps, g.max, g.min, g.tiny, g.bits, g.resolution) == (
            t.eps,
            t.max,
            t.min,
            t.tiny,
            t.bits,
            t.resolution,
        )
        assert repr(g) == repr(t)
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        t, g = torch.iinfo(getattr(torch, name)), tapegrad.iinfo(getattr(tapegrad, name))
        assert (g.max, g.min, g.bits) == (t.max, t.min, t.bits) and repr(g) == repr(t)
    assert tapegrad.finfo().eps == torch.finfo().eps


def test_from_numpy_shares_memory():
    a = np.zeros(3, dtype=np.float32)
    t = tapegrad.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 5
    t[1] = 7
    assert a[1] == 7
    n = t.numpy()
    n[2] = 9
    assert t[2].item() == 9


def test_tensor_copies():
    a = np.zeros(3, dtype=np.float32)
    t = tapegrad.tensor(a)
    a[0] = 5
    assert t[0].item() == 0


# ---------------------------------------------------------------------------
# dtypes and conversions


def test_dtype_conversions():
    def fn(L):
        x = L.tensor([[1.7, -2.2], [0.0, 3.5]])
        return [
            x.to(L.float64),
            x.double(),
            x.float(),
            x.long(),
            x.int(),
            x.bool(),
            x.half(),
            x.to(L.int64).float(),
            x.type(L.float64),
            x.short(),
            x.abs().byte(),
            x.char(),
            x.to(dtype=L.int32),
            x.to(L.ones(1, dtype=L.float64)),
        ]

    check(fn)


def test_integer_wraparound_and_overflow():
    def fn(L):
        return [
            L.tensor([100], dtype=L.int8) + 200,
            L.tensor([1], dtype=L.uint8) * -1,
            L.tensor([1], dtype=L.int8) * 1000,
            L.tensor([1, 2], dtype=L.uint8) - 3,
            3 - L.tensor([1, 2], dtype=L.uint8),
            L.tensor([250], dtype=L.uint8) + L.tensor([10], dtype=L.uint8),
        ]

    check(fn)
    for bad in (
        lambda L: L.tensor([5], dtype=L.int16).fill_(70000),
        lambda L: L.full((2,), 300, dtype=L.uint8),
        lambda L: L.tensor([1], dtype=L.int8).clamp(-200, 200),
        lambda L: L.tensor([1], dtype=L.uint8).masked_fill(L.tensor([True]), 300),
    ):
        _, err = assert_same_error(bad)
        assert "without overflow" in str(err)


def test_out_arguments():
    def fn(L):
        res = []
        for make in (
            lambda o: L.add(L.ones(2), L.ones(2), out=o),
            lambda o: L.zeros(2, 3, out=o),
            lambda o: L.arange(3, out=o),
            lambda o: L.linspace(0, 1, 3, out=o),
            lambda o: L.linalg.inv(L.eye(2) * 2, out=o),
            lambda o: L.sum(L.ones(2, 3), 1, out=o),
            lambda o: L.matmul(L.ones(2, 2), L.ones(2), out=o),
        ):
            o = L.empty(0)
            r = make(o)
            res += [r, o, r is o]
        o = L.empty(2, dtype=L.int64)
        res += [L.ones(2, out=o), o]
        vi = (L.empty(2), L.empty(2, dtype=L.long))
        r = L.max(L.tensor([[1.0, 5], [3, 2]]), 1, out=vi)
        res += [r[0], r[1], vi[0], vi[1]]
        return res

    check(fn)
    assert_same_error(lambda L: L.add(L.ones(2), L.ones(2), out=L.empty(2, dtype=L.int64)))


def test_type_strings():
    for L in LIBS:
        assert L.ones(2).type() == "torch.FloatTensor"
        assert L.ones(2, dtype=L.int64).type() == "torch.LongTensor"
        assert L.ones(2).type("torch.DoubleTensor").dtype == L.float64
    assert str(tapegrad.float32) == "torch.float32"
    assert repr(tapegrad.int64) == "torch.int64"
    assert tapegrad.float32.is_floating_point and not tapegrad.int64.is_floating_point
    assert tapegrad.float == tapegrad.float32 and tapegrad.double == tapegrad.float64
    assert tapegrad.long == tapegrad.int64


def test_to_returns_self_when_unchanged():
    for L in LIBS:
        x = L.ones(2)
        assert x.to(L.float32) is x and x.float() is x
        assert x.to("cpu") is x


def test_attributes():
    def fn(L):
        x = L.arange(24.0).reshape(2, 3, 4)
        return [
            x.shape,
            x.size(),
            x.size(1),
            x.size(-1),
            x.dim(),
            x.ndim,
            x.numel(),
            x[0].T.shape,
            x.is_contiguous(),
            x.transpose(0, 1).is_contiguous(),
            x.transpose(0, 1).contiguous().is_contiguous(),
            x.stride(),
            x.transpose(0, 2).stride(),
            x[0, 1, 2].item(),
            x.tolist()[1][2],
            x.element_size(),
            str(x.device),
            x.dtype.is_floating_point,
            x.is_leaf,
            x.requires_grad,
            len(x),
            x.sum().item(),
            x.narrow(2, 1, 2).storage_offset(),
            x.is_floating_point(),
        ]

    check(fn)


def test_item_tolist_numpy():
    def fn(L):
        return [
            L.tensor(2.5).item(),
            L.tensor([7]).item(),
            L.tensor([[1, 2], [3, 4]]).tolist(),
            L.tensor(3).tolist(),
            float(L.tensor(1.5)),
            int(L.tensor(4)),
            bool(L.tensor([1.0])),
        ]

    t, g = both(fn)
    assert t == g
    assert isinstance(g[0], float) and isinstance(g[1], int)
    assert_same_error(lambda L: L.ones(2, requires_grad=True).numpy())


def test_clone_copy_and_fill():
    def fn(L):
        x = L.zeros(2, 3)
        y = x.clone()
        y.fill_(2)
        z = L.empty(2, 3).copy_(L.arange(3.0))  # copy_ broadcasts
        w = L.zeros(3, dtype=L.int64).copy_(L.tensor([1.7, 2.2, -3.9]))  # and casts
        x.zero_()
        return [x, y, z, w]

    check(fn)


def test_indexed_assignment_seed_004():
    def fn(L):
        L.manual_seed(0)
        x = L.empty(2, 4).random_(10)
        out = [x.clone(), x[0], x[0, :], x[:, 0]]
        x[:, 1:3] = -1
        out.append(x)
        return out

    check(fn)


# ---------------------------------------------------------------------------
# random numbers: the same seed gives PyTorch's numbers


RANDOM = {
    "rand": lambda L: [L.rand(3), L.rand(2, 5), L.rand(4, dtype=L.float64)],
    "randn_small": lambda L: [L.randn(1), L.randn(5), L.randn(3), L.randn(7, dtype=L.float64)],
    "randn_blocks": lambda L: [L.randn(16), L.randn(17), L.randn(4, 9), L.randn(100)],
    "randn_double": lambda L: [L.randn(16, dtype=L.float64), L.randn(50, dtype=L.float64)],
    "randn_half": lambda L: [
        L.randn(20, dtype=L.float16),
        L.randn(5, dtype=L.float16),
        L.empty(37, dtype=L.float16).normal_(2.0, 0.5),
    ],
    "normal_": lambda L: [
        L.empty(40).normal_(2.0, 0.5),
        L.empty(3, 3).normal_(),
        L.empty(5).normal_(1),
    ],
    "normal_fn": lambda L: [
        L.normal(2.0, 3.0, (20,)),
        L.normal(L.zeros(20), L.ones(20) * 2),
        L.normal(L.arange(4.0), 1.0),
    ],
    "randn_like": lambda L: [L.randn_like(L.zeros(3, 7)), L.rand_like(L.zeros(5))],
    "uniform_": lambda L: [L.empty(5).uniform_(-2, 3), L.empty(3, dtype=L.float64).uniform_()],
    "randint": lambda L: [
        L.randint(0, 10, (20,)),
        L.randint(10, (3, 2)),
        L.randint(-5, 1000000, (5,)),
        L.randint(3, 5, (4,), dtype=L.float32),
    ],
    "random_": lambda L: [L.empty(10, dtype=L.int64).random_(0, 7), L.empty(2, 4).random_(10)],
    "randperm": lambda L: [L.randperm(30), L.randperm(5)],
    "bernoulli": lambda L: [
        L.bernoulli(L.full((40,), 0.3)),
        L.empty(50).bernoulli_(0.6),
        L.bernoulli(L.full((7,), 0.3, dtype=L.float64)),
        L.empty(30).bernoulli_(L.full((30,), 0.5)),
        L.bernoulli(L.rand(20)),
    ],
    "dropout_mask": lambda L: L.nn.functional.dropout(L.ones(30), 0.4),
    "exponential_": lambda L: L.empty(10).exponential_(),
    "geometric_": lambda L: L.empty(6).geometric_(0.3),
    "random_float": lambda L: [L.empty(4).random_(), L.empty(4, dtype=L.float64).random_()],
    "random_ints": lambda L: [
        L.empty(4, dtype=L.int32).random_(),
        L.empty(4, dtype=L.uint8).random_(),
        L.empty(4, dtype=L.bool).random_(),
        L.empty(4, dtype=L.int64).random_(),
    ],
    "bernoulli_scalar_p": lambda L: L.bernoulli(L.zeros(5), 0.7),
    "multinomial": lambda L: [
        L.multinomial(L.tensor([0.1, 0.2, 0.7]), 10, replacement=True),
        L.multinomial(L.tensor([0.1, 0.2, 0.3, 0.4]), 3),
    ],
    # non-contiguous tensors are filled in memory order, one number at a time
    "noncontiguous": lambda L: [
        L.empty(5, 4).t().normal_(),
        L.empty(8, 4).t().normal_(),
        L.zeros(6, 6)[:, ::2].normal_(),
        L.empty(3, 4).t().uniform_(),
        L.empty(3, 4).t().bernoulli_(L.full((4, 3), 0.5)),
        L.empty(2, 3, 4).permute(2, 0, 1).normal_(),
    ],
    "interleaved": lambda L: [
        L.randn(3),
        L.rand(2),
        L.randn(2),
        L.randn(20),
        L.randint(0, 5, (3,)),
    ],
}


@pytest.mark.parametrize("name", sorted(RANDOM))
@pytest.mark.parametrize("seed", [0, 1234])
def test_random_parity(name, seed):
    def fn(L):
        L.manual_seed(seed)
        return RANDOM[name](L)

    t, g = both(fn)
    # bit-for-bit: the same seed gives exactly PyTorch's numbers
    assert_same(t, g, rtol=0, atol=0)


def test_manual_seed_resets_cached_normal():
    def fn(L):
        L.manual_seed(5)
        a = L.randn(1)  # leaves the pair's sine cached
        L.manual_seed(5)
        return [a, L.randn(1), L.randn(1)]

    assert_same(*both(fn), rtol=0, atol=0)


def test_rng_state_roundtrip():
    for L in LIBS:
        L.manual_seed(3)
        state = L.get_rng_state()
        a = L.rand(4)
        L.set_rng_state(state)
        assert L.equal(a, L.rand(4))


def test_generator_object():
    def fn(L):
        g = L.Generator().manual_seed(42)
        return [L.rand(3, generator=g), L.randn(20, generator=g), L.randperm(6, generator=g)]

    assert_same(*both(fn), rtol=0, atol=0)


# ---------------------------------------------------------------------------
# small programs from the course, run with both libraries


def prog_tensor_basics(L):
    x = L.empty(2, 5)
    out = [x.size()]
    x.fill_(1.125)
    out += [x.clone(), x.mean(), x.std(), x.sum(), x.sum().item()]
    x = L.tensor([[11.0, 12.0, 13.0], [21.0, 22.0, 23.0]])
    out.append(x[1, 2])
    x = L.tensor([10.0, 20.0, 30.0])
    y = L.tensor([11.0, 21.0, 31.0])
    m = L.tensor([[0.0, 0.0, 3.0], [0.0, 2.0, 0.0], [1.0, 0.0, 0.0]])
    out += [x + y, x * y, x**2, m.mv(x), m @ x]
    x = L.tensor([[1, 3, 0], [2, 4, 6]])
    out += [x.t(), x.view(-1), x.view(3, -1), x.narrow(1, 1, 2), x.view(1, 2, 3).expand(3, 2, 3)]
    x = L.tensor([[[1, 2, 1], [2, 1, 2]], [[3, 0, 3], [0, 3, 0]]])
    out += [x.narrow(0, 0, 1), x.narrow(2, 0, 2), x.transpose(0, 1), x.transpose(0, 2)]
    out += [x.transpose(1, 2), x.float().mean(), x.max(), x.sum(0)]
    out += [L.cat([x, x], 1), list(L.chunk(x, 2, 2)), list(L.split(x, 1, 0))]
    out += [L.index_select(x, 2, L.tensor([0, 2])), L.dist(x.float(), x.float() * 2)]
    return out


def prog_images(L):
    # a CIFAR-like uint8 batch: transpose, normalise, narrow and kill channels
    data = np.arange(4 * 8 * 8 * 3, dtype=np.uint8).reshape(4, 8, 8, 3)
    x = L.from_numpy(data).transpose(1, 3).transpose(2, 3).float()
    x = x / 255
    out = [x.type(), x.size(), x.min().item(), x.max().item()]
    x = x.narrow(0, 0, 3).float()
    x.transpose_(2, 3)
    x.narrow(1, 1, 2).fill_(0)
    out += [x.clone(), x.sum((0, 2, 3))]
    return out


def prog_broadcasting(L):
    L.manual_seed(0)
    x = L.empty(100, 4).normal_(2)
    out = [x.mean(0)]
    x -= x.mean(0)
    out.append(x.mean(0))
    A = L.tensor([[1.0], [2.0], [3.0], [4.0]])
    B = L.tensor([[5.0, -5.0, 5.0, -5.0, 5.0]])
    out += [A + B, A * B, A - B, (A / B).sum(1), L.maximum(A, B)]
    u = L.arange(4.0)
    out += [x[:4] * u.view(-1, 1), (x[:4] * u).sum(0)]
    return out


def prog_manual_gradient_descent(L):
    # logistic regression by hand, as in the course (gradient written out)
    L.manual_seed(1)
    x = L.randn(100, 3)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).float() * 2 - 1

    def gradient(x, y, w, b):
        u = y * (-y * (x.mv(w) + b)).sigmoid_()
        v = x * u.view(-1, 1)
        return -v.sum(0), -u.sum()

    w, b = L.empty(x.size(1)).normal_(), 0
    eta = 1e-1
    for _ in range(50):
        dw, db = gradient(x, y, w, b)
        w -= eta * dw
        b -= eta * db
    return [w, b.detach().clone(), ((x.mv(w) + b).sign() != y).float().mean()]


def prog_autograd_gradient_descent(L):
    L.manual_seed(2)
    x = L.linspace(-1, 1, 50).view(-1, 1)
    t = 3 * x**2 - x + 0.5 + 0.1 * L.randn(50, 1)
    w = L.zeros(3, requires_grad=True)
    losses = []
    for _ in range(100):
        X = L.cat([x**2, x, L.ones_like(x)], 1)
        loss = ((X @ w - t.view(-1)) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with L.no_grad():
            w -= 0.5 * w.grad
            w.grad.zero_()
    return [w.detach(), losses[0], losses[-1]]


def prog_perceptron(L):
    L.manual_seed(3)
    x = L.randn(60, 2)
    y = (x[:, 0] - x[:, 1] > 0).float() * 2 - 1
    w = L.zeros(x.size(1))
    for _ in range(10):
        nb_changes = 0
        for i in range(x.size(0)):
            if x[i].dot(w) * y[i] <= 0:
                w = w + y[i] * x[i]
                nb_changes = nb_changes + 1
        if nb_changes == 0:
            break
    return [w, nb_changes]


def prog_autograd_seed_examples(L):
    # seed 003-style: gradients of small expressions, retain_grad, hooks
    x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x.pow(2).sum()
    b = (x * 2).exp().sum()
    (a + b).backward()
    g1 = x.grad.clone()
    t1 = L.tensor([-3.0], requires_grad=True)
    t2 = L.tensor([1.0], requires_grad=True)
    t3 = L.tensor([2.0], requires_grad=True)
    y = (t1 + t2 * t3).pow(2) / (t1.abs() + 1)
    y.backward()
    (gx,) = L.autograd.grad((x.sin() * x).sum(), x)
    return [g1, t1.grad, t2.grad, t3.grad, y, gx]


def prog_variable_graph(L):
    # seed 001: Variables and a small computation graph (on the CPU here)
    from_autograd = L.autograd.Variable
    L.manual_seed(0)
    N, D = 3, 4
    x = from_autograd(L.randn(N, D), requires_grad=True)
    y = from_autograd(L.randn(N, D), requires_grad=True)
    z = from_autograd(L.randn(N, D), requires_grad=True)
    a = x * y
    b = a + z
    c = L.sum(b)
    c.backward()
    return [x.grad.data, y.grad.data, z.grad.data, c]


PROGRAMS = [
    prog_tensor_basics,
    prog_images,
    prog_broadcasting,
    prog_manual_gradient_descent,
    prog_autograd_gradient_descent,
    prog_perceptron,
    prog_autograd_seed_examples,
    prog_variable_graph,
]


@pytest.mark.parametrize("prog", PROGRAMS, ids=lambda p: p.__name__)
def test_seed_program(prog):
    check(prog, rtol=1e-4, atol=1e-5)
