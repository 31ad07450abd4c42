"""swa_utils: averaged models (SWA and EMA), update_bn and SWALR against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tapegrad as tg


def _model(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))


def _pair():
    torch.manual_seed(0)
    mt = _model(torch)
    mg = _model(tg)
    mg.load_state_dict({k: tg.tensor(v.numpy().copy()) for k, v in mt.state_dict().items()})
    return mt, mg


def _batches(n=12):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((8, 4)).astype(np.float32) for _ in range(n)]


def _assert_state_close(mg, mt, rtol=1e-5, atol=1e-6):
    sg, st = mg.state_dict(), mt.state_dict()
    assert list(sg) == list(st)
    for k in st:
        np.testing.assert_allclose(sg[k].numpy(), st[k].numpy(), rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("kind", ["swa", "ema-multi", "ema-fn", "swa-multi", "ema-buffers"])
def test_averaged_model_like_torch(kind):
    mt, mg = _pair()
    models = []
    for lib, model in ((torch, mt), (tg, mg)):
        su = lib.optim.swa_utils
        kwargs = {
            "swa": {},
            "ema-multi": dict(multi_avg_fn=su.get_ema_multi_avg_fn(0.9)),
            "ema-fn": dict(avg_fn=su.get_ema_avg_fn(0.8)),
            "swa-multi": dict(multi_avg_fn=su.get_swa_multi_avg_fn()),
            "ema-buffers": dict(multi_avg_fn=su.get_ema_multi_avg_fn(0.9), use_buffers=True),
        }[kind]
        avg = su.AveragedModel(model, **kwargs)
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for x in _batches():
            opt.zero_grad()
            (model(lib.tensor(x)) ** 2).mean().backward()
            opt.step()
            avg.update_parameters(model)
        models.append(avg)
    assert int(models[1].n_averaged) == int(models[0].n_averaged) == 12
    _assert_state_close(models[1], models[0])
    x = tg.tensor(_batches(1)[0])
    models[0].eval()
    models[1].eval()
    np.testing.assert_allclose(
        models[1](x).detach().numpy(),
        models[0](torch.tensor(x.numpy())).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_update_bn_like_torch():
    mt, mg = _pair()
    loader = [(b, 0) for b in _batches(5)]
    torch.optim.swa_utils.update_bn([(torch.tensor(x), y) for x, y in loader], mt)
    mg.eval()
    tg.optim.swa_utils.update_bn([(tg.tensor(x), y) for x, y in loader], mg)
    assert not mg.training  # the mode is restored
    _assert_state_close(mg, mt)
    assert mg[1].momentum == 0.1


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(swa_lr=0.01),
        dict(swa_lr=[0.02, 0.005], anneal_epochs=3, anneal_strategy="linear"),
        dict(swa_lr=0.05, anneal_epochs=0),
    ],
)
def test_swalr_sequence_like_torch(kwargs):
    seqs = []
    for lib in (torch, tg):
        params = [lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)]
        opt = lib.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}], lr=0.1)
        sched = lib.optim.swa_utils.SWALR(opt, **kwargs)
        seq = []
        for _ in range(15):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr())
        seqs.append(seq)
        state = sched.state_dict()
        assert "anneal_func" not in state
        sched.load_state_dict(state)
    assert seqs[0] == seqs[1]


def test_errors_like_torch():
    for lib in (torch, tg):
        su = lib.optim.swa_utils
        with pytest.raises(ValueError, match="Invalid decay value"):
            su.get_ema_avg_fn(1.5)
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        with pytest.raises(ValueError, match="anneal_strategy"):
            su.SWALR(opt, swa_lr=0.1, anneal_strategy="step")
        with pytest.raises(ValueError, match="anneal_epochs"):
            su.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
        with pytest.raises(AssertionError, match="Only one of"):
            su.AveragedModel(
                _model(lib), avg_fn=su.get_swa_avg_fn(), multi_avg_fn=su.get_swa_multi_avg_fn()
            )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.optim.swa_utils.update_bn([], tg.nn.Linear(2, 2))  # no BatchNorm: nothing to do
