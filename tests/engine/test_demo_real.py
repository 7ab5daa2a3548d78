"""The demo on real questions: the QQP workload, its arrival process, replay files, both backends, and the
report (table, merges judged against the labels, --json, --plot, the command line)."""

from __future__ import annotations

import gzip
import json
import random
import statistics
from dataclasses import dataclass

import pytest
import torch
from batchsieve import normalize_text
from batchsieve._demo_report import REAL_DEFAULT_MODES, ModeResult, format_table, run_real_demo
from batchsieve._demo_workload import (
    BURSTINESS,
    QQP_PATH,
    QUIET_FACTOR,
    ModelBackend,
    Request,
    SimulatedLLM,
    Workload,
    bursty_arrivals,
    load_replay,
    qqp_workload,
)
from batchsieve.demo import main


def fast_backend() -> SimulatedLLM:
    return SimulatedLLM(1.0, 0.05)


# ------------------------------------------------------------------------------------------- workload


def test_the_default_workload_is_seeded_real_repetitive_and_reworded():
    w = qqp_workload(1500, 300.0, seed=3)
    assert [(r.at, r.text) for r in w.requests] == [(r.at, r.text) for r in qqp_workload(1500, 300.0, seed=3).requests]
    assert [r.text for r in w.requests] != [r.text for r in qqp_workload(1500, 300.0, seed=4).requests]
    times = [r.at for r in w.requests]
    assert len(times) == 1500 and times == sorted(times) and times[0] > 0
    with gzip.open(QQP_PATH, "rt", encoding="utf-8") as fh:
        qqp = {normalize_text(t) for line in fh for t in (json.loads(line)["a"], json.loads(line)["b"])}
    for r in w.requests:
        assert normalize_text(r.text) in qqp  # real questions, respelled at most
        assert w.intent_of[normalize_text(r.text)] == r.intent  # every text belongs to one intent
    s = w.summary()
    assert s["requests"] == 1500 and s["distinct_texts"] < 700  # popular questions repeat (Zipf)
    assert 0.4 < s["repeat_rate_intent"] < 0.95 and s["repeat_rate_exact"] <= s["repeat_rate_intent"]
    assert 20 < s["reworded_requests"] < 300
    reworded = [r for r in w.requests if r.reworded]
    # a rewording is the other side of a labelled duplicate pair: backed, never the same text
    assert all(w.judge(r.text, next(q.text for q in w.requests if q.intent == r.intent and not q.reworded))
               in ("backed", "same") for r in reworded[:20] if any(q.intent == r.intent and not q.reworded
                                                                  for q in w.requests))
    assert "Zipf" in w.description and "bursty" in w.description
    assert w.params["labelled_pairs"] > 50 and w.params["intents"] == 1000


def test_the_arrival_process_averages_the_rate_and_comes_in_bursts():
    times = bursty_arrivals(60_000, 200.0, random.Random(1))
    assert times == sorted(times)
    assert len(times) / times[-1] == pytest.approx(200.0, rel=0.1)
    bins = [0] * (int(times[-1] / 0.1) + 1)
    for t in times:
        bins[int(t / 0.1)] += 1
    mean, var = statistics.mean(bins), statistics.pvariance(bins)
    assert var / mean > 3  # a Poisson stream has dispersion 1; bursts make it far larger
    assert max(bins) > 0.1 * 200 * BURSTINESS * 0.7
    assert pytest.approx(0.25) == QUIET_FACTOR
    with pytest.raises(ValueError):
        bursty_arrivals(5, 0.0, random.Random(1))


def _workload(requests, pairs=(), negatives=(), groups=None):
    groups = groups or {}
    return Workload("test", [Request(0.001 * i, t, groups.get(t, -1)) for i, t in enumerate(requests)], "test",
                    frozenset(tuple(sorted((normalize_text(a), normalize_text(b)))) for a, b in pairs),
                    frozenset(tuple(sorted((normalize_text(a), normalize_text(b)))) for a, b in negatives),
                    {normalize_text(t): g for t, g in groups.items()})


def test_merges_are_judged_against_the_labels():
    w = _workload([], pairs=[("How do I learn Python?", "What is the best way to learn Python?")],
                  negatives=[("How do I learn Python?", "How do I learn Java?")],
                  groups={"Where is my order?": 4, "Where's my order?": 4})
    assert w.judge("How do I learn Python?", "how do i  learn python? ") == "same"
    assert w.judge("What is the best way to learn Python?", "How do I learn Python?") == "backed"
    assert w.judge("Where's my order?", "Where is my order?") == "backed"  # one intent
    assert w.judge("How do I learn Java?", "How do I learn Python?") == "contradicted"
    assert w.judge("Why is the sky blue?", "How do I learn Python?") == "unbacked"


def test_a_replay_file_gives_strings_times_and_groups(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('"plain string"\n\n{"query": "b", "group": [1]}\n{"text": "c", "group": [1]}\n')
    w = load_replay(path, 100.0, seed=1)
    assert [r.text for r in w.requests] == ["plain string", "b", "c"]
    assert w.requests[1].intent == w.requests[2].intent != -1 and w.requests[0].intent == -1
    assert w.judge("c", "b") == "backed" and w.judge("plain string", "b") == "unbacked"
    timed = tmp_path / "timed.jsonl"
    timed.write_text('{"query": "x", "t": 5.5}\n{"query": "y", "t": 5.0}\n')
    w = load_replay(timed)
    assert [(r.at, r.text) for r in w.requests] == [(0.0, "y"), (0.5, "x")]  # sorted, from the first arrival
    assert len(load_replay(path, limit=2).requests) == 2
    for bad in ('{"q": 1}\n', "not json\n", '{"query": "x", "t": -1}\n', ""):
        path.write_text(bad)
        with pytest.raises(ValueError):
            load_replay(path)


# ------------------------------------------------------------------------------------------- backends


async def test_the_simulated_llm_counts_calls_items_cost_and_busy_time():
    b = SimulatedLLM(1.0, 0.5, cost_per_request=0.01, cost_per_call=0.1)
    assert await b([{"query": "a"}, {"query": "b"}]) == [("a", "answer"), ("b", "answer")]
    assert await b.one({"query": "c"}) == ("c", "answer")
    assert (b.calls, b.items) == (2, 3)
    assert b.cost_usd == pytest.approx(3 * 0.01 + 2 * 0.1) and b.busy_s == pytest.approx(0.0035)
    assert b.fresh().calls == 0 and "$0.01 per request" in b.describe()


@dataclass
class _Encoded:
    embeddings: torch.Tensor
    truncated: list
    has_unknown: list
    encode_seconds: float = 0.0


class VectorEncoder:
    """A fake encoder: texts in one of ``groups`` share a vector (cosine 1); every other text its own."""

    def __init__(self, groups=()) -> None:
        self.group_of = {normalize_text(t): g for g, texts in enumerate(groups) for t in texts}
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        rows = []
        for t in texts:
            g = self.group_of.get(normalize_text(t))
            seed = g if g is not None else 10_000 + (hash(normalize_text(t)) % 100_000)
            rows.append(torch.nn.functional.normalize(torch.randn(64, generator=torch.Generator().manual_seed(seed)),
                                                      dim=0))
        n = len(texts)
        return _Encoded(torch.stack(rows) if rows else torch.empty(0, 64), [False] * n, [False] * n)


async def test_the_model_backend_runs_the_encoder_on_each_call():
    enc = VectorEncoder()
    b = ModelBackend(enc, cost_per_request=0.5)
    out = b([{"query": "a"}, {"query": "b"}])
    assert [t for t, _ in out] == ["a", "b"] and out[0][1].shape == (64,)
    text, _ = await b.one({"query": "c"})
    b.close()
    assert text == "c" and enc.calls == [["a", "b"], ["c"]]
    assert (b.calls, b.items, b.cost_usd) == (2, 3, 1.5) and b.busy_s > 0


# ------------------------------------------------------------------------------------------- the report


def test_the_report_compares_the_modes_on_the_default_workload(tmp_path, capsys):
    w = qqp_workload(400, 2000.0, seed=2)
    json_path, png = tmp_path / "demo.json", tmp_path / "demo.png"
    results = run_real_demo(w, fast_backend(), modes=("unbatched", "batched", "batched+exact"), window_ms=5,
                            json_path=json_path, plot_path=png, progress=False)
    unbatched, batched, exact = results
    assert unbatched.handler_calls == 400 and unbatched.handler_items == 400
    assert batched.handler_calls < 200 and batched.handler_items == 400
    assert exact.handler_items < batched.handler_items and exact.dedup_rate > 0.2
    assert exact.merge_count("backed", "unbacked", "contradicted") == 0  # exact merges are the same words
    assert all(r.failed == 0 and len(r.latencies_ms) == 400 for r in results)
    out = capsys.readouterr().out
    for text in ("x unbatched", "p95 ms", "unbacked merges", "3-5x throughput", "40-60% cost reduction",
                 "batched+exact"):
        assert text in out
    report = json.loads(json_path.read_text())
    assert [m["mode"] for m in report["modes"]] == ["unbatched", "batched", "batched+exact"]
    assert report["modes"][0]["throughput_vs_unbatched"] == pytest.approx(1.0)
    assert report["modes"][2]["cost_saved"] == pytest.approx(exact.dedup_rate)
    assert report["workload"]["requests"] == 400 and "repeat_rate_intent" in report["claims"]["stream"]
    assert png.stat().st_size > 10_000


def test_semantic_merges_are_counted_backed_or_not_and_listed(capsys):
    pair = ("How do I learn Python quickly?", "What is the fastest way to learn Python?")
    wrong = ("How do I learn Java?", "How do I learn Python quickly?")  # a labelled non-duplicate
    texts = [pair[0], pair[1], wrong[0], "Why is the sky blue?"] * 10
    w = _workload(texts, pairs=[pair], negatives=[wrong])
    encoder = VectorEncoder(groups=[(pair[0], pair[1], wrong[0])])  # the fake embeds all three alike
    verifier_free = "batched+embedding@0.90"  # plain embeddings: the verifier would veto Java/Python
    results = run_real_demo(w, fast_backend(), modes=("unbatched", verifier_free), window_ms=20, max_size=64,
                            show_merges=True, progress=False, encoder=encoder)
    merged = results[1]
    assert merged.merge_count("backed") > 0 and merged.merge_count("contradicted") > 0
    assert all(w.judge(asked, answered) == verdict for asked, answered, verdict in merged.merges)
    assert results[0].merges == {}  # unbatched: everyone gets their own answer
    out = capsys.readouterr().out
    assert "[backed]" in out and "[contradicted]" in out and "Why is the sky blue?" not in out.split("merges in")[1]
    table = format_table(results).splitlines()
    assert table[0].split()[-2:] == ["unbacked", "merges"]
    assert int(table[-1].split()[-1]) == merged.merge_count("unbacked", "contradicted")


def test_mode_result_percentiles_and_rates():
    r = ModeResult("m", 4, 2.0, [1.0, 2.0, 3.0, 4.0], 2, 3, 0.06, 0.1)
    assert r.throughput == 2.0 and r.dedup_rate == 0.25 and r.percentile(0.5) == 3.0 and r.percentile(0.99) == 4.0


# ------------------------------------------------------------------------------------------- command line


def test_the_command_line_defaults_to_real_questions(tmp_path, capsys):
    out_json = tmp_path / "cli.json"
    main(["demo", "--requests", "150", "--rate", "3000", "--window-ms", "2", "--base-ms", "1", "--per-item-ms",
          "0.05", "--modes", "unbatched,batched,batched+exact", "--json", str(out_json), "--no-progress"])
    out = capsys.readouterr().out
    assert "real questions (QQP sample" in out and "batched+exact" in out
    assert json.loads(out_json.read_text())["workload"]["workload"] == "qqp"
    assert REAL_DEFAULT_MODES == ("unbatched", "batched", "batched+exact", "batched+hybrid")


def test_the_command_line_replays_a_file_and_keeps_the_synthetic_workload(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({"query": q, "t": i * 0.001}) + "\n"
                            for i, q in enumerate(["a?", "b?", "a?", "A?"] * 10)))
    main(["demo", "--replay", str(path), "--base-ms", "1", "--modes", "unbatched,batched+exact", "--no-progress"])
    out = capsys.readouterr().out
    assert "40 requests replayed from r.jsonl" in out
    main(["demo", "--workload", "synthetic", "--requests", "60", "--rate", "3000", "--window-ms", "2", "--modes",
          "unbatched,batched"])
    assert "wrong answers" in capsys.readouterr().out  # the synthetic table, as before
    with pytest.raises(SystemExit):
        main(["demo", "--modes", "bogus"])
    with pytest.raises(SystemExit):
        main(["demo", "--backend", "gpu-cluster"])
