"""Recurrent layers (``torch.nn.modules.rnn``): RNN, LSTM (with projections), GRU over
whole sequences, and their single-step cells, with PyTorch's parameter names, shapes,
initialisation and gate equations; the whole-sequence layers also take a
``PackedSequence``."""

from __future__ import annotations

import math
import numbers
import warnings

from ...ops import creation as C
from ...ops import rnn as R
from ...ops import shape as S
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, relu: bool):
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_cell(x, hc, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    h, c = hc
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    ir, iz, in_ = F.linear(x, w_ih, b_ih).chunk(3, -1)
    hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r = (hr + ir).sigmoid()
    z = (hz + iz).sigmoid()
    n = (in_ + hn * r).tanh()
    return (h - n) * z + n


class RNNBase(Module):
    """Shared parameters and the layer/direction loop of RNN, LSTM and GRU
    (``nn.RNNBase``).

    Args:
        mode: ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``.
        input_size: Features of the input.
        hidden_size: Features of the hidden state.
        num_layers: Stacked recurrent layers.
        bias: Learn the biases ``b_ih`` and ``b_hh``.
        batch_first: Inputs and outputs are (batch, sequence, feature) instead of (sequence,
            batch, feature).
        dropout: Dropout probability on the outputs of each layer but the last.
        bidirectional: Add a backward direction, its outputs concatenated with the forward
            one's.
        proj_size: If positive, project the hidden state to this size (LSTM with projections).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                "element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                "dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                params = [
                    (f"weight_ih{suffix}", (gate_size, layer_input)),
                    (f"weight_hh{suffix}", (gate_size, real_hidden)),
                ]
                if bias:
                    params += [
                        (f"bias_ih{suffix}", (gate_size,)),
                        (f"bias_hh{suffix}", (gate_size,)),
                    ]
                if proj_size > 0:
                    params.append((f"weight_hr{suffix}", (proj_size, hidden_size)))
                for name, shape in params:
                    setattr(self, name, Parameter(C.empty(shape, **kw)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list:
        """The parameters grouped per layer and direction (``RNNBase.all_weights``)."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i : i + per]] for i in range(0, len(names), per)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------

    def _weights(self, layer: int, direction: int):
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = self.__getattr__
        b_ih = get(f"bias_ih{suffix}") if self.bias else None
        b_hh = get(f"bias_hh{suffix}") if self.bias else None
        w_hr = get(f"weight_hr{suffix}") if self.proj_size > 0 else None
        return get(f"weight_ih{suffix}"), get(f"weight_hh{suffix}"), b_ih, b_hh, w_hr

    def _step(self, x, state, weights):
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        if self.mode == "LSTM":
            return _lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh, w_hr)
        if self.mode == "GRU":
            return _gru_cell(x, state, w_ih, w_hh, b_ih, b_hh)
        return _rnn_cell(x, state, w_ih, w_hh, b_ih, b_hh, self.mode == "RNN_RELU")

    def _sequence(self, x, h0, c0, weights, reverse: bool):
        """One layer and direction over the whole sequence ``x`` (T, B, input): the input
        projection of every step in one GEMM, then the recurrence as one fused node
        (``tapegrad.ops.rnn``). Returns ``(outputs, h_T, c_T or None)``."""
        w_ih, w_hh, b_ih, b_hh, _ = weights
        if self.mode == "GRU":
            xg = F.linear(x, w_ih, b_ih)
            out, h = R.gru_sequence(xg, h0, w_hh, b_hh, reverse=reverse)
            return out, h, None
        # LSTM and Elman add both biases before any nonlinearity: their sum is the bias of
        # the input projection (a (G,) add here instead of a (T, B, G) one and its
        # gradient's reduction over every step)
        xg = F.linear(x, w_ih, b_ih + b_hh if b_ih is not None else None)
        if self.mode == "LSTM":
            return R.lstm_sequence(xg, h0, c0, w_hh, reverse=reverse)
        out, h = R.rnn_sequence(xg, h0, w_hh, relu=self.mode == "RNN_RELU", reverse=reverse)
        return out, h, None

    def _check_input(self, input, hx) -> tuple:
        name = {"LSTM": "LSTM", "GRU": "GRU"}.get(self.mode, "RNN")
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.dim()}D tensor instead"
            )
        batched = input.dim() == 3
        hs = hx if not isinstance(hx, tuple) else hx[0]
        if hs is not None and hs.dim() != (3 if batched else 2):
            raise RuntimeError(
                f"For {'batched' if batched else 'unbatched'} {'3' if batched else '2'}-D input, "
                f"hx should also be {'3' if batched else '2'}-D but got {hs.dim()}-D tensor"
            )
        if input.size(-1) != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{input.size(-1)}"
            )
        return batched

    def _initial_state(self, hx, batch: int, dtype) -> tuple:
        """(h0, c0) checked against the expected shapes; zeros when ``hx`` is None."""
        dirs = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        lstm = self.mode == "LSTM"
        h_shape = (self.num_layers * dirs, batch, real_hidden)
        c_shape = (self.num_layers * dirs, batch, self.hidden_size)
        if hx is None:
            h0 = C.zeros(h_shape, dtype=dtype)
            return h0, (C.zeros(c_shape, dtype=dtype) if lstm else None)
        if lstm:
            h0, c0 = hx
            for t, shape in ((h0, h_shape), (c0, c_shape)):
                if tuple(t.shape) != shape:
                    raise RuntimeError(f"Expected hidden size {shape}, got {list(t.shape)}")
            return h0, c0
        if tuple(hx.shape) != h_shape:
            raise RuntimeError(f"Expected hidden size {h_shape}, got {list(hx.shape)}")
        return hx, None

    def _forward_packed(self, packed, hx):
        """Run over a ``PackedSequence``: at step ``t`` only the ``batch_sizes[t]``
        sequences still present are updated, so each final state is the one at that
        sequence's own length (and, in reverse, each sequence starts from ``h0``)."""
        data, batch_sizes = packed.data, packed.batch_sizes
        sizes = [int(b) for b in batch_sizes.tolist()]
        if data.size(-1) != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{data.size(-1)}"
            )
        if hx is not None and packed.sorted_indices is not None:
            # the caller's batch order -> the packed (longest first) order
            idx = packed.sorted_indices
            hx = (
                tuple(h.index_select(1, idx) for h in hx)
                if isinstance(hx, tuple)
                else (hx.index_select(1, idx))
            )
        lstm = self.mode == "LSTM"
        dirs = 2 if self.bidirectional else 1
        h0, c0 = self._initial_state(hx, sizes[0], data.dtype)
        steps_in = S.split(data, sizes, 0)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                h, c = h0[k], (c0[k] if lstm else None)
                weights = self._weights(layer, d)
                order = range(len(sizes) - 1, -1, -1) if d == 1 else range(len(sizes))
                seq = [None] * len(sizes)
                for t in order:
                    b = sizes[t]
                    state = (h[:b], c[:b]) if lstm else h[:b]
                    state = self._step(steps_in[t], state, weights)
                    new_h = state[0] if lstm else state
                    seq[t] = new_h
                    # sequences already finished (or, in reverse, not yet started) keep theirs
                    h = new_h if b == h.shape[0] else S.cat([new_h, h[b:]], 0)
                    if lstm:
                        c = state[1] if b == c.shape[0] else S.cat([state[1], c[b:]], 0)
                outs.append(seq)
                h_n.append(h)
                if lstm:
                    c_n.append(c)
            steps_out = outs[0] if dirs == 1 else [S.cat([a, b], 1) for a, b in zip(*outs)]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                # PyTorch drops out the packed data of the layer as one tensor
                dropped = F.dropout(S.cat(steps_out, 0), self.dropout, True)
                steps_out = S.split(dropped, sizes, 0)
            steps_in = steps_out
        h_n = S.stack(h_n, 0)
        c_n = S.stack(c_n, 0) if lstm else None
        if packed.unsorted_indices is not None:
            h_n = h_n.index_select(1, packed.unsorted_indices)
            c_n = c_n.index_select(1, packed.unsorted_indices) if lstm else None
        output = PackedSequence(
            S.cat(list(steps_in), 0), batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        return output, ((h_n, c_n) if lstm else h_n)

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        batched = self._check_input(input, hx)
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if isinstance(hx, tuple) else hx.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        steps, batch = input.shape[0], input.shape[1]
        dirs = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        h0, c0 = self._initial_state(hx, batch, input.dtype)
        layer_input = input
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                weights = self._weights(layer, d)
                if self.proj_size == 0:
                    out, h, c = self._sequence(
                        layer_input, h0[k], c0[k] if lstm else None, weights, d == 1
                    )
                    outs.append(out)
                    h_n.append(h)
                    if lstm:
                        c_n.append(c)
                    continue
                state = (h0[k], c0[k]) if lstm else h0[k]
                order = range(steps - 1, -1, -1) if d == 1 else range(steps)
                seq = [None] * steps
                for t in order:
                    state = self._step(layer_input[t], state, weights)
                    seq[t] = state[0] if lstm else state
                outs.append(S.stack(seq, 0))
                h_n.append(state[0] if lstm else state)
                if lstm:
                    c_n.append(state[1])
            layer_input = outs[0] if dirs == 1 else S.cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        h_n = S.stack(h_n, 0)
        c_n = S.stack(c_n, 0) if lstm else None
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((h_n, c_n) if lstm else h_n)


class RNN(RNNBase):
    """Elman RNN, h' = tanh or relu(x W_ih^T + b_ih + h W_hh^T + b_hh) (``nn.RNN``).

    Args:
        input_size: Features of the input.
        hidden_size: Features of the hidden state.
        num_layers: Stacked recurrent layers.
        nonlinearity: ``'tanh'`` or ``'relu'``.
        bias: Learn the biases ``b_ih`` and ``b_hh``.
        batch_first: Inputs and outputs are (batch, sequence, feature) instead of (sequence,
            batch, feature).
        dropout: Dropout probability on the outputs of each layer but the last.
        bidirectional: Add a backward direction, its outputs concatenated with the forward
            one's.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip


class LSTM(RNNBase):
    """Long short-term memory, optionally with projections (``nn.LSTM``); returns
    ``output, (h_n, c_n)``.

    Args:
        input_size: Features of the input.
        hidden_size: Features of the hidden state.
        num_layers: Stacked recurrent layers.
        bias: Learn the biases ``b_ih`` and ``b_hh``.
        batch_first: Inputs and outputs are (batch, sequence, feature) instead of (sequence,
            batch, feature).
        dropout: Dropout probability on the outputs of each layer but the last.
        bidirectional: Add a backward direction, its outputs concatenated with the forward
            one's.
        proj_size: If positive, project the hidden state to this size (LSTM with projections).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, proj_size, device, dtype,
        )  # fmt: skip


class GRU(RNNBase):
    """Gated recurrent unit (``nn.GRU``).

    Args:
        input_size: Features of the input.
        hidden_size: Features of the hidden state.
        num_layers: Stacked recurrent layers.
        bias: Learn the biases ``b_ih`` and ``b_hh``.
        batch_first: Inputs and outputs are (batch, sequence, feature) instead of (sequence,
            batch, feature).
        dropout: Dropout probability on the outputs of each layer but the last.
        bidirectional: Add a backward direction, its outputs concatenated with the forward
            one's.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip


class RNNCellBase(Module):
    """Parameters of a single recurrent step (``nn.RNNCellBase``).

    Args:
        input_size: Features of the input.
        hidden_size: Features of the hidden state.
        bias: Learn the biases ``b_ih`` and ``b_hh``.
        num_chunks: Gates stacked in the weights (1, 3 or 4).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None,
        dtype=None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(C.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(C.empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(C.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(C.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += f", bias={self.bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input, hx, name: str):
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for h in hx if isinstance(hx, tuple) else (hx,):
                if h.dim() not in (1, 2):
                    raise ValueError(
                        f"{name}: Expected hidden to be 1D or 2D, got {h.dim()}D instead"
                    )
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            return input, None, batched
        if not batched:
            hx = tuple(h.unsqueeze(0) for h in hx) if isinstance(hx, tuple) else hx.unsqueeze(0)
        return input, hx, batched

    def _zeros(self, input):
        return C.zeros((input.shape[0], self.hidden_size), dtype=input.dtype)


class RNNCell(RNNCellBase):
    """One Elman RNN step (``nn.RNNCell``).

    Args:
        input_size: Features of the input.
        hidden_size: Features of the hidden state.
        bias: Learn the biases ``b_ih`` and ``b_hh``.
        nonlinearity: ``'tanh'`` or ``'relu'``.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
        device=None, dtype=None,
    ) -> None:  # fmt: skip
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, hx, batched = self._prepare(input, hx, "RNNCell")
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h = self._zeros(input) if hx is None else hx
        out = _rnn_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                        self.nonlinearity == "relu")  # fmt: skip
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (``nn.LSTMCell``); returns ``(h', c')``.

    Args:
        input_size: Features of the input.
        hidden_size: Features of the hidden state.
        bias: Learn the biases ``b_ih`` and ``b_hh``.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, hx, batched = self._prepare(input, hx, "LSTMCell")
        if hx is None:
            hx = (self._zeros(input), self._zeros(input))
        h, c = _lstm_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (``nn.GRUCell``).

    Args:
        input_size: Features of the input.
        hidden_size: Features of the hidden state.
        bias: Learn the biases ``b_ih`` and ``b_hh``.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, hx, batched = self._prepare(input, hx, "GRUCell")
        h = self._zeros(input) if hx is None else hx
        out = _gru_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)
