"""Random-number generation (``torch.Generator``) on an mt19937 stream.

Interim implementation: the raw stream is PyTorch's (mt19937 seeded like
init_genrand) and uniform floats use PyTorch's 24/53-bit transforms.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ._alloc import check_allocation

# Set by torch.func.vmap while it runs: called before every draw (randomness modes).
_draw_hook = None


class Generator:
    """A CPU random generator (``torch.Generator``).

    Args:
        device: The device it is for (recorded; the numbers are drawn on the CPU).
    """

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(67280421310721)

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self._seed = seed
        self._bg = np.random.MT19937()
        self._bg._legacy_seeding(seed & 0xFFFFFFFF)
        # NumPy's Generator over the same bit generator: its full-range uint32 integers are
        # the raw 32-bit outputs in order (no masking or rejection), written as uint32
        # without random_raw's uint64 array and conversion.
        self._np_gen = np.random.Generator(self._bg)
        self._next_normal = None  # the cached second value of a Box-Muller pair
        return self

    def seed(self) -> int:
        """Seed from the OS's entropy (``torch.Generator.seed``): 64 random bits."""
        s = int.from_bytes(os.urandom(8), "little")
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
        self._next_normal = None
        return self

    # raw streams -------------------------------------------------------------

    def _u32(self, n: int) -> np.ndarray:
        if _draw_hook is not None:
            _draw_hook()  # torch.func.vmap's randomness check
        if not n:
            return np.zeros(0, np.uint32)
        return self._np_gen.integers(0, 1 << 32, size=n, dtype=np.uint32)

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
        check_allocation(shape, dtype)  # PyTorch's error for an impossible size
        n = int(np.prod(shape))
        # PyTorch casts from/to to the dtype and computes u * (to - from) + from with a
        # fused multiply-add; for float32 the float64 product is exact, so one rounding.
        acc = np.float64 if np.dtype(dtype) == np.float64 else np.float32
        u = self._unit(n, dtype)
        lo, span = acc(low), acc(acc(high) - acc(low))
        return (u * np.float64(span) + np.float64(lo)).astype(dtype).reshape(shape)

    def normal(self, shape, mean, std, dtype, scalar: bool = False) -> np.ndarray:
        """PyTorch's CPU normal: Box-Muller on blocks of 16 uniforms, or scalar pairs.

        Tensors of 16 or more elements are filled with uniforms, transformed 16 at a
        time (8 cosines, 8 sines); a remainder redraws the last 16. float32 uses the
        AVX2 kernel's single-precision log/sincos (``_avx_log``/``_avx_sincos``) so the
        numbers match bit for bit. Smaller tensors draw double pairs, one value at a
        time, caching the sine for the next call like ``at::normal_distribution``.
        """
        check_allocation(shape, dtype)  # PyTorch's error for an impossible size
        n = int(np.prod(shape))
        dtype = np.dtype(dtype)
        if n < 16 or scalar:
            out = np.array([self._normal_scalar() for _ in range(n)], np.float64)
            return (out * std + mean).astype(dtype).reshape(shape)
        f64 = dtype == np.float64
        # float16 follows the float32 arithmetic but, as measured against PyTorch, draws
        # uniforms for the whole blocks only before redrawing the tail block
        u = self._unit(n - n % 16 if dtype == np.float16 else n, np.float64 if f64 else np.float32)
        if not f64:
            u = u.astype(np.float32)
        full = n - n % 16
        out = np.empty(n, u.dtype)
        out[:full] = _box_muller16(u[:full].reshape(-1, 16), f64).reshape(-1)
        if full != n:
            tail = self._unit(16, np.float64 if f64 else np.float32).astype(u.dtype)
            out[n - 16 :] = _box_muller16(tail.reshape(1, 16), f64).reshape(-1)
        if f64:
            return (out * std + mean).reshape(shape)
        if std != 1.0 or mean != 0.0:
            # _mm256_fmadd_ps: one rounding of n * std + mean
            out = (out.astype(np.float64) * np.float32(std) + np.float32(mean)).astype(np.float32)
        return out.astype(dtype).reshape(shape)

    def _normal_scalar(self) -> float:
        cached = self._next_normal
        if cached is not None:
            self._next_normal = None
            return cached
        u1, u2 = self._unit(2, np.float64)
        r = np.sqrt(-2.0 * np.log1p(-u2))
        theta = 2.0 * np.pi * u1
        self._next_normal = float(r * np.sin(theta))
        return float(r * np.cos(theta))

    def randint(self, low, high, shape, dtype) -> np.ndarray:
        check_allocation(shape, dtype)  # PyTorch's error for an impossible size
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
                # (1 << digits) + 1, digits counting the implicit bit (24 for float32)
                high = 2 ** (np.finfo(dtype).nmant + 1) + 1
            elif dtype == np.bool_:
                high = 2
            else:
                high = int(np.iinfo(dtype).max) + 1
        return self.randint(low, high, shape, dtype)

    def randperm(self, n: int, dtype) -> np.ndarray:
        check_allocation((n,), np.int64)
        perm = np.arange(n, dtype=np.int64)
        if n > 1:
            r = self._u64(n - 1) if n >= 2**32 else self._u32(n - 1).astype(np.uint64)
            for i in range(n - 1):
                j = int(r[i] % np.uint64(n - i)) + i
                perm[i], perm[j] = perm[j], perm[i]
        return perm.astype(dtype)

    def bernoulli(self, p, dtype) -> np.ndarray:
        """1 where a uniform is below ``p``: double uniforms for a Python or float64 ``p``,
        float ones (one 32-bit draw each) for a float32/float16 tensor of probabilities."""
        p = np.asarray(p)
        ft = np.float32 if p.dtype in (np.float32, np.float16) else np.float64
        p = p.astype(ft)
        u = self._unit(p.size, ft).astype(ft).reshape(p.shape)
        return (u < p).astype(dtype)

    def bernoulli_scalar(self, shape, p: float, dtype) -> np.ndarray:
        """Bernoulli(``p``) for a Python ``p`` (dropout's masks): the double uniforms of
        :meth:`bernoulli`, compared as integers. A uniform is its 53 random bits times
        2**-53 (21 bits of the first 32-bit draw, then all of the second), so ``u < p``
        exactly when those bits are below ``T = ceil(p * 2**53)`` (exact: scaling a double
        by a power of two). Compared as (high, low) words: the high 21 bits decide unless
        they equal T's, which happens once in 2**21 draws. No float conversion and no
        64-bit array: dropout on large activations is dominated by this."""
        n = int(np.prod(shape))
        draws = self._u32(2 * n)
        threshold = min(max(math.ceil(float(p) * 2.0**53), 0), 1 << 53)
        t_hi, t_lo = np.uint32(threshold >> 32), np.uint32(threshold & 0xFFFFFFFF)
        hi = draws[0::2] & np.uint32((1 << 21) - 1)
        keep = hi < t_hi
        ties = np.flatnonzero(hi == t_hi)
        if ties.size:
            keep[ties] = draws[1::2][ties] < t_lo
        return keep.astype(dtype).reshape(shape)

    def exponential(self, shape, lambd, dtype) -> np.ndarray:
        u = self._unit(int(np.prod(shape)), np.float64)
        return (-np.log1p(-u) / lambd).astype(dtype).reshape(shape)

    def geometric(self, shape, p, dtype) -> np.ndarray:
        u = self._unit(int(np.prod(shape)), np.float64)
        return np.ceil(np.log(u) / np.log1p(-p)).astype(dtype).reshape(shape)

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
            if replacement and num_samples > 1:  # one sample: the exponential trick, as PyTorch
                u = self._unit(num_samples, np.float64)
                out[r] = np.searchsorted(np.cumsum(w), u, side="right").clip(0, len(w) - 1)
            else:
                # Gumbel top-k through exponential keys: sampling without replacement.
                e = -np.log1p(-self._unit(len(w), np.float64))
                keys = np.where(w > 0, e / np.where(w > 0, w, 1), np.inf)
                out[r] = np.argsort(keys, kind="stable")[:num_samples]
        return out if np.ndim(probs) == 2 else out[0]


_F32 = np.float32


def _fma(a, b, c):
    # a * b + c with one rounding, as the compiler's fused multiply-add does for float32
    return (np.asarray(a, np.float64) * np.float64(b) + np.asarray(c, np.float64)).astype(_F32)


_LOG_COEF = (
    7.0376836292e-2,
    -1.1514610310e-1,
    1.1676998740e-1,
    -1.2420140846e-1,
    1.4249322787e-1,
    -1.6668057665e-1,
    2.0000714765e-1,
    -2.4999993993e-1,
    3.3333331174e-1,
)


def _avx_log(x: np.ndarray) -> np.ndarray:
    """float32 log of positive normal numbers as PyTorch's AVX2 kernel computes it
    (Cephes' logf: exponent split, a degree-8 polynomial, fused multiply-adds)."""
    bits = x.view(np.int32)
    e = ((bits >> 23) - 127).astype(_F32) + _F32(1)
    m = ((bits & ~0x7F800000) | 0x3F000000).view(_F32)  # mantissa in [0.5, 1)
    small = m < _F32(0.707106781186547524)
    e = e - small.astype(_F32)
    m = (m - _F32(1)) + np.where(small, m, _F32(0))
    z = m * m
    y = np.full_like(m, _F32(_LOG_COEF[0]))
    for c in _LOG_COEF[1:]:
        y = _fma(y, m, _F32(c))
    y = _fma(y * m, z, e * _F32(-2.12194440e-4))
    y = _fma(z, _F32(-0.5), y)
    return _fma(e, _F32(0.693359375), m + y)


def _avx_sincos(x: np.ndarray):
    """float32 (sin, cos) of non-negative x as PyTorch's AVX2 kernel computes them
    (Cephes' sinf/cosf: reduction by pi/4 in three parts, two polynomials)."""
    j = (x * _F32(1.27323954473516)).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(_F32)
    for part in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma(y, _F32(part), x)
    z = x * x
    pc = _fma(
        _fma(np.full_like(z, _F32(2.443315711809948e-5)), z, _F32(-1.388731625493765e-3)),
        z,
        _F32(4.166664568298827e-2),
    )
    pc = _fma(pc * z, z, -(z * _F32(0.5))) + _F32(1)
    ps = _fma(
        _fma(np.full_like(z, _F32(-1.9515295891e-4)), z, _F32(8.3321608736e-3)),
        z,
        _F32(-1.6666654611e-1),
    )
    ps = _fma(ps * z, x, x)
    first = (j & 2) == 0
    s = np.where(first, ps, pc)
    c = np.where(first, pc, ps)
    s = np.where((j & 4) != 0, -s, s)
    c = np.where((~(j - 2) & 4) != 0, -c, c)
    return s, c


def _box_muller16(u: np.ndarray, f64: bool) -> np.ndarray:
    """Rows of 16 uniforms to 16 normals: cosines from the first 8, sines into the last 8."""
    u1 = 1 - u[:, :8]  # [0, 1) -> (0, 1] for the log
    if f64:
        r = np.sqrt(-2 * np.log(u1))
        theta = 2.0 * np.pi * u[:, 8:]
        return np.concatenate([r * np.cos(theta), r * np.sin(theta)], 1)
    r = np.sqrt(_F32(-2) * _avx_log(u1))
    s, c = _avx_sincos(_F32(2 * np.pi) * u[:, 8:])
    return np.concatenate([r * c, r * s], 1)


default_generator = Generator()
# PyTorch seeds its default generator from the OS at start-up: each process draws other
# numbers until manual_seed (new Generator objects keep the fixed default seed).
default_generator.seed()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (``torch.manual_seed``).

    Args:
        seed: the seed; reduced modulo 2**64.

    Returns:
        the default ``Generator``.
    """
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the OS's entropy (``torch.seed``).

    Returns:
        The 64-bit seed used, which ``initial_seed`` returns from now on.
    """
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last seeded with (``torch.initial_seed``).

    Returns:
        The value given to the last ``manual_seed`` (or drawn by the last ``seed``).
    """
    return default_generator.initial_seed()


def get_rng_state():
    """The state of the default generator (``torch.get_rng_state``).

    Returns:
        A ``uint8`` tensor; ``set_rng_state`` with it makes the generator draw the
        same numbers again.
    """
    from ._tensor import Tensor

    return Tensor._make(default_generator.get_state())


def set_rng_state(state) -> None:
    """Restore the default generator's state (``torch.set_rng_state``).

    Args:
        state: A ``uint8`` tensor (or array) returned by ``get_rng_state``.
    """
    default_generator.set_state(state.numpy() if hasattr(state, "numpy") else state)
