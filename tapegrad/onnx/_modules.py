"""Converters for whole modules that have a direct ONNX operator.

Recurrent layers must be recorded whole (their Python time loop would otherwise be
unrolled for one sequence length); embeddings, batch and layer norm map to a single
ONNX operator. ``module_converter(m)`` gives the converter for a module instance, or
``None`` when its ops are traced one by one.
"""

from __future__ import annotations

import numpy as np

from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.normalization import LayerNorm
from ..nn.modules.rnn import GRU, LSTM, RNN
from ..nn.modules.sparse import Embedding
from ._graph import Graph
from .errors import UnsupportedOperatorError


def _embedding(g: Graph, n):
    m = n.target
    if m.max_norm is not None:
        raise UnsupportedOperatorError(
            "nn.Embedding", g.opset, None, "max_norm renormalises the weight in forward"
        )
    (idx,) = n.args
    return [g.op("Gather", g.v(m.weight), g.v(idx), axis=0)]


def _batch_norm(g: Graph, n):
    m = n.target
    (x,) = n.args
    c = m.num_features
    dt = x._data.dtype
    scale = g.v(m.weight) if m.weight is not None else g.const(np.ones(c, dt))
    bias = g.v(m.bias) if m.bias is not None else g.const(np.zeros(c, dt))
    y = g.op(
        "BatchNormalization",
        g.v(x),
        scale,
        bias,
        g.v(m.running_mean),
        g.v(m.running_var),
        epsilon=float(m.eps),
    )
    return [y]


def _layer_norm(g: Graph, n):
    m = n.target
    (x,) = n.args
    k = len(m.normalized_shape)
    dt = x._data.dtype
    shape = tuple(m.normalized_shape)
    scale = g.v(m.weight) if m.weight is not None else g.const(np.ones(shape, dt))
    bias = None
    if getattr(m, "bias", None) is not None:
        bias = g.v(m.bias)
    y = g.op("LayerNormalization", g.v(x), scale, bias, axis=-k, epsilon=float(m.eps))
    return [y]


# ONNX gate orders: LSTM (i, o, f, c) from PyTorch's (i, f, g, o); GRU (z, r, h) from (r, z, n)
_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}
_ONNX_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _gates(w: np.ndarray, mode: str) -> np.ndarray:
    chunks = np.split(w, len(_GATE_ORDER[mode]), axis=0)
    return np.concatenate([chunks[i] for i in _GATE_ORDER[mode]], axis=0)


def _layer_weights(g: Graph, m, layer: int, dirs: int):
    """W, R, B initializers of one layer, in ONNX's gate order (all directions stacked)."""
    ws, rs, bs = [], [], []
    for d in range(dirs):
        sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
        w_ih = getattr(m, f"weight_ih{sfx}")._data
        w_hh = getattr(m, f"weight_hh{sfx}")._data
        ws.append(_gates(w_ih, m.mode))
        rs.append(_gates(w_hh, m.mode))
        if m.bias:
            b_ih = getattr(m, f"bias_ih{sfx}")._data
            b_hh = getattr(m, f"bias_hh{sfx}")._data
            bs.append(np.concatenate([_gates(b_ih, m.mode), _gates(b_hh, m.mode)]))
    prefix = g.module_names.get(id(m), "rnn")
    w = g.const(np.stack(ws), f"{prefix}.onnx_W_l{layer}")
    r = g.const(np.stack(rs), f"{prefix}.onnx_R_l{layer}")
    b = g.const(np.stack(bs), f"{prefix}.onnx_B_l{layer}") if bs else None
    return w, r, b


def _rnn(g: Graph, n):
    m = n.target
    args = list(n.args) + [None] * (2 - len(n.args))
    x, hx = args[0], n.kwargs.get("hx", args[1])
    name = f"nn.{type(m).__name__}"
    if not hasattr(x, "_data"):
        raise UnsupportedOperatorError(name, g.opset, None, "packed sequences are not exported")
    if m.proj_size:
        raise UnsupportedOperatorError(name, g.opset, None, "LSTM projections (proj_size)")
    lstm = m.mode == "LSTM"
    dirs = 2 if m.bidirectional else 1
    hidden = m.hidden_size
    batched = x.ndim == 3
    seq = g.v(x)
    if not batched:
        seq = g.unsqueeze(seq, [1])
    elif m.batch_first:
        seq = g.op("Transpose", seq, perm=[1, 0, 2])
    h0 = c0 = None
    if hx is not None:
        h0, c0 = hx if lstm else (hx, None)
        h0 = g.v(h0)
        c0 = g.v(c0) if c0 is not None else None
        if not batched:
            h0 = g.unsqueeze(h0, [1])
            c0 = g.unsqueeze(c0, [1]) if c0 is not None else None
    attrs = {"hidden_size": hidden}
    if m.bidirectional:
        attrs["direction"] = "bidirectional"
    if m.mode == "GRU":
        attrs["linear_before_reset"] = 1  # PyTorch applies the reset gate after W_hn h + b_hn
    if m.mode == "RNN_RELU":
        attrs["activations"] = ["Relu"] * dirs
    h_n, c_n = [], []
    for layer in range(m.num_layers):
        w, r, b = _layer_weights(g, m, layer, dirs)
        state = []
        for s in (h0, c0) if lstm else (h0,):
            if s is None:
                state.append(None)
            else:
                lo, hi = layer * dirs, (layer + 1) * dirs
                state.append(g.op("Slice", s, g.ints([lo]), g.ints([hi]), g.ints([0])))
        outs = g.op(_ONNX_OP[m.mode], seq, w, r, b, None, *state, outputs=3 if lstm else 2, **attrs)
        y = outs[0]  # (T, dirs, B, H)
        h_n.append(outs[1])
        if lstm:
            c_n.append(outs[2])
        y = g.op("Transpose", y, perm=[0, 2, 1, 3])
        seq = g.op("Reshape", y, g.ints([0, 0, dirs * hidden]))
    h = h_n[0] if len(h_n) == 1 else g.op("Concat", *h_n, axis=0)
    c = (c_n[0] if len(c_n) == 1 else g.op("Concat", *c_n, axis=0)) if lstm else None
    out = seq
    if not batched:
        out = g.squeeze(out, [1])
        h = g.squeeze(h, [1])
        c = g.squeeze(c, [1]) if lstm else None
    elif m.batch_first:
        out = g.op("Transpose", out, perm=[1, 0, 2])
    return [out, h, c] if lstm else [out, h]


def module_converter(m, opset: int):
    """The converter for module ``m`` in its current mode, or ``None`` to trace its ops."""
    if isinstance(m, (LSTM, GRU, RNN)):
        return _rnn
    if isinstance(m, Embedding):
        return _embedding
    if isinstance(m, _BatchNorm) and not m.training and m.running_mean is not None:
        return _batch_norm
    if isinstance(m, LayerNorm) and opset >= 17:
        return _layer_norm
    return None
