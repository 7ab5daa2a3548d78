"""Labelled pairs for calibration: reading and checking them (one row at a time, each error naming its row)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LabelledPair", "load_jsonl", "read_pairs"]


@dataclass(frozen=True, slots=True)
class LabelledPair:
    """Two texts and whether they ask the same thing (``label`` 1) or not (0)."""

    a: str
    b: str
    label: int


def _text(row: int, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"row {row}: {key!r} must be text, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"row {row}: {key!r} is empty")
    return value


def read_pairs(pairs: Iterable[Any]) -> list[LabelledPair]:
    """Check ``pairs`` (``{"a", "b", "label"}`` dicts or ``(a, b, label)`` tuples); rows count from 1.

    A malformed row (not a dict or a 3-tuple, a missing key, a text that is not a non-empty ``str``, a label
    other than the ints 0 and 1) raises ``ValueError`` naming the row."""
    if isinstance(pairs, (str, bytes, dict)) or not isinstance(pairs, Iterable):
        raise TypeError(f"pairs must be an iterable of pairs, got {type(pairs).__name__}")
    out: list[LabelledPair] = []
    for row, pair in enumerate(pairs, start=1):
        if isinstance(pair, dict):
            missing = [k for k in ("a", "b", "label") if k not in pair]
            if missing:
                raise ValueError(f"row {row}: missing key(s) {', '.join(map(repr, missing))}")
            a, b, label = pair["a"], pair["b"], pair["label"]
        elif isinstance(pair, (tuple, list)):
            if len(pair) != 3:
                raise ValueError(f"row {row}: a pair tuple is (a, b, label), got {len(pair)} items")
            a, b, label = pair
        else:
            raise ValueError(f"row {row}: a pair is a dict or an (a, b, label) tuple, got {type(pair).__name__}")
        if label.__class__ is not int or label not in (0, 1):  # bool and 1.0 are refused: say 0 or 1
            raise ValueError(f"row {row}: label must be 0 or 1, got {label!r}")
        out.append(LabelledPair(_text(row, "a", a), _text(row, "b", b), label))
    return out


def load_jsonl(path: str | Path) -> list[Any]:
    """The rows of a JSONL file (gzipped when it ends in ``.gz``); blank lines are skipped, and a line that is
    not JSON raises ``ValueError`` naming it."""
    path = Path(path)
    opener: Any = gzip.open if path.suffix == ".gz" else open
    rows: list[Any] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {number} is not JSON ({exc.msg})") from None
    return rows
