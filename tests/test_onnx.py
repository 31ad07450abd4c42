"""ONNX export, verified by the other tools: every exported model passes ``onnx.checker``
and runs in ONNX Runtime on two batch sizes (dynamic axes), matching tapegrad's outputs."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

# the tiny Fashion-MNIST files that test_cli trains on (a fixture)
from test_cli import data_dir  # noqa: F401

import tapegrad as torch
from tapegrad import models, nn
from tapegrad.nn import functional as F
from tapegrad.onnx._trace import flatten_tensors

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RTOL = ATOL = 1e-5


def _session(data: bytes):
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def check(model, *input_sets, dyn=None, rtol=RTOL, atol=ATOL, **kwargs):
    """Export ``model`` on the first input set, then run every set in ONNX Runtime.

    Each set is a tuple of the model's arguments. ``dyn`` is ``{input_index: axes}``;
    by default axis 0 of every input is dynamic. Returns the ONNX model proto.
    """
    first = flatten_tensors(input_sets[0])
    names = kwargs.pop("input_names", [f"in{i}" for i in range(len(first))])
    axes = dyn if dyn is not None else {i: [0] for i in range(len(first))}
    dynamic_axes = {names[i]: {a: f"d{i}_{a}" for a in ax} for i, ax in axes.items()}
    buf = io.BytesIO()
    torch.onnx.export(
        model, input_sets[0], buf, input_names=names, dynamic_axes=dynamic_axes or None, **kwargs
    )
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    sess = _session(buf.getvalue())
    was = model.training
    model.eval()
    for args in input_sets:
        with torch.no_grad():
            ref = model(*args)
        ref = flatten_tensors(ref)
        feed = {n: t.numpy() for n, t in zip(names, flatten_tensors(args))}
        got = sess.run(None, feed)
        assert len(got) == len(ref)
        for r, g in zip(ref, got):
            assert g.shape == tuple(r.shape)
            np.testing.assert_allclose(g, r.numpy(), rtol=rtol, atol=atol)
    model.train(was)
    return proto


def randn(*shape, scale=1.0):
    return torch.randn(*shape) * scale


def two(shape_a, shape_b, scale=1.0):
    """One input, at two batch sizes."""
    return (randn(*shape_a, scale=scale),), (randn(*shape_b, scale=scale),)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# -- the model zoo ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda: models.mlp(), (1, 28, 28)),
        (lambda: models.lenet5(), (1, 28, 28)),
        (lambda: models.seed_cnn(), (1, 28, 28)),
        (lambda: models.resnet20(), (3, 32, 32)),
        (lambda: models.AlexNet(10, hidden=64), (3, 32, 32)),
        (lambda: models.vgg11(10, batch_norm=True, cifar=True), (3, 32, 32)),
    ],
    ids=["mlp", "lenet5", "seed_cnn", "resnet20", "alexnet", "vgg11_bn"],
)
def test_model_zoo(build, shape):
    model = build()
    model.eval()
    for m in model.modules():  # non-trivial running statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features) + 0.5)
    check(model, *two((1, *shape), (2, *shape)), rtol=1e-5, atol=2e-5)


def test_resnet18_imagenet_stem():
    model = models.resnet18(num_classes=5)
    check(model, *two((1, 3, 32, 32), (2, 3, 32, 32)), rtol=1e-4, atol=1e-4)


# -- layers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer, shape",
    [
        (lambda: nn.Linear(5, 3), (4, 5)),
        (lambda: nn.Linear(5, 3), (4, 2, 5)),
        (lambda: nn.Linear(5, 3, bias=False), (4, 5)),
        (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=2), (2, 3, 11)),
        (lambda: nn.Conv2d(4, 6, 3, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
         (2, 4, 9, 10)),
        (lambda: nn.Conv2d(3, 4, 4, padding="same"), (2, 3, 7, 7)),
        (lambda: nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), (2, 3, 6, 6)),
        (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                    dilation=1), (2, 4, 5, 6)),
        (lambda: nn.ConvTranspose2d(3, 2, (2, 3), stride=(2, 3), dilation=2), (2, 3, 4, 4)),
        (lambda: nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1), (2, 3, 7)),
        (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 9, 9)),
        (lambda: nn.MaxPool2d(2, ceil_mode=True), (2, 3, 7, 7)),
        (lambda: nn.MaxPool2d(3, stride=1, dilation=2), (2, 3, 8, 8)),
        (lambda: nn.MaxPool1d(2), (2, 3, 9)),
        (lambda: nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 9, 9)),
        (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 9, 9)),
        (lambda: nn.AvgPool2d(2, ceil_mode=True), (2, 3, 7, 7)),
        (lambda: nn.AvgPool2d(2, divisor_override=3), (2, 3, 6, 6)),
        (lambda: nn.AvgPool1d(3, stride=2), (2, 3, 9)),
        (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
        (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 4, 9)),
        (lambda: nn.AdaptiveMaxPool2d(1), (2, 3, 5, 5)),
        (lambda: nn.AdaptiveMaxPool2d(2), (2, 3, 6, 4)),
        (lambda: nn.BatchNorm1d(5), (4, 5)),
        (lambda: nn.BatchNorm1d(5, affine=False), (4, 5, 3)),
        (lambda: nn.BatchNorm2d(3), (2, 3, 4, 4)),
        (lambda: nn.LayerNorm(6), (2, 3, 6)),
        (lambda: nn.LayerNorm((3, 6), elementwise_affine=False), (2, 3, 6)),
        (lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3)),
        (lambda: nn.Dropout(0.5), (4, 5)),
        (lambda: nn.Dropout2d(0.5), (2, 3, 4, 4)),
        (lambda: nn.Flatten(), (2, 3, 4, 5)),
        (lambda: nn.Flatten(2), (2, 3, 4, 5)),
        (lambda: nn.Unflatten(1, (2, 6)), (2, 12)),
        (lambda: nn.Identity(), (2, 3)),
        (lambda: nn.Conv3d(2, 4, 3, stride=2, padding=1), (2, 2, 5, 6, 7)),
        (lambda: nn.ConvTranspose3d(2, 3, 2, stride=2), (2, 2, 3, 3, 3)),
        (lambda: nn.MaxPool3d(2), (2, 2, 4, 4, 4)),
        (lambda: nn.AvgPool3d(2, padding=1), (2, 2, 4, 4, 4)),
        (lambda: nn.BatchNorm3d(2), (2, 2, 3, 3, 3)),
        (lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
        (lambda: nn.LocalResponseNorm(3), (2, 5, 3, 3)),
        (lambda: nn.RMSNorm(5), (2, 3, 5)),
        (lambda: nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular"), (2, 3, 5, 5)),
        (lambda: nn.Conv2d(3, 4, 3, padding=1, padding_mode="replicate"), (2, 3, 5, 5)),
        (lambda: nn.ZeroPad2d((1, 2, 0, 1)), (2, 3, 4, 4)),
        (lambda: nn.ReflectionPad1d(2), (2, 3, 5)),
        (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 4, 5)),
        (lambda: nn.Upsample(size=(7, 9)), (2, 3, 4, 5)),
        (lambda: nn.PixelShuffle(2), (2, 8, 3, 3)),
        (lambda: nn.LPPool2d(2, 2), (2, 3, 4, 4)),
    ],
)  # fmt: skip
def test_layers(layer, shape):
    torch.manual_seed(1)
    m = layer()
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            mod.running_mean.copy_(torch.randn(mod.num_features) * 0.5)
            mod.running_var.copy_(torch.rand(mod.num_features) + 0.5)
        if isinstance(mod, (nn.LayerNorm, nn.GroupNorm)) and mod.weight is not None:
            mod.weight.data.copy_(torch.randn(*mod.weight.shape))
            mod.bias.data.copy_(torch.randn(*mod.bias.shape))
    b2 = (shape[0] + 3, *shape[1:])
    check(m, *two(shape, b2))


ACTIVATIONS = [
    nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(0.2), nn.PReLU(4), nn.PReLU(), nn.ELU(0.5), nn.SELU(),
    nn.CELU(0.7), nn.GELU(), nn.GELU("tanh"), nn.SiLU(), nn.Mish(), nn.Softplus(),
    nn.Softplus(2.0, 5.0), nn.Hardsigmoid(), nn.Hardswish(), nn.Hardtanh(-0.5, 0.7),
    nn.LogSigmoid(), nn.Softshrink(0.3), nn.Hardshrink(0.3), nn.Tanhshrink(), nn.Softsign(),
    nn.Sigmoid(), nn.Tanh(), nn.Threshold(0.1, -2.0), nn.GLU(1), nn.Softmax(1),
    nn.LogSoftmax(1), nn.Softmin(1), nn.Softmax2d(), nn.RReLU(), nn.ReLU(inplace=True),
]  # fmt: skip


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda m: type(m).__name__)
def test_activations(act):
    check(act, *two((2, 4, 5, 3), (3, 4, 5, 3), scale=3.0))


def test_embedding_with_dynamic_batch_and_length():
    emb = nn.Embedding(10, 4, padding_idx=0)
    a = (torch.tensor([[1, 2, 3], [4, 0, 9]]),)
    b = (torch.tensor([[5, 6, 7, 8], [9, 9, 1, 0], [2, 3, 4, 5]]),)
    check(emb, a, b, dyn={0: [0, 1]})


@pytest.mark.parametrize(
    "rnn",
    [
        lambda: nn.LSTM(4, 5),
        lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True),
        lambda: nn.GRU(4, 5),
        lambda: nn.GRU(4, 5, num_layers=2, bidirectional=True, batch_first=True),
        lambda: nn.RNN(4, 5, num_layers=2),
        lambda: nn.RNN(4, 5, nonlinearity="relu", bidirectional=True, batch_first=True),
        lambda: nn.LSTM(4, 5, bias=False),
    ],
    ids=["lstm", "lstm2bi", "gru", "gru2bi", "rnn2", "rnn_relu_bi", "lstm_nobias"],
)
def test_recurrent_layers(rnn):
    m = rnn()
    bf = m.batch_first
    a = randn(2, 6, 4) if bf else randn(6, 2, 4)
    b = randn(3, 8, 4) if bf else randn(8, 3, 4)
    check(m, (a,), (b,), dyn={0: [0, 1]})


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_layers_with_initial_state(kind):
    m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True)

    def state(batch):
        return randn(4, batch, 4)

    def args(steps, batch):
        h = (state(batch), state(batch)) if kind == "LSTM" else state(batch)
        return (randn(steps, batch, 3), h)

    n_in = 3 if kind == "LSTM" else 2
    dyn = {0: [0, 1], **{i: [1] for i in range(1, n_in)}}
    check(m, args(5, 2), args(7, 3), dyn=dyn)


def test_unbatched_lstm():
    check(nn.LSTM(3, 4), (randn(5, 3),), (randn(6, 3),), dyn={0: [0]})


class _Attention(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, **kw)

    def forward(self, q, kv):
        return self.mha(q, kv, kv)


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention(batch_first):
    m = _Attention(batch_first=batch_first)
    bdim, tdim = (0, 1) if batch_first else (1, 0)

    def args(b, tq, tk):
        shape = (lambda t: (b, t, 8)) if batch_first else (lambda t: (t, b, 8))
        return randn(*shape(tq)), randn(*shape(tk))

    check(m, args(2, 3, 5), args(3, 4, 6), dyn={0: [bdim, tdim], 1: [bdim, tdim]})


def test_multihead_attention_with_key_padding_mask():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(8, 2, batch_first=True, kdim=6, vdim=5)

        def forward(self, q, k, v, mask):
            return self.mha(q, k, v, key_padding_mask=mask, need_weights=False)[0]

    def args(b, t):
        mask = torch.zeros(b, t, dtype=torch.bool)
        mask[:, -1] = True
        return randn(b, 3, 8), randn(b, t, 6), randn(b, t, 5), mask

    check(M(), args(2, 4), args(3, 4))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder(norm_first):
    layer = nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.1, batch_first=True, norm_first=norm_first, activation="gelu"
    )
    enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    check(enc, (randn(2, 5, 8),), (randn(3, 7, 8),), dyn={0: [0, 1]}, rtol=1e-4, atol=1e-5)


def test_transformer_encoder_layer_seq_first():
    layer = nn.TransformerEncoderLayer(8, 4, 16, dropout=0.0)
    check(layer, (randn(5, 2, 8),), (randn(6, 3, 8),), dyn={0: [0, 1]}, rtol=1e-4)


# -- tensor-level ops in forward ---------------------------------------------------------------


class _Ops(nn.Module):
    """A forward that uses many tensor ops, with shapes taken from x.size()."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 6)
        self.scale = nn.Parameter(torch.randn(6))
        self.register_buffer("offset", torch.randn(1, 6))

    def forward(self, x):  # x: (B, 3, 4)
        b = x.size(0)
        y = x.view(b, -1)  # (B, 12)
        y = self.fc(y) * self.scale + self.offset
        z = y.reshape(x.shape[0], 2, 3).permute(0, 2, 1).transpose(1, 2).contiguous()
        z = torch.cat([z, z * 2.0, z.abs().sqrt()], dim=1)  # (B, 6, 3)
        s = z[:, 1:5, ::2] + z[:, -1:, 1:2]  # slicing, broadcasting
        t = z.sum(dim=1) - z.mean(dim=(1, 2), keepdim=True).squeeze(-1)  # (B, 3)
        m = z.amax(dim=2) + z.max(dim=1).values.sum(dim=1, keepdim=True)  # (B, 6)
        v = z.var(dim=1) + z.std(dim=2, unbiased=False).mean(dim=1, keepdim=True)
        u = torch.stack([t, t.exp().log1p(), torch.clamp(t, -0.5, 0.5)], dim=-1)  # (B, 3, 3)
        w = F.softmax(u, dim=-1) + F.log_softmax(u, dim=1) + u.pow(2) - 1 / (u.abs() + 1)
        w = torch.maximum(w, torch.tanh(w)) - torch.minimum(w, t.unsqueeze(1))
        out = torch.cat(
            [
                s.flatten(1),
                w.flatten(1),
                m,
                v,
                (u @ u.transpose(1, 2)).flatten(1),
                x[:, 0] @ torch.ones(4, 2),
                x.unsqueeze(1)[..., 0, 1:3].squeeze(1),
                F.relu(x.sum(2)) + F.gelu(x.mean(2)) + torch.sigmoid(x[:, :, -1]),
                x.norm(dim=2) + x.abs().sum(-1) / math.pi,
                torch.erf(x[:, 1]) - x[:, 2].floor() + x[:, 2].round() + (-x[:, 0]).neg(),
            ],
            dim=1,
        )
        return out


def test_tensor_ops_in_forward():
    check(_Ops(), *two((2, 3, 4), (5, 3, 4)))


def test_dynamic_image_size():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True), nn.MaxPool2d(3, 2, padding=1), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(4, 2),
    )  # fmt: skip
    check(model, (randn(1, 3, 12, 10),), (randn(2, 3, 17, 9),), dyn={0: [0, 2, 3]})
    model[-3], model[-1] = nn.AdaptiveAvgPool2d(2), nn.Linear(16, 2)  # window follows the size
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match="dynamic axes"):
        _export_bytes(model, randn(1, 3, 32, 32), input_names=["x"],
                      dynamic_axes={"x": [0, 2, 3]})  # fmt: skip


def test_parametrized_weights():
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    nn.utils.parametrizations.weight_norm(model[0])
    nn.utils.parametrizations.orthogonal(model[2])
    check(model, *two((2, 4), (5, 4)))


def test_view_from_size_works_for_other_batch_sizes():
    class M(nn.Module):
        def forward(self, x):
            n, c = x.size(0), x.size(1)
            y = x.view(n, c, -1).mean(-1)
            z = x.reshape(n * c, -1)  # a product of a dynamic size
            return y, z.view(n, c, -1).sum(-1) + torch.zeros(n, c), x.var(0), x.std(dim=(0, 2))

    check(M(), (randn(2, 3, 4, 4),), (randn(5, 3, 4, 4),))


def test_index_and_gather_ops():
    class M(nn.Module):
        def forward(self, x):
            idx = torch.tensor([2, 0, 1])
            a = x[:, idx]
            b = x.index_select(2, torch.tensor([3, 1]))
            c = torch.gather(x, 1, torch.zeros(x.shape[0], 1, 4, dtype=torch.int64))
            d = x.flip(1) + x.repeat(1, 1, 1)
            e = x.masked_fill(torch.tensor([True, False, True, False]), -1.0)
            return a, b, c, d, e, torch.tril(x), x.split([1, 2], dim=1)[1], x.chunk(2, dim=2)[0]

    check(M(), *two((2, 3, 4), (4, 3, 4)))


def test_functional_conv_pool_and_pad():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(4, 3, 3, 3) * 0.2)

        def forward(self, x):
            y = F.conv2d(F.pad(x, (1, 2, 0, 1), value=0.5), self.w, stride=2)
            y = F.max_pool2d(y, 2, ceil_mode=True) + F.avg_pool2d(y, 2, ceil_mode=True)
            return F.adaptive_avg_pool2d(F.leaky_relu(y), 1).flatten(1)

    check(M(), *two((2, 3, 9, 9), (3, 3, 9, 9)))


def test_comparisons_and_masks():
    class M(nn.Module):
        def forward(self, x, m):
            y = torch.where(x > 0, x, x * 0.1) + x.masked_fill(x <= -0.5, 2.0)
            keep = (x != 0) & m.logical_not() | (x >= 1.0)
            return y, keep, (x == x).logical_xor(m), y * keep

    def args(b):
        return randn(b, 4), torch.rand(b, 4) > 0.5

    check(M(), args(2), args(5))


def test_in_place_ops_are_followed():
    class M(nn.Module):
        def forward(self, x):
            y = x * 2
            y.add_(1)
            y.relu_()
            y *= 3
            return y + x

    check(M(), *two((2, 5), (4, 5)))


# -- export's contract ---------------------------------------------------------------------------


def _export_bytes(model, args, **kw) -> bytes:
    buf = io.BytesIO()
    torch.onnx.export(model, args, buf, **kw)
    return buf.getvalue()


def test_initializers_equal_the_state_dict():
    model = models.lenet5()
    proto = onnx.load_from_string(_export_bytes(model, torch.randn(1, 1, 28, 28)))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    state = model.state_dict()
    for name, t in state.items():
        assert name in inits, name
        np.testing.assert_array_equal(inits[name], t.numpy())


def test_names_opset_and_static_shapes():
    model = nn.Sequential(nn.Linear(3, 2), nn.Softmax(-1))
    proto = onnx.load_from_string(
        _export_bytes(
            model, (torch.randn(4, 3),), input_names=["features"], output_names=["probs"],
            opset_version=17,
        )
    )  # fmt: skip
    assert [i.name for i in proto.graph.input] == ["features"]
    assert [o.name for o in proto.graph.output] == ["probs"]
    assert proto.opset_import[0].version == 17
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [4, 3]  # no dynamic_axes: the example's shape


def test_dynamic_axes_list_form_and_symbol_names():
    model = nn.Linear(3, 2)
    data = _export_bytes(
        model, torch.randn(4, 3), input_names=["x"], output_names=["y"],
        dynamic_axes={"x": [0], "y": {0: "batch"}},
    )  # fmt: skip
    proto = onnx.load_from_string(data)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x_dynamic_axes_1"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    out = _session(data).run(None, {"x": np.ones((7, 3), np.float32)})[0]
    assert out.shape == (7, 2)


def test_default_opset_is_pytorchs():
    proto = onnx.load_from_string(_export_bytes(nn.ReLU(), torch.randn(2)))
    assert proto.opset_import[0].version == 20
    assert [i.name for i in proto.graph.input] == ["input"]  # forward's parameter name


def test_path_target_and_kwargs(tmp_path):
    class M(nn.Module):
        def forward(self, x, y=None, scale=1.0):
            return x * scale + y

    path = tmp_path / "m.onnx"
    torch.onnx.export(M(), (torch.ones(2), {"y": torch.ones(2), "scale": 3.0}), path)
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["x", "y"]
    out = _session(path.read_bytes()).run(None, {"x": np.ones(2, np.float32),
                                                  "y": np.full(2, 2, np.float32)})  # fmt: skip
    np.testing.assert_allclose(out[0], [5.0, 5.0])
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_export_params_false_and_keep_initializers_as_inputs():
    model = nn.Linear(3, 2)
    proto = onnx.load_from_string(_export_bytes(model, torch.randn(1, 3), export_params=False))
    assert not proto.graph.initializer
    assert {i.name for i in proto.graph.input} == {"input", "weight", "bias"}
    proto = onnx.load_from_string(
        _export_bytes(model, torch.randn(1, 3), keep_initializers_as_inputs=True)
    )
    assert {i.name for i in proto.graph.input} == {"input", "weight", "bias"}
    assert {i.name for i in proto.graph.initializer} == {"weight", "bias"}


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_export_restores_the_training_mode(mode):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.BatchNorm1d(3))
    getattr(model, mode)()
    data = _export_bytes(model, torch.randn(4, 3))
    assert all(m.training == (mode == "train") for m in model.modules())
    model.eval()
    x = torch.randn(4, 3)
    got = _session(data).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


def test_is_in_onnx_export():
    seen = []

    class M(nn.Module):
        def forward(self, x):
            seen.append(torch.onnx.is_in_onnx_export())
            return x + 1

    _export_bytes(M(), torch.randn(2))
    assert seen and all(seen) and not torch.onnx.is_in_onnx_export()


def test_unsupported_op_is_named():
    class M(nn.Module):
        def forward(self, x):
            return torch.linalg.inv(x)

    with pytest.raises(torch.onnx.errors.UnsupportedOperatorError, match="Inv"):
        _export_bytes(M(), torch.eye(3) + 1)
    assert torch.onnx.errors.UnsupportedOperatorError.__module__ == "tapegrad.onnx.errors"
    assert issubclass(torch.onnx.errors.UnsupportedOperatorError, RuntimeError)


def test_adaptive_pool_that_does_not_divide_is_an_error():
    with pytest.raises(torch.onnx.errors.UnsupportedOperatorError, match="adaptive average"):
        _export_bytes(nn.AdaptiveAvgPool2d(3), torch.randn(1, 2, 5, 5))


def test_untraceable_value_is_an_error_not_a_baked_constant():
    class M(nn.Module):
        def forward(self, x):
            idx = x.argmax(1)  # not recorded: the index would become a constant
            return x[:, idx]

    x = torch.arange(30.0).reshape(6, 5) % 7  # rows with their maxima in different columns
    with pytest.raises(torch.onnx.errors.UnsupportedOperatorError, match="cannot trace"):
        _export_bytes(M(), x, input_names=["x"], dynamic_axes={"x": [0]})
    with pytest.raises(torch.onnx.errors.UnsupportedOperatorError, match="cannot trace"):
        _export_bytes(M(), x)  # checked without dynamic axes too


def test_untraceable_output_is_an_error():
    class M(nn.Module):
        def forward(self, x):
            return x.argmax(1)

    with pytest.raises(torch.onnx.errors.UnsupportedOperatorError, match="output"):
        _export_bytes(M(), torch.randn(3, 4))


def test_verbose_and_no_constant_folding(capsys):
    check(_Ops(), *two((2, 3, 4), (3, 3, 4)), verbose=True, do_constant_folding=False)
    assert "MatMul" in capsys.readouterr().out


def test_bad_opset_and_training_mode():
    with pytest.raises(ValueError, match="Unsupported ONNX opset version: 9"):
        _export_bytes(nn.ReLU(), torch.randn(2), opset_version=9)
    with pytest.raises(ValueError, match="TRAINING"):
        _export_bytes(nn.ReLU(), torch.randn(2), training=torch.onnx.TrainingMode.TRAINING)


def test_older_opsets():
    model = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.LayerNorm(6), nn.Linear(6, 2))
    for opset in (14, 17, 18):
        check(model, *two((2, 4), (3, 4)), opset_version=opset)


def test_missing_onnx_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    for name in [k for k in sys.modules if k.startswith("tapegrad.onnx._convert")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r'pip install "tapegrad\[onnx\]"'):
        torch.onnx.export(nn.ReLU(), torch.randn(2), io.BytesIO())


def test_custom_function_and_profiler_during_export():
    class Double(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class M(nn.Module):
        def forward(self, x):
            return Double.apply(x).relu()

    with torch.profiler.profile() as prof:
        check(M(), *two((2, 3), (4, 3)))
    assert "aten::relu" in {e.key for e in prof.key_averages()}  # the profiler saw the ops


def test_normal_execution_is_not_traced():
    from tapegrad.autograd import function

    assert function._apply_observer is None
    _export_bytes(nn.ReLU(), torch.randn(2))
    assert function._apply_observer is None
    assert "forward" not in nn.LSTM(2, 2).__dict__


# -- the command line ---------------------------------------------------------------------------


def test_cli_export_of_a_checkpoint(tmp_path, capsys):
    from tapegrad import cli

    model = models.seed_cnn()
    meta = {
        "model": "seed-cnn", "dataset": "fashion-mnist", "in_channels": 1, "image_size": 28,
        "num_classes": 10, "mean": [0.28], "std": [0.35], "seed": 0,
    }  # fmt: skip
    ckpt = tmp_path / "run.pt"
    torch.save({"epoch": 1, "model": model.state_dict(), "metadata": meta}, ckpt)
    out = tmp_path / "model.onnx"
    assert cli.main(["export", str(ckpt), str(out)]) == 0
    printed = capsys.readouterr().out
    assert "model.onnx" in printed and "mean [0.28]" in printed
    sess = _session(out.read_bytes())
    model.eval()
    for n in (1, 3):
        x = torch.randn(n, 1, 28, 28)
        got = sess.run(["output"], {"input": x.numpy()})[0]
        np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=RTOL, atol=ATOL)

    fixed = tmp_path / "fixed.onnx"
    args = ["export", str(ckpt), str(fixed), "--no-batch-dynamic", "--batch-size", "2"]
    assert cli.main([*args, "--opset", "17"]) == 0
    proto = onnx.load(str(fixed))
    assert proto.opset_import[0].version == 17
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2

    assert cli.main(["export", str(tmp_path / "nope.pt"), str(out)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_cli_export_after_a_tiny_train_run(data_dir, tmp_path, capsys):  # noqa: F811
    from tapegrad import cli

    ckpt, out = tmp_path / "run.pt", tmp_path / "net.onnx"
    args = ["train", "--model", "lenet5", "--dataset", "fashion-mnist", "--epochs", "1",
            "--data-dir", data_dir, "--batch-size", "40", "--checkpoint", str(ckpt),
            "--no-progress"]  # fmt: skip
    assert cli.main(args) == 0
    assert cli.main(["export", str(ckpt), str(out), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert meta["model"] == "lenet5" and meta["output"] == str(out)
    model = models.lenet5()
    model.load_state_dict(torch.load(ckpt)["model"])
    model.eval()
    x = torch.randn(5, 1, 28, 28)
    got = _session(out.read_bytes()).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=RTOL, atol=ATOL)
