"""Shared helpers for differential tests: run the same code with PyTorch and tapegrad.

``compare(fn, inputs)`` is the workhorse: ``fn(lib, *tensors)`` is called once with
``lib=torch`` and once with ``lib=tapegrad`` on the same NumPy data; values, dtypes and
shapes must match, and, when inputs require grad, so must the gradients under a random
upstream gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad

TOL = {
    "float16": (1e-2, 1e-2),
    "float32": (1e-4, 1e-5),
    "float64": (1e-9, 1e-10),
}


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of a torch or tapegrad tensor (or a Python value)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().copy()
    if isinstance(x, tapegrad.Tensor):
        return np.array(x.detach().numpy())
    return np.asarray(x)


def dtype_name(x) -> str:
    """``'float32'`` for both ``torch.float32`` and ``tapegrad.float32``."""
    return str(x.dtype).replace("torch.", "")


def assert_same(t_out, g_out, rtol=None, atol=None, check_dtype=True, where="output") -> None:
    """Assert a torch result and a tapegrad result agree in structure, dtype, shape, value."""
    if isinstance(t_out, (tuple, list)):
        assert isinstance(g_out, (tuple, list)), f"{where}: torch gave a sequence, tg {g_out!r}"
        assert len(t_out) == len(g_out), f"{where}: lengths {len(t_out)} vs {len(g_out)}"
        for i, (a, b) in enumerate(zip(t_out, g_out)):
            assert_same(a, b, rtol, atol, check_dtype, f"{where}[{i}]")
        return
    if not isinstance(t_out, torch.Tensor):
        if isinstance(t_out, (torch.dtype, torch.device)):
            assert str(g_out) == str(t_out), f"{where}: {g_out} != {t_out}"
        elif isinstance(t_out, float):
            assert isinstance(g_out, (float, int)), f"{where}: {type(g_out)} vs float"
            np.testing.assert_allclose(g_out, t_out, rtol=1e-5, atol=1e-6, err_msg=where)
        else:
            assert g_out == t_out, f"{where}: {g_out!r} != {t_out!r}"
        return
    assert isinstance(g_out, tapegrad.Tensor), f"{where}: expected a Tensor, got {type(g_out)}"
    assert tuple(g_out.shape) == tuple(t_out.shape), (
        f"{where}: shape {tuple(g_out.shape)} vs torch {tuple(t_out.shape)}"
    )
    if check_dtype:
        assert dtype_name(g_out) == dtype_name(t_out), (
            f"{where}: dtype {g_out.dtype} vs torch {t_out.dtype}"
        )
    a, b = to_numpy(g_out), to_numpy(t_out)
    name = dtype_name(t_out)
    r, at = TOL.get(name, (0, 0))
    np.testing.assert_allclose(
        a.astype(np.float64) if a.dtype != bool else a,
        b.astype(np.float64) if b.dtype != bool else b,
        rtol=r if rtol is None else rtol,
        atol=at if atol is None else atol,
        err_msg=where,
        equal_nan=True,
    )


def make_pair(arr: np.ndarray, requires_grad: bool = False):
    """The same data as a torch tensor and a tapegrad tensor (independent copies)."""
    t = torch.tensor(arr.copy())
    g = tapegrad.tensor(arr.copy())
    if requires_grad:
        t.requires_grad_(True)
        g.requires_grad_(True)
    return t, g


def _outputs(out) -> list:
    if isinstance(out, (tuple, list)):
        return [o for o in out if isinstance(o, (torch.Tensor, tapegrad.Tensor))]
    return [out]


def compare(
    fn,
    inputs,
    *,
    grad: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    grad_rtol: float | None = None,
    grad_atol: float | None = None,
    check_dtype: bool = True,
    seed: int = 0,
):
    """Run ``fn(lib, *tensors)`` with torch and tapegrad on ``inputs`` (NumPy arrays).

    Float inputs require grad when ``grad`` is true; the outputs are then
    back-propagated with the same random upstream gradient and the inputs'
    ``.grad`` compared. Returns ``(torch_out, tapegrad_out)``.
    """
    t_in, g_in = [], []
    for a in inputs:
        if isinstance(a, np.ndarray):
            rg = grad and a.dtype.kind == "f"
            t, g = make_pair(a, rg)
        else:
            t = g = a
        t_in.append(t)
        g_in.append(g)
    t_out = fn(torch, *t_in)
    g_out = fn(tapegrad, *g_in)
    assert_same(t_out, g_out, rtol, atol, check_dtype)
    leaves = [(t, g) for t, g in zip(t_in, g_in) if isinstance(t, torch.Tensor) and t.requires_grad]
    if not leaves:
        return t_out, g_out
    rng = np.random.default_rng(seed + 1)
    t_outs, g_outs = [], []
    ups_t, ups_g = [], []
    for to, go in zip(_outputs(t_out), _outputs(g_out)):
        if not (isinstance(to, torch.Tensor) and to.requires_grad):
            continue
        up = rng.standard_normal(tuple(to.shape)).astype(to_numpy(to).dtype)
        t_outs.append(to)
        g_outs.append(go)
        ups_t.append(torch.tensor(up))
        ups_g.append(tapegrad.tensor(up))
    if not t_outs:
        return t_out, g_out
    t_grads = torch.autograd.grad(t_outs, [t for t, _ in leaves], ups_t, allow_unused=True)
    g_grads = tapegrad.autograd.grad(g_outs, [g for _, g in leaves], ups_g, allow_unused=True)
    for i, (tg, gg) in enumerate(zip(t_grads, g_grads)):
        if tg is None:
            assert gg is None or np.all(to_numpy(gg) == 0), f"grad[{i}]: torch has none"
            continue
        assert gg is not None, f"grad[{i}]: tapegrad gave None"
        assert_same(tg, gg, grad_rtol, grad_atol, check_dtype, f"grad[{i}]")
    return t_out, g_out


def assert_same_error(fn, *args, match: str | None = None):
    """``fn(lib, *args)`` raises the same exception type with torch and tapegrad."""
    with pytest.raises(Exception) as t_exc:
        fn(torch, *args)
    with pytest.raises(Exception) as g_exc:
        fn(tapegrad, *args)
    # torch's private subclasses (torch._C._LinAlgError) count as their public base
    expected = t_exc.type
    while expected.__module__.startswith("torch"):
        expected = expected.__base__
    assert isinstance(g_exc.value, expected), (
        f"torch raised {t_exc.type.__name__}({t_exc.value}), tapegrad raised "
        f"{g_exc.type.__name__}({g_exc.value})"
    )
    if match is not None:
        assert match in str(g_exc.value), f"{match!r} not in {str(g_exc.value)!r}"
    return t_exc.value, g_exc.value


@pytest.fixture
def rng():
    """A seeded NumPy generator for test data."""
    return np.random.default_rng(0)
