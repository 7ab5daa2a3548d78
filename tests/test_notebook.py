"""notebooks/threshold_tuning.ipynb runs top to bottom (nbclient) and is committed without outputs."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOK = NOTEBOOKS / "threshold_tuning.ipynb"


def _text(cell) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", []) if out.get("output_type") == "stream")


def test_notebook_is_committed_without_outputs_and_matches_its_generator():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        import make_threshold_tuning
    finally:
        sys.path.remove(str(NOTEBOOKS))
    assert [c.source for c in make_threshold_tuning.build().cells] == [c.source for c in nb.cells]


@pytest.mark.timeout(240)
def test_notebook_runs_top_to_bottom():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=180,  # per cell
        kernel_name="python3",  # jupyter_client runs the kernelspec's "python" as sys.executable: this venv
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell
    outputs = "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert f"python: {sys.executable}" in outputs  # the kernel is this interpreter
    assert "pairs from qqp_sample.jsonl.gz" in outputs
    # the notebook's conclusion: on these 1,500 pairs no embedding threshold keeps false merges within the
    # 8% target, and hybrid does at some threshold (its rate printed beside it)
    assert "embedding  : no threshold in 0.80-0.995 meets the target" in outputs
    found = re.search(r"^hybrid     : dedup_threshold=(0\.\d{3}) -> false-merge rate (\d+\.\d)%, recall (\d+\.\d)% "
                      r"\((\d+) true, (\d+) false merges\)$", outputs, re.MULTILINE)
    assert found, outputs
    threshold, rate, _recall, true, false = found.groups()
    assert 0.80 <= float(threshold) <= 0.995 and float(rate) <= 8.0 and int(true) + int(false) >= 30
    assert float(rate) == pytest.approx(100 * int(false) / (int(true) + int(false)), abs=0.05)
    # the calibrate() section: one choice per strategy, from the same pairs
    assert re.search(r"^strategy embedding: threshold 0\.\d{3} ", outputs, re.MULTILINE), outputs
    assert re.search(r"^strategy hybrid: threshold 0\.\d{3} ", outputs, re.MULTILINE), outputs
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    assert images == 2  # cosine distributions and precision-recall curves
    # (its run time, under two minutes on this project's 2-core machine, is recorded in RESULTS.md, not
    # asserted: a timed test fails on a loaded machine for reasons that are not the notebook's)
