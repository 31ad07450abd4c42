"""The program corpus (tests/programs/): each program, written as public PyTorch examples
are, runs unchanged with PyTorch and under ``tapegrad run``, and prints the same text and
the same numbers (to float32 accuracy and the printed precision)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "programs"
PROGRAMS = sorted(p.stem for p in CORPUS.glob("[a-z]*.py"))
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf")


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    # One thread: PyTorch's thread pool only fights the test workers for the cores here.
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "1"
    return env


def _run_corpus(command: list[str]) -> dict:
    proc = subprocess.run(
        command + [str(CORPUS / "_corpus.py")],
        capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def outputs() -> dict:
    pytest.importorskip("torch")
    return {
        "torch": _run_corpus([sys.executable]),
        "tapegrad": _run_corpus([sys.executable, "-m", "tapegrad", "run"]),
    }


def _decimals(token: str) -> int:
    mantissa = token.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def assert_same_print(expected: str, got: str, rtol: float = 2e-4) -> None:
    """The same text, and numbers equal to ``rtol`` or to one unit of the last printed
    digit (float32 sums may round the other way)."""
    exp_lines, got_lines = expected.splitlines(), got.splitlines()
    assert len(got_lines) == len(exp_lines), (
        f"{len(got_lines)} lines, PyTorch printed {len(exp_lines)}"
    )
    for n, (e_line, g_line) in enumerate(zip(exp_lines, got_lines), 1):
        e_text, g_text = NUMBER.split(e_line), NUMBER.split(g_line)
        e_nums, g_nums = NUMBER.findall(e_line), NUMBER.findall(g_line)
        where = f"line {n}:\n  PyTorch:  {e_line}\n  tapegrad: {g_line}"
        assert g_text == e_text and len(g_nums) == len(e_nums), where
        for e, g in zip(e_nums, g_nums):
            if e == g:
                continue
            scale = 10.0 ** -_decimals(e) if "e" not in e.lower() else 0.0
            if "." not in e and "e" not in e.lower() and e not in ("nan", "inf"):
                scale = 0.0  # integers (counts, sizes, indices) must match exactly
            a, b = float(e), float(g)
            assert abs(a - b) <= rtol * abs(a) + scale * 1.01, where


def test_corpus_is_large_enough():
    assert len(PROGRAMS) >= 15


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_prints_pytorchs_numbers(outputs, name):
    ref, mine = outputs["torch"][name], outputs["tapegrad"][name]
    assert ref["error"] is None, f"the program fails with PyTorch:\n{ref['error']}"
    assert mine["error"] is None, f"the program fails under tapegrad run:\n{mine['error']}"
    assert ref["stdout"].strip(), "the program prints nothing"
    assert_same_print(ref["stdout"], mine["stdout"])


def test_comparison_catches_differences():
    assert_same_print("loss 0.1234 after 5 steps", "loss 0.1235 after 5 steps")
    for wrong in (
        "loss 0.1254 after 5 steps",
        "loss 0.1234 after 6 steps",
        "Loss 0.1234 after 5 steps",
    ):
        with pytest.raises(AssertionError):
            assert_same_print("loss 0.1234 after 5 steps", wrong)
