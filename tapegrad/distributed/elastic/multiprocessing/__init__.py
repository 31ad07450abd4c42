"""``torch.distributed.elastic.multiprocessing``: the error reporting of the workers
(:mod:`.errors`)."""

from . import errors

__all__ = ["errors"]
