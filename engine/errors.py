"""The errors batchsieve raises.

::

    BatchsieveError                         base of everything below
    ├── QueueFullError                      the queue holds max_queue_size requests; nothing was accepted
    ├── ProcessorClosedError (RuntimeError) process() after close() began, or close(timeout=) ran out
    ├── HandlerNotSetError (RuntimeError)   process() before a handler was given
    ├── ReentrantCallError (RuntimeError)   process() or close() from inside this processor's own handler
    ├── WrongEventLoopError (RuntimeError)  process() from another event loop while busy on one
    ├── BatchProcessingError                the handler failed for this request's batch (cause chained),
    │                                       or returned a result list (or a stream step) of the wrong length or type
    ├── StreamOverflowError                 a stream() reader fell more than ``buffer`` chunks behind its stream
    └── BatchTimeoutError (TimeoutError)    a time limit ran out (catch this for either leaf)
        ├── RequestTimeoutError             the caller's own ``timeout`` ran out; the shared work goes on
        └── ProcessingTimeoutError          the handler call exceeded ``processing_timeout``

Wrong argument types raise the built-in ``TypeError`` and impossible values ``ValueError``; they are not
part of this hierarchy because they are programming errors, not run-time outcomes. A ``TimeoutError`` the
handler itself raises (a backend call timing out inside it) is a handler failure: ``BatchProcessingError``.
"""

from __future__ import annotations

__all__ = [
    "BatchProcessingError",
    "BatchTimeoutError",
    "BatchsieveError",
    "HandlerNotSetError",
    "ProcessingTimeoutError",
    "ProcessorClosedError",
    "QueueFullError",
    "ReentrantCallError",
    "RequestTimeoutError",
    "StreamOverflowError",
    "WrongEventLoopError",
]


class BatchsieveError(Exception):
    """Base class of every error batchsieve raises at run time."""


class QueueFullError(BatchsieveError):
    """More than ``max_queue_size`` requests would be pending; the call was refused as a whole."""


class ProcessorClosedError(BatchsieveError, RuntimeError):
    """The processor is closing or closed and accepts no new requests (or closed before answering this one)."""


class HandlerNotSetError(BatchsieveError, RuntimeError):
    """``process`` was called before any handler was given."""


class ReentrantCallError(BatchsieveError, RuntimeError):
    """The handler called ``process`` or ``close`` on its own processor, which would wait on itself."""


class WrongEventLoopError(BatchsieveError, RuntimeError):
    """The processor is busy on another event loop; a processor serves one loop at a time."""


class BatchProcessingError(BatchsieveError):
    """The handler failed for the batch that held this request.

    When the handler raised, the original exception is ``__cause__`` (and ``original``). When it returned
    a malformed result (wrong length, not a sequence), ``original`` is ``None`` and the message says what
    was wrong.
    """

    def __init__(self, message: str, *, original: BaseException | None = None, batch_size: int = 0) -> None:
        super().__init__(message)
        self.original = original
        self.batch_size = batch_size


class StreamOverflowError(BatchsieveError):
    """This ``stream()`` reader fell more than ``buffer`` chunks behind its running stream and was cut off (after
    the chunks it had read); the stream goes on for its other readers."""


class BatchTimeoutError(BatchsieveError, TimeoutError):
    """A time limit ran out: the caller's ``timeout`` (:class:`RequestTimeoutError`) or the handler's
    ``processing_timeout`` (:class:`ProcessingTimeoutError`)."""


class RequestTimeoutError(BatchTimeoutError):
    """This caller's ``timeout`` ran out before its answer; the shared work goes on for other callers."""


class ProcessingTimeoutError(BatchTimeoutError):
    """The handler call for this request's batch exceeded ``processing_timeout``."""
