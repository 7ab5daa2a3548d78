"""Engine overhead in CPU instructions per request: this tree against earlier git revisions, side by side.

``benchmarks/overhead.py`` reads requests per CPU-second, which on a shared 2-core machine moves by +-20%
from round to round. Instruction counts do not: ``valgrind --tool=callgrind`` counts the instructions a
process executes, the same for the same binary and inputs whatever else the machine is doing. Each engine
(this tree, and each ``--against REV``, extracted and imported as in ``overhead.py``) runs the overhead
workload (concurrent single-request calls through a no-op async handler, batch 32, window 5 ms) at two sizes
in fresh processes; the difference of the two totals divided by the difference of the sizes is the cost
of one request, start-up and imports cancelled out.

Usage: ``python benchmarks/overhead_instructions.py [--small 1000] [--large 6000] [--against REV ...]``
(needs ``valgrind``; about a minute per engine).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

DRIVER = """
import asyncio, sys
sys.path.insert(0, {here!r})
from overhead import WINDOW_MS, BATCH, _noop, load_revision
rev, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if rev == "tree":
    from batchsieve import BatchProcessor
else:
    BatchProcessor = load_revision(rev)

async def main():
    batch = BatchProcessor(handler=_noop, window_ms=WINDOW_MS, max_size=BATCH, max_wait_ms=WINDOW_MS * 2,
                           enable_dedup=mode == "exact", dedup_strategy="exact", max_queue_size=n)
    async with batch:
        results = await asyncio.gather(*[batch.process(f"query number {{i}}") for i in range(n)])
    assert len(results) == n

asyncio.run(main())
"""


def instructions(rev: str, mode: str, n: int) -> int:
    """Instructions (callgrind's Ir total) of one fresh process running ``n`` requests."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
                        DRIVER.format(here=str(HERE)), rev, mode, str(n)],
                       check=True, capture_output=True, env=env, cwd=HERE.parent)
        text = out.read_text()
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    assert match, "no instruction total in callgrind's output"
    return int(match.group(1))


def per_request(rev: str, mode: str, small: int, large: int) -> float:
    return (instructions(rev, mode, large) - instructions(rev, mode, small)) / (large - small)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=6000)
    parser.add_argument("--against", metavar="REV", action="append", default=[])
    args = parser.parse_args()
    engines = ["tree", *args.against]
    print(f"instructions per request (callgrind; ({args.large:,} - {args.small:,} requests) difference), "
          "no-op async handler, batch 32, window 5 ms\n")
    print("| engine | no dedup | exact dedup |\n|---|---:|---:|")
    figures = {}
    for rev in engines:
        figures[rev] = {mode: per_request(rev, mode, args.small, args.large) for mode in ("off", "exact")}
        label = "this tree" if rev == "tree" else rev
        print(f"| {label} | {figures[rev]['off']:,.0f} | {figures[rev]['exact']:,.0f} |", flush=True)
    print()
    for rev in args.against:
        for mode, name in (("off", "no dedup"), ("exact", "exact dedup")):
            ratio = figures[rev][mode] / figures["tree"][mode]
            verdict = "PASS" if ratio >= 0.97 else "FAIL"
            print(f"{name}: {rev} / this tree = {ratio:.3f} (speed of this tree relative to {rev}; "
                  f"no regression if >= 0.97: {verdict})")


if __name__ == "__main__":
    main()
