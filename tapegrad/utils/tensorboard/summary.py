"""The ``Summary`` protocol buffers ``SummaryWriter`` writes, built with TensorBoard's own
protobuf classes (mirrors ``torch.utils.tensorboard.summary``).

Each function returns a ``tensorboard.compat.proto.summary_pb2.Summary`` laid out as
PyTorch lays it out (tags, plugin names, plugin data), so TensorBoard's plugins show
tapegrad's logs exactly as they show PyTorch's.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from google.protobuf import struct_pb2
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

import tapegrad

from ._convert import convert_to_HWC, make_np, prepare_video

__all__ = [
    "scalar",
    "histogram",
    "histogram_raw",
    "make_histogram",
    "image",
    "make_image",
    "text",
    "hparams",
    "pr_curve",
    "pr_curve_raw",
    "compute_curve",
    "custom_scalars",
    "tensor_proto",
    "audio",
    "image_boxes",
    "draw_boxes",
    "mesh",
    "video",
    "make_video",
]


def scalar(
    name: str, tensor: Any, new_style: bool = False, double_precision: bool = False
) -> Summary:
    """A ``Summary`` holding one scalar (``torch.utils.tensorboard.summary.scalar``).

    Args:
        name: the tag, the series name in TensorBoard.
        tensor: a number, or a tensor or array with one element.
        new_style: store it in the ``tensor`` field with the ``scalars`` plugin's
            metadata instead of ``simple_value`` (faster for TensorBoard to load).
        double_precision: with ``new_style``, store a float64 instead of a float32.

    Returns:
        The summary.

    Raises:
        AssertionError: the value has more than one element (PyTorch's type).
    """
    arr = make_np(tensor).squeeze()
    if arr.ndim != 0:
        raise AssertionError(
            f"Tensor should contain one element (0 dimensions). Was given size: {arr.size} "
            f"and {arr.ndim} dimensions."
        )
    value = float(arr)
    if not new_style:
        return Summary(value=[Summary.Value(tag=name, simple_value=value)])
    if double_precision:
        proto = TensorProto(double_val=[value], dtype="DT_DOUBLE")
    else:
        proto = TensorProto(float_val=[value], dtype="DT_FLOAT")
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=name, tensor=proto, metadata=smd)])


def _float_list(values: Any) -> list[float]:
    if isinstance(values, tapegrad.Tensor):
        values = make_np(values)
    return np.asarray(values, dtype=np.float64).reshape(-1).tolist()


def histogram_raw(
    name: str,
    min: float,  # noqa: A002 -- PyTorch's argument names
    max: float,  # noqa: A002
    num: int,
    sum: float,  # noqa: A002
    sum_squares: float,
    bucket_limits: Sequence[float],
    bucket_counts: Sequence[float],
) -> Summary:
    """A ``Summary`` holding a histogram given by its statistics and buckets
    (``torch.utils.tensorboard.summary.histogram_raw``); ``bucket_limits[i]`` is the
    upper edge of the bucket holding ``bucket_counts[i]`` values.

    Args:
        name: the name the data is shown under.
        min: the smallest value.
        max: the largest value.
        num: the number of values.
        sum: the sum of the values.
        sum_squares: the sum of the squared values.
        bucket_limits: the upper edge of each bucket.
        bucket_counts: the number of values in each bucket.
    """
    hist = HistogramProto(
        min=min,
        max=max,
        num=num,
        sum=sum,
        sum_squares=sum_squares,
        bucket_limit=_float_list(bucket_limits),
        bucket=_float_list(bucket_counts),
    )
    return Summary(value=[Summary.Value(tag=name, histo=hist)])


def histogram(name: str, values: Any, bins: Any, max_bins: int | None = None) -> Summary:
    """A ``Summary`` holding the histogram of ``values``
    (``torch.utils.tensorboard.summary.histogram``).

    Args:
        name: the tag.
        values: a tensor or array of any shape.
        bins: bucket edges, a count or a NumPy method name, as ``numpy.histogram`` takes.
        max_bins: merge neighbouring buckets so that at most about this many remain.
    """
    hist = make_histogram(make_np(values).astype(float), bins, max_bins)
    return Summary(value=[Summary.Value(tag=name, histo=hist)])


def make_histogram(values: np.ndarray, bins: Any, max_bins: int | None = None) -> HistogramProto:
    """The ``HistogramProto`` of ``values`` (PyTorch's ``make_histogram``, after
    TensorFlow's ``histogram.cc``): empty buckets at both ends are dropped, keeping one
    empty bucket below the first non-empty one so that TensorBoard sees its lower edge.

    Args:
        values: the values to bin.
        bins: bucket edges, a count or a NumPy method name, as ``numpy.histogram`` takes.
        max_bins: merge neighbouring buckets so that at most about this many remain.

    Raises:
        ValueError: ``values`` is empty, or no value falls in any bucket.
    """
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    num_bins = len(counts)
    if max_bins is not None and num_bins > max_bins:
        # Sum groups of `step` neighbouring buckets (the last group padded with zeros).
        step = num_bins // max_bins
        if num_bins % step:
            counts = np.pad(counts, (0, step - num_bins % step))
        counts = counts.reshape(-1, step).sum(axis=-1)
        limits = np.concatenate([limits[:-1:step], limits[-1:]])
    nonzero = np.flatnonzero(counts)
    if nonzero.size == 0:
        raise ValueError(
            "The histogram is empty: no value falls inside the bins (values from "
            f"{values.min()} to {values.max()}, bins from {limits[0]} to {limits[-1]})"
        )
    first, last = int(nonzero[0]), int(nonzero[-1])
    if first > 0:
        counts = counts[first - 1 : last + 1]
    else:
        counts = np.concatenate([[0], counts[: last + 1]])
    limits = limits[first : last + 2]
    return HistogramProto(
        min=values.min(),
        max=values.max(),
        num=len(values),
        sum=values.sum(),
        sum_squares=values.dot(values),
        bucket_limit=limits.tolist(),
        bucket=counts.tolist(),
    )


def _scale_factor(array: np.ndarray) -> int:
    # uint8 images are already in [0, 255]; anything else is taken to be in [0, 1].
    return 1 if array.dtype == np.uint8 else 255


def image(tag: str, tensor: Any, rescale: float = 1, dataformats: str = "NCHW") -> Summary:
    """A ``Summary`` holding one PNG image (``torch.utils.tensorboard.summary.image``).

    Args:
        tag: the tag.
        tensor: uint8 values in [0, 255], or floats in [0, 1] (scaled by 255); values
            outside are clipped.
        rescale: resize factor applied before encoding.
        dataformats: the layout of ``tensor``: ``"CHW"``, ``"HWC"``, ``"HW"``, ``"NCHW"``
            (a batch, shown as a grid of 8 columns), ...
    """
    arr = convert_to_HWC(make_np(tensor), dataformats)
    scale = _scale_factor(arr)
    arr = (arr.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=make_image(arr, rescale=rescale))])


def make_image(
    tensor: np.ndarray,
    rescale: float = 1,
    boxes: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
) -> Summary.Image:
    """A ``Summary.Image``: a uint8 (H, W, C) array encoded as PNG with Pillow (PyTorch's
    ``make_image``), with ``boxes`` drawn on it; ``rescale`` resizes it with Lanczos
    filtering first.

    Args:
        tensor: uint8 image of shape (H, W, C).
        rescale: factor the image is resized by before encoding.
        boxes: optional (N, 4) boxes (xmin, ymin, xmax, ymax) to draw.
        labels: optional text label for each box.
    """
    from PIL import Image

    height, width, channels = tensor.shape
    picture = Image.fromarray(tensor)
    if boxes is not None:
        picture = draw_boxes(picture, boxes, labels=labels)
    size = (int(width * rescale), int(height * rescale))
    if size != picture.size:
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    with io.BytesIO() as out:
        picture.save(out, format="PNG")
        encoded = out.getvalue()
    return Summary.Image(
        height=height, width=width, colorspace=channels, encoded_image_string=encoded
    )


def text(tag: str, text: str) -> Summary:
    """A ``Summary`` for TensorBoard's text plugin, tagged ``tag + "/text_summary"``
    (``torch.utils.tensorboard.summary.text``); the text may be Markdown.

    Args:
        tag: the name the data is shown under.
        text: the text, which may be Markdown.
    """
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

    plugin_data = SummaryMetadata.PluginData(
        plugin_name="text", content=TextPluginData(version=0).SerializeToString()
    )
    proto = TensorProto(
        dtype="DT_STRING",
        string_val=[text.encode("utf_8")],
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
    )
    value = Summary.Value(
        tag=tag + "/text_summary", metadata=SummaryMetadata(plugin_data=plugin_data), tensor=proto
    )
    return Summary(value=[value])


def _hparams_summary(tag: str, **content) -> Summary:
    from tensorboard.plugins.hparams.metadata import PLUGIN_DATA_VERSION, PLUGIN_NAME
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    data = HParamsPluginData(version=PLUGIN_DATA_VERSION, **content)
    smd = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME, content=data.SerializeToString()
        )
    )
    return Summary(value=[Summary.Value(tag=tag, metadata=smd)])


def _domain(values: list, field: str) -> struct_pb2.ListValue:
    return struct_pb2.ListValue(values=[struct_pb2.Value(**{field: v}) for v in values])


def hparams(
    hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None
) -> tuple[Summary, Summary, Summary]:
    """The three summaries of TensorBoard's hparams plugin: the experiment (names of the
    hyperparameters and metrics), the session start (the values) and the session end
    (``torch.utils.tensorboard.summary.hparams``).

    Args:
        hparam_dict: hyperparameter name to value: a number, a bool (stored as a number,
            as PyTorch does), a string, a one-element tensor, or None (left out).
        metric_dict: metric name to value; only the names are stored here.
        hparam_domain_discrete: hyperparameter name to the list of values it can take.

    Returns:
        ``(experiment, session_start_info, session_end_info)``.

    Raises:
        TypeError: an argument is not a dict, or a domain is not a list of values of the
            hyperparameter's type.
        ValueError: a hyperparameter of another type.
    """
    from tensorboard.plugins.hparams.api_pb2 import (
        DataType,
        Experiment,
        HParamInfo,
        MetricInfo,
        MetricName,
        Status,
    )
    from tensorboard.plugins.hparams.metadata import (
        EXPERIMENT_TAG,
        SESSION_END_INFO_TAG,
        SESSION_START_INFO_TAG,
    )
    from tensorboard.plugins.hparams.plugin_data_pb2 import SessionEndInfo, SessionStartInfo

    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in domains.items():
        if (
            k not in hparam_dict
            or not isinstance(v, list)
            or not all(isinstance(d, type(hparam_dict[k])) for d in v)
        ):
            raise TypeError(
                f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                f"hparam_dict[{k}]."
            )
    infos = []
    start = SessionStartInfo()
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, (int, float)):  # bool included, as in PyTorch
            start.hparams[k].number_value = v
            domain = _domain(domains[k], "number_value") if k in domains else None
            infos.append(
                HParamInfo(name=k, type=DataType.Value("DATA_TYPE_FLOAT64"), domain_discrete=domain)
            )
        elif isinstance(v, str):
            start.hparams[k].string_value = v
            domain = _domain(domains[k], "string_value") if k in domains else None
            infos.append(
                HParamInfo(name=k, type=DataType.Value("DATA_TYPE_STRING"), domain_discrete=domain)
            )
        elif isinstance(v, tapegrad.Tensor):
            start.hparams[k].number_value = make_np(v).reshape(-1)[0]
            infos.append(HParamInfo(name=k, type=DataType.Value("DATA_TYPE_FLOAT64")))
        else:
            raise ValueError(
                f"value should be one of int, float, str, bool, or tapegrad.Tensor; "
                f"hparam_dict[{k!r}] is a {type(v).__name__}"
            )
    metrics = [MetricInfo(name=MetricName(tag=k)) for k in metric_dict]
    experiment = Experiment(hparam_infos=infos, metric_infos=metrics)
    end = SessionEndInfo(status=Status.Value("STATUS_SUCCESS"))
    return (
        _hparams_summary(EXPERIMENT_TAG, experiment=experiment),
        _hparams_summary(SESSION_START_INFO_TAG, session_start_info=start),
        _hparams_summary(SESSION_END_INFO_TAG, session_end_info=end),
    )


def compute_curve(
    labels: np.ndarray, predictions: np.ndarray, num_thresholds: int, weights: Any = None
) -> np.ndarray:
    """The (6, num_thresholds) array of true/false positive/negative counts, precision and
    recall at ``num_thresholds`` evenly spaced thresholds (PyTorch's ``compute_curve``).

    Args:
        labels: binary ground-truth labels.
        predictions: predicted probabilities in [0, 1].
        num_thresholds: number of evenly spaced thresholds.
        weights: optional per-example weights (default 1).
    """
    minimum_count = 1e-7  # keeps precision and recall finite where nothing is predicted
    if weights is None:
        weights = 1.0
    buckets = np.int32(np.floor(predictions * (num_thresholds - 1)))
    positive = labels.astype(np.float64)
    span = (0, num_thresholds - 1)
    tp_buckets, _ = np.histogram(
        buckets, bins=num_thresholds, range=span, weights=positive * weights
    )
    fp_buckets, _ = np.histogram(
        buckets, bins=num_thresholds, range=span, weights=(1.0 - positive) * weights
    )
    # Counts at or above each threshold: reversed cumulative sums.
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(minimum_count, tp + fp)
    recall = tp / np.maximum(minimum_count, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def _pr_summary(tag: str, data: np.ndarray, num_thresholds: int) -> Summary:
    from tensorboard.plugins.pr_curve.plugin_data_pb2 import PrCurvePluginData

    content = PrCurvePluginData(version=0, num_thresholds=num_thresholds).SerializeToString()
    smd = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(plugin_name="pr_curves", content=content)
    )
    proto = TensorProto(
        dtype="DT_FLOAT",
        float_val=data.reshape(-1).tolist(),
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=s) for s in data.shape]),
    )
    return Summary(value=[Summary.Value(tag=tag, metadata=smd, tensor=proto)])


def pr_curve(
    tag: str, labels: Any, predictions: Any, num_thresholds: int = 127, weights: Any = None
) -> Summary:
    """A ``Summary`` for TensorBoard's PR-curve plugin from binary ``labels`` and
    ``predictions`` in [0, 1] (``torch.utils.tensorboard.summary.pr_curve``); at most 127
    thresholds, as in PyTorch.

    Args:
        tag: the name the data is shown under.
        labels: binary ground-truth labels.
        predictions: predicted probabilities in [0, 1], same shape as ``labels``.
        num_thresholds: number of evenly spaced thresholds in [0, 1]; at most 127.
        weights: optional per-example weights (default 1).
    """
    num_thresholds = min(num_thresholds, 127)
    data = compute_curve(make_np(labels), make_np(predictions), num_thresholds, weights)
    return _pr_summary(tag, data, num_thresholds)


def pr_curve_raw(
    tag: str,
    tp: Any,
    fp: Any,
    tn: Any,
    fn: Any,
    precision: Any,
    recall: Any,
    num_thresholds: int = 127,
    weights: Any = None,
) -> Summary:
    """A ``Summary`` for the PR-curve plugin from counts already computed
    (``torch.utils.tensorboard.summary.pr_curve_raw``).

    Args:
        tag: the name the data is shown under.
        tp: true-positive count at each threshold.
        fp: false-positive count at each threshold.
        tn: true-negative count at each threshold.
        fn: false-negative count at each threshold.
        precision: precision at each threshold.
        recall: recall at each threshold.
        num_thresholds: number of evenly spaced thresholds in [0, 1]; at most 127.
        weights: accepted for PyTorch's signature; unused.
    """
    num_thresholds = min(num_thresholds, 127)
    data = np.stack([make_np(v) for v in (tp, fp, tn, fn, precision, recall)])
    return _pr_summary(tag, data, num_thresholds)


def custom_scalars(layout: dict) -> Summary:
    """The layout ``Summary`` of TensorBoard's custom-scalars plugin
    (``torch.utils.tensorboard.summary.custom_scalars``).

    Args:
        layout: ``{category: {chart title: ["Multiline" or "Margin", [tags]]}}``; a
            margin chart takes three tags (value, lower, upper).

    Raises:
        AssertionError: a margin chart without exactly three tags (PyTorch's type).
    """
    from tensorboard.plugins.custom_scalar import layout_pb2

    categories = []
    for title, charts in layout.items():
        protos = []
        for chart_name, (kind, tags) in charts.items():
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError(
                        f"a Margin chart takes 3 tags (value, lower, upper), got {len(tags)}"
                    )
                series = layout_pb2.MarginChartContent.Series(
                    value=tags[0], lower=tags[1], upper=tags[2]
                )
                margin = layout_pb2.MarginChartContent(series=[series])
                protos.append(layout_pb2.Chart(title=chart_name, margin=margin))
            else:
                multiline = layout_pb2.MultilineChartContent(tag=tags)
                protos.append(layout_pb2.Chart(title=chart_name, multiline=multiline))
        categories.append(layout_pb2.Category(title=title, chart=protos))
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="custom_scalars"))
    proto = TensorProto(
        dtype="DT_STRING",
        string_val=[layout_pb2.Layout(category=categories).SerializeToString()],
        tensor_shape=TensorShapeProto(),
    )
    value = Summary.Value(tag="custom_scalars__config__", tensor=proto, metadata=smd)
    return Summary(value=[value])


def _half_bits(a: np.ndarray) -> list[int]:
    # half_val holds each 16-bit float's bit pattern, which is how TensorBoard reads it.
    return a.reshape(-1).view(np.uint16).tolist()


def _complex_parts(a: np.ndarray) -> list[float]:
    return np.stack([a.real, a.imag], -1).reshape(-1).tolist()


def _flat_list(a: np.ndarray) -> list:
    return a.reshape(-1).tolist()


# NumPy dtype name -> (TensorProto dtype, field, conversion). uint8 goes to int_val and
# float16 to half_val as bit patterns: what TensorBoard's make_ndarray reads back.
_TENSOR_TYPES = {
    "float16": ("DT_HALF", "half_val", _half_bits),
    "bfloat16": ("DT_BFLOAT16", "half_val", _half_bits),
    "float32": ("DT_FLOAT", "float_val", _flat_list),
    "float64": ("DT_DOUBLE", "double_val", _flat_list),
    "int8": ("DT_INT8", "int_val", _flat_list),
    "uint8": ("DT_UINT8", "int_val", _flat_list),
    "int16": ("DT_INT16", "int_val", _flat_list),
    "int32": ("DT_INT32", "int_val", _flat_list),
    "int64": ("DT_INT64", "int64_val", _flat_list),
    "bool": ("DT_BOOL", "bool_val", _flat_list),
    "complex64": ("DT_COMPLEX64", "scomplex_val", _complex_parts),
    "complex128": ("DT_COMPLEX128", "dcomplex_val", _complex_parts),
}


def tensor_proto(tag: str, tensor: Any) -> Summary:
    """A ``Summary`` holding a whole tensor for TensorBoard's tensor data
    (``torch.utils.tensorboard.summary.tensor_proto``).

    Args:
        tag: the name the data is shown under.
        tensor: the tensor or array to store.

    Raises:
        ValueError: a tensor of 2 GB or more (protocol buffers' limit), or of a dtype
            TensorBoard has no field for.
    """
    arr = tensor.detach().cpu().numpy() if isinstance(tensor, tapegrad.Tensor) else tensor
    arr = np.asarray(arr)
    if arr.nbytes >= 1 << 31:
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    if arr.dtype.name not in _TENSOR_TYPES:
        raise ValueError(f"{tag} has unsupported tensor dtype {arr.dtype}")
    dtype, field, convert = _TENSOR_TYPES[arr.dtype.name]
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=d) for d in arr.shape])
    proto = TensorProto(dtype=dtype, tensor_shape=shape, **{field: convert(arr)})
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="tensor"))
    return Summary(value=[Summary.Value(tag=tag, metadata=smd, tensor=proto)])


def audio(tag: str, tensor: Any, sample_rate: int = 44100) -> Summary:
    """A ``Summary`` holding a mono 16-bit WAV clip of samples in [-1, 1]
    (``torch.utils.tensorboard.summary.audio``); louder samples are clipped, with a
    warning.

    Args:
        tag: the name the data is shown under.
        tensor: the samples, in [-1, 1], one-dimensional once squeezed.
        sample_rate: samples per second.

    Raises:
        AssertionError: the samples are not one-dimensional once squeezed (PyTorch's type).
    """
    import wave

    array = make_np(tensor).squeeze()
    if abs(array).max() > 1:
        warnings.warn("audio amplitude out of range, auto clipped.", stacklevel=3)
        array = array.clip(-1, 1)
    if array.ndim != 1:
        raise AssertionError(f"input tensor should be 1 dimensional, got shape {array.shape}")
    array = (array * np.iinfo(np.int16).max).astype("<i2")
    with io.BytesIO() as out:
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate)
            wav.writeframes(array.data)
        encoded = out.getvalue()
    clip = Summary.Audio(
        sample_rate=sample_rate,
        num_channels=1,
        length_frames=array.shape[-1],
        encoded_audio_string=encoded,
        content_type="audio/wav",
    )
    return Summary(value=[Summary.Value(tag=tag, audio=clip)])


def _draw_box(picture, xmin, ymin, xmax, ymax, label, color="black", thickness=2):
    # One rectangle, and its label on a filled band at the bottom, as PyTorch draws them.
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default()
    draw = ImageDraw.Draw(picture)
    left, right, top, bottom = xmin, xmax, ymin, ymax
    corners = [(left, top), (left, bottom), (right, bottom), (right, top), (left, top)]
    draw.line(corners, width=thickness, fill=color)
    if label:
        x0, y0, x1, y1 = font.getbbox(label)
        width, height = x1 - x0, y1 - y0
        margin = np.ceil(0.05 * height)
        band = [(left, bottom - height - 2 * margin), (left + width, bottom)]
        draw.rectangle(band, fill=color)
        draw.text((left + margin, bottom - height - margin), label, fill="black", font=font)
    return picture


def draw_boxes(picture, boxes: np.ndarray, labels: Sequence[str] | None = None):
    """Draw red (xmin, ymin, xmax, ymax) boxes, with optional labels, on a PIL image
    (``torch.utils.tensorboard.summary.draw_boxes``).

    Args:
        picture: the PIL image, drawn on in place.
        boxes: (N, 4) array of (xmin, ymin, xmax, ymax) pixel boxes.
        labels: optional text label for each box.

    Returns:
        the same PIL image.
    """
    for i in range(boxes.shape[0]):
        label = None if labels is None else labels[i]
        picture = _draw_box(picture, *boxes[i, :4], label, color="Red")
    return picture


def image_boxes(
    tag: str,
    tensor_image: Any,
    tensor_boxes: Any,
    rescale: float = 1,
    dataformats: str = "CHW",
    labels: Sequence[str] | None = None,
) -> Summary:
    """A ``Summary`` holding an image with boxes drawn on it
    (``torch.utils.tensorboard.summary.image_boxes``); boxes are (N, 4) rows of
    (xmin, ymin, xmax, ymax) in pixels.

    Args:
        tag: the name the data is shown under.
        tensor_image: the image, laid out as ``dataformats`` says.
        tensor_boxes: (N, 4) boxes of (xmin, ymin, xmax, ymax) pixels.
        rescale: factor the image is resized by before encoding.
        dataformats: the image layout, such as ``'CHW'`` or ``'HWC'``.
        labels: optional text label for each box.
    """
    arr = convert_to_HWC(make_np(tensor_image), dataformats)
    arr = (arr.astype(np.float32) * _scale_factor(arr)).clip(0, 255).astype(np.uint8)
    boxes = make_np(tensor_boxes)
    picture = make_image(arr, rescale=rescale, boxes=boxes, labels=labels)
    return Summary(value=[Summary.Value(tag=tag, image=picture)])


def _mesh_value(name, display_name, description, tensor, content_type, components, config):
    from tensorboard.plugins.mesh import metadata

    arr = (
        make_np(tensor) if isinstance(tensor, (tapegrad.Tensor, np.ndarray)) else np.asarray(tensor)
    )
    smd = metadata.create_summary_metadata(
        name, display_name, content_type, components, arr.shape, description,
        json_config=config,
    )  # fmt: skip
    proto = TensorProto(
        dtype="DT_FLOAT",
        float_val=arr.reshape(-1).tolist(),
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=d) for d in arr.shape[:3]]),
    )
    tag = metadata.get_instance_name(name, content_type)
    return Summary.Value(tag=tag, tensor=proto, metadata=smd)


def mesh(
    tag: str,
    vertices: Any,
    colors: Any,
    faces: Any,
    config_dict: dict | None,
    display_name: str | None = None,
    description: str | None = None,
) -> Summary:
    """A ``Summary`` for TensorBoard's mesh plugin: (B, N, 3) vertices, optional (B, N, 3)
    colors and (B, F, 3) faces (``torch.utils.tensorboard.summary.mesh``); ``config_dict``
    holds three.js settings (camera, lights, material).

    Args:
        tag: the name the data is shown under.
        vertices: (B, N, 3) vertex positions.
        colors: optional (B, N, 3) vertex colours, or ``None``.
        faces: optional (B, F, 3) vertex indices of each face, or ``None``.
        config_dict: three.js settings (camera, lights, material), or ``None``.
        display_name: optional name shown in TensorBoard.
        description: optional description shown in TensorBoard.
    """
    from tensorboard.plugins.mesh import metadata
    from tensorboard.plugins.mesh.plugin_data_pb2 import MeshPluginData

    config = "{}" if config_dict is None else json.dumps(config_dict, sort_keys=True)
    parts = [
        (vertices, MeshPluginData.VERTEX),
        (faces, MeshPluginData.FACE),
        (colors, MeshPluginData.COLOR),
    ]
    parts = [(t, kind) for t, kind in parts if t is not None]
    components = metadata.get_components_bitmask([kind for _, kind in parts])
    values = [
        _mesh_value(tag, display_name, description, t, kind, components, config)
        for t, kind in parts
    ]
    return Summary(value=values)


def video(tag: str, tensor: Any, fps: float = 4) -> Summary:
    """A ``Summary`` holding a clip as an animated GIF, shown by TensorBoard's image tab
    (``torch.utils.tensorboard.summary.video``).

    Args:
        tag: the tag.
        tensor: (B, T, C, H, W) clips, uint8 in [0, 255] or floats in [0, 1]; the B clips
            play side by side in a grid.
        fps: frames per second.
    """
    frames = prepare_video(make_np(tensor))
    frames = (frames.astype(np.float32) * _scale_factor(frames)).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=make_video(frames, fps))])


def make_video(tensor: np.ndarray, fps: float) -> Summary.Image:
    """A ``Summary.Image`` holding uint8 (T, H, W, C) frames as a looping animated GIF,
    written with Pillow (PyTorch writes it with moviepy).

    Args:
        tensor: uint8 frames of shape (T, H, W, C).
        fps: frames per second of the animation.
    """
    from PIL import Image

    t, h, w, c = tensor.shape
    if c == 1:
        frames = [Image.fromarray(np.ascontiguousarray(f[:, :, 0])) for f in tensor]
    else:  # GIF has no alpha channel: RGBA is shown as RGB
        frames = [Image.fromarray(np.ascontiguousarray(f[:, :, :3])) for f in tensor]
    with io.BytesIO() as out:
        frames[0].save(
            out, format="GIF", save_all=True, append_images=frames[1:],
            duration=1000.0 / fps, loop=0,
        )  # fmt: skip
        encoded = out.getvalue()
    return Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=encoded)
