"""tapegrad keeps freed array memory in the process (backend/memory.py): checked by the
page faults a wave of allocations costs, in fresh interpreters."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the malloc settings are glibc's",
)

# Ten 4 MB arrays live at once, then all freed, ten times over: glibc's adaptive
# thresholds trim the 40 MB top of the heap after every wave, so every wave faults its
# pages in again (~10,000 faults); with tapegrad's settings only the first wave does.
_WAVES = """
import resource, sys
import numpy as np
if sys.argv[1] == "tapegrad":
    import tapegrad
    from tapegrad.backend import memory
    print(int(memory.keep_freed_memory()))
else:
    print(0)

def wave():
    arrays = [np.ones(1 << 20, np.float32) for _ in range(10)]
    return sum(float(a[0]) for a in arrays)

wave()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    wave()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(which: str, **env) -> tuple[int, int]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    environ.pop("GLIBC_TUNABLES", None)
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", _WAVES, which],
        capture_output=True,
        text=True,
        env=environ,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def test_freed_arrays_do_not_fault_in_again():
    applied, faults = _faults("tapegrad")
    assert applied == 1
    # the 40 MB waves would cost ~100,000 faults if every page came back fresh
    assert faults < 2_000


def test_without_the_settings_the_waves_fault_in_again():
    # the reference the test above can fail against: plain NumPy on glibc's defaults
    _, faults = _faults("numpy")
    assert faults > 20_000


def test_opt_out_and_user_settings_are_respected():
    from tapegrad.backend import memory

    environ = dict(os.environ)
    try:
        os.environ["TAPEGRAD_KEEP_FREED_MEMORY"] = "0"
        assert memory.keep_freed_memory() is False
        del os.environ["TAPEGRAD_KEEP_FREED_MEMORY"]
        os.environ["GLIBC_TUNABLES"] = "glibc.malloc.trim_threshold=1000000"
        assert memory.keep_freed_memory() is False
        del os.environ["GLIBC_TUNABLES"]
        os.environ["MALLOC_TRIM_THRESHOLD_"] = "1000000"
        assert memory.keep_freed_memory() is False
    finally:
        os.environ.clear()
        os.environ.update(environ)
    applied, faults = _faults("tapegrad", TAPEGRAD_KEEP_FREED_MEMORY="0")
    assert applied == 0
    assert faults > 20_000
