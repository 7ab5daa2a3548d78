"""Unit tests of the encoder's parts that need no model: batching, cache, pooling, config, precision."""

from __future__ import annotations

import itertools
import json
import threading

import numpy as np
import pytest
import torch
from batchsieve.models import (
    LRUCache,
    collate,
    cpu_bf16_native,
    l2_normalize,
    plan_batches,
    pool,
    read_sentence_config,
    resolve_device,
    resolve_dtype,
)
from batchsieve.models.batching import DP_MAX_ITEMS, padded_length
from batchsieve.models.precision import _bf16_from_flags, _cpuinfo_flags
from hypothesis import given, settings
from hypothesis import strategies as st

# ---------------------------------------------------------------------------------------------- batching


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=300), min_size=0, max_size=200),
    budget=st.integers(min_value=1, max_value=5000),
    cap=st.integers(min_value=1, max_value=64),
    multiple=st.sampled_from([1, 8]),
    sort=st.booleans(),
)
def test_plan_batches_properties(lengths, budget, cap, multiple, sort):
    plan = plan_batches(lengths, max_batch_tokens=budget, max_batch_size=cap, pad_multiple=multiple, sort=sort)
    flat = np.concatenate(plan) if plan else np.array([], dtype=np.int64)
    assert sorted(flat.tolist()) == list(range(len(lengths)))  # every index exactly once
    if sort:
        assert [lengths[i] for i in flat] == sorted(lengths)
    else:
        assert flat.tolist() == list(range(len(lengths)))
    for batch in plan:
        assert 1 <= len(batch) <= cap
        width = padded_length(max(lengths[i] for i in batch), multiple)
        if len(batch) > 1:
            assert len(batch) * width <= budget
    # Greedy: the next item would not have fitted in the previous batch.
    for prev, nxt in itertools.pairwise(plan):
        rows = len(prev) + 1
        width = padded_length(max(max(lengths[i] for i in prev), lengths[nxt[0]]), multiple)
        assert rows > cap or rows * width > budget


def _plan_cost(plan, lengths, multiple, overhead):
    return sum(len(b) * padded_length(max(lengths[i] for i in b), multiple) + overhead for b in plan)


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=300), min_size=0, max_size=150),
    budget=st.integers(min_value=1, max_value=5000),
    cap=st.integers(min_value=1, max_value=64),
    multiple=st.sampled_from([1, 8]),
    overhead=st.integers(min_value=0, max_value=500),
)
def test_optimal_plan_respects_limits_and_never_costs_more_than_greedy(lengths, budget, cap, multiple, overhead):
    kwargs = {"max_batch_tokens": budget, "max_batch_size": cap, "pad_multiple": multiple}
    best = plan_batches(lengths, batch_overhead_tokens=overhead, **kwargs)
    greedy = plan_batches(lengths, **kwargs)
    flat = np.concatenate(best) if best else np.array([], dtype=np.int64)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)
    for batch in best:
        assert 1 <= len(batch) <= cap
        if len(batch) > 1:
            assert len(batch) * padded_length(max(lengths[i] for i in batch), multiple) <= budget
    assert _plan_cost(best, lengths, multiple, overhead) <= _plan_cost(greedy, lengths, multiple, overhead)


def test_optimal_plan_splits_mixed_lengths_greedy_would_pad():
    lengths = [10] * 30 + [200] * 2
    greedy = plan_batches(lengths, max_batch_tokens=8192, max_batch_size=64)
    best = plan_batches(lengths, max_batch_tokens=8192, max_batch_size=64, batch_overhead_tokens=64)
    assert len(greedy) == 1  # everything padded to 200 tokens: 6400 padded for 700 real
    assert sorted(len(b) for b in best) == [2, 30]  # 300 + 400 padded, plus two batch overheads
    # Large calls fall back to the greedy fill.
    many = [5] * (DP_MAX_ITEMS + 1)
    assert len(plan_batches(many, max_batch_tokens=50, max_batch_size=64, batch_overhead_tokens=64)) == 103


def test_plan_batches_buckets_short_texts_apart_from_long_ones():
    lengths = [200, 5, 6, 190, 7, 5]
    plan = plan_batches(lengths, max_batch_tokens=400, max_batch_size=10)
    assert [b.tolist() for b in plan] == [[1, 5, 2, 4], [3, 0]]
    # Oversized single item goes alone.
    plan = plan_batches([10, 1000, 10], max_batch_tokens=100, max_batch_size=10)
    assert [b.tolist() for b in plan] == [[0, 2], [1]]
    assert plan_batches([], max_batch_tokens=10, max_batch_size=1) == []
    with pytest.raises(ValueError, match="must be >= 1"):
        plan_batches([1], max_batch_tokens=0, max_batch_size=1)


def test_collate_pads_right_and_packs_mask():
    packed, real = collate([[101, 7, 102], [101, 102], [101, 1, 2, 3, 102]], pad_id=0)
    assert real == 10
    assert packed.dtype == torch.int64 and packed.shape == (2, 3, 5)
    assert packed[0].tolist() == [[101, 7, 102, 0, 0], [101, 102, 0, 0, 0], [101, 1, 2, 3, 102]]
    assert packed[1].tolist() == [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]
    packed, _ = collate([[5, 0, 5]], pad_id=9, pad_multiple=8)  # a real 0 id is not padding
    assert packed.shape == (2, 1, 8)
    assert packed[0, 0].tolist() == [5, 0, 5, 9, 9, 9, 9, 9]
    assert packed[1, 0].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]


# ---------------------------------------------------------------------------------------------- cache


def test_lru_cache_evicts_least_recently_used_and_counts():
    cache = LRUCache(2)
    cache.put_many([("a", 1), ("b", 2)])
    assert cache.get_many(["a"]) == [1]  # "a" becomes most recent
    cache.put_many([("c", 3)])  # evicts "b"
    assert cache.get_many(["a", "b", "c"]) == [1, None, 3]
    info = cache.info()
    assert (info.hits, info.misses, info.size, info.maxsize) == (3, 1, 2, 2)
    cache.clear(reset_counts=True)
    assert tuple(cache.info()) == (0, 0, 0, 2, 0, None)


def test_lru_cache_is_bounded_by_bytes():
    cache = LRUCache(100, max_bytes=10, weigh=lambda key, value: len(value))
    cache.put_many([("a", "xxxx"), ("b", "yyyy")])
    assert cache.info().bytes == 8
    cache.put_many([("c", "zzzz")])  # 12 > 10: the least recently used ("a") goes
    assert cache.get_many(["a", "b", "c"]) == [None, "yyyy", "zzzz"]
    assert (cache.info().size, cache.info().bytes, cache.info().max_bytes) == (2, 8, 10)
    cache.put_many([("b", "yy")])  # a refreshed entry is re-weighed
    assert cache.info().bytes == 6
    cache.put_many([("huge", "h" * 11)])  # heavier than the whole bound: not stored, nothing evicted
    assert cache.get_many(["huge", "b", "c"]) == [None, "yy", "zzzz"]
    cache.clear()
    assert cache.info().bytes == 0
    with pytest.raises(ValueError, match="max_bytes needs weigh"):
        LRUCache(2, max_bytes=10)


def test_lru_cache_size_zero_and_bad_sizes():
    cache = LRUCache(0)
    cache.put_many([("a", 1)])
    assert len(cache) == 0 and cache.get_many(["a"]) == [None]
    with pytest.raises(ValueError, match=">= 0"):
        LRUCache(-1)
    with pytest.raises(TypeError, match="must be an int"):
        LRUCache(2.5)


def test_lru_cache_is_thread_safe():
    cache = LRUCache(64)

    def work(k):
        for i in range(2000):
            key = (k * 7 + i) % 100
            if cache.get_many([key])[0] is None:
                cache.put_many([(key, key)])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    info = cache.info()
    assert info.size == 64 and info.hits + info.misses == 8000


# ---------------------------------------------------------------------------------------------- pooling


def test_pooling_modes_ignore_padding_and_run_in_fp32():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]],
                           [[5.0, 1.0], [0.0, 0.0], [0.0, 0.0]]], dtype=torch.bfloat16)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    mean = pool(hidden, mask, ["mean"])
    assert mean.dtype == torch.float32
    assert mean.tolist() == [[2.0, 3.0], [5.0, 1.0]]
    assert pool(hidden, mask, ["cls"]).tolist() == [[1.0, 2.0], [5.0, 1.0]]
    assert pool(hidden, mask, ["max"]).tolist() == [[3.0, 4.0], [5.0, 1.0]]
    assert pool(hidden, mask, ["lasttoken"]).tolist() == [[3.0, 4.0], [5.0, 1.0]]
    sqrt = pool(hidden, mask, ["mean_sqrt_len_tokens"])
    assert torch.allclose(sqrt, torch.tensor([[4.0, 6.0], [5.0, 1.0]]) / torch.tensor([[2.0**0.5], [1.0]]))
    weighted = pool(hidden, mask, ["weightedmean"])
    assert torch.allclose(weighted, torch.tensor([[(1 + 6) / 3, (2 + 8) / 3], [5.0, 1.0]]))
    both = pool(hidden, mask, ["cls", "mean"])
    assert both.shape == (2, 4) and both[:, :2].tolist() == [[1.0, 2.0], [5.0, 1.0]]
    with pytest.raises(ValueError, match="unknown pooling mode"):
        pool(hidden, mask, ["median"])
    with pytest.raises(ValueError, match="expected hidden"):
        pool(hidden[0], mask, ["mean"])


def test_l2_normalize_unit_rows_and_zero_row_stays_zero():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    assert torch.allclose(l2_normalize(x), torch.tensor([[0.6, 0.8], [0.0, 0.0]]))


# ---------------------------------------------------------------------------------------------- config


def _write(folder, rel, obj):
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def test_read_sentence_config_of_the_default_model():
    from batchsieve.models import default_model_path

    cfg = read_sentence_config(default_model_path())
    assert cfg.pooling == ("mean",)
    assert cfg.normalize is True
    assert cfg.max_seq_length == 256
    assert cfg.do_lower_case is False


def test_read_sentence_config_variants(tmp_path):
    # No sentence-transformers files: mean pooling, like sentence-transformers' fallback.
    cfg = read_sentence_config(tmp_path)
    assert cfg.pooling == ("mean",) and cfg.normalize is False and cfg.max_seq_length is None

    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    _write(tmp_path, "modules.json", modules)
    _write(tmp_path, "1_Pooling/config.json", {"word_embedding_dimension": 8, "pooling_mode_cls_token": True,
                                                "pooling_mode_mean_tokens": False})
    _write(tmp_path, "sentence_bert_config.json", {"max_seq_length": 64, "do_lower_case": True})
    cfg = read_sentence_config(tmp_path)
    assert (cfg.pooling, cfg.normalize, cfg.max_seq_length, cfg.do_lower_case) == (("cls",), False, 64, True)

    # sentence-transformers >= 5 spelling.
    _write(tmp_path, "1_Pooling/config.json", {"embedding_dimension": 8, "pooling_mode": ["cls", "mean"]})
    assert read_sentence_config(tmp_path).pooling == ("cls", "mean")

    _write(tmp_path, "1_Pooling/config.json", {"pooling_mode": "max"})
    _write(tmp_path, "modules.json", [*modules, {"idx": 2, "name": "2", "path": "2_Dense",
                                                 "type": "sentence_transformers.models.Dense"}])
    with pytest.raises(ValueError, match=r"Dense.* is not supported"):
        read_sentence_config(tmp_path)

    _write(tmp_path, "modules.json", modules)
    _write(tmp_path, "1_Pooling/config.json", {"pooling_mode_mean_tokens": False})
    with pytest.raises(ValueError, match="no pooling mode"):
        read_sentence_config(tmp_path)


# ---------------------------------------------------------------------------------------------- precision


def test_cpuinfo_flag_parsing():
    x86 = "processor : 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 sse\n"
    assert _bf16_from_flags(_cpuinfo_flags(x86), "x86_64") is True
    assert _bf16_from_flags(_cpuinfo_flags("flags : avx2 avx512f\n"), "x86_64") is False
    assert _bf16_from_flags(_cpuinfo_flags("flags : amx_bf16 amx_tile\n"), "x86_64") is True
    assert _bf16_from_flags(_cpuinfo_flags("Features : fp asimd sve bf16\n"), "aarch64") is True
    assert _bf16_from_flags(_cpuinfo_flags("Features : fp asimd\n"), "aarch64") is False


def test_cpu_bf16_detection_agrees_with_proc_cpuinfo():
    """The answer (which asks PyTorch first) matches the CPU's own flags: x86 AVX512-BF16 or AMX-BF16, Arm BF16."""
    import platform

    try:
        with open("/proc/cpuinfo") as fh:
            flags = _cpuinfo_flags(fh.read())
    except OSError:
        pytest.skip("no /proc/cpuinfo on this system")
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        expected = bool(flags & {"avx512_bf16", "amx_bf16"})
    elif machine in ("aarch64", "arm64"):
        expected = "bf16" in flags
    else:
        pytest.skip(f"no bf16 rule for {machine}")
    assert cpu_bf16_native() is expected


def test_resolve_dtype_and_device_rules():
    cpu = torch.device("cpu")
    assert resolve_dtype("auto", cpu) == (torch.bfloat16 if cpu_bf16_native() else torch.float32)
    assert resolve_dtype("fp32", cpu) == torch.float32
    assert resolve_dtype("BF16", cpu) == torch.bfloat16
    assert resolve_dtype(torch.float16, cpu) == torch.float16
    with pytest.raises(ValueError, match="unknown dtype 'int8'"):
        resolve_dtype("int8", cpu)
    with pytest.raises(ValueError, match="unsupported dtype"):
        resolve_dtype(torch.int8, cpu)
    with pytest.raises(TypeError, match="dtype must be"):
        resolve_dtype(16, cpu)
    assert resolve_device("cpu") == cpu
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unsupported device"):
        resolve_device("meta")
    with pytest.raises(TypeError, match="device must be"):
        resolve_device(0)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            resolve_device("cuda")
