"""Freed array memory stays in the process for the next op (glibc malloc settings).

A training step creates and frees the same few hundred arrays of 0.1-30 MB every step.
glibc's malloc gives memory back to the kernel on ``free`` in two cases: blocks above
its mmap threshold are unmapped, and free space above its trim threshold at the top of
the heap is trimmed. Both thresholds adapt to the program (a freed mmapped block raises
them), but a step whose live arrays come and go in waves still trims the heap over and
over, and every page of the next array of that size faults in again: a quarter of a
Transformer training step (d_model 128, batch 32 x 64 tokens) went to page faults in
the kernel, against 3% for PyTorch.

So at import tapegrad fixes both: blocks up to 32 MB (glibc's largest mmap threshold)
come from the heap, and up to 256 MB of free heap stays mapped. Memory use (peak RSS)
does not grow: it is what the step's arrays need; the process simply keeps it between
steps, as PyTorch's caching allocators do on accelerators. Larger single arrays are
still mapped and unmapped one by one, and a heap with more than 256 MB free on top is
still trimmed.

Only glibc has these settings (``mallopt``); elsewhere nothing changes. Nothing changes
either when the user chose malloc settings of their own (``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TOP_PAD_`` or ``glibc.malloc`` tunables in
``GLIBC_TUNABLES``), or when ``TAPEGRAD_KEEP_FREED_MEMORY=0`` is set.
"""

from __future__ import annotations

import ctypes
import os
import platform

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # glibc's maximum (HEAP_MAX_SIZE / 2 on 64-bit)
TRIM_THRESHOLD = 256 << 20

_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def _user_chose_malloc_settings() -> bool:
    if any(name in os.environ for name in _USER_SETTINGS):
        return True
    return "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds (see the module docstring).

    Returns True when the settings were applied, False when they were left alone (not
    glibc, opted out with ``TAPEGRAD_KEEP_FREED_MEMORY=0``, the user's own malloc
    settings, or ``mallopt`` refused them).
    """
    if os.environ.get("TAPEGRAD_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if _user_chose_malloc_settings():
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; the mmap threshold first, so a refused value leaves
    # glibc's adaptive thresholds untouched (setting either one switches them off)
    if mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        return False
    return mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
