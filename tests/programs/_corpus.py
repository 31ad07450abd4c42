"""Run every program of this corpus in one process and print one JSON object
``{name: {"stdout": ..., "error": ...}}``.

``python tests/programs/_corpus.py`` runs them on PyTorch, ``tapegrad run
tests/programs/_corpus.py`` on tapegrad: one process per library keeps the corpus fast.
Each program runs as ``__main__`` with its own ``sys.argv`` in a fresh temporary working
directory; names on the command line select programs.
"""

import contextlib
import glob
import io
import json
import os
import runpy
import sys
import tempfile
import traceback

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def programs() -> list[str]:
    return sorted(glob.glob(os.path.join(HERE, "[a-z]*.py")))


def run(path: str) -> dict:
    out = io.StringIO()
    error = None
    cwd = os.getcwd()
    argv = sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        sys.argv = [path]
        torch.set_default_dtype(torch.float32)
        try:
            with contextlib.redirect_stdout(out):
                runpy.run_path(path, run_name="__main__")
        except SystemExit as e:
            if e.code not in (0, None):
                error = f"SystemExit({e.code!r})"
        except Exception:
            error = traceback.format_exc()
        finally:
            os.chdir(cwd)
            sys.argv = argv
    return {"stdout": out.getvalue(), "error": error}


if __name__ == "__main__":
    wanted = set(sys.argv[1:])
    results = {}
    for path in programs():
        name = os.path.splitext(os.path.basename(path))[0]
        if not wanted or name in wanted:
            results[name] = run(path)
    print(json.dumps(results))
