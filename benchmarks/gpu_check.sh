#!/usr/bin/env bash
# GPU checks, in one short script (under five minutes on an H200): run it on a machine with CUDA from the
# repository root, after `make test` has set up .venv (or with PYTHON pointing at an environment that has
# the project installed). Figures go to benchmarks/results/*_gpu.json and the log to
# benchmarks/results/gpu_check.log; copy them into benchmarks/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
OUT=benchmarks/results
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PYTHON" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'cuda', torch.cuda.is_available())"

echo "== kernel tests, compiled on CUDA (the same tests CI runs through the interpreter), and the default"
echo "   hybrid strategy on a CUDA encoder reaching the Triton kernels"
timeout 180 "$PYTHON" -m pytest -q -x tests/kernels tests/dedup/test_kernel_dispatch.py \
    tests/dedup/test_real_encoder.py -p no:cacheprovider

echo "== kernels: Triton vs the torch reference, N = 32 .. 8192, D = 384"
timeout 120 "$PYTHON" benchmarks/kernels.py --gpu --out "$OUT/kernels_gpu.json"

echo "== encoder: sentences per second in bf16 vs sentence-transformers"
timeout 120 "$PYTHON" benchmarks/encoder.py --device cuda --json "$OUT/encoder_gpu.json"
