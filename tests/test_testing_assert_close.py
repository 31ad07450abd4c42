"""``tapegrad.testing.assert_close`` against ``torch.testing.assert_close``: same outcome,
same exception type and the same report text for the same inputs."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.testing import assert_close


def _outcome(lib, make, **kwargs):
    """(exception type name, message) of lib.testing.assert_close on make(lib)'s inputs."""
    actual, expected = make(lib)
    try:
        lib.testing.assert_close(actual, expected, **kwargs)
    except Exception as err:  # the comparison is the point: any type must match
        return type(err).__name__, _normalise(str(err))
    return None, None


def _normalise(msg: str) -> str:
    # class paths differ between the libraries; the rest of the text must not
    return msg.replace("tapegrad._tensor.Tensor", "torch.Tensor").replace(
        "tapegrad.nn.parameter.Parameter", "torch.nn.parameter.Parameter"
    )


CASES = {
    "equal_f32": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.0, 2.0])),
    "within_default_f32": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.0, 2.0 + 2e-6])),
    "f32_mismatch": lambda L: (L.tensor([1.0, 2.0, 3.0]), L.tensor([1.0, 4.0, 5.0])),
    "f32_small_mismatch": lambda L: (
        L.tensor([[1.0, 0.1], [0.3, 7.0]]),
        L.tensor([[1.0, 0.1001], [0.3, 7.0001]]),
    ),
    "f64_mismatch": lambda L: (
        L.tensor([1.0, 1e-3, 5.0], dtype=L.float64),
        L.tensor([1.0, 1.1e-3, 5.0], dtype=L.float64),
    ),
    "f16_default": lambda L: (
        L.tensor([1.0, 2.0], dtype=L.float16),
        L.tensor([1.0, 2.001], dtype=L.float16),
    ),
    "int_mismatch": lambda L: (L.tensor([1, 5, 3]), L.tensor([1, 2, 3])),
    "int_zero_expected": lambda L: (L.tensor([[1, 5], [3, 4]]), L.tensor([[0, 5], [3, 1]])),
    "bool_tensor": lambda L: (L.tensor([True, False]), L.tensor([True, True])),
    "scalar_tensor": lambda L: (L.tensor(1.5), L.tensor(1.25)),
    "nan_tensor": lambda L: (L.tensor([float("nan"), 1.0]), L.tensor([float("nan"), 1.0])),
    "inf_tensor": lambda L: (L.tensor([float("inf"), 1.0]), L.tensor([float("inf"), 1.0])),
    "inf_vs_neg": lambda L: (L.tensor([float("inf"), 1.0]), L.tensor([-float("inf"), 1.0])),
    "zero_expected_f32": lambda L: (L.tensor([0.5, 1.0]), L.tensor([0.0, 1.0])),
    "shape": lambda L: (L.zeros(2, 3), L.zeros(3, 2)),
    "dtype": lambda L: (L.zeros(2), L.zeros(2, dtype=L.float64)),
    "stride": lambda L: (L.zeros(2, 3).t(), L.zeros(3, 2)),
    "parameter_vs_tensor": lambda L: (L.nn.Parameter(L.ones(2)), L.ones(2)),
    "numpy_vs_tensor": lambda L: (np.ones(2, dtype=np.float32), L.ones(2)),
    "numpy_arrays": lambda L: (np.array([1.0, 2.0]), np.array([1.0, 2.5])),
    "python_floats": lambda L: (1e-9, 1e-10),
    "python_float_close": lambda L: (2.0 / math.sqrt(2.0), math.sqrt(2.0)),
    "int_vs_float": lambda L: (1.0, 1),
    "python_nan": lambda L: (float("nan"), float("nan")),
    "bools": lambda L: (True, False),
    "np_bool": lambda L: (np.bool_(True), True),
    "none": lambda L: (None, 1),
    "both_none": lambda L: (None, None),
    "list_len": lambda L: ([1, 2], [1, 2, 3]),
    "nested_seq": lambda L: (
        [L.tensor([1.0]), (2.0, L.tensor([3, 4]))],
        (L.tensor([1.0]), [2.0, L.tensor([3, 5])]),
    ),
    "mapping_ok": lambda L: (
        {"b": 2.0, "a": L.tensor(1.0)},
        OrderedDict([("a", L.tensor(1.0)), ("b", 2.0)]),
    ),
    "mapping_keys": lambda L: ({"a": 1, "c": 2}, {"a": 1, "b": 2}),
    "mapping_value": lambda L: ({"w": L.ones(2, 2)}, {"w": L.zeros(2, 2)}),
    "complex_tensor": lambda L: (
        L.tensor([1 + 1j, 2 + 0j], dtype=L.complex64),
        L.tensor([1 + 1j, 2 + 1j], dtype=L.complex64),
    ),
    "string_vs_tensor": lambda L: ("abc", L.ones(1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_default_options_match_torch(name):
    make = CASES[name]
    assert _outcome(tapegrad, make) == _outcome(torch, make)


OPTIONS = [
    ("f32_mismatch", dict(rtol=0, atol=0)),
    ("f32_mismatch", dict(rtol=0.5, atol=0.0)),
    ("f32_mismatch", dict(rtol=0.1, atol=1.0)),
    ("f32_small_mismatch", dict(rtol=1e-3, atol=1e-3)),
    ("f32_mismatch", dict(rtol=1e-3)),
    ("f32_mismatch", dict(atol=1e-3)),
    ("python_floats", dict(atol=1e-5)),
    ("nan_tensor", dict(equal_nan=True)),
    ("python_nan", dict(equal_nan=True)),
    ("dtype", dict(check_dtype=False)),
    ("int_vs_float", dict(check_dtype=False)),
    ("stride", dict(check_stride=True)),
    ("parameter_vs_tensor", dict(allow_subclasses=False)),
    ("f32_mismatch", dict(msg="custom message")),
    ("f32_mismatch", dict(msg=lambda m: "prefix\n" + m)),
    ("nested_seq", dict(msg=lambda m: m + "\nsuffix")),
    ("int_mismatch", dict(rtol=1.0, atol=0.0)),
]


@pytest.mark.parametrize(
    ("name", "kwargs"), OPTIONS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIONS)]
)
def test_options_match_torch(name, kwargs):
    make = CASES[name]
    assert _outcome(tapegrad, make, **kwargs) == _outcome(torch, make, **kwargs)


def test_dtype_promotion_when_unchecked():
    # float32 vs float64 compared in float64 with the looser (float32) default tolerances
    for delta in (1e-5, 1e-3):

        def make(L, delta=delta):
            return L.tensor([1.0, 2.0]), L.tensor([1.0, 2.0 + delta], dtype=L.float64)

        out = _outcome(tapegrad, make, check_dtype=False)
        assert out == _outcome(torch, make, check_dtype=False)
        assert (out[0] is None) == (delta == 1e-5)


def test_report_text_exact():
    with pytest.raises(AssertionError) as info:
        assert_close(tapegrad.tensor([1.0, 2.0, 3.0]), tapegrad.tensor([1.0, 4.0, 5.0]))
    assert str(info.value) == (
        "Tensor-likes are not close!\n\n"
        "Mismatched elements: 2 / 3 (66.7%)\n"
        "Greatest absolute difference: 2.0 at index (1,) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.5 at index (1,) (up to 1.3e-06 allowed)"
    )


def test_random_tensors_agree_with_torch():
    rng = np.random.default_rng(0)
    for dt in ("float32", "float64"):
        for _ in range(20):
            shape = tuple(rng.integers(1, 4, size=rng.integers(1, 4)))
            a = rng.standard_normal(shape).astype(dt)
            e = a + rng.standard_normal(shape).astype(dt) * 10.0 ** rng.integers(-9, -3)

            def make(L, a=a, e=e):
                return L.tensor(a.copy()), L.tensor(e.copy())

            assert _outcome(tapegrad, make) == _outcome(torch, make)
