"""Routing keys and rendezvous hashing, without Ray: the key is the processor's exact-dedup identity (scope and
normalised text), stable across processes, and adding or removing a replica moves few keys."""

from __future__ import annotations

import subprocess
import sys

import pytest
from batchsieve.ray_serve import RoutingKey, rank_replicas

KEY = RoutingKey()


def test_requests_that_merge_exactly_have_the_same_key():
    assert KEY("What's the weather?") == KEY("  what's THE   weather? ")
    assert KEY({"query": "What's the weather?", "model": "a"}) == KEY("what's the weather?")
    assert KEY(["what's the weather?", "other"]) == KEY("What's the weather?")  # a list: its first item
    assert len(KEY("x")) == 16


def test_scopes_and_texts_that_never_merge_have_different_keys():
    keys = {KEY("q", s) for s in ("a", "b", 1, 1.0, True, None, (1, "a"), ("1", "a"))}
    assert len(keys) == 8  # typed scopes, as the processor compares them
    assert KEY("3.5") != KEY("35")
    assert KEY("2³") != KEY("23")


def test_requests_without_a_key_are_routed_by_load():
    assert KEY("q", dedup=False) is None
    assert KEY(42) is None  # the replica's processor refuses it with its own TypeError
    assert KEY({"text": "q"}) is None
    assert KEY([]) is None
    assert RoutingKey(normalize=lambda t: 7)("q") is None  # a broken normalize: the processor reports it


def test_the_key_follows_the_processors_options():
    by_text = RoutingKey.from_options({"text_key": "text", "window_ms": 5})
    assert by_text({"text": "Hello"}) == KEY("hello") and by_text({"query": "Hello"}) is None
    exact = RoutingKey.from_options({"normalize": str})
    assert exact("Hello") != exact("hello")
    fn = RoutingKey(text_fn=lambda r: r.title)
    assert fn(type("R", (), {"title": "A"})()) == KEY("a")
    with pytest.raises(TypeError, match="text_key"):
        RoutingKey(text_key=3)


def test_keys_are_the_same_in_every_process_whatever_its_hash_seed():
    code = ("from batchsieve.ray_serve import RoutingKey; k = RoutingKey(); "
            "print(k('Where is my order?', 'tenant-1').hex(), k('q', (1, 'a')).hex())")
    seen = {subprocess.run([sys.executable, "-c", code], env={"PYTHONHASHSEED": seed}, capture_output=True,
                           text=True, check=True).stdout for seed in ("1",)}  # and this process's seed
    assert seen == {f"{KEY('Where is my order?', 'tenant-1').hex()} {KEY('q', (1, 'a')).hex()}\n"}


def test_rendezvous_ranking_is_a_stable_permutation():
    replicas = ["r1", "r2", "r3"]
    ranked = rank_replicas(KEY("q"), replicas)
    assert sorted(ranked) == replicas
    assert rank_replicas(KEY("q"), list(reversed(replicas))) == ranked  # the order given does not matter


def test_adding_a_replica_moves_only_the_keys_it_wins_and_about_one_in_n():
    keys = [KEY(f"question {i}") for i in range(2000)]
    four = [f"replica-{i}" for i in range(4)]
    five = [*four, "replica-new"]
    before = {k: rank_replicas(k, four)[0] for k in keys}
    after = {k: rank_replicas(k, five)[0] for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    assert all(after[k] == "replica-new" for k in moved)
    assert 0.15 < len(moved) / len(keys) < 0.25  # 1/5 expected


def test_removing_a_replica_moves_only_its_keys_each_to_its_second_choice():
    keys = [KEY(f"question {i}") for i in range(2000)]
    three = ["a", "b", "c"]
    ranks = {k: rank_replicas(k, three) for k in keys}
    for k in keys:
        survivor = rank_replicas(k, ["a", "c"])[0]
        assert survivor == (ranks[k][0] if ranks[k][0] != "b" else ranks[k][1])
