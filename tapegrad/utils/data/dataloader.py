"""The DataLoader: batches from a dataset, in the order a sampler gives, with optional
background prefetching by worker threads (mirrors ``torch.utils.data.DataLoader``).

Reproducibility: the sampler runs in the calling thread and draws the same numbers as
PyTorch's (a shuffled epoch is the same permutation as PyTorch's DataLoader for the same
seed). Each batch is fetched with its own seed, ``base_seed + batch number``, which the
random transforms of ``tapegrad.transforms`` use (``sample_generator``), so a
seeded run gives the same batches, augmentations included, whatever ``num_workers`` is.

Workers are threads, not processes: NumPy releases the GIL in its heavy loops, nothing
is pickled, and a dataset needs no special care to be shared. ``batch k`` is always
yielded k-th, whichever thread finished it first. An iterable dataset is one stream, so
it is read ahead by a single thread (``get_worker_info()`` says ``id=0, num_workers=1``
there), which gives the same batches as without workers.

Random numbers drawn by a dataset's own code from the global generator (``tapegrad.rand``
without ``generator=``) are not covered by the per-batch seeds: with several workers,
their order depends on the threads' timing. Draw from ``sample_generator`` instead.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import math
import queue
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import tapegrad

from ._collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "WorkerInfo", "get_worker_info", "sample_generator"]

_local = threading.local()


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker knows about itself (``torch.utils.data.get_worker_info()``'s result).

    Args:
        id: the worker's index, from 0 to ``num_workers - 1``.
        num_workers: the number of workers.
        seed: the worker's seed, ``base_seed + id``.
        dataset: the dataset the worker reads from.
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """The calling worker thread's ``WorkerInfo``, or ``None`` outside a worker
    (``torch.utils.data.get_worker_info``)."""
    return getattr(_local, "worker_info", None)


def sample_generator() -> tapegrad.Generator | None:
    """The generator of the batch being fetched in this thread, or ``None`` outside a
    DataLoader (then random transforms use the global generator).

    Seeded ``base_seed + batch number``: the numbers a transform draws depend only on
    the seed and the batch, not on which thread fetches it or when.
    """
    seed = getattr(_local, "batch_seed", None)
    if seed is None:
        return None
    gen = getattr(_local, "batch_generator", None)
    if gen is None:
        gen = _local.batch_generator = tapegrad.Generator().manual_seed(seed)
    return gen


class _InfiniteConstantSampler(Sampler[None]):
    # The "indices" of an iterable dataset: one placeholder per sample, forever.
    def __iter__(self):
        return itertools.repeat(None)


class _MapFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        # The fast path gives exactly what default_collate would, so it is only taken with it.
        make_reader = getattr(dataset, "_batch_reader", None)
        self.batch_reader = (
            make_reader()
            if callable(make_reader) and auto_collation and collate_fn is default_collate
            else None
        )
        self.getitems = getattr(dataset, "__getitems__", None)

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.batch_reader is not None:
            return self.batch_reader(index)
        if callable(self.getitems):
            data = self.getitems(index)
        else:
            data = [self.dataset[i] for i in index]
        return self.collate_fn(data)


class _IterableFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = list(itertools.islice(self.dataset_iter, len(index)))
        if len(data) < len(index):
            self.ended = True
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


class _Done:
    """End of an iterable dataset's stream, or the error that ended it."""

    def __init__(self, error: BaseException | None = None):
        self.error = error


def _fetch_seeded(fetcher, seed: int, index):
    """Fetch one batch with ``sample_generator`` seeded ``seed`` in this thread."""
    _local.batch_seed = seed
    _local.batch_generator = None
    try:
        return fetcher.fetch(index)
    finally:
        _local.batch_seed = None
        _local.batch_generator = None


def _start_worker(worker_id: int, num_workers: int, base_seed: int, loader) -> None:
    _local.worker_info = WorkerInfo(worker_id, num_workers, base_seed + worker_id, loader.dataset)
    if loader.worker_init_fn is not None:
        loader.worker_init_fn(worker_id)


class _DaemonPool:
    """A fixed set of daemon worker threads running submitted calls in order.

    Unlike ``concurrent.futures.ThreadPoolExecutor``, whose threads the interpreter joins
    at exit, these never keep the process alive: a worker stuck in a dataset's
    ``__getitem__`` (after a ``timeout``, say) does not stop the program from ending, as
    PyTorch's worker processes do not. ``shutdown`` never waits for a worker.
    """

    def __init__(self, num_workers: int, initializer: Callable[[], None]) -> None:
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._num_workers = num_workers
        self._stopped = False
        for _ in range(num_workers):
            threading.Thread(
                target=_daemon_worker,
                args=(self._tasks, initializer),
                name="tapegrad-dataloader",
                daemon=True,
            ).start()

    def submit(self, fn: Callable, *args) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._tasks.put((future, fn, args))
        return future

    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # One stop signal per thread, queued behind the work already submitted; the
        # calls not yet started were cancelled by the caller, so they are skipped.
        for _ in range(self._num_workers):
            self._tasks.put(None)


def _daemon_worker(tasks: queue.SimpleQueue, initializer: Callable[[], None]) -> None:
    # A module-level function holding no reference to the iterator, so that an iterator
    # dropped mid-epoch is collected and its __del__ stops the pool.
    initializer()
    while True:
        item = tasks.get()
        if item is None:
            return
        future, fn, args = item
        if not future.set_running_or_notify_cancel():
            continue
        try:
            result = fn(*args)
        except BaseException as e:  # delivered to the consumer with the batch
            future.set_exception(e)
        else:
            future.set_result(result)
        del future, fn, args, item


class _DataLoaderIter:
    """One pass over a DataLoader (PyTorch's ``_BaseDataLoaderIter`` and subclasses)."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._dataset = loader.dataset
        self._dataset_kind_iterable = isinstance(loader.dataset, IterableDataset)
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        if loader.num_workers == 0 and loader.timeout != 0:
            raise AssertionError(  # PyTorch's error: a timeout is for waiting on workers
                f"a DataLoader without workers requires timeout == 0, got {loader.timeout}"
            )
        self._timeout = loader.timeout or None
        self._len_called = loader._IterableDataset_len_called
        self._sampler_iter = iter(self._index_sampler)
        # Drawn as PyTorch draws it, so the generators stay in step with PyTorch's.
        self._base_seed = int(
            tapegrad.empty((), dtype=tapegrad.int64).random_(generator=loader.generator).item()
        )
        fetcher_cls = _IterableFetcher if self._dataset_kind_iterable else _MapFetcher
        self._make_fetcher = lambda: fetcher_cls(
            loader.dataset, loader._auto_collation, loader.collate_fn, loader.drop_last
        )
        self._num_yielded = 0
        self._num_fetched = 0  # batches handed to a fetcher so far: the next batch's number
        self._fetcher = None
        self._pool: _DaemonPool | None = None
        self._pending: collections.deque = collections.deque()
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()
        self._finished = False
        self._serial = False
        if self._num_workers == 0:
            self._fetcher = self._make_fetcher()
            self._serial = True
        elif self._dataset_kind_iterable:
            self._start_stream_thread(loader)
        else:
            self._start_pool(loader)

    # -- map-style datasets with workers: a pool of threads, results in order ----------
    # The threads' code holds no reference to this iterator, so that an iterator dropped
    # in the middle of an epoch is collected and its __del__ stops them.

    def _start_pool(self, loader: DataLoader) -> None:
        ids = itertools.count()
        lock = threading.Lock()
        init_errors: dict[int, BaseException] = {}
        base_seed, num_workers = self._base_seed, self._num_workers

        def init() -> None:
            with lock:
                worker_id = next(ids)
            try:
                _start_worker(worker_id, num_workers, base_seed, loader)
            except BaseException as e:  # reported with the first batch this worker fetches
                init_errors[threading.get_ident()] = e

        def task(fetcher, batch_number: int, index):
            error = init_errors.get(threading.get_ident())
            if error is not None:
                raise error
            return _fetch_seeded(fetcher, base_seed + batch_number, index)

        self._task = task
        self._fetcher = self._make_fetcher()  # stateless for map-style data: shared
        self._pool = _DaemonPool(num_workers, init)
        self._max_pending = max(1, loader.prefetch_factor * num_workers)
        self._fill_pool()

    def _fill_pool(self) -> None:
        while len(self._pending) < self._max_pending:
            try:
                index = next(self._sampler_iter)
            except StopIteration:
                return
            self._pending.append(
                self._pool.submit(self._task, self._fetcher, self._num_fetched, index)
            )
            self._num_fetched += 1

    def _next_from_pool(self):
        if not self._pending:
            raise StopIteration
        future = self._pending.popleft()
        try:
            batch = future.result(timeout=self._timeout)
        except concurrent.futures.TimeoutError:
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
        self._fill_pool()
        return batch

    # -- iterable datasets with workers: one thread reads the stream ahead -------------

    def _start_stream_thread(self, loader: DataLoader) -> None:
        # One stream has one reader: several threads would each replay the whole dataset
        # (PyTorch's processes do, unless the dataset shards itself) or race for it.
        out = self._queue = queue.Queue(maxsize=max(1, loader.prefetch_factor * self._num_workers))
        stop, sampler_iter, base_seed = self._stop, self._sampler_iter, self._base_seed
        make_fetcher = self._make_fetcher

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                _start_worker(0, 1, base_seed, loader)
                fetcher = make_fetcher()
                for batch_number in itertools.count():
                    try:
                        batch = _fetch_seeded(fetcher, base_seed + batch_number, next(sampler_iter))
                    except StopIteration:
                        break
                    if not put(batch):
                        return
                put(_Done())
            except BaseException as e:
                put(_Done(e))

        threading.Thread(target=produce, name="tapegrad-dataloader", daemon=True).start()

    def _next_from_stream(self):
        try:
            item = self._queue.get(timeout=self._timeout)
        except queue.Empty:
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
        if isinstance(item, _Done):
            self._queue.put(item)  # later calls end too
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    # -- the iterator ----------------------------------------------------------------

    def __iter__(self) -> _DataLoaderIter:
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        try:
            if self._serial:
                index = next(self._sampler_iter)
                data = _fetch_seeded(self._fetcher, self._base_seed + self._num_fetched, index)
                self._num_fetched += 1
            elif self._pool is not None:
                data = self._next_from_pool()
            else:
                data = self._next_from_stream()
        except StopIteration:
            self._shutdown()
            raise
        except Exception:
            # As in PyTorch, a failed batch does not end the epoch of a map-style dataset
            # (the next call fetches the next batch), but it does end a stream.
            if self._dataset_kind_iterable:
                self._shutdown()
            raise
        except BaseException:  # KeyboardInterrupt and the like: stop the workers
            self._shutdown()
            raise
        self._num_yielded += 1
        if self._len_called is not None and self._num_yielded > self._len_called:
            warnings.warn(
                f"Length of IterableDataset {self._dataset} was reported to be "
                f"{self._len_called} (when accessing len(dataloader)), but "
                f"{self._num_yielded} samples have been fetched.",
                stacklevel=2,
            )
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def _shutdown(self) -> None:
        if not hasattr(self, "_stop"):  # __init__ failed early: nothing was started
            return
        self._finished = True
        self._stop.set()
        if self._pool is not None:
            for future in self._pending:
                future.cancel()
            self._pending.clear()
            self._pool.shutdown()
            self._pool = None

    def __del__(self) -> None:
        self._shutdown()


class DataLoader:
    """Iterate over a dataset in batches (``torch.utils.data.DataLoader``).

    Same arguments and results as PyTorch's: ``batch_size``, ``shuffle`` (a
    ``RandomSampler`` on ``generator``, PyTorch's order for the same seed),
    ``sampler``, ``batch_sampler``, ``drop_last``, ``collate_fn`` (default
    ``default_collate``), ``num_workers`` background threads that fetch up to
    ``prefetch_factor`` batches each ahead, ``worker_init_fn(worker_id)`` run once in each,
    and ``timeout``. ``pin_memory``, ``persistent_workers`` and ``multiprocessing_context``
    are accepted and have no effect (there are no processes and no pinned memory;
    ``pin_memory=True`` warns so, as PyTorch does on a machine without an accelerator).

    A ``TensorDataset`` (or a ``Subset`` of one) with the default collate is
    read a whole batch at a time, with one gather per tensor:

        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        >>> for xb, yb in loader: ...

    Args:
        dataset: A map-style dataset (``__getitem__`` and ``__len__``) or an
            ``IterableDataset``.
        batch_size: Samples per batch; ``None`` yields the samples one by one, uncollated.
        shuffle: Reshuffle the indices every epoch (a ``RandomSampler``).
        sampler: The order of the indices (excludes ``shuffle``).
        batch_sampler: Yields lists of indices, one per batch (excludes ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers: Background threads fetching batches (0: in the calling thread).
        collate_fn: Merges a list of samples into a batch (default ``default_collate``).
        pin_memory: Accepted; no effect (warns, as PyTorch does without an accelerator).
        drop_last: Drop the last batch if it is smaller than ``batch_size``.
        timeout: Seconds to wait for a batch from the workers (0: forever).
        worker_init_fn: Called with the worker id in each worker thread as it starts.
        multiprocessing_context: Accepted; no effect (workers are threads).
        generator: The generator of the random sampler (and of the per-batch seeds).
        prefetch_factor: Batches fetched ahead by each worker.
        persistent_workers: Accepted; no effect.
        pin_memory_device: Accepted; no effect.
        in_order: Accepted; batches are always yielded in order.
    """

    _initialized = False

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator: tapegrad.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                f"background workers (got num_workers={num_workers!r})"
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified with workers: let "
                "num_workers > 0 to enable them, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError(
                "multiprocessing_context can only be used with multi-process loading "
                f"(num_workers > 0), but got num_workers={num_workers}"
            )

        if isinstance(dataset, IterableDataset):
            if shuffle not in (False, None):
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, "
                    f"but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"
            )

        if sampler is None:
            if isinstance(dataset, IterableDataset):
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._IterableDataset_len_called: int | None = None
        self._initialized = True

    def __setattr__(self, attr: str, val) -> None:
        if self._initialized and attr in (
            "batch_size",
            "batch_sampler",
            "sampler",
            "drop_last",
            "dataset",
            "persistent_workers",
        ):
            raise ValueError(
                f"{attr} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        # What yields the indices of one fetch: a batch sampler when batching automatically.
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> _DataLoaderIter:
        if self.pin_memory:
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, "
                "then device pinned memory won't be used.",
                stacklevel=2,
            )
        return _DataLoaderIter(self)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    length = length // self.batch_size
                else:
                    length = math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)
