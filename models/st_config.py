"""Read a model folder's sentence-transformers configuration.

A sentence-transformers folder describes its pipeline in ``modules.json`` (Transformer -> Pooling ->
optional Normalize), the pooling in ``<pooling dir>/config.json`` (usually ``1_Pooling/config.json``) and
the tokenizer settings in ``sentence_bert_config.json`` (``max_seq_length``, ``do_lower_case``). A plain
Hugging Face folder without these files gets what sentence-transformers itself gives it: mean pooling.

Only pipelines this package reproduces exactly are accepted (Transformer, Pooling, Normalize); a folder
with other modules (Dense projections, for instance) is refused rather than encoded unfaithfully.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .pooling import POOLING_MODES

__all__ = ["SentenceConfig", "read_sentence_config"]

# sentence-transformers' pooling config keys, in the order its Pooling module concatenates them.
_POOLING_KEYS: tuple[tuple[str, str], ...] = (
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_mean_tokens", "mean"),
    ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
    ("pooling_mode_weightedmean_tokens", "weightedmean"),
    ("pooling_mode_lasttoken", "lasttoken"),
)
_TRANSFORMER_TYPES = ("models.Transformer", "modules.Transformer", "modules.transformer.Transformer")
_POOLING_TYPES = ("models.Pooling", "modules.Pooling", "modules.pooling.Pooling")
_NORMALIZE_TYPES = ("models.Normalize", "modules.Normalize", "modules.normalize.Normalize")


@dataclass(frozen=True)
class SentenceConfig:
    """How a folder turns token states into a sentence embedding.

    ``pooling``: the pooling modes, concatenated in this order (e.g. ``("mean",)``).
    ``normalize``: the folder's pipeline ends in a Normalize module. The encoder L2-normalises either
    way; this records what the folder asked for.
    ``max_seq_length``: sentence-transformers' token limit for this folder, or None when unset.
    ``do_lower_case``: lower-case texts before tokenising (sentence-transformers' own switch, distinct
    from the tokenizer's).
    ``source``: which files the settings came from, for error messages and logs.
    """

    pooling: tuple[str, ...] = ("mean",)
    normalize: bool = False
    max_seq_length: int | None = None
    do_lower_case: bool = False
    source: str = "default (no sentence-transformers config)"


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON ({exc})") from exc


def _pooling_modes(cfg: dict, where: Path) -> tuple[str, ...]:
    declared = cfg.get("pooling_mode")
    if isinstance(declared, str):
        modes: tuple[str, ...] = (declared,)
    elif isinstance(declared, list):
        modes = tuple(str(m) for m in declared)
    else:
        modes = tuple(mode for key, mode in _POOLING_KEYS if cfg.get(key))
    if not modes:
        raise ValueError(f"{where}: no pooling mode is switched on")
    unsupported = [m for m in modes if m not in POOLING_MODES]
    if unsupported:
        raise ValueError(f"{where}: pooling mode(s) {unsupported} not supported (supported: {POOLING_MODES})")
    if cfg.get("include_prompt") is False:
        raise ValueError(f"{where}: include_prompt=false is not supported")
    return modes


def read_sentence_config(folder: str | Path) -> SentenceConfig:
    """Read the sentence-transformers settings of a local model folder (see the module docstring)."""
    folder = Path(folder)
    max_seq_length: int | None = None
    do_lower_case = False
    sbert = folder / "sentence_bert_config.json"
    if sbert.is_file():
        cfg = _read_json(sbert)
        if isinstance(cfg, dict):
            if cfg.get("max_seq_length") is not None:
                max_seq_length = int(cfg["max_seq_length"])
            do_lower_case = bool(cfg.get("do_lower_case", False))

    modules_path = folder / "modules.json"
    if not modules_path.is_file():
        return SentenceConfig(max_seq_length=max_seq_length, do_lower_case=do_lower_case)

    modules = _read_json(modules_path)
    if not isinstance(modules, list):
        raise ValueError(f"{modules_path}: expected a JSON list of modules")
    pooling: tuple[str, ...] | None = None
    normalize = False
    sources = [modules_path.name]
    for module in sorted(modules, key=lambda m: int(m.get("idx", 0))):
        mtype = str(module.get("type", ""))
        if mtype.endswith(_TRANSFORMER_TYPES):
            if module.get("path", "") not in ("", "."):
                raise ValueError(f"{modules_path}: a Transformer module outside the folder root is not supported")
        elif mtype.endswith(_POOLING_TYPES):
            pool_cfg_path = folder / module.get("path", "1_Pooling") / "config.json"
            if not pool_cfg_path.is_file():
                raise ValueError(f"{modules_path}: pooling module config {pool_cfg_path} is missing")
            pool_cfg = _read_json(pool_cfg_path)
            if not isinstance(pool_cfg, dict):
                raise ValueError(f"{pool_cfg_path}: expected a JSON object")
            pooling = _pooling_modes(pool_cfg, pool_cfg_path)
            sources.append(str(pool_cfg_path.relative_to(folder)))
        elif mtype.endswith(_NORMALIZE_TYPES):
            normalize = True
        else:
            raise ValueError(
                f"{modules_path}: module {mtype!r} is not supported (only Transformer, Pooling and "
                "Normalize pipelines are reproduced exactly)"
            )
    if pooling is None:
        raise ValueError(f"{modules_path}: no Pooling module")
    return SentenceConfig(
        pooling=pooling,
        normalize=normalize,
        max_seq_length=max_seq_length,
        do_lower_case=do_lower_case,
        source=", ".join(sources),
    )
