"""What the Ray Serve tests share: a recorder actor (handler calls, and a gate that holds them), handlers that
record into it, and bounded waits. This module is pickled by value into the replicas (``tests`` is not
importable there)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import ray
from ray import serve

RECORDER = "batchsieve-test-recorder"
NAMESPACE = "batchsieve-tests"
WAIT_S = 60.0  # bound on every wait for the cluster (replica start-up on 2 busy cores takes seconds)


@ray.remote(num_cpus=0)
class Recorder:
    """Every handler call (the replica and the texts of the batch), and a gate the handlers wait on."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, list[str]]] = []
        self._gate = asyncio.Event()
        self._gate.set()

    def record(self, replica: str, texts: list[str]) -> int:
        self._calls.append((replica, texts))
        return len(self._calls)

    def calls(self) -> list[tuple[str, list[str]]]:
        return list(self._calls)

    def reset(self, *, gate_open: bool) -> None:
        self._calls.clear()
        if gate_open:
            self._gate.set()
        else:
            self._gate.clear()

    def open(self) -> None:
        self._gate.set()

    async def wait(self) -> None:
        await self._gate.wait()


def _text(request: Any) -> str:
    return request if isinstance(request, str) else request["query"]


BREAK = "break the backend"  # a batch holding this text fails as a whole


async def recording_handler(requests: list) -> list[str]:
    """Records the batch (with this replica's id), waits on the gate, answers ``answer to T [call.slot]``:
    callers merged onto one slot get the same answer, others never do. A batch with :data:`BREAK` raises."""
    texts = [_text(r) for r in requests]
    if BREAK in texts:
        raise RuntimeError("the backend is down")
    recorder = ray.get_actor(RECORDER, namespace=NAMESPACE)
    replica = serve.get_replica_context().replica_id.unique_id
    call = await recorder.record.remote(replica, texts)
    await recorder.wait.remote()
    return [f"answer to {t} [{call}.{i}]" for i, t in enumerate(texts)]


def answer_text(answer: str) -> str:
    """``T`` of ``answer to T [call.slot]``."""
    return answer.removeprefix("answer to ").rsplit(" [", 1)[0]


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = WAIT_S) -> None:
    """Poll ``check`` (a cluster state: nothing to await on directly across processes) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.05)
