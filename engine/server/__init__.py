"""batchsieve.server: ``batchsieve serve`` and the pieces to put a processor behind FastAPI yourself.

Needs the ``server`` extra (``pip install 'batchsieve[server]'``: FastAPI, uvicorn, prometheus-client).

* :func:`create_app`: the server's app (the OpenAI-compatible embeddings API, or ``/v1/process`` in front of
  a handler), with metrics, stats, health and readiness, API keys as dedup scopes, and JSON errors;
* :func:`processor_lifespan`, :func:`get_processor`, :func:`add_error_handlers`: for an app of your own.
"""

from .app import create_app
from .config import ServerConfig
from .lifespan import add_error_handlers, get_processor, processor_lifespan

__all__ = ["ServerConfig", "add_error_handlers", "create_app", "get_processor", "processor_lifespan"]
