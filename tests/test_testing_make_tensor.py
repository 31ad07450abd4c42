"""``tapegrad.testing.make_tensor`` against ``torch.testing.make_tensor``: seeded values,
dtypes, shapes, strides, flags and errors equal."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_same_error

import tapegrad

DTYPES = [
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]


def _make(L, *shape, **kwargs):
    L.manual_seed(7)
    return L.testing.make_tensor(*shape, device="cpu", **kwargs)


def _same(g, t):
    assert str(g.dtype) == str(t.dtype)
    assert tuple(g.shape) == tuple(t.shape)
    assert g.requires_grad == t.requires_grad
    a, b = g.detach().numpy(), t.detach().numpy()
    if a.dtype in (np.float64, np.complex128):
        # tapegrad's float64 uniform_ can round the last bit differently (ops/random)
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", DTYPES)
def test_default_ranges_match_torch(name):
    g = _make(tapegrad, 3, 4, dtype=getattr(tapegrad, name if name != "bool" else "bool"))
    t = _make(torch, 3, 4, dtype=getattr(torch, name))
    _same(g, t)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(dtype="float32", low=0.0, high=1.0, requires_grad=True),
        dict(dtype="float64", low=-1e308, high=1e308),
        dict(dtype="int64", low=2, high=5, exclude_zero=True),
        dict(dtype="int8", low=-1000, high=1000),
        dict(dtype="uint8", low=-3.5, high=2.5, exclude_zero=True),
        dict(dtype="float32", low=-1.0, high=1.0, noncontiguous=True),
        dict(dtype="float16", exclude_zero=True),
        dict(dtype="complex64", low=-2, high=2, noncontiguous=True),
    ],
    ids=str,
)
def test_options_match_torch(kwargs):
    name = kwargs.pop("dtype")
    g = _make(tapegrad, (2, 5), dtype=getattr(tapegrad, name), **kwargs)
    t = _make(torch, (2, 5), dtype=getattr(torch, name), **kwargs)
    _same(g, t)
    assert g.stride() == t.stride()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(dtype="float32", low=1.0, high=0.0),
        dict(dtype="float32", low=float("nan")),
        dict(dtype="int64", requires_grad=True),
        dict(dtype="uint8", low=300, high=400),
    ],
    ids=str,
)
def test_errors_match_torch(kwargs):
    name = kwargs.pop("dtype")
    t_err, g_err = assert_same_error(
        lambda L: L.testing.make_tensor(2, dtype=getattr(L, name), device="cpu", **kwargs)
    )
    assert str(g_err).replace("tapegrad", "torch") == str(t_err)
