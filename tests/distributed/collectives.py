"""Run under ``mpiexec -n 2``: every collective and ReduceOp against the single-process
result, for float32, float64 and int64, contiguous and not; then the error cases."""

import numpy as np

import tapegrad as torch
import tapegrad.distributed as dist

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
assert world == 2, world
assert dist.is_initialized() and dist.get_backend() == "mpi"


def value(r, dtype, shape=(3, 4)):
    """Rank r's tensor: distinct, exact in every dtype, never zero."""
    base = np.arange(1, int(np.prod(shape)) + 1).reshape(shape)
    return (base * (r + 2)).astype(dtype)


def make(r, dtype, contiguous):
    a = value(r, dtype, (4, 3))
    if contiguous:
        return torch.from_numpy(np.ascontiguousarray(a.T))
    return torch.from_numpy(a.copy()).t()  # (3, 4), not contiguous


def check(t, expected):
    got = t.numpy()
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)


everyone = lambda dtype: [value(r, dtype, (4, 3)).T for r in range(world)]  # noqa: E731
reductions = {
    dist.ReduceOp.SUM: lambda xs: sum(xs[1:], xs[0]),
    dist.ReduceOp.PRODUCT: lambda xs: np.prod(np.stack(xs), axis=0).astype(xs[0].dtype),
    dist.ReduceOp.MIN: lambda xs: np.min(np.stack(xs), axis=0),
    dist.ReduceOp.MAX: lambda xs: np.max(np.stack(xs), axis=0),
    dist.ReduceOp.AVG: lambda xs: (sum(xs[1:], xs[0]) / len(xs)).astype(xs[0].dtype),
}

for dtype in ("float32", "float64", "int64"):
    xs = everyone(dtype)
    for contiguous in (True, False):
        for op, fn in reductions.items():
            if op == dist.ReduceOp.AVG and dtype == "int64":
                t = make(rank, dtype, contiguous)
                try:
                    dist.all_reduce(t, op=op)
                except RuntimeError as e:
                    assert "can't be cast to the desired output type Long" in str(e)
                else:
                    raise AssertionError("AVG on int64 should raise")
                continue
            t = make(rank, dtype, contiguous)
            dist.all_reduce(t, op=op)
            check(t, fn(xs))
            t = make(rank, dtype, contiguous)
            work = dist.all_reduce(t, op=op, async_op=True)
            assert work.wait() and work.is_completed()
            check(t, fn(xs))
            t = make(rank, dtype, contiguous)
            dist.reduce(t, dst=1, op=op)
            check(t, fn(xs) if rank == 1 else xs[rank])
        t = make(rank, dtype, contiguous)
        dist.broadcast(t, src=1)
        check(t, xs[1])
        outs = [torch.zeros(3, 4, dtype=getattr(torch, dtype)) for _ in range(world)]
        dist.all_gather(outs, make(rank, dtype, contiguous))
        for o, x in zip(outs, xs):
            check(o, x)
        big = torch.zeros(6, 4, dtype=getattr(torch, dtype))
        dist.all_gather_into_tensor(big, make(rank, dtype, contiguous))
        check(big, np.concatenate(xs))
        stacked = torch.zeros(2, 3, 4, dtype=getattr(torch, dtype))
        dist.all_gather_into_tensor(stacked, make(rank, dtype, contiguous))
        check(stacked, np.stack(xs))
        gl = [torch.zeros(3, 4, dtype=getattr(torch, dtype)) for _ in range(world)]
        dist.gather(make(rank, dtype, contiguous), gl if rank == 0 else None, dst=0)
        if rank == 0:
            for o, x in zip(gl, xs):
                check(o, x)
        out = torch.zeros(3, 4, dtype=getattr(torch, dtype))
        parts = [make(r, dtype, contiguous) for r in range(world)] if rank == 1 else None
        dist.scatter(out, parts, src=1)
        check(out, xs[rank])
        out = torch.zeros(3, 4, dtype=getattr(torch, dtype))
        inputs = [make(rank, dtype, contiguous) * (j + 1) for j in range(world)]
        dist.reduce_scatter(out, inputs)
        check(out, sum(x * (rank + 1) for x in xs).astype(dtype))
        out = torch.zeros(3, 4, dtype=getattr(torch, dtype))
        dist.reduce_scatter_tensor(out, torch.cat(inputs))
        check(out, sum(x * (rank + 1) for x in xs).astype(dtype))
        # all_to_all: rank i sends j * 10 + i to rank j
        ins = [torch.full((2,), j * 10 + rank, dtype=getattr(torch, dtype)) for j in range(world)]
        outs = [torch.zeros(2, dtype=getattr(torch, dtype)) for _ in range(world)]
        dist.all_to_all(outs, ins)
        for i, o in enumerate(outs):
            check(o, np.full(2, rank * 10 + i, dtype=dtype))
        single = torch.zeros(4, dtype=getattr(torch, dtype))
        dist.all_to_all_single(single, torch.cat(ins))
        check(single, np.concatenate([np.full(2, rank * 10 + i, dtype=dtype) for i in range(2)]))
        # point to point, blocking and not
        t = make(rank, dtype, contiguous)
        if rank == 0:
            dist.send(t, dst=1)
            w = dist.isend(t * 2, dst=1, tag=7)
            w.wait()
        else:
            got = torch.zeros(3, 4, dtype=getattr(torch, dtype))
            assert dist.recv(got, src=0) == 0
            check(got, xs[0])
            w = dist.irecv(got, src=0, tag=7)
            w.wait()
            check(got, (xs[0] * 2).astype(dtype))

# batch_isend_irecv: both ranks send and receive at once
peer = 1 - rank
mine, theirs = torch.full((3,), float(rank)), torch.zeros(3)
ops = [dist.P2POp(dist.isend, mine, peer), dist.P2POp(dist.irecv, theirs, peer)]
for work in dist.batch_isend_irecv(ops):
    work.wait()
check(theirs, np.full(3, float(peer), np.float32))

# objects and groups
objs = [None, None]
dist.all_gather_object(objs, {"rank": rank})
assert objs == [{"rank": 0}, {"rank": 1}], objs
lst = [rank, "x"] if rank == 0 else [None, None]
dist.broadcast_object_list(lst, src=0)
assert lst == [0, "x"], lst
g = dist.new_group([1])
if rank == 1:
    assert dist.get_rank(g) == 0 and dist.get_world_size(g) == 1
    t = torch.ones(2)
    dist.all_reduce(t, group=g)
    check(t, np.ones(2, np.float32))
else:
    assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
pair = dist.new_group([0, 1])
t = torch.tensor([float(rank)])
dist.all_reduce(t, group=pair)
check(t, np.array([1.0], np.float32))
dist.barrier()

# errors: the same RuntimeError on every rank, no garbage, no hang
for bad in (torch.ones(2 + rank), torch.ones(2, dtype=torch.float64 if rank else torch.float32)):
    try:
        dist.all_reduce(bad)
    except RuntimeError as e:
        assert "different shape and dtype" in str(e) and "rank 0" in str(e) and "rank 1" in str(e)
    else:
        raise AssertionError("mismatched all_reduce should raise")
try:
    if rank == 0:
        dist.all_reduce(torch.ones(2))
    else:
        dist.broadcast(torch.ones(2), src=0)
except RuntimeError as e:
    assert "different collectives" in str(e), e
else:
    raise AssertionError("different collectives should raise")
if rank == 0:
    dist.send(torch.ones(3), dst=1)
else:
    try:
        dist.recv(torch.ones(2), src=0)
    except RuntimeError as e:
        assert "sent float32 [3]" in str(e), e
    else:
        raise AssertionError("mismatched recv should raise")
for call, exc in (
    (lambda: dist.all_reduce([1, 2]), TypeError),
    (lambda: dist.broadcast(torch.ones(2), src=5), RuntimeError),
    (lambda: dist.send(torch.ones(2), dst=rank), ValueError),
    (lambda: dist.all_gather([torch.ones(2)], torch.ones(2)), RuntimeError),
    (lambda: dist.all_gather_into_tensor(torch.ones(3), torch.ones(2)), ValueError),
    (lambda: dist.init_process_group("mpi"), ValueError),
    (lambda: dist.all_reduce(torch.ones(2), op=dist.ReduceOp.BAND), RuntimeError),
):
    try:
        call()
    except exc:
        pass
    else:
        raise AssertionError(f"expected {exc.__name__}")
# a Work's future, chained as DDP communication hooks chain it
t = torch.full((2,), float(rank + 1))
fut = dist.all_reduce(t, async_op=True).get_future().then(lambda f: f.value()[0] * 10)
assert fut.wait().tolist() == [30.0, 30.0], fut.wait()
# monitored_barrier: passes when all come; names the late rank when one does not
import datetime  # noqa: E402
import time  # noqa: E402

dist.monitored_barrier(timeout=datetime.timedelta(seconds=60))
if rank == 1:
    time.sleep(1.0)
try:
    dist.monitored_barrier(timeout=datetime.timedelta(seconds=0.3), wait_all_ranks=True)
except RuntimeError as e:
    want = "Ranks 1 failed to pass monitoredBarrier in 300 ms" if rank == 0 else "not released"
    assert want in str(e), e
else:
    raise AssertionError("a late rank should fail monitored_barrier")
dist.monitored_barrier(timeout=datetime.timedelta(seconds=60))  # the late message is not taken
dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"rank {rank}: collectives ok", flush=True)
