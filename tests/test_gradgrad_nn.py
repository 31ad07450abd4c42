"""Double backward of the layers and losses (issue 9) against PyTorch.

Each case builds the same module in PyTorch and tapegrad (float64, PyTorch's parameters
randomised and copied across), takes ``grad(outputs, inputs + parameters, u,
create_graph=True)``, then ``grad(sum(g * v), inputs + parameters)`` with the same random
``u`` and ``v`` in both libraries, and compares the first and second derivatives. Where
PyTorch has no double backward, tapegrad must raise its error. ``gradgradcheck`` then
checks tapegrad's second derivatives against finite differences of its gradient.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import tapegrad


@dataclass
class Case:
    """``build(L)`` makes the module; ``call(L, m, *xs)`` runs it on the inputs made by
    ``inputs(rng)`` (float64 arrays, all differentiated); constants live in ``call``."""

    name: str
    build: object
    inputs: object
    call: object = field(default=lambda L, m, *xs: m(*xs))
    gradgradcheck: bool = True


def _shapes(*shapes):
    return lambda rng: [rng.standard_normal(s) for s in shapes]


def _probs(*shapes):
    return lambda rng: [rng.uniform(0.1, 0.9, s) for s in shapes]


def _case(name, build, shapes, call=None, **kw):
    inputs = shapes if callable(shapes) else _shapes(*shapes)
    return Case(name, build, inputs, call or (lambda L, m, *xs: m(*xs)), **kw)


def _t(L, a):
    """A constant tensor in library ``L`` (targets, masks, class weights)."""
    return L.tensor(np.asarray(a))


W4 = np.array([0.5, 2.0, 1.0, 1.5])
W4R = W4[::-1].copy()
T3 = np.array([1, 0, 3])
SIGNS = np.array([[1.0, -1.0, -1.0, 1.0], [-1.0, 1.0, 1.0, 1.0], [1.0, 1.0, -1.0, -1.0]])

# ---------------------------------------------------------------------------
# layers and activations

LAYERS = [
    _case("Linear", lambda L: L.nn.Linear(4, 3), [(2, 4)]),
    _case("Linear_3d", lambda L: L.nn.Linear(4, 3), [(2, 2, 4)]),
    _case("Linear_nobias", lambda L: L.nn.Linear(4, 3, bias=False), [(2, 4)]),
    _case("Bilinear", lambda L: L.nn.Bilinear(3, 2, 4), [(2, 3), (2, 2)]),
    _case(
        "Embedding",
        lambda L: L.nn.Embedding(5, 3),
        lambda rng: [],
        lambda L, m: L.tanh(m(_t(L, [[0, 1], [1, 3], [1, 2]]))),
    ),
    _case(
        "Embedding_padding_idx",
        lambda L: L.nn.Embedding(5, 3, padding_idx=1),
        lambda rng: [],
        lambda L, m: L.tanh(m(_t(L, [[0, 1], [1, 3], [1, 2]]))),
    ),
    # PyTorch's double backward does not rescale by frequency (its first backward's scaling
    # is not a derivative): tapegrad follows it, so finite differences of the gradient
    # disagree, in PyTorch's gradgradcheck too.
    _case(
        "Embedding_scale_grad_by_freq",
        lambda L: L.nn.Embedding(5, 3, scale_grad_by_freq=True),
        lambda rng: [],
        lambda L, m: L.tanh(m(_t(L, [[0, 1], [1, 3], [1, 2]]))),
        gradgradcheck=False,
    ),
    _case(
        "ZeroPad2d",
        lambda L: L.nn.ZeroPad2d((1, 0, 2, 1)),
        [(1, 2, 3)],
        lambda L, m, x: L.tanh(m(x)),
    ),
    _case(
        "ConstantPad1d_crop",
        lambda L: L.nn.ConstantPad1d((2, -1), 0.5),
        [(2, 3, 4)],
        lambda L, m, x: L.tanh(m(x)),
    ),
    _case(
        "ReflectionPad2d",
        lambda L: L.nn.ReflectionPad2d((1, 2, 1, 0)),
        [(1, 2, 3, 4)],
        lambda L, m, x: L.tanh(m(x)),
    ),
    _case(
        "ReplicationPad1d",
        lambda L: L.nn.ReplicationPad1d((2, 1)),
        [(2, 3)],
        lambda L, m, x: L.tanh(m(x)),
    ),
    _case(
        "CircularPad1d",
        lambda L: L.nn.CircularPad1d((1, 2)),
        [(1, 2, 3)],
        lambda L, m, x: L.tanh(m(x)),
    ),
]

ACTIVATIONS = [
    ("Threshold", lambda L: L.nn.Threshold(0.1, 2.0)),
    ("ReLU", lambda L: L.nn.ReLU()),
    ("RReLU_eval", lambda L: L.nn.RReLU(0.1, 0.3).eval()),
    ("Hardtanh", lambda L: L.nn.Hardtanh(-0.5, 0.7)),
    ("ReLU6", lambda L: L.nn.ReLU6()),
    ("Sigmoid", lambda L: L.nn.Sigmoid()),
    ("Tanh", lambda L: L.nn.Tanh()),
    ("Hardsigmoid", lambda L: L.nn.Hardsigmoid()),
    ("Hardswish", lambda L: L.nn.Hardswish()),
    ("SiLU", lambda L: L.nn.SiLU()),
    ("Mish", lambda L: L.nn.Mish()),
    ("ELU", lambda L: L.nn.ELU(0.7)),
    ("CELU", lambda L: L.nn.CELU(0.8)),
    ("SELU", lambda L: L.nn.SELU()),
    ("GLU", lambda L: L.nn.GLU(1)),
    ("GELU", lambda L: L.nn.GELU()),
    ("GELU_tanh", lambda L: L.nn.GELU("tanh")),
    ("Hardshrink", lambda L: L.nn.Hardshrink(0.3)),
    ("Softshrink", lambda L: L.nn.Softshrink(0.3)),
    ("LeakyReLU", lambda L: L.nn.LeakyReLU(0.2)),
    ("LogSigmoid", lambda L: L.nn.LogSigmoid()),
    ("Softplus", lambda L: L.nn.Softplus(2.0, 1.5)),
    ("PReLU", lambda L: L.nn.PReLU(4)),
    ("Softsign", lambda L: L.nn.Softsign()),
    ("Tanhshrink", lambda L: L.nn.Tanhshrink()),
    ("Softmin", lambda L: L.nn.Softmin(1)),
    ("Softmax", lambda L: L.nn.Softmax(1)),
    ("Softmax2d", lambda L: L.nn.Softmax2d()),
    ("LogSoftmax", lambda L: L.nn.LogSoftmax(1)),
]
# (2, 4, 1): 4 channels for PReLU, an even dim 1 for GLU, 3-d for Softmax2d
LAYERS += [_case(n, b, lambda rng: [2 * rng.standard_normal((2, 4, 1))]) for n, b in ACTIVATIONS]
INPLACE = [
    ("ELU_inplace", lambda L: L.nn.ELU(0.7, inplace=True)),
    ("SELU_inplace", lambda L: L.nn.SELU(inplace=True)),
    ("LeakyReLU_inplace", lambda L: L.nn.LeakyReLU(0.2, inplace=True)),
    ("Hardtanh_inplace", lambda L: L.nn.Hardtanh(-0.5, 0.7, inplace=True)),
    ("SiLU_inplace", lambda L: L.nn.SiLU(inplace=True)),
    ("Mish_inplace", lambda L: L.nn.Mish(inplace=True)),
    ("Hardswish_inplace", lambda L: L.nn.Hardswish(inplace=True)),
]
LAYERS += [
    _case(n, b, lambda rng: [2 * rng.standard_normal((2, 3))], lambda L, m, x: m(x.clone()))
    for n, b in INPLACE
]


def _eval_bn(cls, c):
    def build(L):
        m = getattr(L.nn, cls)(c)
        with L.no_grad():
            m.running_mean.copy_(L.tensor(np.linspace(-0.3, 0.4, c)))
            m.running_var.copy_(L.tensor(np.linspace(0.5, 1.5, c)))
        return m.eval()

    return build


NORMS = [
    _case("BatchNorm1d_train", lambda L: L.nn.BatchNorm1d(3), [(4, 3)]),
    _case("BatchNorm1d_train_3d", lambda L: L.nn.BatchNorm1d(3), [(3, 3, 2)]),
    _case("BatchNorm1d_eval", _eval_bn("BatchNorm1d", 3), [(4, 3)]),
    _case("BatchNorm2d_train", lambda L: L.nn.BatchNorm2d(2), [(3, 2, 2, 2)]),
    _case(
        "BatchNorm2d_train_noaffine",
        lambda L: L.nn.BatchNorm2d(2, affine=False, track_running_stats=False),
        [(3, 2, 2, 2)],
    ),
    _case("BatchNorm2d_eval", _eval_bn("BatchNorm2d", 2), [(3, 2, 2, 2)]),
    _case("LayerNorm", lambda L: L.nn.LayerNorm(3), [(2, 3)]),
    _case("LayerNorm_2d", lambda L: L.nn.LayerNorm((2, 3)), [(2, 2, 3)]),
    _case("LayerNorm_noaffine", lambda L: L.nn.LayerNorm(4, elementwise_affine=False), [(2, 4)]),
    _case("GroupNorm", lambda L: L.nn.GroupNorm(2, 4), [(2, 4, 3)]),
    _case("InstanceNorm2d", lambda L: L.nn.InstanceNorm2d(2), [(2, 2, 2, 3)]),
    _case("InstanceNorm2d_affine", lambda L: L.nn.InstanceNorm2d(2, affine=True), [(2, 2, 2, 3)]),
]

# ---------------------------------------------------------------------------
# recurrent layers and attention

RECURRENT = [
    _case("RNNCell", lambda L: L.nn.RNNCell(3, 2), [(2, 3), (2, 2)]),
    _case("RNNCell_relu", lambda L: L.nn.RNNCell(3, 2, nonlinearity="relu"), [(2, 3), (2, 2)]),
    _case(
        "LSTMCell",
        lambda L: L.nn.LSTMCell(3, 2),
        [(2, 3), (2, 2), (2, 2)],
        lambda L, m, x, h, c: m(x, (h, c)),
    ),
    _case("GRUCell", lambda L: L.nn.GRUCell(3, 2), [(2, 3), (2, 2)]),
    _case("RNN", lambda L: L.nn.RNN(3, 2), [(2, 2, 3), (1, 2, 2)]),
    _case(
        "LSTM",
        lambda L: L.nn.LSTM(3, 2),
        [(2, 2, 3), (1, 2, 2), (1, 2, 2)],
        lambda L, m, x, h, c: m(x, (h, c)),
    ),
    _case("GRU", lambda L: L.nn.GRU(3, 2, batch_first=True), [(2, 2, 3), (1, 2, 2)]),
    _case(
        "MultiheadAttention",
        lambda L: L.nn.MultiheadAttention(4, 2),
        [(3, 2, 4), (2, 2, 4)],
        lambda L, m, q, kv: m(q, kv, kv),
    ),
    _case(
        "MultiheadAttention_self_mask",
        lambda L: L.nn.MultiheadAttention(4, 2, batch_first=True),
        [(2, 3, 4)],
        lambda L, m, x: m(x, x, x, attn_mask=_t(L, np.triu(np.ones((3, 3), bool), 1)))[0],
    ),
    _case(
        "TransformerEncoderLayer",
        lambda L: L.nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0),
        [(3, 2, 4)],
    ),
    _case(
        "TransformerEncoderLayer_norm_first_gelu",
        lambda L: L.nn.TransformerEncoderLayer(
            4, 2, dim_feedforward=6, dropout=0.0, activation="gelu", norm_first=True
        ),
        [(3, 2, 4)],
    ),
]

# ---------------------------------------------------------------------------
# losses: every loss module, each reduction


def _loss(name, make, inputs, call=None):
    """One case per reduction; ``make(L, reduction)`` builds the loss module. The
    reductions are linear, so gradgradcheck runs on 'none' only (the parity test on all)."""
    return [
        _case(f"{name}_{r}", lambda L, r=r: make(L, r), inputs, call, gradgradcheck=r == "none")
        for r in ("none", "mean", "sum")
    ]


def _with(*targets):
    """Call a loss on the differentiable inputs followed by constant targets."""
    return lambda L, m, *xs: m(*xs, *[_t(L, t) for t in targets])


def _log_softmax(a, axis):
    a = a - a.max(axis, keepdims=True)
    return a - np.log(np.exp(a).sum(axis, keepdims=True))


def _pos(*shapes):
    return lambda rng: [rng.uniform(0.5, 2.0, s) for s in shapes]


LOSSES = [
    *_loss("L1Loss", lambda L, r: L.nn.L1Loss(reduction=r), [(3, 4), (3, 4)]),
    *_loss("MSELoss", lambda L, r: L.nn.MSELoss(reduction=r), [(3, 4), (3, 4)]),
    *_loss("NLLLoss", lambda L, r: L.nn.NLLLoss(reduction=r), [(3, 4)], _with(T3)),
    *_loss(
        "NLLLoss_weight_ignore",
        lambda L, r: L.nn.NLLLoss(_t(L, W4), ignore_index=0, reduction=r),
        [(3, 4)],
        _with(T3),
    ),
    *_loss(
        "NLLLoss_2d",
        lambda L, r: L.nn.NLLLoss(reduction=r),
        [(2, 3, 2, 2)],
        _with(np.array([[[0, 2], [1, 1]], [[2, 0], [0, 1]]])),
    ),
    *_loss(
        "CrossEntropyLoss", lambda L, r: L.nn.CrossEntropyLoss(reduction=r), [(3, 4)], _with(T3)
    ),
    *_loss(
        "CrossEntropyLoss_weight",
        lambda L, r: L.nn.CrossEntropyLoss(_t(L, W4), reduction=r),
        [(3, 4)],
        _with(T3),
    ),
    *_loss(
        "CrossEntropyLoss_ignore_index",
        lambda L, r: L.nn.CrossEntropyLoss(ignore_index=3, reduction=r),
        [(3, 4)],
        _with(T3),
    ),
    *_loss(
        "CrossEntropyLoss_smoothing",
        lambda L, r: L.nn.CrossEntropyLoss(label_smoothing=0.2, reduction=r),
        [(3, 4)],
        _with(T3),
    ),
    *_loss(
        "CrossEntropyLoss_weight_smoothing_ignore",
        lambda L, r: L.nn.CrossEntropyLoss(
            _t(L, W4), ignore_index=0, label_smoothing=0.3, reduction=r
        ),
        [(3, 4)],
        _with(T3),
    ),
    *_loss(
        "CrossEntropyLoss_2d",
        lambda L, r: L.nn.CrossEntropyLoss(label_smoothing=0.1, reduction=r),
        [(2, 3, 2)],
        _with(np.array([[0, 2], [1, 1]])),
    ),
    *_loss(
        "CrossEntropyLoss_probs",
        lambda L, r: L.nn.CrossEntropyLoss(_t(L, W4), label_smoothing=0.2, reduction=r),
        lambda rng: [rng.standard_normal((3, 4)), rng.dirichlet(np.ones(4), 3)],
    ),
    *_loss("BCELoss", lambda L, r: L.nn.BCELoss(reduction=r), _probs((3, 4), (3, 4))),
    *_loss(
        "BCELoss_weight",
        lambda L, r: L.nn.BCELoss(_t(L, W4), reduction=r),
        _probs((3, 4), (3, 4)),
    ),
    *_loss(
        "BCEWithLogitsLoss",
        lambda L, r: L.nn.BCEWithLogitsLoss(_t(L, W4), pos_weight=_t(L, W4R), reduction=r),
        lambda rng: [rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4))],
    ),
    *_loss(
        "KLDivLoss",
        lambda L, r: L.nn.KLDivLoss(reduction="batchmean" if r == "mean" else r),
        lambda rng: [rng.standard_normal((3, 4)), rng.uniform(0.1, 1.0, (3, 4))],
    ),
    *_loss(
        "KLDivLoss_log_target",
        lambda L, r: L.nn.KLDivLoss(reduction=r, log_target=True),
        [(3, 4), (3, 4)],
    ),
    *_loss("PoissonNLLLoss", lambda L, r: L.nn.PoissonNLLLoss(reduction=r), _pos((3, 4), (3, 4))),
    *_loss(
        "PoissonNLLLoss_full",
        lambda L, r: L.nn.PoissonNLLLoss(log_input=False, full=True, reduction=r),
        _pos((3, 4), (3, 4)),
    ),
    *_loss(
        "GaussianNLLLoss",
        lambda L, r: L.nn.GaussianNLLLoss(full=True, reduction=r),
        lambda rng: [
            rng.standard_normal((3, 4)),
            rng.standard_normal((3, 4)),
            rng.uniform(0.5, 2, (3, 4)),
        ],
    ),
    *_loss(
        "HingeEmbeddingLoss",
        lambda L, r: L.nn.HingeEmbeddingLoss(margin=0.5, reduction=r),
        [(3, 4)],
        _with(SIGNS),
    ),
    *_loss(
        "MultiLabelMarginLoss",
        lambda L, r: L.nn.MultiLabelMarginLoss(reduction=r),
        [(3, 4)],
        _with(np.array([[3, 0, -1, 1], [0, 1, 2, 3], [1, -1, 0, 0]])),
    ),
    *_loss("SmoothL1Loss", lambda L, r: L.nn.SmoothL1Loss(reduction=r, beta=0.5), [(3, 4), (3, 4)]),
    *_loss("HuberLoss", lambda L, r: L.nn.HuberLoss(reduction=r, delta=0.7), [(3, 4), (3, 4)]),
    *_loss("SoftMarginLoss", lambda L, r: L.nn.SoftMarginLoss(reduction=r), [(3, 4)], _with(SIGNS)),
    *_loss(
        "MultiLabelSoftMarginLoss",
        lambda L, r: L.nn.MultiLabelSoftMarginLoss(_t(L, W4), reduction=r),
        [(3, 4)],
        _with((SIGNS > 0).astype(float)),
    ),
    *_loss(
        "CosineEmbeddingLoss",
        lambda L, r: L.nn.CosineEmbeddingLoss(margin=0.1, reduction=r),
        [(3, 4), (3, 4)],
        _with(np.array([1.0, -1.0, 1.0])),
    ),
    *_loss(
        "MarginRankingLoss",
        lambda L, r: L.nn.MarginRankingLoss(margin=0.1, reduction=r),
        [(3,), (3,)],
        _with(np.array([1.0, -1.0, 1.0])),
    ),
    *_loss("MultiMarginLoss", lambda L, r: L.nn.MultiMarginLoss(reduction=r), [(3, 4)], _with(T3)),
    *_loss(
        "MultiMarginLoss_p2_weight",
        lambda L, r: L.nn.MultiMarginLoss(p=2, margin=0.8, weight=_t(L, W4), reduction=r),
        [(3, 4)],
        _with(T3),
    ),
    *_loss(
        "TripletMarginLoss",
        lambda L, r: L.nn.TripletMarginLoss(margin=2.0, swap=True, reduction=r),
        [(3, 4), (3, 4), (3, 4)],
    ),
    *_loss(
        "TripletMarginWithDistanceLoss",
        lambda L, r: L.nn.TripletMarginWithDistanceLoss(margin=3.0, reduction=r),
        [(3, 4), (3, 4), (3, 4)],
    ),
    *_loss(
        "CTCLoss",
        lambda L, r: L.nn.CTCLoss(reduction=r),
        lambda rng: [_log_softmax(rng.standard_normal((5, 2, 4)), 2)],
        lambda L, m, x: m(x, _t(L, [[1, 2], [3, 1]]), [5, 4], [2, 1]),
    ),
]

CASES = LAYERS + NORMS + RECURRENT + LOSSES


# ---------------------------------------------------------------------------
# the checks


def _state(case):
    """PyTorch's parameters and buffers for the case, parameters and running
    statistics randomised so that every term of the second derivative shows."""
    torch.manual_seed(0)
    m = case.build(torch).double()
    rng = np.random.default_rng(1)
    params = {n for n, _ in m.named_parameters()}
    state = {}
    for k, v in m.state_dict().items():
        a = v.detach().numpy().copy()
        if k in params:
            a = 0.5 * rng.standard_normal(a.shape)
        elif k.endswith("running_var"):
            a = rng.uniform(0.5, 1.5, a.shape)
        elif k.endswith("running_mean"):
            a = 0.3 * rng.standard_normal(a.shape)
        state[k] = a
    return state


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _module(L, case, state):
    m = case.build(L).double()
    m.load_state_dict({k: L.tensor(v) for k, v in state.items()})
    return m


def _double_backward(L, case, arrays, state, seed=0):
    """First and second derivatives of the case's outputs with respect to its inputs and
    parameters, under random upstream ``u`` and ``v`` (seeded: the same in both libraries).
    The second is the exception type when differentiating the gradient raises."""
    m = _module(L, case, state)
    xs = [L.tensor(a, requires_grad=True) for a in arrays]
    wrt = xs + [p for _, p in m.named_parameters()]
    # PyTorch's fused CPU attention kernels have no double backward, its math path has:
    # which one runs is a kernel choice, not semantics, so compare with the math path.
    with sdpa_kernel(SDPBackend.MATH) if L is torch else contextlib.nullcontext():
        outs = [o for o in _flat(case.call(L, m, *xs)) if o.requires_grad]
    rng = np.random.default_rng(seed)
    us = [L.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
    gs = L.autograd.grad(outs, wrt, us, create_graph=True, allow_unused=True)
    vs = [None if g is None else L.tensor(rng.standard_normal(tuple(g.shape))) for g in gs]
    terms = [(g * v).sum() for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    if not terms:
        return gs, [None] * len(wrt)
    try:
        ggs = L.autograd.grad(sum(terms), wrt, allow_unused=True)
    except RuntimeError as e:
        return gs, e
    return gs, ggs


def _numpy(t, like):
    if t is None:
        return np.zeros(tuple(like.shape))
    # PyTorch answers some zero second derivatives with a ZeroTensor
    return t.detach().numpy(force=True) if isinstance(t, torch.Tensor) else t.detach().numpy()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_double_backward_matches_torch(case):
    arrays = case.inputs(np.random.default_rng(0))
    state = _state(case)
    t_gs, t_ggs = _double_backward(torch, case, arrays, state)
    g_gs, g_ggs = _double_backward(tapegrad, case, arrays, state)
    for k, (ta, ga) in enumerate(zip(t_gs, g_gs)):
        if ta is not None:
            np.testing.assert_allclose(
                _numpy(ga, ta), ta.detach().numpy(), rtol=1e-6, atol=1e-8, err_msg=f"d/dx{k}"
            )
    if isinstance(t_ggs, Exception):
        assert isinstance(g_ggs, RuntimeError), f"PyTorch raises {t_ggs!r}, tapegrad gave {g_ggs}"
        assert str(g_ggs) == str(t_ggs)
        return
    assert not isinstance(g_ggs, Exception), f"tapegrad raised {g_ggs!r}, PyTorch did not"
    for k, (ta, ga) in enumerate(zip(t_ggs, g_ggs)):
        like = ta if ta is not None else ga
        if like is None:
            continue
        np.testing.assert_allclose(
            _numpy(ga, like), _numpy(ta, like), rtol=1e-6, atol=1e-8, err_msg=f"d2/dx{k}"
        )


# PyTorch has no double backward for these (the parity test checks that tapegrad raises too)
NO_DOUBLE_BACKWARD = ("Hardsigmoid", "MultiMarginLoss", "MultiLabelMarginLoss", "CTCLoss")


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.gradgradcheck and not c.name.startswith(NO_DOUBLE_BACKWARD)],
    ids=lambda c: c.name,
)
def test_gradgradcheck(case):
    """tapegrad's second derivatives agree with finite differences of its gradient: with
    respect to the inputs, or to the parameters for a layer without float inputs."""
    arrays = case.inputs(np.random.default_rng(0))
    m = _module(tapegrad, case, _state(case))
    xs = [tapegrad.tensor(a, requires_grad=True) for a in arrays]
    wrt = xs or [p for _, p in m.named_parameters()]

    def f(*args):
        return tuple(o for o in _flat(case.call(tapegrad, m, *xs)) if o.requires_grad)

    assert tapegrad.autograd.gradgradcheck(f, wrt, eps=1e-6, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------------------
# third order: the backward formulas' own graphs are differentiable again


def _F(L):
    return L.nn.functional


THIRD = [
    ("linear", lambda L, x, w: L.tanh(_F(L).linear(x, w)), [(2, 3), (4, 3)]),
    ("gelu", lambda L, x: _F(L).gelu(x), [(2, 3)]),
    ("gelu_tanh", lambda L, x: _F(L).gelu(x, approximate="tanh"), [(2, 3)]),
    ("silu", lambda L, x: _F(L).silu(x), [(2, 3)]),
    ("mish", lambda L, x: _F(L).mish(x), [(2, 3)]),
    ("softplus", lambda L, x: _F(L).softplus(x, 2.0), [(2, 3)]),
    ("elu", lambda L, x: _F(L).elu(x, 0.7), [(2, 3)]),
    ("logsigmoid", lambda L, x: _F(L).logsigmoid(x), [(2, 3)]),
    # PyTorch's third derivative of its fused norms treats the saved mean and 1/std as
    # constants (it differs from its own composition's): the reference is the composition.
    (
        "layer_norm",
        lambda L, x, w: _F(L).layer_norm(x, (3,), w),
        [(2, 3), (3,)],
        lambda L, x, w: _normalized(L, x, -1) * w,
    ),
    (
        "batch_norm",
        lambda L, x: _F(L).batch_norm(x, None, None, training=True),
        [(3, 2)],
        lambda L, x: _normalized(L, x, 0),
    ),
    (
        "cross_entropy",
        lambda L, x: _F(L).cross_entropy(
            x, _t(L, T3), _t(L, W4), ignore_index=0, label_smoothing=0.2
        ),
        [(3, 4)],
    ),
    (
        "cross_entropy_probs",
        lambda L, x, p: _F(L).cross_entropy(x, p, reduction="sum"),
        [(3, 4), (3, 4)],
    ),
    (
        "binary_cross_entropy",
        lambda L, x: _F(L).binary_cross_entropy(L.sigmoid(x), _t(L, (SIGNS > 0) * 0.8)),
        [(3, 4)],
    ),
    (
        "embedding",
        lambda L, w: L.tanh(_F(L).embedding(_t(L, [[0, 1], [1, 3]]), w, padding_idx=3)),
        [(4, 2)],
    ),
    ("pad_reflect", lambda L, x: L.tanh(_F(L).pad(x, (2, 1), mode="reflect")), [(2, 4)]),
    ("pad_constant", lambda L, x: L.tanh(_F(L).pad(x, (2, -1), value=0.5)), [(2, 4)]),
]


def _normalized(L, x, dim, eps=1e-5):
    xc = x - x.mean(dim, keepdim=True)
    return xc / L.sqrt((xc * xc).mean(dim, keepdim=True) + eps)


def _third_order(L, fn, arrays):
    rng = np.random.default_rng(5)
    xs = [L.tensor(a, requires_grad=True) for a in arrays]
    out = fn(L, *xs)
    grads = L.autograd.grad(out, xs, L.tensor(rng.standard_normal(tuple(out.shape))), True, True)
    for last in (False, True):
        total = sum((g * L.tensor(rng.standard_normal(tuple(g.shape)))).sum() for g in grads)
        grads = L.autograd.grad(total, xs, create_graph=not last, allow_unused=True)
        grads = [L.zeros_like(x) if g is None else g for g, x in zip(grads, xs)]
    return [g.detach().numpy() for g in grads]


@pytest.mark.parametrize("case", THIRD, ids=[t[0] for t in THIRD])
def test_third_order_matches_torch(case):
    _, fn, shapes, *ref = case
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    expected = _third_order(torch, ref[0] if ref else fn, arrays)
    for t, g in zip(expected, _third_order(tapegrad, fn, arrays)):
        np.testing.assert_allclose(g, t, rtol=1e-6, atol=1e-8)
