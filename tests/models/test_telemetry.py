"""GPU telemetry (``batchsieve.models.telemetry``) against a fake ``pynvml``, its way into ``get_stats().gpu``,
and the measured-latency path from the encoder's timings to the adaptive window's decision."""

from __future__ import annotations

import logging
import sys
import time
import types
from dataclasses import dataclass

import pytest
import torch
from batchsieve import BatchProcessor
from batchsieve.models import telemetry
from batchsieve.models.telemetry import GpuTelemetry, cuda_index, telemetry_for

MB = 1024 * 1024


class FakeNVMLError(Exception):
    pass


def fake_pynvml(*, init_error: Exception | None = None, memory_mb=(2048.0,), power_supported: bool = True,
                devices: int = 2) -> types.ModuleType:
    """A stand-in for ``pynvml``: two H200s; ``memory_mb`` is the used memory of successive readings."""
    m = types.ModuleType("pynvml")
    m.NVMLError = FakeNVMLError
    m.NVML_TEMPERATURE_GPU = 0
    m.calls = {"init": 0, "memory": 0, "by_index": [], "by_uuid": []}
    readings = list(memory_mb)

    def nvmlInit():
        m.calls["init"] += 1
        if init_error is not None:
            raise init_error

    def by_index(i):
        m.calls["by_index"].append(i)
        if i >= devices:
            raise FakeNVMLError("Invalid Argument")
        return ("handle", i)

    def by_uuid(uuid):
        m.calls["by_uuid"].append(uuid)
        return ("handle", uuid)

    def memory(handle):
        k = m.calls["memory"]
        m.calls["memory"] += 1
        used = readings[min(k, len(readings) - 1)]
        return types.SimpleNamespace(used=int(used * MB), total=143771 * MB, free=int((143771 - used) * MB))

    def power(handle):
        if not power_supported:
            raise FakeNVMLError("Not Supported")
        return 312_400  # milliwatts

    m.nvmlInit = nvmlInit
    m.nvmlDeviceGetHandleByIndex = by_index
    m.nvmlDeviceGetHandleByUUID = by_uuid
    m.nvmlDeviceGetName = lambda handle: b"NVIDIA H200"  # old nvidia-ml-py returns bytes
    m.nvmlDeviceGetUtilizationRates = lambda handle: types.SimpleNamespace(gpu=87, memory=41)
    m.nvmlDeviceGetMemoryInfo = memory
    m.nvmlDeviceGetPowerUsage = power
    m.nvmlDeviceGetTemperature = lambda handle, sensor: 41
    return m


@pytest.fixture
def nvml(monkeypatch):
    """Install a fake pynvml as the process's module, with a fresh NVML session and no cached instances."""

    def install(**kwargs) -> types.ModuleType:
        module = fake_pynvml(**kwargs)
        monkeypatch.setitem(sys.modules, "pynvml", module)
        monkeypatch.setattr(telemetry, "_SESSION", telemetry._Nvml())
        monkeypatch.setattr(telemetry, "_instances", {})
        return module

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return install


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_sample_carries_the_device_figures(nvml):
    nvml()
    sample = GpuTelemetry(0).sample()
    assert sample["name"] == "NVIDIA H200"
    assert sample["utilization_pct"] == 87 and sample["memory_utilization_pct"] == 41
    assert sample["memory_used_mb"] == pytest.approx(2048.0)
    assert sample["memory_total_mb"] == pytest.approx(143771.0)
    assert sample["power_w"] == pytest.approx(312.4)
    assert sample["temperature_c"] == 41
    assert sample["index"] == 0 and sample["nvml_index"] == 0 and sample["samples"] == 1
    assert sample["peak_memory_used_mb"] == pytest.approx(2048.0)
    assert abs(sample["time"] - time.time()) < 60


def test_samples_are_taken_at_most_once_per_interval(nvml):
    module = nvml()
    clock = Clock()
    t = GpuTelemetry(0, interval_s=1.0, clock=clock)
    assert t.latest() is None  # nothing read yet
    first = t.sample()
    assert module.calls["memory"] == 1
    clock.now += 0.5
    assert t.sample() == first and t.snapshot() == first  # within the interval: NVML is not touched
    assert module.calls["memory"] == 1
    clock.now += 0.5
    assert t.sample()["samples"] == 2 and module.calls["memory"] == 2  # the interval has passed
    t.sample(force=True)
    assert module.calls["memory"] == 3
    assert module.calls["init"] == 1  # NVML is initialised once per process
    assert [s["samples"] for s in t.history()] == [1, 2, 3]


def test_peak_memory_is_the_highest_reading_since_start(nvml):
    nvml(memory_mb=(1000.0, 3000.0, 2000.0))
    clock = Clock()
    t = GpuTelemetry(0, clock=clock)
    for _ in range(3):
        sample = t.sample()
        clock.now += 1.0
    assert sample["memory_used_mb"] == pytest.approx(2000.0)
    assert sample["peak_memory_used_mb"] == pytest.approx(3000.0)
    assert t.peak_memory_used_mb == pytest.approx(3000.0)


def test_a_field_the_device_does_not_report_is_none_and_the_rest_is_there(nvml):
    nvml(power_supported=False)
    sample = GpuTelemetry(0).sample()
    assert sample["power_w"] is None and sample["memory_used_mb"] == pytest.approx(2048.0)


@pytest.mark.parametrize("failure", ["no driver", "no pynvml"])
def test_without_a_driver_every_sample_is_none_with_one_log_line_at_most(nvml, monkeypatch, caplog, failure):
    if failure == "no driver":
        module = nvml(init_error=FakeNVMLError("NVML Shared Library Not Found"))
    else:
        module = nvml()
        monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    caplog.set_level(logging.DEBUG, logger="batchsieve")
    instances = [GpuTelemetry(i) for i in (0, 0, 1)]
    for t in instances:
        assert not t.available
        for _ in range(3):
            assert t.sample(force=True) is None and t.snapshot() is None and t.latest() is None
        assert t.start() is t and t.history() == []
        t.stop()
    assert telemetry_for("cuda:0").sample() is None
    lines = [r for r in caplog.records if r.name == "batchsieve"]
    assert len(lines) <= 1
    assert "GPU telemetry off" in lines[0].getMessage()
    if failure == "no driver":
        assert module.calls["init"] == 1  # tried once, not at every sample


def test_a_device_nvml_does_not_know_turns_telemetry_off_quietly(nvml, caplog):
    nvml(devices=1)
    caplog.set_level(logging.DEBUG, logger="batchsieve")
    t = GpuTelemetry("cuda:3")
    assert t.sample() is None and t.sample(force=True) is None
    assert len([r for r in caplog.records if r.name == "batchsieve"]) == 1


def test_cuda_visible_devices_maps_cuda_ordinals_to_nvml_devices(nvml, monkeypatch):
    module = nvml()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,0")
    assert GpuTelemetry("cuda:0").sample()["nvml_index"] == 1
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-8f3c")
    assert GpuTelemetry(0).sample()["nvml_index"] is None
    assert module.calls["by_uuid"] == ["GPU-8f3c"]


def test_device_arguments():
    assert cuda_index(0) == 0 and cuda_index("cuda") == 0 and cuda_index("cuda:2") == 2
    assert cuda_index(torch.device("cuda", 1)) == 1 and cuda_index(torch.device("cuda")) == 0
    assert cuda_index("cpu") is None and cuda_index(torch.device("cpu")) is None and cuda_index(True) is None
    assert telemetry_for("cpu") is None and telemetry_for(torch.device("cpu")) is None
    with pytest.raises(ValueError):
        GpuTelemetry("cpu")
    with pytest.raises(ValueError):
        GpuTelemetry(0, interval_s=0)


def test_telemetry_for_is_one_instance_per_device_and_touches_nvml_only_when_sampled(nvml):
    module = nvml()
    a = telemetry_for("cuda:0")
    assert a is telemetry_for(torch.device("cuda", 0)) and a is not telemetry_for("cuda:1")
    assert module.calls["init"] == 0
    assert a() == a.snapshot() and a.latest()["name"] == "NVIDIA H200"


def test_a_background_thread_samples_until_stopped(nvml):
    nvml(memory_mb=(500.0, 700.0, 900.0, 800.0))
    t = GpuTelemetry(0, interval_s=0.01).start()
    deadline = time.monotonic() + 5
    while len(t.history()) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    t.stop()
    n = len(t.history())
    assert n >= 4 and t.peak_memory_used_mb == pytest.approx(900.0)
    assert t.snapshot() is not None  # after stop: on-demand sampling again
    time.sleep(0.05)
    assert len(t.history()) <= n + 1


# ---------------------------------------------------------------------------------- get_stats().gpu


@dataclass
class _Result:
    embeddings: torch.Tensor
    truncated: list[bool]
    has_unknown: list[bool]
    encode_seconds: float


class TimedEncoder:
    """Distinct texts get orthogonal vectors (nothing merges); each call sleeps ``delay`` and reports it as
    ``encode_seconds``, the way the real encoder reports its CUDA-event time."""

    def __init__(self, delay: float = 0.0, telemetry_source=None) -> None:
        self.delay = delay
        self.reported: list[float] = []
        if telemetry_source is not None:
            self.telemetry = telemetry_source

    def encode(self, texts):
        t0 = time.perf_counter()
        if self.delay:
            time.sleep(self.delay)
        n = len(texts)
        emb = torch.zeros(n, 256)
        emb[torch.arange(n), torch.arange(n) % 256] = 1.0
        seconds = max(time.perf_counter() - t0, self.delay)
        self.reported.append(seconds)
        return _Result(emb, [False] * n, [False] * n, seconds)


async def _echo(requests):
    return [r["query"] for r in requests]


async def test_get_stats_carries_the_encoders_latest_gpu_sample(nvml):
    nvml()
    source = GpuTelemetry(0)
    async with BatchProcessor(_echo, window_ms=1, encoder=TimedEncoder(telemetry_source=source)) as batch:
        await batch.process([{"query": "first question"}, {"query": "second question"}])
        gpu = batch.get_stats().gpu
    assert gpu["name"] == "NVIDIA H200" and gpu["memory_used_mb"] == pytest.approx(2048.0)
    assert gpu["peak_memory_used_mb"] == pytest.approx(2048.0)


@pytest.mark.parametrize("case", ["exact strategy", "encoder without telemetry", "telemetry is None",
                                  "no driver"])
async def test_get_stats_gpu_is_none_without_a_gpu(nvml, case):
    nvml(init_error=FakeNVMLError("Driver Not Loaded"))
    options: dict = {}
    if case == "exact strategy":
        options["dedup_strategy"] = "exact"
    elif case == "encoder without telemetry":
        options["encoder"] = TimedEncoder()
    elif case == "telemetry is None":
        options["encoder"] = TimedEncoder(telemetry_source=None)
        options["encoder"].telemetry = None
    else:
        options["encoder"] = TimedEncoder(telemetry_source=GpuTelemetry(0))
    async with BatchProcessor(_echo, window_ms=1, **options) as batch:
        assert batch.get_stats().gpu is None  # before the first batch: nothing is loaded for it
        await batch.process([{"query": "one"}, {"query": "two"}])
        assert batch.get_stats().gpu is None


async def test_get_stats_does_not_load_the_default_encoder(monkeypatch):
    import batchsieve.dedup._encoder as lazy

    def refuse():
        raise AssertionError("get_stats loaded the encoder")

    monkeypatch.setattr(lazy, "default_encoder", refuse)
    batch = BatchProcessor(_echo, window_ms=1)  # hybrid, default encoder not loaded yet
    assert batch.get_stats().gpu is None


# ------------------------------------------------------- measured encoder latency -> adaptive window


async def _run_adaptive(delay: float, batches: int = 8):
    encoder = TimedEncoder(delay)
    batch = BatchProcessor(_echo, adaptive=True, target_latency_ms=200, min_window_ms=1, max_window_ms=50,
                           encoder=encoder)
    records = []
    policy = batch.policy
    inner = policy.on_batch_done

    def spy(record):
        records.append(record)
        inner(record)

    policy.on_batch_done = spy
    async with batch:
        for k in range(batches):
            await batch.process([{"query": f"question {k} number {i}"} for i in range(4)])
        snap = batch.get_stats().policy
    return encoder, records, snap


async def test_the_encoders_measured_time_reaches_the_adaptive_window():
    """The encoder's timings (``encode_seconds``; CUDA events on a GPU) are part of each batch's
    ``BatchRecord.dedup_s``, which the adaptive controller's service-time model learns, so a slower
    encoder means a larger predicted cost and a shorter window."""
    delay = 0.04
    slow, slow_records, slow_snap = await _run_adaptive(delay)
    _, fast_records, fast_snap = await _run_adaptive(0.0)
    assert len(slow.reported) == len(slow_records) == 8  # one encoder call per batch, each recorded
    for seconds, record in zip(slow.reported, slow_records, strict=True):
        assert record.size == 4 and record.dedup_s >= seconds >= delay  # the encoder's time is in dedup_s
    assert all(r.dedup_s < delay for r in fast_records)
    assert slow_snap["service_model"]["observations"] == fast_snap["service_model"]["observations"] == 8
    # the model's predicted cost of a batch carries the encoder's 40 ms; the fast one's does not
    assert slow_snap["predicted_single_ms"] >= fast_snap["predicted_single_ms"] + 0.5 * delay * 1e3
    assert slow_snap["predicted_single_ms"] >= 0.5 * delay * 1e3
