"""``batchsieve serve`` as a process: SIGTERM under load answers every accepted request and exits 0; the
command line's errors; the demo command without the server extra."""

from __future__ import annotations

import asyncio
import json
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from batchsieve.demo import main
from batchsieve.server.auth import load_api_keys

from .support import client

ROOT = Path(__file__).resolve().parents[2]


class Served:
    """``python -m batchsieve serve ... --port 0`` in a subprocess; ``url`` once it listens."""

    def __init__(self, *args: str, stderr: Path) -> None:
        self._err = stderr.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "batchsieve", "serve", "--port", "0", "--log-level", "warning", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self._err, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.lines.get(timeout=60)
        if first is None or "listening on " not in first:
            self.proc.kill()
            raise RuntimeError(f"the server did not start: {first!r}; stderr: {stderr.read_text()[-2000:]}")
        self.url = first.split("listening on ")[1].split()[0]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def finish(self, timeout: float = 60) -> tuple[int, list[str]]:
        """Wait for the exit; return its status and the lines printed after the first."""
        rc = self.proc.wait(timeout)
        rest = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        self._err.close()
        return rc, rest

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._err.close()


async def test_sigterm_under_load_answers_every_accepted_request_and_exits_0(tmp_path):
    served = Served("--handler", "tests.server.handlers:slow_echo", "--dedup-strategy", "exact", "--window-ms", "2",
                    stderr=tmp_path / "stderr.txt")
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    wrong = 0
    loaded = asyncio.Event()

    async def worker(w: int) -> None:
        nonlocal wrong
        async with client(served.url) as http:
            for i in range(5_000):  # bounded; the server going away ends it first
                text = f"q{w % 8}-{i % 4}"  # duplicates across workers
                try:
                    r = await http.post("/v1/process", json={"request": text})
                except httpx.TransportError as exc:  # not accepted: the server had stopped listening
                    failures[type(exc).__name__] += 1
                    return
                statuses[r.status_code] += 1
                wrong += r.status_code == 200 and r.json()["result"] != f"echo:{text}"
                if sum(statuses.values()) >= 300:
                    loaded.set()

    try:
        tasks = [asyncio.create_task(worker(w)) for w in range(32)]
        async with asyncio.timeout(60):
            await loaded.wait()
            served.proc.send_signal(signal.SIGTERM)
            await asyncio.gather(*tasks)
        rc, lines = await asyncio.to_thread(served.finish)
    finally:
        served.kill()
    assert rc == 0
    summary = json.loads(lines[-1])
    assert summary["event"] == "stopped" and summary["draining"]
    assert summary["in_flight_at_drain"] > 0  # the signal came with requests in progress...
    answered = sum(statuses.values())
    assert summary["http_accepted"] == summary["http_answered"] == answered  # ...and each one was answered
    processor = summary["processor"]
    assert processor["total_requests"] == processor["completed_requests"] == statuses[200] == answered
    assert wrong == 0 and processor["cancelled_requests"] == processor["failed_requests"] == 0


def test_sigint_on_an_idle_server_exits_0(tmp_path):
    served = Served("--handler", "tests.server.handlers:slow_echo", "--dedup-strategy", "exact",
                    stderr=tmp_path / "stderr.txt")
    try:
        assert httpx.get(served.url + "/readyz").status_code == 200
        served.proc.send_signal(signal.SIGINT)
        rc, lines = served.finish()
    finally:
        served.kill()
    assert rc == 0 and json.loads(lines[-1])["http_answered"] == 1


@pytest.mark.parametrize("args, message", [
    (["--handler", "no_colon_here"], "package.module:function"),
    (["--handler", "tests.server.handlers:missing"], "no attribute"),
    (["--handler", "tests.server.handlers:not_a_handler"], "not callable"),
    (["--handler", "no_such_module_xyz:f"], "cannot import"),
    (["--api-keys", "/nonexistent/keys.txt"], "No such file"),
    (["--handler", "tests.server.handlers:slow_echo", "--max-queue-size", "10"], "max_inputs"),
    (["--handler", "tests.server.handlers:slow_echo", "--window-ms", "-1"], "window_ms"),
])
def test_bad_arguments_exit_2_with_a_message(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["serve", *args])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_serve_help_lists_its_options_and_the_demo_lists_serve(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--api-keys" in out and "--max-queue-size" in out and "--handler" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "serve" in capsys.readouterr().out


def test_without_the_server_extra_serve_says_what_to_install(monkeypatch, capsys):
    for name in [m for m in sys.modules if m.startswith("batchsieve.server")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if FastAPI were not installed
    with pytest.raises(SystemExit) as exc:
        main(["serve"])
    assert "pip install 'batchsieve[server]'" in str(exc.value.code)


def test_key_files_json_or_lines(tmp_path):
    lines = tmp_path / "keys.txt"
    lines.write_text("# key tenant\nk1 alpha\n\nk2 alpha\nk3 beta\n")
    assert load_api_keys(lines) == {"k1": "alpha", "k2": "alpha", "k3": "beta"}
    js = tmp_path / "keys.json"
    js.write_text(json.dumps({"k1": "alpha"}))
    assert load_api_keys(js) == {"k1": "alpha"}
    for bad in ("k1\n", "k1 a\nk1 b\n", "", "{not json", '{"k": 1}'):
        lines.write_text(bad)
        with pytest.raises(ValueError):
            load_api_keys(lines)
