"""``SummaryWriter``: log scalars, histograms, images, text, hyperparameters, graphs and
embeddings for TensorBoard (mirrors ``torch.utils.tensorboard.writer``).

Events go through the ``tensorboard`` package's own ``EventFileWriter`` (its record
format, its background flushing), so any TensorBoard reads them.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tensorboard.compat.proto.event_pb2 import Event, SessionLog, TaggedRunMetadata
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from ._convert import figure_to_image, make_np
from .summary import (
    audio,
    custom_scalars,
    histogram,
    histogram_raw,
    hparams,
    image,
    image_boxes,
    mesh,
    pr_curve,
    pr_curve_raw,
    scalar,
    tensor_proto,
    text,
    video,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FileWriter", "SummaryWriter"]


class FileWriter:
    """Writes ``Event`` protocol buffers to one event file in ``log_dir``
    (``torch.utils.tensorboard.writer.FileWriter``).

    Args:
        log_dir: the folder of the event file (created if missing).
        max_queue: pending events that force a write to disk.
        flush_secs: the longest time, in seconds, between writes to disk.
        filename_suffix: appended to the event file's name.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs, filename_suffix)

    def get_logdir(self) -> str:
        """The folder the event file is in (``FileWriter.get_logdir``)."""
        return self.event_writer.get_logdir()

    def add_event(
        self, event: Event, step: int | None = None, walltime: float | None = None
    ) -> None:
        """Write an ``Event``, stamped with ``walltime`` (default: now) and ``step``
        (``FileWriter.add_event``)."""
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(
        self, summary: Summary, global_step: int | None = None, walltime: float | None = None
    ) -> None:
        """Write a ``Summary`` wrapped in an ``Event`` (``FileWriter.add_summary``)."""
        self.add_event(Event(summary=summary), global_step, walltime)

    def add_graph(self, graph_profile: tuple, walltime: float | None = None) -> None:
        """Write a ``(GraphDef, RunMetadata)`` pair: the graph, then the run metadata
        tagged ``"step1"`` (``FileWriter.add_graph``)."""
        graph_def, stepstats = graph_profile
        self.add_event(Event(graph_def=graph_def.SerializeToString()), None, walltime)
        trm = TaggedRunMetadata(tag="step1", run_metadata=stepstats.SerializeToString())
        self.add_event(Event(tagged_run_metadata=trm), None, walltime)

    def add_onnx_graph(self, graph: Any, walltime: float | None = None) -> None:
        """Write a ``GraphDef`` made from an ONNX model (``FileWriter.add_onnx_graph``)."""
        self.add_event(Event(graph_def=graph.SerializeToString()), None, walltime)

    def flush(self) -> None:
        """Write pending events to disk (``FileWriter.flush``)."""
        self.event_writer.flush()

    def close(self) -> None:
        """Flush and close the event file (``FileWriter.close``)."""
        self.event_writer.close()

    def reopen(self) -> None:
        """Open a new event file in the same folder after ``close`` (``FileWriter.reopen``)."""
        self.event_writer.reopen()


def _default_bins() -> list[float]:
    # TensorFlow's default histogram buckets: ±1e-12 growing by 10% up to ±1e20, and 0.
    # Built by the same repeated multiplication as PyTorch, so the edges are identical.
    v = 1e-12
    buckets, neg_buckets = [], []
    while v < 1e20:
        buckets.append(v)
        neg_buckets.append(-v)
        v *= 1.1
    return neg_buckets[::-1] + [0] + buckets


def _encode(rawstr: str) -> str:
    # A tag as one folder name: '%', '/' and '\\' percent-encoded, as PyTorch does.
    return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


class SummaryWriter:
    """Writes entries to event files in ``log_dir`` for TensorBoard
    (``torch.utils.tensorboard.SummaryWriter``).

    Writes happen in the background; ``flush`` forces them, ``close`` (or leaving a
    ``with`` block) ends them. View the logs with ``tensorboard --logdir runs``.

    Args:
        log_dir: the folder of the event files; default ``runs/<date>_<hostname><comment>``,
            e.g. ``runs/Dec01_17-50-35_myhost``.
        comment: appended to the default ``log_dir``; ignored when ``log_dir`` is given.
        purge_step: when a run that crashed at step T+X restarts at step T, events of
            steps >= T are hidden from TensorBoard (use the same ``log_dir``).
        max_queue: pending events that force a write to disk.
        flush_secs: the longest time, in seconds, between writes to disk.
        filename_suffix: appended to the event files' names.

    Example::

        >>> with SummaryWriter(comment="_lr0.1") as writer:
        ...     writer.add_scalar("loss/train", 0.5, global_step=1)
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        if not log_dir:
            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] | None = None
        self._get_file_writer()
        self.default_bins = _default_bins()

    def _get_file_writer(self) -> FileWriter:
        """The main ``FileWriter``, opened again if the writer was closed."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(
                self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix
            )
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                # A restart marker: TensorBoard drops earlier events from this step on.
                step = self.purge_step
                self.file_writer.add_event(Event(step=step, file_version="brain.Event:2"))
                self.file_writer.add_event(
                    Event(step=step, session_log=SessionLog(status=SessionLog.START))
                )
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str | os.PathLike:
        """The folder the event files are written to (``SummaryWriter.get_logdir``)."""
        return self.log_dir

    def add_hparams(
        self,
        hparam_dict: dict,
        metric_dict: dict,
        hparam_domain_discrete: dict[str, list] | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """Add hyperparameters and their metrics for TensorBoard's HPARAMS tab
        (``SummaryWriter.add_hparams``).

        The record goes to a sub-run ``log_dir/run_name``, with each metric logged there
        as a scalar, as PyTorch does.

        Args:
            hparam_dict: name to value (bool, str, int, float, one-element tensor or None).
            metric_dict: name to value of the metrics (use tags not logged elsewhere).
            hparam_domain_discrete: name to the list of values a hyperparameter can take.
            run_name: the sub-run's folder name; default: the current time.
            global_step: the step to record.

        Raises:
            TypeError: ``hparam_dict`` or ``metric_dict`` is not a dict.
        """
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as w_hp:
            fw = w_hp._get_file_writer()
            fw.add_summary(exp, global_step)
            fw.add_summary(ssi, global_step)
            fw.add_summary(sei, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Add one scalar (``SummaryWriter.add_scalar``).

        Args:
            tag: the series name, e.g. ``"loss/train"``.
            scalar_value: a number or a one-element tensor.
            global_step: the step (x axis).
            walltime: seconds since the epoch to record instead of now.
            new_style: store it in the tensor field (faster for TensorBoard to load).
            double_precision: with ``new_style``, store a float64.
        """
        summary = scalar(tag, scalar_value, new_style=new_style, double_precision=double_precision)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add several scalars drawn in one chart (``SummaryWriter.add_scalars``).

        Each ``tag`` gets its own sub-run ``log_dir/<main_tag>_<tag>`` (``/`` in
        ``main_tag`` becomes ``_``), in which the value is logged under ``main_tag``.

        Args:
            main_tag: the chart's tag.
            tag_scalar_dict: series name to value.
            global_step: the step.
            walltime: seconds since the epoch to record instead of now.
        """
        walltime = time.time() if walltime is None else walltime
        fw_logdir = self._get_file_writer().get_logdir()
        assert self.all_writers is not None  # opened by _get_file_writer
        for tag, scalar_value in tag_scalar_dict.items():
            fw_tag = fw_logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            fw = self.all_writers.get(fw_tag)
            if fw is None:
                fw = FileWriter(fw_tag, self.max_queue, self.flush_secs, self.filename_suffix)
                self.all_writers[fw_tag] = fw
            fw.add_summary(scalar(main_tag, scalar_value), global_step, walltime)

    def add_tensor(
        self,
        tag: str,
        tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add a whole tensor, read back with its dtype and shape
        (``SummaryWriter.add_tensor``).

        Args:
            tag: the tag.
            tensor: a tensor (or array) of a float, int, bool or complex dtype.
            global_step: the step.
            walltime: seconds since the epoch to record instead of now.
        """
        self._get_file_writer().add_summary(tensor_proto(tag, tensor), global_step, walltime)

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        bins: Any = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """Add a histogram of ``values`` (``SummaryWriter.add_histogram``).

        Args:
            tag: the tag.
            values: a tensor or array of any shape.
            global_step: the step.
            bins: ``"tensorflow"`` (TensorFlow's exponential buckets), or anything
                ``numpy.histogram`` takes: a count, edges, or a method such as ``"auto"``
                or ``"fd"``.
            walltime: seconds since the epoch to record instead of now.
            max_bins: merge neighbouring buckets so that about this many remain.
        """
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._get_file_writer().add_summary(
            histogram(tag, values, bins, max_bins=max_bins), global_step, walltime
        )

    def add_histogram_raw(
        self,
        tag: str,
        min: float,  # noqa: A002 -- PyTorch's argument names
        max: float,  # noqa: A002
        num: int,
        sum: float,  # noqa: A002
        sum_squares: float,
        bucket_limits: Any,
        bucket_counts: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add a histogram given by its statistics and buckets
        (``SummaryWriter.add_histogram_raw``); ``bucket_limits[i]`` is the upper edge of
        the bucket that holds ``bucket_counts[i]`` values.

        Raises:
            ValueError: ``bucket_limits`` and ``bucket_counts`` differ in length.
        """
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        summary = histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """Add an image (``SummaryWriter.add_image``), PNG-encoded with Pillow.

        Args:
            tag: the tag.
            img_tensor: floats in [0, 1] or uint8 in [0, 255]; shape (3, H, W) by default,
                or as ``dataformats`` says: (1, H, W), (H, W), (H, W, 3), ...
            global_step: the step.
            walltime: seconds since the epoch to record instead of now.
            dataformats: ``"CHW"``, ``"HWC"``, ``"HW"``, ``"WH"``, ...
        """
        summary = image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """Add a batch of images, shown as one grid of 8 columns
        (``SummaryWriter.add_images``).

        Args:
            tag: the tag.
            img_tensor: (N, 3, H, W) by default (1 channel is shown grey), floats in [0, 1]
                or uint8.
            global_step: the step.
            walltime: seconds since the epoch to record instead of now.
            dataformats: ``"NCHW"``, ``"NHWC"``, or a single image's format.
        """
        summary = image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_image_with_boxes(
        self,
        tag: str,
        img_tensor: Any,
        box_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        rescale: float = 1,
        dataformats: str = "CHW",
        labels: list[str] | str | None = None,
    ) -> None:
        """Add an image with bounding boxes drawn on it
        (``SummaryWriter.add_image_with_boxes``).

        Args:
            tag: the tag.
            img_tensor: the image, as for ``add_image``.
            box_tensor: (N, 4) boxes, rows of (xmin, ymin, xmax, ymax) in pixels.
            global_step: the step.
            walltime: seconds since the epoch to record instead of now.
            rescale: resize factor of the image.
            dataformats: the image's layout, ``"CHW"`` by default.
            labels: one label per box (ignored, as in PyTorch, if the count differs).
        """
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != box_tensor.shape[0]:
                labels = None
        summary = image_boxes(
            tag, img_tensor, box_tensor, rescale=rescale, dataformats=dataformats, labels=labels
        )
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_figure(
        self,
        tag: str,
        figure: Figure | list[Figure],
        global_step: int | None = None,
        close: bool = True,
        walltime: float | None = None,
    ) -> None:
        """Render a matplotlib figure (or a list of them, as a grid) into an image and add
        it (``SummaryWriter.add_figure``); needs matplotlib.

        Args:
            tag: the tag.
            figure: a figure or a list of figures.
            global_step: the step.
            close: close the figures afterwards.
            walltime: seconds since the epoch to record instead of now.
        """
        formats = "NCHW" if isinstance(figure, list) else "CHW"
        self.add_image(
            tag, figure_to_image(figure, close), global_step, walltime, dataformats=formats
        )

    def add_video(
        self,
        tag: str,
        vid_tensor: Any,
        global_step: int | None = None,
        fps: float = 4,
        walltime: float | None = None,
    ) -> None:
        """Add a video, stored as an animated GIF (``SummaryWriter.add_video``); written
        with Pillow, where PyTorch needs moviepy.

        Args:
            tag: the tag.
            vid_tensor: (N, T, C, H, W) clips, uint8 in [0, 255] or floats in [0, 1]; the
                N clips play side by side in a grid.
            global_step: the step.
            fps: frames per second.
            walltime: seconds since the epoch to record instead of now.
        """
        summary = video(tag, vid_tensor, fps)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_audio(
        self,
        tag: str,
        snd_tensor: Any,
        global_step: int | None = None,
        sample_rate: int = 44100,
        walltime: float | None = None,
    ) -> None:
        """Add a mono audio clip, stored as 16-bit WAV (``SummaryWriter.add_audio``).

        Args:
            tag: the tag.
            snd_tensor: (1, L) or (L,) samples in [-1, 1] (louder ones are clipped).
            global_step: the step.
            sample_rate: samples per second.
            walltime: seconds since the epoch to record instead of now.
        """
        summary = audio(tag, snd_tensor, sample_rate=sample_rate)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add text, shown as Markdown in TensorBoard's TEXT tab (``SummaryWriter.add_text``);
        it is stored under the tag ``tag + "/text_summary"``."""
        self._get_file_writer().add_summary(text(tag, text_string), global_step, walltime)

    def add_graph(
        self,
        model: Any,
        input_to_model: Any = None,
        verbose: bool = False,
        use_strict_trace: bool = True,
    ) -> None:
        """Add the graph of ``model`` run on ``input_to_model`` (``SummaryWriter.add_graph``).

        The forward runs once in eval mode; the graph is what tapegrad's autograd records,
        with nodes grouped by module path (``Net/Linear[fc1]/...``), parameters as nodes
        of their module and every edge labelled with its tensor's shape.

        Args:
            model: a ``tapegrad.nn.Module``.
            input_to_model: a tensor or a tuple/list of tensors to call it with.
            verbose: print the nodes (name, operation, inputs).
            use_strict_trace: accepted for PyTorch's signature; tapegrad records the
                forward as it runs, so lists and dicts of tensors are followed either way.
        """
        from ._graph import graph

        graph_def, stepstats = graph(model, input_to_model)
        if verbose:
            for node in graph_def.node:
                print(f"{node.name} = {node.op}({', '.join(node.input)})")
        self._get_file_writer().add_graph((graph_def, stepstats))

    def add_onnx_graph(self, prototxt: str | os.PathLike) -> None:
        """Add the graph of an ONNX model file (``SummaryWriter.add_onnx_graph``), e.g. one
        written by ``tapegrad.onnx.export``; needs the ``onnx`` package.

        Args:
            prototxt: the path of the ``.onnx`` file.

        Raises:
            ImportError: the ``onnx`` package is not installed.
        """
        from ._onnx_graph import load_onnx_graph

        self._get_file_writer().add_onnx_graph(load_onnx_graph(prototxt))

    def add_embedding(
        self,
        mat: Any,
        metadata: list | None = None,
        label_img: Any = None,
        global_step: int | None = None,
        tag: str = "default",
        metadata_header: list | None = None,
    ) -> None:
        """Add points for TensorBoard's embedding projector (``SummaryWriter.add_embedding``).

        Writes ``<step>/<tag>/tensors.tsv`` (and ``metadata.tsv``, ``sprite.png``) under
        ``log_dir`` and adds the embedding to ``log_dir/projector_config.pbtxt``.

        Args:
            mat: (N, D): one feature vector per point.
            metadata: N labels, or with ``metadata_header`` N rows of values.
            label_img: (N, C, H, W) images in [0, 1], one per point (the sprite).
            global_step: the step (default 0), the first folder level.
            tag: the embedding's name.
            metadata_header: column names of multi-column metadata.

        Raises:
            AssertionError: sizes that do not match (PyTorch's type).
            NotADirectoryError: the embedding's folder exists as a file.
        """
        from google.protobuf import text_format
        from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

        from ._embedding import get_embedding_info, make_mat, make_sprite, make_tsv, write_pbtxt

        mat = make_np(mat)
        if mat.ndim != 2:
            raise AssertionError(
                f"mat should be 2D, where mat.size(0) is the number of data points; got "
                f"shape {mat.shape}"
            )
        if metadata is not None and mat.shape[0] != len(metadata):
            raise AssertionError(
                f"#labels should equal with #data points: {len(metadata)} labels, "
                f"{mat.shape[0]} points"
            )
        images = None if label_img is None else make_np(label_img)
        if images is not None and mat.shape[0] != images.shape[0]:
            raise AssertionError(
                f"#images should equal with #data points: {images.shape[0]} images, "
                f"{mat.shape[0]} points"
            )
        if global_step is None:
            global_step = 0
        subdir = f"{str(global_step).zfill(5)}/{_encode(tag)}"
        logdir = self._get_file_writer().get_logdir()
        save_path = os.path.join(logdir, subdir)
        if os.path.isdir(save_path):
            warnings.warn(
                "Embedding dir exists, did you set global_step for add_embedding()?",
                stacklevel=2,
            )
        elif os.path.exists(save_path):
            raise NotADirectoryError(f"Path: `{save_path}` exists, but is a file. Cannot proceed.")
        else:
            os.makedirs(save_path)
        if metadata is not None:
            make_tsv(metadata, save_path, metadata_header=metadata_header)
        if images is not None:
            make_sprite(images, save_path)
        make_mat(mat, save_path)
        if not hasattr(self, "_projector_config"):
            self._projector_config = ProjectorConfig()
        info = get_embedding_info(metadata, images, subdir, global_step, tag)
        self._projector_config.embeddings.extend([info])
        write_pbtxt(logdir, text_format.MessageToString(self._projector_config))

    def add_pr_curve(
        self,
        tag: str,
        labels: Any,
        predictions: Any,
        global_step: int | None = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Add a precision-recall curve (``SummaryWriter.add_pr_curve``).

        Args:
            tag: the tag.
            labels: the true binary labels.
            predictions: the probabilities of the positive class, in [0, 1].
            global_step: the step.
            num_thresholds: thresholds on the curve (at most 127).
            weights: optional per-example weights.
            walltime: seconds since the epoch to record instead of now.
        """
        labels, predictions = make_np(labels), make_np(predictions)
        summary = pr_curve(tag, labels, predictions, num_thresholds, weights)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_pr_curve_raw(
        self,
        tag: str,
        true_positive_counts: Any,
        false_positive_counts: Any,
        true_negative_counts: Any,
        false_negative_counts: Any,
        precision: Any,
        recall: Any,
        global_step: int | None = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Add a precision-recall curve from counts already computed
        (``SummaryWriter.add_pr_curve_raw``), one value per threshold in each argument."""
        summary = pr_curve_raw(
            tag,
            true_positive_counts,
            false_positive_counts,
            true_negative_counts,
            false_negative_counts,
            precision,
            recall,
            num_thresholds,
            weights,
        )
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_custom_scalars(self, layout: dict) -> None:
        """Define charts that gather logged scalar tags (``SummaryWriter.add_custom_scalars``).

        Args:
            layout: ``{category: {chart title: ["Multiline", [tags]]}}``, or
                ``["Margin", [value, lower, upper]]`` for a chart with a band.
        """
        self._get_file_writer().add_summary(custom_scalars(layout))

    def add_custom_scalars_multilinechart(
        self, tags: list[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """One multi-line chart of ``tags``
        (``SummaryWriter.add_custom_scalars_multilinechart``)."""
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(
        self, tags: list[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """One margin chart of three tags, value, lower and upper
        (``SummaryWriter.add_custom_scalars_marginchart``).

        Raises:
            AssertionError: ``tags`` does not hold exactly three tags.
        """
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_mesh(
        self,
        tag: str,
        vertices: Any,
        colors: Any = None,
        faces: Any = None,
        config_dict: dict | None = None,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add a 3-D mesh or point cloud for TensorBoard's mesh plugin
        (``SummaryWriter.add_mesh``).

        Args:
            tag: the tag.
            vertices: (B, N, 3) coordinates.
            colors: (B, N, 3) colours, uint8 in [0, 255] or floats in [0, 1].
            faces: (B, F, 3) vertex indices of triangles.
            config_dict: three.js settings (camera, lights, material).
            global_step: the step.
            walltime: seconds since the epoch to record instead of now.
        """
        summary = mesh(tag, vertices, colors, faces, config_dict)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def flush(self) -> None:
        """Write pending events of every event file to disk (``SummaryWriter.flush``)."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close every event file (``SummaryWriter.close``); a later ``add_*``
        opens a new event file in the same folder. Closing twice does nothing."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()
