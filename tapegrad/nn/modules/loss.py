"""Loss modules (``torch.nn.modules.loss``): thin wrappers over ``nn.functional``.

Each stores its options and calls the functional form; class weights are buffers,
so they appear in ``state_dict`` under PyTorch's key names.
"""

from __future__ import annotations

import warnings

from .. import functional as F
from ..functional import _Reduction
from .distance import PairwiseDistance
from .module import Module

__all__ = [
    "L1Loss",
    "NLLLoss",
    "NLLLoss2d",
    "PoissonNLLLoss",
    "GaussianNLLLoss",
    "KLDivLoss",
    "MSELoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "HingeEmbeddingLoss",
    "MultiLabelMarginLoss",
    "SmoothL1Loss",
    "HuberLoss",
    "SoftMarginLoss",
    "CrossEntropyLoss",
    "MultiLabelSoftMarginLoss",
    "CosineEmbeddingLoss",
    "MarginRankingLoss",
    "MultiMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    "CTCLoss",
]


class _Loss(Module):
    """Base of the losses: resolves the legacy size_average/reduce into ``reduction``."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            self.reduction = _Reduction.legacy_get_string(size_average, reduce)
        else:
            self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with an optional per-class ``weight`` buffer."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """Mean absolute error (``nn.L1Loss``).

    Args:
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (``nn.MSELoss``).

    Args:
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices given log-probabilities (``nn.NLLLoss``).

    Args:
        weight: A rescaling weight per class.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        ignore_index: A target value that is ignored and does not count in the mean.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class NLLLoss2d(NLLLoss):
    """Deprecated alias of NLLLoss (``nn.NLLLoss2d``).

    Args:
        weight: A rescaling weight per class.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        ignore_index: A target value that is ignored and does not count in the mean.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        warnings.warn(
            "`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in "
            "replacement and see https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for "
            "more details.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class PoissonNLLLoss(_Loss):
    """Negative log-likelihood of a Poisson target (``nn.PoissonNLLLoss``).

    Args:
        log_input: The input is the log of the rate: the loss is ``exp(input) - target *
            input``.
        full: Add the Stirling approximation term.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        eps: Added to the rate inside the log when ``log_input`` is false.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average=None,
        eps: float = 1e-8,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(
            log_input,
            target,
            log_input=self.log_input,
            full=self.full,
            eps=self.eps,
            reduction=self.reduction,
        )


class GaussianNLLLoss(_Loss):
    """Negative log-likelihood of a Gaussian with predicted variance (``nn.GaussianNLLLoss``).

    Args:
        full: Add the constant ``0.5 * log(2 * pi)`` to the loss.
        eps: Lower bound of the variance, for stability.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(
            input, target, var, full=self.full, eps=self.eps, reduction=self.reduction
        )


class KLDivLoss(_Loss):
    """KL divergence with log-probability input (``nn.KLDivLoss``).

    Args:
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        log_target: The target is given as log-probabilities.
    """

    def __init__(
        self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities (``nn.BCELoss``).

    Args:
        weight: A rescaling weight of each element (broadcast to the input).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross-entropy in one stable step (``nn.BCEWithLogitsLoss``).

    Args:
        weight: A rescaling weight of each element (broadcast to the input).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        pos_weight: A weight of the positive examples, per class.
    """

    def __init__(
        self,
        weight=None,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
        pos_weight=None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction
        )


class HingeEmbeddingLoss(_Loss):
    """x where y = 1, max(0, margin - x) where y = -1 (``nn.HingeEmbeddingLoss``).

    Args:
        margin: The margin of the dissimilar pairs' term.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(
        self, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss (``nn.MultiLabelMarginLoss``).

    Args:
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below beta, linear above (``nn.SmoothL1Loss``).

    Args:
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        beta: Where the loss turns from quadratic to linear.
    """

    def __init__(
        self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic below delta, delta-scaled linear above (``nn.HuberLoss``).

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        delta: Where the loss turns from quadratic to linear.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        if not isinstance(delta, (float, int)):
            raise TypeError(f"delta must be a float or int, got: {type(delta)}")
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SoftMarginLoss(_Loss):
    """log(1 + exp(-y x)) (``nn.SoftMarginLoss``).

    Args:
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """log_softmax + NLL; class indices or class probabilities (``nn.CrossEntropyLoss``).

    Args:
        weight: A rescaling weight per class.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        ignore_index: A target value that is ignored and does not count in the mean.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        label_smoothing: In [0, 1]: the targets become a mix with the uniform distribution.
    """

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-class logistic loss averaged over classes (``nn.MultiLabelSoftMarginLoss``).

    Args:
        weight: A rescaling weight per class.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(
            input, target, weight=self.weight, reduction=self.reduction
        )


class CosineEmbeddingLoss(_Loss):
    """1 - cos where y = 1, max(0, cos - margin) where y = -1 (``nn.CosineEmbeddingLoss``).

    Args:
        margin: For dissimilar pairs, the similarity above which the loss is positive.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(
        self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class MarginRankingLoss(_Loss):
    """max(0, -y (x1 - x2) + margin) (``nn.MarginRankingLoss``).

    Args:
        margin: The margin by which the right input should rank higher.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(
        self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge (SVM) loss (``nn.MultiMarginLoss``).

    Args:
        p: 1 or 2: the power of the hinge.
        margin: The margin.
        weight: A rescaling weight per class.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight=None,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.dim() != 1:
            raise ValueError(
                "MultiMarginLoss: expected weight to be None or 1D tensor, got "
                f"{weight.dim()}D instead"
            )
        self.p = p
        self.margin = margin

    def forward(self, input, target):
        return F.multi_margin_loss(
            input,
            target,
            p=self.p,
            margin=self.margin,
            weight=self.weight,
            reduction=self.reduction,
        )


class TripletMarginLoss(_Loss):
    """max(0, d(a, p) - d(a, n) + margin) (``nn.TripletMarginLoss``).

    Args:
        margin: The margin between positive and negative distances.
        p: The norm degree of the pairwise distance.
        eps: Added to the differences, against a zero norm.
        swap: Use the distance swap (the smaller of anchor-negative and positive-negative).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(
                f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead"
            )
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(
            anchor,
            positive,
            negative,
            margin=self.margin,
            p=self.p,
            eps=self.eps,
            swap=self.swap,
            reduction=self.reduction,
        )


class TripletMarginWithDistanceLoss(_Loss):
    """Triplet loss with a custom distance (``nn.TripletMarginWithDistanceLoss``).

    Args:
        distance_function: A function giving the distances between two batches (default: the
            pairwise Euclidean distance).
        margin: The margin between positive and negative distances.
        swap: Use the distance swap (the smaller of anchor-negative and positive-negative).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """

    def __init__(
        self,
        *,
        distance_function=None,
        margin: float = 1.0,
        swap: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average=None, reduce=None, reduction=reduction)
        if margin <= 0:
            raise ValueError(
                "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got "
                f"{margin} instead"
            )
        self.distance_function = (
            distance_function if distance_function is not None else PairwiseDistance()
        )
        self.margin = margin
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
        )


class CTCLoss(_Loss):
    """Connectionist temporal classification loss (``nn.CTCLoss``).

    Args:
        blank: The blank label.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        zero_infinity: Zero infinite losses (impossible alignments) and their gradients.
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            self.blank,
            self.reduction,
            self.zero_infinity,
        )
