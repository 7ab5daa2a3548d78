"""What the server tests share: a real uvicorn server in a thread on a free loopback port, recording handlers
and encoders, a metrics parser, and bounded waits."""

from __future__ import annotations

import asyncio
import itertools
import ssl
import threading
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import numpy as np
import uvicorn
from batchsieve.server.runner import DrainingServer, bind_socket
from prometheus_client.parser import text_string_to_metric_families

START_TIMEOUT = 60.0


class ServerThread:
    """``app`` served by uvicorn on 127.0.0.1:<free port> in a daemon thread (its own event loop), for a
    ``with`` block. Signal handlers are not installed (not the main thread); leaving the block stops it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sock = bind_socket("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False,
                                timeout_graceful_shutdown=20)
        self._started = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self.server = DrainingServer(config, on_started=self._on_started)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)

    @property
    def state(self) -> Any:
        return self.app.state.batchsieve

    def _on_started(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._started.set()

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # SystemExit from a failed start-up included: the test must see it
            self.error = exc
        finally:
            self._started.set()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._started.wait(START_TIMEOUT) or self.error is not None or self.loop is None:
            raise RuntimeError(f"the server did not start: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(START_TIMEOUT)
        assert not self._thread.is_alive(), "the server did not stop"

    def call(self, coro: Awaitable[Any], timeout: float = 30.0) -> Any:
        """Run ``coro`` on the server's event loop (where the processor lives) and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]


class Recorder:
    """A sync handler that records every call and answers ``{"echo": request, "slot": n}`` (``n`` numbers the
    handler slots, so a response tells which handler item answered it). ``gate``: each call waits for it.

    Special texts: ``"boom"`` makes the call raise (with a message that must never reach a client);
    ``"unserializable"`` answers an object JSON cannot hold."""

    SECRET = "secret-internal-detail"

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.entered = threading.Event()
        self.calls: list[list[Any]] = []
        self.slot_text: dict[int, str] = {}
        self._slots = itertools.count()
        self._lock = threading.Lock()

    def __call__(self, requests: list[Any]) -> list[Any]:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(START_TIMEOUT), "the test never opened the gate"
        out = []
        with self._lock:
            self.calls.append(list(requests))
            for request in requests:
                text = request if isinstance(request, str) else request["query"]
                if text == "boom":
                    raise RuntimeError(self.SECRET)
                slot = next(self._slots)
                self.slot_text[slot] = text
                out.append({"echo": request, "slot": slot} if text != "unserializable" else object())
        return out

    @property
    def items(self) -> list[Any]:
        return [r for call in self.calls for r in call]


def vector(text: str, dim: int = 8) -> np.ndarray:
    """A deterministic unit vector per text (the fake model)."""
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8", "surrogatepass")))
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


class FakeEncoder:
    """An encoder without a model: ``vector(text)`` per text; records what it was asked."""

    dim = 8
    model_name = "fake/fake-encoder"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.stack([vector(t, self.dim) for t in texts])


_TLS = ssl.create_default_context()  # unused on http://, but httpx builds one per client (~20 ms) unless given


def client(url: str, **kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for ``url``. A load test gives each worker its own (one connection each):
    httpcore's pool costs O(connections) per request, which at 128 connections is the bottleneck."""
    return httpx.AsyncClient(base_url=url, verify=_TLS, timeout=kwargs.pop("timeout", 30.0), **kwargs)


def metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text -> {(sample name, sorted labels): value}."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def metric(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0, step: float = 0.005) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds (a bounded loop, not a guess)."""
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(step)
