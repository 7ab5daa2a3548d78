"""``batchsieve calibrate PAIRS.jsonl``: the real encoder on a small file, the plot, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batchsieve.calibration import load_jsonl
from batchsieve.demo import main

DATA = Path(__file__).resolve().parents[2] / "data"


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(["calibrate", *argv])
    return exit_.value.code


def _write(path: Path, rows: list) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    return path


def test_the_command_calibrates_a_file_and_writes_the_plot(tmp_path, capsys):
    hard = load_jsonl(DATA / "hard_pairs.jsonl")
    rows = [r for r in hard if r["label"] == 1][:20] + [r for r in hard if r["category"] in ("number", "date")][:20]
    pairs = _write(tmp_path / "pairs.jsonl", rows)
    assert _run([str(pairs), "--max-false-merge-rate", "0", "--plot", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("strategy hybrid: threshold 0.500 (the lowest of the grid whose false-merge rate is <= 0)")
    assert "false-merge rate 0.00% (0 of 20 label-0 pairs; 20 label-1 pairs)" in out
    assert "use it: BatchProcessor(..., dedup_strategy='hybrid', dedup_threshold=0.5)" in out
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    # plain embedding merges the number pairs: its threshold must be higher
    assert _run([str(pairs), "--strategy", "embedding", "--max-false-merge-rate", "0"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("strategy embedding: threshold ") and float(first.split()[3]) > 0.9


def test_bad_input_exits_2_naming_the_row_or_line(tmp_path, capsys):
    bad = _write(tmp_path / "bad.jsonl", [{"a": "x", "b": "y", "label": 1}, {"a": "x", "b": "y", "label": "yes"}])
    assert _run([str(bad)]) == 2
    assert capsys.readouterr().err == "batchsieve calibrate: row 2: label must be 0 or 1, got 'yes'\n"
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"a": "x", "b": "y", "label": 1}\n{"a": \n')
    assert _run([str(broken)]) == 2
    assert "broken.jsonl: line 2 is not JSON" in capsys.readouterr().err
    assert _run([str(tmp_path / "missing.jsonl")]) == 2
    assert "No such file" in capsys.readouterr().err
