"""Batch and instance normalisation: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d."""

from __future__ import annotations

import warnings

from ... import _dtype as D
from ...ops import creation as C
from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedBuffer, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
]


class _NormBase(Module):
    """Parameters and running-statistics buffers shared by batch and instance norm
    (``torch.nn.modules.batchnorm._NormBase``)."""

    _version = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(C.empty(num_features, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(C.empty(num_features, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", C.zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", C.ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", C.tensor(0, dtype=D.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics, weight to ones and bias to zeros."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ) -> None:
        # Checkpoints older than version 2 have no num_batches_tracked: keep ours.
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = (
                    self.num_batches_tracked
                    if self.num_batches_tracked is not None
                    else C.tensor(0, dtype=D.int64)
                )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


class _BatchNorm(_NormBase):
    """Batch normalisation with running statistics (``torch.nn.modules.batchnorm._BatchNorm``)."""

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            # momentum=None: a cumulative moving average over all batches seen.
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        if self.training:
            bn_training = True
        else:
            bn_training = self.running_mean is None and self.running_var is None
        use_buffers = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if use_buffers else None,
            self.running_var if use_buffers else None,
            self.weight,
            self.bias,
            bn_training,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs (``nn.BatchNorm1d``).

    Args:
        num_features: Channels (features) C of the input.
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    def _check_input_dim(self, input) -> None:
        if input.dim() != 2 and input.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs (``nn.BatchNorm2d``).

    Args:
        num_features: Channels (features) C of the input.
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    def _check_input_dim(self, input) -> None:
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs (``nn.BatchNorm3d``).

    Args:
        num_features: Channels (features) C of the input.
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    def _check_input_dim(self, input) -> None:
        if input.dim() != 5:
            raise ValueError(f"expected 5D input (got {input.dim()}D input)")


class _InstanceNorm(_NormBase):
    """Per-sample, per-channel normalisation (``torch.nn.modules.instancenorm._InstanceNorm``)."""

    _no_batch_dim = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )

    def _check_input_dim(self, input) -> None:
        nd = self._no_batch_dim
        if input.dim() not in (nd, nd + 1):
            raise ValueError(f"expected {nd}D or {nd + 1}D input (got {input.dim()}D input)")

    def _apply_instance_norm(self, input):
        return F.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )

    def forward(self, input):
        self._check_input_dim(input)
        feature_dim = input.dim() - self._no_batch_dim
        if input.size(feature_dim) != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match num_features"
                    f" ({self.num_features}), but got: {input.size(feature_dim)}."
                )
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. "
                "You can silence this warning by not passing in num_features, "
                "which is not used because affine=False",
                stacklevel=2,
            )
        if input.dim() == self._no_batch_dim:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) inputs (``nn.InstanceNorm1d``).

    Args:
        num_features: Channels (features) C of the input.
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) inputs (``nn.InstanceNorm2d``).

    Args:
        num_features: Channels (features) C of the input.
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of 5-D or unbatched 4-D inputs (``nn.InstanceNorm3d``).

    Args:
        num_features: Channels (features) C of the input.
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    _no_batch_dim = 4


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """Batch/instance norm whose ``num_features`` is read from the first input
    (``torch.nn.modules.batchnorm._LazyNormBase``)."""

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = C.tensor(0, dtype=D.int64, device=device)

    def reset_parameters(self) -> None:
        """Reset statistics and affine parameters once the shapes are known."""
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        """Infer ``num_features`` from ``input`` and initialise parameters and buffers."""
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            if self.affine:
                self.weight.materialize((self.num_features,))
                if self.bias is not None:
                    self.bias.materialize((self.num_features,))
            if self.track_running_stats:
                self.running_mean.materialize((self.num_features,))
                self.running_var.materialize((self.num_features,))
            self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """BatchNorm1d with ``num_features`` inferred (``nn.LazyBatchNorm1d``).

    Args:
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    cls_to_become = BatchNorm1d
    _check_input_dim = BatchNorm1d._check_input_dim


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """BatchNorm2d with ``num_features`` inferred (``nn.LazyBatchNorm2d``).

    Args:
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    cls_to_become = BatchNorm2d
    _check_input_dim = BatchNorm2d._check_input_dim


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """BatchNorm3d with ``num_features`` inferred (``nn.LazyBatchNorm3d``).

    Args:
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    cls_to_become = BatchNorm3d
    _check_input_dim = BatchNorm3d._check_input_dim


class LazyInstanceNorm1d(_LazyNormBase, _InstanceNorm):
    """InstanceNorm1d with ``num_features`` inferred (``nn.LazyInstanceNorm1d``).

    Args:
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    cls_to_become = InstanceNorm1d
    _no_batch_dim = 2


class LazyInstanceNorm2d(_LazyNormBase, _InstanceNorm):
    """InstanceNorm2d with ``num_features`` inferred (``nn.LazyInstanceNorm2d``).

    Args:
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    cls_to_become = InstanceNorm2d
    _no_batch_dim = 3


class LazyInstanceNorm3d(_LazyNormBase, _InstanceNorm):
    """InstanceNorm3d with ``num_features`` inferred (``nn.LazyInstanceNorm3d``).

    Args:
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    cls_to_become = InstanceNorm3d
    _no_batch_dim = 4
