"""Issue 14, section 2: whole objects in checkpoints, with PyTorch 2.6+'s safety model.

tapegrad writes PyTorch's zip format: PyTorch reads tapegrad's tensors and state dicts,
tapegrad reads PyTorch's; whole models and optimizers round-trip with
``weights_only=False``; ``weights_only=True`` (the default) refuses other globals with
PyTorch's message, unless allowed with ``add_safe_globals`` / ``safe_globals``.
"""

import dataclasses
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as tnn
from tapegrad import serialization as S

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Config:
    """A user's object saved beside the weights."""

    lr: float
    layers: list


class Net(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(1, 3, 3)
        self.bn = tnn.BatchNorm2d(3)
        self.fc = tnn.Linear(12, 2)

    def forward(self, x):
        return self.fc(tg.relu(self.bn(self.conv(x))).flatten(1))


def _strip_file(message: str, path) -> str:
    prefix = f"{path}: "
    assert message.startswith(prefix), message[:200]
    return message[len(prefix) :]


@pytest.fixture(autouse=True)
def _no_leftover_safe_globals():
    yield
    S.clear_safe_globals()
    torch.serialization.clear_safe_globals()


# ---------------------------------------------------------------------------------------
# Whole objects


def test_a_whole_model_optimizer_and_config_roundtrip(tmp_path):
    tg.manual_seed(0)
    model = Net()
    opt = tg.optim.Adam(model.parameters(), lr=0.01)
    x = tg.randn(4, 1, 4, 4)
    model(x).sum().backward()
    opt.step()
    path = tmp_path / "all.pt"
    tg.save({"model": model, "opt": opt, "config": Config(0.01, [3, 4]), "epoch": 3}, path)

    out = tg.load(path, weights_only=False)
    m2, o2 = out["model"], out["opt"]
    assert type(m2) is Net and out["config"] == Config(0.01, [3, 4]) and out["epoch"] == 3
    model.eval(), m2.eval()
    np.testing.assert_array_equal(m2(x).detach().numpy(), model(x).detach().numpy())
    assert all(isinstance(p, tnn.Parameter) for p in m2.parameters())
    # The optimizer holds the loaded model's parameters, with Adam's state: one more
    # step gives the same weights as continuing the original.
    assert o2.param_groups[0]["params"][0] is next(m2.parameters())
    for m, o in ((model, opt), (m2, o2)):
        m.train()
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    for a, b in zip(model.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_the_default_refuses_whole_objects_with_pytorchs_message(tmp_path):
    ours, theirs = tmp_path / "ours.pt", tmp_path / "theirs.pt"
    tg.save(Config(0.1, [1]), ours)
    torch.save(Config(0.1, [1]), theirs)
    with pytest.raises(pickle.UnpicklingError) as expected:
        torch.load(theirs)
    for path in (ours, theirs):
        with pytest.raises(pickle.UnpicklingError) as got:
            tg.load(path)
        assert isinstance(got.value, RuntimeError)
        assert _strip_file(str(got.value), path) == str(expected.value)


def test_safe_globals_allow_a_class(tmp_path):
    path = tmp_path / "cfg.pt"
    tg.save({"cfg": Config(0.5, [2]), "w": tg.ones(2)}, path)
    assert S.get_unsafe_globals_in_checkpoint(path) == [f"{__name__}.Config"]
    with S.safe_globals([Config]):
        assert S.get_safe_globals() == [Config]
        assert S.get_unsafe_globals_in_checkpoint(path) == []
        assert tg.load(path)["cfg"] == Config(0.5, [2])
    assert S.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError):
        tg.load(path)
    S.add_safe_globals([Config])
    assert tg.load(path)["cfg"] == Config(0.5, [2])
    S.clear_safe_globals()
    with pytest.raises(pickle.UnpicklingError):
        tg.load(path)
    # An entry under another name, as PyTorch allows: (object, "module.name").
    S.add_safe_globals([(Config, f"{__name__}.Config")])
    assert tg.load(path)["cfg"] == Config(0.5, [2])
    with pytest.raises(ValueError):
        S.add_safe_globals([(Config,)])
    with pytest.raises(TypeError):
        S.add_safe_globals([(Config, 3)])


def test_unsafe_globals_in_a_pytorch_checkpoint_are_pytorchs(tmp_path):
    path = tmp_path / "torch_model.pt"
    torch.save({"model": torch.nn.Sequential(torch.nn.Linear(2, 2)), "cfg": Config(1.0, [])}, path)
    expected = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert sorted(S.get_unsafe_globals_in_checkpoint(path)) == expected
    with open(path, "rb") as f:
        assert sorted(S.get_unsafe_globals_in_checkpoint(f)) == expected


def test_weights_only_false_is_the_users_explicit_choice(tmp_path):
    class_path = tmp_path / "marker"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(class_path),))

    # A module-level name is needed to pickle it: pickle the call directly.
    data = io.BytesIO()
    tg.save({"x": 1}, data)
    path = tmp_path / "evil.pt"
    _replace_pickle(data.getvalue(), path, pickle.dumps({"x": Payload()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError):
        tg.load(path)
    assert not class_path.exists()
    tg.load(path, weights_only=False)  # as torch.load(weights_only=False): it runs
    assert class_path.exists()


def _replace_pickle(archive: bytes, path, pickled: bytes) -> None:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, pickled if name.endswith("data.pkl") else src.read(name))


def test_weights_only_defaults_and_environment(tmp_path, monkeypatch):
    path = tmp_path / "cfg.pt"
    tg.save(Config(1.0, []), path)
    assert tg.load(path, pickle_module=pickle) == Config(1.0, [])  # as torch: not weights-only
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        tg.load(path, pickle_module=pickle, weights_only=True)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    assert tg.load(path) == Config(1.0, [])
    with pytest.raises(pickle.UnpicklingError):
        tg.load(path, weights_only=True)  # the call's own choice wins
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(RuntimeError, match="Only one of"):
        tg.load(path)


def test_whole_object_saves_never_import_pytorch():
    code = (
        "import sys, io, tapegrad as tg, tapegrad.nn as nn\n"
        "m = nn.Sequential(nn.Linear(2, 3), nn.ReLU())\n"
        "b = io.BytesIO(); tg.save({'m': m, 'sd': m.state_dict()}, b); b.seek(0)\n"
        "out = tg.load(b, weights_only=False); b.seek(0); tg.load(b, weights_only=True)"
        " if False else None\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print(type(out['m']).__name__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Sequential"


# ---------------------------------------------------------------------------------------
# PyTorch reads tapegrad's files, tapegrad reads PyTorch's


def test_pytorch_loads_a_tapegrad_state_dict_with_weights_only(tmp_path):
    tg.manual_seed(1)
    model = Net()
    model(tg.randn(4, 1, 4, 4))  # BatchNorm running statistics, num_batches_tracked
    path = tmp_path / "tg.pt"
    tg.save({"model": model.state_dict(), "epoch": 2}, path)
    state = torch.load(path)  # PyTorch's default: weights_only=True
    assert state["epoch"] == 2 and list(state["model"]) == list(model.state_dict())
    for key, value in model.state_dict().items():
        t = state["model"][key]
        assert isinstance(t, torch.Tensor) and str(t.dtype) == f"torch.{value.dtype.name}"
        np.testing.assert_array_equal(t.numpy(), value.numpy())

    theirs = torch.nn.Module()
    theirs.conv, theirs.bn, theirs.fc = (
        torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Linear(12, 2)
    )  # fmt: skip
    theirs.load_state_dict(state["model"])
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    theirs.eval(), model.eval()
    y = theirs.fc(torch.relu(theirs.bn(theirs.conv(torch.from_numpy(x)))).flatten(1))
    np.testing.assert_allclose(
        y.detach().numpy(), model(tg.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_pytorch_reads_every_tapegrad_tensor_kind(tmp_path):
    base = tg.arange(24, dtype=tg.float64).reshape(4, 6)
    obj = {
        "t": base.t(),
        "step": base[::2, 1::3],
        "scalar": tg.tensor(3.5),
        "empty": tg.zeros(0, 3),
        "grad": tg.ones(2, requires_grad=True),
        "param": tnn.Parameter(tg.ones(3)),
        "frozen": tnn.Parameter(tg.ones(1), requires_grad=False),
        "size": base.shape,
        "dtype": tg.int16,
        "device": tg.device("cpu"),
        "meta": {"names": ["a"], "pair": (1, 2.5), "inf": float("inf"), "b": b"\x00"},
    }
    for name in ["float16", "float32", "int8", "int32", "int64", "uint8", "bool", "complex64"]:
        obj[name] = (tg.arange(12).reshape(3, 4) % 3).to(getattr(tg, name)).t()
    same = obj["grad"]
    obj["again"] = same
    path = tmp_path / "kinds.pt"
    tg.save(obj, path)
    out = torch.load(path)
    for key, value in obj.items():
        if isinstance(value, tg.Tensor):
            t = out[key]
            assert str(t.dtype) == f"torch.{value.dtype.name}" and tuple(t.shape) == tuple(
                value.shape
            )
            np.testing.assert_array_equal(t.detach().numpy(), value.detach().numpy())
    assert out["grad"].requires_grad and out["again"] is out["grad"]
    assert isinstance(out["param"], torch.nn.Parameter) and out["param"].requires_grad
    assert isinstance(out["frozen"], torch.nn.Parameter) and not out["frozen"].requires_grad
    assert out["size"] == torch.Size([4, 6]) and out["dtype"] is torch.int16
    assert out["device"] == torch.device("cpu") and out["meta"]["inf"] == float("inf")
    assert out["meta"] == {"names": ["a"], "pair": (1, 2.5), "inf": float("inf"), "b": b"\x00"}


def test_tapegrad_reads_a_whole_pytorch_model_with_weights_only_false(tmp_path):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8, 3)
    )
    path = tmp_path / "whole.pt"
    torch.save(theirs, path)
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules.container.Sequential"):
        tg.load(path)
    ours = tg.load(path, weights_only=False)
    assert type(ours) is tnn.Sequential and isinstance(ours[0], tnn.Conv2d)
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(
        ours(tg.from_numpy(x)).detach().numpy(),
        theirs(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_a_pytorch_api_tapegrad_lacks_is_named(tmp_path):
    path = tmp_path / "q.pt"
    torch.save({"f": torch.nn.functional.relu}, path)
    out = tg.load(path, weights_only=False)
    assert out["f"] is tg.nn.functional.relu
    torch.save({"f": torch.fft.fft}, path)
    with pytest.raises(pickle.UnpicklingError, match="tapegrad does not provide"):
        tg.load(path, weights_only=False)
