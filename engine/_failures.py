"""What the callers of a failed batch (or a failed result slot) raise: one exception object each, the original
chained; and which ``BaseException`` of a batch is the handler's failure rather than a shutdown."""

from __future__ import annotations

import asyncio

from ._workers import ThreadAbort
from .errors import BatchProcessingError, BatchTimeoutError, ProcessorClosedError

__all__ = ["caller_error", "fresh_copy", "raisable", "raised_by_handler", "slot_error"]


def raisable(exc: BaseException) -> bool:
    """Whether a handler's per-slot exception can be raised to its callers as is."""
    return isinstance(exc, Exception) and not isinstance(exc, StopIteration)


def slot_error(exc: BaseException, index: int) -> BatchProcessingError:
    """A slot value asyncio cannot raise into a caller as is (StopIteration, CancelledError, KeyboardInterrupt,
    SystemExit, ...): a ``BatchProcessingError`` carrying it, so the caller neither looks cancelled nor stops
    the loop."""
    err = BatchProcessingError(f"handler returned {type(exc).__name__} in result slot {index}", original=exc)
    err.__cause__ = exc
    return err


def raised_by_handler(exc: BaseException) -> bool:
    """A ``CancelledError`` the handler raised itself (nobody cancelled this batch), or a ``BaseException``
    from a worker thread: a handler failure, not a shutdown."""
    if isinstance(exc, asyncio.CancelledError):
        task = asyncio.current_task()
        return task is not None and not task.cancelling()
    return False


def caller_error(exc: BaseException, n_unique: int, handler_failure: bool) -> BaseException:
    """What the callers of a failed batch raise (the original chained); not a handler failure: a shutdown."""
    if isinstance(exc, (BatchTimeoutError, BatchProcessingError)):
        return exc
    original = exc.original if isinstance(exc, ThreadAbort) else exc
    if handler_failure:
        err = BatchProcessingError(
            f"handler raised {type(original).__name__}: {original} (batch of {n_unique} requests)",
            original=original, batch_size=n_unique)
        err.__cause__ = original
        return err
    return ProcessorClosedError(f"batch aborted: {type(exc).__name__}")


def fresh_copy(err: BaseException) -> BaseException:
    """A copy of a batch failure for one more caller: each caller raises its own exception object, so
    tracebacks do not pile up on a shared one."""
    if isinstance(err, BatchProcessingError):
        copy = BatchProcessingError(str(err), original=err.original, batch_size=err.batch_size)
        copy.__cause__ = err.__cause__
        return copy
    try:
        copy = type(err)(*err.args)
    except Exception:
        return err
    copy.__cause__ = err.__cause__
    return copy
