"""Loss parity with PyTorch: module and functional forms, every reduction, gradients under a
random upstream gradient, gradcheck in float64, stability for huge logits, and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error, compare, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad
from tapegrad.autograd import gradcheck

R = np.random.default_rng(99)
REDUCTIONS = ("none", "mean", "sum")


def _randn(*shape, dtype=np.float32):
    return R.standard_normal(shape).astype(dtype)


def _probs(*shape, dtype=np.float32):
    return R.uniform(0.05, 0.95, shape).astype(dtype)


def _labels(n, c, *rest):
    return R.integers(0, c, (n, *rest)).astype(np.int64)


def _signs(*shape, dtype=np.float32):
    return np.where(R.random(shape) < 0.5, -1.0, 1.0).astype(dtype)


def _softmax_rows(*shape, dtype=np.float32):
    e = np.exp(R.standard_normal(shape))
    return (e / e.sum(1, keepdims=True)).astype(dtype)


def _t(lib, a):
    return None if a is None else lib.tensor(a)


# name, module kwargs, input generators (grad for float arrays unless listed in nograd)
CASES = [
    ("MSELoss", {}, lambda: [_randn(4, 3), _randn(4, 3)]),
    ("L1Loss", {}, lambda: [_randn(4, 3), _randn(4, 3)]),
    ("SmoothL1Loss", {}, lambda: [_randn(5, 3), _randn(5, 3)]),
    ("SmoothL1Loss", {"beta": 0.5}, lambda: [_randn(5, 3) * 2, _randn(5, 3)]),
    ("HuberLoss", {}, lambda: [_randn(5, 3) * 2, _randn(5, 3)]),
    ("HuberLoss", {"delta": 0.3}, lambda: [_randn(6), _randn(6)]),
    ("CrossEntropyLoss", {}, lambda: [_randn(5, 4), _labels(5, 4)]),
    ("CrossEntropyLoss", {"label_smoothing": 0.2}, lambda: [_randn(5, 4), _labels(5, 4)]),
    ("CrossEntropyLoss", {"ignore_index": 1}, lambda: [_randn(6, 3), np.array([0, 1, 2, 1, 0, 2])]),
    ("CrossEntropyLoss", {}, lambda: [_randn(2, 3, 4, 2), _labels(2, 3, 4, 2)]),
    ("CrossEntropyLoss", {}, lambda: [_randn(4), np.array(2)]),
    ("CrossEntropyLoss", {}, lambda: [_randn(5, 4), _softmax_rows(5, 4)]),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, lambda: [_randn(3, 4), _softmax_rows(3, 4)]),
    ("CrossEntropyLoss", {}, lambda: [_randn(2, 3, 2), _softmax_rows(2, 3, 2)]),
    ("NLLLoss", {}, lambda: [_randn(5, 4), _labels(5, 4)]),
    ("NLLLoss", {"ignore_index": 0}, lambda: [_randn(6, 3), np.array([0, 1, 2, 1, 0, 2])]),
    ("NLLLoss", {}, lambda: [_randn(2, 3, 4), _labels(2, 3, 4)]),
    ("BCELoss", {}, lambda: [_probs(4, 3), _probs(4, 3)]),
    ("BCEWithLogitsLoss", {}, lambda: [_randn(4, 3), _probs(4, 3)]),
    ("MultiMarginLoss", {}, lambda: [_randn(5, 4), _labels(5, 4)]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, lambda: [_randn(5, 4), _labels(5, 4)]),
    ("MultiMarginLoss", {}, lambda: [_randn(4), np.array([1])]),
    ("MultiMarginLoss", {}, lambda: [_randn(4), np.array(2)]),
    ("HingeEmbeddingLoss", {}, lambda: [_randn(4, 3), _signs(4, 3)]),
    ("HingeEmbeddingLoss", {"margin": 0.5}, lambda: [_randn(7), _signs(7)]),
    ("KLDivLoss", {"reduction": "batchmean"}, lambda: [_randn(4, 3), _probs(4, 3)]),
    ("KLDivLoss", {"log_target": True}, lambda: [_randn(4, 3), _randn(4, 3)]),
    ("KLDivLoss", {}, lambda: [_randn(4, 3), _probs(4, 3)]),
    ("SoftMarginLoss", {}, lambda: [_randn(4, 3), _signs(4, 3)]),
    ("MarginRankingLoss", {}, lambda: [_randn(6), _randn(6), _signs(6)]),
    ("MarginRankingLoss", {"margin": 0.3}, lambda: [_randn(6), _randn(6), _signs(6)]),
    ("CosineEmbeddingLoss", {}, lambda: [_randn(4, 5), _randn(4, 5), _signs(4)]),
    ("CosineEmbeddingLoss", {"margin": 0.2}, lambda: [_randn(4, 5), _randn(4, 5), _signs(4)]),
    ("MultiLabelSoftMarginLoss", {}, lambda: [_randn(4, 3), _probs(4, 3).round()]),
    ("MultiLabelMarginLoss", {}, lambda: [_randn(3, 4), np.array([[3, 0, -1, 1]] * 3)]),
    ("PoissonNLLLoss", {}, lambda: [_randn(4, 3), _probs(4, 3) * 3]),
    ("PoissonNLLLoss", {"log_input": False, "full": True},
     lambda: [_probs(4, 3), _probs(4, 3) * 4]),
    ("GaussianNLLLoss", {}, lambda: [_randn(4, 3), _randn(4, 3), _probs(4, 3)]),
    ("TripletMarginLoss", {}, lambda: [_randn(4, 5), _randn(4, 5), _randn(4, 5)]),
    ("TripletMarginLoss", {"p": 1.0, "swap": True},
     lambda: [_randn(4, 5), _randn(4, 5), _randn(4, 5)]),
    ("TripletMarginWithDistanceLoss", {}, lambda: [_randn(4, 5), _randn(4, 5), _randn(4, 5)]),
]  # fmt: skip


def _target_needs_no_grad(name):
    # PyTorch does not differentiate these losses with respect to the target.
    return name in {"MultiMarginLoss", "MultiLabelMarginLoss", "HingeEmbeddingLoss",
                    "SoftMarginLoss", "MarginRankingLoss", "CosineEmbeddingLoss"}  # fmt: skip


def _grad_mask(name, arrays):
    mask = [a.dtype.kind == "f" for a in arrays]
    if _target_needs_no_grad(name):
        mask[-1] = False
    if name == "BCELoss":
        mask[-1] = False  # torch's BCE has no target gradient formula
    return mask


@pytest.mark.parametrize("name,kwargs,gen", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_module_parity(name, kwargs, gen, reduction):
    if kwargs.get("reduction") == "batchmean" and reduction != "mean":
        return
    kw = dict(kwargs)
    kw.setdefault("reduction", reduction)
    arrays = gen()
    mask = _grad_mask(name, arrays)

    def fn(lib, *tensors):
        ts = []
        for t, m in zip(tensors, mask):
            if not m and isinstance(t, (torch.Tensor, tapegrad.Tensor)) and t.requires_grad:
                t = t.detach()
            ts.append(t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(lib.nn, name)(**kw)(*ts)

    compare(fn, arrays, rtol=1e-5, atol=1e-6, grad_rtol=1e-5, grad_atol=1e-6)
    assert repr(getattr(tapegrad.nn, name)(**kw)) == repr(getattr(torch.nn, name)(**kw))


@pytest.mark.parametrize("name,kwargs,gen", CASES, ids=[c[0] for c in CASES])
def test_loss_gradcheck(name, kwargs, gen):
    arrays = gen()
    mask = _grad_mask(name, arrays)
    kw = dict(kwargs)
    kw.setdefault("reduction", "sum")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = getattr(tapegrad.nn, name)(**kw)
    ts = []
    for a, m in zip(arrays, mask):
        if a.dtype.kind == "f":
            ts.append(tapegrad.tensor(a.astype(np.float64), requires_grad=m))
        else:
            ts.append(tapegrad.tensor(a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert gradcheck(lambda *args: mod(*args), tuple(ts), eps=1e-6, atol=1e-5, rtol=1e-3)


# ---------------------------------------------------------------------------
# weighted losses


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_weight_ignore_index_smoothing(reduction, smoothing):
    x, w = _randn(7, 4), R.uniform(0.2, 2.0, 4).astype(np.float32)
    y = np.array([0, 3, 1, -100, 2, 3, 1])
    y5 = np.array([0, 3, 5, 5, 2, 5, 1])

    def ce(lib, a, ww, tt, **kw):
        return lib.nn.CrossEntropyLoss(weight=ww, reduction=reduction,
                                       label_smoothing=smoothing, **kw)(a, tt)  # fmt: skip

    compare(lambda lib, a: ce(lib, a, lib.tensor(w), lib.tensor(y)), [x], grad_rtol=1e-5)
    compare(lambda lib, a: ce(lib, a, lib.tensor(w), lib.tensor(y5 % 4), ignore_index=3), [x])
    compare(lambda lib, a: ce(lib, a, None, lib.tensor(y5 % 4), ignore_index=1), [x])
    # class probabilities with a weight
    p = _softmax_rows(7, 4)
    compare(lambda lib, a, pp: ce(lib, a, lib.tensor(w), pp), [x, p])
    # functional form, spatial targets with weight and ignore_index
    xs, ys = _randn(2, 4, 3, 2), _labels(2, 4, 3, 2)
    ys[0, 0, 0] = 2
    compare(
        lambda lib, a: lib.nn.functional.cross_entropy(
            a, lib.tensor(ys), lib.tensor(w), ignore_index=2, reduction=reduction,
            label_smoothing=smoothing,
        ),
        [xs],
    )  # fmt: skip


def test_cross_entropy_all_ignored_and_weight_gradcheck():
    x = _randn(3, 4)
    y = np.full(3, -100)
    # all targets ignored: mean is 0/0 = nan in PyTorch
    compare(lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(y)), [x])
    compare(lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(y), reduction="sum"), [x])
    compare(lambda lib, a: lib.nn.functional.nll_loss(a, lib.tensor(y)), [x])
    xw = tapegrad.tensor(R.standard_normal((5, 3)), requires_grad=True)
    w = tapegrad.tensor(R.uniform(0.5, 2, 3))
    yt = tapegrad.tensor([0, 2, 1, 1, -100])
    assert gradcheck(
        lambda a: tapegrad.nn.functional.cross_entropy(a, yt, w, label_smoothing=0.3), (xw,)
    )
    pt = tapegrad.tensor(_softmax_rows(5, 3).astype(np.float64))
    assert gradcheck(
        lambda a: tapegrad.nn.functional.cross_entropy(a, pt, w, label_smoothing=0.3), (xw,)
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_bce_multimargin_weights(reduction):
    w = R.uniform(0.2, 2.0, 4).astype(np.float32)
    x, y = _randn(6, 4), np.array([0, 3, 1, 2, 2, 3])
    compare(
        lambda lib, a: lib.nn.NLLLoss(lib.tensor(w), reduction=reduction)(a, lib.tensor(y)), [x]
    )
    compare(
        lambda lib, a: lib.nn.NLLLoss(lib.tensor(w), ignore_index=2, reduction=reduction)(
            a, lib.tensor(y)
        ),
        [x],
    )
    compare(
        lambda lib, a: lib.nn.MultiMarginLoss(weight=lib.tensor(w), reduction=reduction)(
            a, lib.tensor(y)
        ),
        [x],
    )
    p, t, bw = _probs(3, 4), _probs(3, 4), R.uniform(0.5, 2, (3, 4)).astype(np.float32)
    compare(
        lambda lib, a: lib.nn.BCELoss(lib.tensor(bw), reduction=reduction)(a, lib.tensor(t)), [p]
    )
    compare(
        lambda lib, a: lib.nn.BCELoss(lib.tensor(w), reduction=reduction)(a, lib.tensor(t)), [p]
    )
    pw = R.uniform(0.5, 3, 4).astype(np.float32)
    for weight in (None, bw):
        compare(
            lambda lib, a, tt, weight=weight: lib.nn.BCEWithLogitsLoss(
                weight=_t(lib, weight), pos_weight=lib.tensor(pw), reduction=reduction
            )(a, tt),
            [_randn(3, 4), t],
        )  # fmt: skip


def test_bce_with_logits_pos_weight_gradcheck():
    x = tapegrad.tensor(R.standard_normal((3, 4)), requires_grad=True)
    t = tapegrad.tensor(R.uniform(0, 1, (3, 4)), requires_grad=True)
    pw = tapegrad.tensor(R.uniform(0.5, 3, 4), requires_grad=True)
    w = tapegrad.tensor(R.uniform(0.5, 3, (3, 4)))
    f = tapegrad.nn.functional.binary_cross_entropy_with_logits
    assert gradcheck(lambda a, b, c: f(a, b, w, pos_weight=c), (x, t, pw))


def test_loss_state_dict_keys():
    w = torch.ones(3)
    for name, kw in (("CrossEntropyLoss", {"weight": 1}), ("NLLLoss", {"weight": 1}),
                     ("BCEWithLogitsLoss", {"weight": 1, "pos_weight": 1}),
                     ("MultiMarginLoss", {"weight": 1}), ("CrossEntropyLoss", {})):  # fmt: skip
        t = getattr(torch.nn, name)(**{k: w for k in kw})
        g = getattr(tapegrad.nn, name)(**{k: tapegrad.ones(3) for k in kw})
        assert list(g.state_dict()) == list(t.state_dict())
    assert repr(tapegrad.nn.TripletMarginWithDistanceLoss()) == repr(
        torch.nn.TripletMarginWithDistanceLoss()
    )


# ---------------------------------------------------------------------------
# numerical stability


def test_huge_logits_are_stable():
    big = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [3e4, 3e4, -3e4]], np.float32)
    y = np.array([1, 1, 2])
    soft, probs, signs = _softmax_rows(3, 3), _probs(3, 3), _signs(3, 3)
    fns = [
        lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(y)),
        lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(y), label_smoothing=0.1),
        lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(soft)),
        lambda lib, a: lib.nn.functional.nll_loss(lib.nn.functional.log_softmax(a, 1), _t(lib, y)),
        lambda lib, a: lib.nn.functional.binary_cross_entropy_with_logits(
            a, lib.tensor(probs), pos_weight=lib.tensor([2.0, 0.5, 1.0])),
        lambda lib, a: lib.nn.functional.soft_margin_loss(a, lib.tensor(signs)),
        lambda lib, a: lib.nn.functional.multilabel_soft_margin_loss(a, lib.tensor(probs)),
        lambda lib, a: lib.nn.functional.log_softmax(a, 1),
        lambda lib, a: lib.nn.functional.softmax(a, 0),
        lambda lib, a: lib.nn.functional.logsigmoid(a),
        lambda lib, a: lib.nn.functional.softplus(a),
    ]  # fmt: skip
    for i, fn in enumerate(fns):
        for dt in (np.float32, np.float64):
            x = tapegrad.tensor(big.astype(dt), requires_grad=True)
            out = fn(tapegrad, x)
            out.sum().backward()
            assert np.isfinite(out.detach().numpy()).all(), i
            assert np.isfinite(x.grad.numpy()).all(), i
        if i != 5:  # PyTorch's soft_margin_loss overflows to inf here; tapegrad stays finite
            compare(fn, [big], rtol=1e-5, atol=1e-3)


def test_bce_clamps_log_at_minus_100():
    p = np.array([0.0, 1.0, 1e-30, 0.5], np.float32)
    t = np.array([1.0, 0.0, 1.0, 0.5], np.float32)
    compare(
        lambda lib, a: lib.nn.functional.binary_cross_entropy(a, _t(lib, t), reduction="none"),
        [p],
        grad=False,
    )


# ---------------------------------------------------------------------------
# errors: same exception type as PyTorch


def test_loss_errors():
    F = "nn.functional"

    def f(lib, name):
        obj = lib
        for part in F.split("."):
            obj = getattr(obj, part)
        return getattr(obj, name)

    x = lambda lib: lib.ones(3, 4)  # noqa: E731
    errs = [
        # wrong target shape or dtype
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.tensor([0, 1])),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.tensor([0.0, 1.0, 2.0])),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.tensor([[0, 1, 2]])),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.tensor([0, 1, 4])),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.ones(3, 4, dtype=lib.int64)),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.tensor([0, 1, 2]), lib.ones(3)),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.tensor([0, 1, 2]), label_smoothing=1.5),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.ones(3, 4), ignore_index=1),
        lambda lib: f(lib, "cross_entropy")(lib.ones(2, 3, 4), lib.tensor([[0, 1, 2]] * 2)),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.tensor([0, 1, 2]), reduction="avg"),
        lambda lib: f(lib, "nll_loss")(x(lib), lib.tensor([0, 1])),
        lambda lib: f(lib, "nll_loss")(x(lib), lib.tensor([0, 1, 2], dtype=lib.int32)),
        lambda lib: f(lib, "nll_loss")(x(lib), lib.tensor([0, -1, 2])),
        lambda lib: f(lib, "binary_cross_entropy")(lib.full((3,), 0.5), lib.ones(2)),
        lambda lib: f(lib, "binary_cross_entropy")(lib.full((3,), 1.5), lib.ones(3)),
        lambda lib: f(lib, "binary_cross_entropy_with_logits")(x(lib), lib.ones(3)),
        lambda lib: f(lib, "multi_margin_loss")(x(lib), lib.tensor([0, 1])),
        lambda lib: f(lib, "multi_margin_loss")(x(lib), lib.tensor([0, 1, 2]), p=3),
        lambda lib: f(lib, "mse_loss")(x(lib), lib.ones(2, 4)),
        lambda lib: f(lib, "l1_loss")(x(lib), lib.ones(3, 4), reduction="bad"),
        lambda lib: f(lib, "smooth_l1_loss")(x(lib), lib.ones(3, 4), beta=-1.0),
        lambda lib: f(lib, "huber_loss")(x(lib), lib.ones(3, 4), delta=0.0),
        lambda lib: f(lib, "margin_ranking_loss")(lib.ones(3), lib.ones(3), lib.ones(3, 1)),
        lambda lib: f(lib, "kl_div")(x(lib), lib.ones(3, 4), reduction="bad"),
        lambda lib: lib.nn.MultiMarginLoss(p=3),
        lambda lib: lib.nn.MultiMarginLoss(weight=lib.ones(2, 2)),
        lambda lib: lib.nn.TripletMarginLoss(margin=0.0),
        lambda lib: lib.nn.HuberLoss(delta="1"),
        # integer inputs and mismatched target dtypes
        lambda lib: f(lib, "mse_loss")(lib.ones(3, dtype=lib.int64), lib.ones(3, dtype=lib.int64)),
        lambda lib: f(lib, "smooth_l1_loss")(
            lib.ones(3, dtype=lib.int64), lib.ones(3, dtype=lib.int64)
        ),
        lambda lib: f(lib, "huber_loss")(
            lib.ones(3, dtype=lib.int64), lib.ones(3, dtype=lib.int64)
        ),
        lambda lib: f(lib, "kl_div")(lib.ones(3, dtype=lib.int64), lib.ones(3, dtype=lib.int64)),
        lambda lib: f(lib, "binary_cross_entropy")(
            lib.full((3,), 0.5), lib.ones(3, dtype=lib.int64)
        ),
        lambda lib: f(lib, "binary_cross_entropy")(
            lib.full((3,), 0.5), lib.ones(3, dtype=lib.float64)
        ),
        lambda lib: f(lib, "binary_cross_entropy_with_logits")(
            lib.ones(3), lib.ones(3, dtype=lib.int64)
        ),
        lambda lib: f(lib, "binary_cross_entropy_with_logits")(
            lib.ones(3, dtype=lib.int64), lib.ones(3)
        ),
        lambda lib: f(lib, "soft_margin_loss")(
            lib.ones(3, dtype=lib.int64), lib.ones(3, dtype=lib.int64)
        ),
        lambda lib: f(lib, "multi_margin_loss")(x(lib), lib.ones(3)),
        lambda lib: f(lib, "multilabel_margin_loss")(x(lib), lib.ones(3, 3, dtype=lib.int64)),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.ones(3, dtype=lib.bool)),
        lambda lib: f(lib, "cross_entropy")(x(lib), lib.ones(3, dtype=lib.int32)),
        lambda lib: f(lib, "cross_entropy")(lib.ones(()), lib.tensor(0)),
        lambda lib: f(lib, "nll_loss")(x(lib), lib.tensor([0, 1, 2]), lib.ones(3)),
        lambda lib: f(lib, "nll_loss")(lib.ones(2, 3, 4), lib.zeros(2, 5, dtype=lib.int64)),
        lambda lib: f(lib, "gaussian_nll_loss")(lib.ones(3), lib.ones(3), -lib.ones(3)),
        lambda lib: f(lib, "gaussian_nll_loss")(lib.ones(3, 4), lib.ones(3, 4), lib.ones(2)),
        lambda lib: f(lib, "margin_ranking_loss")(lib.ones(3), lib.ones(4), lib.ones(3)),
        lambda lib: f(lib, "cosine_embedding_loss")(lib.ones(3, 4), lib.ones(3, 4), lib.ones(3, 1)),
        lambda lib: f(lib, "triplet_margin_loss")(lib.ones(3, 4), lib.ones(3, 4), lib.ones(4)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, fn in enumerate(errs):
            try:
                assert_same_error(fn)
            except AssertionError as e:
                raise AssertionError(f"case {i}: {e}") from None


def test_legacy_size_average_and_reduce():
    x, y = _randn(4, 3), _randn(4, 3)
    for sa, red in ((False, None), (None, False), (True, True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = torch.nn.MSELoss(size_average=sa, reduce=red)
            g = tapegrad.nn.MSELoss(size_average=sa, reduce=red)
        assert g.reduction == t.reduction
        assert_same(t(torch.tensor(x), torch.tensor(y)), g(tapegrad.tensor(x), tapegrad.tensor(y)))


def test_target_size_warning():
    with pytest.warns(UserWarning, match="target size"):
        tapegrad.nn.functional.mse_loss(tapegrad.ones(3, 1), tapegrad.ones(3))
    with pytest.warns(UserWarning, match="broadcasting"):
        out = to_numpy(tapegrad.nn.functional.mse_loss(tapegrad.ones(3, 1), tapegrad.zeros(3)))
    assert out == 1.0


def test_mixed_dtype_results():
    x32 = _randn(3, 4)
    p64 = _softmax_rows(3, 4, dtype=np.float64)
    for fn in (
        lambda lib, a, t: lib.nn.functional.cross_entropy(a, t),
        lambda lib, a, t: lib.nn.functional.mse_loss(a, t),
        lambda lib, a, t: lib.nn.functional.l1_loss(a, t),
        lambda lib, a, t: lib.nn.functional.kl_div(a, t, reduction="batchmean"),
    ):
        t_out = fn(torch, torch.tensor(x32), torch.tensor(p64))
        g_out = fn(tapegrad, tapegrad.tensor(x32), tapegrad.tensor(p64))
        assert_same(t_out, g_out, rtol=1e-6, atol=1e-7)
    t_out = torch.nn.functional.huber_loss(torch.tensor(x32), torch.tensor(p64))
    g_out = tapegrad.nn.functional.huber_loss(tapegrad.tensor(x32), tapegrad.tensor(p64))
    assert_same(t_out, g_out)


# ---------------------------------------------------------------------------
# random configurations


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 4),
    c=st.integers(2, 5),
    spatial=st.lists(st.integers(1, 3), max_size=2),
    weighted=st.booleans(),
    ignore=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.05, 0.5]),
    reduction=st.sampled_from(REDUCTIONS),
    probs=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_random_configurations(
    n, c, spatial, weighted, ignore, smoothing, reduction, probs, seed
):
    rng = np.random.default_rng(seed)
    shape = (n, c, *spatial)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(0.2, 2.0, c).astype(np.float32) if weighted else None
    if probs:
        e = np.exp(rng.standard_normal(shape))
        target = (e / e.sum(1, keepdims=True)).astype(np.float32)
        ignore_index = -100
    else:
        target = rng.integers(0, c, (n, *spatial))
        ignore_index = int(target.reshape(-1)[0]) if ignore else -100

    def fn(lib, a):
        return lib.nn.functional.cross_entropy(
            a, lib.tensor(target), _t(lib, w), ignore_index=ignore_index,
            reduction=reduction, label_smoothing=smoothing,
        )  # fmt: skip

    compare(fn, [x], rtol=1e-5, atol=1e-6, grad_rtol=1e-4, grad_atol=1e-6)
    if not probs:
        compare(
            lambda lib, a: lib.nn.functional.nll_loss(
                lib.nn.functional.log_softmax(a, 1), lib.tensor(target), _t(lib, w),
                ignore_index=ignore_index, reduction=reduction,
            ),
            [x],
        )  # fmt: skip


# ---------------------------------------------------------------------------
# CTC

CTC_T, CTC_N, CTC_C = 7, 3, 5


def _ctc_data():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((CTC_T, CTC_N, CTC_C)).astype(np.float32)
    targets = rng.integers(1, CTC_C, (CTC_N, 4))
    targets[1, 1] = targets[1, 0]  # a repeated label needs a blank between
    return x, targets


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "il,tl,zero_inf",
    [((7, 7, 7), (4, 2, 3), False), ((7, 5, 3), (3, 0, 2), False),
     ((7, 7, 2), (4, 2, 3), True)],
)  # fmt: skip
def test_ctc_loss_parity(il, tl, zero_inf, reduction):
    x, targets = _ctc_data()

    def fn(lib, a):
        lp = lib.nn.functional.log_softmax(a, 2)
        loss = lib.nn.CTCLoss(reduction=reduction, zero_infinity=zero_inf)
        return loss(lp, lib.tensor(targets), lib.tensor(il), lib.tensor(tl))

    compare(fn, [x], rtol=1e-5, atol=1e-5, grad_rtol=1e-4, grad_atol=1e-6)
    # PyTorch's gradient with respect to the log-probabilities themselves
    lp = torch.tensor(x).log_softmax(2).numpy()
    compare(lambda lib, a: lib.nn.functional.ctc_loss(a, lib.tensor(targets), il, tl), [lp])


def test_ctc_loss_concatenated_unbatched_blank_and_gradcheck():
    x, targets = _ctc_data()
    flat = np.concatenate([targets[0, :4], targets[1, :2], targets[2, :3]]) - 1

    def concat(lib, a):
        lp = lib.nn.functional.log_softmax(a, 2)
        return lib.nn.CTCLoss(blank=CTC_C - 1)(lp, lib.tensor(flat), [7, 6, 7], [4, 2, 3])

    compare(concat, [x])
    compare(
        lambda lib, a: lib.nn.functional.ctc_loss(
            lib.nn.functional.log_softmax(a, 1), lib.tensor(targets[0, :3]), lib.tensor(7),
            lib.tensor(3), reduction="none",
        ),
        [x[:, 0]],
    )  # fmt: skip
    # through log_softmax, PyTorch's gradient is the true gradient of the loss
    z = tapegrad.tensor(x[:5, :2].astype(np.float64), requires_grad=True)
    t = tapegrad.tensor(targets[:2, :2])
    assert gradcheck(
        lambda a: tapegrad.nn.functional.ctc_loss(
            tapegrad.nn.functional.log_softmax(a, 2), t, [5, 4], [2, 1], reduction="sum"
        ),
        (z,),
    )
    assert repr(tapegrad.nn.CTCLoss()) == repr(torch.nn.CTCLoss())


def test_ctc_loss_errors():
    x, targets = _ctc_data()

    def call(lib, il=(7, 7, 7), tl=(4, 2, 3), tg=targets, blank=0):
        lp = lib.tensor(x).log_softmax(2)
        return lib.nn.functional.ctc_loss(lp, lib.tensor(tg), il, tl, blank=blank)

    assert_same_error(lambda lib: call(lib, tl=(5, 2, 3)))
    assert_same_error(lambda lib: call(lib, il=(8, 7, 7)))
    assert_same_error(lambda lib: call(lib, il=(7, 7)))
    assert_same_error(lambda lib: call(lib, blank=CTC_C))
    assert_same_error(
        lambda lib: lib.nn.functional.ctc_loss(
            lib.ones(5, 4).log_softmax(1), lib.tensor([1, 2]), lib.tensor(5), lib.tensor(3)
        )
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mse_loss_is_one_node_as_in_pytorch(reduction, dtype):
    # the tutorials' view of the graph: loss.grad_fn, then its next functions
    names = {}
    for lib in (tapegrad, torch):
        lib.manual_seed(0)
        net = lib.nn.Linear(3, 2).to(getattr(lib, np.dtype(dtype).name))
        x = lib.tensor(_randn(4, 3, dtype=dtype))
        loss = lib.nn.MSELoss(reduction=reduction)(net(x), lib.tensor(_randn(4, 2, dtype=dtype)))
        names[lib] = (loss.grad_fn.name(), loss.grad_fn.next_functions[0][0].name(), loss.dtype)
    assert names[tapegrad][:2] == names[torch][:2] == ("MseLossBackward0", "AddmmBackward0")
    assert str(names[tapegrad][2]).split(".")[-1] == str(names[torch][2]).split(".")[-1]
    a, b = _randn(5, 4, dtype=dtype), _randn(5, 4, dtype=dtype)
    compare(lambda lib, p, q: lib.nn.functional.mse_loss(p, q, reduction=reduction), [a, b])


def test_mse_loss_second_order_and_vmap():
    a, b = _randn(5, 4, dtype=np.float64), _randn(5, 4, dtype=np.float64)
    A, B = tapegrad.tensor(a, requires_grad=True), tapegrad.tensor(b, requires_grad=True)
    F = tapegrad.nn.functional
    assert tapegrad.autograd.gradgradcheck(lambda p, q: F.mse_loss(p, q), (A, B))
    assert tapegrad.autograd.gradgradcheck(lambda p, q: F.mse_loss(p, q, reduction="none"), (A, B))
    # per-sample gradients (torch.func), each sample's own mean
    w = _randn(2, 4, dtype=np.float64)
    t = _randn(5, 2, dtype=np.float64)
    out = {}
    for lib in (tapegrad, torch):

        def loss(W, xi, ti, lib=lib):
            return lib.nn.functional.mse_loss(xi @ W.T, ti)

        vg = lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))
        out[lib] = to_numpy(vg(lib.tensor(w), lib.tensor(a), lib.tensor(t)))
    np.testing.assert_allclose(out[tapegrad], out[torch], rtol=1e-12, atol=1e-12)
    # mixed dtypes and weights keep the element-wise graph, with PyTorch's values
    compare(
        lambda lib, p, q: lib.nn.functional.mse_loss(p, q.double()), [_randn(3, 2), _randn(3, 2)]
    )
