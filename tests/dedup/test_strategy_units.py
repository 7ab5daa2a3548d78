"""The strategies called directly: representatives, merge counts, figures and explanations, value by value.

A table-driven fake encoder (from ``test_strategies``) gives exact cosines; nothing loads a model.
"""

from __future__ import annotations

import math
from collections import namedtuple

import pytest
import torch
from batchsieve.dedup import CustomStrategy, DedupItem, EmbeddingStrategy, ExactStrategy, HybridStrategy
from batchsieve.verifier import MergeVerifier

from .test_strategies import _REWORDING, FakeEncoder, _at_cosine, _unit, encoder_with


def _items(*texts: str, scope=None, fields=(), mergeable=True) -> list[DedupItem]:
    return [DedupItem(t, " ".join(t.lower().split()), scope, fields, mergeable, t) for t in texts]


# ---------------------------------------------------------------- exact


def test_exact_strategy_assigns_by_scope_text_and_fields():
    items = [*_items("a", "b", "a"), DedupItem("a", "a", "t2", (), True, "a"),
             DedupItem("a", "a", None, ("m",), True, "a"), DedupItem("a", "a", None, (), False, "a"),
             DedupItem("b", "b", None, (), True, "b")]
    result = ExactStrategy().assign(items, 0.98)
    assert result.rep == [0, 1, 0, 3, 4, 5, 1]
    assert result.merges == {"exact": 2}
    assert ExactStrategy().assign(_items("a", "b"), 0.98).merges == {}
    assert ExactStrategy().stats() == {"strategy": "exact"}


# ---------------------------------------------------------------- the encoder-backed figures


class _Timed:
    def __init__(self, n: int, seconds: float) -> None:
        self.embeddings = torch.eye(max(n, 2))[:n]
        self.truncated = [False] * n
        self.has_unknown = [False] * n
        self.encode_seconds = seconds


class TimedEncoder:
    """Reports its own encode time: 10 ms, then 20 ms, ...; ``info`` is what cache_info returns."""

    def __init__(self, info=None) -> None:
        self.calls = 0
        if info is not None:
            self.cache_info = lambda: info

    def encode(self, texts):
        self.calls += 1
        return _Timed(len(texts), 0.010 * self.calls)


CacheInfo = namedtuple("CacheInfo", "hits misses")


@pytest.mark.parametrize(("info", "cache"), [
    (CacheInfo(3, 4), {"hits": 3, "misses": 4}),  # a named tuple (the default encoder's)
    ({"hits": 1}, {"hits": 1}),
    ("7 entries", {"info": "7 entries"}),
    (None, None),  # no cache_info at all
])
def test_encoder_figures_in_milliseconds(info, cache):
    strategy = EmbeddingStrategy(TimedEncoder(info))
    assert strategy.stats() == {"strategy": "embedding", "encoder_batches": 0, "encoder_ms_total": 0.0,
                                "encoder_ms_per_batch": 0.0, "encoder_ms_last": 0.0, "stages": {},
                                **({} if cache is None else {"cache": cache})}
    strategy.assign(_items("alpha", "beta"), 0.98)
    strategy.assign(_items("gamma", "delta"), 0.98)
    stats = strategy.stats()
    assert (stats["encoder_batches"], stats["encoder_ms_total"], stats["encoder_ms_per_batch"],
            stats["encoder_ms_last"]) == (2, pytest.approx(30.0), pytest.approx(15.0), pytest.approx(20.0))
    assert stats.get("cache") == cache


def test_the_default_encoder_is_built_once_and_only_when_needed(monkeypatch):
    import batchsieve.dedup._encoder as encoder_module
    import batchsieve.models

    built: list[object] = []

    class Fake:
        def __init__(self) -> None:
            built.append(self)

    monkeypatch.setattr(encoder_module, "_default_encoder", None)
    monkeypatch.setattr(batchsieve.models, "SentenceEncoder", Fake)
    strategy = HybridStrategy.from_config(object())  # a config without an encoder: the default, lazily
    assert built == []
    assert strategy.encoder is built[0] and encoder_module.default_encoder() is built[0]
    assert len(built) == 1


def test_factories_accept_a_config_without_the_optional_fields():
    assert EmbeddingStrategy.from_config(object()).stats()["strategy"] == "embedding"
    with pytest.raises(ValueError, match=r"^dedup_strategy='custom' needs dedup_function=callable\(req1, req2\) "
                                         r"-> float$"):
        CustomStrategy.from_config(object())
    with pytest.raises(TypeError, match=r"^dedup_function must be callable, got 3$"):
        CustomStrategy(3)


# ---------------------------------------------------------------- embedding


def test_embedding_counts_its_merges_in_its_stages_and_reports_none_when_none():
    enc = encoder_with({("aa", "bb"): 0.99})
    strategy = EmbeddingStrategy(enc)
    result = strategy.assign(_items("aa", "bb", "cc"), 0.98)
    assert (result.rep, result.merges) == ([0, 0, 2], {"embedding": 1})
    assert 0.0 <= result.seconds < 60.0
    assert strategy.assign(_items("aa", "cc"), 0.98).merges == {}
    assert strategy.stats()["stages"] == {"embedding": 1}


@pytest.mark.parametrize(("cosine", "verdict"), [(0.99, "MERGE: cosine 0.990 >= threshold 0.980"),
                                                 (0.95, "NO MERGE: cosine 0.950 < threshold 0.980")])
def test_embedding_explains_with_the_cosine(cosine, verdict):
    strategy = EmbeddingStrategy(encoder_with({("aa", "bb"): cosine}))
    assert strategy.explain("aa", "bb", 0.98) == f"a: 'aa'\nb: 'bb'\n{verdict} (embedding strategy)"


# ---------------------------------------------------------------- hybrid


def test_hybrid_counts_each_semantic_merge_and_exact_members_follow_their_representative():
    a, b = _REWORDING
    base = _unit("x")
    enc = FakeEncoder(table={"x x": base, " ".join(a.lower().split()): _at_cosine(base, 0.99, "a"),
                             " ".join(b.lower().split()): _at_cosine(base, 0.99, "b")})
    strategy = HybridStrategy(enc, MergeVerifier(extra_synonyms={"x": "how"}, rules=["number"]))
    result = strategy.assign(_items("x x", a, a.upper(), b), 0.98)
    assert result.rep == [0, 0, 0, 0]  # the exact duplicate follows "a" into the group of "x x"
    assert result.merges == {"exact": 1, "embedding": 2}


class _Bare:
    def __init__(self, embeddings: torch.Tensor) -> None:
        self.embeddings = embeddings


class BareEncoder:
    """An encoder that reports embeddings only: no unknown-token or truncation flags."""

    def __init__(self, inner: FakeEncoder) -> None:
        self.inner = inner

    def encode(self, texts):
        return _Bare(self.inner.encode(texts).embeddings)


def test_hybrid_with_an_encoder_that_reports_no_flags_treats_every_text_as_unflagged():
    a, b = _REWORDING
    strategy = HybridStrategy(BareEncoder(encoder_with({_REWORDING: 0.99})))
    assert strategy.assign(_items(a, b), 0.98).rep == [0, 0]


def test_hybrid_explains_with_the_encoders_cosine_and_flags():
    a, b = _REWORDING
    enc = encoder_with({_REWORDING: 0.99})
    enc.unknown.add(" ".join(b.lower().split()))
    verifier = MergeVerifier()
    text = HybridStrategy(enc, verifier).explain(a, b, 0.98)
    cosine = float(enc.table[" ".join(a.lower().split())] @ enc.table[" ".join(b.lower().split())])
    assert cosine == pytest.approx(0.99, abs=1e-6)
    assert text == verifier.explain(a, b, cosine=cosine, threshold=0.98, a_unknown=False, b_unknown=True,
                                    a_truncated=False, b_truncated=False)
    assert "cosine 0.990 >= threshold 0.980" in text and "[flag]" in text and "NO MERGE" in text
    enc.unknown.clear()
    assert HybridStrategy(enc, verifier).explain(a, b, 0.98).splitlines()[2] == "MERGE"


# ---------------------------------------------------------------- custom


def test_custom_vectorised_scores_are_compared_in_double_precision_and_at_the_threshold():
    def scores(requests):
        return [[1.0, 0.97999999, 0.98], [0.97999999, 1.0, 0.5], [0.98, 0.5, 1.0]]

    strategy = CustomStrategy(scores)
    result = strategy.assign(_items("p", "q", "r"), 0.98)
    assert result.rep == [0, 1, 0]  # 0.97999999 stays apart (float32 would round it up); 0.98 itself merges
    assert result.merges == {"custom": 1} and 0.0 <= result.seconds < 60.0
    with pytest.raises(ValueError, match=r"^vectorised dedup_function returned shape \(2, 3\), expected \(3, 3\)$"):
        CustomStrategy(lambda requests: [[1.0] * 3] * 2).assign(_items("p", "q", "r"), 0.98)


def test_custom_pairwise_merges_at_the_threshold_and_never_asks_across_scopes():
    asked: list[tuple[str, str]] = []

    def score(x, y):
        asked.append((x, y))
        return 0.98 if {x, y} <= {"a1", "a2", "c1"} else 0.0

    items = [DedupItem("a1", "a1", "t1", (), True, "a1"), DedupItem("b", "b", "t1", (), False, "b"),
             DedupItem("a2", "a2", "t1", (), True, "a2"), DedupItem("c1", "c1", "t2", (), True, "c1")]
    strategy = CustomStrategy(score)
    result = strategy.assign(items, 0.98)
    assert result.rep == [0, 1, 0, 3]  # past the unmergeable one, a2 still merges; c1 is another tenant's
    assert asked == [("a1", "a2")]  # the unmergeable and the other scope are never shown to the function
    assert strategy.assign(items, 0.98).merges == {"custom": 1}
    assert strategy.stats() == {"strategy": "custom", "merged": 2, "vectorised": False}


def test_custom_arity_decides_the_vectorised_form():
    assert CustomStrategy(lambda requests, scale=1.0: requests).vectorised
    assert CustomStrategy(lambda a, b, *, strict=False: 0.0).vectorised is False

    def keyword_only(requests, *, scale):
        return requests

    assert CustomStrategy(keyword_only).vectorised
    assert CustomStrategy(math.hypot).vectorised is False  # a builtin: taken as pairwise


class ScaledEncoder:
    """Embeddings not normalised (times 3 and times 0.5): a cosine must not depend on their lengths."""

    def __init__(self, inner: FakeEncoder, bare: bool = False) -> None:
        self.inner = inner
        self.bare = bare

    def encode(self, texts):
        result = self.inner.encode(texts)
        scale = torch.tensor([3.0, 0.5][: len(texts)] + [1.0] * max(0, len(texts) - 2))[:, None]
        if self.bare:
            return _Bare(result.embeddings * scale)
        result.embeddings = result.embeddings * scale
        return result


def test_explanations_use_the_cosine_whatever_the_embeddings_lengths():
    a, b = _REWORDING
    enc = encoder_with({_REWORDING: 0.99})
    assert EmbeddingStrategy(ScaledEncoder(enc)).explain(a, b, 0.98).endswith(
        "MERGE: cosine 0.990 >= threshold 0.980 (embedding strategy)")
    assert EmbeddingStrategy(ScaledEncoder(enc)).explain(a, b, 0.99).endswith(
        "MERGE: cosine 0.990 >= threshold 0.990 (embedding strategy)")  # at the threshold: a merge
    assert "cosine 0.990 >= threshold 0.980" in HybridStrategy(ScaledEncoder(enc)).explain(a, b, 0.98)


@pytest.mark.parametrize("flag", ["a_unknown", "a_truncated", "b_truncated", None])
def test_hybrid_explains_each_encoder_flag_on_its_own_side(flag):
    a, b = _REWORDING
    enc = encoder_with({_REWORDING: 0.99})
    if flag is not None:
        getattr(enc, flag[2:]).add(" ".join((a if flag[0] == "a" else b).lower().split()))  # unknown / truncated
    verifier = MergeVerifier()
    flags = {k: k == flag for k in ("a_unknown", "b_unknown", "a_truncated", "b_truncated")}
    cosine = float(enc.table[" ".join(a.lower().split())] @ enc.table[" ".join(b.lower().split())])
    assert HybridStrategy(enc, verifier).explain(a, b, 0.98) == verifier.explain(a, b, cosine=cosine, threshold=0.98,
                                                                                **flags)
    # an encoder that reports no flags: nothing is flagged
    bare = HybridStrategy(ScaledEncoder(enc, bare=True), verifier).explain(a, b, 0.98)
    assert bare == verifier.explain(a, b, cosine=bare_cosine(enc, a, b), threshold=0.98)


def bare_cosine(enc: FakeEncoder, a: str, b: str) -> float:
    ea, eb = enc.table[" ".join(a.lower().split())], enc.table[" ".join(b.lower().split())]
    return float(ea @ eb / (ea.norm() * eb.norm()))
