"""Learning-rate schedules: the lr sequence (and cycled momentum) equals PyTorch's."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch

import tapegrad as tg

EPOCHS = 40


def _optimizer(lib, name="SGD", two_groups=True, **opts):
    params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}] if two_groups else params
    return getattr(lib.optim, name)(groups, **{"lr": 0.1, **opts})


def _run(lib, make_sched, epochs=EPOCHS, opt_name="SGD", opt_opts=None, metrics=None):
    """Lrs (and momenta) after construction and after each epoch's step."""
    opt = _optimizer(lib, opt_name, **(opt_opts or {}))
    sched = make_sched(lib.optim.lr_scheduler, opt)
    seq = []
    for epoch in range(epochs):
        seq.append(_snapshot(opt, sched))
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[epoch])
    seq.append(_snapshot(opt, sched))
    return seq


def _snapshot(opt, sched):
    groups = [
        (g["lr"], g.get("momentum"), tuple(g["betas"]) if "betas" in g else None)
        for g in opt.param_groups
    ]
    return groups, list(sched.get_last_lr())


SCHEDULES = {
    "StepLR": lambda S, o: S.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-long": lambda S, o: S.CosineAnnealingLR(o, T_max=50),
    # past T_max the recursive form restarts every 2 * T_max epochs: six restarts in 40
    "CosineAnnealingLR-restarts": lambda S, o: S.CosineAnnealingLR(o, T_max=3, eta_min=0.02),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lr_lambda=lambda e: 0.95**e + 0.01 * e),
    "LambdaLR-list": lambda S, o: S.LambdaLR(o, lr_lambda=[lambda e: 1 / (e + 1), lambda e: 0.9]),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.97),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.4, total_iters=6),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=30, power=2.0),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=0.002
    ),
    "CyclicLR": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-exp": lambda S, o: S.CyclicLR(
        o,
        base_lr=[0.01, 0.02],
        max_lr=0.2,
        step_size_up=3,
        step_size_down=5,
        mode="exp_range",
        gamma=0.97,
    ),
    "CyclicLR-tri2": lambda S, o: S.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2", cycle_momentum=False
    ),
    "OneCycleLR-cos": lambda S, o: S.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=EPOCHS),
    "OneCycleLR-linear": lambda S, o: S.OneCycleLR(
        o, max_lr=0.3, epochs=4, steps_per_epoch=10, anneal_strategy="linear", pct_start=0.25
    ),
    "OneCycleLR-3phase": lambda S, o: S.OneCycleLR(
        o, max_lr=0.3, total_steps=EPOCHS, three_phase=True, div_factor=10.0
    ),
    "SequentialLR": lambda S, o: S.SequentialLR(
        o,
        schedulers=[S.LinearLR(o, start_factor=0.1, total_iters=5), S.ExponentialLR(o, 0.9)],
        milestones=[5],
    ),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.5, total_iters=4), S.ExponentialLR(o, gamma=0.9)]
    ),
}

MOMENTUM_OPTS = {"momentum": 0.9}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_sequence_equals_torch(name):
    make = SCHEDULES[name]
    opts = MOMENTUM_OPTS if name.startswith(("Cyclic", "OneCycle")) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _run(tg, make, opt_opts=opts)
        theirs = _run(torch, make, opt_opts=opts)
    assert ours == theirs


def test_one_cycle_cycles_adam_beta1_like_torch():
    make = SCHEDULES["OneCycleLR-cos"]
    assert _run(tg, make, opt_name="Adam") == _run(torch, make, opt_name="Adam")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(mode="max", factor=0.5, patience=2),
        dict(patience=1, threshold=0.1, threshold_mode="abs", cooldown=2, min_lr=0.01),
        dict(patience=0, factor=0.3, min_lr=[0.02, 0.001], eps=1e-3),
    ],
)
def test_reduce_lr_on_plateau_equals_torch(kwargs):
    rng = np.random.default_rng(0)
    metrics = list(np.round(np.cumsum(rng.normal(0, 1, EPOCHS)), 3))

    def make(S, o):
        return S.ReduceLROnPlateau(o, **kwargs)

    ours = _run(tg, make, metrics=metrics)
    assert ours == _run(torch, make, metrics=metrics)
    assert len({g[0][0] for g, _ in ours}) > 1  # the lr was reduced at least once


def test_closed_form_with_epoch_argument():
    for lib in (tg, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        opt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(7)
        assert sched.get_last_lr() == [0.1 * 0.25, 0.05 * 0.25]


def test_state_dict_round_trip_continues_identically():
    opt = _optimizer(tg)
    sched = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12, eta_min=0.01)
    for _ in range(5):
        opt.step()
        sched.step()
    opt_sd = copy.deepcopy(opt.state_dict())
    sched_sd = copy.deepcopy(sched.state_dict())
    assert "optimizer" not in sched_sd and sched_sd["last_epoch"] == 5
    opt2 = _optimizer(tg)
    opt2.load_state_dict(opt_sd)
    sched2 = tg.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=12, eta_min=0.01, last_epoch=4)
    sched2.load_state_dict(sched_sd)
    for _ in range(10):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert sched.get_last_lr() == sched2.get_last_lr()
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in opt2.param_groups]


def test_lambda_state_dict_skips_functions():
    opt = _optimizer(tg)
    sched = tg.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5**e)
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, None]
    sched.load_state_dict(sd)
    assert len(sched.lr_lambdas) == 2


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _optimizer(tg)
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt = _optimizer(tg)
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_resume_without_initial_lr_is_key_error():
    for lib in (tg, torch):
        with pytest.raises(KeyError, match="initial_lr"):
            lib.optim.lr_scheduler.StepLR(_optimizer(lib), step_size=2, last_epoch=3)


@pytest.mark.parametrize(
    "make,exc",
    [
        (lambda S, o: S.StepLR(object(), step_size=2), TypeError),
        (lambda S, o: S.ReduceLROnPlateau(o, factor=1.5), ValueError),
        (lambda S, o: S.ReduceLROnPlateau(o, mode="avg"), ValueError),
        (lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError),
        (lambda S, o: S.LinearLR(o, start_factor=0.0), ValueError),
        (lambda S, o: S.ConstantLR(o, factor=2.0), ValueError),
        (lambda S, o: S.LambdaLR(o, lr_lambda=[lambda e: 1.0]), ValueError),
        (lambda S, o: S.OneCycleLR(o, max_lr=0.1), ValueError),
        (lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="x"), ValueError),
        (lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError),
        (lambda S, o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[3]), ValueError),
    ],
)
def test_bad_arguments_raise_like_torch(make, exc):
    with pytest.raises(exc) as theirs:
        make(torch.optim.lr_scheduler, _optimizer(torch))
    with pytest.raises(exc) as ours:
        make(tg.optim.lr_scheduler, _optimizer(tg))
    assert str(ours.value) == str(theirs.value)


def test_one_cycle_overrun_raises():
    opt = _optimizer(tg, momentum=0.9)
    sched = tg.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


def test_cosine_annealing_reaches_eta_min():
    opt = _optimizer(tg, two_groups=False)
    sched = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.01)
    for _ in range(8):
        opt.step()
        sched.step()
    assert math.isclose(sched.get_last_lr()[0], 0.01, abs_tol=1e-12)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_state_dict_saves_and_resumes(name, tmp_path):
    """Each scheduler's state survives tapegrad.save/load and resumes the same sequence."""
    make = SCHEDULES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = _optimizer(tg, momentum=0.9)
        sched = make(tg.optim.lr_scheduler, opt)
        for _ in range(7):
            opt.step()
            sched.step()
        tg.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ck.pt")
        expected = []
        for _ in range(8):
            opt.step()
            sched.step()
            expected.append(_snapshot(opt, sched))
        ck = tg.load(tmp_path / "ck.pt")
        opt2 = _optimizer(tg, momentum=0.9)
        sched2 = make(tg.optim.lr_scheduler, opt2)
        opt2.load_state_dict(ck["opt"])
        sched2.load_state_dict(ck["sched"])
        got = []
        for _ in range(8):
            opt2.step()
            sched2.step()
            got.append(_snapshot(opt2, sched2))
    assert got == expected


@pytest.mark.parametrize(
    "opt_name,opts,make",
    [
        ("SGD", dict(lr=0.1, momentum=0.9), SCHEDULES["OneCycleLR-cos"]),
        ("Adam", dict(lr=0.01), SCHEDULES["OneCycleLR-3phase"]),
        ("SGD", dict(lr=0.1, momentum=0.5, nesterov=True), SCHEDULES["CyclicLR"]),
        ("RMSprop", dict(lr=0.01), SCHEDULES["CosineAnnealingWarmRestarts"]),
    ],
)
def test_training_under_a_schedule_matches_torch(opt_name, opts, make):
    """The optimizers read the lr and momentum/betas the schedulers write, step by step."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    data = [rng.standard_normal((8, 4)).astype(np.float32) for _ in range(EPOCHS)]
    finals = []
    for lib in (torch, tg):
        w = lib.tensor(w0.copy(), requires_grad=True)
        b = lib.zeros(3, requires_grad=True)
        opt = getattr(lib.optim, opt_name)([{"params": [w]}, {"params": [b], "lr": 0.05}], **opts)
        sched = make(lib.optim.lr_scheduler, opt)
        for x in data:
            opt.zero_grad()
            (lib.tanh(lib.tensor(x) @ w.T + b) ** 2).mean().backward()
            opt.step()
            sched.step()
        finals.append((w.detach().numpy().copy(), b.detach().numpy().copy()))
    for ours, theirs in zip(finals[1], finals[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
