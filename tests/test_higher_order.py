"""Higher-order gradients: create_graph, autograd.functional, tapegrad.func, gradgradcheck,
once_differentiable, and whole programs that use second derivatives, against PyTorch."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

import tapegrad

LIBS = (torch, tapegrad)


def _np(x):
    if isinstance(x, (tuple, list)):
        return [_np(e) for e in x]
    return None if x is None else x.detach().numpy().copy()


def _same(a, b, rtol=1e-9, atol=1e-11):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b), (type(a), type(b))
        for x, y in zip(a, b):
            _same(x, y, rtol, atol)
        return
    if a is None:
        assert b is None
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)


def both(fn, **kw):
    """Run ``fn(lib)`` with PyTorch and tapegrad; their (nested) tensor results agree."""
    t, g = fn(torch), fn(tapegrad)
    _same(_np(t), _np(g), **kw)
    return g


X = np.array([[0.3, -0.7, 1.2], [0.9, 0.1, -0.4]])


# ---------------------------------------------------------------------------
# the engine under create_graph


def test_grad_of_grad_third_order_and_grad_fn():
    def fn(L):
        x = L.tensor(X, requires_grad=True)
        y = (x.sin() * x * x).sum()
        (g,) = L.autograd.grad(y, x, create_graph=True)
        assert g.requires_grad and g.grad_fn is not None
        (h,) = L.autograd.grad(g.sum(), x, create_graph=True)
        (t,) = L.autograd.grad((h * h).sum(), x)
        return g, h, t

    both(fn)


def test_backward_create_graph_grad_has_grad_fn_and_retains_graph():
    def fn(L):
        x = L.tensor(X, requires_grad=True)
        y = (x.exp() * x).sum()
        with pytest.warns(UserWarning, match="reference cycle"):
            y.backward(create_graph=True)
        g = x.grad
        assert g.grad_fn is not None
        y.backward(retain_graph=True)  # retain_graph defaulted to create_graph
        first = x.grad.detach().clone()
        x.grad = None
        g.sum().backward()
        return first, x.grad

    both(fn)


def test_retain_graph_defaults_to_false_without_create_graph():
    for L in LIBS:
        x = L.tensor(X, requires_grad=True)
        y = (x.exp()).sum()
        L.autograd.grad(y, x)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            L.autograd.grad(y, x)


def test_grad_outputs_requiring_grad_double_vjp_trick():
    def fn(L):
        x = L.tensor(X, requires_grad=True)
        u = L.zeros(2, 3, dtype=L.float64, requires_grad=True)
        y = x.tanh() * x
        (g,) = L.autograd.grad(y, x, u, create_graph=True)
        v = L.tensor(np.ones((2, 3)))
        (jv,) = L.autograd.grad(g, u, v)
        return jv

    both(fn)


def test_hooks_and_retain_grad_under_create_graph():
    def fn(L):
        x = L.tensor(X, requires_grad=True)
        h = x * x
        h.retain_grad()
        h.register_hook(lambda g: g * 3)
        y = (h.sin()).sum()
        (g,) = L.autograd.grad(y, x, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), x)
        return g, gg

    both(fn)


def test_user_function_double_backward_through_saved_output():
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

        x = L.tensor(X, requires_grad=True)
        (g,) = L.autograd.grad(Exp.apply(x * 2).sum(), x, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), x)
        return g, gg

    both(fn)


def test_once_differentiable_raises_on_second_backward():
    for L in LIBS:
        from importlib import import_module

        once = import_module(L.__name__ + ".autograd.function").once_differentiable

        class Sq(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = L.tensor(X, requires_grad=True)
        u = L.ones(2, 3, dtype=L.float64, requires_grad=True)
        (g,) = L.autograd.grad(Sq.apply(x), x, u, create_graph=True)
        with pytest.raises(RuntimeError, match="marked with @once_differentiable"):
            g.sum().backward()
        # first order is unaffected
        (g1,) = L.autograd.grad(Sq.apply(x).sum(), x)
        np.testing.assert_allclose(g1.numpy(), 2 * X)


def test_double_backward_memory_is_flat():
    w = tapegrad.tensor(np.random.default_rng(0).standard_normal((8, 8)), requires_grad=True)
    x = tapegrad.tensor(np.random.default_rng(1).standard_normal((4, 8)))

    def step():
        y = (x @ w).tanh().pow(2).sum()
        (g,) = tapegrad.autograd.grad(y, w, create_graph=True)
        pen = (g * g).sum()
        pen.backward()
        w.grad = None

    for _ in range(20):
        step()
    gc.collect()
    before = sum(isinstance(o, tapegrad.Tensor) for o in gc.get_objects())
    for _ in range(1000):
        step()
    gc.collect()
    after = sum(isinstance(o, tapegrad.Tensor) for o in gc.get_objects())
    assert after <= before + 5, (before, after)


# ---------------------------------------------------------------------------
# autograd.functional


def _f_scalar(L):
    return lambda x: (x.exp() * x.sin()).sum()


def _f_vec(L):
    return lambda x: x.tanh() * x


@pytest.mark.parametrize("create_graph", [False, True])
def test_functional_products_match_pytorch(create_graph):
    def fn(L):
        F = L.autograd.functional
        x = L.tensor(X, requires_grad=create_graph)
        v = L.tensor(np.linspace(-1, 1, 6).reshape(2, 3))
        out = [
            F.vjp(_f_vec(L), x, v, create_graph=create_graph),
            F.jvp(_f_vec(L), x, v, create_graph=create_graph),
            F.jacobian(_f_vec(L), x, create_graph=create_graph),
            F.hessian(_f_scalar(L), x, create_graph=create_graph),
            F.hvp(_f_scalar(L), x, v, create_graph=create_graph),
            F.vhp(_f_scalar(L), x, v, create_graph=create_graph),
        ]
        if create_graph:
            flat = [out[3], out[4][1]]
            out.append(L.autograd.grad(sum(t.sum() for t in flat), x))
        return out

    both(fn)


def test_functional_tuple_structures():
    def fn(L):
        F = L.autograd.functional
        a = L.tensor(X)
        b = L.tensor(X[::-1].copy())

        def two(a, b):
            return a * b, (a + b).exp()

        def scal(a, b):
            return (a * b * b).sum()

        return [
            F.jacobian(two, (a, b)),
            F.jacobian(lambda a: (a * 2, a.sum()), a),
            F.hessian(scal, (a, b)),
            F.vjp(two, (a, b), (L.ones(2, 3, dtype=L.float64), L.ones(2, 3, dtype=L.float64))),
            F.hvp(scal, (a, b), (a, b)),
        ]

    both(fn)


def test_functional_errors_match_pytorch():
    cases = [
        lambda L: L.autograd.functional.vjp(lambda x: x * 2, L.ones(3)),
        lambda L: L.autograd.functional.jacobian(lambda x: x, [L.ones(2)]),
        lambda L: L.autograd.functional.hessian(lambda x: x * 2, L.ones(2)),
        lambda L: L.autograd.functional.jvp(lambda x: x, L.ones(3), L.ones(2)),
        lambda L: L.autograd.functional.vjp(
            lambda x: x.detach(), L.ones(3), L.ones(3), strict=True
        ),
        lambda L: L.autograd.functional.jacobian(lambda x: x * 2, L.ones(2), strategy="nope"),
        lambda L: L.autograd.functional.hvp(
            lambda x: (x * 2).sum(), L.ones(2), L.ones(2), strict=True
        ),
    ]
    for case in cases:
        errs = []
        for L in LIBS:
            try:
                case(L)
                errs.append(None)
            except Exception as e:  # noqa: BLE001 - the types are compared
                errs.append((type(e), str(e)))
        assert errs[0] is not None
        assert errs[1] is not None and errs[1][0] is errs[0][0], errs
        assert errs[1][1] == errs[0][1].replace("torch.Size", "torch.Size"), errs


# ---------------------------------------------------------------------------
# tapegrad.func


def test_func_transforms_match_torch_func():
    def fn(L):
        F = L.func
        x = L.tensor(X)
        f = _f_scalar(L)
        g = _f_vec(L)
        out = [
            F.grad(f)(x),
            F.grad(lambda x: F.grad(f)(x).sum())(x),
            F.grad_and_value(f)(x),
            F.jacrev(g)(x),
            F.hessian(f)(x),
            F.jvp(g, (x,), (L.ones(2, 3, dtype=L.float64),)),
            F.vjp(g, x)[1](L.ones(2, 3, dtype=L.float64)),
            F.grad(lambda a, b: (a * b.exp()).sum(), argnums=(0, 1))(x, x * 2),
            F.grad(lambda x: ((x * x).sum(), x.mean()), has_aux=True)(x),
        ]
        assert not out[0].requires_grad
        return out

    both(fn)


def test_func_grad_errors():
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor"):
        tapegrad.func.grad(lambda x: x * 2)(tapegrad.ones(3))


def test_functional_call_swaps_parameters():
    def fn(L):
        L.manual_seed(0)
        m = L.nn.Linear(3, 2).double()
        params = {k: v.detach() * 2 for k, v in m.named_parameters()}
        x = L.tensor(X)
        y = L.func.functional_call(m, params, (x,))
        return y, m(x)

    both(fn)


# ---------------------------------------------------------------------------
# gradcheck / gradgradcheck


def test_gradgradcheck_passes_and_catches_a_wrong_second_derivative():
    x = tapegrad.tensor(X, requires_grad=True)
    assert tapegrad.autograd.gradgradcheck(lambda x: (x.sin() * x).exp(), (x,))

    class Bad(tapegrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x.detach() ** 2  # first derivative right, second wrong (zero)

    assert tapegrad.autograd.gradcheck(Bad.apply, (x,))
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        tapegrad.autograd.gradgradcheck(Bad.apply, (x,))
    assert not tapegrad.autograd.gradgradcheck(Bad.apply, (x,), raise_exception=False)


def test_gradcheck_options_are_honoured():
    x = tapegrad.tensor(X, requires_grad=True)
    f = lambda x: (x * x).sin()  # noqa: E731
    assert tapegrad.autograd.gradcheck(f, (x,), fast_mode=True)
    with pytest.raises(TypeError):
        tapegrad.autograd.gradcheck(f, (x,), not_an_option=1)
    with pytest.raises(NotImplementedError, match="forward-mode"):
        tapegrad.autograd.gradcheck(f, (x,), check_forward_ad=True)

    class Wrong(tapegrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2.5

    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        tapegrad.autograd.gradcheck(Wrong.apply, (x,), fast_mode=True)

    class Noisy(tapegrad.autograd.Function):
        calls = 0

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            Noisy.calls += 1
            return g * 2 + (1e-9 if Noisy.calls % 2 else 0.0)

    with pytest.raises(RuntimeError, match="not reentrant"):
        tapegrad.autograd.gradcheck(Noisy.apply, (x,))
    assert tapegrad.autograd.gradcheck(
        Noisy.apply, (x,), nondet_tol=1e-6, check_undefined_grad=False
    )

    class NoUndefined(tapegrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2 + 1

    with pytest.raises(RuntimeError, match="undefined output grads"):
        tapegrad.autograd.gradcheck(NoUndefined.apply, (x,), atol=10, rtol=10)
    assert tapegrad.autograd.gradcheck(
        NoUndefined.apply, (x,), atol=10, rtol=10, check_undefined_grad=False
    )


# ---------------------------------------------------------------------------
# programs that use second derivatives


def test_wgan_gp_gradient_penalty_step():
    def fn(L):
        L.manual_seed(0)
        critic = L.nn.Sequential(
            L.nn.Conv2d(1, 4, 3, padding=1),
            L.nn.LeakyReLU(0.2),
            L.nn.Conv2d(4, 4, 3, stride=2),
            L.nn.Flatten(),
            L.nn.Linear(4 * 3 * 3, 1),
        ).double()
        opt = L.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
        rng = np.random.default_rng(0)
        real = L.tensor(rng.standard_normal((4, 1, 8, 8)))
        fake = L.tensor(rng.standard_normal((4, 1, 8, 8)))
        alpha = L.tensor(rng.random((4, 1, 1, 1)))
        losses = []
        for _ in range(3):
            inter = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            out = critic(inter)
            (grads,) = L.autograd.grad(
                out, inter, L.ones_like(out), create_graph=True, retain_graph=True
            )
            gp = ((grads.reshape(4, -1).norm(2, dim=1) - 1) ** 2).mean()
            loss = critic(fake).mean() - critic(real).mean() + 10 * gp
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        return losses, [p.detach() for p in critic.parameters()]

    both(fn, rtol=1e-7, atol=1e-9)


def test_maml_inner_outer_step():
    def fn(L):
        L.manual_seed(0)
        net = L.nn.Sequential(L.nn.Linear(2, 16), L.nn.Tanh(), L.nn.Linear(16, 1)).double()
        meta = L.optim.SGD(net.parameters(), lr=0.01)
        rng = np.random.default_rng(1)
        xs, ys = L.tensor(rng.standard_normal((8, 2))), L.tensor(rng.standard_normal((8, 1)))
        xq, yq = L.tensor(rng.standard_normal((8, 2))), L.tensor(rng.standard_normal((8, 1)))
        names = [n for n, _ in net.named_parameters()]
        for _ in range(2):
            params = dict(net.named_parameters())
            loss = ((L.func.functional_call(net, params, (xs,)) - ys) ** 2).mean()
            grads = L.autograd.grad(loss, list(params.values()), create_graph=True)
            fast = {n: p - 0.1 * g for (n, p), g in zip(params.items(), grads)}
            outer = ((L.func.functional_call(net, fast, (xq,)) - yq) ** 2).mean()
            meta.zero_grad()
            outer.backward()
            meta.step()
        return outer.detach(), [dict(net.named_parameters())[n].detach() for n in names]

    both(fn)


def _logistic_data():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((100, 3))
    # noisy labels: not separable, so the maximum-likelihood weights are finite
    y = (X @ np.array([1.0, -2.0, 0.5]) + 1.5 * rng.standard_normal(100) > 0).astype(float)
    return X, y


def test_logistic_regression_hessian_closed_form_and_newton():
    Xn, yn = _logistic_data()
    X, y = tapegrad.tensor(Xn), tapegrad.tensor(yn)

    def loss(w):
        z = X @ w
        return tapegrad.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="sum")

    w = tapegrad.zeros(3, dtype=tapegrad.float64)
    H = tapegrad.autograd.functional.hessian(loss, w)
    p = 1 / (1 + np.exp(-(Xn @ np.zeros(3))))
    np.testing.assert_allclose(H.numpy(), Xn.T @ np.diag(p * (1 - p)) @ Xn, rtol=1e-10)
    # Newton's method converges in a handful of steps to a zero gradient
    for _ in range(8):
        w = w.detach().requires_grad_(True)
        (g,) = tapegrad.autograd.grad(loss(w), w, create_graph=True)
        H = tapegrad.stack(
            [tapegrad.autograd.grad(g[i], w, retain_graph=True)[0] for i in range(3)]
        )
        w = w - tapegrad.linalg.solve(H, g)
    wd = w.detach().requires_grad_(True)
    (g,) = tapegrad.autograd.grad(loss(wd), wd)
    assert float(g.abs().max()) < 1e-8

    def newton(L):
        Xl, yl = L.tensor(Xn), L.tensor(yn)
        w = L.zeros(3, dtype=L.float64)
        for _ in range(6):
            w = w.detach().requires_grad_(True)
            loss = L.nn.functional.binary_cross_entropy_with_logits(Xl @ w, yl, reduction="sum")
            H = L.autograd.functional.hessian(
                lambda v: L.nn.functional.binary_cross_entropy_with_logits(
                    Xl @ v, yl, reduction="sum"
                ),
                w,
            )
            (g,) = L.autograd.grad(loss, w)
            w = w - L.linalg.solve(H, g)
        return w

    both(newton)


def test_seed_mlp_hvp_matches_pytorch():
    def fn(L):
        L.manual_seed(0)
        net = L.nn.Sequential(L.nn.Linear(6, 8), L.nn.ReLU(), L.nn.Linear(8, 3)).double()
        rng = np.random.default_rng(3)
        x, y = L.tensor(rng.standard_normal((5, 6))), L.tensor(rng.integers(0, 3, 5))
        params = list(net.parameters())
        loss = L.nn.functional.cross_entropy(net(x), y)
        grads = L.autograd.grad(loss, params, create_graph=True)
        vs = [L.tensor(rng.standard_normal(tuple(p.shape))) for p in params]
        hv = L.autograd.grad(sum((g * v).sum() for g, v in zip(grads, vs)), params)
        return hv

    both(fn)
