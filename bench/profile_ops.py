"""Per-op profile of tapegrad: where a workload's time goes, through ``tapegrad.profiler``.

    python bench/run.py --profile mlp_epoch [--quick] [--threads 1]

The workload runs once under ``tapegrad.profiler.profile``; the table is the profiler's
own (``key_averages().table()``, PyTorch's layout), sorted by self time: forward ops
under PyTorch's names (``aten::mm``), backward nodes under theirs (``MmBackward0``).
What is left of the total is Python outside the primitives: module calls, argument
handling, the engine's bookkeeping, the optimizer, data slicing.
"""

from __future__ import annotations

import time

_ENGINE = "autograd::engine::evaluate_function: "


def profile(workload: str, quick: bool, threads: int = 1) -> dict:
    """Run ``workload`` once with tapegrad under the profiler and print the table.

    Returns:
        ``total`` seconds, ``forward`` and ``backward`` self seconds by event name, and
        ``calls`` by event name.
    """
    import workloads

    import tapegrad
    from tapegrad.profiler import profile as profiler

    prev_threads = tapegrad.get_num_threads()
    tapegrad.set_num_threads(threads)
    clock = time.perf_counter
    run = workloads.WORKLOADS[workload](tapegrad, quick)
    if workload not in workloads.NO_WARMUP:
        run()
    try:
        with profiler() as prof:
            t0 = clock()
            run()
            total = clock() - t0
    finally:
        tapegrad.set_num_threads(prev_threads)
    averages = prof.key_averages()
    fwd, bwd, calls = {}, {}, {}
    backward_nodes = {e.name for e in prof.events() if e.name.startswith(_ENGINE)}
    backward_nodes = {n[len(_ENGINE) :] for n in backward_nodes}
    for a in averages:
        if a.key.startswith(_ENGINE):
            continue  # the engine's wrapper: its self time is bookkeeping, not the op
        calls[a.key] = a.count
        seconds = a.self_cpu_time_total / 1e6
        (bwd if a.key in backward_nodes else fwd)[a.key] = seconds
    in_ops = sum(fwd.values()) + sum(bwd.values())
    print(f"{workload}: {total:.3f} s with {threads} thread(s), {in_ops / total:.1%} inside ops")
    print(averages.table(sort_by="self_cpu_time_total", row_limit=30), end="")
    print(f"(Python outside ops): {(total - in_ops) / total:.1%}")
    return {"total": total, "forward": fwd, "backward": bwd, "calls": calls}
