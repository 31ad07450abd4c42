"""The parts of ``torch.distributed.elastic`` that training scripts import.

tapegrad's jobs are started by ``mpiexec`` (or ``tapegrad train --nproc``), not by a
torchelastic agent; what a ``torchrun`` script uses from this package (the ``@record``
decorator of :mod:`.multiprocessing.errors`) works the same under ``mpiexec``.
"""

from . import multiprocessing

__all__ = ["multiprocessing"]
