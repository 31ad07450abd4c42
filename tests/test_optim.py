"""Optimizer parity with PyTorch: the same small network, initial weights and batches in both
libraries, 50 steps of each optimizer and configuration; plus the Optimizer base semantics."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import tapegrad as tg

STEPS = 50
SHAPES = [(8, 5), (8,), (3, 8), (3,)]  # Linear(5, 8) -> tanh -> Linear(8, 3)


def _init_arrays(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.5, 0.5, size=s).astype(np.float32) for s in SHAPES]


def _batches(n: int = STEPS, seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (
            rng.standard_normal((16, 5)).astype(np.float32),
            rng.standard_normal((16, 3)).astype(np.float32),
        )
        for _ in range(n)
    ]


def _params(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def _loss(lib, params, x, y):
    w1, b1, w2, b2 = params
    h = lib.tanh(lib.tensor(x) @ w1.T + b1)
    out = h @ w2.T + b2
    return ((out - lib.tensor(y)) ** 2).mean()


def _groups(params, group_opts):
    """Two parameter groups (layer 1, layer 2) when options per group are given."""
    if group_opts is None:
        return params
    return [dict(params=params[:2], **group_opts[0]), dict(params=params[2:], **group_opts[1])]


def _train(lib, opt, params, batches, closure=False):
    for x, y in batches:
        if closure:

            def closure_fn(x=x, y=y):
                opt.zero_grad()
                loss = _loss(lib, params, x, y)
                loss.backward()
                return loss

            opt.step(closure_fn)
        else:
            opt.zero_grad()
            _loss(lib, params, x, y).backward()
            opt.step()


def _assert_params_close(tg_params, torch_params, rtol=2e-5, atol=2e-6):
    for a, b in zip(tg_params, torch_params):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)


CONFIGS = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.05, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2), None),
    ("SGD", dict(lr=0.005, momentum=0.8, dampening=0.3, maximize=True), None),
    ("SGD", dict(lr=0.005, weight_decay=0.1, maximize=True), None),
    ("SGD", dict(lr=0.1, momentum=0.9), [dict(lr=0.01), dict(momentum=0.5)]),
    ("Adagrad", dict(lr=0.1), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5), None),
    ("Adagrad", dict(lr=0.05, eps=1e-6, maximize=True), None),
    ("Adadelta", dict(), None),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.05), None),
    ("Adadelta", dict(lr=0.5, maximize=True), None),
    ("RMSprop", dict(lr=0.01), None),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True), None),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01), None),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, eps=1e-6, maximize=True), None),
    ("Adam", dict(lr=0.01), None),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), None),
    ("Adam", dict(lr=0.01, amsgrad=True), None),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.01), None),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9)), [dict(lr=0.05), dict(betas=(0.9, 0.5))]),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True), None),
    ("Adamax", dict(lr=0.01), None),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, maximize=True), None),
    ("NAdam", dict(lr=0.01), None),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01), None),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), None),
    ("RAdam", dict(lr=0.01), None),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1), None),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True), None),
    ("Rprop", dict(lr=0.01), None),
    ("Rprop", dict(lr=0.001, etas=(0.3, 1.5), step_sizes=(1e-4, 0.05)), None),
    ("Rprop", dict(lr=0.001, step_sizes=(1e-6, 0.01), maximize=True), None),
    ("ASGD", dict(lr=0.05), None),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=10, weight_decay=0.1), None),
    ("ASGD", dict(lr=0.01, t0=5, maximize=True), None),
]


def _run(lib, name, opts, group_opts, dtype):
    """Parameters and optimizer after STEPS steps of one configuration, in ``dtype``."""
    params = _params(lib, [a.astype(dtype) for a in _init_arrays()])
    batches = [(x.astype(dtype), y.astype(dtype)) for x, y in _batches()]
    opt = getattr(lib.optim, name)(_groups(params, group_opts), **opts)
    _train(lib, opt, params, batches)
    return params, opt


@pytest.mark.parametrize(
    "name,opts,group_opts", CONFIGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)]
)
def test_optimizer_parity(name, opts, group_opts):
    # The exact comparison is made in float64, where PyTorch's result does not depend on
    # the CPU code path it picks (AVX2 or AVX-512 kernels round float32 differently).
    pt, opt_t = _run(torch, name, opts, group_opts, np.float64)
    pg, opt_g = _run(tg, name, opts, group_opts, np.float64)
    _assert_params_close(pg, pt, rtol=1e-9, atol=1e-12)
    # float32 is tapegrad's default: its 50 steps stay within float32 rounding of the
    # float64 trajectory. Rounding (6e-8 per operation) is amplified by the steps that
    # divide by a running root mean square (RMSprop with momentum and a small eps reaches
    # 7e-5), so 5e-4 relative: a wrong formula is caught above, at 1e-9.
    p32, _ = _run(tg, name, opts, group_opts, np.float32)
    assert all(p.dtype == tg.float32 for p in p32)
    _assert_params_close(p32, pt, rtol=5e-4, atol=5e-5)
    # The state has PyTorch's keys and values.
    sd_t, sd_g = opt_t.state_dict(), opt_g.state_dict()
    assert sd_g["param_groups"] == [{k: v for k, v in g.items()} for g in sd_t["param_groups"]]
    assert sd_g["state"].keys() == sd_t["state"].keys()
    for idx, st in sd_t["state"].items():
        assert st.keys() == sd_g["state"][idx].keys()
        for key, value in st.items():
            got = sd_g["state"][idx][key]
            assert isinstance(got, tg.Tensor)
            assert str(got.dtype) == str(value.dtype)
            np.testing.assert_allclose(got.numpy(), value.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "name,opts,group_opts", CONFIGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)]
)
def test_update_rules_in_float64(name, opts, group_opts):
    """In float64 the rounding differences vanish: the update rules agree to 1e-10."""
    arrays = [a.astype(np.float64) for a in _init_arrays(7)]
    batches = [(x.astype(np.float64), y.astype(np.float64)) for x, y in _batches(15, seed=8)]
    pt, pg = _params(torch, arrays), _params(tg, arrays)
    opt_t = getattr(torch.optim, name)(_groups(pt, group_opts), **opts)
    opt_g = getattr(tg.optim, name)(_groups(pg, group_opts), **opts)
    _train(torch, opt_t, pt, batches)
    _train(tg, opt_g, pg, batches)
    assert pg[0].dtype == tg.float64
    _assert_params_close(pg, pt, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,opts", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", {})])
def test_closure_parity(name, opts):
    arrays, batches = _init_arrays(2), _batches(10)
    pt, pg = _params(torch, arrays), _params(tg, arrays)
    opt_t = getattr(torch.optim, name)(pt, **opts)
    opt_g = getattr(tg.optim, name)(pg, **opts)
    _train(torch, opt_t, pt, batches, closure=True)
    _train(tg, opt_g, pg, batches, closure=True)
    _assert_params_close(pg, pt)
    x, y = batches[0]

    def closure():
        opt_g.zero_grad()
        loss = _loss(tg, pg, x, y)
        loss.backward()
        return loss

    loss = opt_g.step(closure)
    assert isinstance(loss, tg.Tensor) and loss.requires_grad


@pytest.mark.parametrize(
    "name,opts",
    [
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
        ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
        ("Adadelta", dict(lr=0.5)),
        ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
        ("Adam", dict(lr=0.01, amsgrad=True)),
        ("AdamW", dict(lr=0.01)),
        ("NAdam", dict(lr=0.01)),
        ("Rprop", dict(lr=0.01)),
    ],
)
def test_state_dict_round_trip(name, opts):
    arrays, batches = _init_arrays(3), _batches()
    half = STEPS // 2
    pg = _params(tg, arrays)
    opt = getattr(tg.optim, name)(pg, **opts)
    _train(tg, opt, pg, batches[:half])
    # A second optimizer over copies of the parameters resumes from the saved state ...
    sd = copy.deepcopy(opt.state_dict())
    pg2 = [tg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in pg]
    opt2 = getattr(tg.optim, name)(pg2, **{k: v for k, v in opts.items() if k != "lr"})
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    _train(tg, opt, pg, batches[half:])
    _train(tg, opt2, pg2, batches[half:])
    # ... and continues identically.
    for a, b in zip(pg, pg2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())

    # PyTorch's state dict, converted, resumes in tapegrad as it does in PyTorch.
    pt = _params(torch, arrays)
    opt_t = getattr(torch.optim, name)(pt, **opts)
    _train(torch, opt_t, pt, batches[:half])
    sd_t = opt_t.state_dict()
    converted = {
        "state": {
            i: {k: tg.tensor(v.numpy().copy()) for k, v in st.items()}
            for i, st in sd_t["state"].items()
        },
        "param_groups": copy.deepcopy(sd_t["param_groups"]),
    }
    pg3 = [tg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in pt]
    opt3 = getattr(tg.optim, name)(pg3, **opts)
    opt3.load_state_dict(converted)
    _train(torch, opt_t, pt, batches[half:])
    _train(tg, opt3, pg3, batches[half:])
    _assert_params_close(pg3, pt)


def test_state_dict_layout_and_save(tmp_path):
    pg = _params(tg, _init_arrays())
    opt = tg.optim.SGD([{"params": pg[:2]}, {"params": pg[2:], "lr": 0.5}], lr=0.1, momentum=0.9)
    _train(tg, opt, pg, _batches(2))
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert sd["state"][2]["momentum_buffer"].shape == tg.Size([3, 8])
    path = tmp_path / "opt.pt"
    tg.save(sd, path)
    loaded = tg.load(path)
    opt.load_state_dict(loaded)
    assert opt.state[pg[2]]["momentum_buffer"].shape == tg.Size([3, 8])


def test_load_state_dict_casts_to_param_dtype():
    p = tg.zeros(3, dtype=tg.float64, requires_grad=True)
    opt = tg.optim.Adam([p])
    opt.load_state_dict(
        {
            "state": {0: {"step": tg.tensor(2.0), "exp_avg": tg.ones(3), "exp_avg_sq": tg.ones(3)}},
            "param_groups": [dict(opt.state_dict()["param_groups"][0])],
        }
    )
    assert opt.state[p]["exp_avg"].dtype == tg.float64
    assert opt.state[p]["step"].dtype == tg.float32


def test_load_state_dict_mismatch_errors():
    pg = _params(tg, _init_arrays())
    opt = tg.optim.SGD(pg, lr=0.1)
    other = tg.optim.SGD([{"params": pg[:2]}, {"params": pg[2:]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(other.state_dict())
    small = tg.optim.SGD(pg[:3], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(small.state_dict())


def test_zero_grad():
    p = tg.ones(3, requires_grad=True)
    opt = tg.optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_params_without_grad_are_skipped():
    a, b = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    opt = tg.optim.Adam([a, b], lr=0.1)
    (a * 3).sum().backward()
    opt.step()
    assert b.tolist() == [1.0, 1.0] and len(opt.state[b]) == 0
    assert a.tolist() != [1.0, 1.0] and float(opt.state[a]["step"]) == 1.0


def test_sgd_without_momentum_keeps_no_state():
    p = tg.ones(2, requires_grad=True)
    opt = tg.optim.SGD([p], lr=0.1)
    p.sum().backward()
    opt.step()
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}


def test_add_param_group_and_defaults():
    pg = _params(tg, _init_arrays())
    opt = tg.optim.SGD(pg[:2], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": pg[2:], "lr": 0.01})
    assert len(opt.param_groups) == 2
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [pg[0]]})
    with pytest.raises(TypeError, match="must be a dict"):
        opt.add_param_group([pg[0]])
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {tg.ones(1, requires_grad=True)}})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        tg.optim.SGD([pg[0], pg[0]], lr=0.1)


def test_named_parameters():
    pg = _params(tg, _init_arrays())
    opt = tg.optim.SGD([("w", pg[0]), ("b", pg[1])], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


@pytest.mark.parametrize(
    "name,opts",
    [
        ("SGD", dict(lr=-0.1)),
        ("SGD", dict(lr=0.1, momentum=-1)),
        ("SGD", dict(lr=0.1, weight_decay=-1)),
        ("SGD", dict(lr=0.1, nesterov=True)),
        ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
        ("Adam", dict(lr=-1.0)),
        ("Adam", dict(betas=(1.0, 0.999))),
        ("Adam", dict(betas=(0.9, -0.1))),
        ("Adam", dict(eps=-1.0)),
        ("AdamW", dict(weight_decay=-1.0)),
        ("Adagrad", dict(lr_decay=-1.0)),
        ("Adagrad", dict(initial_accumulator_value=-1.0)),
        ("Adadelta", dict(rho=1.5)),
        ("RMSprop", dict(alpha=-0.5)),
        ("RMSprop", dict(momentum=-0.5)),
        ("Adamax", dict(betas=(0.9, 1.0))),
        ("NAdam", dict(momentum_decay=-1.0)),
        ("RAdam", dict(eps=-1.0)),
        ("Rprop", dict(etas=(1.5, 2.0))),
    ],
)
def test_bad_arguments_raise_like_torch(name, opts):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **opts)
    with pytest.raises(ValueError) as ours:
        getattr(tg.optim, name)([tg.ones(2, requires_grad=True)], **opts)
    assert str(ours.value) == str(theirs.value)


def test_empty_and_bad_params():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        tg.optim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        tg.optim.SGD(tg.ones(2, requires_grad=True), lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        tg.optim.SGD([1.0], lr=0.1)
    x = tg.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        tg.optim.SGD([x * 2], lr=0.1)


def test_step_hooks_and_repr():
    p = tg.ones(2, requires_grad=True)
    opt = tg.optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    p.sum().backward()
    opt.step()
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]
    assert repr(opt) == repr(torch.optim.SGD([torch.ones(2, requires_grad=True)], lr=0.1))


def test_lr_change_between_steps_is_used():
    arrays, batches = _init_arrays(4), _batches(6)
    pt, pg = _params(torch, arrays), _params(tg, arrays)
    opt_t, opt_g = torch.optim.Adam(pt, lr=0.01), tg.optim.Adam(pg, lr=0.01)
    for i, (x, y) in enumerate(batches):
        for lib, opt, params in ((torch, opt_t, pt), (tg, opt_g, pg)):
            opt.param_groups[0]["lr"] = 0.01 / (i + 1)
            opt.zero_grad()
            _loss(lib, params, x, y).backward()
            opt.step()
    _assert_params_close(pg, pt)


def test_step_updates_in_place_and_bumps_version():
    p = tg.ones(4, requires_grad=True)
    data_before = p.detach().numpy()
    opt = tg.optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    v = p._version
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
    assert p._version > v
    assert np.shares_memory(p.detach().numpy(), data_before)
    assert p.detach().numpy()[0] < 1.0


@pytest.mark.parametrize(
    "name,opts",
    [
        ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
        ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
        ("AdamW", dict(lr=0.05)),
        ("Adagrad", dict(lr=0.1)),
        ("Adadelta", dict(lr=0.5)),
        ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
        ("Adamax", dict(lr=0.05)),
        ("NAdam", dict(lr=0.05)),
        ("RAdam", dict(lr=0.05)),
        ("Rprop", dict(lr=0.05)),
        ("ASGD", dict(lr=0.05, t0=5)),
    ],
)
def test_complex_parameters_like_torch(name, opts):
    # PyTorch updates complex parameters as pairs of reals (view_as_real).
    rng = np.random.default_rng(5)
    init = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex64)
    grads = [
        (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex64)
        for _ in range(20)
    ]
    pt = torch.tensor(init.copy(), requires_grad=True)
    pg = tg.tensor(init.copy(), requires_grad=True)
    opt_t = getattr(torch.optim, name)([pt], **opts)
    opt_g = getattr(tg.optim, name)([pg], **opts)
    for g in grads:
        pt.grad, pg.grad = torch.tensor(g.copy()), tg.tensor(g.copy())
        opt_t.step()
        opt_g.step()
    np.testing.assert_allclose(pg.detach().numpy(), pt.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_resume_from_a_pytorch_checkpoint_file(tmp_path):
    """An optimizer state saved by torch.save loads with tapegrad.load and resumes alike."""
    arrays, batches = _init_arrays(6), _batches(20)
    pt = _params(torch, arrays)
    opt_t = torch.optim.Adam(pt, lr=0.01, amsgrad=True)
    _train(torch, opt_t, pt, batches[:10])
    torch.save(opt_t.state_dict(), tmp_path / "adam.pt")
    pg = [tg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in pt]
    opt_g = tg.optim.Adam(pg, lr=0.5)
    opt_g.load_state_dict(tg.load(tmp_path / "adam.pt"))
    assert opt_g.param_groups[0]["lr"] == 0.01 and opt_g.param_groups[0]["amsgrad"]
    _train(torch, opt_t, pt, batches[10:])
    _train(tg, opt_g, pg, batches[10:])
    _assert_params_close(pg, pt)


@pytest.mark.parametrize(
    "opts",
    [
        dict(lr=1, max_iter=5),
        dict(lr=0.5, max_iter=4, history_size=3),
        dict(lr=1, max_iter=6, line_search_fn="strong_wolfe"),
        dict(lr=1, max_iter=10, history_size=4, line_search_fn="strong_wolfe"),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lbfgs_parity(opts, dtype):
    # L-BFGS amplifies float32 rounding (40 iterations, curvature pairs from differences of
    # nearly equal gradients), and PyTorch's float32 result depends on its CPU code path,
    # so both libraries are compared in float64; tapegrad's float32 run is compared with
    # that float64 reference where float32 allows it (see below).
    def run(lib, dt):
        params = _params(lib, [a.astype(dt) for a in _init_arrays(9)])
        x, y = (a.astype(dt) for a in _batches(1, seed=10)[0])
        opt = lib.optim.LBFGS(params, **opts)

        def closure():
            opt.zero_grad()
            loss = _loss(lib, params, x, y)
            loss.backward()
            return loss

        return params, opt, [opt.step(closure).item() for _ in range(4)]

    pt, opt_t, ref = run(torch, np.float64)
    pg, opt_g, losses = run(tg, dtype)
    assert losses[-1] < losses[0]
    assert all(p.dtype == getattr(tg, np.dtype(dtype).name) for p in pg)
    st, sg = opt_t.state[pt[0]], opt_g.state[pg[0]]
    assert set(st) == set(sg)
    if dtype == np.float64:
        assert st["func_evals"] == sg["func_evals"] and st["n_iter"] == sg["n_iter"]
        np.testing.assert_allclose(losses, ref, rtol=1e-10)
        _assert_params_close(pg, pt, rtol=1e-9, atol=1e-10)
    else:
        # Near a minimum the loss is insensitive (to first order) to where in the flat
        # directions the iterate lands, so float32 losses stay within 3e-5 of float64's,
        # while the parameters themselves can move by 1e-2 along those directions
        # (history_size=4 with strong Wolfe): only the losses are compared.
        np.testing.assert_allclose(losses, ref, rtol=1e-4)


def test_lbfgs_state_dict_round_trip_and_errors():
    arrays = _init_arrays(11)
    x, y = _batches(1, seed=12)[0]
    pg = _params(tg, arrays)
    opt = tg.optim.LBFGS(pg, max_iter=3)

    def closure():
        opt.zero_grad()
        loss = _loss(tg, pg, x, y)
        loss.backward()
        return loss

    opt.step(closure)
    pg2 = [tg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in pg]
    opt2 = tg.optim.LBFGS(pg2, max_iter=3)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))

    def closure2():
        opt2.zero_grad()
        loss = _loss(tg, pg2, x, y)
        loss.backward()
        return loss

    opt.step(closure)
    opt2.step(closure2)
    for a, b in zip(pg, pg2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    with pytest.raises(ValueError, match="per-parameter options"):
        tg.optim.LBFGS([{"params": pg[:2]}, {"params": pg[2:]}])
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        tg.optim.LBFGS(pg, line_search_fn="armijo").step(closure)


def _custom_optimizer(lib):
    """A user-written optimizer in the PyTorch style: heavy-ball momentum on the tensors."""

    class HeavyBall(lib.optim.Optimizer):
        def __init__(self, params, lr=0.1, beta=0.9):
            if lr < 0:
                raise ValueError(f"Invalid learning rate: {lr}")
            super().__init__(params, dict(lr=lr, beta=beta))

        @lib.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if "v" not in state:
                        state["v"] = lib.zeros_like(p)
                    state["v"].mul_(group["beta"]).add_(p.grad)
                    p.add_(state["v"], alpha=-group["lr"])

    return HeavyBall


def test_user_defined_optimizer_like_torch():
    arrays, batches = _init_arrays(13), _batches(20)
    pt, pg = _params(torch, arrays), _params(tg, arrays)
    opt_t = _custom_optimizer(torch)(pt, lr=0.05)
    opt_g = _custom_optimizer(tg)(pg, lr=0.05)
    calls = []
    opt_g.register_step_post_hook(lambda *a: calls.append(1))
    _train(torch, opt_t, pt, batches)
    _train(tg, opt_g, pg, batches)
    _assert_params_close(pg, pt)
    assert len(calls) == 20
    assert sorted(opt_g.state_dict()["state"]) == [0, 1, 2, 3]


def test_load_state_dict_with_a_numeric_step():
    """Checkpoints from older PyTorch versions store 'step' as a number."""
    p = tg.ones(3, requires_grad=True)
    opt = tg.optim.Adam([p], lr=0.1)
    sd = {
        "state": {0: {"step": 4, "exp_avg": tg.ones(3), "exp_avg_sq": tg.ones(3)}},
        "param_groups": [dict(opt.state_dict()["param_groups"][0])],
    }
    opt.load_state_dict(sd)
    p.sum().backward()
    opt.step()
    step = opt.state[p]["step"]
    assert isinstance(step, tg.Tensor) and step.dtype == tg.float32 and step.item() == 5.0


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "LBFGS"])
def test_no_tensors_accumulate_over_steps(name):
    """The optimizer's state stays the same size however many steps it takes."""
    import gc

    arrays, batches = _init_arrays(14), _batches(40)
    pg = _params(tg, arrays)
    opts = {"SGD": {"momentum": 0.9}, "LBFGS": {"max_iter": 4, "history_size": 3}}.get(name, {})
    opts["lr"] = 0.01
    opt = getattr(tg.optim, name)(pg, **opts)

    def run(n):
        for x, y in batches[:n]:

            def closure(x=x, y=y):
                opt.zero_grad()
                loss = _loss(tg, pg, x, y)
                loss.backward()
                return loss

            opt.step(closure)

    def live_tensors():
        gc.collect()
        return sum(issubclass(type(o), tg.Tensor) for o in gc.get_objects())

    run(5)
    before = live_tensors()
    run(35)
    assert live_tensors() <= before


def _hook_calls(lib):
    p = lib.ones(2, requires_grad=True)
    opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
    calls = []
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    opt.register_load_state_dict_pre_hook(
        lambda o, sd: calls.append("load_pre") or {k: v for k, v in sd.items() if k != "extra"}
    )
    handle = opt.register_load_state_dict_post_hook(lambda o: calls.append("load_post"))
    sd = opt.state_dict()
    opt.load_state_dict(sd)
    handle.remove()
    opt.load_state_dict(sd)
    return calls, sorted(sd)


def test_state_dict_hooks_like_torch():
    assert _hook_calls(tg) == _hook_calls(torch)


# An ordinary PyTorch training script, run unchanged with ``torch`` bound to either library.
PROGRAM = """
import numpy as np
torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((64, 10)).astype(np.float32))
y = torch.tensor(rng.integers(0, 3, 64))
dataset = torch.utils.data.TensorDataset(X, y)
loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=True)
model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(
    [{"params": model[0].parameters(), "lr": 3e-3}, {"params": model[2].parameters()}],
    lr=1e-2, weight_decay=1e-4,
)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
losses, norms = [], []
for epoch in range(5):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item())
        optimizer.step()
        losses.append(loss.item())
    scheduler.step()
result = (losses, norms, [p.detach().numpy().copy() for p in model.parameters()])
"""


def test_ordinary_training_program_gives_torch_numbers():
    results = {}
    for lib in (torch, tg):
        namespace = {"torch": lib}
        exec(PROGRAM, namespace)
        results[lib] = namespace["result"]
    (loss_t, norm_t, params_t), (loss_g, norm_g, params_g) = results[torch], results[tg]
    np.testing.assert_allclose(loss_g, loss_t, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(norm_g, norm_t, rtol=1e-5, atol=1e-6)
    for a, b in zip(params_g, params_t):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name",
    ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "RMSprop", "NAdam", "RAdam", "Adamax"]
    + ["Rprop", "ASGD"],
)
def test_nonfinite_gradients_like_torch(name):
    """inf and NaN gradients propagate (or not) exactly as in PyTorch, without warnings."""
    grads = [[np.inf, 1.0, 0.0, 2.0], [1.0, np.nan, 0.0, -1.0], [-1.0, 1.0, np.nan, 3.0]]
    finals = []
    for lib in (torch, tg):
        p = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for g in grads:
                p.grad = lib.tensor(np.array(g, dtype=np.float32))
                opt.step()
        finals.append(p.detach().numpy().copy())
    np.testing.assert_allclose(finals[1], finals[0], rtol=1e-6, equal_nan=True)
