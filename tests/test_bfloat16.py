"""torch.bfloat16 against PyTorch: promotion, finfo, conversions, printing, arithmetic
rounded once from float32 (bit-equal), products and reductions accumulated in float32,
autograd, and save/load in PyTorch's and safetensors' formats."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad import _dtype as D

pytest.importorskip("ml_dtypes")

LOW = ["bfloat16", "float16"]
ALL_DTYPES = [
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]


def bits(x) -> np.ndarray:
    """The float32 values of a low-precision torch or tapegrad tensor (exact widening)."""
    return np.asarray(x.detach().float().numpy(), dtype=np.float32)


def pair(arr, dtype: str, requires_grad: bool = False):
    t = torch.tensor(arr, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    g = tapegrad.tensor(arr, dtype=getattr(tapegrad, dtype), requires_grad=requires_grad)
    return t, g


def assert_bit_equal(t, g, where: str = "") -> None:
    assert str(g.dtype) == str(t.dtype), f"{where}: dtype {g.dtype} vs {t.dtype}"
    assert tuple(g.shape) == tuple(t.shape)
    np.testing.assert_array_equal(bits(g), bits(t), err_msg=where)


def assert_within_ulp(t, g, where: str = "", min_equal: float = 0.95) -> None:
    """At most one ulp of the low dtype apart, and nearly all bit-equal.

    For ops whose float32 value is not correctly rounded (exp, tanh, a sum's order):
    PyTorch's vectorised kernels and NumPy's may differ by a float32 ulp, which after
    the one rounding to bfloat16/float16 shows as one ulp now and then.
    """
    assert str(g.dtype) == str(t.dtype), f"{where}: dtype {g.dtype} vs {t.dtype}"
    a, b = bits(t), bits(g)
    ulp = 2.0**-7 if str(t.dtype) == "torch.bfloat16" else 2.0**-10
    tiny = 2.0**-133 if str(t.dtype) == "torch.bfloat16" else 2.0**-24  # subnormal step
    # subnormal results hold fewer bits: a few steps there (float16 gelu near 0)
    np.testing.assert_allclose(b, a, rtol=ulp, atol=4 * tiny, err_msg=where)
    same = np.mean((a == b) | (np.isnan(a) & np.isnan(b)))
    assert same >= min_equal, f"{where}: only {same:.3f} bit-equal"


# ----------------------------------------------------------------------------------------
# the dtype


def test_dtype_object():
    b = tapegrad.bfloat16
    assert repr(b) == "torch.bfloat16" and str(b) == str(torch.bfloat16)
    assert b.is_floating_point and not b.is_complex and b.is_signed
    assert b.itemsize == torch.bfloat16.itemsize == 2
    assert tapegrad.bfloat16 is D.bfloat16


@pytest.mark.parametrize("a", ALL_DTYPES)
def test_promotion_table_matches_torch(a):
    for b in ALL_DTYPES:
        want = torch.promote_types(getattr(torch, a), getattr(torch, b))
        got = tapegrad.promote_types(_tg_dtype(a), _tg_dtype(b))
        assert str(got) == str(want), (a, b)


def _tg_dtype(name):
    return tapegrad.bool if name == "bool" else getattr(tapegrad, name)


@pytest.mark.parametrize("dt", LOW)
def test_result_type_with_scalars_and_zero_dim(dt):
    cases = [
        lambda lib, x: x + 1.5,
        lambda lib, x: x * 2,
        lambda lib, x: x + lib.tensor(1.0),
        lambda lib, x: x + lib.tensor(1.0, dtype=lib.float64),
        lambda lib, x: lib.tensor([1, 2]) * x[0],
        lambda lib, x: lib.tensor([1.0, 2.0]) + x,
        lambda lib, x: x > 0.5,
    ]
    t, g = pair([0.25, -1.5], dt)
    for i, f in enumerate(cases):
        assert str(f(tapegrad, g).dtype) == str(f(torch, t).dtype), i


def test_finfo_matches_torch():
    t, g = torch.finfo(torch.bfloat16), tapegrad.finfo(tapegrad.bfloat16)
    for k in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(g, k) == getattr(t, k), k
    assert repr(g) == repr(t)


# ----------------------------------------------------------------------------------------
# conversions, creation, printing


def test_float32_to_bfloat16_rounds_to_nearest_even_like_torch():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.standard_normal(4000).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 4000),
            # exact ties between two bfloat16 values, and the edges
            (np.arange(1, 300, dtype=np.uint32) << 15 | np.uint32(0x3F800000)).view(np.float32),
            np.array([np.inf, -np.inf, 0.0, -0.0, 3.4e38, 1e-45], np.float32),
        ]
    )
    t, g = torch.tensor(x).bfloat16(), tapegrad.tensor(x).bfloat16()
    assert_bit_equal(t, g)
    nan = tapegrad.tensor([np.nan]).bfloat16()
    assert np.isnan(bits(nan)).all()


@pytest.mark.parametrize("dt", LOW)
def test_conversions_between_dtypes(dt):
    x = np.array([1.1, -2.7, 300.3, 65504.0, 1e-3], np.float32)
    t, g = pair(x, dt)
    for to in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "bool"):
        assert_bit_equal(t.to(getattr(torch, to)).to(torch.float32), g.to(_tg_dtype(to)).float())
    assert_bit_equal(t.half(), g.half())
    assert_bit_equal(t.bfloat16(), g.bfloat16())
    assert g.double().dtype is tapegrad.float64


def test_item_tolist_type_and_numpy():
    t, g = pair([[1.0, 2.5], [-3.3, 0.1]], "bfloat16")
    assert g[1, 0].item() == t[1, 0].item() and type(g[1, 0].item()) is float
    assert g.tolist() == t.tolist()
    assert g.type() == t.type() == "torch.BFloat16Tensor"
    assert g.element_size() == t.element_size() == 2
    assert g.is_floating_point()
    with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16") as e:
        g.numpy()
    with pytest.raises(TypeError) as te:
        t.numpy()
    assert str(e.value) == str(te.value)
    assert g.type("torch.BFloat16Tensor").dtype is tapegrad.bfloat16


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.zeros(2, 3, dtype=lib.bfloat16),
        lambda lib: lib.ones(4, dtype=lib.bfloat16),
        lambda lib: lib.full((2,), 0.1, dtype=lib.bfloat16),
        lambda lib: lib.arange(0, 3, 0.5, dtype=lib.bfloat16),
        lambda lib: lib.tensor([0.1, 1e10, -7.77], dtype=lib.bfloat16),
        lambda lib: lib.zeros_like(lib.ones(3), dtype=lib.bfloat16),
    ],
)
def test_creation(make):
    assert_bit_equal(make(torch), make(tapegrad))


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.tensor([1.0, 2.5, -3.3], dtype=lib.bfloat16),
        lambda lib: lib.tensor([1e-3, 1234.5], dtype=lib.bfloat16),
        lambda lib: lib.tensor(1.0, dtype=lib.bfloat16),
        lambda lib: lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.bfloat16, requires_grad=True),
        lambda lib: lib.tensor([], dtype=lib.bfloat16),
        lambda lib: lib.tensor([1.0, -2.0], dtype=lib.bfloat16, requires_grad=True) * 2,
    ],
)
def test_repr_matches_torch(make):
    assert repr(make(tapegrad)) == repr(make(torch))


def test_set_default_dtype_bfloat16():
    try:
        torch.set_default_dtype(torch.bfloat16)
        tapegrad.set_default_dtype(tapegrad.bfloat16)
        for f in (
            lambda lib: lib.tensor([1.1, 2.2]),
            lambda lib: lib.tensor([1, 2]) * 1.5,
            lambda lib: lib.zeros(2),
            lambda lib: lib.arange(3.0),
        ):
            assert_bit_equal(f(torch), f(tapegrad))
        assert repr(tapegrad.tensor([1.1])) == repr(torch.tensor([1.1]))
    finally:
        torch.set_default_dtype(torch.float32)
        tapegrad.set_default_dtype(tapegrad.float32)


# ----------------------------------------------------------------------------------------
# arithmetic: computed in float32 and rounded once, as PyTorch's CPU kernels

RNG = np.random.default_rng(1)
A = (RNG.standard_normal(3000) * 3).astype(np.float32)
B = RNG.standard_normal(3000).astype(np.float32)
POS = np.abs(A) + 0.1
UNIT = np.tanh(A) * 0.99

# correctly rounded in float32: one rounding to the low dtype gives PyTorch's bits
UNARY_EXACT = {
    "abs": A,
    "neg": A,
    "sqrt": POS,
    "reciprocal": A,
    "square": A,
    "floor": A,
    "ceil": A,
    "round": A,
    "trunc": A,
    "frac": A,
    "sign": A,
    "relu": A,
    "deg2rad": A,
    "rad2deg": A,
}
UNARY_MATH = {
    "exp": A,
    "exp2": A,
    "expm1": A,
    "log": POS,
    "log2": POS,
    "log10": POS,
    "log1p": POS,
    "sin": A,
    "cos": A,
    "tan": UNIT,
    "asin": UNIT,
    "acos": UNIT,
    "atan": A,
    "sinh": UNIT,
    "cosh": UNIT,
    "tanh": A,
    "asinh": A,
    "atanh": UNIT,
    "sigmoid": A,
    "rsqrt": POS,
    "erf": A,
}
ACTIVATIONS_EXACT = [
    "hardswish",
    "hardsigmoid",
    "hardtanh",
    "leaky_relu",
    "relu6",
    "softsign",
    "softshrink",
    "hardshrink",
]
ACTIVATIONS_MATH = ["silu", "mish", "softplus", "elu", "selu", "celu", "logsigmoid", "gelu"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "atan2", "fmod", "remainder"]
SCALAR = {
    "x*0.1": lambda x: x * 0.1,
    "x+0.3": lambda x: x + 0.3,
    "x/3": lambda x: x / 3.0,
    "1.1-x": lambda x: 1.1 - x,
    "x**2": lambda x: x**2,
    "x.clamp": lambda x: x.clamp(-0.33, 0.77),
    "x.masked_fill": lambda x: x.masked_fill(x > 0, 0.1),
}


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize("name", sorted(UNARY_EXACT))
def test_unary_bit_equal(dt, name):
    t, g = pair(UNARY_EXACT[name], dt)
    assert_bit_equal(getattr(torch, name)(t), getattr(tapegrad, name)(g), name)


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize("name", sorted(UNARY_MATH))
def test_unary_math_rounded_once(dt, name):
    t, g = pair(UNARY_MATH[name], dt)
    assert_within_ulp(getattr(torch, name)(t), getattr(tapegrad, name)(g), name)


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize("name", ACTIVATIONS_EXACT + ACTIVATIONS_MATH)
def test_activations(dt, name):
    t, g = pair(A, dt)
    t_out = getattr(torch.nn.functional, name)(t)
    g_out = getattr(tapegrad.nn.functional, name)(g)
    if name in ACTIVATIONS_EXACT:
        assert_bit_equal(t_out, g_out, name)
    else:
        assert_within_ulp(t_out, g_out, name)


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize("name", BINARY)
def test_binary_bit_equal(dt, name):
    ta, ga = pair(A, dt)
    tb, gb = pair(B, dt)
    assert_bit_equal(getattr(torch, name)(ta, tb), getattr(tapegrad, name)(ga, gb), name)


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize("name", sorted(SCALAR))
def test_scalar_operands_bit_equal(dt, name):
    t, g = pair(A, dt)
    assert_bit_equal(SCALAR[name](t), SCALAR[name](g), name)


@pytest.mark.parametrize("dt", LOW)
def test_reductions_accumulate_in_float32(dt):
    x = RNG.standard_normal((64, 50)).astype(np.float32)
    t, g = pair(x, dt)
    assert_bit_equal(t.amax(1), g.amax(1))
    # summed in float32 (in another order than PyTorch's) and rounded once; rounding
    # every partial sum to 8 bits instead would be far off
    for f in (
        lambda x: x.sum(),
        lambda x: x.sum(1),
        lambda x: x.mean(0),
        lambda x: x.softmax(1),
        lambda x: x.log_softmax(0),
        lambda x: x.cumsum(1),
    ):
        assert_within_ulp(f(t), f(g), min_equal=0.9)
    for f in (lambda x: x.var(0), lambda x: x.norm()):
        a, b = f(t), f(g)
        assert str(a.dtype) == str(b.dtype)
        np.testing.assert_allclose(bits(b), bits(a), rtol=2.0**-7)


@pytest.mark.parametrize("dt", LOW)
def test_matmul_and_conv_accumulate_in_float32(dt):
    x = RNG.standard_normal((2, 3, 9, 9)).astype(np.float32)
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    m = RNG.standard_normal((33, 65)).astype(np.float32)
    ulp = 2.0**-7 if dt == "bfloat16" else 2.0**-10
    cases = [
        (lambda lib, a, b: a @ b, (m, m.T)),
        (lambda lib, a, b: lib.nn.functional.linear(a, b), (m, m)),
        (lambda lib, a, b: lib.bmm(a, b), (m[None], m.T[None])),
        (lambda lib, a, b: lib.nn.functional.conv2d(a, b, padding=1), (x, w)),
        (lambda lib, a, b: lib.nn.functional.conv_transpose2d(a, b.transpose(0, 1)), (x, w)),
    ]
    for f, (a, b) in cases:
        ta, ga = pair(a, dt, True)
        tb, gb = pair(b, dt, True)
        t_out, g_out = f(torch, ta, tb), f(tapegrad, ga, gb)
        assert str(g_out.dtype) == str(t_out.dtype)
        # one rounding of the float32 accumulation each: at most an ulp apart
        scale = np.abs(bits(t_out)).max()
        np.testing.assert_allclose(bits(g_out), bits(t_out), rtol=ulp, atol=ulp * scale)
        up = RNG.standard_normal(tuple(t_out.shape)).astype(np.float32)
        t_out.backward(torch.tensor(up, dtype=t_out.dtype))
        g_out.backward(tapegrad.tensor(up, dtype=g_out.dtype))
        for tt, gg in ((ta, ga), (tb, gb)):
            assert str(gg.grad.dtype) == str(tt.grad.dtype)
            s = np.abs(bits(tt.grad)).max()
            np.testing.assert_allclose(bits(gg.grad), bits(tt.grad), rtol=2 * ulp, atol=ulp * s)


def test_autograd_gradients_are_bfloat16():
    x = A[:50]
    t, g = pair(x, "bfloat16", True)
    for v in (t, g):
        y = (v * 3 + 1).tanh().sigmoid() * v
        y.sum().backward()
    assert g.grad.dtype is tapegrad.bfloat16
    np.testing.assert_allclose(bits(g.grad), bits(t.grad), rtol=2**-6, atol=2**-8)


def test_layer_norm_takes_bfloat16_input_with_float32_parameters():
    x = RNG.standard_normal((4, 6)).astype(np.float32)
    out = {}
    for lib in (torch, tapegrad):
        xb = lib.tensor(x, dtype=lib.bfloat16, requires_grad=True)
        ln = lib.nn.LayerNorm(6)
        y = ln(xb)
        y.float().pow(2).sum().backward()
        out[lib] = (y, xb.grad, ln.weight.grad)
    for a, b in zip(out[torch], out[tapegrad]):
        assert str(b.dtype) == str(a.dtype)
        np.testing.assert_allclose(bits(b), bits(a), rtol=2**-6, atol=2**-6)


# ----------------------------------------------------------------------------------------
# serialization


def test_save_load_round_trips_with_torch(tmp_path):
    x = tapegrad.tensor([[1.5, -2.25], [3.0, 1e-3]], dtype=tapegrad.bfloat16)
    p = tmp_path / "a.pt"
    tapegrad.save({"x": x, "row": x[1], "dt": tapegrad.bfloat16}, p)
    t = torch.load(p)
    assert t["dt"] is torch.bfloat16
    assert_bit_equal(t["x"], x)
    assert_bit_equal(t["row"], x[1])

    w = torch.randn(3, 2).bfloat16()
    torch.save({"w": w, "p": torch.nn.Parameter(torch.ones(2, dtype=torch.bfloat16))}, p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # bfloat16 loads as bfloat16: no widening warning
        g = tapegrad.load(p)
    assert_bit_equal(w, g["w"])
    assert g["p"].dtype is tapegrad.bfloat16 and g["p"].requires_grad


def test_safetensors_bf16_round_trips_with_torch(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    p = str(tmp_path / "a.safetensors")
    w = torch.randn(5).bfloat16()
    st.save_file({"w": w}, p)
    g = tapegrad.load(p)
    assert_bit_equal(w, g["w"])
    q = str(tmp_path / "b.safetensors")
    tapegrad.save({"w": g["w"] * 2}, q)
    assert_bit_equal(st.load_file(q)["w"], g["w"] * 2)


# ----------------------------------------------------------------------------------------
# without ml_dtypes


def test_missing_ml_dtypes_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(D.bfloat16, "np", None)
    with pytest.raises(ImportError, match=r'pip install "tapegrad\[bfloat16\]"'):
        tapegrad.zeros(2, dtype=tapegrad.bfloat16)
    with pytest.raises(ImportError, match="ml_dtypes"):
        tapegrad.ones(2).bfloat16()


def test_import_without_ml_dtypes():
    code = (
        "import sys; sys.modules['ml_dtypes'] = None\n"
        "import tapegrad as torch\n"
        "assert str(torch.bfloat16) == 'torch.bfloat16'\n"
        "assert torch.promote_types(torch.bfloat16, torch.float16) is torch.float32\n"
        "assert torch.finfo(torch.bfloat16).eps == 2 ** -7\n"
        "try:\n"
        "    torch.zeros(1, dtype=torch.bfloat16)\n"
        "except ImportError as e:\n"
        "    assert 'tapegrad[bfloat16]' in str(e)\n"
        "else:\n"
        "    raise AssertionError('no error')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_bfloat16_model_trains_like_torch():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.AvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(36, 10),
    )
    gm = tapegrad.nn.Sequential(
        tapegrad.nn.Conv2d(1, 4, 3),
        tapegrad.nn.BatchNorm2d(4),
        tapegrad.nn.ReLU(),
        tapegrad.nn.MaxPool2d(2),
        tapegrad.nn.AvgPool2d(1),
        tapegrad.nn.Flatten(),
        tapegrad.nn.Linear(36, 10),
    )
    gm.load_state_dict({k: tapegrad.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tm.bfloat16()
    assert gm.bfloat16() is gm and gm[0].weight.dtype is tapegrad.bfloat16
    x = RNG.standard_normal((8, 1, 8, 8)).astype(np.float32)
    y = RNG.integers(0, 10, 8)
    opts = {
        torch: torch.optim.Adam(tm.parameters(), lr=1e-2),
        tapegrad: tapegrad.optim.Adam(gm.parameters(), lr=1e-2),
    }
    for _ in range(4):
        losses = {}
        for lib, m in ((torch, tm), (tapegrad, gm)):
            opts[lib].zero_grad()
            out = m(lib.tensor(x, dtype=lib.bfloat16))
            loss = lib.nn.functional.cross_entropy(out, lib.tensor(y))
            loss.backward()
            opts[lib].step()
            losses[lib] = loss
        assert losses[tapegrad].dtype is tapegrad.bfloat16
        assert gm[0].weight.grad.dtype is tapegrad.bfloat16
        assert losses[tapegrad].item() == pytest.approx(losses[torch].item(), rel=0.03)


def test_interpolate_and_assert_close_take_bfloat16():
    t, g = pair(np.arange(6.0, dtype=np.float32).reshape(1, 1, 6), "bfloat16")
    for mode in ("linear", "nearest"):
        a = torch.nn.functional.interpolate(t, scale_factor=1.5, mode=mode)
        b = tapegrad.nn.functional.interpolate(g, scale_factor=1.5, mode=mode)
        assert str(b.dtype) == str(a.dtype)
        np.testing.assert_allclose(bits(b), bits(a), rtol=2**-7)
    tapegrad.testing.assert_close(g, g * 1.01)  # bfloat16's default rtol is 1.6e-2
    with pytest.raises(AssertionError, match="Tensor-likes are not close"):
        tapegrad.testing.assert_close(g + 1, g * 1.1 + 1)
