"""batchsieve: micro-batching with exact and semantic deduplication for inference servers."""
