"""The exact-match form, value by value (the expected strings are written out, not computed)."""

from __future__ import annotations

import pytest
from batchsieve import normalize_text


@pytest.mark.parametrize(("text", "form"), [
    ("  What's   THE weather?  ", "what's the weather?"),  # the ASCII path: case and spacing
    ("Ｗhat\u00a0is\tthis", "what is this"),  # full-width letters, a no-break space, a tab
    ("ﬁle ① Ⅻ", "file 1 xii"),  # a ligature, a circled digit, a Roman numeral
    ("Ｘ² ＋ 1", "x² + 1"),  # the superscript kept while the full-width letters around it fold
    ("ＡＢ²ＣＤ₃ＥＦ", "ab²cd₃ef"),  # several kept characters: every piece between them folds
    ("1½ Ｃups", "1½ cups"),
    ("STRAẞE und Maße", "straße und maße"),  # capital sharp s becomes ß, ß stays ß
    ("Masse", "masse"),
    ("ÄRGER ß Ǆ", "ärger ß dž"),  # NFKC splits the digraph Ǆ into D and Ž
])
def test_normal_forms(text, form):
    assert normalize_text(text) == form


def test_forms_that_must_stay_apart():
    assert normalize_text("Maße") != normalize_text("Masse")
    assert normalize_text("2³") != normalize_text("23")
    assert normalize_text("3.5") != normalize_text("35")
    assert normalize_text("Delete it?") != normalize_text("Delete it!")
