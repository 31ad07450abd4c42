"""Grad mode is per thread, as in PyTorch: a worker thread's no_grad leaves others recording."""

import threading

import torch

import tapegrad


def _flags_seen_by_worker(lib):
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def worker():
        with lib.no_grad():
            seen["worker"] = lib.is_grad_enabled()
            entered.set()
            seen["released"] = release.wait(60)

    t = threading.Thread(target=worker)
    t.start()
    assert entered.wait(60), "the worker thread never entered no_grad"
    x = lib.ones(2, requires_grad=True)
    seen["main"] = lib.is_grad_enabled()
    seen["main_records"] = (x * 2).requires_grad
    release.set()
    t.join()
    assert seen.pop("released"), "the worker thread was not released in time"
    return seen


def test_no_grad_in_a_thread_does_not_leak_to_others():
    assert _flags_seen_by_worker(tapegrad) == _flags_seen_by_worker(torch)
    assert _flags_seen_by_worker(tapegrad) == {
        "worker": False,
        "main": True,
        "main_records": True,
    }


def test_new_threads_start_with_grad_enabled():
    with tapegrad.no_grad():
        out = {}
        t = threading.Thread(target=lambda: out.update(flag=tapegrad.is_grad_enabled()))
        t.start()
        t.join()
    assert out["flag"] is True
