"""``tapegrad run`` (and ``python -m tapegrad run``): an unchanged PyTorch program runs on
tapegrad, the real PyTorch is never loaded, and the process behaves as ``python SCRIPT``.
Also the warning when the real torch is imported next to tapegrad."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tapegrad
from tapegrad import _torch_shim

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path, code: str, *args: str, module: bool = True, env=None):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code))
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    full_env.update(env or {})
    if module:
        cmd = [sys.executable, "-m", "tapegrad", "run", str(script), *args]
    else:
        cmd = [sys.executable, "-c", "import sys; from tapegrad.cli import main; sys.exit(main())",
               "run", str(script), *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=tmp_path,
                          timeout=300)  # fmt: skip


REAL_TORCH_PROBE = """
import json, sys
def real():
    return sorted(
        name for name, mod in list(sys.modules.items())
        if name.split(".")[0] in ("torch", "torchvision")
        and not getattr(mod, "__name__", "").startswith("tapegrad")
    )
"""


def test_never_imports_the_real_torch(tmp_path):
    pytest.importorskip("torch")  # the point: PyTorch is installed, and still not loaded
    result = _run(
        tmp_path,
        REAL_TORCH_PROBE
        + """
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset
import torch.backends.cudnn as cudnn
import torch.autograd
import torch.onnx, torch.jit, torch.hub, torch.cuda, torch.accelerator, torch.linalg
import torchvision
import torchvision.transforms as transforms
from torchvision import datasets, models, utils
from torchvision.transforms import v2
net = nn.Linear(2, 1)
print(json.dumps({"real": real(), "torch": torch.__name__, "nn": nn.__name__,
                  "tv": torchvision.datasets.__name__, "F": F.relu.__module__,
                  "tensor": type(torch.ones(1)).__module__}))
""",
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["real"] == []
    assert out["torch"] == "tapegrad" and out["nn"] == "tapegrad.nn"
    assert out["tv"] == "tapegrad.datasets"
    assert out["tensor"].startswith("tapegrad")


def test_behaves_as_python_script(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 41\n")
    (tmp_path / "data.txt").write_text("relative\n")
    result = _run(
        tmp_path,
        """
import sys, os
import helper  # the script's own directory is on sys.path
print(sys.argv[1:], __name__, os.path.basename(__file__), helper.VALUE + 1)
print(open("data.txt").read().strip())
sys.exit(int(sys.argv[-1]))
""",
        "--epochs",
        "1",
        "-h",
        "3",
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout.splitlines() == [
        "['--epochs', '1', '-h', '3'] __main__ prog.py 42",
        "relative",
    ]


def test_run_module(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tool.py").write_text(
        "import sys, os, torch\nprint(os.path.basename(sys.argv[0]), sys.argv[1:], __name__, "
        "torch.__name__)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "tapegrad", "run", "-m", "pkg.tool", "--x", "1"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "tool.py ['--x', '1'] __main__ tapegrad\n"


def test_console_entry_point_and_exit_zero(tmp_path):
    result = _run(tmp_path, "import torch\nprint(torch.tensor([1.0, -0.0]))\n", module=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "tensor([1., -0.])\n"


def test_uncaught_exception_exits_1_with_a_traceback(tmp_path):
    result = _run(tmp_path, "import torch\nraise ValueError('boom')\n")
    assert result.returncode == 1
    assert "ValueError: boom" in result.stderr and "prog.py" in result.stderr
    assert "runpy" not in result.stderr and "_torch_shim" not in result.stderr


def test_missing_api_is_named(tmp_path):
    result = _run(tmp_path, "import torch\nx = torch.ones(2)\nx.no_such_method()\n")
    assert result.returncode == 1
    assert "PyTorch API torch.Tensor.no_such_method, which tapegrad does not provide" in (
        result.stderr
    )
    result = _run(tmp_path, "import torch.nn as nn\nnn.NoSuchLayer(3)\n")
    assert "PyTorch API torch.nn.NoSuchLayer, which tapegrad does not provide" in result.stderr
    result = _run(tmp_path, "import torch.no_such_module\n")
    assert result.returncode == 1
    assert "ModuleNotFoundError" in result.stderr
    assert "tapegrad does not provide the PyTorch module torch.no_such_module" in result.stderr


@pytest.mark.parametrize("other_site", [False, True])
def test_child_processes_inherit_it(tmp_path, other_site):
    hidden = tmp_path / "site"
    hidden.mkdir()
    if other_site:  # a sitecustomize of the user's, which tapegrad's must still run
        (hidden / "sitecustomize.py").write_text("print('hidden-site', flush=True)\n")
    result = _run(
        tmp_path,
        """
import subprocess, sys, multiprocessing as mp

def child(q):
    import torch
    q.put(torch.__name__)

if __name__ == "__main__":
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.__name__)"],
                         capture_output=True, text=True)
    print(out.stdout.strip())
    sys.stderr.write(out.stderr)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start(); print(q.get(timeout=120)); p.join()
""",
        env={"PYTHONPATH": os.pathsep.join([str(ROOT), str(hidden)])},
    )
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert [w for w in words if w != "hidden-site"] == ["tapegrad", "tapegrad"]
    # the sitecustomize that tapegrad's hides still runs: in the parent, both children
    # (and multiprocessing's resource tracker)
    assert words.count("hidden-site") >= (3 if other_site else 0)
    assert "Error in sitecustomize" not in result.stderr


def test_missing_script_and_help(tmp_path, capsys):
    from tapegrad.cli import main

    assert main(["run", str(tmp_path / "nope.py")]) == 2
    assert "can't open file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "served by tapegrad" in " ".join(capsys.readouterr().out.split())


def test_alias_names():
    assert _torch_shim._target("torch") == "tapegrad"
    assert _torch_shim._target("torch.nn.functional") == "tapegrad.nn.functional"
    assert _torch_shim._target("torchvision.transforms.v2") == "tapegrad.transforms.v2"
    assert _torch_shim._target("torchvision") == "tapegrad.vision"
    assert _torch_shim._target("torchaudio") is None
    assert _torch_shim._target("torchx") is None
    assert _torch_shim.pytorch_name("tapegrad.nn") == "torch.nn"
    assert _torch_shim.pytorch_name("tapegrad.datasets") == "torchvision.datasets"


def test_warns_when_the_real_torch_joins_tapegrad(tmp_path):
    pytest.importorskip("torch")
    code = "import tapegrad as torch\nimport torch.nn as nn\nimport torch.optim\n"
    script = tmp_path / "mix.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=env, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("TorchImportWarning") == 1  # once, at the import line
    assert "mix.py:2" in result.stderr
    assert "import tapegrad.nn as nn" in result.stderr and "tapegrad run" in result.stderr
    # torch first, then tapegrad: a deliberate mix (as in the tests), no warning
    script.write_text("import torch\nimport tapegrad\nimport torch.nn\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=env, timeout=300)  # fmt: skip
    assert "TorchImportWarning" not in result.stderr


def test_install_refuses_after_the_real_torch():
    pytest.importorskip("torch")  # already imported by conftest
    with pytest.raises(RuntimeError, match="tapegrad run SCRIPT"):
        _torch_shim.install()
    assert not _torch_shim.installed()
    assert tapegrad.__name__ == "tapegrad"
