"""The rest of torch.distributed's module-level toolbox, written for PyTorch.

    LIB=torch    torchrun --nproc_per_node 2 toolbox.py OUT
    LIB=tapegrad mpiexec -n 2 python toolbox.py OUT

Subgroups (by size and by enumeration, with their errors), object send/recv, the
deprecated coalesced collectives, supports_complex, the error classes, the debug level,
get_node_local_rank and the process-group count. Each rank saves what it saw to OUT.rank
as JSON; both libraries must save the same.
"""

import json
import os
import sys
import warnings

if os.environ.get("LIB") == "torch":
    import torch
    import torch.distributed as dist
else:
    import tapegrad as torch
    import tapegrad.distributed as dist


def error(fn):
    try:
        fn()
    except Exception as e:  # the type and message are what is compared
        return [type(e).__name__, str(e)]
    return None


def main(out):
    dist.init_process_group("gloo")
    r = dist.get_rank()
    seen = {
        "pg_count": dist.get_pg_count(),
        "debug": str(dist.get_debug_level()),
        "node_local_rank": dist.get_node_local_rank(),
        "gloo": dist.is_backend_available("gloo"),
        "nccl": dist.is_backend_available("nccl"),
        "device_backends": [dist.get_default_backend_for_device(d) for d in ("cpu", "cuda")],
        "complex": [
            dist.supports_complex(op)
            for op in (
                dist.ReduceOp.SUM,
                dist.ReduceOp.MAX,
                dist.ReduceOp.AVG,
                dist.ReduceOp.PRODUCT,
                dist.ReduceOp.MIN,
                dist.ReduceOp.BAND,
            )
        ],  # fmt: skip
        "errors": [
            c.__mro__[1].__name__
            for c in (
                dist.DistError,
                dist.DistBackendError,
                dist.DistNetworkError,
                dist.DistStoreError,
                dist.QueueEmptyError,
            )
        ],  # fmt: skip
    }
    cur, subs = dist.new_subgroups(group_size=1)
    t = torch.tensor([float(r + 1)])
    dist.all_reduce(t, group=cur)
    seen["subgroups"] = [
        len(subs), dist.get_world_size(cur), dist.get_rank(cur),
        dist.get_process_group_ranks(cur), t.tolist(), dist.get_pg_count(),
    ]  # fmt: skip
    cur, subs = dist.new_subgroups(group_size=2)
    t = torch.tensor([float(r + 1)])
    dist.all_reduce(t, group=cur)
    seen["one_subgroup"] = [len(subs), dist.get_process_group_ranks(cur), t.tolist()]
    cur, subs = dist.new_subgroups_by_enumeration([[1], [0]])
    seen["enumeration"] = [len(subs), dist.get_process_group_ranks(cur), dist.get_pg_count()]
    seen["subgroup_errors"] = [
        error(lambda: dist.new_subgroups(group_size=3)),
        error(lambda: dist.new_subgroups(group_size=0)),
        error(lambda: dist.new_subgroups()),
        error(lambda: dist.new_subgroups_by_enumeration([[0, 1], [1]])),
        error(lambda: dist.new_subgroups_by_enumeration([])),
    ]
    objs = [{"a": r, "b": [1, 2.5]}, "text"] if r == 0 else [None, None]
    if r == 0:
        dist.send_object_list(objs, dst=1)
        got = [None]
        seen["recv_from"] = dist.recv_object_list(got, src=1)
        seen["received"] = got
    else:
        seen["recv_from"] = dist.recv_object_list(objs, src=0)
        seen["received"] = objs
        dist.send_object_list([("tuple", r)], dst=0)
    seen["object_errors"] = [
        error(lambda: dist.recv_object_list([None])),
        error(lambda: dist.send_object_list([1], dst=r)),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ts = [torch.ones(2) * (r + 1), torch.arange(3.0) * (r + 1)]
        dist.all_reduce_coalesced(ts)
        seen["all_reduce_coalesced"] = [t.tolist() for t in ts]
        ts = [torch.ones(2) * (r + 1), torch.arange(3.0) * (r + 1)]
        dist.all_reduce_coalesced(ts, op=dist.ReduceOp.MAX, async_op=True).wait()
        seen["all_reduce_coalesced_max"] = [t.tolist() for t in ts]
        outs = [[torch.zeros(2), torch.zeros(3)] for _ in range(2)]
        dist.all_gather_coalesced(outs, [torch.ones(2) * r, torch.arange(3.0) + r])
        seen["all_gather_coalesced"] = [[t.tolist() for t in o] for o in outs]
    seen["warnings"] = sorted({w.category.__name__ for w in caught})
    with open(f"{out}.{r}", "w") as f:
        json.dump(seen, f, indent=1, sort_keys=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
