"""Random-number generation (``torch.Generator``) on an mt19937 stream.

Interim implementation: the raw stream is PyTorch's (mt19937 seeded like
init_genrand) and uniform floats use PyTorch's 24/53-bit transforms.
"""

from __future__ import annotations

import time

import numpy as np


class Generator:
    """A CPU random generator (``torch.Generator``)."""

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(67280421310721)

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self._seed = seed
        self._bg = np.random.MT19937()
        self._bg._legacy_seeding(seed & 0xFFFFFFFF)
        return self

    def seed(self) -> int:
        s = time.time_ns() & 0xFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> np.ndarray:
        st = self._bg.state
        key = np.asarray(st["state"]["key"], np.uint32)
        head = np.array([st["state"]["pos"], self._seed & 0xFFFFFFFF, self._seed >> 32], np.uint64)
        return np.concatenate([key.view(np.uint8), head.view(np.uint8)])

    def set_state(self, state) -> Generator:
        a = np.asarray(state, np.uint8)
        key = a[: 624 * 4].view(np.uint32)
        pos, lo, hi = a[624 * 4 :].view(np.uint64)
        self._bg.state = {"bit_generator": "MT19937", "state": {"key": key.copy(), "pos": int(pos)}}
        self._seed = int(lo) | (int(hi) << 32)
        return self

    # raw streams -------------------------------------------------------------

    def _u32(self, n: int) -> np.ndarray:
        return self._bg.random_raw(n).astype(np.uint32) if n else np.zeros(0, np.uint32)

    def _u64(self, n: int) -> np.ndarray:
        r = self._u32(2 * n).astype(np.uint64).reshape(n, 2)
        return (r[:, 0] << np.uint64(32)) | r[:, 1]

    def _unit(self, n: int, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            return (self._u64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
        return (self._u32(n) & np.uint32((1 << 24) - 1)).astype(np.float64) * 2.0**-24

    # distributions ------------------------------------------------------------

    def uniform(self, shape, low, high, dtype) -> np.ndarray:
        n = int(np.prod(shape))
        # PyTorch casts from/to to the dtype and computes u * (to - from) + from with a
        # fused multiply-add; for float32 the float64 product is exact, so one rounding.
        acc = np.float64 if np.dtype(dtype) == np.float64 else np.float32
        u = self._unit(n, dtype)
        lo, span = acc(low), acc(acc(high) - acc(low))
        return (u * np.float64(span) + np.float64(lo)).astype(dtype).reshape(shape)

    def normal(self, shape, mean, std, dtype) -> np.ndarray:
        n = int(np.prod(shape))
        m = n + (n & 1)
        u = self._unit(m, np.float64)
        u1, u2 = u[: m // 2], u[m // 2 :]
        r = np.sqrt(-2.0 * np.log1p(-u1))
        z = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)])[:n]
        return (z * std + mean).astype(dtype).reshape(shape)

    def randint(self, low, high, shape, dtype) -> np.ndarray:
        n = int(np.prod(shape))
        span = int(high) - int(low)
        if span <= 0:
            raise RuntimeError(
                f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
            )
        r = self._u64(n) if span >= 2**32 else self._u32(n).astype(np.uint64)
        return ((r % np.uint64(span)).astype(np.int64) + int(low)).astype(dtype).reshape(shape)

    def random_(self, shape, low, high, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        if low is None:
            low = 0
            if dtype.kind == "f":
                high = 2 ** np.finfo(dtype).nmant + 1
            elif dtype == np.bool_:
                high = 2
            else:
                high = int(np.iinfo(dtype).max) + 1
        return self.randint(low, high, shape, dtype)

    def randperm(self, n: int, dtype) -> np.ndarray:
        perm = np.arange(n, dtype=np.int64)
        if n > 1:
            r = self._u64(n - 1) if n >= 2**32 else self._u32(n - 1).astype(np.uint64)
            for i in range(n - 1):
                j = int(r[i] % np.uint64(n - i)) + i
                perm[i], perm[j] = perm[j], perm[i]
        return perm.astype(dtype)

    def bernoulli(self, p, dtype) -> np.ndarray:
        p = np.asarray(p, np.float64)
        u = self._unit(p.size, np.float64).reshape(p.shape)
        return (u < p).astype(dtype)

    def exponential(self, shape, lambd, dtype) -> np.ndarray:
        u = self._unit(int(np.prod(shape)), np.float64)
        return (-np.log1p(-u) / lambd).astype(dtype).reshape(shape)

    def geometric(self, shape, p, dtype) -> np.ndarray:
        u = self._unit(int(np.prod(shape)), np.float64)
        return np.ceil(np.log1p(-u) / np.log1p(-p)).astype(dtype).reshape(shape)

    def cauchy(self, shape, median, sigma, dtype) -> np.ndarray:
        u = self._unit(int(np.prod(shape)), np.float64)
        return (median + sigma * np.tan(np.pi * (u - 0.5))).astype(dtype).reshape(shape)

    def log_normal(self, shape, mean, std, dtype) -> np.ndarray:
        return np.exp(self.normal(shape, mean, std, np.float64)).astype(dtype)

    def multinomial(self, probs, num_samples, replacement) -> np.ndarray:
        p = np.atleast_2d(np.asarray(probs, np.float64))
        out = np.empty((p.shape[0], num_samples), np.int64)
        for r, row in enumerate(p):
            w = row / row.sum()
            if replacement:
                u = self._unit(num_samples, np.float64)
                out[r] = np.searchsorted(np.cumsum(w), u, side="right").clip(0, len(w) - 1)
            else:
                # Gumbel top-k through exponential keys: sampling without replacement.
                e = -np.log1p(-self._unit(len(w), np.float64))
                keys = np.where(w > 0, e / np.where(w > 0, w, 1), np.inf)
                out[r] = np.argsort(keys, kind="stable")[:num_samples]
        return out if np.ndim(probs) == 2 else out[0]


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (``torch.manual_seed``)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    from ._tensor import Tensor

    return Tensor._make(default_generator.get_state())


def set_rng_state(state) -> None:
    default_generator.set_state(state.numpy() if hasattr(state, "numpy") else state)
