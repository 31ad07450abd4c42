"""tapegrad.utils.data against torch.utils.data: datasets, samplers, collate, DataLoader."""

from __future__ import annotations

import collections
import gc
import threading
import time
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import tapegrad
import tapegrad.utils.data as tgd
from tapegrad import transforms as T

Point = collections.namedtuple("Point", ["x", "y"])


def plain(obj):
    """Tensors of either library as (dtype name, array); containers recursively."""
    if isinstance(obj, (torch.Tensor, tapegrad.Tensor)):
        arr = obj.detach().numpy()
        return ("tensor", str(obj.dtype).replace("torch.", ""), arr.shape, arr.tolist())
    if isinstance(obj, dict):
        return {"type": type(obj).__name__, **{k: plain(v) for k, v in obj.items()}}
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [plain(v) for v in obj])
    return obj


def both(fn):
    """``fn(lib, data_module)`` for torch and tapegrad, from the same seed."""
    torch.manual_seed(7)
    tapegrad.manual_seed(7)
    a = fn(torch, tud)
    b = fn(tapegrad, tgd)
    return a, b


def same(fn):
    a, b = both(fn)
    assert plain(a) == plain(b)
    return b


X = np.random.default_rng(0).standard_normal((23, 3)).astype(np.float32)
Y = np.arange(23)


def tensor_ds(lib, D):
    return D.TensorDataset(lib.from_numpy(X.copy()), lib.from_numpy(Y.copy()))


def epochs(loader, n=2):
    return [list(loader) for _ in range(n)]


# ---------------------------------------------------------------------------------------
# Datasets


def test_dataset_base_and_add():
    class Squares(tgd.Dataset):
        def __getitem__(self, i):
            return i * i

        def __len__(self):
            return 4

    with pytest.raises(NotImplementedError):
        tgd.Dataset()[0]
    both_ = Squares() + Squares()
    assert isinstance(both_, tgd.ConcatDataset) and len(both_) == 8 and both_[5] == 1


def test_tensor_dataset():
    ds = same(lambda lib, D: [tensor_ds(lib, D)[i] for i in (0, 5, -1)])
    assert len(ds) == 3
    assert len(tensor_ds(tapegrad, tgd)) == 23
    with pytest.raises(AssertionError, match="Size mismatch"):
        tgd.TensorDataset(tapegrad.zeros(3), tapegrad.zeros(4))
    with pytest.raises(AssertionError):
        tud.TensorDataset(torch.zeros(3), torch.zeros(4))


def test_concat_dataset_indexing():
    def fn(lib, D):
        ds = D.ConcatDataset([list(range(3)), list(range(10, 15)), [], list(range(20, 22))])
        return [len(ds), ds.cumulative_sizes, [ds[i] for i in range(-10, 10)]]

    same(fn)
    ds = tgd.ConcatDataset([[1, 2]])
    with pytest.raises(ValueError, match="absolute value"):
        ds[-3]
    with pytest.raises(AssertionError):
        tgd.ConcatDataset([])


def test_chain_and_stack_datasets():
    class Stream(tgd.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    chain = Stream(2) + Stream(3)
    assert isinstance(chain, tgd.ChainDataset) and list(chain) == [0, 1, 0, 1, 2]
    assert len(chain) == 5
    stack = tgd.StackDataset([1, 2], ["a", "b"])
    assert stack[1] == (2, "b") and len(stack) == 2
    assert tgd.StackDataset(x=[1, 2], y=[3, 4])[0] == {"x": 1, "y": 3}
    with pytest.raises(ValueError):
        tgd.StackDataset([1], [1, 2])


def test_subset():
    def fn(lib, D):
        sub = D.Subset(tensor_ds(lib, D), [4, 2, 2, 9])
        return [len(sub), sub[1], sub[-1], sub.__getitems__([0, 3])]

    same(fn)


@pytest.mark.parametrize(
    "lengths", [[3, 7], [0.3, 0.3, 0.4], [0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [10, 0]]
)
def test_random_split_same_as_torch(lengths):
    def fn(lib, D):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts = D.random_split(range(10), lengths, generator=lib.Generator().manual_seed(42))
        return [list(p) for p in parts]

    same(fn)


def test_random_split_global_generator_and_errors():
    def fn(lib, D):
        parts = D.random_split(list(range(31)), [0.8, 0.2])
        return [list(p) for p in parts] + [lib.rand(2)]

    same(fn)
    with pytest.raises(ValueError, match="Sum of input lengths"):
        tgd.random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        tgd.random_split(range(10), [1.5, -0.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        tgd.random_split(range(2), [1.0, 0.0])


# ---------------------------------------------------------------------------------------
# Samplers


def test_sequential_and_batch_samplers():
    def fn(lib, D):
        seq = D.SequentialSampler(range(10))
        out = [list(seq), len(seq)]
        for drop_last in (False, True):
            bs = D.BatchSampler(seq, 3, drop_last)
            out += [list(bs), len(bs)]
        return out

    same(fn)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        tgd.BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        tgd.BatchSampler(range(3), 2, 1)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"replacement": True}, {"replacement": True, "num_samples": 70}, {"num_samples": 25}],
)
@pytest.mark.parametrize("seeded", [False, True])
def test_random_sampler_same_as_torch(kwargs, seeded):
    def fn(lib, D):
        gen = lib.Generator().manual_seed(3) if seeded else None
        sampler = D.RandomSampler(range(11), generator=gen, **kwargs)
        # two passes, then the global stream: it must have advanced the same way
        return [list(sampler), list(sampler), len(sampler), lib.rand(3)]

    same(fn)


def test_random_sampler_errors():
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        tgd.RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        tgd.RandomSampler([])
    with pytest.raises(ValueError):
        tud.RandomSampler([])


def test_subset_random_sampler_same_as_torch():
    def fn(lib, D):
        s = D.SubsetRandomSampler([5, 9, 1, 7, 3], generator=lib.Generator().manual_seed(1))
        return [list(s), list(s), len(s)]

    same(fn)


def test_weighted_random_sampler():
    def fn(lib, D):
        weights = [0.1, 0.9, 0.4, 0.7, 3.0, 0.6]
        s = D.WeightedRandomSampler(weights, 40, generator=lib.Generator().manual_seed(0))
        gen = lib.Generator().manual_seed(1)
        without = D.WeightedRandomSampler(weights, 5, replacement=False, generator=gen)
        return [list(s), len(s), list(without), list(without)]

    same(fn)
    s = tgd.WeightedRandomSampler([0.0, 1.0, 1.0, 0.0, 1.0], 3, replacement=False)
    drawn = list(s)
    assert sorted(drawn) == [1, 2, 4]
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        tgd.WeightedRandomSampler([[1.0]], 1)
    with pytest.raises(ValueError, match="num_samples"):
        tgd.WeightedRandomSampler([1.0], 0)


# ---------------------------------------------------------------------------------------
# Collate


def collate_samples(lib):
    return [
        [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
        [np.array([1, 2]), np.array([3, 4])],
        [np.float32(1.5), np.float32(2.5)],
        [np.int16(3), np.int16(4)],
        [1.5, 2.0],
        [1, 2],
        [True, False],
        ["a", "b"],
        [b"a", b"b"],
        [{"x": 1, "y": [1.0, 2.0]}, {"x": 2, "y": [3.0, 4.0]}],
        [collections.OrderedDict(a=1), collections.OrderedDict(a=2)],
        [(1, lib.tensor(0.5)), (2, lib.tensor(1.5))],
        [[1, "a"], [2, "b"]],
        [Point(1, 2.0), Point(3, 4.0)],
    ]


@pytest.mark.parametrize("case", range(14))
def test_default_collate_same_as_torch(case):
    same(lambda lib, D: D.default_collate(collate_samples(lib)[case]))


def test_default_collate_errors():
    for lib, D in ((torch, tud), (tapegrad, tgd)):
        with pytest.raises(TypeError, match="default_collate: batch must contain"):
            D.default_collate([object(), object()])
        with pytest.raises(TypeError, match="default_collate: batch must contain"):
            D.default_collate([np.array(["a"]), np.array(["b"])])
        with pytest.raises(RuntimeError, match="each element in list of batch"):
            D.default_collate([[1, 2], [3]])
        with pytest.raises(RuntimeError):
            D.default_collate([lib.zeros(2), lib.zeros(3)])


def test_default_convert_same_as_torch():
    data = [
        np.array([1.0, 2.0]),
        (np.int64(3), "s"),
        {"a": np.zeros(2, np.float32), "b": [np.ones(1)]},
        Point(np.array(0), 1),
        np.array(["text"]),
        7,
    ]
    same(lambda lib, D: [D.default_convert(d) for d in data])


# ---------------------------------------------------------------------------------------
# DataLoader: the same batches as PyTorch's


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"batch_size": 5},
        {"batch_size": 5, "drop_last": True},
        {"batch_size": 4, "shuffle": True},
        {"batch_size": 4, "shuffle": True, "drop_last": True},
        {"batch_size": None},
        {"batch_size": 23},
    ],
)
def test_dataloader_same_batches_as_torch(kwargs):
    def fn(lib, D):
        loader = D.DataLoader(tensor_ds(lib, D), **kwargs)
        return [len(loader), epochs(loader), lib.rand(2)]

    same(fn)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_with_a_generator_same_as_torch(num_workers):
    def fn(lib, D):
        gen = lib.Generator().manual_seed(11)
        kw = {"num_workers": num_workers} if lib is tapegrad else {}
        loader = D.DataLoader(tensor_ds(lib, D), batch_size=6, shuffle=True, generator=gen, **kw)
        return [epochs(loader, 3), lib.rand(2)]

    same(fn)


def test_split_then_shuffled_loader_same_as_torch():
    # The training recipe: a seeded validation split, then shuffled epochs over the rest.
    def fn(lib, D):
        full = D.ConcatDataset([tensor_ds(lib, D), tensor_ds(lib, D)])
        train, val = D.random_split(full, [0.8, 0.2], generator=lib.Generator().manual_seed(0))
        loader = D.DataLoader(train, batch_size=8, shuffle=True)
        return [epochs(loader), list(D.DataLoader(val, batch_size=100)), lib.rand(1)]

    same(fn)


def test_dataloader_general_path_same_as_torch():
    # Samples of mixed types go through __getitem__ and default_collate.
    class Mixed:
        def __init__(self, lib):
            self.lib = lib

        def __getitem__(self, i):
            return {"x": self.lib.full((2,), float(i)), "i": i, "name": f"n{i}"}, float(i) / 2

        def __len__(self):
            return 9

    def fn(lib, D):
        loader = D.DataLoader(Mixed(lib), batch_size=4, shuffle=True)
        return epochs(loader)

    same(fn)


def test_dataloader_samplers_and_collate_fn():
    def fn(lib, D):
        ds = tensor_ds(lib, D)
        by_sampler = D.DataLoader(ds, batch_size=3, sampler=[5, 1, 4, 4, 0])
        batch_sampler = D.BatchSampler(D.SequentialSampler(ds), 7, drop_last=False)
        by_batch_sampler = D.DataLoader(ds, batch_sampler=batch_sampler)
        counted = D.DataLoader(ds, batch_size=10, collate_fn=len)
        unbatched = D.DataLoader(list(range(3)), batch_size=None)
        return [
            list(by_sampler),
            list(by_batch_sampler),
            len(by_batch_sampler),
            list(counted),
            list(unbatched),
        ]

    same(fn)


def test_dataloader_argument_errors_like_torch():
    ds = list(range(4))
    bad = [
        {"num_workers": -1},
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"persistent_workers": True},
        {"sampler": [0], "shuffle": True},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_sampler": [[0]], "drop_last": True},
        {"batch_size": None, "drop_last": True},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            tud.DataLoader(ds, **kwargs)
        with pytest.raises(ValueError):
            tgd.DataLoader(ds, **kwargs)
    loader = tgd.DataLoader(ds)
    with pytest.raises(ValueError, match="should not be set after"):
        loader.batch_size = 3


class Stream(tgd.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = tgd.get_worker_info()
        start = 0 if info is None else info.id
        step = 1 if info is None else info.num_workers
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


class TorchStream(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("kwargs", [{"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {}])
def test_iterable_dataset_same_as_torch(num_workers, kwargs):
    expected = tud.DataLoader(TorchStream(10), **kwargs)
    loader = tgd.DataLoader(Stream(10), num_workers=num_workers, **kwargs)
    assert plain(epochs(loader)) == plain(epochs(expected))
    assert len(loader) == len(expected)
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        tgd.DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler"):
        tgd.DataLoader(Stream(3), sampler=[0])


# ---------------------------------------------------------------------------------------
# Workers: the same batches in the same order whatever num_workers is


class Augmented(tgd.Dataset):
    """Images whose items go through random transforms, and are slow to make."""

    def __init__(self):
        self.images = np.random.default_rng(1).integers(0, 256, (40, 3, 8, 8), dtype=np.uint8)
        self.transform = T.Compose(
            [T.RandomCrop(8, padding=2), T.RandomHorizontalFlip(), T.ToTensor(), T.GaussianNoise()]
        )
        self.target_transform = T.RandomLabelNoise(10, p=0.5)

    def __getitem__(self, i):
        img = self.transform(tapegrad.from_numpy(self.images[i].copy()))
        return img, self.target_transform(i % 10)

    def __len__(self):
        return len(self.images)


@pytest.mark.parametrize("dataset", ["tensors", "augmented"])
def test_same_batches_whatever_num_workers(dataset):
    results = []
    for num_workers, prefetch in ((0, None), (1, 1), (3, 2), (4, 5)):
        tapegrad.manual_seed(123)
        ds = tensor_ds(tapegrad, tgd) if dataset == "tensors" else Augmented()
        loader = tgd.DataLoader(
            ds, batch_size=6, shuffle=True, num_workers=num_workers, prefetch_factor=prefetch
        )
        results.append([plain(e) for e in epochs(loader)] + [tapegrad.rand(1).item()])
    assert all(r == results[0] for r in results[1:])
    first, second = results[0][0], results[0][1]
    assert first != second  # a new order, and new augmentations, every epoch


def test_tensor_dataset_fast_path_equals_the_general_path():
    def run(collate_fn):
        tapegrad.manual_seed(5)
        ds = tgd.Subset(tensor_ds(tapegrad, tgd), list(range(3, 20)))
        loader = tgd.DataLoader(ds, batch_size=5, shuffle=True, collate_fn=collate_fn)
        return plain(epochs(loader))

    assert run(None) == run(lambda batch: tgd.default_collate(batch))


def test_subset_indices_changed_between_epochs_are_seen():
    sub = tgd.Subset(tensor_ds(tapegrad, tgd), [0, 1, 2, 3])
    loader = tgd.DataLoader(sub, batch_size=4)
    assert next(iter(loader))[1].tolist() == [0, 1, 2, 3]
    sub.indices.reverse()  # in place, as random.shuffle would
    assert next(iter(loader))[1].tolist() == [3, 2, 1, 0]


def test_worker_init_fn_and_worker_info():
    seen = []
    lock = threading.Lock()

    def init(worker_id):
        info = tgd.get_worker_info()
        with lock:
            seen.append((worker_id, info.id, info.num_workers, threading.get_ident()))

    class WhoAmI(tgd.Dataset):
        def __getitem__(self, i):
            info = tgd.get_worker_info()
            return -1 if info is None else info.id

        def __len__(self):
            return 12

    ids = [
        int(v) for b in tgd.DataLoader(WhoAmI(), 2, num_workers=3, worker_init_fn=init) for v in b
    ]
    assert set(ids) <= {0, 1, 2} and len(ids) == 12
    assert sorted(s[0] for s in seen) == list(range(len(seen))) and 1 <= len(seen) <= 3
    assert all(s[0] == s[1] and s[2] == 3 for s in seen)
    assert tgd.get_worker_info() is None
    assert [int(v) for b in tgd.DataLoader(WhoAmI(), 4) for v in b] == [-1] * 12


def test_errors_in_workers_reach_the_caller():
    class Broken(tgd.Dataset):
        def __getitem__(self, i):
            if i == 5:
                raise KeyError(f"no item {i}")
            return i

        def __len__(self):
            return 8

    for num_workers in (0, 2):
        loader = tgd.DataLoader(Broken(), batch_size=2, num_workers=num_workers)
        it = iter(loader)
        assert next(it).tolist() == [0, 1] and next(it).tolist() == [2, 3]
        with pytest.raises(KeyError, match="no item 5"):
            next(it)
        assert next(it).tolist() == [6, 7]  # as in PyTorch, the epoch goes on
        with pytest.raises(StopIteration):
            next(it)

    class BrokenStream(tgd.IterableDataset):
        def __iter__(self):
            yield from range(3)
            raise OSError("disk gone")

    for num_workers in (0, 2):
        it = iter(tgd.DataLoader(BrokenStream(), batch_size=2, num_workers=num_workers))
        assert next(it).tolist() == [0, 1]
        with pytest.raises(OSError, match="disk gone"):
            next(it)
        with pytest.raises(StopIteration):  # a stream that failed is over
            next(it)

    def failing_init(worker_id):
        raise ValueError("bad init")

    with pytest.raises(ValueError, match="bad init"):
        list(tgd.DataLoader(Broken(), batch_size=2, num_workers=2, worker_init_fn=failing_init))


def test_timeouts():
    # The worker blocks until the test releases it, after the timeout has fired: no race
    # between the timeout and a sleep of the dataset.
    release = threading.Event()

    class Blocked(tgd.Dataset):
        def __getitem__(self, i):
            release.wait(60)
            return i

        def __len__(self):
            return 2

    try:
        with pytest.raises(RuntimeError, match="DataLoader timed out after 0.05 seconds"):
            next(iter(tgd.DataLoader(Blocked(), num_workers=1, timeout=0.05)))
    finally:
        release.set()
    for D in (tud, tgd):
        with pytest.raises(AssertionError):
            iter(D.DataLoader([1, 2], timeout=1.0))


def test_abandoned_iterators_stop_their_threads():
    before = threading.active_count()
    for kind in ("map", "iterable"):
        ds = tensor_ds(tapegrad, tgd) if kind == "map" else Stream(1000)
        it = iter(tgd.DataLoader(ds, batch_size=2, num_workers=3))
        next(it)
        del it
        gc.collect()
    # Threads end asynchronously: poll (up to 30 s on a loaded machine), then check.
    deadline = time.monotonic() + 30
    while threading.active_count() > before and time.monotonic() < deadline:
        threading.Event().wait(0.02)
    assert threading.active_count() <= before


def test_pin_memory_is_accepted():
    loader = tgd.DataLoader(tensor_ds(tapegrad, tgd), batch_size=8, pin_memory=True)
    with pytest.warns(UserWarning, match="pin_memory"):
        batches = list(loader)
    assert len(batches) == 3
