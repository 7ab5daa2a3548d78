"""Dispatch policies: when the pending requests go.

* :mod:`.base`: the :class:`DispatchPolicy` protocol and the types it exchanges with the engine;
* :mod:`.fixed`: the fixed collection window;
* :mod:`.adaptive`: the window learned from measured latency;
* :mod:`.decision`: the dispatch decision shared by the engine and the simulator;
* :mod:`.registry`: the policies by name and :func:`make_policy`.
"""

from .adaptive import AdaptiveWindowPolicy, ArrivalRateEstimator, ServiceTimeModel
from .base import BatchRecord, Decision, DispatchPolicy, DispatchReason, QueueState
from .decision import dispatch_time
from .fixed import FixedWindowPolicy
from .registry import PolicyName, make_policy

__all__ = [
    "AdaptiveWindowPolicy",
    "ArrivalRateEstimator",
    "BatchRecord",
    "Decision",
    "DispatchPolicy",
    "DispatchReason",
    "FixedWindowPolicy",
    "PolicyName",
    "QueueState",
    "ServiceTimeModel",
    "dispatch_time",
    "make_policy",
]
