"""The fixed collection window."""

from __future__ import annotations

import math

from .base import BatchRecord, Decision, QueueState

__all__ = ["FixedWindowPolicy"]


class FixedWindowPolicy:
    """The fixed window: dispatch ``window_s`` after the window opened, once ``min_size`` are pending.

    A window that closes with fewer than ``min_size`` pending requests keeps waiting; the engine's
    ``max_wait`` bound still dispatches them in the end.
    """

    def __init__(self, window_s: float, min_size: int = 1) -> None:
        self._window_s = window_s
        self.min_size = min_size

    def set_window(self, window_s: float, min_size: int) -> None:
        """Change the window (the processor's run-time ``window_ms`` setter; the next window on)."""
        self._window_s = window_s
        self.min_size = min_size

    @property
    def window_s(self) -> float:
        return self._window_s

    def decide(self, state: QueueState) -> Decision:
        if state.pending < self.min_size:
            return Decision(math.inf, "window")
        return Decision(state.window_start + self._window_s, "window")

    def on_arrival(self, now: float) -> None:  # the fixed window learns nothing
        pass

    def on_batch_done(self, record: BatchRecord) -> None:
        pass

    def snapshot(self) -> dict[str, object]:
        return {"policy": "fixed", "window_ms": self._window_s * 1e3}
