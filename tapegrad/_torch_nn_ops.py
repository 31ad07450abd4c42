"""The ``torch.*`` spellings of neural-network ops (``torch.conv2d``, ``torch.max_pool2d``,
``torch.dropout``, ``torch.batch_norm``...).

PyTorch exposes these ATen functions at the top level with ATen's signatures, which differ
from ``torch.nn.functional``'s in places: ``torch.dropout(input, p, train)`` has no
defaults, ``torch.embedding(weight, indices)`` takes its arguments the other way round,
``torch.batch_norm`` puts ``weight`` and ``bias`` first, and losses take ``reduction`` as
an integer (0 none, 1 mean, 2 sum). Each function here is that signature over the
functional implementation, so programs written against either spelling run.
"""

from __future__ import annotations

from ._tensor import Tensor
from .nn import functional as F

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "alpha_dropout",
    "avg_pool1d",
    "batch_norm",
    "bilinear",
    "binary_cross_entropy_with_logits",
    "celu",
    "celu_",
    "channel_shuffle",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "cosine_embedding_loss",
    "ctc_loss",
    "dropout",
    "embedding",
    "feature_alpha_dropout",
    "feature_dropout",
    "group_norm",
    "hardshrink",
    "hinge_embedding_loss",
    "instance_norm",
    "kl_div",
    "layer_norm",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool3d",
    "native_channel_shuffle",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "prelu",
    "relu_",
    "rms_norm",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "threshold",
    "threshold_",
    "triplet_margin_loss",
]

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(reduction) -> str:
    """ATen's integer reduction (0 none, 1 mean, 2 sum) as functional's string."""
    if isinstance(reduction, str):
        return reduction
    try:
        return _REDUCTIONS[int(reduction)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{reduction} is not a valid value for reduction") from None


def _stride(stride, kernel_size):
    # ATen's default stride is [], meaning the kernel size.
    return None if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride


# convolution ---------------------------------------------------------------------------


def conv1d(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (``torch.conv1d``; same as ``F.conv1d``)."""
    return F.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (``torch.conv2d``; same as ``F.conv2d``)."""
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (``torch.conv3d``; same as ``F.conv3d``)."""
    return F.conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(
    input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, output_padding=0, groups=1,
    dilation=1,
):  # fmt: skip
    """1-D transposed convolution (``torch.conv_transpose1d``)."""
    return F.conv_transpose1d(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, output_padding=0, groups=1,
    dilation=1,
):  # fmt: skip
    """2-D transposed convolution (``torch.conv_transpose2d``)."""
    return F.conv_transpose2d(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(
    input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, output_padding=0, groups=1,
    dilation=1,
):  # fmt: skip
    """3-D transposed convolution (``torch.conv_transpose3d``)."""
    return F.conv_transpose3d(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )


# pooling -------------------------------------------------------------------------------


def max_pool1d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """1-D max pooling (``torch.max_pool1d``; an empty ``stride`` means the kernel size)."""
    return F.max_pool1d(
        input, kernel_size, _stride(stride, kernel_size), padding, dilation, ceil_mode
    )


def max_pool1d_with_indices(
    input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False
):
    """1-D max pooling and the indices of the maxima (``torch.max_pool1d_with_indices``)."""
    return F.max_pool1d(
        input, kernel_size, _stride(stride, kernel_size), padding, dilation, ceil_mode,
        return_indices=True,
    )  # fmt: skip


def max_pool2d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """2-D max pooling (``torch.max_pool2d``; an empty ``stride`` means the kernel size)."""
    return F.max_pool2d(
        input, kernel_size, _stride(stride, kernel_size), padding, dilation, ceil_mode
    )


def max_pool3d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """3-D max pooling (``torch.max_pool3d``; an empty ``stride`` means the kernel size)."""
    return F.max_pool3d(
        input, kernel_size, _stride(stride, kernel_size), padding, dilation, ceil_mode
    )


def avg_pool1d(
    input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    """1-D average pooling (``torch.avg_pool1d``)."""
    return F.avg_pool1d(
        input, kernel_size, _stride(stride, kernel_size), padding, ceil_mode, count_include_pad
    )


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-D adaptive average pooling (``torch.adaptive_avg_pool1d``)."""
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input: Tensor, output_size):
    """1-D adaptive max pooling: ``(values, indices)``, as ATen returns both
    (``torch.adaptive_max_pool1d``)."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


# normalisation -------------------------------------------------------------------------


def batch_norm(
    input: Tensor, weight, bias, running_mean, running_var, training: bool, momentum: float,
    eps: float, cudnn_enabled: bool = True,
):  # fmt: skip
    """Batch normalisation with ATen's argument order (``torch.batch_norm``);
    ``cudnn_enabled`` has no effect on the CPU."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input: Tensor, weight, bias, running_mean, running_var, use_input_stats: bool,
    momentum: float, eps: float, cudnn_enabled: bool = True,
):  # fmt: skip
    """Instance normalisation with ATen's argument order (``torch.instance_norm``)."""
    return F.instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def layer_norm(
    input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5,
    cudnn_enable: bool = True,
):  # fmt: skip
    """Layer normalisation (``torch.layer_norm``)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(
    input: Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5,
    cudnn_enabled: bool = True,
):  # fmt: skip
    """Group normalisation (``torch.group_norm``)."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input: Tensor, normalized_shape, weight=None, eps=None) -> Tensor:
    """Root-mean-square normalisation (``torch.rms_norm``)."""
    return F.rms_norm(input, normalized_shape, weight, eps)


# dropout -------------------------------------------------------------------------------


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout with ATen's signature (``torch.dropout``: no defaults)."""
    return F.dropout(input, p, train)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels (``torch.feature_dropout``)."""
    return F._dropout_impl(input, p, train, False, feature=True, alpha=False)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout (``torch.alpha_dropout``)."""
    return F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout of whole channels (``torch.feature_alpha_dropout``)."""
    return F.feature_alpha_dropout(input, p, train)


# activations and the rest --------------------------------------------------------------


def embedding(
    weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
    sparse: bool = False,
):  # fmt: skip
    """Rows of ``weight`` (``torch.embedding``: weight first; -1 means no padding index)."""
    return F.embedding(
        indices, weight, None if padding_idx == -1 else padding_idx,
        scale_grad_by_freq=scale_grad_by_freq, sparse=sparse,
    )  # fmt: skip


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """CELU (``torch.celu``)."""
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """CELU in place (``torch.celu_``)."""
    return F.celu(input, alpha, inplace=True)


def selu(input: Tensor) -> Tensor:
    """SELU (``torch.selu``)."""
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:
    """SELU in place (``torch.selu_``)."""
    return F.selu(input, inplace=True)


def relu_(input: Tensor) -> Tensor:
    """ReLU in place (``torch.relu_``)."""
    return F.relu(input, inplace=True)


def rrelu(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
    generator=None,
):  # fmt: skip
    """Randomized leaky ReLU (``torch.rrelu``; note ``training`` defaults to False here)."""
    return F.rrelu(input, lower, upper, training)


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
    generator=None,
):  # fmt: skip
    """Randomized leaky ReLU in place (``torch.rrelu_``)."""
    return F.rrelu(input, lower, upper, training, inplace=True)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """``value`` where ``input <= threshold`` (``torch.threshold``)."""
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """``torch.threshold`` in place (``torch.threshold_``)."""
    return F.threshold(input, threshold, value, inplace=True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Hard shrinkage (``torch.hardshrink``)."""
    return F.hardshrink(input, lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """PReLU (``torch.prelu``)."""
    return F.prelu(input, weight)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias=None) -> Tensor:
    """Bilinear map x1^T A x2 + b (``torch.bilinear``)."""
    return F.bilinear(input1, input2, weight, bias)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Pixel shuffle (``torch.pixel_shuffle``)."""
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Pixel unshuffle (``torch.pixel_unshuffle``)."""
    return F.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Channel shuffle (``torch.channel_shuffle``)."""
    return F.channel_shuffle(input, groups)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Channel shuffle (``torch.native_channel_shuffle``)."""
    return F.channel_shuffle(input, groups)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """Pairwise distances between the rows (``torch.pdist``)."""
    return F.pdist(input, p)


# losses with an integer reduction ------------------------------------------------------
# PyTorch 2.13's top-level bindings of these losses default to reduction 0 (none), unlike
# their nn.functional counterparts (measured: torch.kl_div(a, b) has a's shape, and so
# does torch.ctc_loss's result although its signature reads "reduction=Mean").


def kl_div(input: Tensor, target: Tensor, reduction=0, *, log_target: bool = False) -> Tensor:
    """KL divergence (``torch.kl_div``: reduction 0 none, 1 mean, 2 sum)."""
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(
    input: Tensor, target: Tensor, weight=None, pos_weight=None, reduction=0
) -> Tensor:
    """BCE on logits (``torch.binary_cross_entropy_with_logits``; integer reduction)."""
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction(reduction), pos_weight=pos_weight
    )


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction=0) -> Tensor:
    """Cosine embedding loss (``torch.cosine_embedding_loss``; integer reduction)."""
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction=0) -> Tensor:
    """Hinge embedding loss (``torch.hinge_embedding_loss``; integer reduction)."""
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction=0) -> Tensor:
    """Margin ranking loss (``torch.margin_ranking_loss``; integer reduction)."""
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction) -> Tensor:
    """Poisson negative log-likelihood (``torch.poisson_nll_loss``: every argument given)."""
    return F.poisson_nll_loss(
        input, target, log_input, full, eps=eps, reduction=_reduction(reduction)
    )


def triplet_margin_loss(
    anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
    swap: bool = False, reduction=0,
):  # fmt: skip
    """Triplet margin loss (``torch.triplet_margin_loss``; integer reduction)."""
    return F.triplet_margin_loss(
        anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction)
    )


def ctc_loss(
    log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction=0,
    zero_infinity: bool = False,
):  # fmt: skip
    """CTC loss (``torch.ctc_loss``; integer reduction)."""
    return F.ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank,
        reduction=_reduction(reduction), zero_infinity=zero_infinity,
    )  # fmt: skip
