"""nn.utils: gradient clipping and parameter vectors, against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tapegrad as tg

SHAPES = [(4, 3), (3,), (2, 5, 2), (1,)]


def _params(lib, seed=0, scale=1.0, with_grads=True, none_at=None):
    rng = np.random.default_rng(seed)
    params = []
    for i, shape in enumerate(SHAPES):
        p = lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
        g = (rng.standard_normal(shape) * scale).astype(np.float32)
        if with_grads and i != none_at:
            p.grad = lib.tensor(g)
        params.append(p)
    return params


def _grads(params):
    return [None if p.grad is None else p.grad.numpy() for p in params]


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_equals_torch(norm_type, max_norm):
    pt, pg = _params(torch, none_at=1), _params(tg, none_at=1)
    nt = torch.nn.utils.clip_grad_norm_(pt, max_norm, norm_type=norm_type)
    ng = tg.nn.utils.clip_grad_norm_(pg, max_norm, norm_type=norm_type)
    assert isinstance(ng, tg.Tensor) and ng.dtype == tg.float32 and ng.shape == tg.Size([])
    np.testing.assert_allclose(ng.item(), nt.item(), rtol=1e-6)
    for a, b in zip(_grads(pg), _grads(pt)):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_single_tensor_and_generator():
    p = _params(tg)[0]
    t = _params(torch)[0]
    ng = tg.nn.utils.clip_grad_norm_(p, 0.1)
    nt = torch.nn.utils.clip_grad_norm_(t, 0.1)
    np.testing.assert_allclose(ng.item(), nt.item(), rtol=1e-6)
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    model = tg.nn.Linear(3, 2)
    (model(tg.ones(4, 3)) ** 2).sum().backward()
    total = tg.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    after = math.sqrt(sum(float((p.grad**2).sum()) for p in model.parameters()))
    assert total.item() > 1.0 and after == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_no_grads_and_empty():
    assert tg.nn.utils.clip_grad_norm_(_params(tg, with_grads=False), 1.0).item() == 0.0
    with pytest.warns(UserWarning, match="empty generator"):
        total = tg.nn.utils.clip_grad_norm_((p for p in []), 1.0)
    assert total.item() == 0.0


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_clip_grad_norm_nonfinite(bad):
    for lib in (torch, tg):
        params = _params(lib)
        params[0].grad[0, 0] = bad
        with pytest.raises(RuntimeError, match="non-finite"):
            lib.nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    pt, pg = _params(torch), _params(tg)
    pt[0].grad[0, 0] = bad
    pg[0].grad[0, 0] = bad
    nt = torch.nn.utils.clip_grad_norm_(pt, 1.0)
    ng = tg.nn.utils.clip_grad_norm_(pg, 1.0)
    assert math.isnan(nt.item()) == math.isnan(ng.item())
    for a, b in zip(_grads(pg), _grads(pt)):
        np.testing.assert_array_equal(a, b)


def test_get_total_norm_and_clip_grads_with_norm():
    pt, pg = _params(torch, scale=3.0), _params(tg, scale=3.0)
    nt = torch.nn.utils.get_total_norm([p.grad for p in pt], 2.0)
    ng = tg.nn.utils.get_total_norm([p.grad for p in pg], 2.0)
    np.testing.assert_allclose(ng.item(), nt.item(), rtol=1e-6)
    torch.nn.utils.clip_grads_with_norm_(pt, 2.0, nt)
    tg.nn.utils.clip_grads_with_norm_(pg, 2.0, ng)
    for a, b in zip(_grads(pg), _grads(pt)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("clip_value", [0.3, 1, 10.0])
def test_clip_grad_value_equals_torch(clip_value):
    pt, pg = _params(torch, none_at=2), _params(tg, none_at=2)
    assert torch.nn.utils.clip_grad_value_(pt, clip_value) is None
    assert tg.nn.utils.clip_grad_value_(pg, clip_value) is None
    for a, b in zip(_grads(pg), _grads(pt)):
        if b is None:
            assert a is None
        else:
            np.testing.assert_array_equal(a, b)
    single = _params(tg)[0]
    tg.nn.utils.clip_grad_value_(single, 0.1)
    assert single.grad.abs().max().item() <= np.float32(0.1)


def test_parameters_to_vector_and_back():
    pt, pg = _params(torch, with_grads=False), _params(tg, with_grads=False)
    vt = torch.nn.utils.parameters_to_vector(pt)
    vg = tg.nn.utils.parameters_to_vector(pg)
    assert vg.shape == tg.Size([sum(int(np.prod(s)) for s in SHAPES)])
    np.testing.assert_array_equal(vg.detach().numpy(), vt.detach().numpy())
    # The vector is differentiable, as in PyTorch.
    assert vg.requires_grad
    (vg * tg.arange(vg.numel(), dtype=tg.float32)).sum().backward()
    np.testing.assert_array_equal(pg[1].grad.numpy(), np.arange(12, 15, dtype=np.float32))
    new = tg.arange(vg.numel(), dtype=tg.float32) * 0.5
    tg.nn.utils.vector_to_parameters(new, pg)
    torch.nn.utils.vector_to_parameters(torch.arange(vt.numel(), dtype=torch.float32) * 0.5, pt)
    for a, b in zip(pg, pt):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # The parameters now view the vector's storage.
    new[0] = 100.0
    assert pg[0].detach()[0, 0].item() == 100.0


def test_vector_to_parameters_rejects_non_tensor():
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        tg.nn.utils.vector_to_parameters(np.zeros(3), _params(tg))


def test_module_paths_like_torch():
    from tapegrad.nn.utils import clip_grad, convert_parameters

    assert clip_grad.clip_grad_norm_ is tg.nn.utils.clip_grad_norm_
    assert convert_parameters.parameters_to_vector is tg.nn.utils.parameters_to_vector
