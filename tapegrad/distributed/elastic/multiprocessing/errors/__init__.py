"""``torch.distributed.elastic.multiprocessing.errors``: ``@record`` for a worker's entry point.

    from torch.distributed.elastic.multiprocessing.errors import record

    @record
    def main():
        ...

An exception that leaves ``main`` is written, as JSON, to the file named by the
``TORCHELASTIC_ERROR_FILE`` variable (where a launcher collects it; the format is
torchelastic's) and raised on. Without that variable the exception is raised unchanged,
as with PyTorch; ``mpiexec`` then ends the job and names the rank (see
``tapegrad.distributed``). ``SystemExit(0)`` leaving ``main`` counts as success.
"""

from __future__ import annotations

import faulthandler
import functools
import json
import os
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ErrorHandler", "get_error_handler", "record"]

T = TypeVar("T")


class ErrorHandler:
    """Writes an exception, with its traceback and a timestamp, to the file named by
    ``TORCHELASTIC_ERROR_FILE`` (torchelastic's ``ErrorHandler``)."""

    def _get_error_file_path(self) -> str | None:
        return os.environ.get("TORCHELASTIC_ERROR_FILE")

    def initialize(self) -> None:
        """Dump the Python stacks of every thread on a fatal signal (``faulthandler``), as
        PyTorch's handler does."""
        try:
            faulthandler.enable(all_threads=True)
        except Exception as e:  # noqa: BLE001 - e.g. no usable stderr
            warnings.warn(f"Unable to enable fault handler. {type(e).__name__}: {e}", stacklevel=2)

    def record_exception(self, e: BaseException) -> None:
        """Write ``e`` to the error file, if the variable names one."""
        path = self._get_error_file_path()
        if not path:
            return
        data = {
            "message": {
                "message": f"{type(e).__name__}: {e}",
                "extraInfo": {
                    "py_callstack": "".join(
                        traceback.format_exception(type(e), e, e.__traceback__)
                    ),
                    "timestamp": str(int(time.time())),
                },
            }
        }
        with open(path, "w") as f:
            json.dump(data, f)


def get_error_handler() -> ErrorHandler:
    """The default handler (torchelastic's ``get_error_handler``)."""
    return ErrorHandler()


def record(
    fn: Callable[..., T], error_handler: ErrorHandler | None = None
) -> Callable[..., T | None]:
    """Decorate a worker's entry point so that an exception leaving it is recorded
    (``torch.distributed.elastic.multiprocessing.errors.record``).

    Args:
        fn: the entry point.
        error_handler: where to record; default :func:`get_error_handler`'s.

    Returns:
        ``fn`` wrapped: the same result, ``None`` for ``SystemExit(0)``; any other
        exception is recorded and raised again.
    """
    handler = error_handler or get_error_handler()

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T | None:
        handler.initialize()
        try:
            return fn(*args, **kwargs)
        except SystemExit as se:
            if se.code == 0:
                return None
            raise
        except Exception as e:
            handler.record_exception(e)
            raise

    return wrapper
