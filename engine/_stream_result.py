"""What :meth:`BatchProcessor.process_streaming` yields: one request's index and outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["StreamResult"]


@dataclass(frozen=True, slots=True)
class StreamResult:
    """One result of :meth:`BatchProcessor.process_streaming`: the request's index and its outcome."""

    index: int
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """``True`` when the request succeeded."""
        return self.error is None

    def unwrap(self) -> Any:
        """The value, or raise the request's exception."""
        if self.error is not None:
            raise self.error
        return self.value
