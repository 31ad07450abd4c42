"""Convolution parity with PyTorch: conv1d/2d, conv_transpose1d/2d, unfold/fold and the
Conv/ConvTranspose modules (weights copied through state_dict), outputs and input/weight/bias
gradients; default initialisation and repr; both im2col layouts against an einsum reference;
gradcheck in float64; no input gradient for data; thread-count independence; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error, compare, to_numpy

import tapegrad
from tapegrad.autograd import gradcheck
from tapegrad.ops import conv as CV

R = np.random.default_rng(11)


def _randn(*shape, dtype=np.float32):
    return R.standard_normal(shape).astype(dtype)


# (input shape, out channels, kernel, stride, padding, dilation, groups, bias)
CONV2D = [
    ((2, 3, 9, 8), 4, 3, 1, 0, 1, 1, True),
    ((2, 4, 10, 7), 6, (3, 2), (2, 1), (1, 0), 1, 2, True),
    ((1, 1, 28, 28), 8, 5, 1, 0, 1, 1, True),
    ((3, 6, 11, 11), 6, 3, 2, 2, 2, 3, False),
    ((2, 4, 8, 8), 8, 1, 1, 0, 1, 1, True),
    ((2, 4, 9, 9), 8, 1, 2, 1, 1, 4, True),
    ((4, 8, 6, 6), 16, 3, 1, "same", 1, 2, True),
    ((2, 3, 7, 9), 5, (2, 4), 1, "same", (2, 1), 1, True),
    ((2, 3, 7, 9), 5, 3, 1, "valid", 1, 1, False),
    ((5, 16, 8, 8), 12, 5, 1, 0, 1, 1, True),
    ((3, 5, 13, 12), 10, 3, (3, 2), (1, 2), (1, 2), 5, True),
    ((3, 8, 8), 4, 3, 1, 1, 1, 1, True),
]


def _conv2d_case(case):
    shape, cout, k, s, p, d, g, bias = case
    kk = (k, k) if isinstance(k, int) else k
    cin = shape[-3]
    x = _randn(*shape)
    w = _randn(cout, cin // g, *kk) * 0.3
    b = _randn(cout) if bias else None
    return x, w, b, s, p, d, g


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("case", CONV2D)
def test_conv2d(case):
    x, w, b, s, p, d, g = _conv2d_case(case)
    inputs = [x, w] + ([b] if b is not None else [])

    def fn(lib, x, w, b=None):
        return lib.nn.functional.conv2d(x, w, b, s, p, d, g)

    t, gout = compare(fn, inputs, atol=1e-4, grad_atol=1e-4)
    assert gout.grad_fn.name() == t.grad_fn.name()


CONV1D = [
    ((2, 3, 11), 4, 3, 1, 0, 1, 1, True),
    ((2, 4, 12), 6, 4, 2, 1, 2, 2, True),
    ((1, 2, 9), 4, 3, 1, "same", 2, 1, False),
    ((3, 6, 10), 3, 2, 3, 0, 1, 3, True),
    ((4, 9), 5, 3, 1, 1, 1, 1, True),
]


@pytest.mark.parametrize("shape,cout,k,s,p,d,g,bias", CONV1D)
def test_conv1d(shape, cout, k, s, p, d, g, bias):
    x = _randn(*shape)
    w = _randn(cout, shape[-2] // g, k) * 0.3
    inputs = [x, w] + ([_randn(cout)] if bias else [])
    compare(lambda lib, x, w, b=None: lib.nn.functional.conv1d(x, w, b, s, p, d, g), inputs)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(
    "shape,cout,k,s,p,d,g",
    [
        ((2, 4, 5, 6, 7), 6, (3, 2, 3), (2, 1, 2), (1, 0, 1), (1, 2, 1), 2),
        ((1, 3, 4, 5, 5), 4, (2, 3, 2), 1, "same", 1, 1),
        ((3, 4, 4, 4), 2, 1, 1, 0, 1, 1),
        ((2, 2, 6, 5, 4), 2, 3, 2, 2, 2, 1),
    ],
)
def test_conv3d(shape, cout, k, s, p, d, g):
    kk = (k,) * 3 if isinstance(k, int) else k
    x, w, b = _randn(*shape), _randn(cout, shape[-4] // g, *kk) * 0.3, _randn(cout)
    compare(lambda lib, x, w, b: lib.nn.functional.conv3d(x, w, b, s, p, d, g), [x, w, b])


# (input shape, out channels, kernel, stride, padding, output_padding, groups, dilation, bias)
CONVT2D = [
    ((2, 4, 5, 5), 3, 3, 1, 0, 0, 1, 1, True),
    ((2, 4, 5, 6), 6, 3, 2, 1, 1, 2, 1, True),
    ((1, 3, 4, 4), 2, (2, 3), (2, 1), (0, 1), (1, 0), 1, 1, False),
    ((2, 4, 4, 5), 4, 3, 3, 1, (2, 1), 4, 2, True),
    ((2, 6, 3, 3), 4, 4, 2, 1, 0, 2, 2, True),
    ((4, 5, 5), 3, 3, 2, 0, 1, 1, 1, True),
]


@pytest.mark.parametrize("shape,cout,k,s,p,op,g,d,bias", CONVT2D)
def test_conv_transpose2d(shape, cout, k, s, p, op, g, d, bias):
    kk = (k, k) if isinstance(k, int) else k
    x = _randn(*shape)
    w = _randn(shape[-3], cout // g, *kk) * 0.3
    inputs = [x, w] + ([_randn(cout)] if bias else [])

    def fn(lib, x, w, b=None):
        return lib.nn.functional.conv_transpose2d(x, w, b, s, p, op, g, d)

    compare(fn, inputs, atol=1e-4, grad_atol=1e-4)


@pytest.mark.parametrize(
    "shape,cout,k,s,p,op,g,d",
    [
        ((2, 4, 7), 3, 3, 2, 1, 1, 1, 1),
        ((2, 4, 6), 4, 2, 3, 0, 2, 2, 2),
        ((4, 5), 2, 3, 1, 1, 0, 1, 1),
    ],
)
def test_conv_transpose1d(shape, cout, k, s, p, op, g, d):
    x = _randn(*shape)
    w = _randn(shape[-2], cout // g, k) * 0.3
    compare(
        lambda lib, x, w, b: lib.nn.functional.conv_transpose1d(x, w, b, s, p, op, g, d),
        [x, w, _randn(cout)],
    )


@pytest.mark.parametrize(
    "shape,cout,k,s,p,op,g,d",
    [
        ((2, 4, 3, 4, 5), 6, (3, 2, 3), (2, 1, 2), (1, 0, 1), (1, 0, 1), 2, (1, 2, 1)),
        ((1, 3, 4, 3, 3), 2, (2, 3, 2), (3, 2, 1), (0, 1, 0), (1, 1, 0), 1, (2, 1, 1)),
        ((4, 3, 3, 3), 2, 1, 1, 0, 0, 1, 1),
    ],
)
def test_conv_transpose3d(shape, cout, k, s, p, op, g, d):
    kk = (k,) * 3 if isinstance(k, int) else k
    x, w = _randn(*shape), _randn(shape[-4], cout // g, *kk) * 0.3
    compare(
        lambda lib, x, w, b: lib.nn.functional.conv_transpose3d(x, w, b, s, p, op, g, d),
        [x, w, _randn(cout)],
    )


@pytest.mark.parametrize(
    "shape,k,d,p,s", [((2, 3, 9, 8), 3, 1, 0, 1), ((1, 2, 10, 9), (3, 2), (2, 1), (1, 2), (2, 3))]
)
def test_unfold_fold(shape, k, d, p, s):
    x = _randn(*shape)
    t, _ = compare(lambda lib, a: lib.nn.functional.unfold(a, k, d, p, s), [x])
    cols = to_numpy(t)
    compare(lambda lib, c: lib.nn.functional.fold(c, shape[2:], k, d, p, s), [cols])


# ---------------------------------------------------------------------------
# modules


MODULES = [
    ("Conv1d", (3, 4, 3), {"stride": 2, "padding": 1}, (2, 3, 11)),
    ("Conv1d", (4, 6, 3), {"groups": 2, "padding": "same", "bias": False}, (2, 4, 9)),
    ("Conv1d", (3, 4, 3), {"padding": 2, "padding_mode": "circular"}, (2, 3, 9)),
    ("Conv2d", (1, 32, 5), {}, (2, 1, 28, 28)),
    ("Conv2d", (4, 6, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "dilation": 2}, (2, 4, 9, 9)),
    ("Conv2d", (4, 8, 3), {"padding": 1, "padding_mode": "reflect", "groups": 2}, (2, 4, 7, 8)),
    ("Conv2d", (4, 8, 3), {"padding": (2, 1), "padding_mode": "replicate"}, (1, 4, 6, 6)),
    ("Conv2d", (4, 8, 4), {"padding": "same", "padding_mode": "reflect"}, (2, 4, 7, 7)),
    ("Conv2d", (4, 8, 3), {"padding": 1, "padding_mode": "circular", "bias": False}, (4, 7, 7)),
    ("Conv3d", (2, 4, 3), {"padding": 1, "stride": (1, 2, 1)}, (2, 2, 4, 5, 4)),
    ("Conv3d", (2, 4, 2), {"padding": 1, "padding_mode": "replicate"}, (1, 2, 3, 4, 4)),
    ("ConvTranspose1d", (4, 3, 3), {"stride": 2, "output_padding": 1}, (2, 4, 6)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 5, 5)),
    ("ConvTranspose2d", (4, 2, 2), {"dilation": 2, "bias": False}, (2, 4, 5, 4)),
    ("ConvTranspose3d", (4, 2, 3), {"stride": 2, "padding": 1, "groups": 2}, (1, 4, 3, 3, 2)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", MODULES)
def test_modules(name, args, kwargs, shape):
    torch.manual_seed(5)
    mt = getattr(torch.nn, name)(*args, **kwargs)
    mg = getattr(tapegrad.nn, name)(*args, **kwargs)
    assert repr(mg) == repr(mt)
    state = {k: tapegrad.tensor(v.detach().numpy()) for k, v in mt.state_dict().items()}
    mg.load_state_dict(state)
    assert list(mg.state_dict()) == list(mt.state_dict())
    x = _randn(*shape)

    def fn(lib, a):
        return (mt if lib is torch else mg)(a)

    compare(fn, [x], atol=1e-4, grad_atol=1e-4)
    for (kt, pt), (kg, pg) in zip(mt.named_parameters(), mg.named_parameters()):
        assert kt == kg
        assert_same(pt.grad, pg.grad, atol=1e-4, where=kt)


@pytest.mark.parametrize(
    "name,args,kwargs",
    [
        ("Conv2d", (1, 32, 5), {}),
        ("Conv2d", (6, 4, (3, 2)), {"groups": 2, "bias": True}),
        ("Conv1d", (3, 5, 4), {}),
        ("Conv3d", (2, 4, 3), {}),
        ("ConvTranspose2d", (4, 6, 3), {"groups": 2}),
        ("ConvTranspose1d", (2, 3, 5), {}),
        ("ConvTranspose3d", (2, 4, 2), {}),
    ],
)
def test_default_init_matches_pytorch(name, args, kwargs):
    torch.manual_seed(123)
    tapegrad.manual_seed(123)
    mt = getattr(torch.nn, name)(*args, **kwargs)
    mg = getattr(tapegrad.nn, name)(*args, **kwargs)
    for (k, pt), (_, pg) in zip(mt.named_parameters(), mg.named_parameters()):
        np.testing.assert_array_equal(to_numpy(pg), to_numpy(pt), err_msg=k)
        assert pg.dtype == tapegrad.float32


def test_conv_transpose_output_size():
    torch.manual_seed(0)
    mt = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    mg = tapegrad.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    mg.load_state_dict({k: tapegrad.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    x = _randn(1, 3, 4, 4)
    for size in ([8, 8], [1, 2, 7, 8], (8, 7)):
        compare(lambda lib, a, s=size: (mt if lib is torch else mg)(a, output_size=s), [x])
    assert_same_error(lambda lib, a: (mt if lib is torch else mg)(lib.tensor(a), [10, 10]), x)


def test_conv_forward_hook_for_subclasses():
    # PyTorch code overrides forward and calls _conv_forward with its own weight
    class Scaled(tapegrad.nn.Conv2d):
        def forward(self, x):
            return self._conv_forward(x, self.weight * 2, self.bias)

    m = Scaled(2, 3, 3)
    x = tapegrad.randn(1, 2, 5, 5)
    ref = tapegrad.nn.functional.conv2d(x, m.weight * 2, m.bias)
    np.testing.assert_allclose(to_numpy(m(x)), to_numpy(ref), rtol=1e-6)


def test_module_double_and_channels():
    mt = torch.nn.Conv2d(2, 3, 3, dtype=torch.float64)
    mg = tapegrad.nn.Conv2d(2, 3, 3, dtype=tapegrad.float64)
    mg.load_state_dict({k: tapegrad.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    compare(lambda lib, a: (mt if lib is torch else mg)(a), [_randn(2, 2, 5, 5, dtype=np.float64)])


# ---------------------------------------------------------------------------
# fast paths against the einsum reference, gradcheck, needs_input_grad, threads


@pytest.mark.parametrize("case", [c for c in CONV2D if len(c[0]) == 4])
@pytest.mark.parametrize("nlast", [False, True])
def test_im2col_layouts_against_reference(case, nlast, monkeypatch):
    x, w, b, s, p, d, g = _conv2d_case(case)
    # Force one layout or the other whatever the output size.
    monkeypatch.setattr(CV, "_NLAST_MAX_PIXELS", 10**9 if nlast else -1)
    y = tapegrad.nn.functional.conv2d(
        tapegrad.tensor(x),
        tapegrad.tensor(w),
        None if b is None else tapegrad.tensor(b),
        s,
        p,
        d,
        g,
    )
    st = (s, s) if isinstance(s, int) else s
    dl = (d, d) if isinstance(d, int) else d
    kh, kw = w.shape[2:]
    if p == "same":
        th, tw = dl[0] * (kh - 1), dl[1] * (kw - 1)
        pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    elif p == "valid":
        pads = (0, 0, 0, 0)
    else:
        pp = (p, p) if isinstance(p, int) else p
        pads = (pp[0], pp[0], pp[1], pp[1])
    ref = CV._reference_conv2d(x, w, b, st, pads, dl, g)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("nlast", [False, True])
@pytest.mark.parametrize("keep", [False, True])
def test_layouts_agree_on_gradients(nlast, keep, monkeypatch):
    # both layouts, with the forward's columns kept or rebuilt for dw
    x, w, b, s, p, d, g = _conv2d_case(CONV2D[10])
    monkeypatch.setattr(CV, "_NLAST_MAX_PIXELS", 10**9 if nlast else -1)
    monkeypatch.setattr(CV, "_KEEP_COLS_MAX_ELEMS", 10**12 if keep else -1)
    compare(
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, s, p, d, g),
        [x, w, b],
        atol=1e-4,
        grad_atol=1e-4,
    )


def _force_batch_major(monkeypatch, flat, keep):
    """Batch-major layout; flat-shift columns always or never; columns kept or rebuilt."""
    monkeypatch.setattr(CV, "_NLAST_MAX_PIXELS", -1)
    monkeypatch.setattr(CV, "_FLAT_MIN_OW_PER_WASTED", 0 if flat else 10**9)
    monkeypatch.setattr(CV, "_KEEP_COLS_MAX_ELEMS", 10**12 if keep else -1)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("case", [c for c in CONV2D if len(c[0]) == 4])
@pytest.mark.parametrize("flat,keep", [(True, False), (False, False), (True, True)])
def test_flat_columns_and_rebuilt_weight_gradient(case, flat, keep, monkeypatch):
    # flat-shift windows (forward, flipped dx) and columns rebuilt for dw, vs PyTorch
    _force_batch_major(monkeypatch, flat, keep)
    x, w, b, s, p, d, g = _conv2d_case(case)
    compare(
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, s, p, d, g),
        [x, w, b if b is not None else _randn(w.shape[0])],
        atol=1e-4,
        grad_atol=1e-4,
    )


@pytest.mark.parametrize("flat", [True, False])
def test_rebuilt_weight_gradient_in_blocks_of_chunks(flat, monkeypatch):
    # the per-chunk products of the rebuilt dw summed block by block (one chunk of one
    # sample per block here), as large layers do to bound them, vs PyTorch
    _force_batch_major(monkeypatch, flat, False)
    monkeypatch.setattr(CV, "_REBUILD_CHUNK_ELEMS", 1)
    monkeypatch.setattr(CV, "_WGRAD_CHUNK_ELEMS", 1)
    x, w, b = _randn(5, 3, 9, 9), _randn(4, 3, 3, 3), _randn(4)
    compare(
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, 1, 1),
        [x, w, b],
        atol=1e-4,
        grad_atol=1e-4,
    )


@pytest.mark.parametrize("case", CONVT2D[:5])
def test_conv_transpose2d_rebuilt_columns(case, monkeypatch):
    # the transposed backward's dw from columns of dy rebuilt chunk by chunk
    _force_batch_major(monkeypatch, True, False)
    monkeypatch.setattr(CV, "_REBUILD_CHUNK_ELEMS", 1)  # one sample per chunk
    monkeypatch.setattr(CV, "_WGRAD_CHUNK_ELEMS", 1)
    shape, cout, k, s, p, op, g, d, bias = case
    kk = (k, k) if isinstance(k, int) else k
    x, w = _randn(*shape), _randn(shape[-3], cout // g, *kk) * 0.3
    compare(
        lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, None, s, p, op, g, d),
        [x, w],
        atol=1e-4,
        grad_atol=1e-4,
    )


@pytest.mark.parametrize("k,p", [(3, 1), (1, 0)])
def test_empty_batch(k, p):
    x, w, b = _randn(0, 4, 8, 8), _randn(6, 4, k, k), _randn(6)
    compare(
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, 1, p),
        [x, w, b],
        atol=1e-5,
        grad_atol=1e-5,
    )


@pytest.mark.parametrize("c,hw", [(16, 32), (64, 8)])
def test_resnet_layer_keeps_no_columns(c, hw):
    # a 3x3 layer with many channels saves only x and w, as PyTorch does, in either
    # layout (8x8 maps are batch-last); dw comes from rebuilt columns
    conv = tapegrad.nn.Conv2d(c, c, 3, padding=1, bias=False)
    x = _randn(64, c, hw, hw)
    y = conv(tapegrad.tensor(x, requires_grad=True))
    assert y.grad_fn.saved_tensors[2] is None
    y.backward(tapegrad.ones(y.shape))
    w = torch.tensor(to_numpy(conv.weight), requires_grad=True)
    torch.nn.functional.conv2d(torch.tensor(x), w, padding=1).sum().backward()
    np.testing.assert_allclose(to_numpy(conv.weight.grad), w.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("layout", ["nlast", "flat", "major"])
def test_reused_temporaries_give_fresh_results(layout, monkeypatch):
    # The padded inputs, columns and chunk buffers are reused between calls of one
    # geometry (their zero borders must stay zero); results must never alias them.
    if layout == "nlast":
        monkeypatch.setattr(CV, "_NLAST_MAX_PIXELS", 10**9)
    else:
        _force_batch_major(monkeypatch, layout == "flat", False)
    w = _randn(6, 4, 3, 3)
    first = None
    for s, p in [(1, 1), (2, 1), (1, 1), (1, (2, 0)), (1, 1)]:
        x, gy = _randn(3, 4, 7, 7) + 1.0, None
        for lib in (torch, tapegrad):
            xt = lib.tensor(x, requires_grad=True)
            wt = lib.tensor(w, requires_grad=True)
            y = lib.nn.functional.conv2d(xt, wt, None, s, p)
            if gy is None:
                gy = _randn(*y.shape)
            y.backward(lib.tensor(gy))
            if lib is torch:
                ref = [to_numpy(t) for t in (y, xt.grad, wt.grad)]
            else:
                got = [to_numpy(t).copy() for t in (y, xt.grad, wt.grad)]
                if first is None:
                    first = (y, got)
        for r, g_ in zip(ref, got):
            np.testing.assert_allclose(g_, r, rtol=1e-4, atol=1e-4)
    # later calls of the same geometry left the first result untouched
    np.testing.assert_array_equal(to_numpy(first[0]), first[1][0])


@pytest.mark.parametrize("k,s,p", [(3, 2, 1), (4, 3, 2), (1, 2, 0)])
def test_strided_input_gradient_by_batch_last_col2im(k, s, p):
    # dx of a strided kernel larger than 1x1 scatters its columns batch-last, whatever
    # layout the forward took; 1x1 kernels stay batch-major
    g = CV._Geom(4, 40, 40, 6, k, k, (s, s), (p,) * 4, (1, 1), 1)
    g.pick_layout(5)  # batch-major: many output pixels
    assert not g.nlast and CV._col2im_layout(g, 5).nlast == (k > 1)
    assert not CV._col2im_layout(g, 1).nlast
    compare(
        lambda lib, x, w: lib.nn.functional.conv2d(x, w, None, s, p),
        [_randn(5, 4, 40, 40), _randn(6, 4, k, k)],
        atol=1e-4,
        grad_atol=1e-4,
    )


@pytest.mark.parametrize("flipped", [False, True])
@pytest.mark.parametrize("case", [CONV2D[0], CONV2D[4], CONV2D[6], CONV2D[7], CONV2D[9]])
def test_input_gradient_paths(case, flipped, monkeypatch):
    # dx by col2im or by the direct convolution with the flipped kernel
    monkeypatch.setattr(CV, "_FLIPPED_MAX_RATIO", 10**9 if flipped else -1)
    x, w, b, s, p, d, g = _conv2d_case(case)
    compare(
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, s, p, d, g),
        [x, w, b if b is not None else _randn(w.shape[0])],
        atol=1e-4,
        grad_atol=1e-4,
    )


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("case", CONV2D)
def test_inference_forward(case):
    # no graph: the fused forward keeps no columns
    x, w, b, s, p, d, g = _conv2d_case(case)
    with torch.no_grad():
        t = torch.nn.functional.conv2d(*(torch.tensor(a) for a in (x, w)), None, s, p, d, g)
    with tapegrad.no_grad():
        y = tapegrad.nn.functional.conv2d(*(tapegrad.tensor(a) for a in (x, w)), None, s, p, d, g)
    assert_same(t, y, atol=1e-4)


GRADCHECK = [
    lambda F, x, w, b: F.conv2d(x, w, b, 2, 1, 1, 2),
    lambda F, x, w, b: F.conv2d(x, w, b, 1, "same", 2, 1),
    lambda F, x, w, b: F.conv1d(x[:, :, 0], w[:, :, 0], b, 2, 1, 2, 2),
    lambda F, x, w, b: F.conv3d(
        x.unsqueeze(2).expand(2, 4, 3, 5, 6), w.unsqueeze(2), b, 1, 1, 1, 2
    ),
    lambda F, x, w, b: F.conv_transpose2d(x, w.transpose(0, 1), b, 2, 1, 1, 1, 1),
    lambda F, x, w, b: F.conv_transpose1d(x[:, :, 0], w[:, :, 0].transpose(0, 1), b, 2, 0, 1),
]


@pytest.mark.parametrize("fn", GRADCHECK)
@pytest.mark.parametrize("rebuilt", [False, True])
def test_gradcheck(fn, rebuilt, monkeypatch):
    if rebuilt:
        _force_batch_major(monkeypatch, True, False)
    x = tapegrad.tensor(R.standard_normal((2, 4, 5, 6)), requires_grad=True)
    w = tapegrad.tensor(R.standard_normal((4, 2, 3, 2)), requires_grad=True)
    b = tapegrad.tensor(R.standard_normal(4), requires_grad=True)
    F = tapegrad.nn.functional
    if fn in (GRADCHECK[1], GRADCHECK[4], GRADCHECK[5]):
        w = tapegrad.tensor(R.standard_normal((4, 4, 3, 2)), requires_grad=True)
    assert gradcheck(lambda x, w, b: fn(F, x, w, b), (x, w, b), eps=1e-6, atol=1e-5)


def test_no_input_gradient_for_data(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("col2im ran for an input that needs no gradient")

    monkeypatch.setattr(CV, "_col2im", boom)
    conv = tapegrad.nn.Conv2d(1, 4, 3)
    y = conv(tapegrad.tensor(_randn(2, 1, 8, 8)))
    y.sum().backward()
    assert conv.weight.grad is not None and conv.bias.grad is not None


def test_float32_kept():
    conv = tapegrad.nn.Conv2d(3, 4, 3)
    x = tapegrad.tensor(_randn(2, 3, 6, 6), requires_grad=True)
    y = conv(x)
    y.backward(tapegrad.ones(y.shape))
    assert y.dtype == x.grad.dtype == conv.weight.grad.dtype == tapegrad.float32


def test_no_batch_threads_beside_a_threaded_blas(monkeypatch):
    tapegrad.set_num_threads(2)
    try:
        monkeypatch.setattr(CV, "get_blas_threads", lambda: 2)
        assert CV._batch_threads() == 1
        monkeypatch.setattr(CV, "get_blas_threads", lambda: 1)
        assert CV._batch_threads() == 2
    finally:
        tapegrad.set_num_threads(1)


@pytest.mark.parametrize("mode", ["nlast", "major", "flat-rebuilt", "strided-rebuilt"])
def test_threads_match_one_thread(mode, monkeypatch):
    stride = 2 if mode == "strided-rebuilt" else 1
    if mode.endswith("rebuilt"):
        # chunk-batch-last columns (not kept), 3 samples per chunk: the threads take
        # whole chunks, and a last chunk shorter than the others
        _force_batch_major(monkeypatch, mode == "flat-rebuilt", False)
        cols_per_sample = 8 * 9 * (12 * 14 if stride == 1 else 6 * 6)  # flat: oh * wp
        monkeypatch.setattr(CV, "_REBUILD_CHUNK_ELEMS", 3 * cols_per_sample)
    else:
        monkeypatch.setattr(CV, "_NLAST_MAX_PIXELS", 10**9 if mode == "nlast" else -1)
    monkeypatch.setattr(CV, "get_blas_threads", lambda: 1)  # split even beside a threaded BLAS
    x, w, b = _randn(16, 8, 12, 12), _randn(16, 8, 3, 3), _randn(16)
    outs = []
    for n in (1, 2, 4):
        tapegrad.set_num_threads(n)
        try:
            ts = [tapegrad.tensor(a, requires_grad=True) for a in (x, w, b)]
            y = tapegrad.nn.functional.conv2d(*ts, stride=stride, padding=1)
            y.backward(tapegrad.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape))))
            outs.append([to_numpy(y)] + [to_numpy(t.grad) for t in ts])
        finally:
            tapegrad.set_num_threads(1)
    for run in outs[1:]:
        for a, b_ in zip(outs[0], run):
            if mode == "nlast":
                # one product split by rows over the threads: OpenBLAS's kernels round
                # differently for different block shapes
                scale = float(np.abs(a).max())
                np.testing.assert_allclose(b_, a, rtol=1e-5, atol=1e-6 * scale)
            else:
                np.testing.assert_array_equal(a, b_)


# ---------------------------------------------------------------------------
# errors


ERRORS = [
    # wrong number of input channels
    lambda F, x, w: F.conv2d(x, w[:, :2]),
    # input smaller than the kernel
    lambda F, x, w: F.conv2d(x[:, :, :2, :2], w),
    # weight of the wrong rank
    lambda F, x, w: F.conv2d(x, w[:, :, 0]),
    # input of the wrong rank
    lambda F, x, w: F.conv2d(x[0, 0], w),
    lambda F, x, w: F.conv2d(x, w, stride=0),
    lambda F, x, w: F.conv2d(x, w, padding=-1),
    lambda F, x, w: F.conv2d(x, w, dilation=0),
    lambda F, x, w: F.conv2d(x, w, padding="full"),
    lambda F, x, w: F.conv2d(x, w, stride=2, padding="same"),
    lambda F, x, w: F.conv2d(x, w, groups=2),
    lambda F, x, w: F.conv2d(x, w, w[0, 0, 0]),
    lambda F, x, w: F.conv2d(x, w.double()),
    lambda F, x, w: F.conv1d(x[0], w[:, :, 0]),
    lambda F, x, w: F.conv3d(x, w.unsqueeze(2)),
    lambda F, x, w: F.conv3d(x.unsqueeze(2), w[:, :2].unsqueeze(2)),
    lambda F, x, w: F.conv3d(x.unsqueeze(2), w.unsqueeze(2).expand(4, 3, 2, 3, 3)),
    lambda F, x, w: F.conv_transpose2d(x, w),
    lambda F, x, w: F.conv_transpose2d(x[:, :, :1, :1], w.transpose(0, 1), padding=2),
    lambda F, x, w: F.conv_transpose2d(x, w.transpose(0, 1), stride=2, output_padding=2),
    lambda F, x, w: F.unfold(x[0, 0], 2),
    lambda F, x, w: F.fold(x[:, :, 0], (4, 4), 3),
]


@pytest.mark.parametrize("fn", ERRORS)
def test_errors(fn):
    x, w = _randn(2, 3, 6, 6), _randn(4, 3, 3, 3)
    assert_same_error(lambda lib, a, b: fn(lib.nn.functional, lib.tensor(a), lib.tensor(b)), x, w)


MODULE_ERRORS = [
    lambda nn: nn.Conv2d(3, 4, 3, groups=0),
    lambda nn: nn.Conv2d(3, 4, 3, groups=2),
    lambda nn: nn.Conv2d(4, 3, 3, groups=2),
    lambda nn: nn.Conv2d(3, 4, 3, padding="full"),
    lambda nn: nn.Conv2d(3, 4, 3, stride=2, padding="same"),
    lambda nn: nn.Conv2d(3, 4, 3, padding_mode="mirror"),
    lambda nn: nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"),
]


@pytest.mark.parametrize("fn", MODULE_ERRORS)
def test_module_errors(fn):
    assert_same_error(lambda lib: fn(lib.nn))


def test_error_message_names_channels():
    conv = tapegrad.nn.Conv2d(3, 4, 3)
    with pytest.raises(RuntimeError, match=r"expected input\[2, 5, 6, 6\] to have 3 channels"):
        conv(tapegrad.randn(2, 5, 6, 6))
