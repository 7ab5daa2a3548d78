"""The demo's real-question workload, its arrival process, and the two backends it is served by.

Workload (``qqp``, the default): questions from the vendored Quora Question Pairs sample
(``data/qqp_sample.jsonl.gz``, the held-out ``split == "test"`` rows; provenance in ``data/README.md``).

* **Intents.** Rows are read in a seeded random order. A labelled duplicate pair (label 1) becomes one
  intent with two wordings: its ``a`` question and its ``b`` question, the *rewording*. A labelled
  non-duplicate pair (label 0) becomes two intents of one wording each: near neighbours that ask
  different things, which a deduplicator must keep apart. A question already used by an earlier intent is
  skipped, so every distinct (normalised) text belongs to exactly one intent. ``intents`` of them are taken
  (default 1,000), pairs and neighbours in the file's proportion.
* **Popularity.** Each request picks an intent with Zipf weights ``1 / rank ** zipf_s`` (default 1.1) over
  a seeded random ranking: a few questions are asked very often (they repeat), most rarely.
* **Rewordings.** A request for a two-wording intent asks the rewording with probability ``reword``
  (default 0.3), else the first wording. A further ``respell`` share (default 0.2) is respelled as users
  type: lower case, or extra spaces (normalisation makes those exact duplicates again).
* **Arrivals** (documented, seeded): an on/off Markov-modulated Poisson process. Bursts and quiet spells
  alternate, their lengths exponential with means ``BURST_S`` (0.25 s) and ``QUIET_S`` (1.0 s); inside a
  burst requests arrive as a Poisson stream at ``BURSTINESS`` (4) times the average ``rate``, in a quiet
  spell at 0.25 times it, so that the long-run average is ``rate`` (20 % of the time in bursts carrying
  80 % of the requests). The process starts in a burst.

Merges are checked against the labels: a caller answered with another text's answer is a *backed* merge
when the two texts are one intent (a labelled duplicate pair) or appear together in any label-1 row of the
sample; anything else is *unbacked* (some unbacked merges are real duplicates the labels miss, QQP labels
are noisy; a merge of the two sides of a label-0 row is counted apart, as *contradicted*).

Replay (``--replay FILE.jsonl``): one request per line, either a JSON string (the query) or an object
with ``"query"`` (or ``"text"``), optionally ``"t"`` (arrival, seconds from the start; used only when every
line has one, else arrivals follow the process above at ``rate``) and ``"group"`` (any JSON value:
requests of one group ask the same thing, which backs their merges; without groups only identical
normalised texts back a merge).

Backends:

* :class:`SimulatedLLM` (``--backend simulated-llm``): one call at a time, ``base_ms + per_item_ms * n``
  per call of ``n`` requests (default 10 ms + 0.2 ms: a GPU model server, where a batch of 32 costs barely
  more than a batch of 1), priced per request served (``cost_per_request`` dollars, default $0.002) plus
  ``cost_per_call`` per call (default $0);
* :class:`ModelBackend` (``--backend model``): the embedded model itself (all-MiniLM-L6-v2 through
  :class:`batchsieve.models.SentenceEncoder`, its cache off so every request it is handed is computed)
  as the in-process batch handler: real batched inference on the CPU, or the GPU when there is one.
  One call at a time; priced the same way, and its busy seconds are reported.

Answers are ``(text the backend computed, payload)`` pairs, so each caller can tell whose answer it got.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import json
import math
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .normalize import normalize_text

__all__ = ["BURSTINESS", "BURST_S", "QQP_PATH", "QUIET_S", "ModelBackend", "Request", "SimulatedLLM", "Workload",
           "bursty_arrivals", "load_replay", "qqp_workload"]

QQP_PATH = Path(__file__).resolve().parent.parent / "data" / "qqp_sample.jsonl.gz"

BURST_S = 0.25  # mean burst length, seconds
QUIET_S = 1.0  # mean quiet spell, seconds
BURSTINESS = 4.0  # rate inside a burst / average rate
_BURST_SHARE = BURST_S / (BURST_S + QUIET_S)
QUIET_FACTOR = (1.0 - _BURST_SHARE * BURSTINESS) / (1.0 - _BURST_SHARE)  # 0.25: quiet rate / average rate


@dataclass(frozen=True, slots=True)
class Request:
    """One request of a workload: when it arrives, what it asks, and which intent it belongs to."""

    at: float  # seconds from the start of the replay
    text: str
    intent: int  # requests of one intent ask the same thing (-1: unknown)
    reworded: bool = False  # asked in another wording than the intent's first


@dataclass
class Workload:
    """A replayable stream and what it takes to judge merges on it."""

    name: str
    requests: list[Request]
    description: str
    duplicate_pairs: frozenset[tuple[str, str]] = frozenset()  # normalised (a, b), a < b: labelled duplicates
    contradicted_pairs: frozenset[tuple[str, str]] = frozenset()  # normalised pairs labelled not duplicate
    intent_of: dict[str, int] = field(default_factory=dict)  # normalised text -> intent
    params: dict[str, Any] = field(default_factory=dict)

    def judge(self, asked: str, answered: str) -> str:
        """``"same"`` (identical after normalisation), ``"backed"``, ``"contradicted"`` or ``"unbacked"``."""
        a, b = normalize_text(asked), normalize_text(answered)
        if a == b:
            return "same"
        ia, ib = self.intent_of.get(a, -1), self.intent_of.get(b, -1)
        key = (a, b) if a < b else (b, a)
        if (ia != -1 and ia == ib) or key in self.duplicate_pairs:
            return "backed"
        return "contradicted" if key in self.contradicted_pairs else "unbacked"

    def summary(self) -> dict[str, Any]:
        """Counts that say how repetitive the stream is (JSON-able)."""
        reqs = self.requests
        n = len(reqs)
        seen_text: set[str] = set()
        seen_intent: set[tuple[str, Any]] = set()
        repeat_text = repeat_intent = 0
        for r in reqs:
            text = normalize_text(r.text)
            intent = ("intent", r.intent) if r.intent != -1 else ("text", text)  # no intent: a text is its own
            repeat_text += text in seen_text
            repeat_intent += intent in seen_intent
            seen_text.add(text)
            seen_intent.add(intent)
        span = reqs[-1].at - reqs[0].at if n > 1 else 0.0
        return {
            "requests": n,
            "distinct_texts": len(seen_text),
            "distinct_intents": len(seen_intent),
            "reworded_requests": sum(r.reworded for r in reqs),
            # the share of requests that ask again what an earlier request of the stream asked
            "repeat_rate_exact": repeat_text / n if n else 0.0,
            "repeat_rate_intent": repeat_intent / n if n else 0.0,
            "span_s": span,
            "average_rate_per_s": (n - 1) / span if span > 0 else 0.0,
        }


def bursty_arrivals(n: int, rate: float, rng: random.Random) -> list[float]:
    """``n`` arrival times (seconds, increasing) of the on/off Markov-modulated Poisson process above."""
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be a finite number > 0, got {rate!r}")
    times: list[float] = []
    t = 0.0
    burst = True
    end = rng.expovariate(1.0 / BURST_S)
    while len(times) < n:
        lam = rate * (BURSTINESS if burst else QUIET_FACTOR)
        gap = rng.expovariate(lam)
        if t + gap < end:
            t += gap
            times.append(t)
        else:  # the state changes first; exponential gaps are memoryless, so redraw from the switch
            t = end
            burst = not burst
            end = t + rng.expovariate(1.0 / (BURST_S if burst else QUIET_S))
    return times


def _respell(text: str, rng: random.Random) -> str:
    """The same words as another user types them (exact duplicates once normalised)."""
    return text.lower() if rng.random() < 0.5 else "  " + text.replace(" ", "  ") + " "


def _read_qqp(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"the QQP sample is not at {path} (it ships with the source tree, data/); "
                                "use --replay FILE.jsonl or --workload synthetic")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def qqp_workload(n: int = 2000, rate: float = 300.0, *, seed: int = 7, intents: int = 1000, zipf_s: float = 1.1,
                 reword: float = 0.3, respell: float = 0.2, split: str = "test",
                 path: Path = QQP_PATH) -> Workload:
    """Real questions with Zipf popularity, rewordings from labelled pairs, bursty arrivals (module docstring)."""
    if n < 1:
        raise ValueError(f"the workload needs at least one request, got {n!r}")
    if intents < 1:
        raise ValueError(f"intents must be >= 1, got {intents!r}")
    rows = [r for r in _read_qqp(path) if split in (None, "all") or r.get("split") == split]
    duplicate = frozenset(_key(r["a"], r["b"]) for r in rows if r["label"] == 1)
    contradicted = frozenset(_key(r["a"], r["b"]) for r in rows if r["label"] == 0) - duplicate
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    wordings: list[list[str]] = []
    intent_of: dict[str, int] = {}
    for i in order:
        if len(wordings) >= intents:
            break
        row = rows[i]
        a, b = row["a"].strip(), row["b"].strip()
        na, nb = normalize_text(a), normalize_text(b)
        if not na or not nb or na == nb or na in intent_of or nb in intent_of:
            continue
        groups = [[a, b]] if row["label"] == 1 else [[a], [b]]
        for g in groups[: intents - len(wordings)]:
            for text in g:
                intent_of[normalize_text(text)] = len(wordings)
            wordings.append(g)
    ranking = list(range(len(wordings)))
    rng.shuffle(ranking)  # popularity does not follow the file order
    weights = [0.0] * len(wordings)
    for rank, k in enumerate(ranking):
        weights[k] = 1.0 / (rank + 1) ** zipf_s
    picks = rng.choices(range(len(wordings)), weights, k=n)
    times = bursty_arrivals(n, rate, rng)
    requests = []
    for at, k in zip(times, picks, strict=True):
        words = wordings[k]
        reworded = len(words) > 1 and rng.random() < reword
        text = words[1] if reworded else words[0]
        if rng.random() < respell:
            text = _respell(text, rng)
        requests.append(Request(at, text, k, reworded))
    pairs = sum(len(w) > 1 for w in wordings)
    description = (f"{n} real questions (QQP sample, {split} split): {len(wordings)} intents ({pairs} labelled "
                   f"duplicate pairs, {len(wordings) - pairs} single questions from non-duplicate pairs), Zipf "
                   f"popularity s={zipf_s:g}, {reword:.0%} of pair requests reworded, {respell:.0%} respelled; "
                   f"bursty arrivals averaging {rate:g} req/s (bursts of ~{BURST_S:g} s at {BURSTINESS:g}x, "
                   f"quiet ~{QUIET_S:g} s at {QUIET_FACTOR:g}x)")
    params = {"workload": "qqp", "requests": n, "rate": rate, "seed": seed, "intents": len(wordings),
              "labelled_pairs": pairs, "zipf_s": zipf_s, "reword": reword, "respell": respell, "split": split,
              "burst_s": BURST_S, "quiet_s": QUIET_S, "burstiness": BURSTINESS, "quiet_factor": QUIET_FACTOR}
    return Workload("qqp", requests, description, duplicate, contradicted, intent_of, params)


def load_replay(path: Path | str, rate: float = 300.0, *, seed: int = 7, limit: int | None = None) -> Workload:
    """The user's own requests from a JSON-lines file (format in the module docstring)."""
    path = Path(path)
    items: list[tuple[str, float | None, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
            if isinstance(obj, str):
                items.append((obj, None, None))
                continue
            text = obj.get("query", obj.get("text")) if isinstance(obj, dict) else None
            if not isinstance(text, str):
                raise ValueError(f"{path}:{lineno}: each line must be a JSON string or an object with a "
                                 '"query" (or "text") string')
            t = obj.get("t")
            if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not t >= 0):
                raise ValueError(f"{path}:{lineno}: \"t\" must be a number of seconds >= 0, got {t!r}")
            items.append((text, None if t is None else float(t), obj.get("group")))
            if limit is not None and len(items) >= limit:
                break
    if not items:
        raise ValueError(f"{path}: no requests")
    timed = all(t is not None for _, t, _ in items)
    if timed:
        items.sort(key=lambda item: item[1])
        t0 = items[0][1]
        times = [t - t0 for _, t, _ in items]
    else:
        times = bursty_arrivals(len(items), rate, random.Random(seed))
    groups: dict[str, int] = {}
    intent_of: dict[str, int] = {}
    requests = []
    for (text, _, group), at in zip(items, times, strict=True):
        if group is None:
            intent = -1
        else:
            intent = groups.setdefault(json.dumps(group, sort_keys=True), len(groups))
            intent_of.setdefault(normalize_text(text), intent)
        requests.append(Request(at, text, intent))
    arrivals = "the file's own arrival times" if timed else f"bursty arrivals averaging {rate:g} req/s"
    description = (f"{len(requests)} requests replayed from {path.name} ({arrivals}; "
                   f"{len(groups) or 'no'} labelled groups)")
    params = {"workload": "replay", "file": str(path), "requests": len(requests), "rate": None if timed else rate,
              "seed": seed, "groups": len(groups)}
    return Workload("replay", requests, description, frozenset(), frozenset(), intent_of, params)


def _key(a: str, b: str) -> tuple[str, str]:
    na, nb = normalize_text(a), normalize_text(b)
    return (na, nb) if na < nb else (nb, na)


# ---------------------------------------------------------------------------------------------- backends


class SimulatedLLM:
    """An LLM-like server: one call at a time, ``base_ms + per_item_ms * n`` per call, priced per request."""

    kind = "simulated-llm"

    def __init__(self, base_ms: float = 10.0, per_item_ms: float = 0.2, *, cost_per_request: float = 0.002,
                 cost_per_call: float = 0.0) -> None:
        self.base_s = base_ms / 1e3
        self.per_item_s = per_item_ms / 1e3
        self.cost_per_request = cost_per_request
        self.cost_per_call = cost_per_call
        self.calls = 0
        self.items = 0
        self.busy_s = 0.0
        self._busy: asyncio.Lock | None = None

    def describe(self) -> str:
        return (f"simulated LLM server: one call at a time, {self.base_s * 1e3:g} ms + {self.per_item_s * 1e3:g} ms "
                f"per request; ${self.cost_per_request:g} per request served"
                + (f" + ${self.cost_per_call:g} per call" if self.cost_per_call else ""))

    def fresh(self) -> SimulatedLLM:
        return SimulatedLLM(self.base_s * 1e3, self.per_item_s * 1e3, cost_per_request=self.cost_per_request,
                            cost_per_call=self.cost_per_call)

    @property
    def cost_usd(self) -> float:
        return self.items * self.cost_per_request + self.calls * self.cost_per_call

    async def __call__(self, requests: list) -> list:
        if self._busy is None:
            self._busy = asyncio.Lock()
        async with self._busy:
            self.calls += 1
            self.items += len(requests)
            seconds = self.base_s + self.per_item_s * len(requests)
            self.busy_s += seconds
            await asyncio.sleep(seconds)
            return [(r["query"], "answer") for r in requests]

    async def one(self, request: dict) -> Any:
        """The unbatched path: this request alone, one call."""
        return (await self([request]))[0]

    def close(self) -> None:
        pass


class ModelBackend:
    """The embedded model as the batch handler (a sync handler: the processor runs it on its own threads)."""

    kind = "model"

    def __init__(self, encoder: Any = None, *, device: str = "auto", cost_per_request: float = 0.002,
                 cost_per_call: float = 0.0) -> None:
        if encoder is None:
            from batchsieve.models import SentenceEncoder

            encoder = SentenceEncoder(device=device, cache_size=0)  # a model server computes every request
        self.encoder = encoder
        self.cost_per_request = cost_per_request
        self.cost_per_call = cost_per_call
        self.calls = 0
        self.items = 0
        self.busy_s = 0.0
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def describe(self) -> str:
        enc = self.encoder
        name = getattr(enc, "model_name", type(enc).__name__)
        where = f"{getattr(enc, 'device', '?')}, {str(getattr(enc, 'dtype', '?')).removeprefix('torch.')}"
        return (f"the embedded model as the batch handler: {name} ({where}), one call at a time, every request "
                f"computed (no cache); ${self.cost_per_request:g} per request served"
                + (f" + ${self.cost_per_call:g} per call" if self.cost_per_call else ""))

    def fresh(self) -> ModelBackend:
        return ModelBackend(self.encoder, cost_per_request=self.cost_per_request, cost_per_call=self.cost_per_call)

    @property
    def cost_usd(self) -> float:
        return self.items * self.cost_per_request + self.calls * self.cost_per_call

    def warmup(self) -> None:
        self.encoder.encode(["warm up the model", "warm up the model with a longer question, twice over?"])

    def __call__(self, requests: list) -> list:
        texts = [r["query"] for r in requests]
        with self._lock:  # one call at a time, like one model replica
            t0 = time.perf_counter()
            result = self.encoder.encode(texts)
            self.busy_s += time.perf_counter() - t0
            self.calls += 1
            self.items += len(texts)
        rows = result.embeddings
        return [(text, rows[i]) for i, text in enumerate(texts)]

    async def one(self, request: dict) -> Any:
        """The unbatched path: this request alone, one call, on a single worker thread (calls queue up)."""
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="batchsieve-demo-model")
        loop = asyncio.get_running_loop()
        return (await loop.run_in_executor(self._pool, self, [request]))[0]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

