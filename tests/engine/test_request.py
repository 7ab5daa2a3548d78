"""Reading a request: its text and the identity of its other fields (what exact dedup compares)."""

from __future__ import annotations

import pytest
from batchsieve.request import freeze_scope, read_request


def _fields(request: dict):
    return read_request(request, "query", None)[1]


def test_nested_fields_compare_by_value_and_type_not_key_order():
    a = _fields({"query": "q", "opts": {"t": 1, "stop": ["\n", "."]}, "tags": {"x", "y"}})
    b = _fields({"tags": {"y", "x"}, "opts": {"stop": ["\n", "."], "t": 1}, "query": "q"})
    assert a == b and hash(a) == hash(b)
    assert _fields({"query": "q", "opts": {"t": 1}}) != _fields({"query": "q", "opts": {"t": 1.0}})
    assert _fields({"query": "q", "opts": {"t": 1}}) != _fields({"query": "q", "opts": {1: "t"}})
    assert _fields({"query": "q", "opts": {1: "t"}}) != _fields({"query": "q", "opts": {True: "t"}})  # typed keys
    assert _fields({"query": "q", "opts": {}}) != _fields({"query": "q", "opts": []})
    assert _fields({"query": "q", "seq": [1, 2]}) != _fields({"query": "q", "seq": (1, 2)})
    assert _fields({"query": "q", "seq": [1, 2]}) != _fields({"query": "q", "seq": [2, 1]})
    assert _fields({"query": "q", "s": {1}}) == _fields({"query": "q", "s": frozenset({1})})


def test_a_field_without_a_stable_identity_makes_the_request_unmergeable():
    assert _fields({"query": "q", "opts": {"t": [1, {"deep": bytearray(b"x")}]}}) is None
    assert read_request({"query": "q"}, "query", None) == ("q", ())


@pytest.mark.parametrize(("a", "b", "same"), [
    (1, 1, True), (1, 1.0, False), (1, True, False), (0, -0.0, False), ("t", "t", True),
    (("t", 1), ("t", 1), True), (("t", 1), ("t", 1.0), False), (frozenset({1}), frozenset({1}), True),
])
def test_scopes_are_typed_identities(a, b, same):
    assert (freeze_scope(a) == freeze_scope(b)) is same


def test_sets_compare_by_their_members():
    assert _fields({"query": "q", "s": {1, 2}}) != _fields({"query": "q", "s": {1, 3}})


def test_text_fn_reads_the_text_of_any_request_shape():
    assert read_request("Hi", "query", str.upper) == ("HI", ())
    text, fields = read_request(("Hi", 1), "query", lambda r: r[0])
    assert text == "Hi"
    assert fields == read_request(("Hi", 1), "query", lambda r: r[0])[1]
    assert fields != read_request(("Hi", 1.0), "query", lambda r: r[0])[1]  # the whole request is its identity
    assert read_request({"q": "Hi", "n": 1}, "query", lambda r: r["q"]) == read_request(
        {"n": 1, "q": "Hi"}, "query", lambda r: r["q"])

    class Opaque:
        __hash__ = None
        text = "opaque"

    assert read_request(Opaque(), "query", lambda r: r.text) == ("opaque", None)  # unmergeable, still readable


@pytest.mark.parametrize("request_", ["a str", {"query": "a dict"}, ("a", "tuple")])
def test_text_fn_must_return_a_str(request_):
    with pytest.raises(TypeError, match=r"^(text_fn must return a str, returned int|request text must be a str, "
                                        r"got int 3)$"):
        read_request(request_, "query", lambda r: 3)


def test_what_a_wrong_request_is_told():
    with pytest.raises(TypeError) as info:
        read_request({"text": "hi"}, "query", None)
    assert str(info.value) == ("request dict has no 'query' key (keys: ['text']); pass text_key= or text_fn= to "
                               "BatchProcessor")
    with pytest.raises(TypeError) as info:
        read_request(42, "prompt", None)
    assert str(info.value) == ("a request must be a str or a dict with its text under 'prompt', got int; pass "
                               "text_fn= to BatchProcessor for other request types")


def test_an_entry_keeps_its_request_and_counts_its_callers():
    from batchsieve.request import QUEUED, Entry

    first, second, third = object(), object(), object()
    entry = Entry({"query": "Q", "m": 1}, "Q", "q", ("fields",), ("scope",), "key", 3, 7, 1.5, first)
    assert (entry.request, entry.text, entry.norm, entry.fields, entry.scope, entry.key, entry.priority,
            entry.seq, entry.arrival, entry.state, entry.count) == (
        {"query": "Q", "m": 1}, "Q", "q", ("fields",), ("scope",), "key", 3, 7, 1.5, QUEUED, 1)
    entry.add_waiter(second, 2.0)
    entry.add_waiter(third, 2.5)
    assert entry.waiters() == [(first, 1.5), (second, 2.0), (third, 2.5)]
    assert entry.remove_waiter(third) and entry.count == 2
    assert not entry.remove_waiter(object()) and entry.count == 2
    assert entry.remove_waiter(first) and entry.count == 1
    assert entry.waiters() == [(second, 2.0)]
    assert entry.remove_waiter(second) and entry.count == 0 and entry.waiters() == []
