"""Bad bodies, keys and readiness on the embeddings API (a fake encoder: no model needed here).

Every bad body gets its 4xx with a JSON error body, while good requests sent at the same time are answered,
and the server serves on afterwards."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import numpy as np
import openai
import pytest
from batchsieve.server import ServerConfig, create_app

from .support import FakeEncoder, ServerThread, metric, metrics, vector, wait_until

KEYS = {"key-alpha": "alpha", "key-beta": "beta"}
LIMIT = 1 << 20


@pytest.fixture(scope="module")
def fake():
    config = ServerConfig(max_body_bytes=LIMIT, max_input_chars=10_000)
    with ServerThread(create_app(config=config, encoder=FakeEncoder())) as server:
        yield server


@pytest.fixture(scope="module")
def keyed():
    with ServerThread(create_app(config=ServerConfig(api_keys=KEYS), encoder=FakeEncoder())) as server:
        yield server


def _huge() -> bytes:
    return json.dumps({"input": "x" * (3 * LIMIT)}).encode()


async def _chunks():
    piece = b"x" * 65536
    yield b'{"input": "'
    for _ in range(3 * LIMIT // len(piece)):
        yield piece
    yield b'"}'


BAD = {
    "invalid JSON": (b'{"input": ["a", ', 400),
    "not an object": (b'["a", "b"]', 422),
    "empty body": (b"", 400),
    "input a number": (b'{"input": 5}', 422),
    "token arrays": (b'{"input": [[1, 2, 3]]}', 422),
    "list of numbers": (b'{"input": [1, 2]}', 422),
    "bad encoding_format": (b'{"input": "a", "encoding_format": "hex"}', 422),
    "model a number": (b'{"input": "a", "model": 7}', 422),
    "non-UTF-8": (b'{"input": "caf\xe9"}', 400),
    "lone UTF-8 continuation": (b'{"input": "\x80abc"}', 400),
    "empty list": (b'{"input": []}', 400),
    "100,000 strings": (json.dumps({"input": ["x"] * 100_000}).encode(), 413),
    "one text too long": (json.dumps({"input": "y" * 20_000}).encode(), 413),
    "body over the limit": (_huge(), 413),
    "unknown model": (b'{"input": "a", "model": "text-embedding-3-small"}', 404),
    "wrong dimensions": (b'{"input": "a", "dimensions": 3}', 400),
}


@pytest.mark.parametrize("name", BAD)
async def test_each_bad_body_gets_its_4xx_while_good_requests_are_served(fake, name):
    body, status = BAD[name]
    async with httpx.AsyncClient(base_url=fake.url, timeout=30) as client:
        good = [client.post("/v1/embeddings", json={"input": f"good {i}"}) for i in range(8)]
        bad = client.post("/v1/embeddings", content=body, headers={"content-type": "application/json"})
        *answers, refused = await asyncio.gather(*good, bad)
        assert refused.status_code == status, refused.text
        error = refused.json()["error"]
        assert error["code"] == status and error["message"] and "Traceback" not in refused.text
        for i, r in enumerate(answers):
            assert r.status_code == 200
            np.testing.assert_array_equal(np.float32(r.json()["data"][0]["embedding"]), vector(f"good {i}"))
        assert (await client.post("/v1/embeddings", json={"input": "after"})).status_code == 200


async def test_a_streamed_body_over_the_limit_is_413_without_being_held(fake):
    async with httpx.AsyncClient(base_url=fake.url, timeout=30) as client:
        r = await client.post("/v1/embeddings", content=_chunks())  # no Content-Length: chunked
        assert r.status_code == 413 and "limit" in r.json()["error"]["message"]
        assert (await client.post("/v1/embeddings", json={"input": "after"})).status_code == 200


async def test_unknown_routes_and_methods_answer_json(fake):
    async with httpx.AsyncClient(base_url=fake.url) as client:
        r = await client.get("/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["code"] == 404
        r = await client.get("/v1/embeddings")
        assert r.status_code == 405 and r.json()["error"]["code"] == 405


async def test_bad_requests_are_counted_by_status_in_metrics(fake):
    async with httpx.AsyncClient(base_url=fake.url) as client:
        before = metrics((await client.get("/metrics")).text)
        await client.post("/v1/embeddings", content=b"{")
        after = metrics((await client.get("/metrics")).text)
        key = ("batchsieve_http_responses_total", (("route", "/v1/embeddings"), ("status", "400")))
        assert after.get(key, 0) == before.get(key, 0) + 1


async def test_without_a_key_or_with_a_wrong_one_it_is_401(keyed):
    async with httpx.AsyncClient(base_url=keyed.url) as client:
        for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": "Basic a2V5LWFscGhh"},
                        {"authorization": "Bearer"}):
            for method, path in (("POST", "/v1/embeddings"), ("GET", "/v1/models"), ("GET", "/v1/stats")):
                r = await client.request(method, path, json={"input": "a"}, headers=headers)
                assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
                assert r.json()["error"]["type"] == "authentication_error"
        ok = await client.post("/v1/embeddings", json={"input": "a"}, headers={"authorization": "Bearer key-beta"})
        assert ok.status_code == 200
        for path in ("/healthz", "/readyz", "/metrics"):  # probes and scrapers hold no tenant key
            assert (await client.get(path)).status_code == 200
    sdk = openai.AsyncOpenAI(base_url=keyed.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await sdk.embeddings.create(input="a", model=FakeEncoder.model_name)
    sdk = openai.AsyncOpenAI(base_url=keyed.url + "/v1", api_key="key-alpha", max_retries=0)
    assert len((await sdk.embeddings.create(input=["a", "b"], model=FakeEncoder.model_name)).data) == 2


async def test_until_the_model_has_loaded_readyz_and_the_api_answer_503():
    gate = threading.Event()

    def load() -> FakeEncoder:
        assert gate.wait(30)
        return FakeEncoder()

    with ServerThread(create_app(load_encoder=load)) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/healthz")).status_code == 200
            r = await client.get("/readyz")
            assert r.status_code == 503 and r.json()["status"] == "loading"
            r = await client.post("/v1/embeddings", json={"input": "early"})
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            gate.set()

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await wait_until(ready)
            assert (await client.post("/v1/embeddings", json={"input": "now"})).status_code == 200
            samples = metrics((await client.get("/metrics")).text)
            assert metric(samples, "batchsieve_requests_total", outcome="unavailable") == 1


async def test_a_model_that_fails_to_load_fails_healthz():
    def load():
        raise OSError("no weights here")

    with ServerThread(create_app(load_encoder=load)) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            async def failed() -> bool:
                return (await client.get("/healthz")).status_code == 503

            await wait_until(failed)
            assert (await client.get("/readyz")).json()["status"] == "failed"
            r = await client.post("/v1/embeddings", json={"input": "x"})
            assert r.status_code == 503 and "no weights" not in r.text
