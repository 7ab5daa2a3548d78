"""Text normalisation for exact deduplication.

The default, :func:`normalize_text`, makes two texts equal when they differ only in

* Unicode compatibility forms (NFKC: full-width letters, ligatures, non-breaking spaces),
* letter case (``str.casefold``, which also folds German ß to ss),
* runs of whitespace, including leading and trailing whitespace.

Punctuation is kept on purpose: "Delete it?" and "Delete it!" may ask different things, and
"3.5" is not "35". A different rule is passed as ``normalize=`` to :class:`~batchsieve.BatchProcessor`:
any ``Callable[[str], str]``; ``str`` (identity) turns normalisation off.
"""

from __future__ import annotations

import unicodedata

__all__ = ["normalize_text"]


def normalize_text(text: str) -> str:
    """Return ``text`` in NFKC form, case-folded, with whitespace runs collapsed to one space."""
    if text.isascii():
        # ASCII is already NFKC; lower() equals casefold() on ASCII and is faster.
        return " ".join(text.lower().split())
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
