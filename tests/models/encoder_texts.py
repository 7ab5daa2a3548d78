"""Varied texts for the encoder tests: QQP questions plus hand-written edge cases."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "qqp_sample.jsonl.gz"

EDGE_TEXTS: list[str] = [
    # empty, whitespace, tiny
    "",
    " ",
    "   \t\n  ",
    "\n",
    "a",
    "?",
    "...",
    "OK",
    # case, punctuation, numbers, code, urls
    "HELLO WORLD",
    "hello world",
    "Hello, world!!!",
    "What is 2 + 2? It's 4; (maybe) 5 - 1 = 4.",
    "3.14159265358979323846264338327950288419716939937510",
    "def f(x):\n    return x ** 2  # square",
    "SELECT * FROM users WHERE id = 42;",
    "https://example.com/path?query=1&lang=en#frag",
    "email me at someone@example.org",
    "C++ vs. C# vs. F#: which one?",
    "$100,000 in 2024 -> €92,000",
    "!!!???...,,,;;;:::",
    # other scripts
    "Как дела? Это тест на русском языке.",
    "Ελληνικά: καλημέρα κόσμε",
    "مرحبا بالعالم، كيف حالك؟",
    "שלום עולם",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "こんにちは世界、元気ですか？",
    "안녕하세요 세계",
    "你好世界，今天天气很好。",
    "世界",
    "ภาษาไทยง่ายนิดเดียว",
    "Tiếng Việt có dấu: Xin chào thế giới",
    "Ünïcödé àccénts: naïve café, façade, jalapeño, Straße",
    "e\u0301te\u0301 (combining accents)",
    "zero\u200bwidth\u200bspace and soft\u00adhyphen",
    "right-to-left \u202eoverride\u202c mark",
    "tab\tseparated\tvalues",
    "null\x00byte and bell\x07 control",
    # emoji
    "😀",
    "🤖",
    "I love pizza 🍕🍕🍕!",
    "👨‍👩‍👧‍👦 family emoji with zero-width joiners",
    "🇫🇷🇩🇪🇯🇵 flags",
    "✓ ✗ ★ ☆ → ← ∞ ≠ ≤ ≥",
    # special-token look-alikes
    "[CLS] [SEP] [PAD] [MASK] [UNK]",
    "<s> </s> <pad> <unk>",
    # repetition and length
    "buffalo " * 8,
    "the " * 60,
    " ".join(f"word{i}" for i in range(120)),
    "A long question about machine learning. " * 20,
    "Why is the sky blue? " * 40,
    ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
     "labore et dolore magna aliqua. ") * 10,
    "x" * 3000,
    "超长的中文文本。" * 80,
]


def qqp_questions(n: int, *, stride: int = 37) -> list[str]:
    """``n`` distinct QQP questions taken every ``stride`` rows (``a`` then ``b``), deterministic."""
    out: dict[str, None] = {}
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % stride:
                continue
            row = json.loads(line)
            out.setdefault(row["a"], None)
            out.setdefault(row["b"], None)
            if len(out) >= n:
                break
    return list(out)[:n]


def varied_texts(n_qqp: int = 250) -> list[str]:
    """Edge cases interleaved with QQP questions (so lengths are mixed in input order)."""
    qs = qqp_questions(n_qqp)
    out: list[str] = []
    step = max(1, len(qs) // len(EDGE_TEXTS))
    for i, edge in enumerate(EDGE_TEXTS):
        out.extend(qs[i * step:(i + 1) * step])
        out.append(edge)
    out.extend(qs[len(EDGE_TEXTS) * step:])
    return out
