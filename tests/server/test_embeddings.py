"""The embeddings API on the real default model, called with the official ``openai`` SDK and with httpx: the
rows equal ``batchsieve.models`` output for the same texts, in both encodings, alone and under concurrency."""

from __future__ import annotations

import asyncio
import base64
import random

import numpy as np
import openai
import pytest
from batchsieve.models import SentenceEncoder
from batchsieve.server import create_app

from .support import ServerThread, client, metric, metrics

TEXTS = ["How do I reset my password?", "how do i reset my password", "Show me my latest invoice",
         "Don't show me my latest invoice", "Set an alarm for 7 am", "Set an alarm for 8 am",
         "What is the capital of Australia?", "Ünïcödé and emoji 🚀 both work", "", "a " * 400]


@pytest.fixture(scope="module")
def model():
    encoder = SentenceEncoder(cache_size=0)  # every text the server asks for really runs through the model
    reference = {t: encoder.encode([t]).embeddings[0].numpy() for t in TEXTS}  # one text per call
    with ServerThread(create_app(encoder=encoder)) as server:
        server.encoder = encoder
        server.reference = reference
        yield server


def sdk(server, **kwargs) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, **kwargs)


def _close(got, want) -> None:
    got, want = np.asarray(got, dtype=np.float32), np.asarray(want, dtype=np.float32)
    assert got.shape == want.shape == (384,)
    assert float(got @ want / (np.linalg.norm(got) * np.linalg.norm(want))) >= 0.9999


@pytest.mark.parametrize("encoding", ["base64", "float"])
async def test_the_sdk_gets_the_models_embeddings(model, encoding):
    kwargs = {} if encoding == "base64" else {"encoding_format": "float"}  # base64: the SDK's default
    response = await sdk(model).embeddings.create(input=TEXTS, model="sentence-transformers/all-MiniLM-L6-v2",
                                                  **kwargs)
    assert response.model == "sentence-transformers/all-MiniLM-L6-v2" and response.object == "list"
    assert [d.index for d in response.data] == list(range(len(TEXTS)))
    for text, row in zip(TEXTS, response.data, strict=True):
        assert row.object == "embedding"
        _close(row.embedding, model.reference[text])
    assert response.usage.prompt_tokens == response.usage.total_tokens > len(TEXTS)


async def test_a_single_string_and_the_short_model_name(model):
    response = await sdk(model).embeddings.create(input="Set an alarm for 7 am", model="all-MiniLM-L6-v2",
                                                  dimensions=384)
    assert len(response.data) == 1
    _close(response.data[0].embedding, model.reference["Set an alarm for 7 am"])


async def test_base64_is_little_endian_float32_on_the_wire(model):
    async with client(model.url) as http:
        r = await http.post("/v1/embeddings", json={"input": ["Set an alarm for 8 am"], "encoding_format": "base64"})
        row = np.frombuffer(base64.b64decode(r.json()["data"][0]["embedding"]), dtype="<f4")
        _close(row, model.reference["Set an alarm for 8 am"])


async def test_unknown_model_and_wrong_dimensions_raise_the_sdks_errors(model):
    with pytest.raises(openai.NotFoundError):
        await sdk(model).embeddings.create(input="x", model="text-embedding-3-small")
    with pytest.raises(openai.BadRequestError):
        await sdk(model).embeddings.create(input="x", model="all-MiniLM-L6-v2", dimensions=256)


async def test_concurrent_callers_each_get_their_own_texts_rows_and_duplicates_share_the_model(model):
    rng = random.Random(5)
    texts = [t for t in TEXTS if t]
    weights = [1 / (rank + 1) for rank in range(len(texts))]  # Zipf popularity: duplicates
    asks = [rng.choices(texts, weights)[0] for _ in range(240)]
    before = model.encoder.stats().texts
    api = sdk(model)
    gate = asyncio.Semaphore(48)

    async def ask(text: str):
        async with gate:
            return text, await api.embeddings.create(input=text, model="all-MiniLM-L6-v2")

    async with asyncio.timeout(60):
        answers = await asyncio.gather(*(ask(t) for t in asks))
    for text, response in answers:
        _close(response.data[0].embedding, model.reference[text])
    embedded = model.encoder.stats().texts - before
    assert embedded < len(asks)  # 48 callers in flight over 9 texts: every batch of 10+ holds duplicates
    async with client(model.url) as http:
        samples = metrics((await http.get("/metrics")).text)
        stats = (await http.get("/v1/stats")).json()
    assert metric(samples, "batchsieve_handler_items_total") == stats["processor"]["handler_requests"]
    assert metric(samples, "batchsieve_encoder_texts_total") == stats["encoder"]["texts"]
    assert stats["server"]["mode"] == "embeddings"


async def test_models_and_probes(model):
    models = await sdk(model).models.list()
    assert [m.id for m in models.data] == ["sentence-transformers/all-MiniLM-L6-v2"]
    async with client(model.url) as http:
        assert (await http.get("/readyz")).json() == {"status": "ready",
                                                      "model": "sentence-transformers/all-MiniLM-L6-v2"}
        assert (await http.get("/healthz")).status_code == 200
