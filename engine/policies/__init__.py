"""Dispatch policies: when the pending requests go.

* :mod:`.base`: the :class:`DispatchPolicy` protocol and the types it exchanges with the engine;
* :mod:`.fixed`: the fixed collection window;
* :mod:`.adaptive`: the window learned from measured latency (the decision rule and its math);
* :mod:`.estimators`: the adaptive window's online service-time model and arrival-rate estimate;
* :mod:`._waits`: the closed-form longest waits behind the adaptive decision rule;
* :mod:`.decision`: the dispatch decision shared by the engine and the simulator;
* :mod:`.registry`: the policies by name and :func:`make_policy`;
* :mod:`.simulator`: a virtual-time simulator that drives a policy through that decision (needs NumPy, so
  it is not imported here: ``from batchsieve.policies.simulator import simulate``).
"""

from .adaptive import AdaptiveWindowPolicy
from .base import BatchRecord, Decision, DispatchPolicy, DispatchReason, QueueState
from .decision import dispatch_time
from .estimators import ArrivalRateEstimator, ServiceTimeModel
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
