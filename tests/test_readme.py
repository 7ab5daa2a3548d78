"""The README's Python examples run as written.

Every fenced ``python`` block of README.md runs in a fresh interpreter from the repository root and must
exit 0; a block that needs a network or a GPU is marked in the README with ``<!-- not run -->`` on the line
before it. Where the README's text says what an example prints, the output is checked too.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NOT_RUN = "<!-- not run -->"


def python_blocks(text: str) -> list[tuple[int, str, str, bool]]:
    """``(line, heading, code, runnable)`` for every fenced python block, in order."""
    blocks = []
    lines = text.splitlines()
    heading = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.strip() == "```python":
            start = i
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            previous = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
            blocks.append((start + 1, heading, "\n".join(lines[start + 1:j]) + "\n", previous != NOT_RUN))
            i = j
        i += 1
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))

#: what the README's examples print, by the heading they stand under
EXPECTED_OUTPUT = {
    # three readers of one prompt: one generation, three subscribers, every token for each
    "Streaming answers": "['an', 'answer', 'to', 'why', 'is', 'the', 'sky', 'blue?'] 1 3\n",
    # one request, then two that are the same after normalisation: 3 answered with 2 handler slots
    "Quick start": "answer to What's the weather? ['answer to Show me my invoice', 'answer to Show me my invoice'] "
                   "0.3333333333333333\n",
    # 8, 66, 9 and 7 tokens under a budget of 64: the three questions together (closest cost first), the
    # long text alone
    "Batches sized by tokens": "batch of [8, 9, 7] tokens\nbatch of [66] tokens\n",
    # eleven calls through the handle, answered by two replicas
    "Scaling out on Ray Serve": "answer to What's the weather? | answer to Where is my order? | 11 requests on 2 "
                                "replicas\n",
}


def test_the_readme_has_the_quick_start_and_the_parser_finds_it():
    assert [heading for _, heading, _, _ in BLOCKS][:1] == ["Quick start"]
    assert [runnable for _, heading, _, runnable in BLOCKS if heading == "Quick start"] == [True]
    sample = "# T\n<!-- not run -->\n\n```python\nx = 1\n```\n## U\n```python\ny = 2\n```\n"
    assert python_blocks(sample) == [(4, "T", "x = 1\n", False), (8, "U", "y = 2\n", True)]


RUNNABLE = [(line, heading, code) for line, heading, code, runnable in BLOCKS if runnable]


def test_only_the_examples_that_need_a_running_server_are_left_out():
    # a block marked "not run" is listed here by its heading, so a new one is a deliberate decision
    assert [heading for _, heading, _, runnable in BLOCKS if not runnable] == ["Serving", "Scaling out on Ray Serve"]


@pytest.mark.parametrize(("line", "heading", "code"), RUNNABLE, ids=[f"README.md:{line}" for line, *_ in RUNNABLE])
def test_readme_python_block_runs_as_written(line, heading, code):
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240,
                          check=False)
    assert proc.returncode == 0, f"README.md:{line} ({heading}) failed:\n{proc.stderr[-3000:]}"
    if heading in EXPECTED_OUTPUT:
        assert proc.stdout == EXPECTED_OUTPUT[heading]
    assert not re.search(r"Traceback|Task was destroyed|was never retrieved|never awaited", proc.stderr), proc.stderr
