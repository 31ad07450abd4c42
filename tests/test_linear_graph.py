"""F.linear and torch.addmm build PyTorch's autograd graph, node for node.

PyTorch's ``at::linear`` is ``addmm(bias, x, w.t())`` for a matrix, the same on
``x.view(-1, k)`` followed by a view for a contiguous input with a 1-D bias, and
``matmul(x, w.t())`` (plus the bias) otherwise; programs print ``grad_fn`` and walk
``next_functions`` (the 60-minute blitz does), so tapegrad's graph must be the same.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad

F_T = torch.nn.functional
F_G = tapegrad.nn.functional


def _tree(fn, name_of) -> tuple:
    if fn is None:
        return None
    return (name_of(fn), tuple(_tree(f, name_of) for f, _ in fn.next_functions))


def _names(t):
    return _tree(t.grad_fn, lambda f: f.name())


def _pair(shape, transpose=False, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    xs = []
    for lib in (torch, tapegrad):
        t = lib.tensor(x, requires_grad=True)
        xs.append(t.transpose(0, 1) if transpose else t)
    return xs


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (2, 5, 3), (2, 2, 5, 3), (3,)])
def test_linear_graph_matches_pytorch(shape, bias):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    xt, xg = _pair(shape)
    wt, wg = torch.tensor(w, requires_grad=True), tapegrad.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True) if bias else None
    bg = tapegrad.tensor(b, requires_grad=True) if bias else None
    yt, yg = F_T.linear(xt, wt, bt), F_G.linear(xg, wg, bg)
    if len(shape) == 2 or bias:
        assert _names(yg) == _names(yt)
    elif len(shape) > 2:
        # PyTorch's matmul folds the batch dims with nodes that tapegrad's matmul keeps in
        # one (UnsafeViewBackward0 on top in both); a vector input's is SqueezeBackward4
        assert yg.grad_fn.name() == yt.grad_fn.name()
    np.testing.assert_allclose(yg.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(2).standard_normal(tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.tensor(g))
    yg.backward(tapegrad.tensor(g))
    for a, c in ((xt, xg), (wt, wg)) + (((bt, bg),) if bias else ()):
        leaf_t = a if a.is_leaf else None
        if leaf_t is not None:
            np.testing.assert_allclose(c.grad.numpy(), a.grad.numpy(), rtol=1e-5, atol=1e-5)
    # the weight's gradient is contiguous, as PyTorch's (mm_mat2_backward's layout rule)
    assert wg.grad.is_contiguous() and wg.grad._data.flags.c_contiguous


def test_linear_graph_of_a_non_contiguous_input_matches_pytorch():
    xt, xg = _pair((2, 5, 3), transpose=True)
    w = np.ones((4, 3), np.float32)
    b = np.arange(4, dtype=np.float32)
    yt = F_T.linear(xt, torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
    yg = F_G.linear(
        xg, tapegrad.tensor(w, requires_grad=True), tapegrad.tensor(b, requires_grad=True)
    )
    # PyTorch: AddBackward0(matmul's nodes, bias); the top node and its bias edge agree
    assert yg.grad_fn.name() == yt.grad_fn.name() == "AddBackward0"
    assert yg.grad_fn.next_functions[1][0].name() == "torch::autograd::AccumulateGrad"
    np.testing.assert_allclose(yg.detach().numpy(), yt.detach().numpy(), rtol=1e-5)


def test_blitz_tutorial_walk():
    """The blitz tutorial's prints: loss -> Linear's node -> its first input."""
    outs = []
    for lib in (torch, tapegrad):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(6, 5), lib.nn.ReLU(), lib.nn.Linear(5, 3))
        loss = lib.nn.MSELoss()(net(lib.ones(2, 6)), lib.zeros(2, 3))
        nodes = [loss.grad_fn]
        nodes.append(nodes[-1].next_functions[0][0])
        nodes.append(nodes[-1].next_functions[0][0])
        nodes.append(loss.grad_fn.next_functions[0][0].next_functions[1][0])
        outs.append([n.name() for n in nodes] + [repr(n).split(" object")[0] for n in nodes])
    assert outs[1] == outs[0]
    assert outs[0] == [
        "MseLossBackward0", "AddmmBackward0", "torch::autograd::AccumulateGrad", "ReluBackward0",
        "<MseLossBackward0", "<AddmmBackward0", "<AccumulateGrad", "<ReluBackward0",
    ]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c_shape", [(4,), (3, 4), (1,), (), (3, 1)])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_addmm_matches_pytorch(dtype, c_shape, beta, alpha):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (c_shape, (3, 5), (5, 4))]
    res = []
    for lib in (torch, tapegrad):
        c, a, b = (lib.tensor(v, requires_grad=True) for v in arrays)
        y = lib.addmm(c, a, b, beta=beta, alpha=alpha)
        w = lib.arange(12.0, dtype=y.dtype).reshape(3, 4)
        (y * w).sum().backward()
        res.append((y.grad_fn.name(), y.detach().numpy(), c.grad.numpy(), a.grad.numpy(),
                    b.grad.numpy()))  # fmt: skip
    assert res[1][0] == res[0][0] == "AddmmBackward0"
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for u, v in zip(res[0][1:], res[1][1:]):
        assert u.dtype == v.dtype and u.shape == v.shape
        np.testing.assert_allclose(v, u, rtol=tol, atol=tol)


def test_addmm_beta_zero_ignores_nan_input():
    c = np.full(4, np.nan, np.float32)
    for lib in (torch, tapegrad):
        y = lib.addmm(lib.tensor(c), lib.ones(2, 3), lib.ones(3, 4), beta=0)
        assert not np.isnan(y.numpy()).any()


def test_addmm_errors_match_pytorch():
    for args in [((4,), (3, 5), (4, 4)), ((5,), (3, 5), (5, 4)), ((4,), (3,), (3, 4))]:
        errs = []
        for lib in (torch, tapegrad):
            with pytest.raises(RuntimeError) as e:
                lib.addmm(*(lib.zeros(s) for s in args))
            errs.append(type(e.value))
        assert errs[0] is errs[1]


def _f64(*shapes, seed=4):
    rng = np.random.default_rng(seed)
    return [tapegrad.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 5), (5,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_second_derivatives_by_finite_differences(shape, bias):
    x, w, b = _f64(shape, (4, 5), (4,))

    def f(x, w, *b):
        return F_G.linear(x, w, *b).tanh()

    args = (x, w, b) if bias else (x, w)
    assert tapegrad.autograd.gradcheck(f, args)
    assert tapegrad.autograd.gradgradcheck(f, args)


def test_addmm_second_derivatives_by_finite_differences():
    c, a, b = _f64((4,), (3, 5), (5, 4))

    def f(c, a, b):
        return tapegrad.addmm(c, a, b, beta=0.5, alpha=1.5).sin()

    assert tapegrad.autograd.gradcheck(f, (c, a, b))
    assert tapegrad.autograd.gradgradcheck(f, (c, a, b))


@pytest.mark.parametrize("bias", [True, False])
def test_complex_linear_and_addmm_gradients_match_pytorch(bias):
    rng = np.random.default_rng(5)

    def cplx(*shape):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)

    x, w, b = cplx(3, 4), cplx(2, 4), cplx(2)
    res = []
    for lib in (torch, tapegrad):
        X, W, B = (lib.tensor(v, requires_grad=True) for v in (x, w, b))
        y = lib.nn.functional.linear(X, W, B if bias else None)
        z = lib.addmm(B, X, W.t()) if bias else y
        (y.abs().sum() + z.abs().square().sum()).backward()
        res.append([X.grad.numpy(), W.grad.numpy()] + ([B.grad.numpy()] if bias else []))
    for want, got in zip(*res):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("transposed", [True, False])
@pytest.mark.parametrize("a_shape", [(4, 5, 3), (2, 2, 5, 3), (2, 0, 3), (2, 3, 0)])
def test_matmul_of_a_batch_and_a_matrix_folds_like_pytorch(a_shape, transposed):
    """(..., m, k) @ (k, n) is one product over the folded rows (the weight gradient too);
    a strided batch (an RNN's batch-first output) and a transposed matrix included."""
    rng = np.random.default_rng(6)
    a = rng.standard_normal(a_shape)
    b = rng.standard_normal((a_shape[-1], 6))
    res = []
    for lib in (torch, tapegrad):
        A = lib.tensor(a, requires_grad=True)
        B = lib.tensor(b.T.copy() if transposed else b, requires_grad=True)
        x = A.transpose(0, 1) if len(a_shape) == 3 else A
        y = lib.matmul(x, B.t() if transposed else B)
        (y * y).sum().backward()
        res.append((y.detach().numpy(), A.grad.numpy(), B.grad.numpy()))
        assert B.grad.is_contiguous()
    for want, got in zip(*res):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
