"""The question form of a text: its question words, its yes/no auxiliary, or a statement."""

from __future__ import annotations

from collections.abc import Sequence

from .lexicon import (
    HOW_PHRASE_FILLERS,
    HOW_PHRASE_NOUNS,
    HOW_PHRASES,
    HOW_QUANTITY,
    SYNONYMS,
    WH_WORDS,
    YESNO_AUX,
    YESNO_PHRASES,
)


def how_phrase_length(ws: Sequence[str]) -> int:
    """Length of an opener that asks "how" in other words ("what is the best way to", "what should I
    do to"), or 0."""
    for phrase in HOW_PHRASES:
        if tuple(ws[: len(phrase)]) == phrase:
            return len(phrase)
    # what is/are [the|a|some] [best|easiest|...] way(s)/method(s)/step(s)/tip(s) to
    if len(ws) < 4 or ws[0] not in ("what", "which") or ws[1] not in ("is", "are"):
        return 0
    k = 2
    while k < len(ws) and ws[k] in HOW_PHRASE_FILLERS:
        k += 1
    if k + 1 < len(ws) and ws[k] in HOW_PHRASE_NOUNS and ws[k + 1] in ("to", "for", "of"):
        return k + 2
    return 0


def _wh_kind(ws: Sequence[str], k: int) -> str:
    """The kind of the question word at ``ws[k]``: "how much" and "how many" ask for a quantity."""
    kind = WH_WORDS[ws[k]]
    if kind == "how" and k + 1 < len(ws) and ws[k + 1] in HOW_QUANTITY:
        return f"how {SYNONYMS.get(ws[k + 1], ws[k + 1])}"
    return kind


def _wh_surface(ws: Sequence[str], k: int) -> str:
    return f"how {ws[k + 1]}" if _wh_kind(ws, k).startswith("how ") else ws[k]


def question(ws: Sequence[str], asks: bool) -> tuple[tuple[str, ...], str]:
    """The question kinds of a text (polite opener removed) and the words that show them.

    ``asks`` tells whether the text ends with a question mark: "VoIP is legal in India?" asks what "Is
    VoIP legal in India?" asks.
    """
    ws = [w for w in ws if w]
    if len(ws) > 1 and ws[0] == "do" and ws[1] == "not":  # "Don't show me ...": an imperative
        ws = ws[2:]
    wh_pos = [k for k, w in enumerate(ws) if w in WH_WORDS]
    if ws and ws[0] in YESNO_AUX:
        for phrase, aux in YESNO_PHRASES.items():
            if tuple(ws[: len(phrase)]) == phrase:
                kinds = sorted({WH_WORDS[ws[k]] for k in wh_pos})
                return (f"yes/no:{aux}", *kinds), " ".join(phrase)
    if ws and ws[0] in ("what", "which", "in"):
        n = how_phrase_length(ws)
        if n:
            rest = [ws[k] for k in wh_pos if k >= n and WH_WORDS[ws[k]] != "how"]
            kinds = sorted({"how", *(WH_WORDS[w] for w in rest)})
            return tuple(kinds), " ".join([*ws[:n], *rest])
    kinds = {_wh_kind(ws, k) for k in wh_pos}
    surface = list(dict.fromkeys(_wh_surface(ws, k) for k in wh_pos))
    if kinds == {"what"} and ws[-1] == "for" and len(ws) > 3 and ws[1] in ("is", "are", "was", "were"):
        # "What is X for?" asks "why"
        kinds = {"why"}
        surface = [*surface, "... for"]
    if ws and ws[0] in YESNO_AUX and (not wh_pos or wh_pos[0] > 3):
        return (f"yes/no:{YESNO_AUX[ws[0]]}", *sorted(kinds)), " ".join([ws[0], *surface])
    if kinds:
        return tuple(sorted(kinds)), " ".join(surface)
    if asks:  # "VoIP is legal in India?": a yes/no question in statement order
        aux = next((w for w in ws if w in YESNO_AUX), None)
        if aux is not None:
            return (f"yes/no:{YESNO_AUX[aux]}",), f"{aux} ...?"
    return ("statement",), ""
