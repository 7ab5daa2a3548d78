"""``batchsieve_deployment``'s arguments, checked before anything is deployed (no cluster needed), and the
deployment settings they become."""

from __future__ import annotations

import pytest
from batchsieve.ray_serve import KeyAffineRouter, batchsieve_deployment


def echo(requests: list) -> list:
    return requests


def test_the_defaults_feed_the_batcher_and_route_by_key():
    d = batchsieve_deployment(echo)
    assert (d.name, d.num_replicas) == ("batchsieve", 1)
    assert d.max_ongoing_requests == 10_000  # the processor's max_queue_size, not Serve's 5
    config = d._deployment_config.request_router_config  # Serve keeps it as an import path
    assert config.request_router_class == f"{KeyAffineRouter.__module__}.{KeyAffineRouter.__name__}"
    assert list(config.request_router_kwargs) == ["routing_key"]


def test_settings_are_passed_to_serve():
    d = batchsieve_deployment(echo, name="llm", num_replicas=3, ray_actor_options={"num_gpus": 1},
                              max_queue_size=500, window_ms=10)
    assert (d.name, d.num_replicas, d.max_ongoing_requests) == ("llm", 3, 500)
    assert d.ray_actor_options["num_gpus"] == 1
    assert batchsieve_deployment(echo, max_ongoing_requests=64).max_ongoing_requests == 64
    default = batchsieve_deployment(echo, route_by_key=False)._deployment_config.request_router_config
    assert default.is_default_request_router()  # Ray's power of two choices


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"num_replicas": 0}, ValueError, "num_replicas must be >= 1, got 0"),
    ({"num_replicas": 2.0}, TypeError, "num_replicas must be an int, got float"),
    ({"num_replicas": True}, TypeError, "num_replicas must be an int, got bool"),
    ({"route_by_key": 1}, TypeError, "route_by_key must be a bool, got int 1"),
    ({"name": ""}, TypeError, "name must be a non-empty str, got ''"),
    ({"ray_actor_options": [("num_cpus", 0)]}, TypeError, "ray_actor_options must be a dict or None, got list"),
    ({"max_ongoing_requests": 0}, ValueError, "max_ongoing_requests must be >= 1, got 0"),
    ({"max_ongoing_requests": "5"}, TypeError, "max_ongoing_requests must be an int, got str"),
    ({"window_ms": -1}, ValueError, "window_ms"),
    ({"max_batch": 3}, TypeError, "BatchProcessor got unexpected keyword"),
])
def test_bad_arguments_are_refused_at_once(kwargs, error, message):
    with pytest.raises(error, match=message):
        batchsieve_deployment(echo, **kwargs)


def test_a_handler_that_is_not_callable_is_refused():
    with pytest.raises(TypeError):
        batchsieve_deployment("not a function")


def test_the_http_ingress_checks_its_keys_at_once():
    from batchsieve.ray_serve import batchsieve_http

    backend = batchsieve_deployment(echo).bind()
    with pytest.raises(TypeError, match="api_keys must be a dict of key -> tenant or None, got list"):
        batchsieve_http(backend, api_keys=[("k", "t")])
    with pytest.raises(ValueError, match=r"api_keys must not be empty \(None: no authentication\)"):
        batchsieve_http(backend, api_keys={})
