"""Per-op profile of tapegrad: time spent in each primitive's forward and backward.

    python bench/run.py --profile mlp_epoch [--quick] [--threads 1]

Every ``Function.apply`` (forward) and ``Function._apply_backward`` (backward) is
timed by the primitive's grad_fn name. What is left of the total is Python outside
the primitives: module calls, argument handling, the engine's bookkeeping, the
optimizer, data slicing.
"""

from __future__ import annotations

import collections
import time


def profile(workload: str, quick: bool, threads: int = 1) -> dict:
    """Run ``workload`` once with tapegrad under the per-op timers and print the table."""
    import workloads

    import tapegrad
    from tapegrad.autograd import function as F

    prev_threads = tapegrad.get_num_threads()
    tapegrad.set_num_threads(threads)
    fwd = collections.defaultdict(float)
    bwd = collections.defaultdict(float)
    calls = collections.Counter()
    depth = [0]  # an op whose forward calls other ops is timed once, at the outside
    orig_cm = F.Function.__dict__["apply"]
    orig_apply = orig_cm.__func__
    orig_back = F.Function._apply_backward
    clock = time.perf_counter

    def apply(cls, *a, **k):
        if depth[0]:
            return orig_apply(cls, *a, **k)
        depth[0] += 1
        t0 = clock()
        try:
            return orig_apply(cls, *a, **k)
        finally:
            fwd[cls.backward_name] += clock() - t0
            calls[cls.backward_name] += 1
            depth[0] -= 1

    def back(self, grads):
        t0 = clock()
        try:
            return orig_back(self, grads)
        finally:
            bwd[self.backward_name] += clock() - t0

    run = workloads.WORKLOADS[workload](tapegrad, quick)
    if workload not in workloads.NO_WARMUP:
        run()
    F.Function.apply = classmethod(apply)
    F.Function._apply_backward = back
    try:
        t0 = clock()
        run()
        total = clock() - t0
    finally:
        F.Function.apply = orig_cm
        F.Function._apply_backward = orig_back
        tapegrad.set_num_threads(prev_threads)
    in_ops = sum(fwd.values()) + sum(bwd.values())
    print(f"{workload}: {total:.3f} s with {threads} thread(s), {in_ops / total:.1%} inside ops")
    print(f"{'op':<34}{'calls':>8}{'forward s':>11}{'backward s':>11}{'us/call':>9}{'share':>8}")
    rows = sorted(set(fwd) | set(bwd), key=lambda k: -(fwd[k] + bwd[k]))
    for k in rows:
        t = fwd[k] + bwd[k]
        print(
            f"{k:<34}{calls[k]:>8}{fwd[k]:>11.3f}{bwd[k]:>11.3f}"
            f"{1e6 * t / max(calls[k], 1):>9.1f}{t / total:>8.1%}"
        )
    outside = total - in_ops
    print(f"{'(Python outside ops)':<34}{'':>8}{'':>11}{'':>11}{'':>9}{outside / total:>8.1%}")
    return {"total": total, "forward": dict(fwd), "backward": dict(bwd), "calls": dict(calls)}
