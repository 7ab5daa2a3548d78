"""batchsieve on a real local Ray Serve instance: answers through the handle, duplicates meeting on one replica
across the deployment, scopes kept apart across replicas, a replica killed under load, HTTP through Serve.

One Ray instance (2 CPUs, no dashboard, HTTP on a loopback port) serves the whole module; replicas ask for
no CPU so two fit beside Serve's own actors. Handler calls are recorded in a Ray actor (the replicas are
other processes), which also holds a gate: requests are sent while the handlers are held, and released only
once every request has been accepted by some replica, so what merges does not depend on timing.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter

import httpx
import pytest
import ray
from batchsieve import BatchProcessingError
from batchsieve.ray_serve import gather_stats
from ray import cloudpickle, serve

from . import handlers
from .handlers import NAMESPACE, RECORDER, Recorder, answer_text, wait_until

pytestmark = pytest.mark.timeout(240)

REPLICA = {"num_cpus": 0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    cloudpickle.register_pickle_by_value(handlers)  # the replicas cannot import the tests package
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace=NAMESPACE,
             _node_ip_address="127.0.0.1")
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    recorder = Recorder.options(name=RECORDER, namespace=NAMESPACE).remote()
    try:
        yield {"recorder": recorder, "url": f"http://127.0.0.1:{port}"}
    finally:
        serve.shutdown()
        ray.shutdown()
        cloudpickle.unregister_pickle_by_value(handlers)


@pytest.fixture(scope="module")
def two_replicas(cluster):
    """Two replicas with key-affine routing around the recording handler (the default, hybrid, dedup)."""
    from batchsieve.ray_serve import batchsieve_deployment

    # audit_rate=0: the tests count handler slots per key, and the default audit gives one duplicate in a
    # hundred its own slot
    app = batchsieve_deployment(handlers.recording_handler, name="affine", num_replicas=2,
                                ray_actor_options=REPLICA, window_ms=5, audit_rate=0).bind()
    handle = serve.run(app, name="affine", route_prefix=None)
    yield handle
    serve.delete("affine")


def _reset(cluster, *, gate_open: bool) -> None:
    ray.get(cluster["recorder"].reset.remote(gate_open=gate_open))


async def _accepted(handle, n: int) -> None:
    async def check() -> bool:
        return (await gather_stats(handle)).total_requests >= n
    await wait_until(check, f"{n} requests accepted by the replicas")


async def test_answers_are_correct_per_request_through_the_handle(cluster, two_replicas):
    _reset(cluster, gate_open=True)
    texts = [f"question {i % 17}" for i in range(120)]
    answers = await asyncio.gather(*(two_replicas.remote(t) for t in texts))
    assert [answer_text(a) for a in answers] == texts
    # a dict request, a list call (answers in order), and a request the processor refuses
    one = await two_replicas.remote({"query": "Where is my order?"}, scope="tenant-1", priority=3)
    assert answer_text(one) == "Where is my order?"
    many = await two_replicas.remote(["b", "a", "b"])
    assert [answer_text(a) for a in many] == ["b", "a", "b"]
    assert many[0] == many[2]  # the two "b" merged on their replica
    with pytest.raises(TypeError, match="a request must be a str or a dict with its text under 'query', got int"):
        await two_replicas.remote(42)
    stats = await gather_stats(two_replicas)
    assert len(stats.replicas) == 2
    assert stats.total_requests == 120 + 1 + 3  # the refused request was never accepted
    assert stats.failed_requests == 0
    one_row = await two_replicas.stats.remote()
    assert one_row.replica in {r.replica for r in stats.replicas}


async def test_duplicates_from_many_callers_run_once_per_key_across_the_deployment(cluster, two_replicas):
    _reset(cluster, gate_open=False)
    keys = [f"popular question {k}" for k in range(24)]
    before = (await gather_stats(two_replicas)).total_requests
    # 10 callers per key, interleaved, some in another spelling that normalises to the same text
    texts = [keys[k] if c % 3 else f"  POPULAR question {k} " for c in range(10) for k in range(24)]
    pending = [asyncio.ensure_future(two_replicas.remote(t)) for t in texts]
    await _accepted(two_replicas, before + len(texts))
    cluster["recorder"].open.remote()
    answers = await asyncio.gather(*pending)
    assert [answer_text(a).strip().lower() for a in answers] == [t.strip().lower() for t in texts]
    calls = ray.get(cluster["recorder"].calls.remote())
    slots = Counter(t.strip().lower() for _, batch in calls for t in batch)
    assert slots == {k: 1 for k in keys}  # once per key for the whole deployment, not once per replica
    replicas_of_key = {}
    for replica, batch in calls:
        for t in batch:
            replicas_of_key.setdefault(t.strip().lower(), set()).add(replica)
    assert all(len(r) == 1 for r in replicas_of_key.values())
    shares = Counter(next(iter(r)) for r in replicas_of_key.values())
    assert len(shares) == 2  # both replicas serve a share of the keys
    stats = await gather_stats(two_replicas)
    assert stats.total_requests - before == 240


async def test_scopes_stay_apart_across_replicas(cluster, two_replicas):
    _reset(cluster, gate_open=False)
    before = (await gather_stats(two_replicas)).total_requests
    scopes = ["tenant-a", "tenant-b", 1, 1.0, True, None]  # typed: 1, 1.0 and True are three scopes
    calls = [(s, "What is my balance?") for _ in range(8) for s in scopes]
    pending = [asyncio.ensure_future(two_replicas.remote(t, scope=s)) for s, t in calls]
    await _accepted(two_replicas, before + len(calls))
    cluster["recorder"].open.remote()
    answers = await asyncio.gather(*pending)
    by_scope: dict[object, set[str]] = {}
    for (scope, _), answer in zip(calls, answers, strict=True):
        by_scope.setdefault((type(scope), scope), set()).add(answer)
    assert all(len(a) == 1 for a in by_scope.values())  # merged within a scope...
    assert len({a for s in by_scope.values() for a in s}) == len(scopes)  # ...never across
    recorded = ray.get(cluster["recorder"].calls.remote())
    assert sum(batch.count("What is my balance?") for _, batch in recorded) == len(scopes)


async def test_a_replica_killed_under_load_fails_its_requests_clearly_and_loses_none(cluster):
    from batchsieve.ray_serve import batchsieve_deployment

    _reset(cluster, gate_open=False)
    app = batchsieve_deployment(handlers.recording_handler, name="doomed", num_replicas=2,
                                ray_actor_options=REPLICA, window_ms=5, dedup_strategy="exact").bind()
    handle = serve.run(app, name="doomed", route_prefix=None)
    try:
        texts = [f"distinct question {i}" for i in range(60)]
        pending = [asyncio.ensure_future(handle.remote(t)) for t in texts]
        await _accepted(handle, len(texts))
        stats = await gather_stats(handle)
        victim, survivor = stats.replicas
        assert victim.stats.total_requests > 0 and survivor.stats.total_requests > 0
        ray.kill(ray.get_actor(victim.actor_name, namespace="serve"), no_restart=True)
        cluster["recorder"].open.remote()
        results = await asyncio.gather(*pending, return_exceptions=True)
        answered = [r for r in results if isinstance(r, str)]
        failed = [r for r in results if not isinstance(r, str)]
        assert [answer_text(a) for a in answered] == [t for t, r in zip(texts, results, strict=True)
                                                       if isinstance(r, str)]  # never a wrong answer
        assert all(isinstance(e, ray.exceptions.RayActorError) for e in failed), failed  # ActorDiedError
        assert "The actor died unexpectedly before finishing this task" in str(failed[0])
        # exactly the killed replica's accepted requests failed; the survivor answered all of its own
        assert len(failed) == victim.stats.total_requests
        assert len(answered) == survivor.stats.total_requests
        # the deployment goes on: Serve routes new requests to the live replica (and replaces the dead one)
        after = await asyncio.gather(*(handle.remote(f"after {i}") for i in range(10)))
        assert [answer_text(a) for a in after] == [f"after {i}" for i in range(10)]
    finally:
        serve.delete("doomed")


async def test_a_failing_handler_reaches_the_caller_as_the_engine_error(cluster, two_replicas):
    _reset(cluster, gate_open=True)
    with pytest.raises(BatchProcessingError, match="the backend is down") as info:
        await two_replicas.remote(handlers.BREAK)
    assert isinstance(info.value, ray.exceptions.RayTaskError)  # Ray's wrapper: an instance of both
    assert answer_text(await two_replicas.remote("still fine")) == "still fine"  # one failed batch, no more


async def test_http_through_serves_fastapi_ingress_with_the_api_keys_tenant_as_scope(cluster):
    from batchsieve.ray_serve import batchsieve_deployment, batchsieve_http

    _reset(cluster, gate_open=True)
    backend = batchsieve_deployment(handlers.recording_handler, name="http_backend", num_replicas=2,
                                    ray_actor_options=REPLICA, window_ms=5, dedup_strategy="exact").bind()
    keys = {"key-a1": "tenant-a", "key-a2": "tenant-a", "key-b": "tenant-b"}
    serve.run(batchsieve_http(backend, ray_actor_options=REPLICA, api_keys=keys), name="http", route_prefix="/")
    handle = serve.get_deployment_handle("http_backend", app_name="http")
    a1, a2, b = ({"Authorization": f"Bearer {k}"} for k in keys)
    try:
        async with httpx.AsyncClient(base_url=cluster["url"], timeout=60) as client:
            one = await client.post("/v1/process", json={"request": "Where is my order?"}, headers=a1)
            assert one.status_code == 200, one.text
            assert answer_text(one.json()["result"]) == "Where is my order?"
            many = await client.post("/v1/process", json={"requests": [{"query": "a"}, "b", "a"], "priority": 1},
                                     headers=b)
            assert [answer_text(a) for a in many.json()["results"]] == ["a", "b", "a"]
            for body, headers, status, message in [
                ({"request": "x"}, {}, 401, "missing API key: send 'Authorization: Bearer <key>'"),
                ({"request": "x"}, {"Authorization": "Bearer nope"}, 401, "invalid API key"),
                ({"request": 5}, a1, 422, "a request must be a str or a dict with its text under 'query', got int"),
                ({"priority": 1}, a1, 422, "send exactly one of 'request' (one request) or 'requests' (a list)"),
                ({"requests": []}, a1, 400, "'requests' must be a non-empty list"),
            ]:
                refused = await client.post("/v1/process", json=body, headers=headers)
                assert (refused.status_code, refused.json()["error"]["message"].split(";")[0]) == (status, message)
            typo = await client.post("/v1/process", json={"request": "x", "dedupe": False}, headers=a1)
            assert typo.status_code == 422
            assert (await client.get("/v1/stats")).status_code == 401
            stats = await client.get("/v1/stats", headers=b)
            assert stats.status_code == 200
            figures = stats.json()
            assert figures["total_requests"] == 4 and len(figures["replicas"]) == 2

            # one question from both keys of tenant A and from tenant B, held until all are accepted
            _reset(cluster, gate_open=False)
            sent = [(h, asyncio.ensure_future(client.post("/v1/process", json={"request": "My balance?"},
                                                          headers=h))) for h in (a1, a2, b, a1, b, a2)]
            await _accepted(handle, 4 + len(sent))
            cluster["recorder"].open.remote()
            answers = {}
            for h, fut in sent:
                response = await fut
                assert response.status_code == 200, response.text
                answers.setdefault(keys[h["Authorization"].removeprefix("Bearer ")], set()).add(
                    response.json()["result"])
            assert all(len(v) == 1 for v in answers.values())  # one slot per tenant, both keys of A share it
            assert answers["tenant-a"] != answers["tenant-b"]  # never across tenants
    finally:
        serve.delete("http")
