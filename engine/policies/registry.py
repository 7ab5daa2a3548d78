"""The dispatch policies by name, and the factory that builds the one a :class:`~batchsieve.BatchConfig` asks for."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .base import DispatchPolicy
from .fixed import FixedWindowPolicy

__all__ = ["PolicyName", "make_policy"]


class PolicyName(StrEnum):
    """The built-in dispatch policies."""

    FIXED = "fixed"  # the fixed collection window
    ADAPTIVE = "adaptive"  # the window learned from measured latency


def make_policy(config: Any, name: str | PolicyName | None = None) -> DispatchPolicy:
    """Build the policy called ``name`` (default: ``"adaptive"`` if ``config.adaptive`` else ``"fixed"``) from
    ``config``'s settings; an unknown name raises ``ValueError``."""
    if name is None:
        name = PolicyName.ADAPTIVE if config.adaptive else PolicyName.FIXED
    try:
        kind = PolicyName(name)
    except ValueError:
        choices = ", ".join(p.value for p in PolicyName)
        raise ValueError(f"unknown dispatch policy {name!r}; choose one of {choices}") from None
    if kind is PolicyName.FIXED:
        return FixedWindowPolicy(config.window_ms / 1e3, config.min_size)
    from .adaptive import AdaptiveWindowPolicy

    return AdaptiveWindowPolicy(
        target_latency_s=config.target_latency_ms / 1e3, min_window_s=config.min_window_ms / 1e3,
        max_window_s=config.max_window_ms / 1e3, min_size=config.min_size, max_size=config.max_size,
        max_wait_s=config.max_wait_ms / 1e3, max_concurrent_batches=config.max_concurrent_batches,
        max_batch_cost=config.max_batch_cost)
