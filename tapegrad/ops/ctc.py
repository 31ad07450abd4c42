"""Connectionist temporal classification loss (``torch.ctc_loss``) by the forward-backward
recursions in log space, vectorised over the batch and the extended label positions."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..backend import array_module

_NEG = -np.inf


def _lse(*terms):
    """log(sum(exp(terms))) elementwise, exact -inf where every term is -inf."""
    m = np.maximum.reduce(terms)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        total = sum(np.exp(t - safe) for t in terms)
        return np.where(np.isneginf(m), _NEG, np.log(total) + safe)


def _shift(a, k):
    """``a`` moved k places to the right along the last axis, -inf filled."""
    out = np.full_like(a, _NEG)
    out[..., k:] = a[..., :-k]
    return out


def _unshift(a, k):
    """``a`` moved k places to the left along the last axis, -inf filled."""
    out = np.full_like(a, _NEG)
    out[..., :-k] = a[..., k:]
    return out


class CtcLoss(Function):
    """Per-sample CTC negative log-likelihood of (T, N, C) log-probabilities.

    ``labels`` (N, 2 S + 1) holds the blank-interleaved targets. The backward returns
    PyTorch's gradient, exp(lp) - exp(log(alpha beta) + nll - lp), which is the gradient
    with respect to the logits when ``log_probs`` comes from ``log_softmax``.
    """

    backward_name = "CtcLossBackward0"

    def forward(ctx, lp, labels=None, input_lengths=(), target_lengths=(), zero_infinity=False):
        """The per-sample negative log-likelihoods, by the alpha (forward) recursion.

        Args:
            ctx: the node's context; keeps the recursion's tables for the backward.
            lp: the (T, N, C) log-probabilities over C classes, blank included.
            labels: the (N, 2 S + 1) blank-interleaved targets: blank, l1, blank, l2, ..., blank.
            input_lengths: the N numbers of valid time steps.
            target_lengths: the N target lengths (S_n <= S).
            zero_infinity: give 0 (and a zero gradient) for samples with infinite loss, those whose
                target cannot fit in their input length.

        Returns:
            The (N,) losses in ``lp``'s dtype (computed in float64).
        """
        xp = array_module(lp)
        t_max, n, _ = lp.shape
        il = np.asarray(input_lengths, np.int64)
        tl = np.asarray(target_lengths, np.int64)
        s_max = labels.shape[1]
        lpd = lp.astype(np.float64)
        em = lpd[:, np.arange(n)[:, None], labels]  # (T, N, S')
        s_idx = np.arange(s_max)
        valid = s_idx[None, :] < (2 * tl + 1)[:, None]
        # s - 2 -> s skips a blank unless l'(s) is a blank or repeats l'(s - 2);
        # position 0 always holds the blank.
        skip = np.zeros((n, s_max), bool)
        skip[:, 2:] = (labels[:, 2:] != labels[:, :1]) & (labels[:, 2:] != labels[:, :-2])
        alpha = np.full((t_max, n, s_max), _NEG)
        alpha[0, :, 0] = em[0, :, 0]
        has1 = tl > 0
        alpha[0, has1, 1] = em[0, has1, 1]
        for t in range(1, t_max):
            prev = alpha[t - 1]
            a3 = np.where(skip, _shift(prev, 2), _NEG)
            alpha[t] = np.where(valid, _lse(prev, _shift(prev, 1), a3) + em[t], _NEG)
        last = np.clip(il - 1, 0, None)
        b = np.arange(n)
        end = alpha[last, b, 2 * tl]
        end2 = np.where(has1, alpha[last, b, np.maximum(2 * tl - 1, 0)], _NEG)
        nll = -_lse(end, end2)
        inf = np.isinf(nll)
        if zero_infinity:
            nll = np.where(inf, 0.0, nll)
        ctx.state = (labels, il, tl, valid, skip, em, alpha, nll, inf, zero_infinity)
        ctx.save_for_backward(lp)
        return xp.asarray(nll.astype(lp.dtype))

    def backward(ctx, g):
        (lp,) = ctx.saved_tensors
        return ctx.op(CtcLossBackward, g, lp, state=ctx.state)


class CtcLossBackward(Function):
    """The gradient of ``CtcLoss`` (``torch._ctc_loss_backward``) as a primitive.

    PyTorch has no derivative for it: under ``create_graph`` the gradient is recorded,
    and differentiating it again raises PyTorch's error.
    """

    backward_name = "CtcLossBackwardBackward0"

    def forward(ctx, g, lp, state=()):
        """The gradient with respect to ``lp``, by the beta (backward) recursion.

        Args:
            ctx: the node's context.
            g: the (N,) gradient of the per-sample losses.
            lp: the (T, N, C) log-probabilities ``CtcLoss`` was given.
            state: the tables ``CtcLoss.forward`` kept.

        Returns:
            The (T, N, C) gradient, zero past each input length.
        """
        labels, il, tl, valid, skip, em, alpha, nll, inf, zero_inf = state
        t_max, n, c = lp.shape
        b = np.arange(n)
        beta = np.full(alpha.shape, _NEG)
        skip_next = np.zeros_like(skip)
        skip_next[:, :-2] = skip[:, 2:]
        for t in range(t_max - 1, -1, -1):
            start = il - 1 == t
            if start.any():
                beta[t, start, 2 * tl[start]] = em[t, start, 2 * tl[start]]
                s1 = start & (tl > 0)
                beta[t, s1, 2 * tl[s1] - 1] = em[t, s1, 2 * tl[s1] - 1]
            inner = il - 1 > t
            if t + 1 < t_max and inner.any():
                nxt = beta[t + 1]
                b3 = np.where(skip_next, _unshift(nxt, 2), _NEG)
                rec = np.where(valid, _lse(nxt, _unshift(nxt, 1), b3) + em[t], _NEG)
                beta[t, inner] = rec[inner]
        lcab = alpha + beta
        res = np.full((t_max, n, c), _NEG)
        ti = np.arange(t_max)[:, None, None]
        np.logaddexp.at(res, (ti, b[None, :, None], labels[None]), lcab)
        lpd = lp.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            grad = np.exp(lpd) - np.exp(res + nll[None, :, None] - lpd)
        grad *= np.asarray(g, np.float64)[None, :, None]
        grad[np.arange(t_max)[:, None] >= il[None, :]] = 0.0
        if zero_inf:
            grad[:, inf, :] = 0.0
        return grad.astype(lp.dtype)

    def backward(ctx, gg):
        raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")
