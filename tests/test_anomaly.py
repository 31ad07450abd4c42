"""Anomaly detection (``torch.autograd.detect_anomaly``) against PyTorch: the same
warnings, errors, node names and traceback contents for the same program."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.autograd import function as F

LIBS = [torch, tapegrad]


def _clean(msg: str) -> str:
    # PyTorch's C++ warnings end with where they were raised; the rest must match
    return re.sub(r" \(Triggered internally at [^)]*\.\)$", "", str(msg))


def _run(lib, fn):
    """(exception type, message, [warning texts]) of ``fn(lib)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn(lib)
            err = (None, None)
        except Exception as e:  # the comparison is the point: any type must match
            err = (type(e).__name__, str(e))
    msgs = [
        _clean(w.message)
        for w in caught
        if issubclass(w.category, UserWarning) and "TorchImportWarning" not in type(w).__name__
    ]
    return err, [m for m in msgs if "real PyTorch" not in m]


def _same_outcome(fn):
    t_err, t_warn = _run(torch, fn)
    g_err, g_warn = _run(tapegrad, fn)
    assert g_err == t_err
    return t_warn, g_warn


@pytest.fixture(autouse=True)
def _anomaly_off():
    yield
    assert not tapegrad.is_anomaly_enabled()
    assert F._apply_observer is None and F._backward_observer is None


def test_flags_nest_and_restore_like_torch():
    def states(lib):
        out = [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.detect_anomaly():
                out += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
                with lib.autograd.detect_anomaly(check_nan=False):
                    out += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
                    with lib.autograd.set_detect_anomaly(False):
                        out += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
                    out += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
                out += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
        out += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
        lib.autograd.set_detect_anomaly(True, check_nan=False)  # as a plain function
        out += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
        lib.autograd.set_detect_anomaly(False)
        out += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
        return out

    assert states(tapegrad) == states(torch)


def test_enter_warning_is_torchs():
    t_err, t_warn = _run(torch, lambda lib: lib.autograd.detect_anomaly())
    g_err, g_warn = _run(tapegrad, lambda lib: lib.autograd.detect_anomaly())
    assert (
        g_warn
        == t_warn
        == [
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging."
        ]
    )
    with pytest.warns(UserWarning) as rec:
        tapegrad.autograd.detect_anomaly()
    assert rec[0].filename == __file__  # attributed to the caller, as PyTorch's


def test_not_a_decorator_like_torch():
    for lib in LIBS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(TypeError):
                lib.autograd.detect_anomaly()(lambda: None)


def _sqrt_negative(lib):
    x = lib.tensor([-1.0, 4.0], requires_grad=True)
    with lib.autograd.detect_anomaly():
        y = x.sqrt()  # FORWARD-LINE-SQRT
        y.sum().backward()


def test_nan_in_backward_names_the_node_and_the_forward_line():
    t_warn, g_warn = _same_outcome(_sqrt_negative)
    err = _run(tapegrad, _sqrt_negative)[0]
    assert err == (
        "RuntimeError",
        "Function 'SqrtBackward0' returned nan values in its 0th output.",
    )
    head = "Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n"
    assert t_warn[1].startswith(head) and g_warn[1].startswith(head)
    # the traceback ends at the user's forward call, as in PyTorch (no tapegrad internals;
    # the frames above it differ only in which library _run was running)
    assert g_warn[1].splitlines()[-4:] == t_warn[1].splitlines()[-4:]
    assert "FORWARD-LINE-SQRT" in g_warn[1] and __file__ in g_warn[1]


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, a, b: (a / b * 0).sum(),  # DivBackward0: 0/0 in the gradient
        lambda lib, a, b: (a * b * float("inf")).sum(),  # MulBackward0: inf * 0
        lambda lib, a, b: (a.log() * b).sum(),  # no NaN: no error, no warning
        lambda lib, a, b: lib.where(b > 0, a.sqrt(), a).sum(),
    ],
)
def test_nan_check_matches_torch(program):
    def fn(lib):
        a = lib.tensor([1.0, -1.0], requires_grad=True)
        b = lib.tensor([0.0, 2.0], requires_grad=True)
        with lib.autograd.detect_anomaly():
            program(lib, a, b).backward()

    t_warn, g_warn = _same_outcome(fn)
    assert [w.split("\n")[0] for w in g_warn] == [w.split("\n")[0] for w in t_warn]


def test_check_nan_false_lets_nan_through():
    def fn(lib):
        x = lib.tensor([-1.0, 4.0], requires_grad=True)
        with lib.autograd.detect_anomaly(check_nan=False):
            x.sqrt().sum().backward()
        return x.grad

    grads = []
    for lib in LIBS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grads.append(np.asarray(fn(lib).tolist()))
    np.testing.assert_array_equal(grads[1], grads[0])


def test_error_in_custom_backward_is_reraised_after_the_warning():
    def fn(lib):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                raise ValueError("boom")

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.autograd.set_detect_anomaly(True):
            y = Bad.apply(x)  # FORWARD-LINE-BAD
            y.sum().backward()

    t_warn, g_warn = _same_outcome(fn)
    assert _run(tapegrad, fn)[0] == ("ValueError", "boom")
    assert g_warn[0].startswith("Error detected in BadBackward. Traceback of forward call")
    assert t_warn[0].startswith("Error detected in BadBackward. Traceback of forward call")
    assert "FORWARD-LINE-BAD" in g_warn[0]


def test_node_made_outside_the_mode_has_no_traceback():
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        with lib.autograd.detect_anomaly():
            y.add_(1)
            y.sum().backward()

    t_warn, g_warn = _same_outcome(fn)
    assert g_warn[1:] == t_warn[1:]
    assert "No forward pass information available" in g_warn[-1]


def test_inplace_error_hint_under_anomaly_is_torchs():
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.autograd.detect_anomaly():
            y = x.exp()
            y.add_(1)
            y.sum().backward()

    t_warn, g_warn = _same_outcome(fn)
    err = _run(tapegrad, fn)[0]
    assert err[1].endswith("changed in there or anywhere later. Good luck!")
    assert [w.splitlines()[-4:] for w in g_warn] == [w.splitlines()[-4:] for w in t_warn]


def test_create_graph_reports_the_inducing_node():
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.autograd.detect_anomaly():
            y = (x * x).sum()  # FORWARD-LINE-INDUCING
            (gx,) = lib.autograd.grad(y, x, create_graph=True)
            assert gx.grad_fn.metadata["parent_"].name() == "MulBackward0"
            lib.autograd.grad(gx, x, grad_outputs=lib.tensor([float("nan"), 1.0]))

    t_warn, g_warn = _same_outcome(fn)
    assert len(g_warn) == len(t_warn) == 3
    assert g_warn[1].split("\n")[0] == t_warn[1].split("\n")[0]
    assert g_warn[2].splitlines()[-4:] == t_warn[2].splitlines()[-4:]
    assert g_warn[2].startswith("\n\nPrevious calculation was induced by MulBackward0.")
    assert "FORWARD-LINE-INDUCING" in g_warn[2]


def test_metadata_and_gradients_unchanged():
    def fn(lib, anomaly):
        torch.manual_seed(0)
        x = lib.tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3), requires_grad=True)
        w = lib.tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.set_detect_anomaly(anomaly):
                y = lib.nn.functional.softmax((x @ w).tanh(), dim=1)
                keys = sorted(y.grad_fn.metadata)
                (y * y).sum().backward()
        return keys, x.grad.tolist(), w.grad.tolist()

    for anomaly in (False, True):
        t, g = fn(torch, anomaly), fn(tapegrad, anomaly)
        assert g[0] == t[0]
        np.testing.assert_allclose(g[1], t[1], rtol=1e-6)
        np.testing.assert_allclose(g[2], t[2], rtol=1e-6)
    assert fn(tapegrad, True)[1:] == fn(tapegrad, False)[1:]
