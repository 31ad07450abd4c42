"""``ComposeTransform``, ``PowerTransform`` and ``AbsTransform`` against PyTorch: values,
inverses, ``log_abs_det_jacobian``, and a ``TransformedDistribution`` built from them."""

from __future__ import annotations

import numpy as np
import torch
import torch.distributions as TD
import torch.distributions.transforms as TT

import tapegrad
import tapegrad.distributions as GD
import tapegrad.distributions.transforms as GT

X = np.array([0.3, 1.7, 2.5])


def _run(L, T, D):
    x = L.tensor(X, dtype=L.float64, requires_grad=True)
    comp = T.ComposeTransform(
        [T.AffineTransform(0.5, 2.0), T.ExpTransform(), T.PowerTransform(1.5)]
    )
    y = comp(x)
    out = [y, comp.inv(y), comp.log_abs_det_jacobian(x, y)]
    pw = T.PowerTransform(L.tensor([2.0, 0.5, 3.0], dtype=L.float64))
    out += [pw(x), pw.inv(pw(x)), pw.log_abs_det_jacobian(x, pw(x))]
    ab = T.AbsTransform()
    out += [ab(-x), ab.inv(x)]
    base = D.Normal(L.tensor(0.0, dtype=L.float64), L.tensor(1.0, dtype=L.float64))
    td = D.TransformedDistribution(base, [T.ExpTransform(), T.PowerTransform(2.0)])
    out.append(td.log_prob(L.tensor([0.5, 2.0], dtype=L.float64)))
    sum(o.sum() for o in out if o.requires_grad).backward()
    return [o.detach().numpy() for o in out] + [x.grad.numpy()]


def test_transforms_match_pytorch():
    for a, b in zip(_run(torch, TT, TD), _run(tapegrad, GT, GD)):
        # PyTorch rounds part of its inverse chain through float32 constants (~5e-8)
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-12)
    assert GT.ComposeTransform([]).log_abs_det_jacobian is not None
    assert not GT.AbsTransform().bijective
