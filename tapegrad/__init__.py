"""tapegrad: a small, readable deep-learning framework with PyTorch's API, on NumPy.

Use it as ``import tapegrad as torch``.
"""

from __future__ import annotations

__version__ = "0.1.0"

import warnings as _warnings

import numpy as _np

from . import _dtype, _torch_guard, backend

# Warn when the real PyTorch gets imported next to tapegrad (``import torch.nn`` after
# ``import tapegrad as torch``); see _torch_guard.
_torch_guard.install()

# PyTorch computes inf/nan silently; NumPy would warn on every 0 * inf or log(0).
_np.seterr(all="ignore")

# The arrays a training step frees stay in the process for the next step instead of
# faulting in again page by page (glibc malloc thresholds; see backend/memory.py).
from .backend import memory as _memory

_memory.keep_freed_memory()
from ._device import device
from ._dtype import (
    bool_ as bool,
)
from ._dtype import (
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
)
from ._tensor import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    Size,
    Tensor,
)
from .ops import _util as _ops_util

_ops_util.Tensor = Tensor

from . import (
    _tensor_methods,  # noqa: E402  (attaches methods to Tensor)
    autograd,  # noqa: E402
    linalg,  # noqa: E402
)
from ._random import (  # noqa: E402
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from ._tensor_str import set_printoptions  # noqa: E402
from .autograd import enable_grad, inference_mode, no_grad, set_grad_enabled  # noqa: E402
from .autograd.anomaly_mode import (  # noqa: E402
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_anomaly_enabled,
)
from .autograd.grad_mode import is_grad_enabled  # noqa: E402
from .ops.complex import (  # noqa: E402
    angle,
    complex,
    conj,
    conj_physical,
    imag,
    is_conj,
    polar,
    real,
    resolve_conj,
    view_as_complex,
    view_as_real,
)
from .ops.creation import (  # noqa: E402
    arange,
    as_tensor,
    asarray,
    cartesian_prod,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    meshgrid,
    ones,
    ones_like,
    scalar_tensor,
    tensor,
    tril_indices,
    triu_indices,
    zeros,
    zeros_like,
)
from .ops.creation import range_ as range  # noqa: E402
from .ops.elementwise import (  # noqa: E402
    abs,
    absolute,
    acos,
    acosh,
    add,
    addcdiv,
    addcmul,
    allclose,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    copysign,
    cos,
    cosh,
    deg2rad,
    div,
    divide,
    eq,
    equal,
    erf,
    erfc,
    erfinv,
    exp,
    exp2,
    expm1,
    fix,
    float_power,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    frac,
    ge,
    greater,
    greater_equal,
    gt,
    hypot,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    isreal,
    le,
    lerp,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    multiply,
    nan_to_num,
    ne,
    neg,
    negative,
    not_equal,
    positive,
    pow,
    rad2deg,
    reciprocal,
    relu,
    remainder,
    round,
    rsqrt,
    rsub,
    sgn,
    sigmoid,
    sign,
    signbit,
    sin,
    sinh,
    sqrt,
    square,
    sub,
    subtract,
    tan,
    tanh,
    true_divide,
    trunc,
    where,
    xlogy,
)
from .ops.index import (  # noqa: E402
    argwhere,
    gather,
    index_add,
    index_copy,
    index_fill,
    index_put,
    index_select,
    masked_fill,
    masked_scatter,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    scatter_reduce,
    select,
    take,
    take_along_dim,
)
from .ops.linalg import (  # noqa: E402  # noqa: E402
    addbmm,
    addmm,
    addmv,
    addr,
    baddbmm,
    bmm,
    cholesky,
    cross,
    det,
    dot,
    einsum,
    gels,
    geqrf,
    ger,
    inner,
    kron,
    logdet,
    matmul,
    matrix_exp,
    mm,
    mv,
    outer,
    pinverse,  # noqa: E402
    slogdet,
    tensordot,
    trace,
    vdot,
)
from .ops.linalg import householder_product as orgqr
from .ops.linalg import inv as inverse
from .ops.linalg import lstsq as _lstsq  # noqa: E402
from .ops.linalg import old_eig as eig  # noqa: E402
from .ops.linalg import old_svd as svd  # noqa: E402
from .ops.random import (  # noqa: E402
    bernoulli,
    multinomial,
    normal,
    poisson,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
)
from .ops.random_gamma import (  # noqa: E402
    _dirichlet_grad,
    _sample_dirichlet,
    _standard_gamma,
    _standard_gamma_grad,
    binomial,
)
from .ops.reduce import (  # noqa: E402
    all,
    amax,
    amin,
    aminmax,
    any,
    argmax,
    argmin,
    argsort,
    bincount,
    bucketize,
    count_nonzero,
    cummax,
    cummin,
    cumprod,
    cumsum,
    dist,
    histc,
    kthvalue,
    log_softmax,
    logcumsumexp,
    logsumexp,
    max,
    mean,
    median,
    min,
    mode,
    msort,
    nanmean,
    nanmedian,
    nansum,
    norm,
    prod,
    quantile,
    return_types,
    searchsorted,
    softmax,
    sort,
    std,
    std_mean,
    sum,
    topk,
    unique,
    unique_consecutive,
    var,
    var_mean,
)
from .ops.shape import (  # noqa: E402
    adjoint,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    clone,
    column_stack,
    concat,
    concatenate,
    diag,
    diag_embed,
    diagflat,
    diagonal,
    dstack,
    flatten,
    flip,
    fliplr,
    flipud,
    hstack,
    moveaxis,
    movedim,
    narrow,
    permute,
    ravel,
    repeat_interleave,
    reshape,
    roll,
    rot90,
    row_stack,
    split,
    squeeze,
    stack,
    swapaxes,
    swapdims,
    t,
    tensor_split,
    tile,
    transpose,
    tril,
    triu,
    unbind,
    unflatten,
    unsqueeze,
    vstack,
)
from .ops.special import digamma, lgamma, mvlgamma, polygamma  # noqa: E402
from .ops.special import gammainc as igamma  # noqa: E402
from .ops.special import gammaincc as igammac  # noqa: E402
from .ops.triangular import cholesky_inverse  # noqa: E402

uint8 = uint8
bool = bool


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a tapegrad tensor (``torch.is_tensor``).

    Args:
        obj: Any object.
    """
    return isinstance(obj, Tensor)


def is_floating_point(input) -> bool:
    """Whether ``input``'s dtype is a floating-point type (``torch.is_floating_point``).

    Args:
        input: A tensor.
    """
    return input.dtype.is_floating_point


def is_complex(input) -> bool:
    """Whether ``input``'s dtype is a complex type (``torch.is_complex``).

    Args:
        input: A tensor.
    """
    return input.dtype.is_complex


def numel(input) -> int:
    """The number of elements of ``input`` (``torch.numel``).

    Args:
        input: A tensor.
    """
    return input.numel()


def result_type(tensor1, tensor2):
    """The dtype an operation on the two arguments gives (``torch.result_type``).

    Args:
        tensor1: A tensor or a Python number.
        tensor2: A tensor or a Python number.

    Returns:
        The promoted dtype, by PyTorch's rules (a Python number does not raise a
        tensor's category's precision: ``int8`` tensor and ``1`` give ``int8``).
    """
    return _dtype.result_type(tensor1, tensor2)


def can_cast(from_, to) -> bool:
    """Whether casting ``from_`` to ``to`` is allowed by type promotion (``torch.can_cast``).

    Args:
        from_: The dtype cast from.
        to: The dtype cast to.

    Returns:
        ``False`` where the cast goes down a category (float to integer, complex to
        float, integer to bool), else ``True``.
    """
    return from_.category <= to.category


def is_nonzero(input) -> bool:
    """Whether the single element of ``input`` is not zero (``torch.is_nonzero``).

    Args:
        input: A tensor with one element.

    Raises:
        RuntimeError: If ``input`` has more than one element.
    """
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item() != 0)


def lstsq(B, A):
    """The old ``torch.lstsq(B, A)``, an alias of ``gels``.

    Args:
        B: The right-hand sides (M, K).
        A: The matrix (M, N).

    Returns:
        ``(X, QR)`` as ``gels`` returns them (the first N rows of X are the solution).
    """
    return gels(B, A)


def set_default_tensor_type(t) -> None:  # noqa: F811
    """Set the default floating-point dtype by tensor type (``torch.set_default_tensor_type``).

    Args:
        t: A tensor type or its name: ``DoubleTensor`` sets float64, any other float32.
    """
    set_default_dtype(float64 if "Double" in str(t) else float32)


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:  # noqa: F811
    """tapegrad's CPU ops are deterministic already.

    Args:
        mode: Whether to require deterministic algorithms (tapegrad's are deterministic either
            way).
        warn_only: Accepted for PyTorch's signature.
    """


def are_deterministic_algorithms_enabled() -> bool:
    """Whether ops are deterministic: always ``True`` in tapegrad
    (``torch.are_deterministic_algorithms_enabled``)."""
    return True


_num_threads = [1]


def get_num_threads() -> int:
    """Threads tapegrad may use for batch-parallel work (``torch.get_num_threads``)."""
    return _num_threads[0]


def set_num_threads(n: int) -> None:
    """Set the number of threads used for intra-op parallelism (``torch.set_num_threads``).

    tapegrad then splits convolution, pooling and large matrix products across ``n``
    threads of its own (NumPy releases the GIL in its kernels), and the OpenBLAS under
    NumPy runs single-threaded beneath them: its idle threads spin between calls and
    would take the cores from tapegrad's. Like PyTorch's, the setting is process-wide
    (NumPy's own matrix products in the same process also run on one BLAS thread).

    Args:
        n: The number of threads (at least 1).

    Raises:
        RuntimeError: If ``n`` is less than 1.
    """
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _num_threads[0] = n
    from .backend.blas import set_blas_threads

    set_blas_threads(1)


def compile(model=None, **kwargs):  # noqa: A001
    """No compilation in tapegrad: returns the model unchanged (``torch.compile``).

    Args:
        model: The model or function (or nothing, to use ``compile`` as a decorator).
        **kwargs: Accepted for PyTorch's signature (``mode``, ``fullgraph``, ``backend``, ...).

    Returns:
        ``model`` (or a decorator returning its argument).
    """
    return model if model is not None else (lambda m: m)


def set_default_device(device) -> None:
    """Set the device new tensors are created on (``torch.set_default_device``).

    tapegrad creates tensors on the CPU; ``'cpu'`` and ``None`` are accepted, and a GPU
    device raises as PyTorch does without one (with CuPy and a GPU, move tensors with
    ``.to(device)`` instead).

    Args:
        device: ``'cpu'`` or ``None``.

    Raises:
        NotImplementedError: For a GPU device when CuPy is available; without it, PyTorch's
            error for a build without CUDA.
    """
    from ._device import to_device

    d = to_device(device)
    if d.type != "cpu":
        backend.get_cupy()  # PyTorch's "not compiled with CUDA" error without a GPU
        raise NotImplementedError(
            f"set_default_device({str(d)!r}): tapegrad creates tensors on the CPU; "
            "move them with .to(device)"
        )


_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """Record the float32 matmul precision (``torch.set_float32_matmul_precision``).

    tapegrad's float32 products are NumPy's BLAS in full float32 ("highest") whatever is
    set; the value is kept so that ``get_float32_matmul_precision`` returns it.

    Args:
        precision: ``'highest'``, ``'high'`` or ``'medium'``.
    """
    if precision not in ("highest", "high", "medium"):
        _warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
            "setFloat32MatmulPrecision call has no effect.",
            UserWarning,
            stacklevel=2,
        )
        return
    _matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision last set (``torch.get_float32_matmul_precision``)."""
    return _matmul_precision[0]


def get_default_device() -> device:
    """The device new tensors are created on (``torch.get_default_device``)."""
    return device("cpu")


from . import (  # noqa: E402
    accelerator,
    amp,
    backends,
    cpu,
    cuda,
    distributed,
    distributions,
    fft,
    func,
    futures,
    hub,
    jit,
    models,
    multiprocessing,
    nn,
    onnx,
    optim,
    profiler,
    random,
    special,
    testing,
    train,
    utils,
    version,
)
from ._dtype import bfloat16  # noqa: E402
from ._torch_nn_ops import *  # noqa: E402  (torch.conv2d, torch.max_pool2d, torch.dropout...)
from .amp.autocast_mode import (  # noqa: E402
    autocast,
    autocast_decrement_nesting,
    autocast_increment_nesting,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
)
from .func import vmap  # noqa: E402  (torch.vmap is torch.func.vmap)
from .nn.functional import cosine_similarity, pairwise_distance  # noqa: E402
from .nn.utils.parametrizations import _weight_norm, norm_except_dim  # noqa: E402
from .ops.elementwise import heaviside, ldexp, logaddexp2, logit, sinc  # noqa: E402
from .ops.index import isin, unravel_index  # noqa: E402
from .ops.linalg import cdist, chain_matmul, vander  # noqa: E402
from .ops.reduce import (  # noqa: E402
    corrcoef,
    cov,
    cumulative_trapezoid,
    diff,
    trapezoid,
    trapz,
)
from .ops.shape import block_diag, combinations, dsplit, hsplit, vsplit  # noqa: E402
from .serialization import load, save  # noqa: E402
from .utils.dlpack import from_dlpack  # noqa: E402
