"""``SyncBatchNorm``: batch normalisation whose statistics cover the whole global batch
of a data-parallel job, so that N ranks on 1/N of a batch normalise as one process on
all of it."""

from __future__ import annotations

import numpy as np

from ... import autograd
from ..._tensor import Tensor
from .batchnorm import _BatchNorm
from .module import Module

__all__ = ["SyncBatchNorm"]


def _allreduce_sum(values: np.ndarray, group) -> np.ndarray:
    from ...distributed import collectives

    t = Tensor._make(np.ascontiguousarray(values))
    collectives.all_reduce(t, group=group)
    return t._data


class _SyncBatchNormFunction(autograd.Function):
    """Global-batch normalisation: per-channel sums all-reduced in forward (for the mean
    and variance) and in backward (for the input gradient's mean terms)."""

    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, eps, momentum, group):
        x = input._data
        axes = (0,) + tuple(range(2, x.ndim))
        shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
        x64 = x.astype(np.float64)
        local_count = x.size // x.shape[1]
        # Sum and count first, then the centred sum of squares: as stable as one process.
        sums = _allreduce_sum(np.concatenate([x64.sum(axis=axes), [local_count]]), group)
        count = sums[-1]
        if count <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{tuple(input.shape)} on each rank"
            )
        mean = sums[:-1] / count
        centred = x64 - mean.reshape(shape)
        var = _allreduce_sum((centred * centred).sum(axis=axes), group) / count
        invstd = 1.0 / np.sqrt(var + eps)
        xhat = centred * invstd.reshape(shape)
        y = xhat
        if weight is not None:
            y = y * weight._data.astype(np.float64).reshape(shape)
        if bias is not None:
            y = y + bias._data.astype(np.float64).reshape(shape)
        for running, stat in ((running_mean, mean), (running_var, var * count / (count - 1))):
            if running is not None:
                new = (1.0 - momentum) * running._data.astype(np.float64) + momentum * stat
                running._data[...] = new.astype(running._data.dtype)
                running._version_counter.v += 1
        ctx.save_for_backward(input, weight)
        ctx.stats = (mean, invstd, count, axes, shape)
        ctx.group = group
        return Tensor._make(y.astype(x.dtype))

    @staticmethod
    def backward(ctx, grad_output):
        input, weight = ctx.saved_tensors
        mean, invstd, count, axes, shape = ctx.stats
        dy = grad_output._data.astype(np.float64)
        xhat = (input._data.astype(np.float64) - mean.reshape(shape)) * invstd.reshape(shape)
        sum_dy = dy.sum(axis=axes)
        sum_dy_xhat = (dy * xhat).sum(axis=axes)
        dtype = input._data.dtype
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            # The global loss's gradient: every rank's dy enters the batch statistics.
            both = _allreduce_sum(np.concatenate([sum_dy, sum_dy_xhat]), ctx.group)
            c = mean.size
            g_mean = (both[:c] / count).reshape(shape)
            g_xhat = (both[c:] / count).reshape(shape)
            scale = invstd
            if weight is not None:
                scale = scale * weight._data.astype(np.float64)
            gi = (dy - g_mean - xhat * g_xhat) * scale.reshape(shape)
            grad_input = Tensor._make(gi.astype(dtype))
        if weight is not None and ctx.needs_input_grad[1]:
            grad_weight = Tensor._make(sum_dy_xhat.astype(weight._data.dtype))
        if ctx.needs_input_grad[2]:
            grad_bias = Tensor._make(sum_dy.astype(dtype))
        return grad_input, grad_weight, grad_bias, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over the batches of every rank of a process group
    (``torch.nn.SyncBatchNorm``).

    In training, with a process group of more than one rank, the mean and variance are
    those of the global batch (the ranks' batches together), so the outputs, gradients
    and running statistics are those of one process on the whole batch. Otherwise it is
    ``BatchNorm``. Unlike PyTorch's, it runs on CPUs (over MPI). Convert a model's
    batch-norm layers with ``SyncBatchNorm.convert_sync_batchnorm(model)``.

    Args:
        num_features: Channels (features) C of the input.
        eps: Added to the variance for numerical stability.
        momentum: Weight of the new batch statistics in the running averages (``None``: a
            cumulative average).
        affine: Learn a per-channel scale and shift.
        track_running_stats: Keep running estimates of mean and variance for evaluation mode
            (else batch statistics are used).
        process_group: The processes whose batch statistics are combined (default: all).
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
        bias: Learn the additive shift.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _check_non_zero_input_channels(self, input) -> None:
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input):
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        group = self._sync_group() if self.training else None
        if group is None:  # evaluation, or nobody to synchronise with: plain batch norm
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        return _SyncBatchNormFunction.apply(
            input, self.weight, self.bias, self.running_mean, self.running_var, self.eps,
            factor, group,
        )  # fmt: skip

    def _sync_group(self):
        """The group to synchronise over, or None when there is nothing to synchronise."""
        from ... import distributed as dist

        if not dist.is_available() or not dist.is_initialized():
            return None
        from ...distributed.process_group import _group

        group = _group(self.process_group)
        if group is None or group.size() <= 1:
            return None
        return group

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every ``BatchNorm*D`` layer replaced by a ``SyncBatchNorm`` that
        shares its parameters and buffers (``SyncBatchNorm.convert_sync_batchnorm``)."""
        output = module
        if isinstance(module, _BatchNorm):
            output = cls(
                module.num_features, module.eps, module.momentum, module.affine,
                module.track_running_stats, process_group, bias=module.bias is not None,
            )  # fmt: skip
            if module.affine:
                output.weight = module.weight
                output.bias = module.bias
            output.running_mean = module.running_mean
            output.running_var = module.running_var
            output.num_batches_tracked = module.num_batches_tracked
            output.training = module.training
        for name, child in module.named_children():
            output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return output
