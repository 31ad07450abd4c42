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


def _stride(stride):
    # ATen's default stride is [], meaning the kernel size.
    return None if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride


# convolution ---------------------------------------------------------------------------


def conv1d(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (``torch.conv1d``; same as ``F.conv1d``).

    Args:
        input: input of shape ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
        weight: filters of shape ``(C_out, C_in / groups, *kernel)``.
        bias: optional bias of shape ``(C_out,)``.
        stride: step of the window, an int or one int per spatial dimension.
        padding: implicit zero padding on each side: an int, one per spatial dimension,
            ``'valid'`` (none) or ``'same'`` (output as large as the input; stride 1 only).
        dilation: spacing between kernel elements, an int or one per spatial dimension.
        groups: number of blocked connections from input channels to output channels.
    """
    return F.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (``torch.conv2d``; same as ``F.conv2d``).

    Args:
        input: input of shape ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
        weight: filters of shape ``(C_out, C_in / groups, *kernel)``.
        bias: optional bias of shape ``(C_out,)``.
        stride: step of the window, an int or one int per spatial dimension.
        padding: implicit zero padding on each side: an int, one per spatial dimension,
            ``'valid'`` (none) or ``'same'`` (output as large as the input; stride 1 only).
        dilation: spacing between kernel elements, an int or one per spatial dimension.
        groups: number of blocked connections from input channels to output channels.
    """
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (``torch.conv3d``; same as ``F.conv3d``).

    Args:
        input: input of shape ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
        weight: filters of shape ``(C_out, C_in / groups, *kernel)``.
        bias: optional bias of shape ``(C_out,)``.
        stride: step of the window, an int or one int per spatial dimension.
        padding: implicit zero padding on each side: an int, one per spatial dimension,
            ``'valid'`` (none) or ``'same'`` (output as large as the input; stride 1 only).
        dilation: spacing between kernel elements, an int or one per spatial dimension.
        groups: number of blocked connections from input channels to output channels.
    """
    return F.conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(
    input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, output_padding=0, groups=1,
    dilation=1,
):  # fmt: skip
    """1-D transposed convolution (``torch.conv_transpose1d``).

    Args:
        input: input of shape ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
        weight: filters of shape ``(C_in, C_out / groups, *kernel)``.
        bias: optional bias of shape ``(C_out,)``.
        stride: step of the window, an int or one int per spatial dimension.
        padding: ``dilation * (kernel - 1) - padding`` zero padding is added to each side of the
            input; an int or one per spatial dimension.
        output_padding: extra size added to one side of each output dimension.
        groups: number of blocked connections from input channels to output channels.
        dilation: spacing between kernel elements, an int or one per spatial dimension.
    """
    return F.conv_transpose1d(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, output_padding=0, groups=1,
    dilation=1,
):  # fmt: skip
    """2-D transposed convolution (``torch.conv_transpose2d``).

    Args:
        input: input of shape ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
        weight: filters of shape ``(C_in, C_out / groups, *kernel)``.
        bias: optional bias of shape ``(C_out,)``.
        stride: step of the window, an int or one int per spatial dimension.
        padding: ``dilation * (kernel - 1) - padding`` zero padding is added to each side of the
            input; an int or one per spatial dimension.
        output_padding: extra size added to one side of each output dimension.
        groups: number of blocked connections from input channels to output channels.
        dilation: spacing between kernel elements, an int or one per spatial dimension.
    """
    return F.conv_transpose2d(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(
    input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, output_padding=0, groups=1,
    dilation=1,
):  # fmt: skip
    """3-D transposed convolution (``torch.conv_transpose3d``).

    Args:
        input: input of shape ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
        weight: filters of shape ``(C_in, C_out / groups, *kernel)``.
        bias: optional bias of shape ``(C_out,)``.
        stride: step of the window, an int or one int per spatial dimension.
        padding: ``dilation * (kernel - 1) - padding`` zero padding is added to each side of the
            input; an int or one per spatial dimension.
        output_padding: extra size added to one side of each output dimension.
        groups: number of blocked connections from input channels to output channels.
        dilation: spacing between kernel elements, an int or one per spatial dimension.
    """
    return F.conv_transpose3d(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )


# pooling -------------------------------------------------------------------------------


def max_pool1d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """1-D max pooling (``torch.max_pool1d``; an empty ``stride`` means the kernel size).

    Args:
        input: the input tensor.
        kernel_size: size of the pooling window, an int or one per spatial dimension.
        stride: step of the window; an empty value or ``None`` means ``kernel_size``.
        padding: implicit negative-infinity padding on each side.
        dilation: spacing between kernel elements, an int or one per spatial dimension.
        ceil_mode: use ceil instead of floor to compute the output size.
    """
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(
    input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False
):
    """1-D max pooling and the indices of the maxima (``torch.max_pool1d_with_indices``).

    Args:
        input: the input tensor.
        kernel_size: size of the pooling window, an int or one per spatial dimension.
        stride: step of the window; an empty value or ``None`` means ``kernel_size``.
        padding: implicit negative-infinity padding on each side.
        dilation: spacing between kernel elements, an int or one per spatial dimension.
        ceil_mode: use ceil instead of floor to compute the output size.
    """
    return F.max_pool1d(
        input, kernel_size, _stride(stride), padding, dilation, ceil_mode,
        return_indices=True,
    )  # fmt: skip


def max_pool2d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """2-D max pooling (``torch.max_pool2d``; an empty ``stride`` means the kernel size).

    Args:
        input: the input tensor.
        kernel_size: size of the pooling window, an int or one per spatial dimension.
        stride: step of the window; an empty value or ``None`` means ``kernel_size``.
        padding: implicit negative-infinity padding on each side.
        dilation: spacing between kernel elements, an int or one per spatial dimension.
        ceil_mode: use ceil instead of floor to compute the output size.
    """
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """3-D max pooling (``torch.max_pool3d``; an empty ``stride`` means the kernel size).

    Args:
        input: the input tensor.
        kernel_size: size of the pooling window, an int or one per spatial dimension.
        stride: step of the window; an empty value or ``None`` means ``kernel_size``.
        padding: implicit negative-infinity padding on each side.
        dilation: spacing between kernel elements, an int or one per spatial dimension.
        ceil_mode: use ceil instead of floor to compute the output size.
    """
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def avg_pool1d(
    input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    """1-D average pooling (``torch.avg_pool1d``).

    Args:
        input: the input tensor.
        kernel_size: size of the pooling window, an int or one per spatial dimension.
        stride: step of the window; an empty value or ``None`` means ``kernel_size``.
        padding: implicit zero padding on each side, an int or one per spatial dimension.
        ceil_mode: use ceil instead of floor to compute the output size.
        count_include_pad: include the zero padding in the averaging divisor.
    """
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-D adaptive average pooling (``torch.adaptive_avg_pool1d``).

    Args:
        input: the input tensor.
        output_size: the target output length.
    """
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input: Tensor, output_size):
    """1-D adaptive max pooling: ``(values, indices)``, as ATen returns both
    (``torch.adaptive_max_pool1d``).

    Args:
        input: the input tensor.
        output_size: the target output length.
    """
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


# normalisation -------------------------------------------------------------------------


def batch_norm(
    input: Tensor, weight, bias, running_mean, running_var, training: bool, momentum: float,
    eps: float, cudnn_enabled: bool = True,
):  # fmt: skip
    """Batch normalisation with ATen's argument order (``torch.batch_norm``);
    ``cudnn_enabled`` has no effect on the CPU.

    Args:
        input: the input tensor.
        weight: per-channel scale, or ``None``.
        bias: per-channel shift, or ``None``.
        running_mean: running mean tensor, updated in place during training, or ``None``.
        running_var: running variance tensor, updated in place during training, or ``None``.
        training: use batch statistics (and update the running ones) when True; use the running
            statistics when False.
        momentum: weight of the new batch statistics in the running-statistics update.
        eps: value added to the variance for numerical stability.
        cudnn_enabled: accepted for signature compatibility; has no effect.
    """
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input: Tensor, weight, bias, running_mean, running_var, use_input_stats: bool,
    momentum: float, eps: float, cudnn_enabled: bool = True,
):  # fmt: skip
    """Instance normalisation with ATen's argument order (``torch.instance_norm``).

    Args:
        input: the input tensor.
        weight: per-channel scale, or ``None``.
        bias: per-channel shift, or ``None``.
        running_mean: running mean tensor, updated in place during training, or ``None``.
        running_var: running variance tensor, updated in place during training, or ``None``.
        use_input_stats: normalise with each instance's own statistics when True; with the running
            ones when False.
        momentum: weight of the new batch statistics in the running-statistics update.
        eps: value added to the variance for numerical stability.
        cudnn_enabled: accepted for signature compatibility; has no effect.
    """
    return F.instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def layer_norm(
    input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5,
    cudnn_enable: bool = True,
):  # fmt: skip
    """Layer normalisation (``torch.layer_norm``).

    Args:
        input: the input tensor.
        normalized_shape: the trailing dimensions to normalise over.
        weight: elementwise scale of shape ``normalized_shape``, or ``None``.
        bias: elementwise shift of shape ``normalized_shape``, or ``None``.
        eps: value added to the variance for numerical stability.
        cudnn_enable: accepted for signature compatibility; has no effect.
    """
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(
    input: Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5,
    cudnn_enabled: bool = True,
):  # fmt: skip
    """Group normalisation (``torch.group_norm``).

    Args:
        input: the input tensor.
        num_groups: number of groups the channels are split into.
        weight: per-channel scale, or ``None``.
        bias: per-channel shift, or ``None``.
        eps: value added to the variance for numerical stability.
        cudnn_enabled: accepted for signature compatibility; has no effect.
    """
    return F.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input: Tensor, normalized_shape, weight=None, eps=None) -> Tensor:
    """Root-mean-square normalisation (``torch.rms_norm``).

    Args:
        input: the input tensor.
        normalized_shape: the trailing dimensions to normalise over.
        weight: elementwise scale of shape ``normalized_shape``, or ``None``.
        eps: value added to the mean square; ``None`` means the dtype's machine epsilon.
    """
    return F.rms_norm(input, normalized_shape, weight, eps)


# dropout -------------------------------------------------------------------------------


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout with ATen's signature (``torch.dropout``: no defaults).

    Args:
        input: the input tensor.
        p: probability of an element being zeroed.
        train: apply dropout when True; return ``input`` unchanged when False.
    """
    return F.dropout(input, p, train)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels (``torch.feature_dropout``).

    Args:
        input: the input tensor.
        p: probability of an element being zeroed.
        train: apply dropout when True; return ``input`` unchanged when False.
    """
    return F._dropout_impl(input, p, train, False, feature=True, alpha=False)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout (``torch.alpha_dropout``).

    Args:
        input: the input tensor.
        p: probability of an element being zeroed.
        train: apply dropout when True; return ``input`` unchanged when False.
    """
    return F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout of whole channels (``torch.feature_alpha_dropout``).

    Args:
        input: the input tensor.
        p: probability of an element being zeroed.
        train: apply dropout when True; return ``input`` unchanged when False.
    """
    return F.feature_alpha_dropout(input, p, train)


# activations and the rest --------------------------------------------------------------


def embedding(
    weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
    sparse: bool = False,
):  # fmt: skip
    """Rows of ``weight`` (``torch.embedding``: weight first; -1 means no padding index).

    Args:
        weight: the embedding matrix, one row per index.
        indices: integer tensor of row indices.
        padding_idx: row whose gradient stays zero; -1 for none.
        scale_grad_by_freq: scale gradients by the inverse frequency of each index in the batch.
        sparse: accepted for signature compatibility; gradients are dense.
    """
    return F.embedding(
        indices, weight, None if padding_idx == -1 else padding_idx,
        scale_grad_by_freq=scale_grad_by_freq, sparse=sparse,
    )  # fmt: skip


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """CELU (``torch.celu``).

    Args:
        input: the input tensor.
        alpha: the alpha value of the CELU formula.
    """
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """CELU in place (``torch.celu_``).

    Args:
        input: the tensor to modify in place.
        alpha: the alpha value of the CELU formula.
    """
    return F.celu(input, alpha, inplace=True)


def selu(input: Tensor) -> Tensor:
    """SELU (``torch.selu``).

    Args:
        input: the input tensor.
    """
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:
    """SELU in place (``torch.selu_``).

    Args:
        input: the tensor to modify in place.
    """
    return F.selu(input, inplace=True)


def relu_(input: Tensor) -> Tensor:
    """ReLU in place (``torch.relu_``).

    Args:
        input: the tensor to modify in place.
    """
    return F.relu(input, inplace=True)


def rrelu(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
    generator=None,
):  # fmt: skip
    """Randomized leaky ReLU (``torch.rrelu``; note ``training`` defaults to False here).

    Args:
        input: the input tensor.
        lower: lower bound of the uniform distribution of negative slopes.
        upper: upper bound of the uniform distribution of negative slopes.
        training: sample random slopes when True; use ``(lower + upper) / 2`` when False.
        generator: accepted for signature compatibility; the slopes come from the global
            generator.
    """
    return F.rrelu(input, lower, upper, training)


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
    generator=None,
):  # fmt: skip
    """Randomized leaky ReLU in place (``torch.rrelu_``).

    Args:
        input: the tensor to modify in place.
        lower: lower bound of the uniform distribution of negative slopes.
        upper: upper bound of the uniform distribution of negative slopes.
        training: sample random slopes when True; use ``(lower + upper) / 2`` when False.
        generator: accepted for signature compatibility; the slopes come from the global
            generator.
    """
    return F.rrelu(input, lower, upper, training, inplace=True)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """``value`` where ``input <= threshold`` (``torch.threshold``).

    Args:
        input: the input tensor.
        threshold: the value elements are compared with.
        value: the replacement for elements ``<= threshold``.
    """
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """``torch.threshold`` in place (``torch.threshold_``).

    Args:
        input: the tensor to modify in place.
        threshold: the value elements are compared with.
        value: the replacement for elements ``<= threshold``.
    """
    return F.threshold(input, threshold, value, inplace=True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Hard shrinkage (``torch.hardshrink``).

    Args:
        input: the input tensor.
        lambd: elements with ``|x| <= lambd`` become zero.
    """
    return F.hardshrink(input, lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """PReLU (``torch.prelu``).

    Args:
        input: the input tensor.
        weight: the learnable negative slope: one value, or one per channel.
    """
    return F.prelu(input, weight)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias=None) -> Tensor:
    """Bilinear map x1^T A x2 + b (``torch.bilinear``).

    Args:
        input1: ``x1`` of shape ``(*, in1)``.
        input2: ``x2`` of shape ``(*, in2)``.
        weight: ``A`` of shape ``(out, in1, in2)``.
        bias: optional ``b`` of shape ``(out,)``.
    """
    return F.bilinear(input1, input2, weight, bias)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Pixel shuffle (``torch.pixel_shuffle``).

    Args:
        input: the input tensor.
        upscale_factor: factor ``r``: ``(*, C*r*r, H, W)`` becomes ``(*, C, H*r, W*r)``.
    """
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Pixel unshuffle (``torch.pixel_unshuffle``).

    Args:
        input: the input tensor.
        downscale_factor: factor ``r``: ``(*, C, H*r, W*r)`` becomes ``(*, C*r*r, H, W)``.
    """
    return F.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Channel shuffle (``torch.channel_shuffle``).

    Args:
        input: the input tensor.
        groups: number of groups the channels are split into.
    """
    return F.channel_shuffle(input, groups)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Channel shuffle (``torch.native_channel_shuffle``).

    Args:
        input: the input tensor.
        groups: number of groups the channels are split into.
    """
    return F.channel_shuffle(input, groups)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """Pairwise distances between the rows (``torch.pdist``).

    Args:
        input: a 2-D tensor ``(N, M)``; distances between its rows.
        p: the order of the p-norm.
    """
    return F.pdist(input, p)


# losses with an integer reduction ------------------------------------------------------
# PyTorch 2.13's top-level bindings of these losses default to reduction 0 (none), unlike
# their nn.functional counterparts (measured: torch.kl_div(a, b) has a's shape, and so
# does torch.ctc_loss's result although its signature reads "reduction=Mean").


def kl_div(input: Tensor, target: Tensor, reduction=0, *, log_target: bool = False) -> Tensor:
    """KL divergence (``torch.kl_div``: reduction 0 none, 1 mean, 2 sum).

    Args:
        input: log-probabilities.
        target: probabilities, or log-probabilities if ``log_target``.
        reduction: integer reduction code: 0 none, 1 mean, 2 sum.
        log_target: whether ``target`` is given in log space.
    """
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(
    input: Tensor, target: Tensor, weight=None, pos_weight=None, reduction=0
) -> Tensor:
    """BCE on logits (``torch.binary_cross_entropy_with_logits``; integer reduction).

    Args:
        input: logits.
        target: targets in [0, 1], same shape as ``input``.
        weight: optional rescaling weight broadcast against the loss.
        pos_weight: optional weight of positive examples, broadcast along the last dimension.
        reduction: integer reduction code: 0 none, 1 mean, 2 sum.
    """
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction(reduction), pos_weight=pos_weight
    )


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction=0) -> Tensor:
    """Cosine embedding loss (``torch.cosine_embedding_loss``; integer reduction).

    Args:
        input1: the first input tensor.
        input2: the second input tensor.
        target: 1 for similar pairs, -1 for dissimilar ones.
        margin: margin for dissimilar pairs, in [-1, 1].
        reduction: integer reduction code: 0 none, 1 mean, 2 sum.
    """
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction=0) -> Tensor:
    """Hinge embedding loss (``torch.hinge_embedding_loss``; integer reduction).

    Args:
        input: the input tensor.
        target: labels of 1 or -1.
        margin: margin applied to the -1 examples.
        reduction: integer reduction code: 0 none, 1 mean, 2 sum.
    """
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction=0) -> Tensor:
    """Margin ranking loss (``torch.margin_ranking_loss``; integer reduction).

    Args:
        input1: the first input tensor.
        input2: the second input tensor.
        target: 1 where ``input1`` should rank higher, -1 where ``input2`` should.
        margin: the margin.
        reduction: integer reduction code: 0 none, 1 mean, 2 sum.
    """
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction) -> Tensor:
    """Poisson negative log-likelihood (``torch.poisson_nll_loss``: every argument given).

    Args:
        input: the expected counts, or their logs if ``log_input``.
        target: observed counts.
        log_input: whether ``input`` is the log of the rate.
        full: add the Stirling approximation term.
        eps: added to ``input`` before the log when not ``log_input``.
        reduction: integer reduction code: 0 none, 1 mean, 2 sum.
    """
    return F.poisson_nll_loss(
        input, target, log_input, full, eps=eps, reduction=_reduction(reduction)
    )


def triplet_margin_loss(
    anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
    swap: bool = False, reduction=0,
):  # fmt: skip
    """Triplet margin loss (``torch.triplet_margin_loss``; integer reduction).

    Args:
        anchor: anchor embeddings.
        positive: embeddings similar to the anchors.
        negative: embeddings dissimilar to the anchors.
        margin: the required distance gap.
        p: the order of the pairwise distance norm.
        eps: added to the difference before the norm.
        swap: use the positive-negative distance when it is smaller (distance swap).
        reduction: integer reduction code: 0 none, 1 mean, 2 sum.
    """
    return F.triplet_margin_loss(
        anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction)
    )


def ctc_loss(
    log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction=0,
    zero_infinity: bool = False,
):  # fmt: skip
    """CTC loss (``torch.ctc_loss``; integer reduction).

    Args:
        log_probs: log-probabilities of shape ``(T, N, C)`` or ``(T, C)``.
        targets: target sequences, padded ``(N, S)`` or concatenated.
        input_lengths: length of each input sequence.
        target_lengths: length of each target sequence.
        blank: index of the blank label.
        reduction: integer reduction code: 0 none, 1 mean, 2 sum.
        zero_infinity: replace infinite losses and their gradients by zero.
    """
    return F.ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank,
        reduction=_reduction(reduction), zero_infinity=zero_infinity,
    )  # fmt: skip
