"""The ``torch.*`` spellings of nn ops (``torch.conv2d``, ``torch.max_pool2d``,
``torch.dropout``, ``torch.embedding``...) with ATen's signatures, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad import _torch_nn_ops

RNG = np.random.default_rng(0)
X4 = RNG.standard_normal((2, 4, 6, 6))
X3 = RNG.standard_normal((2, 4, 9))
X5 = RNG.standard_normal((1, 2, 4, 4, 4))
W4 = RNG.standard_normal((3, 4, 3, 3))
W3 = RNG.standard_normal((3, 4, 3))
WT = RNG.standard_normal((4, 3, 3, 3))
V = RNG.standard_normal(4)
A = RNG.standard_normal((5, 4))
B = RNG.standard_normal((5, 4))
T = np.sign(RNG.standard_normal(5))
RNG_CTC = RNG.standard_normal((6, 2, 5))
W5 = RNG.standard_normal((2, 2, 2, 2, 2))
WB = RNG.standard_normal((3, 4, 4))


def _t(L, a):
    return L.tensor(a)


CASES = {
    "conv1d": lambda L: L.conv1d(_t(L, X3), _t(L, W3), None, 2, 1),
    "conv2d": lambda L: L.conv2d(_t(L, X4), _t(L, W4), _t(L, V[:3]), 1, 1, 1, 1),
    "conv3d": lambda L: L.conv3d(_t(L, X5), _t(L, W5)),
    "conv_transpose2d": lambda L: L.conv_transpose2d(_t(L, X4), _t(L, WT), None, 2, 1, 1),
    "conv_transpose1d": lambda L: L.conv_transpose1d(_t(L, X3), _t(L, WT[:, :, 0])),
    "max_pool1d": lambda L: L.max_pool1d(_t(L, X3), 3),
    "max_pool1d_with_indices": lambda L: L.max_pool1d_with_indices(_t(L, X3), 2, [], 1),
    "max_pool2d": lambda L: L.max_pool2d(_t(L, X4), 2),
    "max_pool2d_stride": lambda L: L.max_pool2d(_t(L, X4), 3, 2, 1, 1, True),
    "max_pool3d": lambda L: L.max_pool3d(_t(L, X5), 2),
    "avg_pool1d": lambda L: L.avg_pool1d(_t(L, X3), 3, 2, 1),
    "adaptive_avg_pool1d": lambda L: L.adaptive_avg_pool1d(_t(L, X3), 4),
    "adaptive_max_pool1d": lambda L: L.adaptive_max_pool1d(_t(L, X3), 4),
    "batch_norm": lambda L: L.batch_norm(
        _t(L, X4),
        _t(L, V),
        _t(L, V * 0.5),
        L.zeros(4, dtype=L.float64),
        L.ones(4, dtype=L.float64),
        True,
        0.1,
        1e-5,
        False,
    ),
    "instance_norm": lambda L: L.instance_norm(
        _t(L, X4), _t(L, V), _t(L, V), None, None, True, 0.1, 1e-5, False
    ),
    "layer_norm": lambda L: L.layer_norm(_t(L, X4), [6, 6]),
    "group_norm": lambda L: L.group_norm(_t(L, X4), 2, _t(L, V), _t(L, V)),
    "rms_norm": lambda L: L.rms_norm(_t(L, X4), [6]),
    "embedding": lambda L: L.embedding(_t(L, A), L.tensor([[0, 4], [2, 2]])),
    "embedding_pad": lambda L: L.embedding(_t(L, A), L.tensor([0, 3]), 3),
    "dropout_eval": lambda L: L.dropout(_t(L, A), 0.5, False),
    "alpha_dropout_eval": lambda L: L.alpha_dropout(_t(L, A), 0.5, False),
    "celu": lambda L: L.celu(_t(L, A), 0.7),
    "selu": lambda L: L.selu(_t(L, A)),
    "rrelu_eval": lambda L: L.rrelu(_t(L, A)),
    "threshold": lambda L: L.threshold(_t(L, A), 0.1, -2.0),
    "hardshrink": lambda L: L.hardshrink(_t(L, A), 0.3),
    "prelu": lambda L: L.prelu(_t(L, X4), _t(L, V)),
    "bilinear": lambda L: L.bilinear(_t(L, A), _t(L, B), _t(L, WB)),
    "pixel_shuffle": lambda L: L.pixel_shuffle(_t(L, X4), 2),
    "pixel_unshuffle": lambda L: L.pixel_unshuffle(_t(L, X4), 2),
    "channel_shuffle": lambda L: L.channel_shuffle(_t(L, X4), 2),
    "native_channel_shuffle": lambda L: L.native_channel_shuffle(_t(L, X4), 2),
    "pdist": lambda L: L.pdist(_t(L, A)),
    "kl_div": lambda L: L.kl_div(_t(L, A).log_softmax(1), _t(L, B).softmax(1), 2),
    "kl_div_log": lambda L: L.kl_div(_t(L, A), _t(L, B), 0, log_target=True),
    "bce_logits": lambda L: L.binary_cross_entropy_with_logits(
        _t(L, A), _t(L, (B > 0) * 1.0), None, _t(L, V), 1
    ),
    "cosine_embedding": lambda L: L.cosine_embedding_loss(_t(L, A), _t(L, B), _t(L, T), 0.1, 0),
    "hinge_embedding": lambda L: L.hinge_embedding_loss(_t(L, A), _t(L, np.sign(B)), 1.0, 2),
    "margin_ranking": lambda L: L.margin_ranking_loss(_t(L, A[:, 0]), _t(L, B[:, 0]), _t(L, T)),
    "poisson_nll": lambda L: L.poisson_nll_loss(_t(L, A), _t(L, np.abs(B)), True, False, 1e-8, 1),
    "triplet": lambda L: L.triplet_margin_loss(_t(L, A), _t(L, B), _t(L, A[::-1].copy())),
    "triplet_mean": lambda L: L.triplet_margin_loss(
        _t(L, A), _t(L, B), _t(L, A[::-1].copy()), 1.0, 2, 1e-6, True, 1
    ),
    "kl_div_default": lambda L: L.kl_div(_t(L, A), _t(L, np.abs(B))),
    "bce_default": lambda L: L.binary_cross_entropy_with_logits(_t(L, A), _t(L, (B > 0) * 1.0)),
    "ctc": lambda L: L.ctc_loss(
        _t(L, RNG_CTC).log_softmax(2), L.tensor([[1, 2], [3, 1]]), [6, 6], [2, 2]
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch(name):
    a, b = CASES[name](torch), CASES[name](tapegrad)
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert str(x.dtype).replace("torch.", "") == str(y.dtype).replace("torch.", "")
        np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_dropout_train_uses_pytorchs_stream():
    res = []
    for L in (torch, tapegrad):
        L.manual_seed(3)
        x = L.ones(200, 50)
        res.append(
            [L.dropout(x, 0.3, True).numpy(), L.feature_dropout(L.ones(4, 8, 3), 0.5, True).numpy()]
        )
    for x, y in zip(*res):
        np.testing.assert_array_equal(x, y)


def test_every_name_is_exported():
    for name in _torch_nn_ops.__all__:
        assert getattr(tapegrad, name) is getattr(_torch_nn_ops, name)
        assert hasattr(torch, name), name


def test_bad_reduction():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        tapegrad.kl_div(tapegrad.zeros(2), tapegrad.zeros(2), 7)
