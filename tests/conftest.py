"""Test configuration.

Triton kernels run through Triton's interpreter on CPU tensors when no CUDA device is present; the
variable must be set before any kernel module is imported, which is why it is set here, at collection.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_configure(config):
    if os.environ.get("BATCHSIEVE_MUTATION"):  # set by benchmarks/mutation.py
        # pytest's closing garbage collection (it looks for unraisable exceptions after the last test, when they
        # can no longer fail one) walks torch's whole heap: about half of what each mutant's run costs
        from _pytest.unraisableexception import gc_collect_iterations_key

        config.stash[gc_collect_iterations_key] = 0
