"""Turning a list of samples into a batch (``torch.utils.data._utils.collate``).

``default_collate`` stacks tensors, turns NumPy arrays and numbers into tensors and
recurses into dicts, tuples, lists and namedtuples, exactly as PyTorch's does (a tuple of
fields becomes a *list* of batched fields, as in PyTorch). ``collate`` takes a registry
``collate_fn_map`` of per-type functions, so a user can extend it the same way.
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np

import tapegrad

# dtype strings of NumPy arrays that cannot become tensors: bytes, text and objects.
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)

CollateMap = dict[type | tuple[type, ...], Callable]


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays (also inside containers) into tensors; leave the rest alone
    (``torch.utils.data.default_convert``, used when automatic batching is off).

    Args:
        data: a sample: an array, a tensor, a number or a container of them.
    """
    elem_type = type(data)
    if isinstance(data, tapegrad.Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "bytes_"):
        if isinstance(data, np.ndarray) and np_str_obj_array_pattern.search(data.dtype.str):
            return data
        return tapegrad.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        return _rebuild_mapping(data, converted)
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # PyTorch's backward-compatible list
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(elem, values: dict) -> Any:
    # Keep the sample's own mapping type (OrderedDict, a user dict subclass...) if possible.
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:  # the type cannot be built from a dict
        return values


def _rebuild_sequence(elem, values: list) -> Any:
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def collate(batch: list, *, collate_fn_map: CollateMap | None = None) -> Any:
    """Collate ``batch`` using ``collate_fn_map`` for the element types it names and
    recursing into containers (``torch.utils.data._utils.collate.collate``).

    Args:
        batch: the list of samples to combine.
        collate_fn_map: a dict from element types to functions ``fn(batch, *, collate_fn_map)`` that
            collate a batch of that type; ``None`` means none.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type, fn in collate_fn_map.items():
            if isinstance(elem, collate_type):
                return fn(batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        values = {
            key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem
        }
        return _rebuild_mapping(elem, values)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # a list, as PyTorch returns for backward compatibility
        return _rebuild_sequence(elem, fields)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch: list, *, collate_fn_map: CollateMap | None = None):
    """Stack tensors along a new first dimension."""
    return tapegrad.stack(batch, 0)


def collate_numpy_array_fn(batch: list, *, collate_fn_map: CollateMap | None = None):
    """Arrays become tensors, then are stacked; text and object arrays are refused."""
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([tapegrad.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch: list, *, collate_fn_map: CollateMap | None = None):
    """NumPy scalars become a 1-d tensor of their dtype."""
    return tapegrad.as_tensor(np.asarray(batch))


def collate_float_fn(batch: list, *, collate_fn_map: CollateMap | None = None):
    """Python floats become a float64 tensor (as in PyTorch)."""
    return tapegrad.tensor(batch, dtype=tapegrad.float64)


def collate_int_fn(batch: list, *, collate_fn_map: CollateMap | None = None):
    """Python ints become an int64 tensor (bools a bool tensor)."""
    return tapegrad.tensor(batch)


def collate_str_fn(batch: list, *, collate_fn_map: CollateMap | None = None):
    """Strings and bytes stay a list."""
    return batch


default_collate_fn_map: CollateMap = {
    tapegrad.Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch: list) -> Any:
    """Batch a list of samples (``torch.utils.data.default_collate``).

    Tensors are stacked, NumPy arrays and numbers become tensors (floats as float64, ints
    as int64), strings stay lists, and dicts, namedtuples, tuples and lists are batched
    field by field (a tuple of fields gives a list of batches):

        >>> default_collate([(tapegrad.zeros(2), 0), (tapegrad.ones(2), 1)])
        [tensor([[0., 0.], [1., 1.]]), tensor([0, 1])]

    Args:
        batch: The samples.

    Returns:
        The batch.
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
