"""``batchsieve serve``: the command line of the server (one process, one processor, uvicorn).

Without ``--handler`` it serves the OpenAI-compatible embeddings API on the packaged all-MiniLM-L6-v2
(``--model`` for another local folder); with ``--handler package.module:function`` it serves
``POST /v1/process`` in front of that handler. It prints ``batchsieve serve: listening on URL`` once it
accepts connections and, after a signal and a complete drain, one JSON line of figures, then exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..config import DEDUP_STRATEGIES
from ..normalize import normalize_text
from .app import create_app
from .auth import load_api_keys
from .config import DEFAULT_PROCESSOR_OPTIONS, ServerConfig
from .runner import bind_socket, serve

__all__ = ["build_parser", "load_handler", "main"]

# flag dest -> BatchProcessor keyword (set only when the flag is given: the defaults stay the server's)
_PROCESSOR_FLAGS = ("window_ms", "max_size", "min_size", "max_wait_ms", "max_queue_size", "max_concurrent_batches",
                    "processing_timeout", "dedup_strategy", "dedup_threshold", "text_key", "target_latency_ms")


def _seconds_or_none(text: str) -> float | None:
    if text.lower() in ("none", "off", "0"):
        return None
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0 or 'none', got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``batchsieve serve`` argument parser."""
    p = argparse.ArgumentParser(prog="batchsieve serve", description="Serve the OpenAI-compatible embeddings API "
                                "(default) or a handler (--handler) with batching, dedup and Prometheus metrics.")
    d = ServerConfig  # the defaults
    net = p.add_argument_group("server")
    net.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    net.add_argument("--port", type=int, default=8000, help="default 8000; 0: any free port (printed at start-up)")
    net.add_argument("--handler", metavar="MODULE:FUNCTION",
                     help="serve POST /v1/process in front of this handler instead of the embeddings API")
    net.add_argument("--api-keys", metavar="FILE", help="key -> tenant file (JSON object or 'KEY TENANT' "
                     "lines): every request needs a key, and its tenant is its dedup scope")
    net.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes, help=f"default {d.max_body_bytes}")
    net.add_argument("--max-inputs", type=int, default=d.max_inputs, help=f"items per call, default {d.max_inputs}")
    net.add_argument("--max-input-chars", type=int, default=d.max_input_chars,
                     help=f"characters per input text, default {d.max_input_chars}")
    net.add_argument("--request-timeout", type=_seconds_or_none, default=d.request_timeout,
                     help=f"seconds a caller waits at most (then 504), default {d.request_timeout:g}; 'none'")
    net.add_argument("--drain-timeout", type=float, default=d.drain_timeout,
                     help=f"seconds accepted requests may take after SIGTERM/SIGINT, default {d.drain_timeout:g}")
    net.add_argument("--retry-after", type=int, default=d.retry_after,
                     help=f"seconds, sent with 429 and 503, default {d.retry_after}")
    net.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    net.add_argument("--access-log", action="store_true", help="log every request (costs throughput)")
    group = p.add_argument_group("processor (defaults: the server's, then BatchProcessor's)")

    def proc(flag: str, **kwargs: Any) -> None:  # absent unless given: the server's defaults stay in force
        group.add_argument(flag, default=argparse.SUPPRESS, **kwargs)

    defaults = DEFAULT_PROCESSOR_OPTIONS
    proc("--window-ms", type=float, help=f"default {defaults['window_ms']:g}")
    proc("--max-size", type=int, help=f"default {defaults['max_size']}")
    proc("--min-size", type=int)
    proc("--max-wait-ms", type=float)
    proc("--max-queue-size", type=int, help=f"default {defaults['max_queue_size']}")
    proc("--max-concurrent-batches", type=int)
    proc("--processing-timeout", type=_seconds_or_none, help="seconds per handler call ('none': no limit)")
    proc("--dedup-strategy", choices=[s for s in DEDUP_STRATEGIES if s != "custom"],
         help="default: exact for the embeddings API, hybrid for a handler")
    proc("--dedup-threshold", type=float)
    proc("--target-latency-ms", type=float, help="with --adaptive")
    proc("--text-key", help="where a /v1/process request object keeps its text (default query)")
    group.add_argument("--no-dedup", action="store_true", help="every request gets a handler slot of its own")
    group.add_argument("--normalize", choices=("default", "none"),
                       help="exact-match form: 'default' (case, width, spaces) or 'none' (identical text only); "
                            "default: none for the embeddings API, default for a handler")
    group.add_argument("--enable-priorities", action="store_true", help="honour the 'priority' of /v1/process")
    group.add_argument("--adaptive", action="store_true", help="learn the window from measured latency")
    model = p.add_argument_group("embeddings API")
    model.add_argument("--model", help="a local model folder (default: the packaged all-MiniLM-L6-v2)")
    model.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    model.add_argument("--encoder-cache-size", type=int, default=8192,
                       help="the encoder's LRU cache of embeddings by exact text, default 8192 (0: off)")
    model.add_argument("--served-model-name", help="the model id answered and listed (default: the model's)")
    return p


def load_handler(spec: str) -> Callable[[list], Any]:
    """The object named by ``package.module:attribute`` (the current directory is importable, as in uvicorn)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--handler must look like package.module:function, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise ValueError(f"{spec} is not callable")
    return obj


def _processor_options(args: argparse.Namespace) -> dict[str, Any]:
    options = {name: getattr(args, name) for name in _PROCESSOR_FLAGS if hasattr(args, name)}
    if args.no_dedup:
        options["enable_dedup"] = False
    if args.enable_priorities:
        options["enable_priorities"] = True
    if args.adaptive:
        options["adaptive"] = True
    if args.normalize is not None:
        options["normalize"] = normalize_text if args.normalize == "default" else str
    return options


def _encoder_loader(args: argparse.Namespace) -> Callable[[], Any]:
    def load() -> Any:
        from ..models import SentenceEncoder

        return SentenceEncoder(args.model, device=args.device, cache_size=args.encoder_cache_size)

    return load


def main(argv: Sequence[str] | None = None) -> None:
    """``batchsieve serve [options]``: serve until SIGTERM/SIGINT, drain, exit 0."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)-9s %(name)s: %(message)s")
    try:
        keys = load_api_keys(args.api_keys) if args.api_keys else None
        handler = load_handler(args.handler) if args.handler else None
        config = ServerConfig(processor=_processor_options(args), api_keys=keys, max_body_bytes=args.max_body_bytes,
                              max_inputs=args.max_inputs, max_input_chars=args.max_input_chars,
                              request_timeout=args.request_timeout, drain_timeout=args.drain_timeout,
                              retry_after=args.retry_after,
                              model_name=args.served_model_name)
        app = create_app(handler, config=config, load_encoder=None if handler else _encoder_loader(args))
    except (OSError, TypeError, ValueError) as exc:
        parser.error(str(exc))
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        sys.exit(f"batchsieve serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    host, port = sock.getsockname()[:2]
    state = app.state.batchsieve
    shown = f"[{host}]" if ":" in host else host
    model = args.served_model_name or args.model or state.model_name
    what = "POST /v1/process" if handler else f"POST /v1/embeddings ({model})"

    def started() -> None:
        print(f"batchsieve serve: listening on http://{shown}:{port} ({what})", flush=True)

    server = serve(app, sock, drain_timeout=args.drain_timeout, log_level=args.log_level,
                   access_log=args.access_log, on_started=started, on_signal=state.begin_drain)
    figures: dict[str, Any] = {"event": "stopped", **state.summary()}
    if state.batch is not None:
        figures["processor"] = dataclasses.asdict(state.batch.get_stats())
        for bulky in ("policy", "dedup"):
            figures["processor"].pop(bulky, None)
    print(json.dumps(figures, default=str), flush=True)
    sys.exit(1 if server.force_exit else 0)
