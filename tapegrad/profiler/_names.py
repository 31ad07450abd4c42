"""PyTorch's event names for tapegrad's primitives ("aten::mm" for ``Matmul``).

A primitive's name is its class name in snake case under ``aten::`` where that is
PyTorch's operator (``LeakyRelu`` -> ``aten::leaky_relu``, ``AvgPool2D`` ->
``aten::avg_pool2d``); the table below covers the classes whose name says something
else. Private helper classes (leading underscore), tapegrad's own kernel pieces and
names with an acronym (``LSTMSequence``) keep their tapegrad name, as do custom
``autograd.Function`` classes (PyTorch names those by class too).
"""

from __future__ import annotations

import re

_ATEN = {
    "Linear": "aten::linear",
    "LayerNormalize": "aten::layer_norm",
    "GroupNormalize": "aten::group_norm",
    "Matmul": "aten::mm",
    "MatmulBatched": "aten::bmm",
    "MatmulGeneric": "aten::matmul",
    "T": "aten::t",
    "Reshape": "aten::reshape",
    "UnsafeView": "aten::_unsafe_view",
    "ViewOfBase": "aten::as_strided",
    "Narrow": "aten::narrow",
    "SliceUnsqueeze": "aten::unsqueeze",
    "Squeeze1": "aten::squeeze",
    "SqueezeDim": "aten::squeeze",
    "SqueezeDims": "aten::squeeze",
    "SumDim": "aten::sum",
    "MeanDim": "aten::mean",
    "ProdDim": "aten::prod",
    "MaxDim": "aten::max",
    "MinDim": "aten::min",
    "MaxBackwardFull": "aten::max",
    "MinBackwardFull": "aten::min",
    "AmaxAmin": "aten::aminmax",
    "PowScalar": "aten::pow",
    "PowScalarBase": "aten::pow",
    "Clamp": "aten::clamp",
    "ClampTensor": "aten::clamp",
    "DivRounded": "aten::div",
    "LerpTensor": "aten::lerp",
    "ScatterValue": "aten::scatter",
    "RoundDecimals": "aten::round",
    "LogAddExp": "aten::logaddexp",
    "LogSumExp": "aten::logsumexp",
    "ToCopy": "aten::to",
    "ToDevice": "aten::to",
    "CopyFrom": "aten::copy_",
    "IndexPutBasic": "aten::index_put_",
    "IndexPut": "aten::index_put_",
    "Im2Col": "aten::im2col",
    "Col2Im": "aten::col2im",
    "ConstantPad": "aten::constant_pad_nd",
    "CrossEntropy": "aten::cross_entropy_loss",
    "CrossEntropyProbs": "aten::cross_entropy_loss",
    "NllLoss": "aten::nll_loss_nd",
    "MaxPool2DWithIndices": "aten::max_pool2d",
    "MaxPool3DWithIndices": "aten::max_pool3d",
    "Inv": "aten::linalg_inv",
    "Det": "aten::linalg_det",
    "Slogdet": "aten::linalg_slogdet",
    "Solve": "aten::linalg_solve",
    "Eigh": "aten::linalg_eigh",
    "SvdVals": "aten::linalg_svdvals",
    "LstsqSolution": "aten::linalg_lstsq",
    "VectorNorm": "aten::linalg_vector_norm",
    "MaxPool2DWithIndicesPair": "aten::max_pool2d_with_indices",
    "MaxPool3DWithIndicesPair": "aten::max_pool3d_with_indices",
}

# tapegrad's own kernel pieces, with no PyTorch operator of that meaning: their own name.
# (Normalize serves batch, instance, layer and group norm: op_name names batch norm.)
_OWN_NAME = {
    "AdaptiveAvgSpread",
    "AvgPoolSpread",
    "ConvolutionInputGrad",
    "ConvolutionWeightGrad",
    "CopySlices",
    "DelayedError",
    "IndexBackward",
    "IndexPad",
    "IndexPadBackward",
    "MaxPoolGather",
    "MaxPoolScatter",
    "Normalize",
    "NotDifferentiable",
    "OnceDifferentiable",
    "PlaneGather",
    "PlaneScatterAdd",
}

_cache: dict = {}


def op_name(cls, attrs) -> str:
    """The profiler event name of one call of the primitive ``cls``."""
    name = _cache.get(cls)
    if name is None:
        name = _cache[cls] = _class_name(cls)
    if name == "Normalize" and 0 in attrs.get("axes", ()):
        # the one normalisation kernel serves batch, instance, layer and group norm; only
        # batch norm (statistics over the batch axis) is told apart by its arguments
        return "aten::batch_norm"
    if name == "aten::convolution":
        # the convolution primitive serves every rank; PyTorch's event names the rank
        kind = "conv_transpose" if attrs.get("transposed") else "conv"
        return f"aten::{kind}{attrs.get('nd', 2)}d"
    return name


def _class_name(cls) -> str:
    n = cls.__name__
    if not hasattr(cls, "backward_name"):
        return n  # a custom autograd.Function: its own name, as in PyTorch
    if n in _ATEN:
        return _ATEN[n]
    if n.startswith("_") or n in _OWN_NAME:
        return n  # a private helper or a kernel piece
    n = re.sub(r"([123])D", r"\1d", n)
    if re.search(r"[A-Z]{2}", n):
        return cls.__name__  # an acronym (LSTMSequence): no aten spelling to derive
    return "aten::" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", n).lower()
