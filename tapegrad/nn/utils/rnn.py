"""Variable-length sequences for recurrent layers (mirrors ``torch.nn.utils.rnn``).

A ``PackedSequence`` stores a batch of sequences of different lengths time step by
time step: at step ``t`` only the ``batch_sizes[t]`` longest sequences are present,
sorted longest first (``sorted_indices`` maps back to the caller's order). RNN, LSTM
and GRU accept one and run each step on the sequences still present.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from ... import _dtype
from ..._tensor import Tensor
from ...ops import creation as C
from ...ops import shape as S
from ...ops.index import index_select

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """Sequences of different lengths packed time step by time step
    (``torch.nn.utils.rnn.PackedSequence``); made by ``pack_padded_sequence`` or
    ``pack_sequence``, never by hand.

    Called as ``PackedSequence(data, batch_sizes=None, sorted_indices=None,
    unsorted_indices=None)``: ``data`` holds the packed time steps, one row per (time step,
    sequence), or is a ``(data, batch_sizes)`` pair when ``batch_sizes`` is ``None``;
    ``batch_sizes`` (int64) counts the sequences still running at each time step;
    ``sorted_indices`` is the permutation that sorted the batch by decreasing length, or
    ``None``; ``unsorted_indices`` is its inverse, computed from ``sorted_indices`` when
    ``None``.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The same sequences with ``data`` converted by ``Tensor.to``."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=_dtype.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=_dtype.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=_dtype.float16)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (``nn.utils.rnn.invert_permutation``).

    Args:
        permutation: A 1-D permutation tensor, or ``None``.

    Returns:
        The inverse permutation, or ``None``.
    """
    if permutation is None:
        return None
    perm = np.asarray(permutation.numpy())
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=perm.dtype)
    return C.tensor(inverse, dtype=permutation.dtype)


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(
                "'lengths' argument should be a 1D CPU int64 tensor, but got "
                f"{lengths.dim()}D cpu {_type_word(lengths.dtype)} tensor"
            )
        return np.asarray(lengths.numpy()).astype(np.int64)
    return np.asarray(lengths, dtype=np.int64)


def _type_word(dt) -> str:
    # PyTorch names the scalar type as the legacy tensor type does ("Long", "Float")
    return {"int64": "Long", "int32": "Int", "float32": "Float", "float64": "Double"}.get(
        str(dt).replace("torch.", ""), str(dt)
    )


def pack_padded_sequence(
    input: Tensor,
    lengths: Tensor | list[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch of sequences (``nn.utils.rnn.pack_padded_sequence``).

    ``input`` is ``T x B x *`` (``B x T x *`` with ``batch_first``); ``lengths`` are
    the sequences' true lengths, in decreasing order unless ``enforce_sorted=False``.

    Args:
        input: A padded batch, (T, B, *) or (B, T, *) with ``batch_first``.
        lengths: The length of each sequence.
        batch_first: The batch dimension comes first.
        enforce_sorted: Require sequences sorted by decreasing length (else they are sorted here
            and unsorted when unpacked).

    Returns:
        A ``PackedSequence``.
    """
    lens = _lengths_array(lengths)
    batch_dim = 0 if batch_first else 1
    sorted_indices = None
    if not enforce_sorted:
        # a stable descending sort, as PyTorch's CPU sort orders equal lengths
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = C.tensor(order, dtype=_dtype.int64)
        input = index_select(input, batch_dim, sorted_indices)
    if lens.size != input.shape[batch_dim]:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
            f"(batch_size={input.shape[batch_dim]})"
        )
    if lens.size and lens[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if np.any(lens[1:] > lens[:-1]):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
            "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
            "pack_sequence to sidestep this requirement if you do not need ONNX exportability."
        )
    if batch_first:
        input = input.transpose(0, 1)
    steps = int(lens[0])
    batch_sizes = (lens[None, :] > np.arange(steps)[:, None]).sum(1)
    data = S.cat([input[t, : int(b)] for t, b in enumerate(batch_sizes)], 0)
    return PackedSequence(data, C.tensor(batch_sizes, dtype=_dtype.int64), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Unpack a ``PackedSequence`` into a padded batch and the lengths
    (``nn.utils.rnn.pad_packed_sequence``).

    Args:
        sequence: The packed batch.
        batch_first: The batch dimension comes first.
        padding_value: The value of the padding.
        total_length: Pad to this length instead of the longest sequence's.

    Returns:
        ``(padded, lengths)``.
    """
    batch_sizes = np.asarray(sequence.batch_sizes.numpy()).astype(np.int64)
    steps = int(batch_sizes.size)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being {steps}"
            )
    else:
        total_length = steps
    data = sequence.data
    batch = int(batch_sizes[0])
    rest = tuple(data.shape[1:])
    chunks = S.split(data, [int(b) for b in batch_sizes], 0)
    rows = []
    for chunk, b in zip(chunks, batch_sizes):
        if b < batch:
            pad = C.full((batch - int(b), *rest), padding_value, dtype=data.dtype)
            chunk = S.cat([chunk, pad], 0)
        rows.append(chunk)
    if total_length > steps:
        rows += [C.full((batch, *rest), padding_value, dtype=data.dtype)] * (total_length - steps)
    padded = S.stack(rows, 0)
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    if sequence.unsorted_indices is not None:
        padded = index_select(padded, 1, sequence.unsorted_indices)
        lengths = lengths[np.asarray(sequence.unsorted_indices.numpy())]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, C.tensor(lengths, dtype=_dtype.int64)


def pad_sequence(
    sequences: Tensor | Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Pad sequences of different lengths to the longest one and stack them
    (``nn.utils.rnn.pad_sequence``): ``T x B x *``, or ``B x T x *`` with ``batch_first``.

    Args:
        sequences: The sequences, each (L, *).
        batch_first: The batch dimension comes first.
        padding_value: The value of the padding.
        padding_side: ``'right'`` or ``'left'``.

    Returns:
        The padded batch, (T, B, *) or (B, T, *) with ``batch_first``.
    """
    if not isinstance(sequences, Iterable):
        raise RuntimeError(
            "pad_sequence: Expected iterable for input sequences, but got arg of type: "
            f"{type(sequences)}"
        )
    sequences = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            pad = C.full((missing, *s.shape[1:]), padding_value, dtype=s.dtype)
            s = S.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        padded.append(s)
    return S.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False) -> list:
    """Split a padded batch back into its sequences (``nn.utils.rnn.unpad_sequence``).

    Args:
        padded_sequences: A padded batch.
        lengths: The length of each sequence.
        batch_first: The batch dimension comes first.

    Returns:
        The list of sequences.
    """
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = _lengths_array(lengths)
    return [padded_sequences[i, : int(n)] for i, n in enumerate(lens)]


def pack_sequence(sequences: list[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of different lengths (``nn.utils.rnn.pack_sequence``).

    Args:
        sequences: The sequences, each (L, *).
        enforce_sorted: Require sequences sorted by decreasing length (else they are sorted here
            and unsorted when unpacked).

    Returns:
        A ``PackedSequence``.
    """
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences inside a ``PackedSequence`` (``nn.utils.rnn.unpack_sequence``).

    Args:
        packed_sequences: The packed batch.

    Returns:
        The list of sequences.
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
