"""Per-op profile of tapegrad: time spent in each primitive's forward and backward."""

from __future__ import annotations

import collections
import time


def profile(workload: str, quick: bool) -> None:
    import workloads

    import tapegrad
    from tapegrad.autograd import function as F

    fwd = collections.defaultdict(float)
    bwd = collections.defaultdict(float)
    calls = collections.Counter()
    orig_apply = F.Function.apply.__func__
    orig_back = F.Function._apply_backward

    def apply(cls, *a, **k):
        t0 = time.perf_counter()
        try:
            return orig_apply(cls, *a, **k)
        finally:
            fwd[cls.backward_name] += time.perf_counter() - t0
            calls[cls.backward_name] += 1

    def back(self, grads):
        t0 = time.perf_counter()
        try:
            return orig_back(self, grads)
        finally:
            bwd[self.backward_name] += time.perf_counter() - t0

    F.Function.apply = classmethod(apply)
    F.Function._apply_backward = back
    run = workloads.WORKLOADS[workload](tapegrad, quick)
    t0 = time.perf_counter()
    run()
    total = time.perf_counter() - t0
    F.Function.apply = classmethod(orig_apply)
    F.Function._apply_backward = orig_back
    print(f"{workload}: {total:.3f} s total (forward/backward are inclusive of nested ops)")
    print(f"{'op':<36}{'calls':>8}{'forward s':>12}{'backward s':>12}{'share':>8}")
    rows = sorted(set(fwd) | set(bwd), key=lambda k: -(fwd[k] + bwd[k]))
    for k in rows:
        print(
            f"{k:<36}{calls[k]:>8}{fwd[k]:>12.3f}{bwd[k]:>12.3f}{(fwd[k] + bwd[k]) / total:>8.1%}"
        )
