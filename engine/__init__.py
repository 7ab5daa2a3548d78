"""batchsieve: micro-batching with exact and semantic request deduplication for inference servers.

>>> from batchsieve import BatchProcessor
>>> batch = BatchProcessor(handler=run_llm, window_ms=50, max_size=32)   # doctest: +SKIP
>>> result = await batch.process({"query": "What's the weather?"})       # doctest: +SKIP
"""

from ._merges import MergeInfo
from .calibration import CalibrationResult, calibrate
from .config import DEDUP_STRATEGIES, BatchConfig
from .dedup import Assignment, DedupItem, DedupStrategy, ExactStrategy, make_strategy
from .errors import (
    BatchProcessingError,
    BatchsieveError,
    BatchTimeoutError,
    HandlerNotSetError,
    ProcessingTimeoutError,
    ProcessorClosedError,
    QueueFullError,
    ReentrantCallError,
    RequestTimeoutError,
    StreamOverflowError,
    WrongEventLoopError,
)
from .normalize import normalize_text
from .policies import BatchRecord, Decision, DispatchPolicy, FixedWindowPolicy, QueueState
from .processor import BatchProcessor, StreamResult
from .stats import BatchStats

__version__ = "0.1.0"

__all__ = [
    "DEDUP_STRATEGIES",
    "Assignment",
    "BatchConfig",
    "BatchProcessingError",
    "BatchProcessor",
    "BatchRecord",
    "BatchStats",
    "BatchTimeoutError",
    "BatchsieveError",
    "CalibrationResult",
    "Decision",
    "DedupItem",
    "DedupStrategy",
    "DispatchPolicy",
    "ExactStrategy",
    "FixedWindowPolicy",
    "HandlerNotSetError",
    "MergeInfo",
    "ProcessingTimeoutError",
    "ProcessorClosedError",
    "QueueFullError",
    "QueueState",
    "ReentrantCallError",
    "RequestTimeoutError",
    "StreamOverflowError",
    "StreamResult",
    "WrongEventLoopError",
    "calibrate",
    "make_strategy",
    "normalize_text",
]
