"""Text normalisation for exact deduplication.

The default, :func:`normalize_text`, makes two texts equal when they differ only in

* Unicode compatibility forms (NFKC: full-width letters, ligatures, non-breaking spaces, circled digits),
  **except** superscripts, subscripts and vulgar fractions, which keep their form: "2³" is not "23",
  "x² + 1" is not "x2 + 1", "10⁵ users" is not "105 users", "1½" is not "11⁄2";
* letter case (``str.casefold``), **except** that ß stays ß (capital ẞ becomes ß): "Maße" (measures) and
  "Masse" (mass) are different words;
* runs of whitespace, including leading and trailing whitespace.

Punctuation is kept on purpose: "Delete it?" and "Delete it!" may ask different things, and
"3.5" is not "35". A different rule is passed as ``normalize=`` to :class:`~batchsieve.BatchProcessor`:
any ``Callable[[str], str]``; ``str`` (identity) turns normalisation off.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text"]

#: Code point ranges whose compatibility decomposition is ``<super>``, ``<sub>`` or ``<fraction>``
#: (Unicode 14.0.0); NFKC would fold them into plain digits and letters. A test
#: recomputes the list from :mod:`unicodedata`, so a newer Unicode cannot slip in unnoticed.
KEPT_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AA, 0x00AA), (0x00B2, 0x00B3), (0x00B9, 0x00BA), (0x00BC, 0x00BE), (0x02B0, 0x02B8), (0x02E0, 0x02E4),
    (0x10FC, 0x10FC), (0x1D2C, 0x1D2E), (0x1D30, 0x1D3A), (0x1D3C, 0x1D4D), (0x1D4F, 0x1D6A), (0x1D78, 0x1D78),
    (0x1D9B, 0x1DBF), (0x2070, 0x2071), (0x2074, 0x208E), (0x2090, 0x209C), (0x2120, 0x2120), (0x2122, 0x2122),
    (0x2150, 0x215F), (0x2189, 0x2189), (0x2C7C, 0x2C7D), (0x2D6F, 0x2D6F), (0x3192, 0x319F), (0xA69C, 0xA69D),
    (0xA770, 0xA770), (0xA7F2, 0xA7F4), (0xA7F8, 0xA7F9), (0xAB5C, 0xAB5F), (0xAB69, 0xAB69), (0x10781, 0x10785),
    (0x10787, 0x107B0), (0x107B2, 0x107BA), (0x1F16A, 0x1F16C),
)
_KEPT = re.compile("([" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in KEPT_RANGES) + "])")


def _nfkc(text: str) -> str:
    """NFKC, leaving the characters of :data:`KEPT_RANGES` as they are."""
    if _KEPT.search(text) is None:
        return unicodedata.normalize("NFKC", text)
    pieces = _KEPT.split(text)  # kept characters at the odd positions
    return "".join(p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(pieces))


def _casefold(text: str) -> str:
    """``str.casefold``, except that ß (and capital ẞ) stay ß instead of becoming "ss"."""
    if "ß" not in text and "ẞ" not in text:
        return text.casefold()
    return "ß".join(part.casefold() for part in text.replace("ẞ", "ß").split("ß"))


def normalize_text(text: str) -> str:
    """Return ``text`` in NFKC form (superscripts, subscripts and fractions kept), case-folded (ß kept), with
    whitespace runs collapsed to one space."""
    if text.isascii():
        # ASCII is already NFKC; lower() equals casefold() on ASCII and is faster.
        return " ".join(text.lower().split())
    return " ".join(_casefold(_nfkc(text)).split())
