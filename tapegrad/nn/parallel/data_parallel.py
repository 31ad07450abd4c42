"""``DataParallel``: single-process multi-GPU replication in PyTorch; on CPUs a wrapper."""

from __future__ import annotations

from typing import Any

from ..modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Wraps ``module`` (``torch.nn.DataParallel``).

    PyTorch replicates the module over GPUs; with no GPU (tapegrad runs on CPUs) it runs
    the wrapped module unchanged, which is what this does. The wrapper still holds it as
    ``.module``, so ``state_dict`` keys carry the ``module.`` prefix, as in PyTorch. Use
    ``DistributedDataParallel`` under ``mpiexec`` to use several cores or machines.

    Args:
        module: The module to run.
        device_ids: Accepted for PyTorch's signature (no GPUs: the module runs as it is).
        output_device: Accepted for PyTorch's signature.
        dim: Accepted for PyTorch's signature (the batch dimension).
    """

    def __init__(
        self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0
    ) -> None:
        super().__init__()
        self.module = module
        # No GPUs: PyTorch keeps no device ids and calls the module directly.
        self.device_ids: list = []

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
