"""Recurrent layers over a whole sequence, one node per layer and direction.

``nn.RNN``/``LSTM``/``GRU`` first project the inputs of every time step with one GEMM
(``x W_ih^T + b``, done by the module with ``F.linear``); what is left is the recurrence,
which these Functions run in a single node: the forward loops over time on raw arrays with
the gates of a step in one array, and the backward is backpropagation through time with
the weight gradient of all steps in one GEMM at the end. A per-step graph would record
about fifteen nodes per step and pay tapegrad's per-op overhead for each, which is what
made the LSTM language model twice as slow as PyTorch. Inside the node NumPy still pays
per call and per pass over memory: the LSTM's backward computes the factors its steps
multiply by (the activations' derivatives) a block of steps at a time, while they are in
cache, and each step then does a few multiply-adds and its GEMM.

Higher-order gradients: under ``create_graph`` the backward recomputes the recurrence
with the step functions below (``lstm_step``...), which are built from differentiable
ops, and differentiates that graph, so the fused kernel needs no second formula; the same
step functions are the simple reference the tests compare the fused kernels with.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .elementwise import _sigmoid_
from .linalg import matmul_split

__all__ = ["gru_sequence", "gru_step", "lstm_sequence", "lstm_step", "rnn_sequence", "rnn_step"]


# ---------------------------------------------------------------------------------------
# the reference steps, on tensors (differentiable to any order)


def lstm_step(xg, h, c, w_hh):
    """One LSTM step from the projected input ``xg`` (both biases included)."""
    gates = xg + h.matmul(w_hh.t())
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def gru_step(xg, h, w_hh, b_hh):
    """One GRU step from the projected input ``xg`` (``b_ih`` included)."""
    hg = h.matmul(w_hh.t())
    if b_hh is not None:
        hg = hg + b_hh
    xr, xz, xn = xg.chunk(3, -1)
    hr, hz, hn = hg.chunk(3, -1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return (h - n) * z + n


def rnn_step(xg, h, w_hh, relu: bool):
    """One Elman step from the projected input ``xg`` (both biases included)."""
    pre = xg + h.matmul(w_hh.t())
    return pre.relu() if relu else pre.tanh()


def _order(steps: int, reverse: bool):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _weight_grad(dg: np.ndarray, out: np.ndarray, h0: np.ndarray, reverse: bool) -> np.ndarray:
    """sum_t dg_t^T h_{t-1}, the recurrent weight's gradient: one GEMM over the steps that
    started from an output (views of ``out``, no copy) plus the step that started from
    ``h0``."""
    T, G, H = dg.shape[0], dg.shape[-1], out.shape[-1]
    first = -1 if reverse else 0
    dw = matmul_split(dg[first].T, h0)
    if T > 1:
        d_rest, h_rest = (dg[:-1], out[1:]) if reverse else (dg[1:], out[:-1])
        dw += matmul_split(d_rest.reshape(-1, G).T, h_rest.reshape(-1, H))
    return dw


class _Recurrence(Function):
    """Shared backward plumbing: the create_graph path through the reference steps."""

    num_outputs = 2

    def _graph_backward(ctx, grads, inputs, run):
        """Recompute the sequence with differentiable ops and differentiate it."""
        import tapegrad

        outs = run(*inputs)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
        wanted = [t for t, need in zip(inputs, ctx.needs_input_grad) if need]
        got = iter(
            tapegrad.autograd.grad(
                [o for o, _ in pairs],
                wanted,
                [g for _, g in pairs],
                create_graph=True,
                allow_unused=True,
            )
        )
        res = []
        for t, need in zip(inputs, ctx.needs_input_grad):
            if not need:
                res.append(None)
                continue
            g = next(got)
            res.append(g if g is not None else tapegrad.zeros_like(t))
        return tuple(res)


# Steps per block of the LSTM backward's factor computation: a block's gates (about
# 128 KiB a step at batch 32, hidden 256) stay in the L2 cache between the block's
# factor passes and its steps, where passes over the whole (T, B, 4H) arrays run from
# memory, and per-step passes pay NumPy's per-call cost T times.
_LSTM_BLOCK = 5


class LSTMSequence(_Recurrence):
    """The LSTM recurrence over a sequence: (xg, h0, c0, w_hh) -> (outputs, h_T, c_T)."""

    num_outputs = 3

    def forward(ctx, xg, h0, c0, w_hh, reverse=False):
        T, B, G = xg.shape
        H = G // 4
        dt = xg.dtype
        rec = ctx._recording
        out = np.empty((T, B, H), dt)
        # recorded for the backward: the activated gates, the cell states and their tanh
        acts = np.empty((T, B, G), dt) if rec else np.empty((1, B, G), dt)
        cs = np.empty((T, B, H), dt) if rec else np.empty((2, B, H), dt)
        tcs = np.empty((T, B, H), dt) if rec else np.empty((1, B, H), dt)
        # -W_hh^T, C-contiguous: OpenBLAS runs the step's small GEMM faster on it than on
        # the transposed view, and the negation makes the step's sum the -x that
        # 1 / (1 + exp(-x)) starts from (the same bits as negating it after)
        w_neg = np.negative(w_hh.T, order="C")
        h, c = h0, c0
        gates = np.empty((B, G), dt)
        ig = np.empty((B, H), dt)
        with np.errstate(over="ignore"):
            for k, t in enumerate(_order(T, reverse)):
                matmul_split(h, w_neg, out=gates)
                a = acts[t if rec else 0]
                np.subtract(gates, xg[t], out=a)
                # a = -(x W_ih^T + b + h W_hh^T): tanh of the cell candidate's block (into
                # the free matmul buffer; tanh is odd), the sigmoid of all four blocks,
                # then the candidate's tanh in its place
                g = gates[:, 2 * H : 3 * H]
                np.tanh(a[:, 2 * H : 3 * H], out=g)
                np.exp(a, out=a)
                a += 1
                np.reciprocal(a, out=a)
                np.negative(g, out=a[:, 2 * H : 3 * H])
                i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
                # c' = f c + i g, h' = o tanh(c')
                c_new = cs[t if rec else k % 2]
                np.multiply(f, c, out=c_new)
                np.multiply(i, g, out=ig)
                c_new += ig
                tc = tcs[t if rec else 0]
                np.tanh(c_new, out=tc)
                h = out[t]
                np.multiply(tc, o, out=h)
                c = c_new
        if rec:
            ctx.save_for_backward(xg, h0, c0, w_hh)
            ctx.acts, ctx.cs, ctx.tcs, ctx.out, ctx.reverse = acts, cs, tcs, out, reverse
        return out, h.copy(), c.copy()

    def backward(ctx, g_out, g_h, g_c):
        xp = ctx.xp
        if xp is not np:
            xg, h0, c0, w_hh = ctx.saved_tensors
            return ctx._graph_backward(
                (g_out, g_h, g_c), (xg, h0, c0, w_hh),
                lambda *a: lstm_sequence(*a, reverse=ctx.reverse, fused=False),
            )  # fmt: skip
        xg, h0, c0, w_hh = ctx.saved_tensors
        acts, cs, tcs, out, reverse = ctx.acts, ctx.cs, ctx.tcs, ctx.out, ctx.reverse
        T, B, G = acts.shape
        H = G // 4
        # The step derivatives multiply the incoming gradients by factors that do not
        # depend on them:
        #   d_i = dc * g s_i'    d_f = dc * c_prev s_f'    d_g = dc * i tanh'(g)
        #   d_o = dh * tanh(c) s_o'    dc += dh * o tanh'(c)    dc_prev = dc * f
        # with s' = s (1 - s) and tanh'(y) = 1 - y^2. They are computed a block of steps
        # at a time, the gate factors in the rows of the gates' gradient that each step
        # then scales in place.
        dgates = np.empty_like(acts)
        a4, d4 = acts.reshape(T, B, 4, H), dgates.reshape(T, B, 4, H)
        K = min(_LSTM_BLOCK, T)
        c_prev = np.empty((K, B, H), acts.dtype)
        dc_dh = np.empty((K, B, H), acts.dtype)
        dh = g_h.copy()
        dc = g_c.copy()
        tmp = np.empty_like(dc)
        # blocks of consecutive time steps, in the order the backward visits them
        starts = range(0, T, K) if reverse else range((T - 1) // K * K, -1, -K)
        for lo in starts:
            hi = min(lo + K, T)
            n = hi - lo
            A, D, P, Q = a4[lo:hi], d4[lo:hi], c_prev[:n], dc_dh[:n]
            # the cell state each step of the block started from
            if reverse:
                P[:-1] = cs[lo + 1 : hi]
                P[-1] = cs[hi] if hi < T else c0
            else:
                P[1:] = cs[lo : hi - 1]
                P[0] = cs[lo - 1] if lo > 0 else c0
            np.subtract(1, acts[lo:hi], out=dgates[lo:hi])
            dgates[lo:hi] *= acts[lo:hi]
            D[:, :, 0] *= A[:, :, 2]
            D[:, :, 1] *= P
            Dg = D[:, :, 2]
            np.multiply(A[:, :, 2], A[:, :, 2], out=Dg)
            np.subtract(1, Dg, out=Dg)
            Dg *= A[:, :, 0]
            D[:, :, 3] *= tcs[lo:hi]
            np.multiply(tcs[lo:hi], tcs[lo:hi], out=Q)
            np.subtract(1, Q, out=Q)
            Q *= A[:, :, 3]
            for t in range(lo, hi) if reverse else range(hi - 1, lo - 1, -1):
                dh += g_out[t]
                d = D[t - lo]
                d[:, 3] *= dh
                np.multiply(dh, Q[t - lo], out=tmp)
                dc += tmp
                d[:, :3] *= dc[:, None]
                dc *= A[t - lo, :, 1]
                matmul_split(dgates[t], w_hh, out=dh)
        na = ctx.needs_input_grad
        dw = _weight_grad(dgates, out, h0, reverse) if na[3] else None
        return (dgates if na[0] else None, dh if na[1] else None, dc if na[2] else None, dw)


class GRUSequence(_Recurrence):
    """The GRU recurrence over a sequence: (xg, h0, w_hh, b_hh) -> (outputs, h_T)."""

    def forward(ctx, xg, h0, w_hh, b_hh=None, reverse=False):
        T, B, G = xg.shape
        H = G // 3
        dt = xg.dtype
        out = np.empty((T, B, H), dt)
        rec = ctx._recording
        if rec:
            acts = np.empty((T, B, G), dt)  # r, z, n
            hns = np.empty((T, B, H), dt)  # W_hn h + b_hn, before r multiplies it
        wT = np.ascontiguousarray(w_hh.T)  # faster in the small GEMMs than the view
        h = h0
        with np.errstate(over="ignore"):
            for t in _order(T, reverse):
                hg = matmul_split(h, wT)
                if b_hh is not None:
                    hg += b_hh
                a = acts[t] if rec else np.empty((B, G), dt)
                np.add(xg[t, :, : 2 * H], hg[:, : 2 * H], out=a[:, : 2 * H])
                _sigmoid_(a[:, : 2 * H])
                r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
                np.multiply(r, hg[:, 2 * H :], out=n)
                n += xg[t, :, 2 * H :]
                np.tanh(n, out=n)
                if rec:
                    hns[t] = hg[:, 2 * H :]
                # h' = (h - n) z + n
                h_new = out[t]
                np.subtract(h, n, out=h_new)
                h_new *= z
                h_new += n
                h = h_new
        if rec:
            ctx.save_for_backward(xg, h0, w_hh, b_hh)
            ctx.acts, ctx.hns, ctx.out, ctx.reverse = acts, hns, out, reverse
        return out, h.copy()

    def backward(ctx, g_out, g_h):
        xp = ctx.xp
        if xp is not np:
            xg, h0, w_hh, b_hh = ctx.saved_tensors
            inputs = (xg, h0, w_hh, b_hh)
            return ctx._graph_backward(
                (g_out, g_h), inputs,
                lambda *a: gru_sequence(*a, reverse=ctx.reverse, fused=False),
            )  # fmt: skip
        xg, h0, w_hh, b_hh = ctx.saved_tensors
        acts, hns, out, reverse = ctx.acts, ctx.hns, ctx.out, ctx.reverse
        T, B, G = xg.shape
        H = G // 3
        dxg = np.empty_like(acts)
        dhg = np.empty_like(acts)
        dh = g_h.copy()
        order = list(_order(T, reverse))
        for k in range(T - 1, -1, -1):
            t = order[k]
            h_prev = out[order[k - 1]] if k > 0 else h0
            a = acts[t]
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            dh += g_out[t]
            dx, dhh = dxg[t], dhg[t]
            # h' = (h - n) z + n: dn = dh (1 - z), dz = dh (h - n), dh_prev gets dh z
            dn = dh * (1 - z)
            dn *= 1 - n * n  # through tanh
            np.multiply(dh * (h_prev - n), z * (1 - z), out=dx[:, H : 2 * H])
            dx[:, 2 * H :] = dn
            np.multiply(dn, r, out=dhh[:, 2 * H :])
            np.multiply(dn * hns[t], r * (1 - r), out=dx[:, :H])
            dhh[:, : 2 * H] = dx[:, : 2 * H]
            dh = dh * z
            dh += matmul_split(dhh, w_hh)
        na = ctx.needs_input_grad
        dw = _weight_grad(dhg, out, h0, reverse) if na[2] else None
        db = dhg.reshape(-1, G).sum(0) if b_hh is not None and na[3] else None
        return (dxg if na[0] else None, dh if na[1] else None, dw, db)


class RNNSequence(_Recurrence):
    """The Elman recurrence over a sequence: (xg, h0, w_hh) -> (outputs, h_T)."""

    def forward(ctx, xg, h0, w_hh, relu=False, reverse=False):
        T, B, H = xg.shape
        out = np.empty((T, B, H), xg.dtype)
        wT = np.ascontiguousarray(w_hh.T)  # faster in the small GEMMs than the view
        h = h0
        for t in _order(T, reverse):
            h_new = out[t]
            matmul_split(h, wT, out=h_new)
            h_new += xg[t]
            if relu:
                np.maximum(h_new, 0, out=h_new)
            else:
                np.tanh(h_new, out=h_new)
            h = h_new
        if ctx._recording:
            ctx.save_for_backward(xg, h0, w_hh)
            ctx.out, ctx.relu, ctx.reverse = out, relu, reverse
        return out, h.copy()

    def backward(ctx, g_out, g_h):
        xp = ctx.xp
        if xp is not np:
            xg, h0, w_hh = ctx.saved_tensors
            return ctx._graph_backward(
                (g_out, g_h), (xg, h0, w_hh),
                lambda *a: rnn_sequence(*a, relu=ctx.relu, reverse=ctx.reverse, fused=False),
            )  # fmt: skip
        xg, h0, w_hh = ctx.saved_tensors
        out, relu, reverse = ctx.out, ctx.relu, ctx.reverse
        T, B, H = xg.shape
        dpre = np.empty_like(out)
        dh = g_h.copy()
        order = list(_order(T, reverse))
        for k in range(T - 1, -1, -1):
            t = order[k]
            dh += g_out[t]
            d = dpre[t]
            y = out[t]
            if relu:
                np.multiply(dh, y > 0, out=d)
            else:
                np.multiply(dh, 1 - y * y, out=d)
            dh = matmul_split(d, w_hh)
        na = ctx.needs_input_grad
        dw = _weight_grad(dpre, out, h0, reverse) if na[2] else None
        return (dpre if na[0] else None, dh if na[1] else None, dw)


# ---------------------------------------------------------------------------------------
# entry points: the fused node, or the reference steps (fused=False)


def _stack_steps(steps, reverse):
    from .shape import stack

    return stack(steps if not reverse else steps[::-1], 0)


def lstm_sequence(xg, h0, c0, w_hh, *, reverse: bool = False, fused: bool = True):
    """Run the LSTM recurrence over ``xg`` (T, B, 4H), from ``(h0, c0)`` (B, H).

    Returns ``(outputs (T, B, H), h_T, c_T)``; with ``reverse`` time runs backwards
    (outputs stay in input order).
    """
    if fused:
        return LSTMSequence.apply(xg, h0, c0, w_hh, reverse=reverse)
    h, c = h0, c0
    seq = []
    for t in _order(xg.shape[0], reverse):
        h, c = lstm_step(xg[t], h, c, w_hh)
        seq.append(h)
    return _stack_steps(seq, reverse), h, c


def gru_sequence(xg, h0, w_hh, b_hh=None, *, reverse: bool = False, fused: bool = True):
    """Run the GRU recurrence over ``xg`` (T, B, 3H) from ``h0``; returns ``(outputs, h_T)``."""
    if fused:
        return GRUSequence.apply(xg, h0, w_hh, b_hh, reverse=reverse)
    h = h0
    seq = []
    for t in _order(xg.shape[0], reverse):
        h = gru_step(xg[t], h, w_hh, b_hh)
        seq.append(h)
    return _stack_steps(seq, reverse), h


def rnn_sequence(xg, h0, w_hh, *, relu: bool = False, reverse: bool = False, fused: bool = True):
    """Run the Elman recurrence over ``xg`` (T, B, H) from ``h0``; returns ``(outputs, h_T)``."""
    if fused:
        return RNNSequence.apply(xg, h0, w_hh, relu=relu, reverse=reverse)
    h = h0
    seq = []
    for t in _order(xg.shape[0], reverse):
        h = rnn_step(xg[t], h, w_hh, relu)
        seq.append(h)
    return _stack_steps(seq, reverse), h
