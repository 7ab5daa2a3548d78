"""The demo runs end to end and shows what batching and dedup buy, and that no caller gets a wrong answer."""

from __future__ import annotations

import pytest
from batchsieve.demo import MODES, QUESTION_GROUPS, main, make_stream, run_demo


def _canon(text: str) -> str:
    """Case and spacing ignored (the demo respells its wordings that way); written here, not the engine's."""
    return " ".join(text.lower().split())


def test_stream_is_seeded_bursty_and_repetitive():
    a = make_stream(500, 200.0, seed=3)
    assert a == make_stream(500, 200.0, seed=3)
    times = [t for t, _, _ in a]
    assert times == sorted(times)
    assert 1.5 < times[-1] < 4.0  # about 500 / 200 s
    assert len({_canon(q) for _, q, _ in a}) < 100  # repeats
    for _, query, group in a:
        assert _canon(query) in {_canon(q) for q in QUESTION_GROUPS[group]}


def test_question_groups_never_share_a_wording():
    seen: dict[str, int] = {}
    for g, wordings in enumerate(QUESTION_GROUPS):
        for w in wordings:
            assert seen.setdefault(_canon(w), g) == g


def test_demo_table_orders_the_modes(capsys):
    results = run_demo(300, 1500.0, seed=1, window_ms=5, base_ms=2.0, per_item_ms=0.1,
                       modes=("unbatched", "batched", "batched+exact"))
    unbatched, batched, exact = results
    assert unbatched.handler_calls == 300 and unbatched.handler_items == 300
    assert batched.handler_calls < 100 and batched.handler_items == 300
    assert exact.handler_items < batched.handler_items and exact.dedup_rate > 0.3
    assert all(r.wrong_answers == 0 for r in results)
    out = capsys.readouterr().out
    assert "batched+exact" in out and "vs unbatched" in out and "wrong answers" in out


@pytest.mark.timeout(240)
def test_semantic_modes_dedup_more_and_hybrid_answers_nobody_wrongly(capsys):
    results = run_demo(400, 800.0, seed=2, window_ms=5, base_ms=2.0, per_item_ms=0.1,
                       modes=("unbatched", "batched+exact", "batched+hybrid"))
    _, exact, hybrid = results
    assert hybrid.wrong_answers == 0
    assert hybrid.handler_items < exact.handler_items


def test_cli_parses_demo_options(capsys):
    main(["demo", "--requests", "60", "--rate", "3000", "--window-ms", "2", "--modes", "unbatched,batched"])
    assert "unbatched" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["demo", "--modes", "bogus"])


def test_no_two_demo_questions_from_different_groups_can_merge_under_hybrid():
    """Whatever lands in one micro-batch, hybrid at the demo's threshold never merges across groups."""
    from batchsieve.dedup import default_encoder
    from batchsieve.verifier import MergeVerifier

    texts = [(g, w) for g, wordings in enumerate(QUESTION_GROUPS) for w in wordings]
    result = default_encoder().encode([w for _, w in texts])
    cos = (result.embeddings.float() @ result.embeddings.float().T).tolist()
    verifier = MergeVerifier()
    threshold = MODES["batched+hybrid"].options["dedup_threshold"]
    merges = [(texts[i][1], texts[j][1]) for i in range(len(texts)) for j in range(i)
              if texts[i][0] != texts[j][0] and cos[i][j] >= threshold
              and verifier.check(texts[j][1], texts[i][1]).ok]
    assert merges == []
