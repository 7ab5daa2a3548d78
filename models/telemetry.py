"""GPU telemetry through NVML (``nvidia-ml-py``, imported as ``pynvml``): what the encoder's GPU is doing.

:class:`GpuTelemetry` samples one device: its name, GPU and memory-controller utilisation, memory used
and total, power draw and temperature, and keeps the peak memory used since it was built. Sampling is
kept off the hot path:

* a sample is taken at most once per ``interval_s`` (default 1 s): :meth:`GpuTelemetry.sample` called
  more often (at every batch boundary, at every ``get_stats()``) returns the latest sample without
  touching NVML;
* or :meth:`GpuTelemetry.start` runs a daemon thread that samples every ``interval_s`` (what the benchmark
  runner does, so the peak memory of short bursts is seen); :meth:`GpuTelemetry.snapshot` then never
  calls NVML at all.

Where there is no NVIDIA driver (no ``libnvidia-ml``, a CPU-only machine, a container without the
driver mounted) or ``pynvml`` is missing, every sample is ``None``: nothing raises, and one INFO line on
the ``"batchsieve"`` logger says why, once per process. A field the device does not report (power on
some boards, utilisation under MIG) is ``None`` in an otherwise complete sample.

A sample is a plain dict (JSON-able)::

    {"index": 0, "nvml_index": 0, "name": "NVIDIA H200", "utilization_pct": 87, "memory_utilization_pct": 41,
     "memory_used_mb": 2211.0, "memory_total_mb": 143771.0, "power_w": 312.4, "temperature_c": 41,
     "peak_memory_used_mb": 2590.0, "torch_peak_allocated_mb": 1021.3, "samples": 12, "time": 1764583200.1}

``memory_used_mb`` is the device's (every process on it); ``torch_peak_allocated_mb`` is this process's
own peak through PyTorch's caching allocator (``torch.cuda.max_memory_allocated``), present when PyTorch
has initialised CUDA in this process. Device indices follow CUDA's numbering (``cuda:1`` is index 1);
under ``CUDA_VISIBLE_DEVICES`` they are mapped to NVML's numbering (plain indices or ``GPU-``/``MIG-``
UUIDs).

:func:`telemetry_for` gives the process-wide instance for a device (``None`` for a CPU device), which is
what an encoder hands out as its ``telemetry`` attribute and what ``BatchProcessor.get_stats().gpu``
carries: the processor calls ``encoder.telemetry()`` when the strategy's encoder has one.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["GpuTelemetry", "cuda_index", "telemetry_for"]

logger = logging.getLogger("batchsieve")

_MB = 1024.0 * 1024.0


class _Nvml:
    """The process's NVML session: ``pynvml`` initialised once, or the reason it could not be (logged once)."""

    def __init__(self, module: Any = None) -> None:
        self._module = module
        self._lock = threading.Lock()
        self._ready: bool | None = None  # None: not tried yet
        self.reason: str | None = None
        self._logged = False

    def get(self) -> Any:
        """The initialised ``pynvml`` module, or None (the first failure is logged, later ones are not)."""
        if self._ready is not None:
            return self._module if self._ready else None
        with self._lock:
            if self._ready is None:
                try:
                    if self._module is None:
                        import pynvml

                        self._module = pynvml
                    self._module.nvmlInit()
                    self._ready = True
                except Exception as exc:  # no driver, no library, no permission: telemetry is simply off
                    self._ready = False
                    self.reason = f"{type(exc).__name__}: {exc}"
                    self.log_once(f"GPU telemetry off: NVML is not available ({self.reason})")
        return self._module if self._ready else None

    def log_once(self, message: str) -> None:
        if not self._logged:
            self._logged = True
            logger.info(message)


_SESSION = _Nvml()  # tests replace it (monkeypatch) with one built around a fake pynvml


def cuda_index(device: Any) -> int | None:
    """The CUDA ordinal of ``device`` (``0``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``), None for a non-CUDA one."""
    if isinstance(device, bool):
        return None
    if isinstance(device, int):
        return device if device >= 0 else None
    kind = getattr(device, "type", None)
    if kind is not None:  # a torch.device
        if kind != "cuda":
            return None
        return 0 if device.index is None else int(device.index)
    if isinstance(device, str):
        text = device.strip().lower()
        if text == "cuda":
            return 0
        if text.startswith("cuda:") and text[5:].isdigit():
            return int(text[5:])
    return None


def _visible_entry(index: int) -> str | None:
    """What ``CUDA_VISIBLE_DEVICES`` says CUDA ordinal ``index`` is (an NVML index or a UUID), or None."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return None
    entries = [e.strip() for e in visible.split(",") if e.strip()]
    return entries[index] if index < len(entries) else None


class GpuTelemetry:
    """NVML samples of one GPU, taken at most once per ``interval_s`` (see the module docstring).

    Args:
        device: the CUDA device (an ordinal, ``"cuda:N"`` or a ``torch.device``).
        interval_s: the least time between two NVML readings, in seconds (> 0).
        history: how many past samples :meth:`history` keeps.
        nvml: an NVML session or module to use instead of the process's ``pynvml`` (tests pass a fake).
        clock: the monotonic clock the interval is measured on.
    """

    def __init__(self, device: Any = 0, *, interval_s: float = 1.0, history: int = 3600, nvml: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        index = cuda_index(device)
        if index is None:
            raise ValueError(f"GpuTelemetry needs a CUDA device, not {device!r}")
        if not (isinstance(interval_s, (int, float)) and interval_s > 0):
            raise ValueError(f"interval_s must be a number > 0, got {interval_s!r}")
        self.index = index
        self.interval_s = float(interval_s)
        self._session = nvml if isinstance(nvml, _Nvml) else (_Nvml(nvml) if nvml is not None else None)
        self._clock = clock
        self._lock = threading.Lock()
        self._handle: Any = None
        self._nvml_index: int | None = None
        self._name: str | None = None
        self._off = False
        self._latest: dict[str, Any] | None = None
        self._latest_at = -float("inf")
        self._peak_mb: float | None = None
        self._count = 0
        self._history: deque[dict[str, Any]] = deque(maxlen=max(int(history), 1))
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------------ public

    @property
    def available(self) -> bool:
        """Whether NVML answers for this device (tries to connect on first use)."""
        return self._connect() is not None

    def sample(self, *, force: bool = False) -> dict[str, Any] | None:
        """The latest sample, reading NVML first if the last reading is ``interval_s`` old (or ``force``)."""
        with self._lock:
            if not force and self._clock() - self._latest_at < self.interval_s:
                return None if self._latest is None else dict(self._latest)
            nvml = self._connect()
            if nvml is None:
                return None
            self._latest = self._read(nvml)
            self._latest_at = self._clock()
            self._history.append(self._latest)
            return dict(self._latest)

    def snapshot(self) -> dict[str, Any] | None:
        """What ``get_stats().gpu`` carries: the latest sample (taken now only if the latest is stale and no
        background thread is sampling)."""
        if self._thread is not None and self._thread.is_alive():
            with self._lock:
                if self._latest is not None:
                    return dict(self._latest)
        return self.sample()

    __call__ = snapshot

    def latest(self) -> dict[str, Any] | None:
        """The latest sample, never reading NVML."""
        with self._lock:
            return None if self._latest is None else dict(self._latest)

    def history(self) -> list[dict[str, Any]]:
        """The samples kept so far, oldest first."""
        with self._lock:
            return [dict(s) for s in self._history]

    @property
    def peak_memory_used_mb(self) -> float | None:
        """The highest device memory use seen in any sample since this object was built."""
        return self._peak_mb

    def start(self) -> GpuTelemetry:
        """Sample every ``interval_s`` on a daemon thread (no-op without NVML or when already running)."""
        if self._connect() is None:
            return self
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="batchsieve-gpu-telemetry", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 2.0) -> None:
        """Stop the background thread, if any (the samples taken so far are kept)."""
        thread = self._thread
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def __repr__(self) -> str:
        state = "off" if self._off else ("sampling" if self._thread is not None else "on demand")
        return f"GpuTelemetry(index={self.index}, interval_s={self.interval_s:g}, {state})"

    # ------------------------------------------------------------------ internals

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample(force=True)
            except Exception:  # a sampling error must never take the process down; stop quietly
                return
            self._stop.wait(self.interval_s)

    def _connect(self) -> Any:
        """The NVML module with this device's handle resolved, or None (telemetry off for good)."""
        if self._off:
            return None
        session = self._session or _SESSION
        nvml = session.get()
        if nvml is None:
            self._off = True
            return None
        if self._handle is None:
            try:
                self._handle, self._nvml_index = self._resolve(nvml)
                name = nvml.nvmlDeviceGetName(self._handle)
                self._name = name.decode() if isinstance(name, bytes) else str(name)
            except Exception as exc:
                self._off = True
                session.log_once(f"GPU telemetry off: NVML has no device for CUDA index {self.index} "
                                 f"({type(exc).__name__}: {exc})")
                return None
        return nvml

    def _resolve(self, nvml: Any) -> tuple[Any, int | None]:
        entry = _visible_entry(self.index)
        if entry is None or entry.isdigit():
            nvml_index = self.index if entry is None else int(entry)
            return nvml.nvmlDeviceGetHandleByIndex(nvml_index), nvml_index
        return nvml.nvmlDeviceGetHandleByUUID(entry), None  # a GPU-/MIG- UUID

    def _read(self, nvml: Any) -> dict[str, Any]:
        handle = self._handle

        def field(fn: Callable[[], Any]) -> Any:
            try:
                return fn()
            except Exception:  # NVMLError_NotSupported and friends: this field only
                return None

        util = field(lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
        mem = field(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        power_mw = field(lambda: nvml.nvmlDeviceGetPowerUsage(handle))
        temp = field(lambda: nvml.nvmlDeviceGetTemperature(handle, getattr(nvml, "NVML_TEMPERATURE_GPU", 0)))
        used = None if mem is None else mem.used / _MB
        if used is not None and (self._peak_mb is None or used > self._peak_mb):
            self._peak_mb = used
        self._count += 1
        return {
            "index": self.index,
            "nvml_index": self._nvml_index,
            "name": self._name,
            "utilization_pct": None if util is None else util.gpu,
            "memory_utilization_pct": None if util is None else util.memory,
            "memory_used_mb": used,
            "memory_total_mb": None if mem is None else mem.total / _MB,
            "power_w": None if power_mw is None else power_mw / 1000.0,
            "temperature_c": temp,
            "peak_memory_used_mb": self._peak_mb,
            "torch_peak_allocated_mb": self._torch_peak_mb(),
            "samples": self._count,
            "time": time.time(),
        }

    def _torch_peak_mb(self) -> float | None:
        torch = sys.modules.get("torch")  # never import torch for this: only read it if it is in use
        if torch is None:
            return None
        try:
            if not torch.cuda.is_initialized():
                return None
            return torch.cuda.max_memory_allocated(self.index) / _MB
        except Exception:
            return None


_instances: dict[int, GpuTelemetry] = {}
_instances_lock = threading.Lock()


def telemetry_for(device: Any, *, interval_s: float = 1.0) -> GpuTelemetry | None:
    """The process-wide :class:`GpuTelemetry` of ``device``; None for a CPU (or any non-CUDA) device.

    The first call for a device builds it (``interval_s`` applies then); NVML is not touched until the
    first sample.
    """
    index = cuda_index(device)
    if index is None:
        return None
    with _instances_lock:
        found = _instances.get(index)
        if found is None:
            found = _instances[index] = GpuTelemetry(index, interval_s=interval_s)
        return found
