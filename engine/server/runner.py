"""Running an app under uvicorn with a graceful drain on SIGTERM and SIGINT, and exit status 0 after it.

On the first SIGTERM or SIGINT the server stops accepting connections, marks itself draining (``/readyz``
fails), lets every request it has read finish (uvicorn's graceful shutdown, bounded by ``drain_timeout``),
then the app's lifespan closes the processor, which answers whatever is still queued. A second SIGINT
forces the exit. uvicorn re-raises the signal once it is done (so the process would die of it); this runner
does not: a drained server exits 0.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Generator
from typing import Any

import uvicorn

__all__ = ["DrainingServer", "bind_socket", "serve"]


class DrainingServer(uvicorn.Server):
    """``uvicorn.Server`` that reports start-up, drains on signals and does not re-raise them."""

    def __init__(self, config: uvicorn.Config, *, on_started: Callable[[], None] | None = None,
                 on_signal: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.on_started = on_started
        self.on_signal = on_signal
        self.signals: list[int] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_started is not None:
            self.on_started()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only: a server in a thread is stopped with should_exit
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.signals.append(sig)
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
            return
        self.should_exit = True
        if self.on_signal is not None:
            self.on_signal()


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one), IPv6 when ``host`` is an IPv6 address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(app: Any, sock: socket.socket, *, drain_timeout: float, log_level: str = "info",
          access_log: bool = False, on_started: Callable[[], None] | None = None,
          on_signal: Callable[[], None] | None = None) -> DrainingServer:
    """Serve ``app`` on ``sock`` until a signal (or ``should_exit``) and a complete drain; return the server."""
    config = uvicorn.Config(app, log_level=log_level, access_log=access_log, lifespan="on",
                            timeout_graceful_shutdown=drain_timeout)
    server = DrainingServer(config, on_started=on_started, on_signal=on_signal)
    server.run(sockets=[sock])  # uvicorn's loop choice (uvloop when installed)
    return server
