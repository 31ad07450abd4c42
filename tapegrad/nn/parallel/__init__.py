"""Data parallelism (``torch.nn.parallel``): ``DistributedDataParallel`` over MPI, and
``DataParallel``, which on CPUs runs the module as it is (as PyTorch's does without GPUs)."""

from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
