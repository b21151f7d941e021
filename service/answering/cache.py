"""Finished answers kept by everything they depend on, so asking again costs no model time.

The key holds the question, its options, top_k, the filters, the store's write generation (any write
makes a new one) and the engine's configuration including the model: a stale answer cannot be served.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace
from typing import Any


class AnswerCache:
    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: Hashable, answer: Any) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._items[key] = answer
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def served_from_cache(answer: Any, lookup_ms: float) -> Any:
    """The cached answer with this request's timings: no generation, no verification."""
    timings = {"retrieve": 0.0, "generate": 0.0, "verify": 0.0, "total": round(lookup_ms, 2)}
    return replace(answer, timings_ms=timings)
