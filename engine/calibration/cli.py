"""``batchsieve calibrate PAIRS.jsonl``: :func:`~batchsieve.calibrate` from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str]) -> int:
    """Calibrate on a JSONL file of ``{"a", "b", "label"}`` rows; print the choice, the curve's key points and
    the false merges. Returns the exit status (2: bad input, said on stderr)."""
    parser = argparse.ArgumentParser(prog="batchsieve calibrate",
                                     description="choose dedup_threshold from labelled pairs")
    parser.add_argument("pairs",
                        help='JSONL file (optionally .gz) of {"a", "b", "label"} rows, label 1 = same question')
    parser.add_argument("--strategy", default="hybrid", choices=("hybrid", "embedding"))
    parser.add_argument("--max-false-merge-rate", type=float, default=0.01,
                        help="the most label-0 pairs (as a fraction) that may merge (default 0.01)")
    parser.add_argument("--plot", default=None, metavar="FILE.png", help="write the curve as a PNG")
    args = parser.parse_args(list(argv))
    from . import calibrate, load_jsonl

    try:
        result = calibrate(load_jsonl(args.pairs), strategy=args.strategy,
                           max_false_merge_rate=args.max_false_merge_rate)
    except (OSError, ValueError, TypeError) as exc:
        print(f"batchsieve calibrate: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    print("threshold  precision  recall  false merges  true merges")
    for p in result.curve:
        if round(p.threshold * 200) % 4 == 0 or p.threshold == result.threshold:  # every 0.02, and the choice
            mark = "  <- chosen" if p.threshold == result.threshold else ""
            print(f"{p.threshold:9.3f}  {p.precision:9.1%}  {p.recall:6.1%}  {p.false_merges:12d}  "
                  f"{p.true_merges:11d}{mark}")
    if args.plot:
        print(f"plot: {result.plot(args.plot)}")
    print(f"use it: BatchProcessor(..., dedup_strategy={args.strategy!r}, dedup_threshold={result.threshold:g})")
    return 0
