"""tapegrad.utils.tensorboard.SummaryWriter, read back by TensorBoard itself
(``EventAccumulator``, its event-file loader, its protobufs) and compared event by event
with the same calls through ``torch.utils.tensorboard.SummaryWriter``; the ``fit``
callback and ``tapegrad train --tensorboard``."""

from __future__ import annotations

import importlib.util
import io
import os
import socket
import sys
from datetime import datetime

import numpy as np
import pytest

pytest.importorskip("tensorboard")
torch = pytest.importorskip("torch")
torch_tb = pytest.importorskip("torch.utils.tensorboard")

from google.protobuf import text_format  # noqa: E402
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402
from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig  # noqa: E402

import tapegrad  # noqa: E402
from tapegrad import nn  # noqa: E402
from tapegrad.utils.tensorboard import SummaryWriter  # noqa: E402


def accumulate(logdir) -> EventAccumulator:
    """TensorBoard's reader of one run, keeping every event (no sampling)."""
    kinds = ("scalars", "histograms", "images", "tensors", "compressedHistograms")
    ea = EventAccumulator(str(logdir), size_guidance={k: 0 for k in kinds})
    ea.Reload()
    return ea


def events(logdir) -> list:
    """Every event of the run's event files (in file order), wall time cleared."""
    out = []
    for name in sorted(os.listdir(logdir)):
        if not name.startswith("events.out.tfevents"):
            continue
        for event in EventFileLoader(os.path.join(logdir, name)).Load():
            event.wall_time = 0
            out.append(event)
    return out


def runs(root) -> dict[str, list]:
    """Events of every run folder under ``root``, by path relative to it."""
    found = {}
    for folder, _, files in os.walk(root):
        if any(f.startswith("events.out.tfevents") for f in files):
            found[os.path.relpath(folder, root)] = events(folder)
    return found


def date_back(logdir) -> None:
    """Rename the run's event files to time 0. TensorBoard reads a run's files in name
    order (time in seconds, host, pid, then a process-wide counter, so "…10" sorts before
    "…9"): files written later in the same second must not depend on that counter."""
    for name in os.listdir(logdir):
        if name.startswith("events.out.tfevents."):
            parts = name.split(".")
            parts[3] = "0" * len(parts[3])
            os.rename(os.path.join(logdir, name), os.path.join(logdir, ".".join(parts)))


def decode_png(encoded: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encoded)))


RNG = np.random.default_rng(0)
WEIGHTS = RNG.standard_normal((40, 30)).astype(np.float32)
IMG_CHW = RNG.random((3, 5, 7)).astype(np.float32)
IMG_HWC_U8 = RNG.integers(0, 256, (6, 4, 3)).astype(np.uint8)
IMG_HW = RNG.random((5, 6))
BATCH = RNG.random((10, 1, 4, 3)).astype(np.float32)  # 10 grey images: a 2-row grid
LABELS = RNG.integers(0, 2, 50)
PROBS = RNG.random(50).astype(np.float32)


def log_everything(lib, writer_cls, logdir) -> None:
    """The same calls with torch's or tapegrad's writer and tensors."""
    T = lib.from_numpy
    with writer_cls(logdir) as w:
        for step in range(3):
            w.add_scalar("loss/train", 1.0 / (step + 1), step)
            w.add_scalar("tensor0d", T(np.array(step * 0.5, dtype=np.float32)), step)
        w.add_scalar("one_element", T(np.array([2.5])), 7)
        w.add_scalar("new_style", 0.125, 1, new_style=True)
        w.add_scalar("double", 1 / 3, 1, new_style=True, double_precision=True)
        w.add_scalars("run/group", {"a": 1.0, "b": T(np.array(2.0))}, 4, walltime=123.0)
        w.add_histogram("weights", T(WEIGHTS), 0)
        w.add_histogram("weights_auto", T(WEIGHTS), 1, bins="auto")
        w.add_histogram("weights_10", WEIGHTS, 2, bins=10)
        w.add_histogram("weights_edges", T(WEIGHTS), 3, bins=[-1.0, 0.0, 0.5, 1.0])
        w.add_histogram("weights_max", T(WEIGHTS), 4, bins=100, max_bins=7)
        w.add_histogram("positive", T(np.abs(WEIGHTS) + 0.5), 5)
        w.add_histogram_raw("raw", 0.0, 3.0, 6, 9.0, 19.0, [1.0, 2.0, 3.0], [1, 2, 3], 6)
        w.add_image("chw", T(IMG_CHW), 0)
        w.add_image("hwc_uint8", T(IMG_HWC_U8), 0, dataformats="HWC")
        w.add_image("hw", T(IMG_HW), 0, dataformats="HW")
        w.add_image("grey_chw", T(IMG_CHW[:1] * 1.5 - 0.2), 0)  # clipped to [0, 1]
        w.add_images("batch", T(BATCH), 0)
        w.add_images("batch_nhwc", T(BATCH.transpose(0, 2, 3, 1).copy()), 0, dataformats="NHWC")
        w.add_text("notes", "**bold** and ünïcode", 3)
        w.add_tensor("t_f32", T(WEIGHTS[:2, :3]), 0)
        w.add_tensor("t_f64", T(IMG_HW), 0)
        w.add_tensor("t_i64", T(LABELS.astype(np.int64)), 0)
        w.add_tensor("t_bool", T(LABELS > 0), 0)
        w.add_audio("sound", T(np.sin(np.arange(100) / 5.0)[None]), 0, sample_rate=8000)
        boxes = T(np.array([[1.0, 1.0, 5.0, 4.0], [0.0, 2.0, 3.0, 5.0]]))
        w.add_image_with_boxes("boxes", T(IMG_CHW), boxes, 0, labels=["cat", "dog"])
        w.add_image_with_boxes("boxes_hwc", T(IMG_HWC_U8), boxes[:1], 1, dataformats="HWC")
        w.add_mesh(
            "mesh", T(WEIGHTS[:3, :3][None]), colors=T(IMG_HWC_U8[:1, :3]),
            faces=T(np.array([[[0, 1, 2]]], dtype=np.int32)), config_dict={"camera": {"fov": 75}},
        )  # fmt: skip
        w.add_pr_curve("pr", T(LABELS), T(PROBS), 0)
        w.add_pr_curve("pr_weighted", LABELS, PROBS, 1, num_thresholds=200, weights=0.5)
        w.add_custom_scalars(
            {"cat": {"losses": ["Multiline", ["loss/train"]], "band": ["Margin", ["a", "b", "c"]]}}
        )
        w.add_hparams(
            {"lr": 0.1, "opt": "sgd", "nesterov": True, "layers": 3, "dropout": None},
            {"hparam/error": 0.25},
            hparam_domain_discrete={"opt": ["sgd", "adam"], "layers": [2, 3]},
            run_name="trial",
        )


def test_events_match_pytorch_field_for_field(tmp_path):
    log_everything(torch, torch_tb.SummaryWriter, str(tmp_path / "torch"))
    log_everything(tapegrad, SummaryWriter, str(tmp_path / "tapegrad"))
    theirs, ours = runs(tmp_path / "torch"), runs(tmp_path / "tapegrad")
    assert sorted(ours) == sorted(theirs) == [".", "run_group_a", "run_group_b", "trial"]
    for run in theirs:
        assert len(ours[run]) == len(theirs[run]), run
        for mine, ref in zip(ours[run], theirs[run]):
            assert mine == ref, f"{run}:\n{mine}\n!=\n{ref}"


def test_event_accumulator_reads_scalars_histograms_images_text(tmp_path):
    log_everything(tapegrad, SummaryWriter, str(tmp_path))
    ea = accumulate(tmp_path)
    tags = ea.Tags()
    assert [(e.step, e.value) for e in ea.Scalars("loss/train")] == [
        (0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3)),
    ]  # fmt: skip
    assert [e.value for e in ea.Scalars("tensor0d")] == [0.0, 0.5, 1.0]
    assert ea.Scalars("one_element")[0].step == 7
    # new-style scalars come back as tensors tagged for the scalars plugin
    assert "new_style" in tags["tensors"]
    assert ea.Tensors("double")[0].tensor_proto.double_val == [1 / 3]
    # histograms: statistics in float64 of all 1200 weights
    h = ea.Histograms("weights")[0].histogram_value
    w64 = WEIGHTS.astype(np.float64).ravel()
    assert h.num == w64.size and h.min == w64.min() and h.max == w64.max()
    assert h.sum == pytest.approx(w64.sum()) and h.sum_squares == pytest.approx(w64 @ w64)
    assert sum(h.bucket) == w64.size and len(h.bucket) == len(h.bucket_limit)
    assert list(ea.Histograms("raw")[0].histogram_value.bucket) == [1, 2, 3]
    # images: decode the PNG and compare pixels
    chw = ea.Images("chw")[0]
    assert (chw.width, chw.height) == (7, 5)
    expected = (IMG_CHW.transpose(1, 2, 0) * 255).clip(0, 255).astype(np.uint8)
    np.testing.assert_array_equal(decode_png(chw.encoded_image_string), expected)
    hwc = decode_png(ea.Images("hwc_uint8")[0].encoded_image_string)
    np.testing.assert_array_equal(hwc, IMG_HWC_U8)
    hw = decode_png(ea.Images("hw")[0].encoded_image_string)
    np.testing.assert_array_equal(hw[..., 1], (IMG_HW * 255).astype(np.float32).astype(np.uint8))
    grid = decode_png(ea.Images("batch")[0].encoded_image_string)
    assert grid.shape == (2 * 4, 8 * 3, 3)  # 8 columns, no padding
    tile = (BATCH[9, 0] * 255).astype(np.uint8)  # image 9: row 1, column 1
    np.testing.assert_array_equal(grid[4:8, 3:6, 0], tile)
    assert (grid[4:8, 6:] == 0).all()  # the rest of the last row is black
    np.testing.assert_array_equal(grid, decode_png(ea.Images("batch_nhwc")[0].encoded_image_string))
    # text, through the text plugin's tag
    text = ea.Tensors("notes/text_summary")[0]
    assert text.step == 3 and text.tensor_proto.string_val == ["**bold** and ünïcode".encode()]
    meta = ea.SummaryMetadata("notes/text_summary")
    assert meta.plugin_data.plugin_name == "text"
    assert ea.SummaryMetadata("pr").plugin_data.plugin_name == "pr_curves"
    sound = ea.Audio("sound")[0]
    assert (sound.sample_rate, sound.length_frames, sound.content_type) == (8000, 100, "audio/wav")
    boxed = decode_png(ea.Images("boxes")[0].encoded_image_string)
    assert ((boxed == [255, 0, 0]).all(-1)).sum() > 10  # red box edges drawn
    assert ea.SummaryMetadata("mesh_VERTEX").plugin_data.plugin_name == "mesh"
    pr = ea.Tensors("pr")[0].tensor_proto
    assert [d.size for d in pr.tensor_shape.dim] == [6, 127]


def test_add_tensor_reads_back_through_tensorboards_make_ndarray(tmp_path):
    from tensorboard.util.tensor_util import make_ndarray

    values = {
        "f16": np.array([[0.5, -2.25], [1e-3, 6e4]], dtype=np.float16),
        "u8": np.array([0, 7, 255], dtype=np.uint8),
        "i32": np.array([[-3, 4]], dtype=np.int32),
        "c64": np.array([1 + 2j, -0.5j], dtype=np.complex64),
        "f64": np.array(np.pi),
    }
    with SummaryWriter(tmp_path) as w:
        for name, arr in values.items():
            w.add_tensor(name, tapegrad.from_numpy(arr), 5)
        with pytest.raises(ValueError, match="unsupported tensor dtype"):
            w.add_tensor("u16", np.zeros(2, np.uint16))
    ea = accumulate(tmp_path)
    for name, arr in values.items():
        event = ea.Tensors(name)[0]
        back = make_ndarray(event.tensor_proto)
        assert event.step == 5 and back.dtype == arr.dtype and back.shape == arr.shape, name
        np.testing.assert_array_equal(back, arr)
    assert ea.SummaryMetadata("f16").plugin_data.plugin_name == "tensor"


def test_add_video_is_an_animated_gif_laid_out_as_pytorch(tmp_path):
    from torch.utils.tensorboard._utils import _prepare_video

    rng = np.random.default_rng(2)
    clips = rng.choice([0.0, 0.5, 1.0], (3, 2, 3, 4, 5)).astype(np.float32)  # 3 clips
    grey = rng.integers(0, 256, (1, 3, 1, 4, 4)).astype(np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_video("clips", tapegrad.from_numpy(clips), 1, fps=10)
        w.add_video("grey", tapegrad.from_numpy(grey), 2)
    ea = accumulate(tmp_path)
    for tag, arr, frames in (("clips", clips, 2), ("grey", grey, 3)):
        event = ea.Images(tag)[0]
        expected = (_prepare_video(arr) * 255).clip(0, 255).astype(np.uint8)
        assert (event.height, event.width) == expected.shape[1:3]
        gif = Image.open(io.BytesIO(event.encoded_image_string))
        assert gif.format == "GIF" and gif.n_frames == frames
        for i in range(frames):
            gif.seek(i)
            got = np.asarray(gif.convert("RGB"))
            np.testing.assert_array_equal(got, np.broadcast_to(expected[i], got.shape))
    assert (
        Image.open(io.BytesIO(ea.Images("clips")[0].encoded_image_string)).info["duration"] == 100
    )


def test_hparams_sub_run_holds_the_plugin_data(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.01, "opt": "adam", "bn": False}, {"hp/acc": 0.9}, run_name="r1")
    ea = accumulate(tmp_path / "r1")
    assert ea.Scalars("hp/acc")[0].value == pytest.approx(0.9)
    content = {
        tag: plugin_data_pb2.HParamsPluginData.FromString(
            ea.SummaryMetadata(tag).plugin_data.content
        )
        for tag in ("_hparams_/experiment", "_hparams_/session_start_info",
                    "_hparams_/session_end_info")
    }  # fmt: skip
    exp = content["_hparams_/experiment"].experiment
    assert [i.name for i in exp.hparam_infos] == ["lr", "opt", "bn"]
    assert [m.name.tag for m in exp.metric_infos] == ["hp/acc"]
    start = content["_hparams_/session_start_info"].session_start_info
    assert start.hparams["lr"].number_value == 0.01
    assert start.hparams["opt"].string_value == "adam"
    assert start.hparams["bn"].number_value == 0.0  # a bool is a number, as in PyTorch
    assert content["_hparams_/session_end_info"].session_end_info.status == 1  # SUCCESS
    with SummaryWriter(tmp_path / "x") as w:
        default = os.listdir(w.get_logdir())
        w.add_hparams({"a": 1}, {"m": 2.0})  # run name: the time
        assert len(set(os.listdir(w.get_logdir())) - set(default)) == 1


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return nn.functional.relu(self.bn(self.conv(x)))


class Net(nn.Module):
    def __init__(self, lib) -> None:
        super().__init__()
        self.features = lib.nn.Sequential(
            lib.nn.Conv2d(1, 4, 3, padding=1), lib.nn.ReLU(), lib.nn.MaxPool2d(2)
        )
        self.head = lib.nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def torch_net():
    class TorchNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = torch.nn.Sequential(
                torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)
            )
            self.head = torch.nn.Linear(4 * 4 * 4, 3)

        def forward(self, x):
            return self.head(self.features(x).flatten(1))

    TorchNet.__name__ = "Net"
    return TorchNet()


def op_scopes(graph, skip) -> set[str]:
    return {n.name.rsplit("/", 1)[0] for n in graph.node if not n.op.startswith(skip)}


def graphs_plugin_pbtxt(logdir, run) -> str:
    """The graph as TensorBoard's graphs plugin serves it to the browser."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.graph.graphs_plugin import GraphsPlugin

    mux = pem.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(logdir))
    plugin = GraphsPlugin(base_plugin.TBContext(data_provider=provider, logdir=str(logdir)))
    ctx = context.RequestContext()
    assert plugin.info_impl(ctx, experiment="")[run]["run_graph"]
    body, mime = plugin.graph_impl(ctx, run, None, False, experiment="")
    assert mime == "text/x-protobuf"
    return body


@pytest.mark.filterwarnings("ignore:`torch.jit.trace")
def test_add_graph_names_modules_like_pytorch_and_tensorboard_reads_it(tmp_path):
    x = np.random.default_rng(1).standard_normal((2, 1, 8, 8)).astype(np.float32)
    with SummaryWriter(tmp_path / "tg") as w:
        w.add_graph(Net(tapegrad), tapegrad.from_numpy(x))
    with torch_tb.SummaryWriter(tmp_path / "torch") as w:
        w.add_graph(torch_net(), torch.from_numpy(x))
    ea, ref = accumulate(tmp_path / "tg"), accumulate(tmp_path / "torch")
    assert ea.Tags()["graph"] and ea.Tags()["run_metadata"] == ["step1"]
    graph, torch_graph = ea.Graph(), ref.Graph()
    # The same module scopes hold computations (PyTorch's ops are aten::*, ours by class).
    ours = op_scopes(graph, ("IO Node", "Parameter"))
    theirs = op_scopes(torch_graph, ("IO Node", "prim::"))
    assert ours == theirs == {
        "Net", "Net/Sequential[features]/Conv2d[0]", "Net/Sequential[features]/ReLU[1]",
        "Net/Sequential[features]/MaxPool2d[2]", "Net/Linear[head]",
    }  # fmt: skip
    nodes = {n.name: n for n in graph.node}
    assert {"input/x", "output/output.1"} <= set(nodes)
    assert nodes["input/x"].op == nodes["output/output.1"].op == "IO Node"

    def shape(name):
        return [d.size for d in nodes[name].attr["_output_shapes"].list.shape[0].dim]

    assert shape("input/x") == [2, 1, 8, 8] and shape("output/output.1") == [2, 3]
    assert shape("Net/Sequential[features]/Conv2d[0]/weight") == [4, 1, 3, 3]
    assert shape("Net/Linear[head]/bias") == [3]
    for node in graph.node:  # every edge points at a node of the graph
        assert all(i.split(":")[0] in nodes for i in node.input), node
    # the output depends on the input and on every parameter
    reached, todo = set(), ["output/output.1"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(i.split(":")[0] for i in nodes[name].input)
    params = {n for n in nodes if nodes[n].op == "Parameter"}
    assert len(params) == 4 and params | {"input/x"} <= reached
    served = graphs_plugin_pbtxt(tmp_path, "tg")
    assert 'name: "Net/Linear[head]/weight"' in served and 'op: "IO Node"' in served


def test_add_graph_nested_modules_kwargs_integer_inputs_and_deep_graphs(tmp_path):
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.block = Block()

        def forward(self, tokens, image):
            return self.emb(tokens).sum(), self.block(image * 2)

    class Deep(nn.Module):
        def forward(self, x):
            for _ in range(3000):  # deeper than Python's recursion limit
                x = x + 1
            return x

    model = Two()
    model.train()
    tokens = tapegrad.tensor([[1, 2], [3, 4]])
    image = tapegrad.randn(1, 1, 4, 4)
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model, (tokens, image))
        assert model.training  # restored after the eval-mode forward
        w.add_graph(Deep(), tapegrad.zeros(2))
    graph = accumulate(tmp_path).Graph()  # the last graph of the run
    assert len(graph.node) == 3000 + 2
    from tapegrad.utils.tensorboard._graph import graph as build

    graph_def, _ = build(model, (tokens, image))
    names = {n.name: n for n in graph_def.node}
    assert {"input/tokens", "input/image", "output/output.1", "output/output.2"} <= set(names)
    assert "Two/Block[block]/BatchNorm2d[bn]/weight" in names
    assert any(n.startswith("Two/Block[block]/Conv2d[conv]/") and names[n].op != "Parameter"
               for n in names)  # fmt: skip
    # the doubling happens in Two's forward, before Block is called: Two's node
    assert any(n.startswith("Two/") and n.count("/") == 1 and "input/image" in names[n].input
               for n in names)  # fmt: skip
    with pytest.raises(TypeError, match="nn.Module"):
        build(lambda x: x, image)

    # an input returned as it is, and a tensor requiring grad that is not a parameter
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = tapegrad.ones(3, requires_grad=True)

        def forward(self, x):
            return x, x * self.scale

    odd = {n.name: n for n in build(Odd(), tapegrad.randn(3))[0].node}
    assert list(odd["output/output.1"].input) == ["input/x"]
    assert odd["Odd/Leaf_1"].op == "Leaf" and "Odd/Leaf_1" in odd["Odd/Mul"].input
    # a parametrized weight: its computation sits in the parametrization's scope
    from tapegrad.nn.utils import parametrizations

    linear = parametrizations.weight_norm(nn.Linear(3, 2))
    names = {n.name: n for n in build(linear, tapegrad.randn(4, 3))[0].node}
    scope = "ParametrizedLinear/ModuleDict[parametrizations]/ParametrizationList[weight]"
    assert names[f"{scope}/original0"].op == "Parameter"
    assert any(n.startswith(f"{scope}/_WeightNorm[0]/") for n in names)


def test_add_onnx_graph_matches_pytorch(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0]),
        helper.make_node("Relu", ["xt"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 2])],
    )  # fmt: skip
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with torch_tb.SummaryWriter(str(tmp_path / "torch")) as w:
        w.add_onnx_graph(str(path))
    with SummaryWriter(tmp_path / "tg") as w:
        w.add_onnx_graph(path)
    assert runs(tmp_path / "tg") == runs(tmp_path / "torch")
    nodes = {n.name: n for n in accumulate(tmp_path / "tg").Graph().node}
    assert nodes["xt"].op == "Transpose"
    assert nodes["xt"].attr["parameters"].s == b"perm = [1, 0] = 7"  # value, then type INTS


def test_add_embedding_files_match_pytorch(tmp_path):
    mat = RNG.standard_normal((5, 3)).astype(np.float32)
    imgs = RNG.random((5, 1, 4, 4)).astype(np.float32)
    meta = [["cat", 1], ["dog", 0], ["cat", 1], ["emu", 2], ["dog", 0]]
    for lib, cls, name in ((torch, torch_tb.SummaryWriter, "torch"),
                           (tapegrad, SummaryWriter, "tg")):  # fmt: skip
        with cls(str(tmp_path / name)) as w:
            labels, sprite = ["a", "b", "c", "d", "e"], lib.from_numpy(imgs)
            w.add_embedding(lib.from_numpy(mat), labels, sprite, global_step=3, tag="feat/x")
            w.add_embedding(lib.from_numpy(mat), metadata=meta, metadata_header=["kind", "n"])
    files = []
    for folder, _, names in os.walk(tmp_path / "torch"):
        files += [os.path.relpath(os.path.join(folder, n), tmp_path / "torch") for n in names
                  if not n.startswith("events")]  # fmt: skip
    assert sorted(files) == [
        "00000/default/metadata.tsv", "00000/default/tensors.tsv",
        "00003/feat%2fx/metadata.tsv", "00003/feat%2fx/sprite.png", "00003/feat%2fx/tensors.tsv",
        "projector_config.pbtxt",
    ]  # fmt: skip
    for f in files:
        assert (tmp_path / "tg" / f).read_bytes() == (tmp_path / "torch" / f).read_bytes(), f
    config = text_format.Parse((tmp_path / "tg" / "projector_config.pbtxt").read_text(),
                               ProjectorConfig())  # fmt: skip
    first = config.embeddings[0]
    assert first.tensor_name == "feat/x:00003" and list(first.sprite.single_image_dim) == [4, 4]
    assert (tmp_path / "tg/00000/default/metadata.tsv").read_text().splitlines()[0] == "kind\tn"
    with pytest.warns(UserWarning, match="Embedding dir exists"):
        SummaryWriter(tmp_path / "tg").add_embedding(mat)
    with pytest.raises(AssertionError, match="#labels"):
        SummaryWriter(tmp_path / "e").add_embedding(mat, metadata=["a"])


def test_add_figure_matches_pytorch(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def figure():
        fig = plt.figure(figsize=(2, 1.5), dpi=40)
        plt.plot([0, 1, 2], [1, 0, 1])
        return fig

    pngs = []
    for cls, name in ((torch_tb.SummaryWriter, "torch"), (SummaryWriter, "tg")):
        with cls(str(tmp_path / name)) as w:
            w.add_figure("fig", figure(), 1)
            w.add_figure("figs", [figure(), figure()], 2, close=False)
        ea = accumulate(tmp_path / name)
        pngs.append([decode_png(ea.Images(t)[0].encoded_image_string) for t in ("fig", "figs")])
        plt.close("all")
    assert pngs[1][0].shape == (60, 80, 3) and pngs[1][1].shape == (60, 160, 3)
    for ours, theirs in zip(pngs[1], pngs[0]):
        np.testing.assert_array_equal(ours, theirs)


def test_log_dir_default_purge_step_close_and_reopen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = datetime.now().strftime("%b%d_%H-%M")
    w = SummaryWriter(comment="_lr0.1")
    logdir = w.get_logdir()
    folder, name = os.path.split(logdir)
    assert folder == "runs" and name.endswith("_" + socket.gethostname() + "_lr0.1")
    assert name[: len(before)] >= before[: len(before) - 2]  # month, day, hour
    w.add_scalar("x", 1.0, 0)
    w.close()
    w.close()  # a second close does nothing
    date_back(logdir)
    w.add_scalar("x", 2.0, 1)  # reopens: a new event file in the same folder
    w.flush()
    w.close()
    assert len([f for f in os.listdir(logdir) if f.startswith("events")]) == 2
    assert [e.value for e in accumulate(logdir).Scalars("x")] == [1.0, 2.0]

    with SummaryWriter("purged") as w:
        for step in range(5):
            w.add_scalar("y", step, step)
    date_back("purged")
    with SummaryWriter("purged", purge_step=2) as w:  # restarted at step 2
        w.add_scalar("y", 20.0, 2)
    assert [(e.step, e.value) for e in accumulate("purged").Scalars("y")] == [
        (0, 0.0), (1, 1.0), (2, 20.0),
    ]  # fmt: skip


def test_errors_are_pytorchs(tmp_path):
    w = SummaryWriter(tmp_path)
    tw = torch_tb.SummaryWriter(str(tmp_path / "torch"))
    cases = [
        (lambda W, lib: W.add_scalar("x", lib.ones(2)), AssertionError),
        (lambda W, lib: W.add_hparams([], {}), TypeError),
        (lambda W, lib: W.add_hparams({"a": [1]}, {}), ValueError),
        (lambda W, lib: W.add_hparams({"a": 1}, {}, {"a": ["x"]}), TypeError),
        (lambda W, lib: W.add_histogram_raw("h", 0, 1, 1, 1, 1, [1, 2], [1]), ValueError),
        (lambda W, lib: W.add_histogram("h", lib.ones(0)), ValueError),
        (lambda W, lib: W.add_image("i", lib.ones(3, 4)), AssertionError),
        (lambda W, lib: W.add_images("i", lib.ones(2, 4, 3, 3)), AssertionError),
        (lambda W, lib: W.add_image("i", lib.ones(3, 4, 4), dataformats="CCW"), AssertionError),
        (lambda W, lib: W.add_custom_scalars_marginchart(["a"]), AssertionError),
        (lambda W, lib: W.add_scalar("x", [1.0]), NotImplementedError),
    ]
    for call, error in cases:
        with pytest.raises(error):
            call(tw, torch)
        with pytest.raises(error):
            call(w, tapegrad)
    w.close()
    tw.close()


def test_missing_tensorboard_names_the_extra(monkeypatch):
    for name in list(sys.modules):
        if name.startswith("tapegrad.utils.tensorboard"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError, match=r'pip install "tapegrad\[tensorboard\]"'):
        import tapegrad.utils.tensorboard  # noqa: F401


# ---------------------------------------------------------------------------------------
# The fit callback and the CLI option


def tiny_images(n, seed):
    """Grey 6x6 images: class k has a bright pixel in row k (3 classes), plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.standard_normal((n, 1, 6, 6)).astype(np.float32) * 0.3
    x[np.arange(n), 0, y, 0] += 3.0
    return tapegrad.from_numpy(x), tapegrad.from_numpy(y)


def test_fit_callback_logs_metrics_lr_histograms_and_misclassified(tmp_path):
    from tapegrad import optim, train
    from tapegrad.utils.data import DataLoader, TensorDataset

    tapegrad.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 3))
    xs, ys = tiny_images(30, 0)
    vx, vy = tiny_images(12, 1)
    vy = (vy + 1) % 3  # wrong labels: the grid of misclassified images is not empty
    loader = DataLoader(TensorDataset(xs, ys), batch_size=10)
    val = DataLoader(TensorDataset(vx, vy), batch_size=6)
    opt = optim.SGD(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    callback = train.TensorBoard(tmp_path, class_names=["a", "b", "c"])
    history = train.fit(model, nn.CrossEntropyLoss(), opt, loader, val, epochs=2,
                        callbacks=[callback], scheduler=sched)  # fmt: skip
    ea = accumulate(tmp_path)
    pairs = [("loss/train", "loss"), ("loss/val", "val_loss"), ("error/train", "error")]
    for tag, key in [*pairs, ("error/val", "val_error"), ("lr", "lr")]:
        got = [(e.step, e.value) for e in ea.Scalars(tag)]
        assert got == [(i + 1, pytest.approx(v, rel=1e-6)) for i, v in enumerate(history[key])]
    assert sorted(ea.Tags()["histograms"]) == ["weights/1.bias", "weights/1.weight"]
    assert [e.step for e in ea.Histograms("weights/1.weight")] == [1, 2]
    # the grid of misclassified validation images, with their classes as text
    wrong = round(history["val_error"][-1] * 12)
    assert wrong > 0
    picture = ea.Images("misclassified")[0]
    assert (picture.width, picture.height) == (6 * min(wrong, 8), 6 * -(-wrong // 8))
    grid = decode_png(picture.encoded_image_string)
    assert grid.min() == 0 and grid.max() == 255  # each image stretched to [0, 1]
    table = ea.Tensors("misclassified/text_summary")[0].tensor_proto.string_val[0].decode()
    assert table.count("\n") == wrong + 1 and "| true | predicted |" in table
    for row in table.splitlines()[2:]:
        _, _, true, predicted, _ = row.split("|")
        assert {true.strip(), predicted.strip()} <= {"a", "b", "c"} and true != predicted
    assert callback.writer is None  # closed


def test_resumed_fit_replaces_the_epochs_it_repeats(tmp_path):
    from tapegrad import optim, train

    xs, ys = tiny_images(12, 0)
    data = [(xs[:6], ys[:6]), (xs[6:], ys[6:])]

    def run(epochs, resume=None):
        tapegrad.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(36, 3))
        opt = optim.SGD(model.parameters(), lr=0.1)
        callbacks = [
            train.ModelCheckpoint(str(tmp_path / "ckpt-{epoch}.pt")),
            train.TensorBoard(tmp_path / "tb", histograms=False),
        ]
        loss = nn.CrossEntropyLoss()
        return train.fit(model, loss, opt, data, epochs=epochs, callbacks=callbacks, resume=resume)

    run(3)  # as if it crashed after logging epoch 3 but only epoch 1's checkpoint counted
    date_back(tmp_path / "tb")  # a crash and a restart are seconds apart
    history = run(3, resume=tmp_path / "ckpt-1.pt")
    got = [(e.step, e.value) for e in accumulate(tmp_path / "tb").Scalars("loss/train")]
    assert [step for step, _ in got] == [1, 2, 3]
    assert [v for _, v in got[1:]] == [pytest.approx(v, rel=1e-6) for v in history["loss"][1:]]


def test_callback_writes_nothing_off_rank_zero(tmp_path, monkeypatch):
    from tapegrad import optim, train
    from tapegrad.train import callbacks

    monkeypatch.setattr(callbacks, "is_main_process", lambda: False)
    model = nn.Linear(36, 3)
    xs, ys = tiny_images(6, 0)
    data = [(xs.flatten(1), ys)]
    opt = optim.SGD(model.parameters(), lr=0.1)
    train.fit(model, nn.CrossEntropyLoss(), opt, data, data, epochs=1,
              callbacks=[train.TensorBoard(tmp_path / "tb")])  # fmt: skip
    assert not (tmp_path / "tb").exists()


def idx(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def fashion_dir(tmp_path, monkeypatch) -> str:
    """Tiny Fashion-MNIST-format files; the test images are noise, so some are
    misclassified. Only these files are searched."""
    from tapegrad.datasets import _utils

    monkeypatch.delenv(_utils.DATA_ENV, raising=False)
    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", (str(tmp_path / "system"),))
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 20)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, (n, 28, 28))
        if prefix == "train":
            images[np.arange(n), 2 * labels + 3, 5:20] = 255
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(idx(images))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(idx(labels))
    return str(tmp_path / "data")


def train_args(data_dir, logdir) -> list[str]:
    return [
        "train", "--model", "mlp", "--dataset", "fashion-mnist", "--epochs", "2",
        "--data-dir", data_dir, "--batch-size", "20", "--seed", "1",
        "--val-fraction", "0.25", "--no-progress", "--tensorboard", str(logdir),
    ]  # fmt: skip


def test_cli_train_tensorboard(tmp_path, monkeypatch, capsys):
    from tapegrad import cli

    data_dir = fashion_dir(tmp_path, monkeypatch)
    logdir = tmp_path / "tb"
    code = cli.main(train_args(data_dir, logdir))
    err = capsys.readouterr().err
    assert code == 0, err
    ea = accumulate(logdir)
    tags = ea.Tags()
    assert {"loss/train", "loss/val", "error/train", "error/val", "lr"} <= set(tags["scalars"])
    assert [e.step for e in ea.Scalars("loss/val")] == [1, 2]
    assert any(t.startswith("weights/") for t in tags["histograms"])
    assert tags["images"] == ["misclassified"]
    grid = decode_png(ea.Images("misclassified")[0].encoded_image_string)
    assert grid.shape[0] % 28 == 0 and grid.shape[1] % 28 == 0
    table = ea.Tensors("misclassified/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "T-shirt/top" in table or "Trouser" in table or "Ankle boot" in table


@pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None,
    reason='mpi4py is not installed: pip install -e ".[distributed]" to run the MPI tests',
)
def test_cli_tensorboard_on_two_processes_writes_from_rank_zero(tmp_path, monkeypatch):
    import subprocess

    data_dir = fashion_dir(tmp_path, monkeypatch)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", TAPEGRAD_NUM_THREADS="1")
    env["TAPEGRAD_DATA"] = str(tmp_path / "nowhere")
    logdir = tmp_path / "tb"
    cmd = [sys.executable, "-m", "tapegrad.cli", *train_args(data_dir, logdir), "--nproc", "2"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len([f for f in os.listdir(logdir) if f.startswith("events")]) == 1  # rank 0 only
    ea = accumulate(logdir)
    assert [e.step for e in ea.Scalars("error/val")] == [1, 2]
    assert ea.Tags()["images"] == ["misclassified"]


def test_cli_says_when_tensorboard_is_missing(tmp_path, monkeypatch, capsys):
    from tapegrad import cli

    for name in list(sys.modules):
        if name.startswith("tapegrad.utils.tensorboard"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    code = cli.main(["train", "--data-dir", str(tmp_path), "--tensorboard", str(tmp_path / "tb")])
    err = capsys.readouterr().err
    assert code == 1 and 'pip install "tapegrad[tensorboard]"' in err
    assert not (tmp_path / "tb").exists()


def test_a_pytorch_program_logs_through_tapegrad_run(tmp_path):
    import subprocess

    script = tmp_path / "train.py"
    script.write_text(
        "import sys\n"
        "import torch\n"
        "from torch.utils.tensorboard import SummaryWriter\n"
        "model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())\n"
        "with SummaryWriter(sys.argv[1]) as writer:\n"
        "    writer.add_graph(model, torch.randn(2, 4))\n"
        "    for step in range(3):\n"
        "        writer.add_scalar('loss', 1.0 / (step + 1), step)\n"
        "    writer.add_histogram('w', model[0].weight, 0)\n"
        "print(type(writer).__module__)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "tapegrad", "run", str(script), str(tmp_path / "tb")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tapegrad.utils.tensorboard.writer"
    ea = accumulate(tmp_path / "tb")
    assert [e.value for e in ea.Scalars("loss")] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert ea.Tags()["graph"] and ea.Tags()["histograms"] == ["w"]
