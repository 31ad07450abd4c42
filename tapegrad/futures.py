"""``torch.futures``: a value that becomes available later.

A :class:`Future` is completed once, by :meth:`Future.set_result` (or
:meth:`Future.set_exception`), or by the communication it stands for
(``Work.get_future()`` in :mod:`tapegrad.distributed`: completed when the MPI request
is). Callbacks chained with :meth:`Future.then` run when it completes:

    fut = dist.all_reduce(t, async_op=True).get_future()
    doubled = fut.then(lambda f: f.value()[0] * 2)
    doubled.wait()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
S = TypeVar("S")


class Future(Generic[T]):
    """A result completed later (``torch.futures.Future``).

    Args:
        devices: accepted for PyTorch's signature; tapegrad values live on the CPU.
    """

    def __init__(self, *, devices: Any = None) -> None:
        self._cond = threading.Condition()
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Future[T]], None]] = []
        # Completes this future by blocking on what it stands for (an MPI request, the
        # future it was chained from); None for a future that set_result completes.
        self._driver: Callable[[], None] | None = None
        # The same without blocking: completes it if the work is done.
        self._poll: Callable[[], None] | None = None

    def done(self) -> bool:
        """Whether the future has completed (with a value or an error)."""
        if not self._done and self._poll is not None:
            self._poll()
        return self._done

    def wait(self) -> T:
        """Block until complete and return the value (or raise the error)."""
        if not self._done and self._driver is not None:
            self._driver()
        with self._cond:
            while not self._done:
                self._cond.wait()
        if self._error is not None:
            raise self._error
        return self._value

    def value(self) -> T:
        """The value of a completed future (in a callback, or after :meth:`wait`)."""
        if not self._done:
            raise RuntimeError("Future.value(): the future has not completed yet; call wait()")
        if self._error is not None:
            raise self._error
        return self._value

    def then(self, callback: Callable[[Future[T]], S]) -> Future[S]:
        """A new future holding ``callback(self)``, run when this one completes. An error
        in ``callback`` completes the new future with a ``RuntimeError`` naming it."""
        child: Future[S] = Future()
        child._driver = self.wait_quietly
        child._poll = self.done

        def run(fut: Future[T]) -> None:
            try:
                result = callback(fut)
            except Exception as e:  # noqa: BLE001 - handed to the chained future
                # PyTorch's wording; the original error is the __cause__
                error = RuntimeError(
                    f"Got the following error when running the callback: {type(e).__name__}: {e}"
                )
                error.__cause__ = e
                child.set_exception(error)
            else:
                child.set_result(result)

        self.add_done_callback(run)
        return child

    def wait_quietly(self) -> None:
        """Block until complete, without raising this future's error (chained futures
        receive it through their callbacks)."""
        try:
            self.wait()
        except BaseException:  # noqa: BLE001
            pass

    def add_done_callback(self, callback: Callable[[Future[T]], None]) -> None:
        """Run ``callback(self)`` when the future completes (at once if it has)."""
        with self._cond:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self)

    def set_result(self, result: T) -> None:
        """Complete the future with ``result``; it can be completed only once."""
        self._complete(result, None)

    def set_exception(self, result: BaseException) -> None:
        """Complete the future with an error, raised by :meth:`wait` and :meth:`value`."""
        if not isinstance(result, BaseException):
            raise TypeError(f"set_exception expects an exception, got {type(result).__name__}")
        self._complete(None, result)

    def _complete(self, value: Any, error: BaseException | None) -> None:
        with self._cond:
            if self._done:
                raise RuntimeError(
                    "Future can only be marked completed once (set_result or set_exception "
                    "was called on a completed future)"
                )
            self._value, self._error, self._done = value, error, True
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for cb in callbacks:
            cb(self)

    def __repr__(self) -> str:
        return f"Future(done={self._done})"


def collect_all(futures: list[Future]) -> Future[list[Future]]:
    """A future completed, with the list of ``futures``, when all of them have
    (``torch.futures.collect_all``)."""
    futures = list(futures)
    out: Future[list[Future]] = Future()

    def drive() -> None:
        for f in futures:
            f.wait_quietly()

    def poll() -> None:
        for f in futures:
            f.done()

    out._driver, out._poll = drive, poll
    remaining = [len(futures)]
    lock = threading.Lock()

    def one(_: Future) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            out.set_result(futures)

    if not futures:
        out.set_result([])
    for f in futures:
        f.add_done_callback(one)
    return out


def wait_all(futures: list[Future]) -> list:
    """Wait for every future and return their values; the first error is raised
    (``torch.futures.wait_all``)."""
    return [f.wait() for f in collect_all(futures).wait()]
