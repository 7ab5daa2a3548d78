"""The demo runs end to end and shows what batching and dedup buy."""

from __future__ import annotations

from batchsieve.demo import main, make_stream, run_demo


def test_stream_is_seeded_bursty_and_repetitive():
    a = make_stream(500, 200.0, seed=3)
    assert a == make_stream(500, 200.0, seed=3)
    times = [t for t, _ in a]
    assert times == sorted(times)
    assert 1.5 < times[-1] < 4.0  # about 500 / 200 s
    assert len({q.lower().strip() for _, q in a}) < 100  # repeats


def test_demo_table_orders_the_modes(capsys):
    results = run_demo(300, 1500.0, seed=1, window_ms=5, base_ms=2.0, per_item_ms=0.1)
    unbatched, batched, exact = results
    assert unbatched.handler_calls == 300 and unbatched.handler_items == 300
    assert batched.handler_calls < 100 and batched.handler_items == 300
    assert exact.handler_items < batched.handler_items and exact.dedup_rate > 0.3
    out = capsys.readouterr().out
    assert "batched+exact" in out and "vs unbatched" in out


def test_cli_parses_demo_options(capsys):
    main(["demo", "--requests", "60", "--rate", "3000", "--window-ms", "2"])
    assert "unbatched" in capsys.readouterr().out
