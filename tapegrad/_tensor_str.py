"""Printing tensors exactly like PyTorch (``torch._tensor_str``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _dtype as D


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(
    precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None
) -> None:
    """Set how tensors print (``torch.set_printoptions``).

    Args:
        precision: number of digits after the decimal point (default 4).
        threshold: number of elements above which the output is summarised (default 1000).
        edgeitems: number of items shown at each end of a summarised dimension (default 3).
        linewidth: number of characters per line (default 80).
        profile: ``'default'``, ``'short'`` or ``'full'``: a preset for the four options above,
            which the explicit ones override.
        sci_mode: True or False forces scientific notation on or off; ``None`` chooses
            automatically.
    """
    if profile == "default":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    elif profile == "short":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 2, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 80
    elif profile == "full":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, math.inf
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    def __init__(self, values: np.ndarray, floating: bool):
        self.floating_dtype = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        vals = flat.astype(np.float64)
        nz = vals[np.isfinite(vals) & (vals != 0)]
        if nz.size == 0:
            return
        absv = np.abs(nz)
        mn, mx = float(absv.min()), float(absv.max())
        p = PRINT_OPTS.precision
        nz_list = nz.tolist()
        if not all(v == math.ceil(v) for v in nz_list):
            self.int_mode = False
        # PyTorch decides the notation first (a forced sci_mode included), then the width
        auto = mx / mn > 1000.0 or mx > 1.0e8 or mn < 1.0e-4
        self.sci_mode = auto if PRINT_OPTS.sci_mode is None else PRINT_OPTS.sci_mode
        if self.sci_mode:
            for v in nz_list:
                self.max_width = max(self.max_width, len(f"{v:.{p}e}"))
        elif self.int_mode:
            for v in nz_list:
                self.max_width = max(self.max_width, len(f"{v:.0f}") + 1)
        else:
            for v in nz_list:
                self.max_width = max(self.max_width, len(f"{v:.{p}f}"))

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        p = PRINT_OPTS.precision
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{p}f}"
        elif isinstance(value, bool):
            ret = str(value)
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


class _ComplexFormatter:
    """Real and imaginary parts formatted separately and joined as ``a+bj``, like PyTorch."""

    def __init__(self, values: np.ndarray):
        self.real = _Formatter(np.ascontiguousarray(values.real), True)
        self.imag = _Formatter(np.ascontiguousarray(values.imag), True)

    def width(self) -> int:
        # PyTorch's element length: real width + 2, plus imaginary width + 1 for the "j"
        return self.real.width() + self.imag.width() + 1

    def format(self, value) -> str:
        real_str = self.real.format(value.real)
        imag_str = (self.imag.format(value.imag) + "j").lstrip()
        if imag_str[0] in "+-":
            return real_str + imag_str
        return real_str + "+" + imag_str


def _summarized(a: np.ndarray) -> np.ndarray:
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:e], a[-e:]]) if a.shape[0] > 2 * e else a
    if a.shape[0] > 2 * e:
        parts = [_summarized(a[i]) for i in list(range(e)) + list(range(len(a) - e, len(a)))]
    else:
        parts = [_summarized(x) for x in a]
    return np.stack(parts)


def _vector_str(a, indent, summarize, fmt) -> str:
    element_length = fmt.width() + 2
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        data = (
            [fmt.format(v) for v in a[:e].tolist()]
            + [" ..."]
            + [fmt.format(v) for v in a[-e:].tolist()]
        )
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with(a, indent, summarize, fmt) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        slices = (
            [_tensor_str_with(a[i], indent + 1, summarize, fmt) for i in range(e)]
            + ["..."]
            + [
                _tensor_str_with(a[i], indent + 1, summarize, fmt)
                for i in range(len(a) - e, len(a))
            ]
        )
    else:
        slices = [_tensor_str_with(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(a: np.ndarray, indent: int, floating: bool) -> str:
    summarize = a.size > PRINT_OPTS.threshold
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    if a.dtype.kind == "c":
        fmt = _ComplexFormatter(_summarized(a) if summarize else a)
        return _tensor_str_with(a, indent, summarize, fmt)
    fmt = _Formatter(_summarized(a) if summarize else a, floating)
    return _tensor_str_with(a, indent, summarize, fmt)


def _add_suffixes(tensor_str, suffixes, indent) -> str:
    strs = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        n = len(suffix)
        if last_line_len + n + 2 > PRINT_OPTS.linewidth:
            strs.append(",\n" + " " * indent + suffix)
            last_line_len = indent + n
        else:
            strs.append(", " + suffix)
            last_line_len += n + 2
    strs.append(")")
    return "".join(strs)


def tensor_repr(t) -> str:
    """``repr(tensor)`` as PyTorch prints it."""
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    a = np.asarray(t._data) if type(t._data) is np.ndarray else t._data.get()
    dt = t.dtype
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    default_complex = D.complex128 if D.get_default_dtype() is D.float64 else D.complex64
    has_default = dt in (D.get_default_dtype(), default_complex, D.int64, D.bool_)
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append("size=" + str(tuple(a.shape)))
        if dt is not D.get_default_dtype():
            suffixes.append("dtype=" + str(dt))
        body = "[]"
    else:
        if not has_default:
            suffixes.append("dtype=" + str(dt))
        body = _tensor_str(a, indent, dt.is_floating_point)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    if getattr(t, "_is_param", False):
        return "Parameter containing:\n" + _add_suffixes(prefix + body, suffixes, indent)
    return _add_suffixes(prefix + body, suffixes, indent)
