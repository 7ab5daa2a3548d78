"""The errors batchsieve raises.

::

    BatchsieveError                       base of everything below
    ├── QueueFullError                    the queue holds max_queue_size requests; nothing was accepted
    ├── ProcessorClosedError              process() after close() began
    ├── HandlerNotSetError                process() before a handler was given
    ├── BatchProcessingError              the handler failed for this request's batch (cause chained),
    │                                     or returned a result list of the wrong length or type
    └── BatchTimeoutError (TimeoutError)  the caller's own ``timeout`` ran out, or the handler call
                                          exceeded ``processing_timeout``

Wrong argument types raise the built-in ``TypeError`` and impossible values ``ValueError``; they are not
part of this hierarchy because they are programming errors, not run-time outcomes.
"""

from __future__ import annotations

__all__ = [
    "BatchProcessingError",
    "BatchTimeoutError",
    "BatchsieveError",
    "HandlerNotSetError",
    "ProcessorClosedError",
    "QueueFullError",
]


class BatchsieveError(Exception):
    """Base class of every error batchsieve raises at run time."""


class QueueFullError(BatchsieveError):
    """More than ``max_queue_size`` requests would be pending; the call was refused as a whole."""


class ProcessorClosedError(BatchsieveError, RuntimeError):
    """The processor is closing or closed and accepts no new requests."""


class HandlerNotSetError(BatchsieveError, RuntimeError):
    """``process`` was called before any handler was given."""


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


class BatchTimeoutError(BatchsieveError, TimeoutError):
    """A caller's ``timeout`` ran out, or one handler call exceeded ``processing_timeout``."""
