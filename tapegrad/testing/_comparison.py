"""``assert_close``: PyTorch's tolerant comparison of tensors, scalars and containers.

Mirrors ``torch.testing.assert_close``: the same pairing rules (None, bool, number,
tensor-like, recursing through sequences and mappings), the same default tolerances by
dtype and the same mismatch report, so a failing test reads as it would under PyTorch.
"""

from __future__ import annotations

import cmath
import collections.abc
import contextlib
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

from .. import _dtype
from .._tensor import Tensor

# {dtype: (rtol, atol)}, PyTorch's table; every other dtype compares exactly.
_DTYPE_PRECISIONS = {
    _dtype.float16: (0.001, 1e-5),
    _dtype.float32: (1.3e-6, 1e-5),
    _dtype.float64: (1e-7, 1e-7),
    _dtype.complex64: (1.3e-6, 1e-5),
    _dtype.complex128: (1e-7, 1e-7),
}
if hasattr(_dtype, "bfloat16"):
    _DTYPE_PRECISIONS[_dtype.bfloat16] = (0.016, 1e-5)

# The dtype a Python scalar stands for when choosing its default tolerance.
_TYPE_TO_DTYPE = {int: _dtype.int64, float: _dtype.float64, complex: _dtype.complex128}


class _ErrorMeta(Exception):
    """A comparison failure carrying the exception type to raise and the item's path."""

    def __init__(self, type: type[Exception], msg: str, *, id: tuple = ()) -> None:
        super().__init__(msg)
        self.type = type
        self.msg = msg
        self.id = id

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if not isinstance(msg, str):
            generated = self.msg
            if self.id:
                path = "".join(str([item]) for item in self.id)
                generated += f"\n\nThe failure occurred for item {path}"
            msg = msg(generated) if callable(msg) else generated
        return self.type(msg)


class _Unsupported(Exception):
    """This pair type cannot handle the inputs; the next one is tried."""


def _default_tolerances(*dtypes) -> tuple[float, float]:
    rtols, atols = zip(*[_DTYPE_PRECISIONS.get(d, (0.0, 0.0)) for d in dtypes])
    return max(rtols), max(atols)


def _tolerances(*dtypes, rtol, atol, id) -> tuple[float, float]:
    # Both or neither: atol=0 alone would silently still pass on rtol.
    if (rtol is None) ^ (atol is None):
        raise _ErrorMeta(
            ValueError,
            "Both 'rtol' and 'atol' must be either specified or omitted, "
            f"but got no {'rtol' if rtol is None else 'atol'}.",
            id=id,
        )
    if rtol is not None:
        return rtol, atol
    return _default_tolerances(*dtypes)


def _mismatch_msg(
    *,
    default_identifier,
    identifier,
    extra,
    abs_diff,
    abs_diff_idx,
    atol,
    rel_diff,
    rel_diff_idx,
    rtol,
) -> str:
    equality = rtol == 0 and atol == 0

    def diff_msg(kind: str, diff, idx, tol) -> str:
        if idx is None:
            msg = f"{kind.title()} difference: {diff}"
        else:
            msg = f"Greatest {kind} difference: {diff} at index {idx}"
        if not equality:
            msg += f" (up to {tol} allowed)"
        return msg + "\n"

    if identifier is None:
        identifier = default_identifier
    elif callable(identifier):
        identifier = identifier(default_identifier)
    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += f"{extra.strip()}\n"
    msg += diff_msg("absolute", abs_diff, abs_diff_idx, atol)
    msg += diff_msg("relative", rel_diff, rel_diff_idx, rtol)
    return msg.strip()


def _scalar_mismatch_msg(actual, expected, *, rtol, atol, identifier=None) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg(
        default_identifier="Scalars",
        identifier=identifier,
        extra=f"Expected {expected} but got {actual}.",
        abs_diff=abs_diff,
        abs_diff_idx=None,
        atol=atol,
        rel_diff=rel_diff,
        rel_diff_idx=None,
        rtol=rtol,
    )


def _tensor_mismatch_msg(a: np.ndarray, e: np.ndarray, matches: np.ndarray, *, rtol, atol) -> str:
    n = matches.size
    bad = n - int(matches.sum())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    a, e, m = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if a.dtype.kind not in "fc":
        # integers are widened so that the difference cannot overflow, as in PyTorch
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(a - e)
        abs_diff[m] = 0
        # integer / integer is a float32 tensor in PyTorch (true division, default dtype)
        denom = np.abs(e)
        if abs_diff.dtype.kind not in "fc":
            abs_f, denom = abs_diff.astype(np.float32), denom.astype(np.float32)
        else:
            abs_f = abs_diff
        rel_diff = abs_f / denom
        rel_diff[m] = 0
    # like torch.max, np.argmax reports the first NaN where there is one
    i_abs, i_rel = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    return _mismatch_msg(
        default_identifier="Tensor-likes",
        identifier=None,
        extra=extra,
        abs_diff=abs_diff[i_abs].item(),
        abs_diff_idx=tuple(int(i) for i in np.unravel_index(i_abs, matches.shape)),
        atol=atol,
        rel_diff=rel_diff[i_rel].item(),
        rel_diff_idx=tuple(int(i) for i in np.unravel_index(i_rel, matches.shape)),
        rtol=rtol,
    )


def _isclose(a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool):
    """``torch.isclose`` on arrays of one dtype, computed in that dtype as PyTorch does."""
    if a.dtype == np.bool_ or (rtol == 0 and atol == 0):
        close = a == e
    else:
        work = a.dtype if a.dtype.kind in "fc" else np.dtype(np.float32)
        af, ef = a.astype(work, copy=False), e.astype(work, copy=False)
        close = af == ef
        with np.errstate(all="ignore"):
            real = np.zeros((), work).real.dtype
            allowed = real.type(atol) + np.abs(real.type(rtol) * ef)
            err = np.abs(af - ef)
            close |= np.isfinite(err) & (err <= allowed)
    if equal_nan and a.dtype.kind in "fc":
        close |= np.isnan(a) & np.isnan(e)
    return close


def _compare_none(actual, expected, **_):
    if not (actual is None and expected is None):
        raise _ErrorMeta(AssertionError, f"None mismatch: {actual} is not {expected}")


def _compare_bool(actual, expected, **_):
    a, e = bool(actual), bool(expected)
    if a is not e:
        raise _ErrorMeta(AssertionError, f"Booleans mismatch: {a} is not {e}")


def _compare_number(actual, expected, *, rtol, atol, equal_nan, check_dtype, id, **_):
    a = actual.item() if isinstance(actual, np.number) else actual
    e = expected.item() if isinstance(expected, np.number) else expected
    rtol, atol = _tolerances(
        _TYPE_TO_DTYPE[type(a)], _TYPE_TO_DTYPE[type(e)], rtol=rtol, atol=atol, id=id
    )
    if check_dtype and type(a) is not type(e):
        raise _ErrorMeta(AssertionError, f"The (d)types do not match: {type(a)} != {type(e)}.")
    if a == e:
        return
    if equal_nan and cmath.isnan(a) and cmath.isnan(e):
        return
    abs_diff = abs(a - e)
    if cmath.isfinite(abs_diff) and abs_diff <= atol + rtol * abs(e):
        return
    raise _ErrorMeta(AssertionError, _scalar_mismatch_msg(a, e, rtol=rtol, atol=atol))


def _as_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from ..ops.creation import as_tensor

    try:
        return as_tensor(x)
    except Exception:
        raise _Unsupported from None


def _tensor_pair(actual, expected, allow_subclasses):
    related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
    if not related or (not allow_subclasses and type(actual) is not type(expected)):
        raise _Unsupported
    return _as_tensor(actual), _as_tensor(expected)


def _host_array(t) -> np.ndarray:
    # bfloat16 has no NumPy dtype for .numpy(): compare its exact float32 widening
    t = t.detach().cpu()
    return np.asarray((t.float() if t.dtype is _dtype.bfloat16 else t).numpy())


def _compare_tensors(
    a: Tensor,
    e: Tensor,
    *,
    rtol,
    atol,
    equal_nan,
    check_device,
    check_dtype,
    check_layout,
    check_stride,
    id,
    **_,
):
    rtol, atol = _tolerances(a.dtype, e.dtype, rtol=rtol, atol=atol, id=id)

    def mismatch(name, av, ev) -> NoReturn:
        raise _ErrorMeta(
            AssertionError, f"The values for attribute '{name}' do not match: {av} != {ev}."
        )

    if a.shape != e.shape:
        mismatch("shape", a.shape, e.shape)
    if a.layout != e.layout:
        if check_layout:
            mismatch("layout", a.layout, e.layout)
    elif check_stride and a.stride() != e.stride():
        mismatch("stride()", a.stride(), e.stride())
    if check_device and a.device != e.device:
        mismatch("device", a.device, e.device)
    if check_dtype and a.dtype != e.dtype:
        mismatch("dtype", a.dtype, e.dtype)
    if a.device.type == "meta" or e.device.type == "meta":
        return
    an, en = _host_array(a), _host_array(e)
    if a.dtype != e.dtype:
        from .._dtype import promote_types

        # unsigned wide types have no promotion with signed ones: compare as int64
        ad, ed = (_dtype.int64 if d in _wide_unsigned() else d for d in (a.dtype, e.dtype))
        common = promote_types(ad, ed).np
        an, en = an.astype(common), en.astype(common)
    matches = _isclose(an, en, rtol, atol, equal_nan)
    if matches.all():
        return
    if an.ndim == 0:
        msg = _scalar_mismatch_msg(an.item(), en.item(), rtol=rtol, atol=atol)
    else:
        msg = _tensor_mismatch_msg(an, en, matches, rtol=rtol, atol=atol)
    raise _ErrorMeta(AssertionError, msg)


def _wide_unsigned() -> tuple:
    return tuple(getattr(_dtype, n) for n in ("uint16", "uint32", "uint64") if hasattr(_dtype, n))


def _originate(actual, expected, *, id: tuple, options: dict) -> list:
    """Pairs (compare function, actual, expected, id), recursing through containers."""
    seq = collections.abc.Sequence
    if (
        isinstance(actual, seq)
        and not isinstance(actual, str)
        and isinstance(expected, seq)
        and not isinstance(expected, str)
    ):
        if len(actual) != len(expected):
            raise _ErrorMeta(
                AssertionError,
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                id=id,
            )
        pairs = []
        for i in range(len(actual)):
            pairs += _originate(actual[i], expected[i], id=(*id, i), options=options)
        return pairs
    mapping = collections.abc.Mapping
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        akeys, ekeys = set(actual.keys()), set(expected.keys())
        if akeys != ekeys:
            raise _ErrorMeta(
                AssertionError,
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {sorted(ekeys - akeys)}\n"
                f"Additional keys in the actual mapping: {sorted(akeys - ekeys)}",
                id=id,
            )
        keys: Any = akeys
        with contextlib.suppress(Exception):
            keys = sorted(keys)
        pairs = []
        for k in keys:
            pairs += _originate(actual[k], expected[k], id=(*id, k), options=options)
        return pairs
    if actual is None or expected is None:
        return [(_compare_none, actual, expected, id)]
    booleans = (bool, np.bool_)
    if isinstance(actual, booleans) and isinstance(expected, booleans):
        return [(_compare_bool, actual, expected, id)]
    numbers = (int, float, complex, np.number)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        # validate the tolerances now, as PyTorch does while pairing
        _tolerances(_dtype.float64, rtol=options["rtol"], atol=options["atol"], id=id)
        return [(_compare_number, actual, expected, id)]
    try:
        a, e = _tensor_pair(actual, expected, options["allow_subclasses"])
    except _Unsupported:
        raise _ErrorMeta(
            TypeError,
            f"No comparison pair was able to handle inputs of type {type(actual)} "
            f"and {type(expected)}.",
            id=id,
        ) from None
    _tolerances(a.dtype, e.dtype, rtol=options["rtol"], atol=options["atol"], id=id)
    return [(_compare_tensors, a, e, id)]


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """Assert that ``actual`` and ``expected`` are close (``torch.testing.assert_close``).

    Close means ``|actual - expected| <= atol + rtol * |expected|`` elementwise, with
    infinities equal only to themselves and NaNs equal only when ``equal_nan``.
    Tensors must also agree in shape and, unless the matching ``check_*`` flag is off,
    in device, dtype, layout (and stride with ``check_stride=True``). Inputs may be
    tensors, anything ``as_tensor`` accepts (of a directly related type), Python
    scalars, or sequences and mappings of those, compared item by item. Default
    tolerances by dtype: float16 (1e-3, 1e-5), bfloat16 (1.6e-2, 1e-5), float32 and
    complex64 (1.3e-6, 1e-5), float64 and complex128 (1e-7, 1e-7), others exact.

    >>> assert_close(tapegrad.tensor([1.0, 2.0]), tapegrad.tensor([1.0, 2.0 + 1e-7]))

    Args:
        actual: The value tested.
        expected: The reference.
        allow_subclasses: Accept subclasses of the same type.
        rtol: Relative tolerance (with ``atol``; default: by dtype).
        atol: Absolute tolerance (with ``rtol``; default: by dtype).
        equal_nan: Count two NaNs as equal.
        check_device: Require the same device.
        check_dtype: Require the same dtype.
        check_layout: Require the same layout.
        check_stride: Require the same strides.
        msg: A message, or a function of the default message, for the error.

    Raises:
        AssertionError: If the values are not close, naming the mismatches.
    """
    __tracebackhide__ = True
    options = dict(
        allow_subclasses=allow_subclasses,
        rtol=rtol,
        atol=atol,
        equal_nan=equal_nan,
        check_device=check_device,
        check_dtype=check_dtype,
        check_layout=check_layout,
        check_stride=check_stride,
    )
    try:
        pairs = _originate(actual, expected, id=(), options=options)
    except _ErrorMeta as meta:
        raise meta.to_error() from None
    for compare, a, e, id in pairs:
        try:
            compare(a, e, id=id, **options)
        except _ErrorMeta as meta:
            meta.id = id
            raise meta.to_error(msg) from None
