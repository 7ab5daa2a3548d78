"""KeyAffineRouter's choices, without a cluster: the ranks it hands Ray for a keyed call, the bounded-load
spill, and the calls it routes by load. (The same router under a real Serve deployment is in
test_deployment.py.)"""

from __future__ import annotations

from types import SimpleNamespace

from batchsieve.ray_serve import SPILL_FACTOR, SPILL_SLACK, KeyAffineRouter, RoutingKey, rank_replicas
from batchsieve.ray_serve.router import router_kwargs

KEY = RoutingKey()


class _Router(KeyAffineRouter):
    """The router's policy alone: queue lengths from a dict instead of Ray's probes."""

    def __init__(self, loads: dict[str, int], **kwargs) -> None:  # not RequestRouter's: no Serve machinery
        self.loads = loads
        self.initialize_state(**kwargs)

    def queue_len(self, replica) -> int:
        return self.loads[replica.replica_id.unique_id]


def _replicas(*ids: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(replica_id=SimpleNamespace(unique_id=i)) for i in ids]


def _call(*args, method: str = "__call__", **kwargs) -> SimpleNamespace:
    return SimpleNamespace(args=list(args), kwargs=kwargs, metadata=SimpleNamespace(call_method=method),
                           routing_context=SimpleNamespace(should_backoff=False))


def _ids(ranks) -> list[list[str]]:
    return [[r.replica_id.unique_id for r in rank] for rank in ranks]


async def test_a_keyed_call_gets_every_replica_ranked_by_rendezvous_hashing():
    replicas = _replicas("a", "b", "c")
    router = _Router({"a": 0, "b": 0, "c": 0})
    ranks = await router.choose_replicas(replicas, _call("Where is my order?", scope="t1"))
    assert _ids(ranks) == [[r] for r in rank_replicas(KEY("where is my order?", "t1"), ["a", "b", "c"])]
    assert (router.routed_by_key, router.spilled, router.routed_by_load) == (1, 0, 0)


async def test_when_no_replica_accepts_ray_is_told_to_back_off_before_asking_again():
    # the ranks hold every replica, so a second pass would ask the same ones: Ray must wait first
    for call in (_call("q"), _call(method="stats")):
        await _Router({"a": 0, "b": 0}).choose_replicas(_replicas("a", "b"), call)
        assert call.routing_context.should_backoff is True


async def test_a_first_choice_far_above_the_average_spills_to_the_second():
    replicas = _replicas("a", "b", "c")
    order = rank_replicas(KEY("hot question"), ["a", "b", "c"])
    # the first choice holds L, the others none: the mean is L/3, and it spills once
    # L > SPILL_FACTOR * L/3 + SPILL_SLACK, i.e. L > 3 * SPILL_SLACK with the factor 2
    assert SPILL_FACTOR == 2.0
    at_bound = 3 * SPILL_SLACK
    router = _Router({order[0]: at_bound, order[1]: 0, order[2]: 0})
    assert _ids(await router.choose_replicas(replicas, _call("hot question")))[0] == [order[0]]
    assert router.spilled == 0
    router.loads[order[0]] = at_bound + 1
    ranks = _ids(await router.choose_replicas(replicas, _call("hot question")))
    assert ranks == [[order[1]], [order[0]], [order[2]]]  # the second choice first, the rest as ranked
    assert router.spilled == 1


async def test_balanced_load_never_spills_however_busy():
    replicas = _replicas("a", "b")
    router = _Router({"a": 5000, "b": 4000})
    for i in range(50):
        await router.choose_replicas(replicas, _call(f"q{i}"))
    assert router.spilled == 0 and router.routed_by_key == 50


async def test_calls_without_a_key_go_to_two_random_replicas_ray_picks_the_less_loaded_of():
    replicas = _replicas("a", "b", "c")
    router = _Router({"a": 0, "b": 0, "c": 0})
    for call in (_call(method="stats"), _call("q", dedup=False), _call(42), _call()):
        ranks = _ids(await router.choose_replicas(replicas, call))
        assert len(ranks) == 1 and len(ranks[0]) == 2 and set(ranks[0]) <= {"a", "b", "c"}
    assert router.routed_by_load == 4 and router.routed_by_key == 0
    assert await router.choose_replicas([], _call("q")) == []
    assert len((await router.choose_replicas(_replicas("a"), None))[0]) == 1


async def test_the_key_rule_travels_in_the_router_kwargs():
    rule = RoutingKey.from_options({"text_key": "text", "normalize": str})
    kwargs = router_kwargs(rule)
    assert list(kwargs) == ["routing_key"] and isinstance(kwargs["routing_key"], str)  # JSON, as Serve wants
    router = _Router({"a": 0, "b": 0}, **kwargs)
    assert router.routing_key.text_key == "text" and router.routing_key.normalize is str
    ranks = _ids(await router.choose_replicas(_replicas("a", "b"), _call({"text": "Hello"})))
    assert ranks == [[r] for r in rank_replicas(rule({"text": "Hello"}), ["a", "b"])]
