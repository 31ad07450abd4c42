"""torch.autocast and torch.amp.GradScaler against PyTorch (CPU).

Output dtypes of each op family PyTorch lists (lower precision, float32, promote) under
bfloat16 and float16 autocast; values within the low dtype's tolerance; gradients in
each parameter's dtype; the context manager's state, nesting, decorator use and
errors; GradScaler's skipping and scale updates on a run with an injected inf; and a
small training loop under autocast + GradScaler giving PyTorch's numbers.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import tapegrad

pytest.importorskip("ml_dtypes")

RNG = np.random.default_rng(0)
LOW = ["bfloat16", "float16"]


def arr(*shape, positive=False):
    a = RNG.standard_normal(shape).astype(np.float32)
    return np.abs(a) + 0.5 if positive else a


def f32(x) -> np.ndarray:
    return x.detach().float().numpy()


def tol(dt: str) -> float:
    return 2.0**-6 if dt == "bfloat16" else 2.0**-9


def run_both(fn, inputs, dt, requires_grad=False):
    """``fn(lib, *tensors)`` under ``autocast("cpu", dtype=dt)`` with torch and tapegrad."""
    out = {}
    for lib in (torch, tapegrad):
        ts = [
            lib.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f")
            if isinstance(a, np.ndarray)
            else a
            for a in inputs
        ]
        with lib.autocast("cpu", dtype=getattr(lib, dt)):
            res = fn(lib, *ts)
        out[lib] = (res, ts)
    return out


def check_same(t, g, dt, where):
    if isinstance(t, (tuple, list)):
        for i, (a, b) in enumerate(zip(t, g)):
            check_same(a, b, dt, f"{where}[{i}]")
        return
    assert str(g.dtype) == str(t.dtype), f"{where}: {g.dtype} vs torch {t.dtype}"
    a, b = f32(t), f32(g)
    scale = max(1.0, float(np.abs(a).max()))
    np.testing.assert_allclose(b, a, rtol=4 * tol(dt), atol=4 * tol(dt) * scale, err_msg=where)


X, W, B = arr(6, 5), arr(3, 5), arr(3)
IMG, KER = arr(2, 3, 7, 7), arr(4, 3, 3, 3)
VOL, KER3 = arr(1, 2, 5, 5, 5), arr(3, 2, 2, 2, 2)
SEQ, KER1 = arr(2, 3, 9), arr(4, 3, 3)
BA, BB = arr(2, 4, 5), arr(2, 5, 3)
TARGET = np.array([0, 2, 1, 1, 0, 2])

LOWER_CASES = {
    "linear": (lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), (X, W, B)),
    "matmul": (lambda lib, a, b: a @ b, (X, W.T.copy())),
    "torch.matmul": (lambda lib, a, b: lib.matmul(a, b), (BA, BB)),
    "mm": (lambda lib, a, b: lib.mm(a, b), (X, W.T.copy())),
    "Tensor.mm": (lambda lib, a, b: a.mm(b), (X, W.T.copy())),
    "bmm": (lambda lib, a, b: lib.bmm(a, b), (BA, BB)),
    "addmm": (lambda lib, c, a, b: lib.addmm(c, a, b), (arr(6, 3), X, W.T.copy())),
    "baddbmm": (lambda lib, c, a, b: lib.baddbmm(c, a, b), (arr(2, 4, 3), BA, BB)),
    "addbmm": (lambda lib, c, a, b: lib.addbmm(c, a, b), (arr(4, 3), BA, BB)),
    "conv1d": (lambda lib, x, w: lib.nn.functional.conv1d(x, w), (SEQ, KER1)),
    "conv2d": (lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1), (IMG, KER)),
    "conv3d": (lambda lib, x, w: lib.nn.functional.conv3d(x, w), (VOL, KER3)),
    "conv_transpose1d": (
        lambda lib, x, w: lib.nn.functional.conv_transpose1d(x, w),
        (SEQ, arr(3, 2, 3)),
    ),
    "conv_transpose2d": (
        lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, stride=2),
        (IMG, arr(3, 2, 3, 3)),
    ),
    "prelu": (lambda lib, x, w: lib.nn.functional.prelu(x, w), (X, np.array([0.25], np.float32))),
    "sdpa": (
        lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v),
        (arr(2, 4, 8), arr(2, 5, 8), arr(2, 5, 8)),
    ),
    "nn.Linear": (lambda lib, x: _seeded(lib, lambda: lib.nn.Linear(5, 3))(x), (X,)),
    "nn.Conv2d": (lambda lib, x: _seeded(lib, lambda: lib.nn.Conv2d(3, 2, 3))(x), (IMG,)),
}


def _seeded(lib, make):
    """A module with the same weights in both libraries."""
    lib.manual_seed(0)
    with lib.autocast("cpu", enabled=False):
        m = make()
    if lib is tapegrad:
        torch.manual_seed(0)
        ref = {k: v.detach().numpy() for k, v in make_torch(m).state_dict().items()}
        m.load_state_dict({k: tapegrad.tensor(v) for k, v in ref.items()})
    return m


def make_torch(tg_module):
    name = type(tg_module).__name__
    if name == "Linear":
        return torch.nn.Linear(tg_module.in_features, tg_module.out_features)
    return torch.nn.Conv2d(3, 2, 3)


FP32_CASES = {
    "mse_loss": (lambda lib, a, b: lib.nn.functional.mse_loss(a, b), (X, arr(6, 5))),
    "l1_loss": (lambda lib, a, b: lib.nn.functional.l1_loss(a, b), (X, arr(6, 5))),
    "smooth_l1_loss": (lambda lib, a, b: lib.nn.functional.smooth_l1_loss(a, b), (X, X * 0.5)),
    "huber_loss": (lambda lib, a, b: lib.nn.functional.huber_loss(a, b), (X, X * 0.5)),
    "cross_entropy": (
        lambda lib, x, w, t: lib.nn.functional.cross_entropy(x @ w.T, t),
        (X, W, TARGET),
    ),
    "nll_loss": (
        lambda lib, x, w, t: lib.nn.functional.nll_loss((x @ w.T).log_softmax(1), t),
        (X, W, TARGET),
    ),
    "binary_cross_entropy": (
        lambda lib, x, y: lib.nn.functional.binary_cross_entropy(x.sigmoid(), y),
        (X, (X > 0).astype(np.float32)),
    ),
    "bce_with_logits": (
        lambda lib, x, w, y: lib.nn.functional.binary_cross_entropy_with_logits(x @ w.T, y),
        (X, W, (arr(6, 3) > 0).astype(np.float32)),
    ),
    "kl_div": (
        lambda lib, a, b: lib.nn.functional.kl_div(
            a.log_softmax(1), b.softmax(1), reduction="batchmean"
        ),
        (X, arr(6, 5)),
    ),
    "margin_ranking_loss": (
        lambda lib, a, b, y: lib.nn.functional.margin_ranking_loss(a, b, y),
        (arr(6), arr(6), np.sign(arr(6))),
    ),
    "hinge_embedding_loss": (
        lambda lib, a, y: lib.nn.functional.hinge_embedding_loss(a, y),
        (X, np.sign(arr(6, 5))),
    ),
    "soft_margin_loss": (
        lambda lib, a, y: lib.nn.functional.soft_margin_loss(a, y),
        (X, np.sign(arr(6, 5))),
    ),
    "multi_margin_loss": (
        lambda lib, x, t: lib.nn.functional.multi_margin_loss(x, t),
        (arr(6, 3), TARGET),
    ),
    "triplet_margin_loss": (
        lambda lib, a, p, n: lib.nn.functional.triplet_margin_loss(a, p, n),
        (X, arr(6, 5), arr(6, 5)),
    ),
    "cosine_embedding_loss": (
        lambda lib, a, b, y: lib.nn.functional.cosine_embedding_loss(a, b, y),
        (X, arr(6, 5), np.sign(arr(6))),
    ),
    "poisson_nll_loss": (
        lambda lib, a, b: lib.nn.functional.poisson_nll_loss(a, b),
        (X, arr(6, 5, positive=True)),
    ),
    "prod": (lambda lib, x: (x @ x.T).prod(1), (arr(3, 2) * 0.5,)),
    "cdist": (lambda lib, a, b: lib.cdist(a, b), (X, arr(4, 5))),
    "trace": (lambda lib, a: lib.trace(a), (arr(4, 4),)),
    "inverse": (lambda lib, a: lib.inverse(a), (arr(4, 4) + 4 * np.eye(4, dtype=np.float32),)),
    "linalg.cholesky": (
        lambda lib, a: lib.linalg.cholesky(a @ a.T + lib.eye(4)),
        (arr(4, 4),),
    ),
    "geqrf": (lambda lib, a: lib.geqrf(a @ a.T + 4 * lib.eye(4))[1], (arr(4, 4),)),
    "householder_product": (
        lambda lib, a, t: lib.linalg.householder_product(a @ a.T, t),
        (arr(4, 4), arr(2) * 0.1),
    ),
    "cholesky_inverse": (
        lambda lib, a: lib.cholesky_inverse(lib.linalg.cholesky(a @ a.T + 4 * lib.eye(4))),
        (arr(4, 4),),
    ),
    "fft.rfft": (lambda lib, a: lib.fft.rfft(a @ a.T).abs(), (X,)),
    "fft.fft2": (lambda lib, a: lib.fft.fft2(a @ a.T).abs(), (X,)),
    "fft.irfft": (lambda lib, a: lib.fft.irfft(a @ a.T), (X,)),
    "avg_pool3d": (lambda lib, v: lib.nn.functional.avg_pool3d(v, 2), (VOL,)),
    "max_pool3d": (lambda lib, v: lib.nn.functional.max_pool3d(v, 2), (VOL,)),
    "adaptive_avg_pool3d": (lambda lib, v: lib.nn.functional.adaptive_avg_pool3d(v, 2), (VOL,)),
}

PROMOTE_CASES = {
    "cat_f32_low": (lambda lib, a, b: lib.cat([a, b @ b.T]), (arr(5, 6), X)),
    "cat_low_low": (lambda lib, a, b: lib.cat([a @ a.T, b @ b.T]), (X, X)),
    "stack_f32_low": (lambda lib, a, b: lib.stack([a, b @ b.T]), (arr(6, 6), X)),
    "cat_f64": (lambda lib, a, b: lib.cat([a.double(), b @ b.T], 0), (arr(5, 6), X)),
    "index_copy": (
        lambda lib, a, i, s: a.index_copy(0, i, s @ s.T),
        (arr(6, 6), np.array([0, 2, 1, 5, 4, 3]), X),
    ),
}

UNLISTED_CASES = {
    "relu": (lambda lib, x: (x @ x.T).relu(), (X,)),
    "softmax": (lambda lib, x: (x @ x.T).softmax(1), (X,)),
    "sum": (lambda lib, x: (x @ x.T).sum(), (X,)),
    "add_f32_bias": (lambda lib, x, b: x @ x.T + b, (X, arr(6))),
    "float64_matmul": (lambda lib, x: x.double() @ x.double().T, (X,)),
    "mv": (lambda lib, a, v: lib.mv(a, v), (X, arr(5))),
    "bilinear": (
        lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w),
        (X, arr(6, 4), arr(3, 5, 4)),
    ),
    "einsum_trace": (lambda lib, a: lib.einsum("ii->", a), (arr(4, 4),)),
}
LOWER_CASES["einsum"] = (lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), (X, W.T.copy()))
LOWER_CASES["einsum_list"] = (lambda lib, a, b: lib.einsum("ij,kj", [a, b]), (X, W))


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize(
    "name",
    list(LOWER_CASES) + list(FP32_CASES) + list(PROMOTE_CASES) + list(UNLISTED_CASES),
)
def test_output_dtype_and_values_match_torch(dt, name):
    fn, inputs = {**LOWER_CASES, **FP32_CASES, **PROMOTE_CASES, **UNLISTED_CASES}[name]
    out = run_both(fn, inputs, dt)
    check_same(out[torch][0], out[tapegrad][0], dt, name)


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize("name", ["linear", "conv2d", "bmm", "cross_entropy", "mse_loss"])
def test_gradients_arrive_in_each_inputs_dtype(dt, name):
    fn, inputs = {**LOWER_CASES, **FP32_CASES}[name]
    out = run_both(fn, inputs, dt, requires_grad=True)
    grads = {}
    for lib, (res, ts) in out.items():
        res.float().sum().backward()
        grads[lib] = [t.grad for t in ts if isinstance(t, lib.Tensor) and t.requires_grad]
    for gt, gg in zip(grads[torch], grads[tapegrad]):
        assert str(gg.dtype) == str(gt.dtype) == "torch.float32"
        scale = max(1.0, float(np.abs(f32(gt)).max()))
        np.testing.assert_allclose(f32(gg), f32(gt), rtol=0.05, atol=4 * tol(dt) * scale)


def test_float64_and_integer_inputs_are_not_cast():
    x = tapegrad.ones(2, 2, dtype=tapegrad.float64)
    with tapegrad.autocast("cpu"):
        assert (x @ x).dtype is tapegrad.float64
        assert tapegrad.cat([tapegrad.ones(2), tapegrad.tensor([1, 2])]).dtype is tapegrad.float32


def test_promote_rejects_float16_with_bfloat16_like_torch():
    for lib in (torch, tapegrad):
        a = lib.ones(2)
        with lib.autocast("cpu"), pytest.raises(RuntimeError, match="prioritize"):
            lib.cat([a.half(), a.bfloat16()])


def test_out_argument_is_not_cast():
    out = tapegrad.empty(4)
    with tapegrad.autocast("cpu"):
        tapegrad.cat([tapegrad.ones(2), tapegrad.ones(2)], out=out)
    assert out.dtype is tapegrad.float32


# ----------------------------------------------------------------------------------------
# the context manager


def test_state_functions_nesting_and_disabled_regions():
    for lib in (torch, tapegrad):
        assert not lib.is_autocast_enabled("cpu")
        assert lib.get_autocast_dtype("cpu") is lib.bfloat16
        assert lib.get_autocast_dtype("cuda") is lib.float16
        a = lib.ones(3, 3)
        with lib.autocast("cpu"):
            assert lib.is_autocast_enabled("cpu") and not lib.is_autocast_enabled()
            assert (a @ a).dtype is lib.bfloat16
            with lib.autocast("cpu", dtype=lib.float16):
                assert lib.get_autocast_dtype("cpu") is lib.float16
                assert (a @ a).dtype is lib.float16
                with lib.autocast("cpu", enabled=False):
                    assert not lib.is_autocast_enabled("cpu")
                    assert (a @ a).dtype is lib.float32
                assert (a @ a).dtype is lib.float16
            assert lib.get_autocast_dtype("cpu") is lib.bfloat16
        assert not lib.is_autocast_enabled("cpu")
        assert (a @ a).dtype is lib.float32
        lib.set_autocast_enabled("cpu", True)
        try:
            assert (a @ a).dtype is lib.bfloat16
        finally:
            lib.set_autocast_enabled("cpu", False)
        assert lib.autocast_increment_nesting() == 1
        assert lib.autocast_decrement_nesting() == 0
        assert lib.is_autocast_cache_enabled()


def test_decorator_and_amp_spellings():
    for lib in (torch, tapegrad):

        @lib.autocast("cpu")
        def f(a):
            return a @ a

        assert f(lib.ones(2, 2)).dtype is lib.bfloat16
        assert lib.amp.autocast is lib.autocast

        @lib.amp.autocast(device_type="cpu", dtype=lib.float16)
        def g(a):
            return a @ a

        assert g(lib.ones(2, 2)).dtype is lib.float16


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        result = fn()
    return result, [(x.category, str(x.message)) for x in w]


def test_deprecated_cpu_amp_autocast_warns_like_torch():
    for lib in (torch, tapegrad):
        ctx, w = _warnings_of(lambda lib=lib: lib.cpu.amp.autocast())
        assert w == [
            (
                FutureWarning,
                "`torch.cpu.amp.autocast(args...)` is deprecated. Please use "
                "`torch.amp.autocast('cpu', args...)` instead.",
            )
        ]
        with ctx:
            assert (lib.ones(2, 2) @ lib.ones(2, 2)).dtype is lib.bfloat16


def test_cuda_autocast_without_a_gpu_warns_and_disables():
    if torch.cuda.is_available() or tapegrad.cuda.is_available():
        pytest.skip("a GPU is present")
    for lib in (torch, tapegrad):
        ctx, w = _warnings_of(lambda lib=lib: lib.autocast("cuda"))
        assert [m for _, m in w] == [
            "CUDA is not available or torch_xla is imported. Disabling autocast."
        ]
        with ctx:
            assert not lib.is_autocast_enabled("cuda")


def test_unsupported_cpu_dtype_warns_and_disables():
    for lib in (torch, tapegrad):
        ctx, w = _warnings_of(lambda lib=lib: lib.autocast("cpu", dtype=lib.float64))
        assert [m for _, m in w] == [
            "In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
            "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently."
        ]
        with ctx:
            assert not lib.is_autocast_enabled("cpu")


def test_errors_match_torch():
    for lib in (torch, tapegrad):
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.autocast(1)
        with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
            lib.autocast("foo")
        with pytest.raises(TypeError, match="requires a callable, but got int"):
            lib.autocast("cpu")(3)
        with pytest.raises(TypeError):
            lib.autocast()


def test_parameter_casts_are_cached_within_a_region():
    lin = tapegrad.nn.Linear(3, 3)
    x = tapegrad.ones(2, 3)
    with tapegrad.autocast("cpu"):
        y1, y2 = lin(x), lin(x)
        assert len(tapegrad.amp.autocast_mode.state.cache) == 2  # weight and bias
    assert len(tapegrad.amp.autocast_mode.state.cache) == 0  # dropped at the outermost exit
    (y1.float().sum() + y2.float().sum()).backward()
    assert lin.weight.grad.dtype is tapegrad.float32
    with tapegrad.autocast("cpu", cache_enabled=False):
        lin(x)
        assert len(tapegrad.amp.autocast_mode.state.cache) == 0


def test_autocast_state_is_thread_local():
    import threading

    seen = []
    with tapegrad.autocast("cpu"):
        t = threading.Thread(target=lambda: seen.append(tapegrad.is_autocast_enabled("cpu")))
        t.start()
        t.join()
    assert seen == [False]


# ----------------------------------------------------------------------------------------
# GradScaler


def _models():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    gm = tapegrad.nn.Sequential(
        tapegrad.nn.Linear(8, 16), tapegrad.nn.ReLU(), tapegrad.nn.Linear(16, 4)
    )
    gm.load_state_dict({k: tapegrad.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, gm


def _train(lib, model, steps, dt, inject_inf_at=(), growth_interval=3, init_scale=2.0**8):
    data = np.random.default_rng(1)
    xs = data.standard_normal((steps, 16, 8)).astype(np.float32)
    ys = data.integers(0, 4, (steps, 16))
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler(
        "cpu", init_scale=init_scale, growth_interval=growth_interval, growth_factor=2.0
    )
    record = []
    for i in range(steps):
        opt.zero_grad()
        with lib.autocast("cpu", dtype=getattr(lib, dt)):
            out = model(lib.tensor(xs[i]))
            loss = lib.nn.functional.cross_entropy(out, lib.tensor(ys[i]))
        scaler.scale(loss).backward()
        if i in inject_inf_at:
            model[0].weight.grad[0, 0] = float("inf")
        ret = scaler.step(opt)
        found = sum(v.item() for v in scaler._found_inf_per_device(opt).values())
        scaler.update()
        record.append((loss.item(), scaler.get_scale(), found, ret, scaler._get_growth_tracker()))
    return record


@pytest.mark.parametrize("dt", LOW)
def test_training_loop_matches_torch(dt):
    tm, gm = _models()
    rt = _train(torch, tm, 12, dt)
    rg = _train(tapegrad, gm, 12, dt)
    for i, (a, b) in enumerate(zip(rt, rg)):
        assert b[1:] == a[1:], f"step {i}: scaler state {b[1:]} vs torch {a[1:]}"
        assert a[0] == pytest.approx(b[0], rel=0.02), f"step {i}: loss {b[0]} vs {a[0]}"
    for (k, tp), gp in zip(tm.named_parameters(), gm.parameters()):
        assert gp.dtype is tapegrad.float32
        np.testing.assert_allclose(f32(gp), f32(tp), rtol=0.05, atol=0.02, err_msg=k)


def test_step_skipping_and_scale_updates_match_torch_with_injected_inf():
    tm, gm = _models()
    rt = _train(torch, tm, 10, "bfloat16", inject_inf_at=(2, 3, 7), growth_interval=2)
    rg = _train(tapegrad, gm, 10, "bfloat16", inject_inf_at=(2, 3, 7), growth_interval=2)
    assert [r[1:] for r in rg] == [r[1:] for r in rt]
    assert [r[2] for r in rg] == [0, 0, 1, 1, 0, 0, 0, 1, 0, 0]
    for (k, tp), gp in zip(tm.named_parameters(), gm.parameters()):
        np.testing.assert_allclose(f32(gp), f32(tp), rtol=0.05, atol=0.02, err_msg=k)


def test_scaler_api_and_errors_match_torch():
    for lib in (torch, tapegrad):
        p = lib.nn.Parameter(lib.ones(3))
        opt = lib.optim.SGD([p], lr=1.0)
        s = lib.amp.GradScaler("cpu", init_scale=4.0, growth_interval=1)
        assert s.is_enabled() and s.get_scale() == 4.0
        assert s.get_growth_factor() == 2.0 and s.get_backoff_factor() == 0.5
        assert s.get_growth_interval() == 1
        with pytest.raises(AssertionError, match="Attempted unscale_ but _scale is None"):
            s.unscale_(opt)
        a, (b, c) = s.scale([p * 1, (p * 2, p * 3)])
        assert isinstance(a, lib.Tensor) and c.detach().tolist() == [12.0] * 3
        assert isinstance(s.scale((p,)), tuple)
        with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable"):
            s.scale([1.0])
        (p * 4.0).sum().backward()
        s.unscale_(opt)
        assert p.grad.tolist() == [1.0, 1.0, 1.0]
        with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
            s.unscale_(opt)
        assert s.step(opt) is None
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            s.step(opt)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
            s.unscale_(opt)
        s.update()
        assert s.get_scale() == 8.0
        assert s.state_dict() == {
            "scale": 8.0,
            "growth_factor": 2.0,
            "backoff_factor": 0.5,
            "growth_interval": 1,
            "_growth_tracker": 0,
        }
        s.update(2.0)
        assert s.get_scale() == 2.0
        s.update(lib.tensor(16.0))
        assert s.get_scale() == 16.0
        with pytest.raises(AssertionError, match="new_scale should be a float"):
            s.update(lib.ones(2))
        with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
            s.step(opt, closure=lambda: 0)
        with pytest.raises(AssertionError, match="growth factor must be > 1.0"):
            lib.amp.GradScaler("cpu", growth_factor=1.0)
        with pytest.raises(AssertionError, match="backoff factor must be < 1.0"):
            lib.amp.GradScaler("cpu", backoff_factor=1.0)
        s2 = lib.amp.GradScaler("cpu")
        s2.load_state_dict(s.state_dict())
        assert s2.get_scale() == 16.0 and s2.get_growth_interval() == 1
        with pytest.raises(RuntimeError, match="source state dict is empty"):
            s2.load_state_dict({})
        s3 = pickle.loads(pickle.dumps(s))
        assert s3.get_scale() == 16.0
        q = lib.nn.Parameter(lib.ones(2, dtype=lib.float16))
        q.grad = lib.ones(2, dtype=lib.float16)
        s4 = lib.amp.GradScaler("cpu")
        s4.scale(lib.ones(1))
        with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
            s4.unscale_(lib.optim.SGD([q], lr=1.0))


def test_disabled_scaler_is_a_pass_through():
    for lib in (torch, tapegrad):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=1.0)
        s = lib.amp.GradScaler("cpu", enabled=False)
        loss = (p * 3).sum()
        assert s.scale(loss) is loss
        loss.backward()
        s.step(opt)
        s.update()
        assert p.tolist() == [-2.0, -2.0]
        assert s.get_scale() == 1.0 and s.state_dict() == {} and not s.is_enabled()


def test_default_cuda_scaler_and_deprecated_aliases_warn_like_torch():
    if torch.cuda.is_available() or tapegrad.cuda.is_available():
        pytest.skip("a GPU is present")
    for lib in (torch, tapegrad):
        s, w = _warnings_of(lambda lib=lib: lib.amp.GradScaler())
        assert [m for _, m in w] == [
            "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling."
        ]
        assert not s.is_enabled()
        s, w = _warnings_of(lambda lib=lib: lib.cuda.amp.GradScaler())
        assert w[0] == (
            FutureWarning,
            "`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
            "`torch.amp.GradScaler('cuda', args...)` instead.",
        )


def test_state_survives_deepcopy_at_iteration_boundaries():
    s = tapegrad.amp.GradScaler("cpu", init_scale=32.0)
    s.scale(tapegrad.ones(1))
    assert copy.deepcopy(s).get_scale() == 32.0
