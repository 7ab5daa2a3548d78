"""A bounded, thread-safe LRU cache of embeddings keyed by (model key, exact text).

Bounded twice: by entry count and, with a ``weigh`` function, by bytes: a cache of 8,192 entries whose keys
are texts can otherwise hold gigabytes when the texts are long.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Generic, NamedTuple, TypeVar

from batchsieve._checks import check_int

__all__ = ["DEFAULT_CACHE_BYTES", "CacheInfo", "LRUCache", "embedding_entry_bytes"]

DEFAULT_CACHE_BYTES = 256 << 20  # the encoder cache's byte bound: 8,192 short texts' rows weigh ~15 MiB, long ones GBs


def embedding_entry_bytes(key: tuple, entry: tuple) -> int:
    """What one encoder cache entry weighs: its text (up to 4 bytes a character) and its embedding row."""
    return 4 * len(key[-1]) + entry[0].element_size() * entry[0].nelement() + 64

V = TypeVar("V")


class CacheInfo(NamedTuple):
    """Counters of an :class:`LRUCache`.

    ``hits``/``misses`` count looked-up keys since creation (or the last ``clear(reset_counts=True)``);
    ``size`` is the number of entries held now and ``maxsize`` the capacity; ``bytes`` what they weigh
    (0 without a ``weigh`` function) and ``max_bytes`` the byte capacity (``None``: no byte bound).
    """

    hits: int
    misses: int
    size: int
    maxsize: int
    bytes: int = 0
    max_bytes: int | None = None


class LRUCache(Generic[V]):
    """Least-recently-used map with at most ``maxsize`` entries; ``maxsize=0`` stores nothing.

    With ``max_bytes`` and ``weigh(key, value) -> bytes``, the entries also weigh at most ``max_bytes``
    together (the least recently used go first; an entry heavier than ``max_bytes`` is not stored).
    Every method takes one internal lock, so the cache can be shared between threads. Lookups are
    batched (:meth:`get_many`) so a request batch costs one lock round trip.
    """

    def __init__(self, maxsize: int, *, max_bytes: int | None = None,
                 weigh: Callable[[Hashable, V], int] | None = None) -> None:
        check_int("cache size", maxsize, lo=0)
        if max_bytes is not None:
            check_int("max_bytes", max_bytes, lo=0)
            if weigh is None:
                raise ValueError("max_bytes needs weigh=callable(key, value) -> bytes")
        self._maxsize = maxsize
        self._max_bytes = max_bytes
        self._weigh = weigh
        self._bytes = 0
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    @property
    def maxsize(self) -> int:
        """Capacity in entries."""
        return self._maxsize

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def get_many(self, keys: Sequence[Hashable]) -> list[V | None]:
        """Look up ``keys`` (counting a hit or a miss for each); found entries become most recent."""
        out: list[V | None] = []
        with self._lock:
            data = self._data
            for key in keys:
                value = data.get(key)
                if value is None:
                    out.append(None)
                else:
                    data.move_to_end(key)
                    out.append(value)
            found = sum(v is not None for v in out)
            self._hits += found
            self._misses += len(out) - found
        return out

    def put_many(self, items: Iterable[tuple[Hashable, V]]) -> None:
        """Insert or refresh entries, evicting the least recently used beyond ``maxsize``."""
        if self._maxsize == 0:
            return
        weigh = self._weigh
        max_bytes = self._max_bytes
        with self._lock:
            data = self._data
            for key, value in items:
                if weigh is not None:
                    size = weigh(key, value)
                    if max_bytes is not None and size > max_bytes:
                        continue
                    old = data.get(key)
                    if old is not None:
                        self._bytes -= weigh(key, old)
                    self._bytes += size
                data[key] = value
                data.move_to_end(key)
            while len(data) > self._maxsize or (max_bytes is not None and self._bytes > max_bytes):
                key, value = data.popitem(last=False)
                if weigh is not None:
                    self._bytes -= weigh(key, value)

    def info(self) -> CacheInfo:
        """Hit and miss counts, capacity and current size."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._data), self._maxsize, self._bytes, self._max_bytes)

    def clear(self, reset_counts: bool = False) -> None:
        """Drop every entry (and zero the counters when ``reset_counts``)."""
        with self._lock:
            self._data.clear()
            self._bytes = 0
            if reset_counts:
                self._hits = self._misses = 0
