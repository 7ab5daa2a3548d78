"""Pooling of token states into one vector per text, in fp32, as sentence-transformers does it.

Inputs are right-padded batches: ``hidden`` of shape (B, L, D) in any float dtype and ``mask`` of shape
(B, L) with 1 for real tokens. Whatever the model's precision, the states are pooled in fp32 and the
output is fp32. Several modes are concatenated in the order given, like sentence-transformers' Pooling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["POOLING_MODES", "l2_normalize", "pool"]

#: Pooling modes understood by :func:`pool`, spelt as sentence-transformers spells them.
POOLING_MODES: tuple[str, ...] = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")


def _pool_one(mode: str, hidden: torch.Tensor, maskf: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return hidden.masked_fill(maskf.unsqueeze(-1) == 0, float("-inf")).amax(dim=1)
    if mode in ("mean", "mean_sqrt_len_tokens"):
        summed = torch.einsum("bld,bl->bd", hidden, maskf)
        denom = lengths.clamp(min=1e-9)
        if mode == "mean_sqrt_len_tokens":
            denom = denom.sqrt()
        return summed / denom.unsqueeze(-1)
    if mode == "weightedmean":
        weights = maskf * torch.arange(1, hidden.shape[1] + 1, device=hidden.device, dtype=hidden.dtype)
        summed = torch.einsum("bld,bl->bd", hidden, weights)
        return summed / weights.sum(dim=1, keepdim=True).clamp(min=1e-9)
    if mode == "lasttoken":
        last = (lengths.to(torch.long) - 1).clamp(min=0)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling mode {mode!r} (supported: {POOLING_MODES})")


def pool(hidden: torch.Tensor, mask: torch.Tensor, modes: Sequence[str] = ("mean",)) -> torch.Tensor:
    """Pool right-padded token states ``hidden`` (B, L, D) under ``mask`` (B, L) into (B, D * len(modes)).

    Computed in fp32 whatever ``hidden``'s dtype. Mean-style modes divide by the number of real tokens
    (clamped at 1e-9 so an all-padding row gives zeros rather than NaN), exactly as sentence-transformers.
    """
    if hidden.ndim != 3 or mask.shape != hidden.shape[:2]:
        raise ValueError(f"expected hidden (B, L, D) and mask (B, L), got {tuple(hidden.shape)} and "
                         f"{tuple(mask.shape)}")
    if not modes:
        raise ValueError("at least one pooling mode is required")
    hidden = hidden.float()
    maskf = mask.to(torch.float32)
    lengths = maskf.sum(dim=1)
    outs = [_pool_one(mode, hidden, maskf, lengths) for mode in modes]
    return outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit L2 norm in fp32 (a zero row stays zero), as ``F.normalize(p=2, dim=1)``."""
    return F.normalize(x.float(), p=2.0, dim=-1)
