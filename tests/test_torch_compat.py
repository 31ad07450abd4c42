"""The PyTorch APIs that programs reach for (issue 14, section 3), against PyTorch:
backends flags, accelerator and cuda queries, set_default_device, jit, hub, onnx,
torchvision signatures, the OS-seeded default generator, grad_fn names, indexing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_same

import tapegrad
from tapegrad import datasets, models
from tapegrad.transforms import v2

ROOT = Path(__file__).resolve().parent.parent
CPU_ONLY = not tapegrad.cuda.is_available()


@pytest.mark.skipif(not CPU_ONLY or torch.cuda.is_available(), reason="CPU-only behaviour")
def test_device_queries_match_a_cpu_only_pytorch():
    for lib in (torch, tapegrad):
        assert lib.cuda.is_available() is False
        assert lib.cuda.device_count() == 0
        assert lib.cuda.is_initialized() is False
        assert lib.cuda.memory_allocated() == 0
        assert lib.accelerator.is_available() is False
        assert lib.accelerator.current_accelerator() is None
        assert lib.accelerator.device_count() == 0
        assert lib.backends.mps.is_available() is False
        assert lib.backends.mps.is_built() is False
        assert lib.backends.cudnn.is_available() is False
        assert lib.backends.cudnn.version() is None
        lib.cuda.manual_seed_all(0)
        lib.cuda.empty_cache()
        with pytest.raises(RuntimeError, match="when none is available"):
            lib.accelerator.synchronize()
        for query in (lib.cuda.current_device, lib.cuda.synchronize, lib.cuda.get_device_name):
            with pytest.raises(AssertionError, match="not compiled with CUDA"):
                query()
    with pytest.raises(AssertionError, match="not compiled with CUDA"):
        tapegrad.set_default_device("cuda")  # PyTorch raises at the next tensor it makes
    for flag in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(tapegrad.backends.cudnn, flag) == getattr(torch.backends.cudnn, flag)
    assert tapegrad.backends.mkldnn.enabled == torch.backends.mkldnn.enabled


def test_backend_flags_are_settable_modules():
    import tapegrad.backends.cudnn as cudnn

    old = cudnn.benchmark
    cudnn.benchmark = True
    try:
        assert tapegrad.backends.cudnn.benchmark is True
    finally:
        cudnn.benchmark = old
    tapegrad.backends.cuda.matmul.allow_tf32 = False


def test_set_default_device_cpu():
    tapegrad.set_default_device("cpu")
    tapegrad.set_default_device(tapegrad.device("cpu"))
    assert tapegrad.get_default_device() == tapegrad.device("cpu")
    assert str(tapegrad.get_default_device()) == str(torch.get_default_device())


def test_jit_runs_eagerly():
    net = tapegrad.nn.Linear(3, 2)
    x = tapegrad.randn(4, 3)
    scripted = tapegrad.jit.script(net)
    traced = tapegrad.jit.trace(net, x)
    assert scripted is net and traced is net
    assert tapegrad.equal(scripted(x), net(x))

    @tapegrad.jit.script
    def f(a):
        return a * 2 if a.sum() > 0 else a

    assert tapegrad.equal(f(tapegrad.ones(2)), tapegrad.full((2,), 2.0))
    assert tapegrad.jit.ignore(f) is f and tapegrad.jit.ignore(drop=True)(f) is f
    assert tapegrad.jit.is_scripting() is False
    with pytest.raises(NotImplementedError, match="state_dict"):
        tapegrad.jit.save(net, "x.pt")


def test_hub_offline_error_and_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(tapegrad.hub, "_hub_dir", str(tmp_path / "hub"))
    url = "http://127.0.0.1:9/models/tiny-0123abcd.pth"  # a closed port: offline
    with pytest.raises(RuntimeError, match="put it at .*tiny-0123abcd.pth"):
        tapegrad.hub.load_state_dict_from_url(url)
    assert not (tmp_path / "hub" / "checkpoints" / "tiny-0123abcd.pth").exists()
    # a file PyTorch saved into the cache is found without a network
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True, exist_ok=True)
    torch.save({"w": torch.arange(3.0)}, tmp_path / "hub" / "checkpoints" / "tiny-0123abcd.pth")
    state = tapegrad.hub.load_state_dict_from_url(url)
    assert state["w"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="does not download code"):
        tapegrad.hub.load("owner/repo", "model")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hubconf.py").write_text("def tiny(n=2):\n    '''A tiny model.'''\n    return n\n")
    assert tapegrad.hub.load(str(repo), "tiny", 5, source="local") == 5
    assert "tiny" in tapegrad.hub.list(str(repo), source="local")


def test_model_weights_arguments(tmp_path, monkeypatch):
    monkeypatch.setattr(tapegrad.hub, "_hub_dir", str(tmp_path))
    net = models.resnet18(weights=None, progress=False)
    assert net.fc.out_features == 1000
    assert models.ResNet18_Weights.DEFAULT is models.ResNet18_Weights.IMAGENET1K_V1
    with pytest.raises(ValueError, match="'num_classes' expected value 1000 but got 10"):
        models.resnet18(num_classes=10, weights="DEFAULT")
    # the file PyTorch would download, put in the cache by hand: loaded, no network
    ref = models.resnet18()
    path = tmp_path / "checkpoints" / "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    tapegrad.save(ref.state_dict(), path)
    monkeypatch.setattr(tapegrad.hub, "_HASH_PREFIX", tapegrad.hub.re.compile(r"^$"))
    net = models.resnet18(weights=models.ResNet18_Weights.IMAGENET1K_V1)
    assert tapegrad.equal(net.conv1.weight, ref.conv1.weight)
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        models.resnet18(pretrained=True)
    assert models.vgg11_bn(10, cifar=True, weights=None, progress=True).classifier is not None
    with pytest.raises(ValueError, match="CIFAR-sized"):
        models.alexnet(weights=models.AlexNet_Weights.DEFAULT)


def test_fakedata_draws_torchvisions_images():
    ds = datasets.FakeData(size=4, image_size=(3, 5, 6), num_classes=7, random_offset=2)
    tapegrad.manual_seed(11)
    before = tapegrad.rand(1).item()
    tapegrad.manual_seed(11)
    img, target = ds[3]
    assert tapegrad.rand(1).item() == before  # the generator's state is restored
    # torchvision's recipe, written with torch
    torch.manual_seed(3 + 2)
    t_img = torch.randn(3, 5, 6)
    t_target = torch.randint(0, 7, size=(1,), dtype=torch.long)[0]
    assert img.dtype == tapegrad.uint8 and target == t_target.item()
    np.testing.assert_array_equal(img.numpy(), t_img.mul(255).byte().numpy())
    assert len(ds) == 4
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[4]
    loader = tapegrad.utils.data.DataLoader(
        datasets.FakeData(8, (1, 4, 4), transform=v2.Compose([v2.ToImage(), v2.ToDtype(
            tapegrad.float32, scale=True)])), batch_size=4)  # fmt: skip
    x, y = next(iter(loader))
    assert x.shape == (4, 1, 4, 4) and x.max().item() <= 1.0 and y.dtype == tapegrad.int64


def test_image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for cls, n in (("cat", 2), ("dog", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (4, 5, 3), dtype=np.uint8)).save(
                tmp_path / cls / f"{i}.png"
            )
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(tmp_path, transform=tapegrad.transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert ds.targets == [0, 0, 1, 1, 1] and len(ds) == 5 and ds.imgs == ds.samples
    img, target = ds[2]
    assert img.shape == (3, 4, 5) and target == 1
    expected = np.asarray(Image.open(tmp_path / "dog" / "0.png")).transpose(2, 0, 1) / 255
    np.testing.assert_allclose(img.numpy(), expected, rtol=1e-6)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty"):
        datasets.ImageFolder(tmp_path)
    txt = datasets.DatasetFolder(tmp_path, loader=lambda p: open(p).read(), extensions=(".txt",),
                                 allow_empty=True)  # fmt: skip
    assert txt[0] == ("not an image", 1)
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(tmp_path / "cat")


def test_transforms_v2_to_dtype():
    img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    out = v2.Compose([v2.ToImage(), v2.ToDtype(tapegrad.float32, scale=True)])(img)
    np.testing.assert_allclose(out.numpy(), img.transpose(2, 0, 1) / 255, rtol=1e-6)
    assert v2.ToDtype(tapegrad.float32)(tapegrad.tensor([3], dtype=tapegrad.uint8)).item() == 3
    assert v2.ToDtype(tapegrad.float32)(5) == 5


def test_default_seed_differs_per_process_and_manual_seed_is_exact():
    code = "import tapegrad; print(tapegrad.initial_seed(), tapegrad.rand(1).item())"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    outs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        ).stdout  # fmt: skip
        for _ in range(2)
    }
    assert len(outs) == 2
    assert tapegrad.Generator().initial_seed() == torch.Generator().initial_seed()
    tapegrad.manual_seed(5)
    torch.manual_seed(5)
    assert tapegrad.initial_seed() == torch.initial_seed() == 5
    assert tapegrad.rand(3).tolist() == torch.rand(3).tolist()


def test_custom_function_grad_fn_name():
    def make(lib):
        class MyReLU(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.clamp(min=0)

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * (x > 0)

        return MyReLU

    for lib in (torch, tapegrad):
        y = make(lib).apply(lib.randn(3, requires_grad=True))
        assert type(y.grad_fn).__name__ == "MyReLUBackward"
        y.sum().backward()


@pytest.mark.parametrize(
    "index",
    [
        lambda lib: (range(3), [0, 1, 2]),
        lambda lib: range(2),
        lambda lib: [[0, 2], [1, 3]],  # a list holding lists: read as a tuple
        lambda lib: [lib.tensor([0, 2]), lib.tensor([1, 3])],
        lambda lib: ([1, lib.tensor(2)], 3),
        lambda lib: [0, slice(1, 3)],
        lambda lib: [0, 2],
        lambda lib: (lib.tensor([True, False, True]), range(1, 3)),
        lambda lib: [lib.tensor([2, 0]), lib.tensor(1)],
    ],
)
@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
def test_index_forms(index):
    x = np.arange(12.0).reshape(3, 4)
    tx, gx = torch.tensor(x), tapegrad.tensor(x)
    assert_same(tx[index(torch)], gx[index(tapegrad)])
    tx[index(torch)] = -1.0
    gx[index(tapegrad)] = -1.0
    assert_same(tx, gx)


def test_sequence_read_as_tuple_warns_as_pytorch():
    for lib in (torch, tapegrad):
        with pytest.warns(UserWarning, match="Using a non-tuple sequence for multidimensional"):
            lib.zeros(3, 4)[[[0, 1], [1, 2]]]


def test_range_assignment_one_hot():
    labels = [2, 0, 1]
    t, g = torch.zeros(3, 3), tapegrad.zeros(3, 3)
    t[range(3), labels] = torch.tensor([1.0, 2.0, 3.0])
    g[range(3), labels] = tapegrad.tensor([1.0, 2.0, 3.0])
    assert_same(t, g)


@pytest.mark.parametrize(
    "values", [[-0.0], [-0.0, 1.5, -2.25], [[-0.0, 1e-8], [3.0, -0.0]], [-0.0, 0.0], [-0.0, 1e10]]
)
def test_negative_zero_prints_as_pytorch(values):
    assert repr(tapegrad.tensor(values)) == repr(torch.tensor(values))
    assert repr(tapegrad.tensor(values[0])) == repr(torch.tensor(values[0]))


def test_version_cpu_random_and_matmul_precision():
    assert tapegrad.version.cuda is None and torch.version.cuda is None
    assert tapegrad.version.__version__ == tapegrad.__version__
    for lib in (torch, tapegrad):
        assert lib.cpu.is_available() and lib.cpu.device_count() == 1
        assert lib.get_float32_matmul_precision() == "highest"
        lib.set_float32_matmul_precision("high")
        assert lib.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            lib.set_float32_matmul_precision("bogus")
        lib.set_float32_matmul_precision("highest")
    tapegrad.random.manual_seed(3)
    torch.random.manual_seed(3)
    with tapegrad.random.fork_rng(), torch.random.fork_rng():
        assert tapegrad.rand(2).tolist() == torch.rand(2).tolist()
    assert tapegrad.rand(2).tolist() == torch.rand(2).tolist()  # the state was restored


WARNING_CASES = {
    "copy_construct": lambda L: L.tensor(L.ones(2)),
    "new_tensor": lambda L: L.ones(2).new_tensor(L.ones(2)),
    "upsample": lambda L: L.nn.functional.upsample(L.ones(1, 1, 2, 2), scale_factor=2),
    "T_2d": lambda L: L.ones(2, 3).T,
    "nested_seq_first": lambda L: L.nn.TransformerEncoder(L.nn.TransformerEncoderLayer(4, 2, 8), 1),
    "nested_odd_heads": lambda L: L.nn.TransformerEncoder(
        L.nn.TransformerEncoderLayer(3, 1, 8, batch_first=True), 1
    ),
    "nested_tanh": lambda L: L.nn.TransformerEncoder(
        L.nn.TransformerEncoderLayer(4, 2, 8, batch_first=True, activation=L.tanh), 1
    ),
    "nested_ok": lambda L: L.nn.TransformerEncoder(
        L.nn.TransformerEncoderLayer(4, 2, 8, batch_first=True, activation="gelu"), 1
    ),
    "nested_off": lambda L: L.nn.TransformerEncoder(
        L.nn.TransformerEncoderLayer(4, 2, 8), 1, enable_nested_tensor=False
    ),
}


def _warnings_of(fn) -> list[str]:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    # PyTorch's C++ warnings end with where they were raised in its sources.
    return [str(w.message).split(" (Triggered internally")[0] for w in caught]


def test_transpose_property_warns_once_per_process_as_pytorch():
    code = "import {0} as L\nL.ones(3).T\nL.ones(2, 3, 4).T\nL.ones(()).T\nL.ones(()).T\n"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    outs = [
        subprocess.run(
            [sys.executable, "-W", "always", "-c", code.format(lib)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stderr  # fmt: skip
        for lib in ("torch", "tapegrad")
    ]
    for out in outs:
        assert out.count("The use of `x.T` on tensors of dimension other than 2") == 1
        assert out.count("Tensor.T is deprecated on 0-D tensors") == 1


@pytest.mark.parametrize("case", sorted(WARNING_CASES))
def test_warns_as_pytorch(case):
    assert _warnings_of(lambda: WARNING_CASES[case](tapegrad)) == _warnings_of(
        lambda: WARNING_CASES[case](torch)
    )
