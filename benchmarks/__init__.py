"""batchsieve's benchmark suite: ``python -m benchmarks`` runs every benchmark script and writes one result file.

Each script stays runnable on its own (``python benchmarks/encoder.py --help``); the runner
(``benchmarks/__main__.py``) runs them as subprocesses with their own arguments, shows their tables, and
writes ``benchmarks/results/<date>-<host>-<device>.md`` and ``.csv`` with the package versions, the CPU and
GPU model and GPU telemetry samples. Every figure in them is a ratio against a baseline measured in the
same run, by the script that reports it.
"""
