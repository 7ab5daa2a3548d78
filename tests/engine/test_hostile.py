"""Hostile input: Unicode of every category (lone surrogates included: they are valid ``str``), odd request
shapes, odd scope types, odd keyword arguments, and NaN/inf from custom similarity functions.

Every call either raises a clear ``TypeError``/``ValueError`` at once (and enqueues nothing), or gets a
correct answer: the answer of a request equal to its own under the documented rules, never one merged across
scopes or differing fields. The rules, as a reference model written from the documentation:

* scopes are typed identities: ``1``, ``True``, ``1.0`` are three scopes, so are ``0`` and ``-0.0``,
  ``Fraction(1, 2)`` and ``0.5``; tuples compare element by element, typed;
* the other fields of a dict request are typed too (``{1: x}``, ``{True: x}``, ``{1.0: x}`` differ), key
  order does not matter, nested containers compare by content (a list is not a tuple); a field without a
  stable identity (an unhashable object that is not a container) makes the request unmergeable;
* a str subclass request is its text; ``{"query": text}`` alone is the same question as ``text``;
* texts match exactly after ``normalize_text``; with a custom similarity a merge also needs a finite score
  ``>= dedup_threshold`` between the request and its representative (NaN and inf never merge).

The handler answers each request with a token naming the very object it received, so every caller's answer
is traced back to the request (and so the scope and fields) it came from.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import numbers
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from batchsieve import BatchProcessor, RequestTimeoutError, normalize_text
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .test_faults import no_asyncio_warning  # noqa: F401 -- an autouse fixture

# deterministic (the same examples every run, no example database); no shrinking: a failing example is
# printed as found (shrinking a concurrent run costs seconds of CPU)
_SETTINGS = {"deadline": None, "derandomize": True, "database": None, "phases": [Phase.explicit, Phase.generate],
             "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}


class StrSub(str):
    """A str subclass, as frameworks hand out (its methods are str's)."""


class NoIdentity:
    """A field value without a stable identity: unhashable, and not a container."""

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return True  # "equal" to anything: only identity-free comparison could merge it


# ------------------------------------------------------------------ the reference model


class Unmergeable(Exception):
    pass


def ref_freeze(value: Any) -> Any:
    """A value's identity under the documented rules (raises ``Unmergeable`` for one without identity)."""
    if isinstance(value, dict):
        return ("dict", frozenset((ref_freeze(k), ref_freeze(v)) for k, v in value.items()))
    if type(value) in (list, tuple):
        return (type(value).__name__, tuple(ref_freeze(v) for v in value))
    if isinstance(value, frozenset):
        return ("frozenset", frozenset(ref_freeze(v) for v in value))
    try:
        hash(value)
    except TypeError:
        raise Unmergeable from None
    return (type(value), value)


def text_of(request: Any) -> str:
    return str.__str__(request) if isinstance(request, str) else str.__str__(request["query"])


def ref_fields(request: Any) -> Any:
    """The frozen non-text fields (``None``: unmergeable)."""
    if isinstance(request, str):
        return ()
    rest = {k: v for k, v in request.items() if k != "query"}
    if not rest:
        return ()
    try:
        return ref_freeze(rest)
    except Unmergeable:
        return None


class Call:
    def __init__(self, request: Any, scope: Any, dedup: bool) -> None:
        self.request = request
        self.scope = scope
        self.dedup = dedup
        self.scope_id = ref_freeze(scope)
        self.fields = ref_fields(request)
        self.norm = normalize_text(text_of(request))
        self.mergeable = dedup and self.fields is not None

    def __repr__(self) -> str:
        return f"Call({self.request!r}, scope={self.scope!r}, dedup={self.dedup})"

    def same_group(self, other: Call) -> bool:
        """Whether the two may merge at all: both mergeable, same scope, same fields."""
        return (self.mergeable and other.mergeable and self.scope_id == other.scope_id
                and self.fields == other.fields)

    def exact_twin(self, other: Call) -> bool:
        return self is other or (self.same_group(other) and self.norm == other.norm)


# ------------------------------------------------------------------ hostile values

_TRICKY = ["", " ", "\x00", "\t\n", "\ud800", "\udfff", "a\ud800b", "\ud83d\ude00", "😀", "ﬁ", "ǅ", "ß", "ẞ", "SS",
           "İ", "i̇", "x²", "x2", "①", "1", "\u200b", "e\u0301", "é", "ＡＢＣ", "abc", "\ufeff", "½", "1/2",
           "\u2028", "\U0010ffff", "Ω", "Ω", "ﷺ", "a" * 3000]
hostile_text = st.one_of(
    st.sampled_from(_TRICKY),
    st.text(st.characters(exclude_categories=()), max_size=12),  # every category, surrogates (Cs) included
    st.builds(lambda a, b: a + b, st.sampled_from(_TRICKY), st.text(st.characters(exclude_categories=()),
                                                                    max_size=4)),
)
_SCALARS = [1, True, 1.0, 0, False, -0.0, 0.0, Fraction(1, 2), 0.5, None, "1", StrSub("1"), 2]
scope_values = st.one_of(st.none(), st.sampled_from(_SCALARS),
                         st.tuples(st.sampled_from(_SCALARS), st.sampled_from(_SCALARS)))
field_keys = st.sampled_from([1, True, 1.0, 0, False, -0.0, "model", StrSub("model"), 2, (1, "k")])
field_leaves = st.sampled_from([1, True, 1.0, "a", StrSub("a"), None, b"a", -0.0, 0.0, Fraction(1, 2), 0.5])
field_values = st.recursive(
    field_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=2), st.tuples(inner, inner),
                            st.dictionaries(field_keys, inner, max_size=2),
                            st.frozensets(st.sampled_from([1, True, 1.0, "a", None]), max_size=2)),
    max_leaves=4)
field_dicts = st.dictionaries(field_keys, st.one_of(field_values, st.builds(NoIdentity),
                                                     st.builds(bytearray, st.just(b"x"))), max_size=2)


@st.composite
def requests(draw, texts: list[str], fields: list[dict]) -> Any:
    text = draw(st.sampled_from(texts))
    if draw(st.booleans()):
        text = draw(st.sampled_from([text.upper(), f"  {text} ", text.casefold(), text.swapcase()]))
    shape = draw(st.sampled_from(["str", "sub", "dict", "dict_sub", "fields", "fields"]))
    if shape == "str":
        return text
    if shape == "sub":
        return StrSub(text)
    if shape == "dict":
        return {"query": text}
    if shape == "dict_sub":
        return {"query": StrSub(text)}
    return {"query": text, **draw(st.sampled_from(fields))}


@st.composite
def workloads(draw) -> list[Call]:
    texts = draw(st.lists(hostile_text, min_size=1, max_size=4))
    fields = draw(st.lists(field_dicts, min_size=1, max_size=3))
    scopes = draw(st.lists(scope_values, min_size=1, max_size=3))
    n = draw(st.integers(1, 24))
    return [Call(draw(requests(texts, fields)), draw(st.sampled_from(scopes)), draw(st.booleans()) or
                 draw(st.sampled_from([True, True, False]))) for _ in range(n)]


# ------------------------------------------------------------------ strategies under test

_SCORES = [math.nan, math.inf, -math.inf, 0.0, -0.0, 0.97, 0.98, 0.99, 1.0, 1e308, 5e-324]


class Scores:
    """A symmetric, seeded score per pair of normalised texts (a custom similarity function's view)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, a: Any, b: Any) -> float:
        x, y = sorted((normalize_text(text_of(a)), normalize_text(text_of(b))))
        if x == y:
            return 1.0
        digest = hashlib.sha256(f"{self.seed}|{x}|{y}".encode("utf-8", "surrogatepass")).digest()
        return _SCORES[digest[0] % len(_SCORES)]

    def matrix(self, requests: list) -> list[list[float]]:
        return [[self(a, b) for b in requests] for a in requests]


class SurrogateSafeEncoder:
    """Random 64-D directions per text (no two texts near each other), for any str, surrogates included."""

    def encode(self, texts: list[str]):
        vecs = []
        for t in texts:
            seed = int(hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16)
            vecs.append(torch.randn(64, generator=torch.Generator().manual_seed(seed)))
        return SimpleNamespace(embeddings=torch.stack(vecs), truncated=[False] * len(texts),
                               has_unknown=[False] * len(texts))


class CoarseEncoder:
    """Three directions in all (by text length): nearly every pair is a candidate, so the merge verifier
    judges hostile text pair after pair."""

    def encode(self, texts: list[str]):
        basis = torch.eye(3)
        return SimpleNamespace(embeddings=torch.stack([basis[len(t) % 3] for t in texts]),
                               truncated=[False] * len(texts), has_unknown=[False] * len(texts))


def _processor(strategy: str, handler, seed: int) -> tuple[BatchProcessor, Scores | None]:
    common = {"window_ms": 0, "max_size": 64, "dedup_timeout_ms": 30_000}
    if strategy == "exact":
        return BatchProcessor(handler, dedup_strategy="exact", **common), None
    if strategy == "hybrid":
        return BatchProcessor(handler, encoder=SurrogateSafeEncoder(), **common), None
    if strategy in ("hybrid_candidates", "embedding_candidates"):
        return BatchProcessor(handler, dedup_strategy=strategy.split("_")[0], encoder=CoarseEncoder(),
                              **common), None
    scores = Scores(seed)
    # one positional argument (matrix) is the vectorised form, two (a, b) the pairwise one
    function = scores.matrix if strategy == "vectorised" else scores.__call__
    return BatchProcessor(handler, dedup_function=function, **common), scores


def _run(strategy: str, calls: list[Call], seed: int, split: int | None = None) -> tuple[list, list, Any]:
    """Submit ``calls`` at once (window 0, one loop turn: all queued before the first dispatch, one batch).
    With ``split``, the calls from ``split`` on arrive while the handler runs the first batch (held at a
    gate): those equal to a running request join its call, the others form the next batch."""
    handled: list[Any] = []
    gate = asyncio.Event()
    if split is None:
        gate.set()

    async def handler(batch_requests: list) -> list:
        out = []
        for r in batch_requests:
            out.append(("token", len(handled)))
            handled.append(r)
        await gate.wait()
        return out

    async def main():
        batch, _ = _processor(strategy, handler, seed)
        first = calls if split is None else calls[:split]
        tasks = [asyncio.ensure_future(batch.process(c.request, scope=c.scope, dedup=c.dedup)) for c in first]
        if split is not None:
            while not handled:
                await asyncio.sleep(0)
            tasks += [asyncio.ensure_future(batch.process(c.request, scope=c.scope, dedup=c.dedup))
                      for c in calls[split:]]
            await asyncio.sleep(0)
            gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await batch.close()
        leaked = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return results, batch.get_stats(), leaked

    results, stats, leaked = asyncio.run(main())
    assert leaked == []
    return results, handled, stats


def _classes(calls: list[Call]) -> list[Call]:
    classes: list[Call] = []
    for c in calls:
        if not any(c.exact_twin(k) for k in classes):
            classes.append(c)
    return classes


def _check(strategy: str, calls: list[Call], results: list, handled: list, stats: Any, seed: int,
           split: int | None = None) -> None:
    submitters: dict[int, list[Call]] = {}
    for c in calls:
        submitters.setdefault(id(c.request), []).append(c)
    scores = Scores(seed) if strategy in ("pairwise", "vectorised") else None
    for c, result in zip(calls, results, strict=True):
        assert not isinstance(result, BaseException), (c.request, result)
        assert isinstance(result, tuple) and result[0] == "token", result
        representative = handled[result[1]]
        # the request that answered it came from a caller whose request is equal to this one's under the rules
        candidates = submitters[id(representative)]
        ok = False
        for r in candidates:
            if c.exact_twin(r):
                ok = True
            elif strategy.endswith("_candidates"):  # the verifier (or the cosine) decides within a group
                ok = ok or c.same_group(r)
            elif scores is not None and c.same_group(r):
                score = scores(r.request, c.request)
                ok = ok or (math.isfinite(score) and score >= 0.98)
        assert ok, (f"{c.request!r} (scope {c.scope!r}) got the answer of {representative!r} "
                    f"(from scopes {[r.scope for r in candidates]!r})")
    # one slot per distinct question and window: fewer would be a merge across the rules, more a missed one
    if split is None:
        slots = len(_classes(calls))
    else:  # a second-wave request equal to a running one joins that call
        first = _classes(calls[:split])
        slots = len(first) + sum(1 for c in _classes(calls[split:]) if not any(c.exact_twin(k) for k in first))
    if strategy in ("exact", "hybrid"):
        assert len(handled) == slots
    else:
        assert len(handled) <= slots
    assert stats.total_requests == stats.completed_requests == len(calls)
    assert stats.failed_requests == stats.cancelled_requests == 0
    assert stats.dedup_failures == 0, stats.dedup  # hostile text is text: no strategy may crash on it


@pytest.mark.parametrize(("strategy", "examples"), [("exact", 400), ("hybrid", 80), ("hybrid_candidates", 120),
                                                    ("embedding_candidates", 60), ("pairwise", 150),
                                                    ("vectorised", 100)])
def test_hostile_requests_get_an_answer_of_their_own_kind(strategy, examples):
    @settings(max_examples=examples, **_SETTINGS)
    @given(calls=workloads(), seed=st.integers(0, 3))
    def check(calls, seed):
        results, handled, stats = _run(strategy, calls, seed)
        _check(strategy, calls, results, handled, stats, seed)

    check()


@settings(max_examples=200, **_SETTINGS)
@given(calls=workloads(), data=st.data())
def test_hostile_requests_joining_a_running_call_join_only_their_own(calls, data):
    split = data.draw(st.integers(1, len(calls)))
    results, handled, stats = _run("exact", calls, 0, split)
    _check("exact", calls, results, handled, stats, 0, split)


# ------------------------------------------------------------------ NaN and inf from a custom similarity


@pytest.mark.parametrize("vectorised", [False, True])
@pytest.mark.parametrize("score", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_nan_and_inf_similarities_never_merge(score, vectorised):
    seen: list[list[str]] = []

    async def handler(requests):
        seen.append(list(requests))
        return [f"answer to {r}" for r in requests]

    def pairwise(a, b):
        return score

    def matrix(requests):
        return [[score] * len(requests) for _ in requests]

    async def main():
        batch = BatchProcessor(handler, dedup_function=matrix if vectorised else pairwise, window_ms=0,
                               dedup_timeout_ms=30_000)
        out = await asyncio.gather(*[batch.process(t) for t in ("alpha", "beta", "gamma")])
        await batch.close()
        return out

    assert asyncio.run(main()) == ["answer to alpha", "answer to beta", "answer to gamma"]
    assert seen == [["alpha", "beta", "gamma"]]


# ------------------------------------------------------------------ odd shapes and odd arguments

_ODD_REQUESTS = [42, 1.5, None, True, b"bytes", bytearray(b"x"), ("tuple",), {"set"}, ["nested", ["list"]],
                 {"text": "no query key"}, {"query": 5}, {"query": b"bytes"}, {"query": None}, {"query": ["x"]},
                 {1: "int key only"}, {"query": StrSub("sub")}, StrSub("a str subclass"), "plain", "",
                 {"query": "ok", 1: "x", 2.5: [1, {2: (3,)}]}, {"query": "ok", True: "y"},
                 {"query": "ok", "f": NoIdentity()},
                 frozenset({"x"}), object()]


def _valid_request(request: Any) -> bool:
    if isinstance(request, str):
        return True
    return isinstance(request, dict) and "query" in request and isinstance(request["query"], str)


@settings(max_examples=150, **_SETTINGS)
@given(request=st.one_of(st.sampled_from(_ODD_REQUESTS), hostile_text),
       listed=st.booleans(), partner=st.sampled_from(["fine", 7, {"query": "also fine"}]))
def test_odd_request_shapes_are_refused_with_a_type_error_or_answered(request, listed, partner):
    async def handler(requests):
        return [("answer", text_of(r)) for r in requests]

    valid = _valid_request(request) and (not listed or _valid_request(partner))

    async def main():
        batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=0)
        try:
            outcome = await batch.process([request, partner] if listed else request)
        except (TypeError, ValueError) as exc:
            outcome = exc
        stats = batch.get_stats()
        await batch.close()
        return outcome, stats

    outcome, stats = asyncio.run(main())
    if valid:
        expected = ("answer", text_of(request))
        assert outcome == ([expected, ("answer", text_of(partner))] if listed else expected)
    else:
        assert isinstance(outcome, TypeError), outcome
        assert stats.total_requests == 0 and stats.queue_depth == 0  # all or nothing: nothing was enqueued


_PRIORITIES = [0, 3, -2, True, False, 1.0, "1", None, 10**30, Fraction(2, 1)]
_TIMEOUTS = [None, 1.0, 5, Fraction(1, 2), 0, -1.0, math.nan, math.inf, -math.inf, "1", True, 1e-300, 10**400]
_DEDUPS = [True, False, 1, 0, None, "yes"]
_SCOPES = [None, "tenant", 1, True, (1, "a"), [1], {"a": 1}, (1, [2]), {1, 2}, frozenset({1}), Fraction(1, 3)]


def _argument_errors(priority: Any, timeout: Any, dedup: Any, scope: Any) -> set[type]:
    """The errors the documented checks give these keyword arguments (empty: all valid)."""
    errors: set[type] = set()
    if isinstance(priority, bool) or not isinstance(priority, numbers.Integral):
        errors.add(TypeError)
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
            errors.add(TypeError)
        else:
            try:
                seconds = float(timeout)
            except OverflowError:
                seconds = math.inf
            if not (seconds > 0 and math.isfinite(seconds)):
                errors.add(ValueError)
    if dedup.__class__ is not bool:
        errors.add(TypeError)
    try:
        hash(scope)
    except TypeError:
        errors.add(TypeError)
    return errors


@settings(max_examples=200, **_SETTINGS)
@given(priority=st.sampled_from(_PRIORITIES), timeout=st.sampled_from(_TIMEOUTS), dedup=st.sampled_from(_DEDUPS),
       scope=st.sampled_from(_SCOPES))
def test_odd_keyword_arguments_are_refused_before_anything_is_queued(priority, timeout, dedup, scope):
    async def handler(requests):
        return [f"answer to {r}" for r in requests]

    expected = _argument_errors(priority, timeout, dedup, scope)

    async def main():
        batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=0)
        try:
            outcome = await batch.process("question", priority=priority, timeout=timeout, dedup=dedup, scope=scope)
        except (TypeError, ValueError, RequestTimeoutError) as exc:  # a valid 1e-300 s timeout may run out
            outcome = exc
        stats = batch.get_stats()
        await batch.close()
        return outcome, stats

    outcome, stats = asyncio.run(main())
    if expected:
        assert type(outcome) in expected, (outcome, expected)
        assert stats.total_requests == 0 and stats.queue_depth == 0
    elif isinstance(outcome, RequestTimeoutError):
        assert timeout is not None and float(timeout) < 1e-3
        assert stats.total_requests == stats.cancelled_requests == 1
    else:
        assert outcome == "answer to question"
        assert stats.total_requests == stats.completed_requests == 1
