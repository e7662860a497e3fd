"""Counter-based random numbers, so that scenarios share common random numbers.

Every draw is a pure function of (seed, stream, month, key), where the key identifies a
cadre (its home community and serial number there; a recruit's key is fixed before the
draws that create it). A decision about one person therefore never shifts the draws of
another, and two scenarios run from one seed see the same luck until their policies make
the people themselves differ (Starsim takes the same approach with per-agent slots).

The mixer is SplitMix64's finaliser (Steele, Lea & Flood 2014), applied twice; the
53 high bits become a uniform in (0, 1). Normal deviates use the inverse normal CDF.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.special import ndtri

from sim.state import BLOCK_SHIFT

_MASK = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, in place on a uint64 array (which it returns)."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _to_unit(x: np.ndarray) -> np.ndarray:
    """The 53 high bits of each uint64 as a uniform in (0, 1)."""
    x >>= np.uint64(11)
    u = x.astype(np.float64)
    u *= 2.0**-53
    u += 2.0**-54
    return u


def _address(stream: str, month: int, draw: int) -> int:
    """The mixed (stream, month, draw) part of a draw's base, common to every seed."""
    return _mix_int((zlib.crc32(stream.encode()) << 32) ^ (month << 12) ^ draw)


def _mix_int(x: int) -> int:
    x &= _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class RandomStreams:
    """Uniform and normal draws addressed by stream name, month and keys."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._seed_key = _mix_int(self.seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019)

    def _base(self, stream: str, month: int, draw: int) -> np.uint64:
        return np.uint64(_mix_int(self._seed_key ^ _address(stream, month, draw)))

    def uniform(self, stream: str, month: int, keys: np.ndarray, draw: int = 0) -> np.ndarray:
        """One uniform in (0, 1) per key; `draw` numbers several draws for one key."""
        x = np.asarray(keys).astype(np.uint64) * _GOLDEN
        x += self._base(stream, month, draw)
        x = _mix(x)
        x ^= np.uint64(self._seed_key)
        return _to_unit(_mix(x))

    def normal(self, stream: str, month: int, keys: np.ndarray, draw: int = 0) -> np.ndarray:
        """One standard normal deviate per key."""
        return ndtri(self.uniform(stream, month, keys, draw))

    def normals(self, stream: str, month: int, keys: np.ndarray, draws: int) -> np.ndarray:
        """(keys, draws) standard normals: column j is `normal(stream, month, keys, j)`, in one pass."""
        bases = np.array([self._base(stream, month, j) for j in range(draws)], dtype=np.uint64)
        x = np.asarray(keys).astype(np.uint64)[:, None] * _GOLDEN + bases
        x = _mix(x)
        x ^= np.uint64(self._seed_key)
        return ndtri(_to_unit(_mix(x)))


class BlockStreams:
    """The streams of several seeds at once, for replicates run as blocks of one state (`sim.replicates`).

    A key's top bits (from `state.BLOCK_SHIFT`) say which block, hence which seed, it belongs
    to; the rest is the key a run of that seed alone would use, so every draw equals that
    run's draw bit for bit.
    """

    def __init__(self, seeds: list[int]) -> None:
        self.parts = [RandomStreams(seed) for seed in seeds]
        self._seed_keys = np.array([s._seed_key for s in self.parts], dtype=np.uint64)

    def _bases(self, stream: str, month: int, draws) -> np.ndarray:
        """(blocks, draws) bases: `RandomStreams._base` of every seed at once (the same 64-bit arithmetic)."""
        address = np.array([_address(stream, month, d) for d in draws], dtype=np.uint64)
        return _mix(self._seed_keys[:, None] ^ address[None, :])

    def uniform(self, stream: str, month: int, keys: np.ndarray, draw: int = 0) -> np.ndarray:
        """One uniform in (0, 1) per key, from the stream of the key's block."""
        keys = np.asarray(keys, dtype=np.int64)
        block = keys >> BLOCK_SHIFT
        local = (keys & ((1 << BLOCK_SHIFT) - 1)).astype(np.uint64)
        bases = self._bases(stream, month, [draw])[:, 0]
        x = local * _GOLDEN
        x += bases[block]
        x = _mix(x)
        x ^= self._seed_keys[block]
        return _to_unit(_mix(x))

    def normal(self, stream: str, month: int, keys: np.ndarray, draw: int = 0) -> np.ndarray:
        """One standard normal deviate per key."""
        return ndtri(self.uniform(stream, month, keys, draw))

    def normals(self, stream: str, month: int, keys: np.ndarray, draws: int) -> np.ndarray:
        """(keys, draws) standard normals: column j is `normal(stream, month, keys, j)`, in one pass."""
        keys = np.asarray(keys, dtype=np.int64)
        block = keys >> BLOCK_SHIFT
        local = (keys & ((1 << BLOCK_SHIFT) - 1)).astype(np.uint64)
        bases = self._bases(stream, month, range(draws))
        x = local[:, None] * _GOLDEN + bases[block]
        x = _mix(x)
        x ^= self._seed_keys[block][:, None]
        return ndtri(_to_unit(_mix(x)))
