"""PyTorch's CPU autocast op lists (``aten/src/ATen/autocast_mode.cpp``, ``AutocastCPU``).

One table, read by :func:`tapegrad.amp.autocast_mode.autocast_call`: each public entry
point that PyTorch lists starts with ``if _ac.state.active:`` and hands its arguments
to ``autocast_call`` under the name used here. Ops not listed run in their inputs'
dtypes, as PyTorch's fall-through does.

- ``LOWER``: floating inputs (other than float64) are cast to the autocast dtype
  (bfloat16 by default on the CPU).
- ``FP32``: floating inputs (other than float64) are cast to float32.
- ``PROMOTE``: inputs are cast to the widest floating type among them (float32 if any
  input is float32, else the autocast dtype); float64 inputs are left alone.
- ``NATIVE``: not cast, and autocast stays off while the op runs: ops PyTorch runs as
  one kernel that tapegrad composes from listed ops (``mv`` calls ``matmul`` here).

PyTorch's composite ops decompose into listed ones before autocast sees them; where
tapegrad's op is a primitive of its own, it is listed here with the policy its
PyTorch decomposition ends in (``einsum`` contracts with ``bmm``).
"""

from __future__ import annotations

LOWER = "lower_precision_fp"
FP32 = "fp32"
PROMOTE = "promote"
NATIVE = "native"

_LOWER_OPS = (
    "conv1d",
    "conv2d",
    "conv3d",
    "bmm",
    "mm",
    "linalg_vecdot",
    "baddbmm",
    "addmm",
    "addbmm",
    "linear",
    "matmul",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "prelu",
    "scaled_dot_product_attention",
    # a composite in PyTorch that contracts with bmm (tapegrad's own primitive)
    "einsum",
)

_FP32_OPS = (
    "avg_pool3d",
    "binary_cross_entropy",
    "grid_sampler",
    "polar",
    "prod",
    "quantile",
    "nanquantile",
    "stft",
    "cdist",
    "trace",
    "view_as_complex",
    "cholesky",
    "cholesky_inverse",
    "cholesky_solve",
    "inverse",
    "lu_solve",
    "orgqr",
    "ormqr",
    "pinverse",
    "max_pool3d",
    "max_unpool2d",
    "max_unpool3d",
    "adaptive_avg_pool3d",
    "reflection_pad1d",
    "reflection_pad2d",
    "replication_pad1d",
    "replication_pad2d",
    "replication_pad3d",
    "mse_loss",
    "cosine_embedding_loss",
    "nll_loss",
    "nll_loss2d",
    "hinge_embedding_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "cross_entropy_loss",
    "l1_loss",
    "huber_loss",
    "margin_ranking_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "multi_margin_loss",
    "ctc_loss",
    "kl_div",
    "multilabel_margin_loss",
    "binary_cross_entropy_with_logits",
    "fft_fft",
    "fft_ifft",
    "fft_fft2",
    "fft_ifft2",
    "fft_fftn",
    "fft_ifftn",
    "fft_rfft",
    "fft_irfft",
    "fft_rfft2",
    "fft_irfft2",
    "fft_rfftn",
    "fft_irfftn",
    "fft_hfft",
    "fft_ihfft",
    "linalg_cond",
    "linalg_matrix_rank",
    "linalg_solve",
    "linalg_cholesky",
    "linalg_svdvals",
    "linalg_eigvals",
    "linalg_eigvalsh",
    "linalg_inv",
    "linalg_householder_product",
    "linalg_tensorinv",
    "linalg_tensorsolve",
    "fake_quantize_per_tensor_affine",
    "geqrf",
    "qr",
    "svd",
    "triangular_solve",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "adaptive_max_pool3d",
    "linalg_qr",
    "linalg_cholesky_ex",
    "linalg_svd",
    "linalg_eig",
    "linalg_eigh",
    "linalg_lstsq",
    "linalg_inv_ex",
)

_PROMOTE_OPS = ("stack", "cat", "index_copy")

_NATIVE_OPS = ("mv", "bilinear")

POLICY: dict[str, str] = {
    **dict.fromkeys(_LOWER_OPS, LOWER),
    **dict.fromkeys(_FP32_OPS, FP32),
    **dict.fromkeys(_PROMOTE_OPS, PROMOTE),
    **dict.fromkeys(_NATIVE_OPS, NATIVE),
}
