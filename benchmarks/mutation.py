"""Mutation testing of the engine's core with mutmut 3, one module group at a time (``make mutation``).

mutmut names a module after its path, so each group runs in its own copy of the tracked files laid out
under the import name (``build/mutation/<group>/batchsieve/``, with ``kernels/`` and ``models/`` inside).
Its ``pyproject.toml`` is the repository's with ``[tool.mutmut]`` rewritten for the group: the shared
settings, ``only_mutate`` = the group's modules, and the group's test selection. Within a group, mutmut runs
for each mutant only the selected tests that reach the mutated function, fastest first, stopping at the
first failure. The groups and the shared settings live in ``[tool.mutmut]`` of the repository's
``pyproject.toml`` (``groups`` is ours; mutmut ignores it).

Prints, per module and in total, how many mutants were killed (a failing test, or a hang past the time
limit), survived, or reached by no selected test; writes ``build/mutation/summary.md`` and, per group,
``survivors.diff`` (each surviving mutant's diff, from ``mutmut show``).

    .venv/bin/python benchmarks/mutation.py                   # every group (what make mutation runs)
    .venv/bin/python benchmarks/mutation.py --group queue     # one group
    .venv/bin/python benchmarks/mutation.py --report          # the summary of the last runs, no run
    .venv/bin/python benchmarks/mutation.py --recheck policies tests/policies/test_adaptive_bounds.py

``--recheck GROUP TEST...`` reruns the group's last survivors against the working tree's tests (copied into
its mutants folder), each with the named tests only: a quick check that new tests kill what they were written
against, before the next full run confirms it. It changes no recorded result.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")
#: the repository folders that become the package's folders in the copy
LAYOUT = (("engine", "batchsieve"), ("kernels", "batchsieve/kernels"), ("models", "batchsieve/models"))
COPIED = ("engine", "kernels", "models", "tests", "data", "README.md", "pyproject.toml")
#: the environment of every mutant's tests: one intra-op thread (fork safety), and tests/conftest.py's mutation mode
ENV = {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "BATCHSIEVE_MUTATION": "1"}


def load_config() -> tuple[dict, list[dict]]:
    settings = dict(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"])
    groups = settings.pop("groups")
    return settings, groups


def lay_out(folder: Path) -> None:
    """A copy of the tracked files (their working-tree content) with the package under its import name."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-z", *COPIED], cwd=ROOT, check=True, capture_output=True).stdout
    for name in files.decode().split("\0"):
        if name and (ROOT / name).is_file():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
    for source, dest in LAYOUT:
        (folder / dest).parent.mkdir(parents=True, exist_ok=True)
        (folder / source).rename(folder / dest)


def toml_value(value: object) -> str:
    return json.dumps(value)  # str, bool, numbers and lists of them are written alike in JSON and TOML


def pytest_options(settings: dict, group: dict) -> list[str]:
    """The pytest options of a group's runs: its own (another time limit) or the shared ones."""
    return group.get("pytest_args", settings["pytest_add_cli_args"])


def write_group_config(folder: Path, settings: dict, group: dict) -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    head = text[:text.index("[tool.mutmut]")]
    conf = {**settings, "only_mutate": group["mutate"], "pytest_add_cli_args_test_selection": group["tests"],
            "pytest_add_cli_args": pytest_options(settings, group)}
    lines = ["[tool.mutmut]"] + [f"{key} = {toml_value(value)}" for key, value in conf.items()]
    (folder / "pyproject.toml").write_text(head + "\n".join(lines) + "\n", encoding="utf-8")


def run_group(settings: dict, group: dict, workers: int) -> float:
    folder = OUT / group["name"]
    lay_out(folder)
    write_group_config(folder, settings, group)
    env = {**os.environ, **ENV, "PYTHONUNBUFFERED": "1"}
    t0 = time.monotonic()
    with open(folder / "mutmut.log", "w") as log:
        proc = subprocess.run([str(MUTMUT), "run", "--max-children", str(workers)], cwd=folder, env=env,
                              stdout=log, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        tail = (folder / "mutmut.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"mutmut failed in group {group['name']} (exit {proc.returncode}):\n{tail}")
    return seconds


def results(group: dict) -> dict[str, dict[str, str]]:
    """module -> {mutant name: status} from the group's mutmut metadata."""
    from mutmut.stats import status_by_exit_code

    folder = OUT / group["name"] / "mutants"
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for meta in sorted(folder.rglob("*.py.meta")):
        module = str(meta.relative_to(folder))[: -len(".meta")]
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            out[module][key] = status_by_exit_code[code]
    return out


def write_survivors(group: dict, statuses: dict[str, dict[str, str]]) -> list[str]:
    """Write each mutant that no test killed (survived, reached by no test, suspicious) with its diff."""
    from mutmut.configuration import reset_config
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    folder = OUT / group["name"]
    chunks, names = [], []
    here = os.getcwd()
    os.chdir(folder)  # mutmut reads its configuration and the mutants from the current folder
    reset_config()
    try:
        for module, by_key in statuses.items():
            for name, status in by_key.items():
                if status in ("killed", "timeout", "not checked"):
                    continue
                names.append(name)
                chunks.append(f"# {name}: {status}\n{get_diff_for_mutant(name, path=module).strip()}")
    finally:
        os.chdir(here)
        reset_config()
    (folder / "survivors.diff").write_text("\n\n".join(chunks) + "\n", encoding="utf-8")
    return names


def recheck(settings: dict, group: dict, tests: list[str], workers: int, match: str = "") -> list[str]:
    """Rerun the group's survivors against ``tests`` (the working tree's copies); return those that still survive.

    Each runs with the pytest options the group's mutmut run uses (its own time limit, where it has one)."""
    from concurrent.futures import ThreadPoolExecutor

    folder = OUT / group["name"] / "mutants"
    shutil.copytree(ROOT / "tests", folder / "tests", dirs_exist_ok=True)
    survivors = [name for by_key in results(group).values() for name, status in by_key.items()
                 if status == "survived" and match in name]
    env = {**os.environ, **ENV}
    options = pytest_options(settings, group)

    def survives(name: str) -> bool:
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", *options, *tests]
        proc = subprocess.run(cmd, cwd=folder, env={**env, "MUTANT_UNDER_TEST": name}, capture_output=True)
        return proc.returncode == 0

    with ThreadPoolExecutor(workers) as pool:
        left = [name for name, alive in zip(survivors, pool.map(survives, survivors), strict=True) if alive]
    print(f"{group['name']}: {len(survivors) - len(left)} of {len(survivors)} survivors killed by {' '.join(tests)}")
    return left


def summarise(groups: list[dict], seconds: dict[str, float]) -> str:
    """The per-module table; the score is over the mutants checked (a run stopped early leaves some unchecked)."""
    rows = []
    totals: Counter[str] = Counter()
    for group in groups:
        statuses = results(group)
        for module, by_key in sorted(statuses.items()):
            counts = Counter(by_key.values())
            unchecked = counts.pop("not checked", 0)
            killed = counts["killed"] + counts["timeout"]
            total = sum(counts.values())
            if not total and not unchecked:
                continue
            totals.update(counts)
            totals["not checked"] += unchecked
            score = f"{killed / total:.1%}" if total else "-"
            rows.append(f"| `{module}` | {total} | {killed} | {counts['survived']} | {counts['no tests']} | "
                        f"{unchecked} | {score} |")
    checked = sum(v for k, v in totals.items() if k != "not checked")
    killed = totals["killed"] + totals["timeout"]
    lines = ["| module | checked | killed | survived | no test | not checked | score |",
             "|---|---:|---:|---:|---:|---:|---:|", *rows,
             f"| **all** | **{checked}** | **{killed}** | **{totals['survived']}** | **{totals['no tests']}** | "
             f"**{totals['not checked']}** | **{killed / checked:.1%}** |" if checked else "| **all** | 0 | | | | | |"]
    other = {k: v for k, v in totals.items() if k not in ("killed", "survived", "no tests", "not checked", "timeout")}
    lines.append(f"\n(killed includes {totals['timeout']} timeouts" + (f"; other statuses: {other})" if other else ")"))
    if seconds:
        run = ", ".join(f"{name} {s / 60:.1f} min" for name, s in seconds.items())
        lines.append(f"\nrun time: {sum(seconds.values()) / 60:.1f} min ({run})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    settings, groups = load_config()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", choices=[g["name"] for g in groups],
                        help="run only this group (repeatable); default: every group")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--report", action="store_true", help="summarise the last runs without running")
    parser.add_argument("--recheck", nargs="+", metavar=("GROUP", "TEST"),
                        help="rerun GROUP's last survivors against these tests only, and list those still alive")
    parser.add_argument("--match", default="", help="with --recheck: only the survivors whose name contains this")
    args = parser.parse_args(argv)
    if args.recheck:
        group = next((g for g in groups if g["name"] == args.recheck[0]), None)
        if group is None or len(args.recheck) < 2:
            parser.error("--recheck needs a group name and at least one test path")
        print("\n".join(recheck(settings, group, args.recheck[1:], args.workers, args.match)))
        return 0
    chosen = [g for g in groups if not args.group or g["name"] in args.group]
    seconds: dict[str, float] = {}
    if not args.report:
        for group in chosen:
            print(f"group {group['name']}: {', '.join(group['mutate'])}", flush=True)
            seconds[group["name"]] = run_group(settings, group, args.workers)
            print(f"  done in {seconds[group['name']] / 60:.1f} min", flush=True)
    ran = [g for g in chosen if (OUT / g["name"] / "mutants").exists()]
    for group in ran:
        write_survivors(group, results(group))
    summary = summarise(ran, seconds)
    (OUT / "summary.md").write_text(summary + "\n", encoding="utf-8")
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
