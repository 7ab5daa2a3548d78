"""Device and precision choice for the encoder.

``device="auto"`` picks CUDA when it is available, else the CPU.

``dtype="auto"`` picks the weight precision:

* CUDA: bf16 when the GPU computes it (``torch.cuda.is_bf16_supported()``), else fp16. Pooling and the
  L2 normalisation always run in fp32.
* CPU: bf16 when the CPU computes bf16 natively (AVX512-BF16 or AMX-BF16 on x86, the BF16 extension on
  Arm), else fp32. Without hardware support bf16 products are emulated, so it is never chosen
  automatically there (it can still be asked for).

Why bf16 on a CPU that has it: measured on the development machine (AMD EPYC Zen 5, 2 cores, AVX512-BF16,
no AMX; torch 2.13 CPU) with all-MiniLM-L6-v2 on 10,000 QQP questions, 2 threads, same batching, bf16
weights encoded 1,556 sentences/s against 502 for fp32 (median of 5 interleaved rounds; 3.1x; see
``benchmarks/results/encoder.md``), and the worst per-text cosine to the fp32 sentence-transformers
embedding was 0.99988 over the 10,000. On the test suite's adversarial texts (other scripts, emoji, 256-token
texts) the worst is 0.99984; the tests hold bf16 to >= 0.999 per text and fp32 to >= 0.9999. Dynamic int8
quantisation of the linear layers (``torch.ao.quantization.quantize_dynamic``) was measured too: worst
cosine 0.839, mean 0.951 on 2,000 questions, unusable for deduplication, so it is not offered.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import torch

__all__ = ["DTYPE_NAMES", "cpu_bf16_native", "resolve_device", "resolve_dtype"]

#: Accepted spellings of the weight precision.
DTYPE_NAMES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "float32": torch.float32,
    "float": torch.float32,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
    "half": torch.float16,
}

_X86_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def _cpuinfo_flags(text: str) -> set[str]:
    """The CPU feature flags named in a ``/proc/cpuinfo`` text (x86 ``flags`` or Arm ``Features``)."""
    flags: set[str] = set()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in {"flags", "features"}:
            flags.update(value.split())
    return flags


def _bf16_from_flags(flags: set[str], machine: str) -> bool:
    if machine.lower() in {"aarch64", "arm64"}:
        return "bf16" in flags
    return bool(flags & _X86_BF16_FLAGS)


@functools.lru_cache(maxsize=1)
def cpu_bf16_native() -> bool:
    """Whether this CPU computes bf16 matrix products in hardware.

    True for x86 CPUs with AVX512-BF16 or AMX-BF16 and Arm CPUs with the BF16 extension. Asks PyTorch's
    cpuinfo-based ``torch.cpu.get_capabilities()`` first, then falls back to ``/proc/cpuinfo``; answers
    False when neither can tell.
    """
    get_caps = getattr(torch.cpu, "get_capabilities", None)
    if get_caps is not None:
        try:
            caps = get_caps()
        except Exception:  # pragma: no cover - depends on the PyTorch build
            caps = None
        if isinstance(caps, dict) and any(k in caps for k in ("avx512_bf16", "amx_bf16")):
            return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return _bf16_from_flags(_cpuinfo_flags(text), platform.machine())


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"`` (CUDA when available, else CPU) or a device spelling into a ``torch.device``."""
    if isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, str):
        if device == "auto":
            return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() \
                else torch.device("cpu")
        resolved = torch.device(device)
    else:
        raise TypeError(f"device must be a str or torch.device, not {type(device).__name__}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested but CUDA is not available")
        if resolved.index is None:
            resolved = torch.device("cuda", torch.cuda.current_device())
    elif resolved.type != "cpu":
        raise ValueError(f"unsupported device {device!r}: use 'auto', 'cpu' or 'cuda[:N]'")
    return resolved


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """Weight precision for ``device``: ``"auto"`` follows the rules in the module docstring."""
    if isinstance(dtype, torch.dtype):
        resolved = dtype
    elif isinstance(dtype, str):
        if dtype == "auto":
            if device.type == "cuda":
                return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.bfloat16 if cpu_bf16_native() else torch.float32
        try:
            resolved = DTYPE_NAMES[dtype.lower()]
        except KeyError:
            raise ValueError(
                f"unknown dtype {dtype!r}: use 'auto' or one of {sorted(set(DTYPE_NAMES))}"
            ) from None
    else:
        raise TypeError(f"dtype must be a str or torch.dtype, not {type(dtype).__name__}")
    if resolved not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"unsupported dtype {resolved}: use fp32, bf16 or fp16")
    return resolved
